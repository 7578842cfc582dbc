//! meeting_list: one row per meeting.

use super::header::ColumnSpec;
use super::row::{required, slot_in, Row, RowError, Schema};
use super::{Kind, Record};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Meeting {
    /// The 9-digit meeting number: needed to ask for the participant list, never a label.
    pub meeting_no: String,
    pub start: i64,
    pub end: Option<i64>,
    /// 会议持续时间, else end minus start.
    pub duration_seconds: Option<u64>,
    pub participants: Option<u64>,
    pub audio: Option<bool>,
    pub video: Option<bool>,
    pub screen_share: Option<bool>,
    pub recording: Option<bool>,
    pub telephone: Option<bool>,
}

const MEETING_NO: usize = 0;
const START: usize = 1;
const END: usize = 2;
const DURATION: usize = 3;
const PARTICIPANTS: usize = 4;
const AUDIO: usize = 5;
const VIDEO: usize = 6;
const SHARE: usize = 7;
const RECORDING: usize = 8;
const TELEPHONE: usize = 9;

/// Only the columns the exporter uses; the personal ones (organiser, e-mail, phone, employee
/// id) are not even read.
static COLUMNS: [ColumnSpec; 10] = [
    ColumnSpec::required(&[
        "会议ID",
        "会议号",
        "Meeting ID",
        "Meeting No.",
        "Meeting number",
    ]),
    ColumnSpec::required(&[
        "会议开始时间",
        "开始时间",
        "Start Time",
        "Meeting Start Time",
        "Start",
    ]),
    ColumnSpec::optional(&[
        "会议结束时间",
        "结束时间",
        "End Time",
        "Meeting End Time",
        "End",
    ]),
    ColumnSpec::optional(&[
        "会议持续时间",
        "会议时长",
        "持续时间",
        "时长",
        "Duration",
        "Meeting Duration",
    ]),
    ColumnSpec::optional(&[
        "参会人数量",
        "参会人数",
        "参会人次",
        "Participants",
        "Number of Participants",
        "Participant Count",
    ]),
    ColumnSpec::optional(&["音频", "Audio"]),
    ColumnSpec::optional(&["视频", "Video"]),
    ColumnSpec::optional(&[
        "共享",
        "共享屏幕",
        "屏幕共享",
        "Screen Sharing",
        "Screen Share",
        "Sharing",
        "Share",
    ]),
    ColumnSpec::optional(&["录制", "Recording", "Record"]),
    ColumnSpec::optional(&["电话", "PSTN", "Telephone", "Phone Call", "Dial-in"]),
];

pub(crate) static SCHEMA: Schema = Schema {
    kind: Kind::MeetingList,
    slots: COLUMNS.len(),
    slot_of: |h| slot_in(&COLUMNS, h),
    column_name: |slot, chinese| COLUMNS[slot].display_name(chinese),
    is_required: |slot| COLUMNS[slot].required,
    is_signature: |slot| matches!(slot, MEETING_NO | PARTICIPANTS),
    parse,
};

fn parse(row: &Row<'_>) -> Result<Record, RowError> {
    let start = required(START, row.time(START))?;
    let end = row.time(END)?;
    let duration_seconds = match row.duration(DURATION)? {
        Some(seconds) => Some(seconds),
        None => end.and_then(|end| u64::try_from(end - start).ok()),
    };
    Ok(Record::Meeting(Meeting {
        meeting_no: required(MEETING_NO, row.string(MEETING_NO))?,
        start,
        end,
        duration_seconds,
        participants: row.count(PARTICIPANTS)?,
        audio: row.boolean(AUDIO)?,
        video: row.boolean(VIDEO)?,
        screen_share: row.boolean(SHARE)?,
        recording: row.boolean(RECORDING)?,
        telephone: row.boolean(TELEPHONE)?,
    }))
}
