//! The enumerations of the exports, mapped to stable ASCII label values (DESIGN.md section 2).
//! Anything unknown becomes `Other`, never dropped.

use super::header::normalise;

macro_rules! label_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $label:literal: [$($text:literal),* $(,)?]),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name { $($variant,)* Other }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)* $name::Other];

            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $label,)* $name::Other => "other" }
            }

            /// From the export's text, Chinese or English, any width of parentheses.
            pub fn from_text(text: &str) -> Self {
                let text = normalise(text);
                $(if [$($text),*].iter().any(|t| normalise(t) == text) { return $name::$variant; })*
                $name::Other
            }
        }
    };
}

label_enum! {
    /// 会议室预定状态.
    ReservationStatus {
        PendingApproval => "pending_approval": ["审批中", "Pending approval", "Pending"],
        Reserved => "reserved": ["预定成功", "预订成功", "Reserved", "Booked", "Reservation successful"],
        ReleasedManually => "released_manually": ["已释放（手动释放）", "Released (manually)", "Released manually"],
        ReleasedAfterMeeting => "released_after_meeting": ["已释放（会议结束后自动释放）", "Released (automatically after the meeting ended)", "Released after meeting"],
        ReleasedNoCheckIn => "released_no_check_in": ["已释放（未签到被释放）", "Released (not checked in)", "Released no check-in"],
        ReleasedBySensor => "released_by_sensor": ["已释放（传感器自动释放）", "Released (by sensor)", "Released by sensor"],
    }
}

label_enum! {
    /// 签到设备.
    CheckInDevice {
        CheckInBoard => "check_in_board": ["签到板", "Check-in board", "Check-in Board"],
        QrCode => "qr_code": ["签到二维码", "QR code", "Check-in QR code"],
        Controller => "controller": ["控制器", "Controller"],
        TouchPanel => "touch_panel": ["触屏板", "Touch panel"],
        OfflineAuto => "offline_auto": ["设备离线，自动签到", "设备离线,自动签到", "Device offline, auto check-in", "Device offline, checked in automatically"],
    }
}

label_enum! {
    /// 会议室签到状态.
    CheckInStatus {
        NotRequiredInstant => "not_required_instant": ["无需签到（即时预定）", "No check-in required (instant booking)"],
        NotRequiredDisabled => "not_required_disabled": ["无需签到（未开启签到设置）", "No check-in required (check-in disabled)"],
        NotRequired => "not_required": ["无需签到", "No check-in required"],
        Missed => "missed": ["超时未签到", "Not checked in", "Missed check-in", "Check-in timed out"],
        WindowOpen => "window_open": ["签到时间未结束", "Check-in window open"],
        NotRequiredNoDevice => "not_required_no_device": ["无需签到（未安装签到设备）", "No check-in required (no check-in device)"],
        CheckedIn => "checked_in": ["已签到", "Checked in"],
        Waiting => "waiting": ["待签到", "Waiting for check-in", "Pending check-in"],
        RoomDisabled => "room_disabled": ["不可签到（会议室被禁用）", "Check-in unavailable (room disabled)"],
    }
}

/// 离会原因 is free text that can name the host who removed someone, so it is never a label as
/// written: it is sorted by keyword into a fixed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LeaveReason {
    MeetingEnded,
    Left,
    Removed,
    Network,
    Timeout,
    Other,
}

impl LeaveReason {
    pub const ALL: &'static [LeaveReason] = &[
        LeaveReason::MeetingEnded,
        LeaveReason::Left,
        LeaveReason::Removed,
        LeaveReason::Network,
        LeaveReason::Timeout,
        LeaveReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeaveReason::MeetingEnded => "meeting_ended",
            LeaveReason::Left => "left",
            LeaveReason::Removed => "removed",
            LeaveReason::Network => "network",
            LeaveReason::Timeout => "timeout",
            LeaveReason::Other => "other",
        }
    }

    pub fn from_text(text: &str) -> Self {
        let text = normalise(text);
        let has = |words: &[&str]| words.iter().any(|w| text.contains(&normalise(w)));
        // Order matters: "removed by the host" mentions the host, "meeting ended" does not.
        if has(&["移出", "移除", "踢出", "removed", "kicked"]) {
            LeaveReason::Removed
        } else if has(&[
            "网络",
            "断开",
            "掉线",
            "异常",
            "network",
            "disconnect",
            "connection lost",
        ]) {
            LeaveReason::Network
        } else if has(&["超时", "timeout", "timed out"]) {
            LeaveReason::Timeout
        } else if has(&["结束", "ended", "end meeting", "meeting over"]) {
            LeaveReason::MeetingEnded
        } else if has(&[
            "离开", "离会", "退出", "挂断", "left", "leave", "hung up", "hang up",
        ]) {
            LeaveReason::Left
        } else {
            LeaveReason::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_value_maps() {
        let cases = [
            ("审批中", "pending_approval"),
            ("预定成功", "reserved"),
            ("已释放（手动释放）", "released_manually"),
            ("已释放(会议结束后自动释放)", "released_after_meeting"),
            ("已释放（未签到被释放）", "released_no_check_in"),
            ("已释放（传感器自动释放）", "released_by_sensor"),
            ("取消", "other"),
        ];
        for (text, label) in cases {
            assert_eq!(ReservationStatus::from_text(text).as_str(), label, "{text}");
        }
        let cases = [
            ("签到板", "check_in_board"),
            ("签到二维码", "qr_code"),
            ("控制器", "controller"),
            ("触屏板", "touch_panel"),
            ("设备离线，自动签到", "offline_auto"),
            ("手机", "other"),
        ];
        for (text, label) in cases {
            assert_eq!(CheckInDevice::from_text(text).as_str(), label, "{text}");
        }
        let cases = [
            ("无需签到（即时预定）", "not_required_instant"),
            ("无需签到（未开启签到设置）", "not_required_disabled"),
            ("无需签到", "not_required"),
            ("超时未签到", "missed"),
            ("签到时间未结束", "window_open"),
            ("无需签到（未安装签到设备）", "not_required_no_device"),
            ("已签到", "checked_in"),
            ("待签到", "waiting"),
            ("不可签到（会议室被禁用）", "room_disabled"),
            (" 已签到 ", "checked_in"),
            ("Checked in", "checked_in"),
            ("签到", "other"),
        ];
        for (text, label) in cases {
            assert_eq!(CheckInStatus::from_text(text).as_str(), label, "{text}");
        }
    }

    #[test]
    fn leave_reasons_are_bucketed_without_names() {
        assert_eq!(
            LeaveReason::from_text("主持人结束会议"),
            LeaveReason::MeetingEnded
        );
        assert_eq!(
            LeaveReason::from_text("被主持人张三移出会议"),
            LeaveReason::Removed
        );
        assert_eq!(LeaveReason::from_text("主动离会"), LeaveReason::Left);
        assert_eq!(LeaveReason::from_text("网络异常"), LeaveReason::Network);
        assert_eq!(
            LeaveReason::from_text("Host ended the meeting"),
            LeaveReason::MeetingEnded
        );
        assert_eq!(
            LeaveReason::from_text("Left the meeting"),
            LeaveReason::Left
        );
        assert_eq!(LeaveReason::from_text("其他"), LeaveReason::Other);
    }
}
