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
        let mut body = Body::default();
        match self {
            Self::MeetingList {
                start,
                end,
                status,
                filter,
            } => {
                body.time("start_time", *start).time("end_time", *end);
                body.status(*status);
                if let Some(filter) = filter {
                    match filter {
                        MeetingFilter::MeetingNo(no) => body.text("meeting_no", no),
                        MeetingFilter::UserId(id) => body.text("user_id", id),
                        MeetingFilter::RoomId(id) => body.text("room_id", id),
                        MeetingFilter::MeetingType(kind) => {
                            body.put("meeting_type", json!(kind.as_int()))
                        }
                    };
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
                body.meeting(*meeting_start, *meeting_end, meeting_no);
                body.status(*status);
                for (key, id) in [("user_id", user_id), ("room_id", room_id)] {
                    if let Some(id) = id.as_deref().filter(|id| !id.is_empty()) {
                        body.text(key, id);
                    }
                }
            }
            Self::ParticipantQualityList {
                meeting_start,
                meeting_end,
                meeting_no,
                join_time,
                participant,
            } => {
                body.meeting(*meeting_start, *meeting_end, meeting_no);
                body.time("join_time", *join_time);
                match participant {
                    Participant::User(id) => body.text("user_id", id),
                    Participant::Room(id) => body.text("room_id", id),
                };
            }
            Self::ResourceReservationList {
                room_level_id,
                start,
                end,
                need_topic,
                room_ids,
                is_exclude,
            } => {
                body.text("room_level_id", room_level_id);
                body.time("start_time", *start).time("end_time", *end);
                body.flag("need_topic", *need_topic);
                if !room_ids.is_empty() {
                    body.put("room_ids", json!(room_ids));
                }
                body.flag("is_exclude", *is_exclude);
            }
        }
        Value::Object(body.0)
    }
}

/// A request body being built: each field as the API documents its type.
#[derive(Default)]
struct Body(Map<String, Value>);

impl Body {
    fn put(&mut self, key: &str, value: Value) -> &mut Self {
        self.0.insert(key.to_owned(), value);
        self
    }

    fn text(&mut self, key: &str, text: &str) -> &mut Self {
        self.put(key, Value::String(text.to_owned()))
    }

    /// Unix seconds, sent as a string.
    fn time(&mut self, key: &str, time: i64) -> &mut Self {
        self.put(key, Value::String(time.to_string()))
    }

    fn flag(&mut self, key: &str, flag: Option<bool>) -> &mut Self {
        match flag {
            Some(flag) => self.put(key, Value::Bool(flag)),
            None => self,
        }
    }

    fn status(&mut self, status: Option<MeetingStatus>) -> &mut Self {
        match status {
            Some(status) => self.put("meeting_status", json!(status.as_int())),
            None => self,
        }
    }

    /// The one meeting a participant or quality export is about.
    fn meeting(&mut self, start: i64, end: i64, meeting_no: &str) -> &mut Self {
        self.time("meeting_start_time", start)
            .time("meeting_end_time", end)
            .text("meeting_no", meeting_no)
    }
}
