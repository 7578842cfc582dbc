//! The documented headers and the cell formats of the export files, as the simulator writes
//! them. Tests use these to compute what a cell says from the typed ground truth.
//!
//! Every value is on the grid its text can express exactly (whole milliseconds, tenths of a
//! percent, whole kbps below 1 Mbps and tenths of a Mbps above), so parsing a cell gives back
//! the typed value bit for bit.

use chrono::{FixedOffset, TimeZone};

/// The offset every time cell is written in: +08:00, as a China-region tenant's files are.
pub const OFFSET_SECONDS: i32 = 8 * 3600;

/// The cell of a value that does not exist (a medium not used in that minute).
pub const NO_VALUE: &str = "-";

pub const MEETING_LIST_HEADERS: [&str; 17] = [
    "会议ID",
    "会议主题",
    "会议组织者",
    "部门",
    "用户ID",
    "工号",
    "邮箱",
    "手机",
    "会议开始时间",
    "会议结束时间",
    "会议持续时间",
    "参会人数量",
    "音频",
    "视频",
    "共享",
    "录制",
    "电话",
];

pub const PARTICIPANT_LIST_HEADERS: [&str; 23] = [
    "参会人",
    "部门",
    "用户ID",
    "工号",
    "电话",
    "邮箱",
    "设备",
    "客户端版本",
    "公网IP",
    "内网IP",
    "代理服务",
    "位置",
    "网络类型",
    "麦克风",
    "扬声器",
    "摄像头",
    "音频",
    "视频",
    "共享",
    "入会时间",
    "离会时间",
    "参会时长",
    "离会原因",
];

pub const PARTICIPANT_QUALITY_LIST_HEADERS: [&str; 35] = crate::sheet::QUALITY_HEADERS;

pub const RESOURCE_RESERVATION_LIST_HEADERS: [&str; 15] = [
    "会议室名称",
    "会议主题",
    "预定人",
    "预定人所属部门",
    "邀请人数",
    "接受人数",
    "会议开始时间",
    "会议结束时间",
    "会议时长",
    "会议室预定状态",
    "签到设备",
    "会议室签到状态",
    "会议室签到时间",
    "释放人",
    "释放时间",
];

/// `2022.07.21 11:01:40 (GMT+08:00)` for a unix time in seconds.
pub fn format_time(unix_seconds: i64) -> String {
    let offset = FixedOffset::east_opt(OFFSET_SECONDS).expect("valid offset");
    match offset.timestamp_opt(unix_seconds, 0).single() {
        Some(t) => t.format("%Y.%m.%d %H:%M:%S (GMT%:z)").to_string(),
        None => String::new(),
    }
}

/// `01:00:00`; hours keep counting past 24. Negative durations print as zero.
pub fn format_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The nearest bitrate a cell can state exactly: whole bps below 1 kbps, whole kbps below
/// 1 Mbps, tenths of a Mbps above (decimal prefixes: 1 kbps = 1000 bps).
pub fn quantize_bitrate(bps: f64) -> u64 {
    let bps = bps.max(0.0);
    if bps < 999.5 {
        bps.round() as u64
    } else if bps < 999_500.0 {
        (bps / 1000.0).round() as u64 * 1000
    } else {
        (bps / 100_000.0).round() as u64 * 100_000
    }
}

/// `800bps`, `50kbps`, `1.2Mbps`, `2Mbps` for a bitrate on the grid of [`quantize_bitrate`].
pub fn format_bitrate(bps: u64) -> String {
    if bps < 1000 {
        format!("{bps}bps")
    } else if bps < 1_000_000 {
        format!("{}kbps", trim_decimal(bps as f64 / 1000.0))
    } else {
        format!("{}Mbps", trim_decimal(bps as f64 / 1_000_000.0))
    }
}

/// `5ms`.
pub fn format_ms(ms: u32) -> String {
    format!("{ms}ms")
}

/// The nearest tenth of a percent (what a percentage cell can state), within 0–100.
pub fn quantize_percent(percent: f64) -> f64 {
    (percent.clamp(0.0, 100.0) * 10.0).round() / 10.0
}

/// `2%`, `0.8%` for a percentage on the grid of [`quantize_percent`].
pub fn format_percent(percent: f64) -> String {
    format!("{}%", trim_decimal(percent))
}

/// `是` / `否`.
pub fn yes_no(value: bool) -> &'static str {
    if value {
        "是"
    } else {
        "否"
    }
}

/// A number with at most one decimal, without a trailing `.0`.
fn trim_decimal(value: f64) -> String {
    let text = format!("{value:.1}");
    match text.strip_suffix(".0") {
        Some(whole) => whole.to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations_match_the_documented_examples() {
        // 2022-07-21 11:01:40 +08:00
        assert_eq!(
            format_time(1_658_372_500),
            "2022.07.21 11:01:40 (GMT+08:00)"
        );
        assert_eq!(format_duration(3600), "01:00:00");
        assert_eq!(format_duration(118), "00:01:58");
        assert_eq!(format_duration(26 * 3600 + 61), "26:01:01");
        assert_eq!(format_duration(-5), "00:00:00");
    }

    #[test]
    fn numbers_round_trip_through_their_text() {
        assert_eq!(format_bitrate(50_000), "50kbps");
        assert_eq!(format_bitrate(1_200_000), "1.2Mbps");
        assert_eq!(format_bitrate(2_000_000), "2Mbps");
        assert_eq!(format_bitrate(800), "800bps");
        assert_eq!(quantize_bitrate(1_234_567.0), 1_200_000);
        assert_eq!(quantize_bitrate(47_600.0), 48_000);
        assert_eq!(quantize_bitrate(999_600.0), 1_000_000);
        assert_eq!(format_bitrate(quantize_bitrate(999_600.0)), "1Mbps");
        assert_eq!(format_ms(5), "5ms");
        assert_eq!(format_percent(2.0), "2%");
        assert_eq!(format_percent(quantize_percent(0.84)), "0.8%");
        for tenths in 0..=1000u32 {
            let p = tenths as f64 / 10.0;
            let text = format_percent(quantize_percent(p));
            let parsed: f64 = text.trim_end_matches('%').parse().unwrap();
            assert_eq!(parsed, quantize_percent(p), "{text}");
        }
        assert_eq!(yes_no(true), "是");
        assert_eq!(yes_no(false), "否");
    }

    #[test]
    fn header_counts_match_the_design() {
        assert_eq!(PARTICIPANT_QUALITY_LIST_HEADERS.len(), 1 + 3 * 2 * 5 + 4);
        for h in &PARTICIPANT_QUALITY_LIST_HEADERS[1..31] {
            assert!(h.contains('（') && h.ends_with('）'), "{h}");
        }
    }
}
