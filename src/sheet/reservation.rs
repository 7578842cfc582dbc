//! resource_reservation_list: one row per room booking.

use super::enums::{CheckInDevice, CheckInStatus, ReservationStatus};
use super::header::ColumnSpec;
use super::row::{required, slot_in, Row, RowError, Schema};
use super::{Kind, Record};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reservation {
    /// The room's name: a label value, capped like every free-form label.
    pub room: String,
    pub invitees: Option<u64>,
    pub acceptances: Option<u64>,
    pub start: i64,
    pub end: i64,
    pub status: ReservationStatus,
    pub check_in_device: Option<CheckInDevice>,
    pub check_in_status: Option<CheckInStatus>,
    pub check_in_time: Option<i64>,
    pub release_time: Option<i64>,
}

const ROOM: usize = 0;
const INVITEES: usize = 1;
const ACCEPTANCES: usize = 2;
const START: usize = 3;
const END: usize = 4;
const STATUS: usize = 5;
const CHECK_IN_DEVICE: usize = 6;
const CHECK_IN_STATUS: usize = 7;
const CHECK_IN_TIME: usize = 8;
const RELEASE_TIME: usize = 9;

/// Topic, booker, the booker's department and the releaser are not read.
static COLUMNS: [ColumnSpec; 10] = [
    ColumnSpec::required(&["会议室名称", "会议室", "Room Name", "Meeting Room", "Room"]),
    ColumnSpec::optional(&["邀请人数", "Invitees", "Invited", "Number of Invitees"]),
    ColumnSpec::optional(&["接受人数", "Accepted", "Acceptances", "Number Accepted"]),
    ColumnSpec::required(&[
        "会议开始时间",
        "开始时间",
        "Start Time",
        "Meeting Start Time",
    ]),
    ColumnSpec::required(&["会议结束时间", "结束时间", "End Time", "Meeting End Time"]),
    ColumnSpec::required(&[
        "会议室预定状态",
        "会议室预订状态",
        "预定状态",
        "Reservation Status",
        "Booking Status",
    ]),
    ColumnSpec::optional(&["签到设备", "Check-in Device"]),
    ColumnSpec::optional(&["会议室签到状态", "签到状态", "Check-in Status"]),
    ColumnSpec::optional(&["会议室签到时间", "签到时间", "Check-in Time"]),
    ColumnSpec::optional(&["释放时间", "Release Time", "Released At"]),
];

pub(crate) static SCHEMA: Schema = Schema {
    kind: Kind::ResourceReservationList,
    slots: COLUMNS.len(),
    slot_of: |h| slot_in(&COLUMNS, h),
    column_name: |slot, chinese| COLUMNS[slot].display_name(chinese),
    is_required: |slot| COLUMNS[slot].required,
    is_signature: |slot| matches!(slot, ROOM | STATUS | CHECK_IN_STATUS),
    parse,
};

fn parse(row: &Row<'_>) -> Result<Record, RowError> {
    Ok(Record::Reservation(Reservation {
        room: required(ROOM, row.string(ROOM))?,
        invitees: row.count(INVITEES)?,
        acceptances: row.count(ACCEPTANCES)?,
        start: required(START, row.time(START))?,
        end: required(END, row.time(END))?,
        status: ReservationStatus::from_text(&required(STATUS, row.text(STATUS))?),
        check_in_device: row
            .text(CHECK_IN_DEVICE)?
            .map(|t| CheckInDevice::from_text(&t)),
        check_in_status: row
            .text(CHECK_IN_STATUS)?
            .map(|t| CheckInStatus::from_text(&t)),
        check_in_time: row.time(CHECK_IN_TIME)?,
        release_time: row.time(RELEASE_TIME)?,
    }))
}
