//! participant_list: one row per participant of one meeting.

use super::enums::LeaveReason;
use super::header::ColumnSpec;
use super::row::{required, slot_in, Row, RowError, Schema};
use super::{Kind, Record};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParticipantSession {
    /// Needed to request this participant's quality export; never a label, never logged.
    pub user_id: Option<String>,
    pub device: Option<String>,
    pub client_version: Option<String>,
    pub rtc_proxy: Option<bool>,
    pub location: Option<String>,
    pub network_type: Option<String>,
    pub audio: Option<bool>,
    pub video: Option<bool>,
    pub screen_share: Option<bool>,
    pub join: i64,
    pub leave: Option<i64>,
    /// 参会时长 (time actually in the meeting), else leave minus join.
    pub duration_seconds: Option<u64>,
    pub leave_reason: Option<LeaveReason>,
}

const USER_ID: usize = 0;
const DEVICE: usize = 1;
const VERSION: usize = 2;
const PROXY: usize = 3;
const LOCATION: usize = 4;
const NETWORK: usize = 5;
const AUDIO: usize = 6;
const VIDEO: usize = 7;
const SHARE: usize = 8;
const JOIN: usize = 9;
const LEAVE: usize = 10;
const DURATION: usize = 11;
const LEAVE_REASON: usize = 12;

/// Name, department, employee id, phone, e-mail, IPs and device names are not read.
static COLUMNS: [ColumnSpec; 13] = [
    ColumnSpec::optional(&["用户ID", "User ID", "UserID", "Open ID"]),
    ColumnSpec::optional(&["设备", "设备类型", "Device", "Device Type", "Platform"]),
    ColumnSpec::optional(&[
        "客户端版本",
        "应用版本",
        "Client Version",
        "App Version",
        "Version",
    ]),
    ColumnSpec::optional(&[
        "代理服务",
        "RTC代理服务",
        "Proxy",
        "Proxy Service",
        "RTC Proxy",
    ]),
    ColumnSpec::optional(&["位置", "地理位置", "Location"]),
    ColumnSpec::optional(&["网络类型", "Network Type", "Network"]),
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
    ColumnSpec::required(&["入会时间", "加入时间", "Join Time", "Joined At", "Joined"]),
    ColumnSpec::optional(&["离会时间", "离开时间", "Leave Time", "Left At", "Left"]),
    ColumnSpec::optional(&[
        "参会时长",
        "在会时长",
        "Duration",
        "Time in Meeting",
        "Attendance Duration",
    ]),
    ColumnSpec::optional(&["离会原因", "Leave Reason", "Reason for Leaving"]),
];

pub(crate) static SCHEMA: Schema = Schema {
    kind: Kind::ParticipantList,
    slots: COLUMNS.len(),
    slot_of: |h| slot_in(&COLUMNS, h),
    column_name: |slot, chinese| COLUMNS[slot].display_name(chinese),
    is_required: |slot| COLUMNS[slot].required,
    is_signature: |slot| matches!(slot, JOIN | LEAVE | LEAVE_REASON),
    parse,
};

fn parse(row: &Row<'_>) -> Result<Record, RowError> {
    let join = required(JOIN, row.time(JOIN))?;
    let leave = row.time(LEAVE)?;
    let duration_seconds = match row.duration(DURATION)? {
        Some(seconds) => Some(seconds),
        None => leave.and_then(|leave| u64::try_from(leave - join).ok()),
    };
    Ok(Record::Participant(ParticipantSession {
        user_id: row.string(USER_ID)?,
        device: row.string(DEVICE)?,
        client_version: row.string(VERSION)?,
        rtc_proxy: row.boolean(PROXY)?,
        location: row.string(LOCATION)?,
        network_type: row.string(NETWORK)?,
        audio: row.boolean(AUDIO)?,
        video: row.boolean(VIDEO)?,
        screen_share: row.boolean(SHARE)?,
        join,
        leave,
        duration_seconds,
        leave_reason: row
            .text(LEAVE_REASON)?
            .map(|text| LeaveReason::from_text(&text)),
    }))
}
