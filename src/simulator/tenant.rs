//! The synthetic tenant: people, rooms, meetings, participants, per-minute quality and room
//! bookings, all derived from one seed.
//!
//! Nothing here is stored beyond the directory (departments, users, rooms). Meetings are
//! generated per one-hour slot from `(seed, slot)` and bookings per `(seed, room, local day)`,
//! so any time range is reproducible, independent of the order it is asked in, and the tenant
//! "grows with time". Quality minutes are generated lazily per participant.

use super::format::{quantize_bitrate, quantize_percent, OFFSET_SECONDS};
use super::rng::{mix, tag, Rng};

const SLOT_SECONDS: i64 = 3600;
const DAY_SECONDS: i64 = 86_400;
/// Meetings per slot are capped so that `slot * MAX_PER_SLOT + index` codes a meeting number.
const MAX_PER_SLOT: i64 = 64;
const NO_BASE: u64 = 100_000_000;
const NO_SPAN: u64 = 900_000_000;
/// Coprime with 900,000,000 (= 2^8 · 3^2 · 5^8): scrambles codes into 9-digit numbers.
const NO_MULTIPLIER: u64 = 123_456_791;
/// How long before the start the check-in window opens, and after it the booking is released.
pub const CHECK_IN_OPENS_BEFORE: i64 = 15 * 60;
pub const CHECK_IN_DEADLINE_AFTER: i64 = 15 * 60;
/// The root of the room-level tree: every room is under it.
pub const ROOT_LEVEL_ID: &str = "omb_demo_level";

/// Which id form appears in the files and in `user_id` filters (`user_id_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdType {
    #[default]
    OpenId,
    UnionId,
    UserId,
}

impl IdType {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open_id" => Some(Self::OpenId),
            "union_id" => Some(Self::UnionId),
            "user_id" => Some(Self::UserId),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenId => "open_id",
            Self::UnionId => "union_id",
            Self::UserId => "user_id",
        }
    }
}

/// A person as the files show them: a directory user, an external guest (empty department,
/// employee number, e-mail and phone) or a meeting room (its `omm_` room id in every id form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPerson {
    pub name: String,
    pub department: String,
    pub open_id: String,
    pub union_id: String,
    pub user_id: String,
    pub employee_no: String,
    pub email: String,
    pub phone: String,
}

impl SimPerson {
    pub fn id(&self, id_type: IdType) -> &str {
        match id_type {
            IdType::OpenId => &self.open_id,
            IdType::UnionId => &self.union_id,
            IdType::UserId => &self.user_id,
        }
    }
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:expr, $label:expr;)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The text of the cell.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// A stable ASCII name (the metric label value of DESIGN.md where one is defined).
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),* }
            }
        }
    };
}

text_enum!(
    /// 设备.
    Device {
        Windows => "WINDOWS", "windows";
        Mac => "MAC", "mac";
        Ios => "IOS", "ios";
        Android => "ANDROID", "android";
        Rooms => "ROOMS", "rooms";
        Web => "WEB", "web";
        Linux => "LINUX", "linux";
    }
);

text_enum!(
    /// 网络类型.
    NetworkType {
        Wifi => "wifi", "wifi";
        Lan => "LAN", "lan";
        FourG => "4G", "4g";
        FiveG => "5G", "5g";
    }
);

text_enum!(
    /// 离会原因.
    LeaveReason {
        HostEnded => "主持人结束会议", "host_ended";
        Left => "主动离会", "left";
        NetworkError => "网络异常", "network_error";
        Removed => "被主持人移出会议", "removed_by_host";
    }
);

text_enum!(
    /// The `meeting_type` filter of meeting_list: 2 video meetings, 3 local screen-cast.
    MeetingType {
        Video => "视频会议", "video";
        ScreenCast => "本地投屏", "screen_cast";
    }
);

text_enum!(
    /// 会议室预定状态.
    ReservationStatus {
        PendingApproval => "审批中", "pending_approval";
        Reserved => "预定成功", "reserved";
        ReleasedManually => "已释放（手动释放）", "released_manually";
        ReleasedAfterMeeting => "已释放（会议结束后自动释放）", "released_after_meeting";
        ReleasedNoCheckIn => "已释放（未签到被释放）", "released_no_check_in";
        ReleasedBySensor => "已释放（传感器自动释放）", "released_by_sensor";
    }
);

text_enum!(
    /// 签到设备.
    CheckInDevice {
        Board => "签到板", "check_in_board";
        QrCode => "签到二维码", "qr_code";
        Controller => "控制器", "controller";
        TouchPanel => "触屏板", "touch_panel";
        OfflineAuto => "设备离线，自动签到", "offline_auto";
    }
);

text_enum!(
    /// 会议室签到状态.
    CheckInStatus {
        NotRequiredInstant => "无需签到（即时预定）", "not_required_instant";
        NotRequiredDisabled => "无需签到（未开启签到设置）", "not_required_disabled";
        NotRequired => "无需签到", "not_required";
        Missed => "超时未签到", "missed";
        WindowOpen => "签到时间未结束", "window_open";
        NotRequiredNoDevice => "无需签到（未安装签到设备）", "not_required_no_device";
        CheckedIn => "已签到", "checked_in";
        Waiting => "待签到", "waiting";
        RoomDisabled => "不可签到（会议室被禁用）", "room_disabled";
    }
);

/// A meeting's state relative to "now", as the `meeting_status` parameter means it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingStatus {
    /// 1: started, not ended (`start <= now < end`).
    Ongoing = 1,
    /// 2: ended (`end <= now`).
    Ended = 2,
    /// 3: not started (`start > now`).
    Upcoming = 3,
}

/// The audio, video or screen-share stream of one direction in one minute. Every value is on
/// the grid its cell can state exactly (see [`super::format`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimMediaStats {
    pub bitrate_bps: u64,
    pub latency_ms: u32,
    pub jitter_ms: u32,
    /// Percent, 0–100, tenths.
    pub loss_avg_pct: f64,
    /// Percent, 0–100, tenths; never below the average.
    pub loss_max_pct: f64,
}

/// The two directions of one medium; `None` when the medium was not used that minute
/// (cells `-`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SimMediaPair {
    pub receive: Option<SimMediaStats>,
    pub send: Option<SimMediaStats>,
}

