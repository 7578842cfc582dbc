//! The four export kinds and their request bodies, exactly as the API documents them.

use serde_json::{json, Map, Value};

use super::Endpoint;

/// `meeting_status`: which meetings an export covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeetingStatus {
    /// 1: in progress.
    Ongoing,
    /// 2: ended (the API's default).
    Ended,
    /// 3: scheduled, not started.
    Upcoming,
}

impl MeetingStatus {
    pub fn as_int(self) -> i64 {
        match self {
            Self::Ongoing => 1,
            Self::Ended => 2,
            Self::Upcoming => 3,
        }
    }
}

/// `meeting_type` filter of meeting_list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeetingType {
    /// 1: all meetings.
    All,
    /// 2: video meetings.
    Video,
    /// 3: local screen-cast.
    LocalScreenCast,
}

impl MeetingType {
    pub fn as_int(self) -> i64 {
        match self {
            Self::All => 1,
            Self::Video => 2,
            Self::LocalScreenCast => 3,
        }
    }
}

/// The one optional filter of meeting_list (the API accepts at most one).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MeetingFilter {
    MeetingNo(String),
    UserId(String),
    RoomId(String),
    MeetingType(MeetingType),
}

/// Whose quality a participant_quality_list export covers: exactly one user or one room.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Participant {
    User(String),
    Room(String),
}

/// `user_id_type` query parameter: which id the xlsx files and `user_id` filters use.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum UserIdType {
    #[default]
    OpenId,
    UnionId,
    UserId,
}

impl UserIdType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenId => "open_id",
            Self::UnionId => "union_id",
            Self::UserId => "user_id",
        }
    }
}

impl std::str::FromStr for UserIdType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open_id" => Ok(Self::OpenId),
            "union_id" => Ok(Self::UnionId),
            "user_id" => Ok(Self::UserId),
            other => Err(format!(
                "unknown user_id_type {other:?} (expected open_id, union_id or user_id)"
            )),
        }
    }
}

/// One export task to create. Times are unix seconds; the client sends them as strings.
///
/// `Debug` shows user and room ids: log requests at debug level only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExportRequest {
    /// Meetings whose start time lies in `[start, end]`.
    MeetingList {
        start: i64,
        end: i64,
        status: Option<MeetingStatus>,
        filter: Option<MeetingFilter>,
    },
    /// Participants of one meeting.
    ParticipantList {
        meeting_start: i64,
        meeting_end: i64,
        meeting_no: String,
        status: Option<MeetingStatus>,
        user_id: Option<String>,
        room_id: Option<String>,
    },
    /// Per-minute quality of one participant in one ended meeting.
    ParticipantQualityList {
        meeting_start: i64,
        meeting_end: i64,
        meeting_no: String,
        join_time: i64,
        participant: Participant,
    },
    /// Room bookings under one room-level node.
    ResourceReservationList {
        room_level_id: String,
        start: i64,
        end: i64,
        need_topic: Option<bool>,
        room_ids: Vec<String>,
        is_exclude: Option<bool>,
    },
}

impl ExportRequest {
    /// The API name of the export kind, also the `kind` metric label.
    pub fn kind(&self) -> &'static str {
        self.endpoint().label()
    }

    /// The create endpoint of this kind.
    pub fn endpoint(&self) -> Endpoint {
        match self {
            Self::MeetingList { .. } => Endpoint::CreateMeetingList,
            Self::ParticipantList { .. } => Endpoint::CreateParticipantList,
            Self::ParticipantQualityList { .. } => Endpoint::CreateParticipantQualityList,
            Self::ResourceReservationList { .. } => Endpoint::CreateResourceReservationList,
        }
    }

    /// Whether the create call takes the `user_id_type` query parameter.
    pub fn takes_user_id_type(&self) -> bool {
        !matches!(self, Self::ResourceReservationList { .. })
    }

    /// The JSON body of the create call: times as strings, absent options omitted.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        let mut put = |key: &str, value: Value| {
            body.insert(key.to_owned(), value);
        };
        let text = |s: &str| Value::String(s.to_owned());
        let time = |t: i64| Value::String(t.to_string());
        match self {
            Self::MeetingList {
                start,
                end,
                status,
                filter,
            } => {
                put("start_time", time(*start));
                put("end_time", time(*end));
                if let Some(status) = status {
                    put("meeting_status", json!(status.as_int()));
                }
                match filter {
                    None => {}
                    Some(MeetingFilter::MeetingNo(no)) => put("meeting_no", text(no)),
                    Some(MeetingFilter::UserId(id)) => put("user_id", text(id)),
                    Some(MeetingFilter::RoomId(id)) => put("room_id", text(id)),
                    Some(MeetingFilter::MeetingType(kind)) => {
                        put("meeting_type", json!(kind.as_int()))
                    }
                }
            }
            Self::ParticipantList {
                meeting_start,
                meeting_end,
                meeting_no,
                status,
                user_id,
                room_id,
            } => {
                put("meeting_start_time", time(*meeting_start));
                put("meeting_end_time", time(*meeting_end));
                put("meeting_no", text(meeting_no));
                if let Some(status) = status {
                    put("meeting_status", json!(status.as_int()));
                }
                if let Some(id) = user_id.as_deref().filter(|id| !id.is_empty()) {
                    put("user_id", text(id));
                }
                if let Some(id) = room_id.as_deref().filter(|id| !id.is_empty()) {
                    put("room_id", text(id));
                }
            }
            Self::ParticipantQualityList {
                meeting_start,
                meeting_end,
                meeting_no,
                join_time,
                participant,
            } => {
                put("meeting_start_time", time(*meeting_start));
                put("meeting_end_time", time(*meeting_end));
                put("meeting_no", text(meeting_no));
                put("join_time", time(*join_time));
                match participant {
                    Participant::User(id) => put("user_id", text(id)),
                    Participant::Room(id) => put("room_id", text(id)),
                }
            }
            Self::ResourceReservationList {
                room_level_id,
                start,
                end,
                need_topic,
                room_ids,
                is_exclude,
            } => {
                put("room_level_id", text(room_level_id));
                put("start_time", time(*start));
                put("end_time", time(*end));
                if let Some(need_topic) = need_topic {
                    put("need_topic", Value::Bool(*need_topic));
                }
                if !room_ids.is_empty() {
                    put("room_ids", json!(room_ids));
                }
                if let Some(is_exclude) = is_exclude {
                    put("is_exclude", Value::Bool(*is_exclude));
                }
            }
        }
        Value::Object(body)
    }
}
