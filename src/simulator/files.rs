//! The rows of the four export files, built from the typed ground truth.
//!
//! These are the functions the server uses, public so tests can compute the exact cells.

use super::format::{
    format_bitrate, format_duration, format_ms, format_percent, format_time, yes_no,
    MEETING_LIST_HEADERS, NO_VALUE, PARTICIPANT_LIST_HEADERS, PARTICIPANT_QUALITY_LIST_HEADERS,
    RESOURCE_RESERVATION_LIST_HEADERS,
};
use super::tenant::{
    IdType, MeetingStatus, SimBooking, SimMediaStats, SimMeeting, SimParticipant, SimQualityMinute,
};

/// The four export kinds, by their API names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExportKind {
    MeetingList,
    ParticipantList,
    ParticipantQualityList,
    ResourceReservationList,
}

impl ExportKind {
    pub const ALL: [ExportKind; 4] = [
        Self::MeetingList,
        Self::ParticipantList,
        Self::ParticipantQualityList,
        Self::ResourceReservationList,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MeetingList => "meeting_list",
            Self::ParticipantList => "participant_list",
            Self::ParticipantQualityList => "participant_quality_list",
            Self::ResourceReservationList => "resource_reservation_list",
        }
    }

    pub fn headers(self) -> &'static [&'static str] {
        match self {
            Self::MeetingList => &MEETING_LIST_HEADERS,
            Self::ParticipantList => &PARTICIPANT_LIST_HEADERS,
            Self::ParticipantQualityList => &PARTICIPANT_QUALITY_LIST_HEADERS,
            Self::ResourceReservationList => &RESOURCE_RESERVATION_LIST_HEADERS,
        }
    }
}

/// A meeting_list row as an export at `now` shows the meeting. An ended meeting shows its
/// truth; an ongoing one has no end time, its duration so far, and the participants who have
/// joined so far; an upcoming one has no end, no duration, no participants and every feature
/// `否`.
pub fn meeting_list_row(m: &SimMeeting, now: i64, id_type: IdType) -> Vec<String> {
    let status = m.status_at(now);
    let (end, duration, count) = match status {
        MeetingStatus::Ended => (
            format_time(m.end),
            format_duration(m.duration()),
            m.participants.len(),
        ),
        MeetingStatus::Ongoing => (
            String::new(),
            format_duration(now - m.start),
            m.participants_joined_by(now).count(),
        ),
        MeetingStatus::Upcoming => (String::new(), String::new(), 0),
    };
    let flag = |value: bool| yes_no(value && status != MeetingStatus::Upcoming).to_string();
    let o = &m.organizer;
    vec![
        m.meeting_no.clone(),
        m.topic.clone(),
        o.name.clone(),
        o.department.clone(),
        o.id(id_type).to_string(),
        o.employee_no.clone(),
        o.email.clone(),
        o.phone.clone(),
        format_time(m.start),
        end,
        duration,
        count.to_string(),
        flag(m.audio),
        flag(m.video),
        flag(m.share),
        flag(m.recording),
        flag(m.telephone),
    ]
}

/// A participant_list row at `now`: someone still in the meeting has no leave time, the time
/// so far, and no leave reason.
pub fn participant_list_row(p: &SimParticipant, now: i64, id_type: IdType) -> Vec<String> {
    let left = p.leave <= now;
    vec![
        p.person.name.clone(),
        p.person.department.clone(),
        p.id(id_type).to_string(),
        p.person.employee_no.clone(),
        p.person.phone.clone(),
        p.person.email.clone(),
        p.device.as_str().to_string(),
        p.client_version.clone(),
        p.public_ip.clone(),
        p.private_ip.clone(),
        yes_no(p.rtc_proxy).to_string(),
        p.location.clone(),
        p.network_type.as_str().to_string(),
        p.microphone.clone(),
        p.speaker.clone(),
        p.camera.clone(),
        yes_no(p.audio).to_string(),
        yes_no(p.video).to_string(),
        yes_no(p.share).to_string(),
        format_time(p.join),
        if left {
            format_time(p.leave)
        } else {
            String::new()
        },
        format_duration(if left { p.duration() } else { now - p.join }),
        if left {
            p.leave_reason.as_str().to_string()
        } else {
            String::new()
        },
    ]
}

/// The participant_list rows of a meeting exported at `now`: everyone who had joined.
pub fn participant_list_rows(m: &SimMeeting, now: i64, id_type: IdType) -> Vec<Vec<String>> {
    m.participants_joined_by(now)
        .map(|p| participant_list_row(p, now, id_type))
        .collect()
}

/// The five cells of one medium and direction (`-` each when not used).
pub fn media_cells(stats: Option<&SimMediaStats>) -> [String; 5] {
    match stats {
        Some(s) => [
            format_bitrate(s.bitrate_bps),
            format_ms(s.latency_ms),
            format_ms(s.jitter_ms),
            format_percent(s.loss_avg_pct),
            format_percent(s.loss_max_pct),
        ],
        None => std::array::from_fn(|_| NO_VALUE.to_string()),
    }
}

pub fn participant_quality_row(q: &SimQualityMinute) -> Vec<String> {
    let mut row = Vec::with_capacity(PARTICIPANT_QUALITY_LIST_HEADERS.len());
    row.push(format_time(q.time));
    for pair in q.media() {
        row.extend(media_cells(pair.receive.as_ref()));
        row.extend(media_cells(pair.send.as_ref()));
    }
    row.push(format_percent(q.client_cpu_min_pct));
    row.push(format_percent(q.client_cpu_avg_pct));
    row.push(format_percent(q.client_cpu_max_pct));
    row.push(format_percent(q.system_cpu_max_pct));
    row
}

/// A resource_reservation_list row of a booking already viewed at the export's time (see
/// [`SimBooking::at`]); the topic only when the export asked for it (`need_topic`).
pub fn resource_reservation_row(b: &SimBooking, need_topic: bool) -> Vec<String> {
    let time = |t: Option<i64>| t.map(format_time).unwrap_or_default();
    vec![
        b.room_name.clone(),
        if need_topic {
            b.topic.clone()
        } else {
            String::new()
        },
        b.booker.clone(),
        b.department.clone(),
        b.invitees.to_string(),
        b.acceptances.to_string(),
        format_time(b.start),
        format_time(b.end),
        format_duration(b.duration()),
        b.status.as_str().to_string(),
        b.check_in_device
            .map(|d| d.as_str().to_string())
            .unwrap_or_default(),
        b.check_in_status.as_str().to_string(),
        time(b.check_in_time),
        b.releaser.clone().unwrap_or_default(),
        time(b.release_time),
    ]
}

/// The .xlsx bytes of one export.
pub fn xlsx(kind: ExportKind, rows: &[Vec<String>]) -> Vec<u8> {
    crate::sheet::writer::write_xlsx(kind.headers(), rows).expect("writing an in-memory xlsx")
}