/// One row of participant_quality_list.
#[derive(Debug, Clone, PartialEq)]
pub struct SimQualityMinute {
    /// Unix seconds of the minute's start.
    pub time: i64,
    pub audio: SimMediaPair,
    pub video: SimMediaPair,
    pub screen: SimMediaPair,
    /// Percent, tenths.
    pub client_cpu_min_pct: f64,
    pub client_cpu_avg_pct: f64,
    pub client_cpu_max_pct: f64,
    pub system_cpu_max_pct: f64,
    /// Whether this minute is in the participant's bad-network episode (truth for tests; not
    /// in the file).
    pub bad_network: bool,
}

impl SimQualityMinute {
    /// The media in file order: audio, video, screen share.
    pub fn media(&self) -> [&SimMediaPair; 3] {
        [&self.audio, &self.video, &self.screen]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimParticipant {
    pub person: SimPerson,
    /// Set for a meeting-room device (then `person` is the room, ids are the room id).
    pub room_id: Option<String>,
    pub device: Device,
    pub client_version: String,
    pub public_ip: String,
    pub private_ip: String,
    pub rtc_proxy: bool,
    pub location: String,
    pub network_type: NetworkType,
    pub microphone: String,
    pub speaker: String,
    pub camera: String,
    pub audio: bool,
    pub video: bool,
    pub share: bool,
    /// Unix seconds.
    pub join: i64,
    pub leave: i64,
    pub leave_reason: LeaveReason,
    /// When the camera was on, `[from, to)` unix seconds.
    pub video_on: Option<(i64, i64)>,
    /// When this participant shared the screen, `[from, to)`.
    pub share_on: Option<(i64, i64)>,
    /// The bad-network episode, `[from, to)` on minute boundaries.
    pub bad_network: Option<(i64, i64)>,
    quality_seed: u64,
}

impl SimParticipant {
    /// 参会时长 in seconds.
    pub fn duration(&self) -> i64 {
        self.leave - self.join
    }

    /// The id of the 用户ID column (a room's id for a room).
    pub fn id(&self, id_type: IdType) -> &str {
        self.person.id(id_type)
    }

    /// The start times of the minutes the participant was in: one quality row each.
    pub fn quality_minute_times(&self) -> impl Iterator<Item = i64> {
        let first = self.join.div_euclid(60) * 60;
        let last = (self.leave - 1).div_euclid(60) * 60;
        (first..=last).step_by(60)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimMeeting {
    /// 9 digits, unique across the tenant's whole timeline.
    pub meeting_no: String,
    pub topic: String,
    pub organizer: SimPerson,
    pub meeting_type: MeetingType,
    /// Unix seconds.
    pub start: i64,
    pub end: i64,
    /// The organizer first. Everyone who ever joined, one row each.
    pub participants: Vec<SimParticipant>,
    pub audio: bool,
    pub video: bool,
    pub share: bool,
    pub recording: bool,
    pub telephone: bool,
}

impl SimMeeting {
    /// 会议持续时间 in seconds (of an ended meeting).
    pub fn duration(&self) -> i64 {
        self.end - self.start
    }

    pub fn status_at(&self, now: i64) -> MeetingStatus {
        if self.start > now {
            MeetingStatus::Upcoming
        } else if self.end <= now {
            MeetingStatus::Ended
        } else {
            MeetingStatus::Ongoing
        }
    }

    /// The participants who had joined by `now` (all of them once the meeting ended): the
    /// 参会人数量 and the participant_list rows of a meeting exported at `now`.
    pub fn participants_joined_by(&self, now: i64) -> impl Iterator<Item = &SimParticipant> {
        self.participants.iter().filter(move |p| p.join <= now)
    }

    /// The index of the participant for whom `matches` holds and whose join time is within a
    /// minute of `join_time` (the closest if several).
    pub fn find_participant(
        &self,
        matches: impl Fn(&SimParticipant) -> bool,
        join_time: Option<i64>,
    ) -> Option<usize> {
        self.participants
            .iter()
            .enumerate()
            .filter(|(_, p)| matches(p))
            .filter(|(_, p)| join_time.is_none_or(|t| (p.join - t).abs() < 60))
            .min_by_key(|(_, p)| join_time.map_or(0, |t| (p.join - t).abs()))
            .map(|(index, _)| index)
    }

    /// The per-minute quality of participant `index` (generated on each call, deterministic).
    pub fn quality_minutes(&self, index: usize) -> Vec<SimQualityMinute> {
        let p = &self.participants[index];
        let mut rng = Rng::new(p.quality_seed);
        let base = Baseline::new(p, &mut rng);
        let overlaps = |span: Option<(i64, i64)>, lo: i64, hi: i64| {
            span.is_some_and(|(a, b)| a < hi && b > lo)
        };
        p.quality_minute_times()
            .map(|t| {
                let lo = t.max(p.join);
                let hi = (t + 60).min(p.leave);
                let bad = overlaps(p.bad_network, t, t + 60);
                let others = self
                    .participants
                    .iter()
                    .enumerate()
                    .filter(|(i, o)| *i != index && o.join < hi && o.leave > lo);
                let mut other_audio = false;
                let mut other_video = false;
                let mut other_share = false;
                for (_, o) in others {
                    other_audio |= o.audio;
                    other_video |= overlaps(o.video_on, lo, hi);
                    other_share |= overlaps(o.share_on, lo, hi);
                }
                let video_send = overlaps(p.video_on, lo, hi);
                let share_send = overlaps(p.share_on, lo, hi);
                let audio = SimMediaPair {
                    receive: (p.audio && other_audio)
                        .then(|| base.stats(&mut rng, Medium::Audio, false, bad)),
                    send: p
                        .audio
                        .then(|| base.stats(&mut rng, Medium::Audio, true, bad)),
                };
                let video = SimMediaPair {
                    receive: other_video.then(|| base.stats(&mut rng, Medium::Video, false, bad)),
                    send: video_send.then(|| base.stats(&mut rng, Medium::Video, true, bad)),
                };
                let screen = SimMediaPair {
                    receive: other_share.then(|| base.stats(&mut rng, Medium::Screen, false, bad)),
                    send: share_send.then(|| base.stats(&mut rng, Medium::Screen, true, bad)),
                };
                let load = base.cpu
                    + if video_send { 6.0 } else { 0.0 }
                    + if share_send { 8.0 } else { 0.0 }
                    + if other_video { 3.0 } else { 0.0 };
                let avg = quantize_percent(load * rng.uniform(0.8, 1.25));
                let min = quantize_percent(avg * rng.uniform(0.35, 0.8)).min(avg);
                let max = quantize_percent(avg * rng.uniform(1.25, 2.3)).max(avg);
                let system = quantize_percent(max + rng.uniform(8.0, 45.0)).max(max);
                SimQualityMinute {
                    time: t,
                    audio,
                    video,
                    screen,
                    client_cpu_min_pct: min,
                    client_cpu_avg_pct: avg,
                    client_cpu_max_pct: max,
                    system_cpu_max_pct: system,
                    bad_network: bad,
                }
            })
            .collect()
    }
}

#[derive(Clone, Copy)]
enum Medium {
    Audio,
    Video,
    Screen,
}

/// A participant's network, from which every minute's numbers are drawn.
struct Baseline {
    latency: f64,
    jitter: f64,
    loss: f64,
    cpu: f64,
    device: Device,
}

impl Baseline {
    fn new(p: &SimParticipant, rng: &mut Rng) -> Self {
        let (latency, jitter, loss) = match p.network_type {
            NetworkType::Lan => (rng.uniform(15.0, 40.0), rng.uniform(1.0, 4.0), 0.1),
            NetworkType::Wifi => (rng.uniform(25.0, 70.0), rng.uniform(2.0, 10.0), 0.4),
            NetworkType::FiveG => (rng.uniform(35.0, 80.0), rng.uniform(4.0, 15.0), 0.8),
            NetworkType::FourG => (rng.uniform(50.0, 120.0), rng.uniform(8.0, 25.0), 1.5),
        };
        let far = if p.location == "中国大陆" {
            0.0
        } else {
            rng.uniform(60.0, 150.0)
        };
        let proxy = if p.rtc_proxy { 20.0 } else { 0.0 };
        let cpu = match p.device {
            Device::Windows | Device::Mac | Device::Linux => rng.uniform(6.0, 22.0),
            Device::Ios | Device::Android => rng.uniform(10.0, 28.0),
            Device::Rooms => rng.uniform(15.0, 30.0),
            Device::Web => rng.uniform(12.0, 32.0),
        };
        Self {
            latency: latency + far + proxy,
            jitter,
            loss,
            cpu,
            device: p.device,
        }
    }

    fn stats(&self, rng: &mut Rng, medium: Medium, send: bool, bad: bool) -> SimMediaStats {
        let extra = match medium {
            Medium::Audio => 0.0,
            Medium::Video => rng.uniform(5.0, 20.0),
            Medium::Screen => rng.uniform(5.0, 25.0),
        };
        let (latency, jitter, loss_avg, loss_spread) = if bad {
            (
                rng.uniform(300.0, 900.0),
                rng.uniform(30.0, 150.0),
                rng.uniform(5.0, 30.0),
                rng.uniform(2.0, 20.0),
            )
        } else {
            let spike = rng.chance(0.03);
            (
                self.latency * rng.uniform(0.85, 1.2) + extra,
                self.jitter * rng.uniform(0.6, 1.5),
                if rng.chance(0.35) {
                    0.0
                } else {
                    self.loss * rng.uniform(0.0, 2.0) + if spike { 2.0 } else { 0.0 }
                },
                rng.uniform(0.0, 2.5),
            )
        };
        let mobile = matches!(self.device, Device::Ios | Device::Android);
        let bitrate = match medium {
            Medium::Audio => rng.uniform(24_000.0, 64_000.0),
            Medium::Video if send && mobile => rng.uniform(300_000.0, 900_000.0),
            Medium::Video if send && self.device == Device::Rooms => {
                rng.uniform(1_200_000.0, 2_500_000.0)
            }
            Medium::Video if send => rng.uniform(600_000.0, 1_800_000.0),
            Medium::Video => rng.uniform(200_000.0, 2_500_000.0),
            Medium::Screen => rng.uniform(150_000.0, 3_000_000.0),
        } * if bad { rng.uniform(0.3, 0.6) } else { 1.0 };
        let loss_avg_pct = quantize_percent(loss_avg);
        SimMediaStats {
            bitrate_bps: quantize_bitrate(bitrate),
            latency_ms: latency.round().max(1.0) as u32,
            jitter_ms: jitter.round() as u32,
            loss_avg_pct,
            loss_max_pct: quantize_percent(loss_avg + loss_spread).max(loss_avg_pct),
        }
    }
}

/// How a room takes check-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomCheckIn {
    /// Check-in not switched on for the room.
    NotEnabled,
    /// Switched on, but no check-in device installed.
    NoDevice,
    Enabled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRoomLevel {
    pub level_id: String,
    pub name: String,
    pub parent_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRoom {
    /// `omm_…`.
    pub room_id: String,
    pub name: String,
    /// The leaf level the room is in (under [`ROOT_LEVEL_ID`]).
    pub level_id: String,
    pub capacity: u32,
    pub check_in: RoomCheckIn,
    pub requires_approval: bool,
    /// Disabled rooms cannot be checked in to.
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimBooking {
    pub room_id: String,
    pub room_name: String,
    pub topic: String,
    pub booker: String,
    pub department: String,
    pub invitees: u32,
    pub acceptances: u32,
    /// Unix seconds.
    pub start: i64,
    pub end: i64,
    /// Booked on the spot (instant booking).
    pub instant: bool,
    pub status: ReservationStatus,
    pub check_in_device: Option<CheckInDevice>,
    pub check_in_status: CheckInStatus,
    pub check_in_time: Option<i64>,
    pub releaser: Option<String>,
    pub release_time: Option<i64>,
}

impl SimBooking {
    /// 会议时长 in seconds.
    pub fn duration(&self) -> i64 {
        self.end - self.start
    }

    /// The booking as an export at `now` shows it. The generated booking is its final state
    /// (every event lies before its end); before then, check-ins and releases that have not
    /// happened yet are not shown and the states are the in-between ones (待签到 until the
    /// check-in window opens 15 min before the start, 签到时间未结束 while it is open).
    pub fn at(&self, now: i64) -> SimBooking {
        let mut b = self.clone();
        if now >= b.end {
            return b;
        }
        if b.release_time.is_some_and(|t| t > now) {
            b.release_time = None;
            b.releaser = None;
            b.status = ReservationStatus::Reserved;
        }
        let pending = match b.check_in_status {
            CheckInStatus::CheckedIn => b.check_in_time.is_some_and(|t| t > now),
            CheckInStatus::Missed => now < b.start + CHECK_IN_DEADLINE_AFTER,
            _ => false,
        };
        if pending {
            b.check_in_device = None;
            b.check_in_time = None;
            b.check_in_status = if now < b.start - CHECK_IN_OPENS_BEFORE {
                CheckInStatus::Waiting
            } else {
                CheckInStatus::WindowOpen
            };
        }
        b
    }
}

/// A deterministic fake tenant.
#[derive(Debug, Clone)]
pub struct Tenant {
    seed: u64,
    departments: Vec<String>,
    users: Vec<SimPerson>,
    prefs: Vec<UserPrefs>,
    levels: Vec<SimRoomLevel>,
    rooms: Vec<SimRoom>,
    no_offset: u64,
    no_inverse: u64,
}

#[derive(Debug, Clone)]
struct UserPrefs {
    desktop: Device,
    mobile: Device,
    home_network: NetworkType,
    location: &'static str,
    version: usize,
}

const SURNAMES: &[(&str, &str)] = &[
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("赵", "zhao"),
    ("黄", "huang"),
    ("周", "zhou"),
    ("吴", "wu"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("胡", "hu"),
    ("朱", "zhu"),
    ("高", "gao"),
    ("林", "lin"),
    ("何", "he"),
    ("郭", "guo"),
    ("马", "ma"),
    ("罗", "luo"),
];
const GIVEN_NAMES: &[(&str, &str)] = &[
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("浩然", "haoran"),
    ("子涵", "zihan"),
    ("宇轩", "yuxuan"),
    ("欣怡", "xinyi"),
    ("思远", "siyuan"),
];
const DEPARTMENTS: &[&str] = &[
    "研发部",
    "产品部",
    "设计部",
    "销售部",
    "市场部",
    "人事部",
    "财务部",
    "客服部",
    "法务部",
    "运营部",
];
const CITIES: &[&str] = &[
    "北京", "上海", "广州", "深圳", "杭州", "成都", "南京", "武汉", "西安", "苏州",
];
const DESKTOP_VERSIONS: &[&str] = &["7.30.5", "7.31.8", "7.32.6", "7.33.2"];
const MOBILE_VERSIONS: &[&str] = &["7.30.3", "7.31.6", "7.32.4", "7.33.1"];
const ROOMS_VERSIONS: &[&str] = &["6.9.0", "6.10.2"];
const WEB_VERSIONS: &[&str] = &["web-7.32.0", "web-7.33.0"];
const TOPICS: &[&str] = &[
    "周例会",
    "项目同步会",
    "需求评审",
    "技术分享",
    "设计评审",
    "客户沟通会",
    "面试",
    "站会",
    "季度复盘",
    "方案讨论",
];
const USER_LOCATIONS: &[(&str, u32)] = &[
    ("中国大陆", 85),
    ("中国香港", 5),
    ("新加坡", 5),
    ("美国", 5),
];
const LEVEL_3F: &str = "omb_demo_level_3f";
const LEVEL_5F: &str = "omb_demo_level_5f";

impl Tenant {
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::from_parts(&[seed, tag("directory")]);
        let mut departments: Vec<String> = DEPARTMENTS.iter().map(|d| d.to_string()).collect();
        shuffle(&mut departments, &mut rng);
        departments.truncate(rng.range(5, 8) as usize);

        let user_count = rng.range(20, 41) as usize;
        let mut users = Vec::with_capacity(user_count);
        let mut prefs = Vec::with_capacity(user_count);
        let mut names = std::collections::HashSet::new();
        while users.len() < user_count {
            let i = users.len();
            let (surname, surname_py) = *rng.pick(SURNAMES);
            let (given, given_py) = *rng.pick(GIVEN_NAMES);
            let name = format!("{surname}{given}");
            if !names.insert(name.clone()) {
                continue;
            }
            let mut ids = Rng::from_parts(&[seed, tag("user-id"), i as u64]);
            users.push(SimPerson {
                name,
                department: rng.pick(&departments).clone(),
                open_id: format!("ou_{}", ids.hex(32)),
                union_id: format!("on_{}", ids.hex(32)),
                user_id: ids.hex(8),
                employee_no: format!("{}", 10_000_000 + 1000 * i as i64 + rng.range(0, 1000)),
                email: format!("{given_py}.{surname_py}{}@example.com", i + 1),
                phone: format!(
                    "+861{}{}****{:04}",
                    rng.pick(&[3, 5, 8]),
                    rng.range(0, 10),
                    rng.range(0, 10_000)
                ),
            });
            prefs.push(UserPrefs {
                desktop: *rng.weighted(&[
                    (Device::Windows, 50),
                    (Device::Mac, 40),
                    (Device::Linux, 10),
                ]),
                mobile: *rng.weighted(&[(Device::Ios, 55), (Device::Android, 45)]),
                home_network: *rng.weighted(&[(NetworkType::Wifi, 60), (NetworkType::Lan, 40)]),
                location: rng.weighted::<&str>(USER_LOCATIONS),
                version: rng.range(0, DESKTOP_VERSIONS.len() as i64) as usize,
            });
        }

        let levels = vec![
            SimRoomLevel {
                level_id: ROOT_LEVEL_ID.into(),
                name: "总部大楼".into(),
                parent_id: None,
            },
            SimRoomLevel {
                level_id: LEVEL_3F.into(),
                name: "3F".into(),
                parent_id: Some(ROOT_LEVEL_ID.into()),
            },
            SimRoomLevel {
                level_id: LEVEL_5F.into(),
                name: "5F".into(),
                parent_id: Some(ROOT_LEVEL_ID.into()),
            },
        ];
        let room_count = rng.range(6, 10) as usize;
        let mut cities: Vec<&str> = CITIES.to_vec();
        shuffle(&mut cities, &mut rng);
        let rooms = (0..room_count)
            .map(|k| {
                let floor = if k % 2 == 0 { 3 } else { 5 };
                SimRoom {
                    room_id: format!(
                        "omm_{}",
                        Rng::from_parts(&[seed, tag("room-id"), k as u64]).hex(32)
                    ),
                    name: format!("{floor}F-{}厅", cities[k]),
                    level_id: if floor == 3 { LEVEL_3F } else { LEVEL_5F }.into(),
                    capacity: *rng.pick(&[4, 6, 8, 10, 12, 16, 20]),
                    check_in: match k {
                        0 => RoomCheckIn::NotEnabled,
                        1 => RoomCheckIn::NoDevice,
                        _ => RoomCheckIn::Enabled,
                    },
                    requires_approval: k == 2,
                    disabled: k == room_count - 1,
                }
            })
            .collect();

        let no_offset = mix(&[seed, tag("meeting-no")]) % NO_SPAN;
        Self {
            seed,
            departments,
            users,
            prefs,
            levels,
            rooms,
            no_offset,
            no_inverse: mod_inverse(NO_MULTIPLIER, NO_SPAN),
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn departments(&self) -> &[String] {
        &self.departments
    }

    /// The directory users (guests and rooms in meetings are not among them).
    pub fn users(&self) -> &[SimPerson] {
        &self.users
    }

    pub fn rooms(&self) -> &[SimRoom] {
        &self.rooms
    }

    pub fn room_levels(&self) -> &[SimRoomLevel] {
        &self.levels
    }

    /// The root of the room-level tree ([`ROOT_LEVEL_ID`]): exports every room.
    pub fn room_level_id(&self) -> &str {
        ROOT_LEVEL_ID
    }

    /// The rooms under a level (itself or any descendant), `None` for an unknown level.
    pub fn rooms_in_level(&self, level_id: &str) -> Option<Vec<&SimRoom>> {
        if !self.levels.iter().any(|l| l.level_id == level_id) {
            return None;
        }
        Some(
            self.rooms
                .iter()
                .filter(|r| self.level_is_under(&r.level_id, level_id))
                .collect(),
        )
    }

    fn level_is_under(&self, level_id: &str, ancestor: &str) -> bool {
        let mut current = Some(level_id);
        while let Some(id) = current {
            if id == ancestor {
                return true;
            }
            current = self
                .levels
                .iter()
                .find(|l| l.level_id == id)
                .and_then(|l| l.parent_id.as_deref());
        }
        false
    }

    /// Ground truth: every meeting whose start is in `[start, end]` (unix seconds, inclusive),
    /// in start order, whatever its state at any "now".
    pub fn meetings_started_between(&self, start: i64, end: i64) -> Vec<SimMeeting> {
        let start = start.max(0);
        if end < start {
            return Vec::new();
        }
        let mut out = Vec::new();
        for slot in start.div_euclid(SLOT_SECONDS)..=end.div_euclid(SLOT_SECONDS) {
            for index in 0..self.slot_count(slot) {
                let meeting = self.meeting(slot, index);
                if meeting.start >= start && meeting.start <= end {
                    out.push(meeting);
                }
            }
        }
        out.sort_by(|a, b| (a.start, &a.meeting_no).cmp(&(b.start, &b.meeting_no)));
        out
    }

    /// The meeting with this number, if the tenant ever has one.
    pub fn meeting_by_no(&self, meeting_no: &str) -> Option<SimMeeting> {
        if meeting_no.len() != 9 || !meeting_no.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = meeting_no.parse().ok()?;
        let scrambled = (n.checked_sub(NO_BASE)? + NO_SPAN - self.no_offset) % NO_SPAN;
        let code = ((scrambled as u128 * self.no_inverse as u128) % NO_SPAN as u128) as i64;
        let (slot, index) = (code / MAX_PER_SLOT, code % MAX_PER_SLOT);
        (index < self.slot_count(slot)).then(|| self.meeting(slot, index))
    }

    /// Ground truth: the bookings of the rooms under `level_id` whose start is in
    /// `[start, end]`, in their final state (see [`SimBooking::at`] for the state at a time).
    pub fn bookings_between(&self, level_id: &str, start: i64, end: i64) -> Vec<SimBooking> {
        let Some(rooms) = self.rooms_in_level(level_id) else {
            return Vec::new();
        };
        let start = start.max(0);
        if end < start {
            return Vec::new();
        }
        let local_day = |t: i64| (t + OFFSET_SECONDS as i64).div_euclid(DAY_SECONDS);
        let mut out = Vec::new();
        for day in local_day(start)..=local_day(end) {
            for room in &rooms {
                let k = self.rooms.iter().position(|r| r.room_id == room.room_id);
                out.extend(
                    self.room_day(k.unwrap_or(0), day)
                        .into_iter()
                        .filter(|b| b.start >= start && b.start <= end),
                );
            }
        }
        out.sort_by(|a, b| (a.start, &a.room_name).cmp(&(b.start, &b.room_name)));
        out
    }

    fn slot_count(&self, slot: i64) -> i64 {
        if slot < 0 || slot >= (NO_SPAN as i64) / MAX_PER_SLOT {
            return 0;
        }
        let mut rng = Rng::from_parts(&[self.seed, tag("slot"), slot as u64]);
        let (hour, weekday) = local_hour_weekday(slot * SLOT_SECONDS);
        let lambda = HOURLY_RATE[hour as usize] * if weekday { 1.0 } else { 0.25 };
        (rng.poisson(lambda) as i64).clamp(1, 40)
    }

    fn meeting_no(&self, slot: i64, index: i64) -> String {
        let code = (slot * MAX_PER_SLOT + index) as u64;
        let scrambled = ((code as u128 * NO_MULTIPLIER as u128) % NO_SPAN as u128) as u64;
        format!("{}", NO_BASE + (scrambled + self.no_offset) % NO_SPAN)
    }

    fn user_participant(
        &self,
        user: usize,
        rng: &mut Rng,
        mobile_share: f64,
    ) -> (SimPerson, Device, NetworkType, String, &'static str) {
        let pref = &self.prefs[user];
        let r = rng.f64();
        let device = if r < 1.0 - mobile_share - 0.08 {
            pref.desktop
        } else if r < 1.0 - 0.08 {
            pref.mobile
        } else {
            Device::Web
        };
        let network = match device {
            Device::Ios | Device::Android => *rng.weighted(&[
                (NetworkType::Wifi, 55),
                (NetworkType::FiveG, 25),
                (NetworkType::FourG, 20),
            ]),
            _ if rng.chance(0.85) => pref.home_network,
            _ => *rng.pick(&[NetworkType::Wifi, NetworkType::Lan]),
        };
        let version = match device {
            Device::Ios | Device::Android => MOBILE_VERSIONS[pref.version],
            Device::Web => rng.pick(WEB_VERSIONS),
            _ => DESKTOP_VERSIONS[pref.version],
        };
        (
            self.users[user].clone(),
            device,
            network,
            version.to_string(),
            pref.location,
        )
    }

    fn guest(&self, g: u64) -> SimPerson {
        let mut rng = Rng::from_parts(&[self.seed, tag("guest"), g]);
        let (surname, _) = *rng.pick(SURNAMES);
        let (given, _) = *rng.pick(GIVEN_NAMES);
        SimPerson {
            name: format!("{surname}{given}（外部）"),
            department: String::new(),
            open_id: format!("ou_{}", rng.hex(32)),
            union_id: format!("on_{}", rng.hex(32)),
            user_id: rng.hex(8),
            employee_no: String::new(),
            email: String::new(),
            phone: String::new(),
        }
    }

    fn room_person(&self, room: &SimRoom) -> SimPerson {
        SimPerson {
            name: room.name.clone(),
            department: String::new(),
            open_id: room.room_id.clone(),
            union_id: room.room_id.clone(),
            user_id: room.room_id.clone(),
            employee_no: String::new(),
            email: String::new(),
            phone: String::new(),
        }
    }

    fn meeting(&self, slot: i64, index: i64) -> SimMeeting {
        let mseed = mix(&[self.seed, tag("meeting"), slot as u64, index as u64]);
        let mut rng = Rng::new(mseed);
        let slot_start = slot * SLOT_SECONDS;
        let (hour, weekday) = local_hour_weekday(slot_start);
        let business = weekday && (9..19).contains(&hour);

        let screen_cast = rng.chance(0.04);
        let r = rng.f64();
        let size: usize = if screen_cast {
            2
        } else if r < 0.03 {
            1
        } else if r < 0.25 {
            2
        } else if r < 0.83 {
            rng.range(3, 9) as usize
        } else if !business || r < 0.988 {
            rng.range(9, 51) as usize
        } else {
            rng.range(100, 181) as usize
        };
        let (median_min, sigma) = match size {
            1 => (8.0, 0.6),
            2 => (15.0, 0.6),
            3..=8 => (35.0, 0.5),
            9..=50 => (50.0, 0.45),
            _ => (70.0, 0.3),
        };
        let length = if screen_cast {
            rng.range(300, 2400)
        } else {
            ((median_min * 60.0f64).ln() + sigma * rng.normal())
                .exp()
                .clamp(300.0, 7200.0) as i64
        };
        let scheduled = size > 2 && rng.chance(0.6);
        let start = if scheduled {
            slot_start + *rng.pick(&[0, 1800]) + rng.range(0, 180)
        } else {
            slot_start + rng.range(0, SLOT_SECONDS)
        };
        let end = start + length;

        // Who: directory users, then guests, and perhaps a meeting room.
        let with_room = screen_cast || (size >= 3 && business && rng.chance(0.35));
        let rooms_wanted = if !with_room {
            0
        } else if size >= 100 {
            2
        } else {
            1
        };
        let mut people = size - rooms_wanted;
        let guests = if people > 8 {
            (people as f64 * rng.uniform(0.1, 0.4)) as usize
        } else if people >= 2 && rng.chance(0.1) {
            1
        } else {
            0
        }
        .max(people.saturating_sub(self.users.len()));
        people -= guests;
        let mut order: Vec<usize> = (0..self.users.len()).collect();
        for i in 0..people {
            let j = rng.range(i as i64, order.len() as i64) as usize;
            order.swap(i, j);
        }
        let mut room_order: Vec<usize> = (0..self.rooms.len() - 1).collect(); // not the disabled
        shuffle(&mut room_order, &mut rng);

        let mobile_share = if business { 0.15 } else { 0.4 };
        let mut participants = Vec::with_capacity(size);
        let mut guest_ids = std::collections::HashSet::new();
        for slot_i in 0..size {
            let pseed = mix(&[mseed, tag("participant"), slot_i as u64]);
            let mut prng = Rng::new(pseed);
            let (person, room_id, device, network, version, location) = if slot_i < people {
                let (person, device, network, version, location) =
                    self.user_participant(order[slot_i], &mut prng, mobile_share);
                (person, None, device, network, version, location.to_string())
            } else if slot_i < people + rooms_wanted {
                let room = &self.rooms[room_order[slot_i - people]];
                (
                    self.room_person(room),
                    Some(room.room_id.clone()),
                    Device::Rooms,
                    *prng.weighted(&[(NetworkType::Lan, 90), (NetworkType::Wifi, 10)]),
                    prng.pick(ROOMS_VERSIONS).to_string(),
                    "中国大陆".to_string(),
                )
            } else {
                let mut g = prng.range(0, 5000) as u64;
                while !guest_ids.insert(g) {
                    g = (g + 1) % 5000;
                }
                let device = *prng.weighted(&[
                    (Device::Windows, 35),
                    (Device::Mac, 30),
                    (Device::Ios, 12),
                    (Device::Android, 10),
                    (Device::Web, 13),
                ]);
                let network = match device {
                    Device::Ios | Device::Android => {
                        *prng.pick(&[NetworkType::Wifi, NetworkType::FourG, NetworkType::FiveG])
                    }
                    _ => *prng.pick(&[NetworkType::Wifi, NetworkType::Lan]),
                };
                let version = match device {
                    Device::Ios | Device::Android => prng.pick(MOBILE_VERSIONS),
                    Device::Web => prng.pick(WEB_VERSIONS),
                    _ => prng.pick(DESKTOP_VERSIONS),
                };
                let location = *prng.weighted(&[("中国大陆", 80), ("中国香港", 10), ("美国", 10)]);
                (
                    self.guest(g),
                    None,
                    device,
                    network,
                    version.to_string(),
                    location.to_string(),
                )
            };

            // When.
            let (join, leave, leave_reason) = if slot_i == 0 {
                (start, end, LeaveReason::HostEnded)
            } else {
                let late_cap = (length / 2).max(1);
                let offset = if device == Device::Rooms {
                    prng.range(0, 60)
                } else {
                    let r = prng.f64();
                    if r < 0.7 {
                        prng.range(0, 90)
                    } else if r < 0.92 {
                        prng.range(90, 480)
                    } else {
                        prng.range(480, 1200)
                    }
                }
                .min(late_cap);
                let join = start + offset;
                let r = prng.f64();
                let (reason, early) = if device == Device::Rooms || screen_cast || r < 0.82 {
                    (LeaveReason::HostEnded, false)
                } else if r < 0.94 {
                    (LeaveReason::Left, true)
                } else if r < 0.98 {
                    (LeaveReason::NetworkError, true)
                } else {
                    (LeaveReason::Removed, true)
                };
                if early && join + 90 < end {
                    (join, prng.range(join + 60, end), reason)
                } else {
                    (join, end, LeaveReason::HostEnded)
                }
            };

            let audio = !screen_cast && (device == Device::Rooms || prng.chance(0.97));
            let video_chance = match device {
                _ if screen_cast => 0.0,
                Device::Rooms => 0.95,
                _ if size >= 100 => 0.15,
                Device::Ios | Device::Android => 0.35,
                Device::Web => 0.5,
                _ => 0.6,
            };
            let session = leave - join;
            let video_on = prng.chance(video_chance).then(|| {
                let from = join + (session as f64 * prng.uniform(0.0, 0.15)) as i64;
                let to = leave - (session as f64 * prng.uniform(0.0, 0.15)) as i64;
                (from, to.max(from + 30).min(leave))
            });
            let bad_chance = match network {
                NetworkType::Lan => 0.04,
                NetworkType::Wifi => 0.18,
                NetworkType::FiveG => 0.22,
                NetworkType::FourG => 0.32,
            };
            let first_minute = join.div_euclid(60) * 60;
            let last_minute = (leave - 1).div_euclid(60) * 60;
            let minutes = (last_minute - first_minute) / 60 + 1;
            let bad_network = if leave_reason == LeaveReason::NetworkError {
                let len = prng.range(1, 4).min(minutes);
                Some((last_minute - (len - 1) * 60, last_minute + 60))
            } else if !screen_cast && prng.chance(bad_chance) {
                let len = prng.range(1, 7).min(minutes);
                let from = first_minute + prng.range(0, minutes - len + 1) * 60;
                Some((from, from + len * 60))
            } else {
                None
            };
            let (microphone, speaker, camera) = devices_for(device, &mut prng);
            let (public_ip, private_ip) = ips(device, network, &mut prng);
            participants.push(SimParticipant {
                person,
                room_id,
                device,
                client_version: version,
                public_ip,
                private_ip,
                rtc_proxy: prng.chance(0.03),
                location,
                network_type: network,
                microphone: microphone.into(),
                speaker: speaker.into(),
                camera: camera.into(),
                audio,
                video: video_on.is_some(),
                share: false,
                join,
                leave,
                leave_reason,
                video_on,
                share_on: None,
                bad_network,
                quality_seed: mix(&[pseed, tag("quality")]),
            });
        }

        // Screen sharing: the user of a screen-cast, or one desktop participant sometimes.
        let sharer = if screen_cast {
            Some(0)
        } else if size >= 2 && rng.chance(0.4) {
            let candidates: Vec<usize> = participants
                .iter()
                .enumerate()
                .filter(|(_, p)| {
                    p.room_id.is_none() && p.duration() >= 120 && p.device != Device::Ios
                })
                .map(|(i, _)| i)
                .collect();
            (!candidates.is_empty()).then(|| *rng.pick(&candidates))
        } else {
            None
        };
        if let Some(i) = sharer {
            let p = &mut participants[i];
            let (from, to) = if screen_cast {
                (p.join, p.leave)
            } else {
                let from = rng.range(p.join, p.leave - 60);
                let to = (from + rng.range(60, 1800)).min(p.leave);
                (from, to)
            };
            p.share = true;
            p.share_on = Some((from, to));
        }

        let organizer = participants[0].person.clone();
        let topic = if size == 2 && !screen_cast {
            format!("{}的视频会议", organizer.name)
        } else if screen_cast {
            format!("{}的投屏", organizer.name)
        } else if size >= 100 {
            "全员大会".to_string()
        } else {
            rng.pick(TOPICS).to_string()
        };
        SimMeeting {
            meeting_no: self.meeting_no(slot, index),
            topic,
            organizer,
            meeting_type: if screen_cast {
                MeetingType::ScreenCast
            } else {
                MeetingType::Video
            },
            start,
            end,
            audio: participants.iter().any(|p| p.audio),
            video: participants.iter().any(|p| p.video),
            share: participants.iter().any(|p| p.share),
            recording: !screen_cast
                && (size >= 100 && rng.chance(0.7) || size >= 3 && rng.chance(0.15)),
            telephone: !screen_cast && rng.chance(0.04),
            participants,
        }
    }

    fn room_day(&self, room_index: usize, day: i64) -> Vec<SimBooking> {
        let room = &self.rooms[room_index];
        let mut rng = Rng::from_parts(&[self.seed, tag("bookings"), room_index as u64, day as u64]);
        let day_start = day * DAY_SECONDS - OFFSET_SECONDS as i64;
        let weekday = !matches!((day + 4).rem_euclid(7), 0 | 6);
        if !weekday && !rng.chance(0.15) || room.disabled && !rng.chance(0.3) {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut cursor = day_start + 8 * 3600 + rng.range(0, 3) * 1800;
        let close = day_start + 21 * 3600;
        while cursor < day_start + 20 * 3600 {
            let gap = *rng.weighted(&[
                (0, 3),
                (30, 3),
                (60, 2),
                (120, 1),
                (180, if weekday { 0 } else { 4 }),
            ]);
            let minutes = *rng.weighted(&[(30, 2), (60, 4), (90, 2), (120, 1)]);
            let instant = rng.chance(0.06);
            let start = cursor
                + gap * 60
                + if instant {
                    rng.range(1, 20) * 60 + rng.range(0, 60)
                } else {
                    0
                };
            let end = start + minutes * 60;
            if end > close {
                break;
            }
            out.push(self.booking(room, start, end, instant, &mut rng));
            cursor = end;
        }
        out
    }

    fn booking(
        &self,
        room: &SimRoom,
        start: i64,
        end: i64,
        instant: bool,
        rng: &mut Rng,
    ) -> SimBooking {
        let booker = rng.pick(&self.users).clone();
        let invitees = rng.range(1, room.capacity as i64 + 3) as u32;
        let acceptances = (invitees as f64 * rng.uniform(0.4, 1.0)).round() as u32;
        let mut b = SimBooking {
            room_id: room.room_id.clone(),
            room_name: room.name.clone(),
            topic: rng.pick(TOPICS).to_string(),
            booker: booker.name.clone(),
            department: booker.department.clone(),
            invitees,
            acceptances: acceptances.min(invitees),
            start,
            end,
            instant,
            status: ReservationStatus::Reserved,
            check_in_device: None,
            check_in_status: CheckInStatus::NotRequired,
            check_in_time: None,
            releaser: None,
            release_time: None,
        };
        let length = end - start;
        let check_in = |b: &mut SimBooking, rng: &mut Rng| {
            b.check_in_status = CheckInStatus::CheckedIn;
            b.check_in_time = Some(start + rng.range(-300, 600));
            b.check_in_device = Some(*rng.weighted(&[
                (CheckInDevice::Board, 40),
                (CheckInDevice::QrCode, 25),
                (CheckInDevice::Controller, 15),
                (CheckInDevice::TouchPanel, 15),
                (CheckInDevice::OfflineAuto, 5),
            ]));
        };
        if room.disabled {
            b.check_in_status = CheckInStatus::RoomDisabled;
            return b;
        }
        if room.requires_approval && rng.chance(0.3) {
            b.status = ReservationStatus::PendingApproval;
            return b;
        }
        let enabled = room.check_in == RoomCheckIn::Enabled;
        if rng.chance(0.07) {
            // Released by hand: before the start, or during the meeting after a check-in.
            b.status = ReservationStatus::ReleasedManually;
            b.releaser = Some(booker.name.clone());
            if !instant && rng.chance(0.6) {
                b.release_time = Some(start - rng.range(600, 3 * 3600));
            } else {
                if enabled && !instant {
                    check_in(&mut b, rng);
                }
                let earliest = b.check_in_time.unwrap_or(start).max(start) + 300;
                b.release_time = Some(rng.range(earliest, end - 60));
            }
            return b;
        }
        b.check_in_status = if instant {
            CheckInStatus::NotRequiredInstant
        } else {
            match room.check_in {
                RoomCheckIn::NotEnabled => CheckInStatus::NotRequiredDisabled,
                RoomCheckIn::NoDevice => CheckInStatus::NotRequiredNoDevice,
                RoomCheckIn::Enabled if rng.chance(0.05) => CheckInStatus::NotRequired,
                RoomCheckIn::Enabled if rng.chance(0.78) => {
                    check_in(&mut b, rng);
                    CheckInStatus::CheckedIn
                }
                RoomCheckIn::Enabled => CheckInStatus::Missed,
            }
        };
        if b.check_in_status == CheckInStatus::Missed {
            b.status = ReservationStatus::ReleasedNoCheckIn;
            b.release_time = Some(start + CHECK_IN_DEADLINE_AFTER);
            return b;
        }
        let r = rng.f64();
        if r < 0.2 {
            b.status = ReservationStatus::ReleasedAfterMeeting;
            b.release_time = Some(start + (length as f64 * rng.uniform(0.5, 0.9)) as i64);
        } else if r < 0.27 && b.check_in_status == CheckInStatus::CheckedIn {
            b.status = ReservationStatus::ReleasedBySensor;
            let earliest = b.check_in_time.unwrap_or(start).max(start) + 600;
            b.release_time = Some(rng.range(earliest, end - 60));
        }
        b
    }
}

/// Meetings per hour on a weekday, by local hour (a floor of one per hour applies).
const HOURLY_RATE: [f64; 24] = [
    0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.8, 1.5, 4.0, 5.0, 4.5, 1.5, 2.5, 5.0, 5.0, 4.5, 3.5, 2.0,
    1.2, 1.0, 0.8, 0.5, 0.4,
];

/// The local (+08:00) hour of a time and whether it is a weekday.
fn local_hour_weekday(t: i64) -> (i64, bool) {
    let local = t + OFFSET_SECONDS as i64;
    let hour = local.div_euclid(3600).rem_euclid(24);
    // 1970-01-01 was a Thursday: (day + 4) % 7 counts from Sunday = 0.
    let weekday = !matches!((local.div_euclid(DAY_SECONDS) + 4).rem_euclid(7), 0 | 6);
    (hour, weekday)
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.range(0, i as i64 + 1) as usize;
        items.swap(i, j);
    }
}

fn mod_inverse(a: u64, m: u64) -> u64 {
    let (mut t, mut new_t, mut r, mut new_r) = (0i128, 1i128, m as i128, a as i128);
    while new_r != 0 {
        let q = r / new_r;
        (t, new_t) = (new_t, t - q * new_t);
        (r, new_r) = (new_r, r - q * new_r);
    }
    t.rem_euclid(m as i128) as u64
}

fn devices_for(device: Device, rng: &mut Rng) -> (&'static str, &'static str, &'static str) {
    match device {
        Device::Mac if rng.chance(0.5) => (
            "MacBook Pro麦克风",
            "MacBook Pro扬声器",
            "FaceTime HD Camera",
        ),
        Device::Windows if rng.chance(0.2) => {
            ("Jabra Speak 510", "Jabra Speak 510", "Integrated Camera")
        }
        Device::Windows | Device::Mac => ("与系统一致", "与系统一致", "Integrated Camera"),
        Device::Linux => ("与系统一致", "与系统一致", "USB Camera"),
        Device::Ios | Device::Android => ("手机麦克风", "手机扬声器", "前置摄像头"),
        Device::Rooms => ("会议室麦克风", "会议室扬声器", "会议室摄像头"),
        Device::Web => ("Default", "Default", "HD Webcam"),
    }
}

/// Documentation-range public addresses and private ones: fake, never routable.
fn ips(device: Device, network: NetworkType, rng: &mut Rng) -> (String, String) {
    let public = match rng.range(0, 2) {
        0 => format!("203.0.113.{}", rng.range(1, 255)),
        _ => format!("198.51.100.{}", rng.range(1, 255)),
    };
    let private = match (device, network) {
        (_, NetworkType::FourG | NetworkType::FiveG) => {
            format!(
                "10.{}.{}.{}",
                rng.range(64, 128),
                rng.range(0, 256),
                rng.range(2, 255)
            )
        }
        (Device::Rooms, _) => format!("172.16.{}.{}", rng.range(0, 4), rng.range(2, 255)),
        _ => format!("192.168.{}.{}", rng.range(0, 10), rng.range(2, 255)),
    };
    (public, private)
}
