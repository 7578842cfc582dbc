//! participant_quality_list: one row per minute of one participant.
//!
//! Its 30 stream columns follow one pattern, `<media>-<metric>（<direction>）`, so headers are
//! matched by taking that pattern apart rather than through a 30-row alias table.

use super::header::normalise;
use super::row::{required, Row, RowError, Schema};
use super::{Kind, Record};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Media {
    Audio,
    Video,
    Screen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Receive,
    Send,
}

impl Media {
    pub const ALL: [Media; 3] = [Media::Audio, Media::Video, Media::Screen];

    pub fn as_str(self) -> &'static str {
        match self {
            Media::Audio => "audio",
            Media::Video => "video",
            Media::Screen => "screen",
        }
    }
}

impl Direction {
    pub const ALL: [Direction; 2] = [Direction::Receive, Direction::Send];

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Receive => "receive",
            Direction::Send => "send",
        }
    }
}

/// One medium in one direction during one minute. `None`: the medium was not used.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StreamSample {
    pub bitrate_bytes_per_second: Option<f64>,
    pub latency_seconds: Option<f64>,
    pub jitter_seconds: Option<f64>,
    /// Minute average, ratio 0–1.
    pub packet_loss_ratio: Option<f64>,
    /// Minute maximum, ratio 0–1.
    pub packet_loss_peak_ratio: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QualityMinute {
    pub time: i64,
    /// Indexed `[media as usize][direction as usize]`; see [`QualityMinute::stream`].
    pub streams: [[StreamSample; 2]; 3],
    pub client_cpu_min_ratio: Option<f64>,
    pub client_cpu_ratio: Option<f64>,
    pub client_cpu_peak_ratio: Option<f64>,
    pub system_cpu_peak_ratio: Option<f64>,
}

impl QualityMinute {
    pub fn stream(&self, media: Media, direction: Direction) -> &StreamSample {
        &self.streams[media as usize][direction as usize]
    }
}

const TIME: usize = 0;
const METRICS: usize = 5;
const FIRST_STREAM: usize = 1;
const FIRST_CPU: usize = FIRST_STREAM + 3 * 2 * METRICS;
const SLOTS: usize = FIRST_CPU + 4;

fn stream_slot(media: usize, direction: usize, metric: usize) -> usize {
    FIRST_STREAM + (media * 2 + direction) * METRICS + metric
}

const MEDIA_NAMES: [&[&str]; 3] = [
    &["音频", "audio"],
    &["视频", "video"],
    &[
        "共享屏幕",
        "屏幕共享",
        "共享",
        "screenshare",
        "screensharing",
        "sharescreen",
        "sharing",
        "screen",
    ],
];
const DIRECTION_NAMES: [&[&str]; 2] = [
    &[
        "接收",
        "receive",
        "received",
        "receiving",
        "recv",
        "downlink",
        "down",
    ],
    &["发送", "send", "sent", "sending", "uplink", "up"],
];
const METRIC_NAMES: [&[&str]; METRICS] = [
    &["码率", "bitrate", "bitrates", "rate"],
    &["延迟", "时延", "latency", "delay", "rtt"],
    &["抖动", "jitter"],
    &[
        "丢包平均",
        "平均丢包",
        "丢包率平均",
        "平均丢包率",
        "packetlossavg",
        "packetlossaverage",
        "avgpacketloss",
        "averagepacketloss",
        "packetloss(avg)",
        "lossavg",
    ],
    &[
        "丢包最大",
        "最大丢包",
        "丢包率最大",
        "最大丢包率",
        "packetlossmax",
        "packetlossmaximum",
        "maxpacketloss",
        "maximumpacketloss",
        "packetloss(max)",
        "lossmax",
    ],
];
const CPU_NAMES: [&[&str]; 4] = [
    &[
        "客户端最小CPU占用",
        "客户端最小CPU占用率",
        "Client Min CPU",
        "Client CPU Min",
        "Client Minimum CPU Usage",
    ],
    &[
        "客户端平均CPU占用",
        "客户端平均CPU占用率",
        "Client Avg CPU",
        "Client CPU Avg",
        "Client Average CPU Usage",
    ],
    &[
        "客户端最大CPU占用",
        "客户端最大CPU占用率",
        "Client Max CPU",
        "Client CPU Max",
        "Client Maximum CPU Usage",
    ],
    &[
        "系统最大CPU占用",
        "系统最大CPU占用率",
        "System Max CPU",
        "System CPU Max",
        "System Maximum CPU Usage",
    ],
];
const TIME_NAMES: &[&str] = &["时间", "时间点", "Time", "Timestamp", "Minute"];

/// The documented headers in their documented order (= slot order), also what the simulator
/// writes.
pub const NAMES_ZH: [&str; SLOTS] = [
    "时间",
    "音频-码率（接收）",
    "音频-延迟（接收）",
    "音频-抖动（接收）",
    "音频-丢包平均（接收）",
    "音频-丢包最大（接收）",
    "音频-码率（发送）",
    "音频-延迟（发送）",
    "音频-抖动（发送）",
    "音频-丢包平均（发送）",
    "音频-丢包最大（发送）",
    "视频-码率（接收）",
    "视频-延迟（接收）",
    "视频-抖动（接收）",
    "视频-丢包平均（接收）",
    "视频-丢包最大（接收）",
    "视频-码率（发送）",
    "视频-延迟（发送）",
    "视频-抖动（发送）",
    "视频-丢包平均（发送）",
    "视频-丢包最大（发送）",
    "共享屏幕-码率（接收）",
    "共享屏幕-延迟（接收）",
    "共享屏幕-抖动（接收）",
    "共享屏幕-丢包平均（接收）",
    "共享屏幕-丢包最大（接收）",
    "共享屏幕-码率（发送）",
    "共享屏幕-延迟（发送）",
    "共享屏幕-抖动（发送）",
    "共享屏幕-丢包平均（发送）",
    "共享屏幕-丢包最大（发送）",
    "客户端最小 CPU 占用",
    "客户端平均 CPU 占用",
    "客户端最大 CPU 占用",
    "系统最大 CPU 占用",
];
static NAMES_EN: [&str; SLOTS] = [
    "Time",
    "Audio-Bitrate (Receive)",
    "Audio-Latency (Receive)",
    "Audio-Jitter (Receive)",
    "Audio-Packet Loss Avg (Receive)",
    "Audio-Packet Loss Max (Receive)",
    "Audio-Bitrate (Send)",
    "Audio-Latency (Send)",
    "Audio-Jitter (Send)",
    "Audio-Packet Loss Avg (Send)",
    "Audio-Packet Loss Max (Send)",
    "Video-Bitrate (Receive)",
    "Video-Latency (Receive)",
    "Video-Jitter (Receive)",
    "Video-Packet Loss Avg (Receive)",
    "Video-Packet Loss Max (Receive)",
    "Video-Bitrate (Send)",
    "Video-Latency (Send)",
    "Video-Jitter (Send)",
    "Video-Packet Loss Avg (Send)",
    "Video-Packet Loss Max (Send)",
    "Screen Share-Bitrate (Receive)",
    "Screen Share-Latency (Receive)",
    "Screen Share-Jitter (Receive)",
    "Screen Share-Packet Loss Avg (Receive)",
    "Screen Share-Packet Loss Max (Receive)",
    "Screen Share-Bitrate (Send)",
    "Screen Share-Latency (Send)",
    "Screen Share-Jitter (Send)",
    "Screen Share-Packet Loss Avg (Send)",
    "Screen Share-Packet Loss Max (Send)",
    "Client Min CPU",
    "Client Avg CPU",
    "Client Max CPU",
    "System Max CPU",
];

pub(crate) static SCHEMA: Schema = Schema {
    kind: Kind::ParticipantQualityList,
    slots: SLOTS,
    slot_of,
    column_name: |slot, chinese| {
        if chinese {
            NAMES_ZH[slot]
        } else {
            NAMES_EN[slot]
        }
    },
    is_required: |slot| slot == TIME,
    is_signature: |slot| slot != TIME,
    parse,
};

fn any_is(names: &[&str], text: &str) -> bool {
    names.iter().any(|n| normalise(n) == text)
}

fn slot_of(header: &str) -> Option<usize> {
    if any_is(TIME_NAMES, header) {
        return Some(TIME);
    }
    if let Some(cpu) = CPU_NAMES.iter().position(|names| any_is(names, header)) {
        return Some(FIRST_CPU + cpu);
    }
    let (rest, direction) = split_direction(header)?;
    for (media, names) in MEDIA_NAMES.iter().enumerate() {
        for name in names.iter() {
            let Some(metric_text) = rest.strip_prefix(name) else {
                continue;
            };
            let metric_text = metric_text.trim_start_matches(['-', ':', '/']);
            if let Some(metric) = METRIC_NAMES
                .iter()
                .position(|names| any_is(names, metric_text))
            {
                return Some(stream_slot(media, direction, metric));
            }
        }
    }
    None
}

/// `音频-码率(接收)` → (`音频-码率`, receive); also `…-接收` and `… receive` forms.
fn split_direction(header: &str) -> Option<(&str, usize)> {
    let (rest, direction_text) = if let Some(inner) = header.strip_suffix(')') {
        let open = inner.rfind('(')?;
        (&inner[..open], &inner[open + 1..])
    } else {
        let cut = header.rfind('-')?;
        (&header[..cut], &header[cut + 1..])
    };
    let direction = DIRECTION_NAMES
        .iter()
        .position(|names| any_is(names, direction_text))?;
    Some((rest.trim_end_matches('-'), direction))
}

fn parse(row: &Row<'_>) -> Result<Record, RowError> {
    let mut streams = [[StreamSample::default(); 2]; 3];
    for (media, per_media) in streams.iter_mut().enumerate() {
        for (direction, sample) in per_media.iter_mut().enumerate() {
            let slot = |metric| stream_slot(media, direction, metric);
            *sample = StreamSample {
                bitrate_bytes_per_second: row.bitrate(slot(0))?,
                latency_seconds: row.delay(slot(1))?,
                jitter_seconds: row.delay(slot(2))?,
                packet_loss_ratio: row.percent(slot(3))?,
                packet_loss_peak_ratio: row.percent(slot(4))?,
            };
        }
    }
    Ok(Record::Quality(QualityMinute {
        time: required(TIME, row.time(TIME))?,
        streams,
        client_cpu_min_ratio: row.percent(FIRST_CPU)?,
        client_cpu_ratio: row.percent(FIRST_CPU + 1)?,
        client_cpu_peak_ratio: row.percent(FIRST_CPU + 2)?,
        system_cpu_peak_ratio: row.percent(FIRST_CPU + 3)?,
    }))
}
