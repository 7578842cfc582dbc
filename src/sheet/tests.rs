//! Whole-file tests: real workbooks written with rust_xlsxwriter, read back through calamine.

use std::io::Cursor;

use super::writer::write_xlsx;
use super::*;

#[derive(Default)]
struct Collected {
    kind: Option<Kind>,
    records: Vec<Record>,
    rejected: Vec<Rejected>,
}

impl ExportSink for Collected {
    fn begin(&mut self, kind: Kind) {
        assert!(self.kind.replace(kind).is_none(), "begin called twice");
    }
    fn record(&mut self, record: Record) {
        self.records.push(record);
    }
    fn rejected(&mut self, rejected: Rejected) {
        self.rejected.push(rejected);
    }
}

fn read(bytes: &[u8]) -> Result<Collected, SheetError> {
    let mut sink = Collected::default();
    let summary = read_export(Cursor::new(bytes), &ParseOptions::default(), &mut sink)?;
    assert_eq!(Some(summary.kind), sink.kind);
    assert_eq!(summary.records, sink.records.len() as u64);
    assert_eq!(summary.rejected, sink.rejected.len() as u64);
    Ok(sink)
}

fn xlsx(headers: &[&str], rows: &[&[&str]]) -> Vec<u8> {
    write_xlsx(headers, rows.iter().map(|r| r.iter().copied())).unwrap()
}

// 2022-07-21 11:01:40 +08:00
const T0: i64 = 1_658_372_500;

use crate::simulator::MEETING_LIST_HEADERS as MEETING_HEADERS;

fn meeting_row<'a>(
    id: &'a str,
    start: &'a str,
    end: &'a str,
    duration: &'a str,
    count: &'a str,
) -> Vec<&'a str> {
    vec![
        id,
        "周会",
        "张三",
        "研发部",
        "ou_123",
        "E001",
        "zs@example.com",
        "+86123****8910",
        start,
        end,
        duration,
        count,
        "是",
        "否",
        "是",
        "否",
        "否",
    ]
}

fn meetings(records: &[Record]) -> Vec<&Meeting> {
    records
        .iter()
        .map(|r| match r {
            Record::Meeting(m) => m,
            other => panic!("not a meeting: {other:?}"),
        })
        .collect()
}

#[test]
fn meeting_list_with_documented_headers() {
    let row = meeting_row(
        "123456789",
        "2022.07.21 11:01:40 (GMT+08:00)",
        "2022.07.21 12:01:40 (GMT+08:00)",
        "01:00:00",
        "5",
    );
    let got = read(&xlsx(&MEETING_HEADERS, &[&row])).unwrap();
    assert_eq!(got.kind, Some(Kind::MeetingList));
    assert_eq!(
        meetings(&got.records),
        [&Meeting {
            meeting_no: "123456789".into(),
            start: T0,
            end: Some(T0 + 3600),
            duration_seconds: Some(3600),
            participants: Some(5),
            audio: Some(true),
            video: Some(false),
            screen_share: Some(true),
            recording: Some(false),
            telephone: Some(false),
        }]
    );
}

#[test]
fn meeting_list_as_seen_in_the_wild() {
    // `会议 ID` with a space, 组织者/会议时长/参会人数 instead of the documented names, extra
    // columns, another column order, stray whitespace.
    let headers = [
        " 外部会议",
        "会议 ID ",
        "组织者",
        "组织者部门",
        "会议开始时间",
        "会议时长",
        "参会人数",
        "参会者",
        "会议类型",
        "累计入会设备数",
        "音频 ",
        "会议结束时间",
    ];
    let rows: &[&[&str]] = &[&[
        "否",
        "987654321",
        "李四",
        "市场部",
        "2022-07-21 11:01:40",
        "27:00:05",
        "120",
        "李四,王五",
        "视频会议",
        "130",
        "是",
        "2022-07-22 14:01:45",
    ]];
    let got = read(&xlsx(&headers, rows)).unwrap();
    let meeting = meetings(&got.records)[0];
    assert_eq!(meeting.meeting_no, "987654321");
    assert_eq!(meeting.start, T0);
    assert_eq!(meeting.duration_seconds, Some(27 * 3600 + 5));
    assert_eq!(meeting.participants, Some(120));
    assert_eq!(meeting.audio, Some(true));
    assert_eq!(meeting.video, None);
}

#[test]
fn duration_falls_back_to_end_minus_start() {
    let headers = ["会议ID", "会议开始时间", "会议结束时间"];
    let rows: &[&[&str]] = &[&[
        "1",
        "2022.07.21 11:01:40 (GMT+08:00)",
        "2022.07.21 11:31:40 (GMT+08:00)",
    ]];
    let got = read(&xlsx(&headers, rows)).unwrap();
    assert_eq!(meetings(&got.records)[0].duration_seconds, Some(1800));
}

#[test]
fn english_meeting_list() {
    let headers = [
        "Meeting ID",
        "Topic",
        "Start Time",
        "End Time",
        "Duration",
        "Participants",
        "Audio",
        "Video",
        "Screen Sharing",
        "Recording",
        "Telephone",
    ];
    let rows: &[&[&str]] = &[&[
        "111222333",
        "Sync",
        "2022-07-21 03:01:40 (GMT+00:00)",
        "",
        "00:10:00",
        "3",
        "Yes",
        "No",
        "No",
        "Yes",
        "No",
    ]];
    let got = read(&xlsx(&headers, rows)).unwrap();
    let meeting = meetings(&got.records)[0];
    assert_eq!(
        (meeting.start, meeting.duration_seconds, meeting.recording),
        (T0, Some(600), Some(true))
    );
}

#[test]
fn participant_list() {
    let headers = crate::simulator::PARTICIPANT_LIST_HEADERS;
    let rows: &[&[&str]] = &[
        &[
            "张三",
            "人事部",
            "ou_1a2b",
            "12345670000",
            "+86123****8910",
            "xx@email.com",
            "WINDOWS",
            "5.18.0",
            "170.40.80.80",
            "192.168.1.1",
            "否",
            "中国大陆",
            "wifi",
            "与系统一致",
            "与系统一致",
            "Integrated Camera",
            "是",
            "是",
            "否",
            "2022.07.21 11:01:40 (GMT+08:00)",
            "2022.07.21 12:04:52 (GMT+08:00)",
            "00:01:58",
            "主持人结束会议",
        ],
        &[
            "李四",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "是",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "2022.07.21 11:01:40 (GMT+08:00)",
            "2022.07.21 11:11:40 (GMT+08:00)",
            "",
            "",
        ],
    ];
    let got = read(&xlsx(&headers, rows)).unwrap();
    assert_eq!(got.kind, Some(Kind::ParticipantList));
    let Record::Participant(first) = &got.records[0] else {
        panic!()
    };
    assert_eq!(
        first,
        &ParticipantSession {
            user_id: Some("ou_1a2b".into()),
            device: Some("WINDOWS".into()),
            client_version: Some("5.18.0".into()),
            rtc_proxy: Some(false),
            location: Some("中国大陆".into()),
            network_type: Some("wifi".into()),
            audio: Some(true),
            video: Some(true),
            screen_share: Some(false),
            join: T0,
            leave: Some(T0 + 3792),
            duration_seconds: Some(118),
            leave_reason: Some(LeaveReason::MeetingEnded),
        }
    );
    let Record::Participant(second) = &got.records[1] else {
        panic!()
    };
    assert_eq!(
        (
            second.user_id.as_deref(),
            second.duration_seconds,
            second.leave_reason
        ),
        (None, Some(600), None)
    );
    assert_eq!(second.rtc_proxy, Some(true));
}

/// The documented quality headers, full-width parentheses.
fn quality_headers(open: &str, close: &str) -> Vec<String> {
    let mut headers = vec!["时间".to_owned()];
    for media in ["音频", "视频", "共享屏幕"] {
        for direction in ["接收", "发送"] {
            for metric in ["码率", "延迟", "抖动", "丢包平均", "丢包最大"] {
                headers.push(format!("{media}-{metric}{open}{direction}{close}"));
            }
        }
    }
    headers.extend(
        [
            "客户端最小 CPU 占用",
            "客户端平均 CPU 占用",
            "客户端最大 CPU 占用",
            "系统最大 CPU 占用",
        ]
        .map(String::from),
    );
    headers
}

fn quality_row(time: &str, audio_receive: [&str; 5]) -> Vec<String> {
    let mut row = vec![time.to_owned()];
    row.extend(audio_receive.map(String::from));
    row.extend(["48kbps", "8ms", "2ms", "0.5%", "1%"].map(String::from));
    for _ in 0..4 {
        row.extend(["-", "-", "-", "-", "-"].map(String::from)); // video and screen unused
    }
    row.extend(["2%", "5%", "10%", "20%"].map(String::from));
    row
}

#[test]
fn quality_minutes_with_either_parentheses() {
    for (open, close) in [("（", "）"), ("(", ")"), (" (", ")")] {
        let headers = quality_headers(open, close);
        let rows = [
            quality_row(
                "2022.07.21 11:01:40 (GMT+08:00)",
                ["50kbps", "5ms", "1ms", "2%", "5%"],
            ),
            quality_row(
                "2022.07.21 11:02:40 (GMT+08:00)",
                ["1.2Mbps", "0.4s", "N/A", "0.8%", "--"],
            ),
        ];
        let bytes = write_xlsx(&headers, rows.iter().map(|r| r.iter())).unwrap();
        let got = read(&bytes).unwrap();
        assert_eq!(got.kind, Some(Kind::ParticipantQualityList), "{open}");
        assert_eq!(got.records.len(), 2);
        let Record::Quality(first) = &got.records[0] else {
            panic!()
        };
        assert_eq!(first.time, T0);
        let audio = first.stream(Media::Audio, Direction::Receive);
        assert_eq!(audio.bitrate_bytes_per_second, Some(6250.0));
        assert_eq!(audio.latency_seconds, Some(0.005));
        assert_eq!(audio.jitter_seconds, Some(0.001));
        assert_eq!(audio.packet_loss_ratio, Some(0.02));
        assert_eq!(audio.packet_loss_peak_ratio, Some(0.05));
        assert_eq!(
            first.stream(Media::Audio, Direction::Send).latency_seconds,
            Some(0.008)
        );
        assert_eq!(
            first.stream(Media::Video, Direction::Receive),
            &StreamSample::default()
        );
        assert_eq!(
            first.stream(Media::Screen, Direction::Send),
            &StreamSample::default()
        );
        assert_eq!(
            (
                first.client_cpu_min_ratio,
                first.client_cpu_ratio,
                first.client_cpu_peak_ratio,
                first.system_cpu_peak_ratio
            ),
            (Some(0.02), Some(0.05), Some(0.1), Some(0.2))
        );
        let Record::Quality(second) = &got.records[1] else {
            panic!()
        };
        let audio = second.stream(Media::Audio, Direction::Receive);
        assert_eq!(audio.bitrate_bytes_per_second, Some(150_000.0));
        assert_eq!(audio.latency_seconds, Some(0.4));
        assert_eq!(
            (audio.jitter_seconds, audio.packet_loss_peak_ratio),
            (None, None)
        );
    }
}

#[test]
fn english_quality_headers() {
    let headers = [
        "Time",
        "Audio-Bitrate (Receive)",
        "Audio - Latency (Receive)",
        "Audio-Jitter(Receive)",
        "Audio-Packet Loss Avg (Receive)",
        "Audio-Packet Loss Max (Receive)",
        "Screen Share-Latency (Send)",
        "Client Avg CPU",
    ];
    let rows: &[&[&str]] = &[&[
        "2022-07-21 11:01:40",
        "64kbps",
        "20ms",
        "3ms",
        "1%",
        "4%",
        "90ms",
        "12%",
    ]];
    let got = read(&xlsx(&headers, rows)).unwrap();
    let Record::Quality(minute) = &got.records[0] else {
        panic!()
    };
    let audio = minute.stream(Media::Audio, Direction::Receive);
    assert_eq!(
        (audio.bitrate_bytes_per_second, audio.latency_seconds),
        (Some(8000.0), Some(0.02))
    );
    assert_eq!(
        minute
            .stream(Media::Screen, Direction::Send)
            .latency_seconds,
        Some(0.09)
    );
    assert_eq!(minute.client_cpu_ratio, Some(0.12));
}

use crate::simulator::RESOURCE_RESERVATION_LIST_HEADERS as RESERVATION_HEADERS;

#[test]
fn reservations_with_every_enumeration() {
    let rows: &[&[&str]] = &[
        &[
            "测试专用rooms",
            "xx的视频会议",
            "张三",
            "人事部",
            "10",
            "8",
            "2022.07.21 11:01:40 (GMT+08:00)",
            "2022.07.21 12:01:40 (GMT+08:00)",
            "01:00:00",
            "预定成功",
            "签到板",
            "已签到",
            "2022.07.21 11:03:40 (GMT+08:00)",
            "",
            "",
        ],
        &[
            "3F 大会议室",
            "",
            "",
            "",
            "4",
            "1",
            "2022.07.21 11:01:40 (GMT+08:00)",
            "2022.07.21 12:01:40 (GMT+08:00)",
            "01:00:00",
            "已释放(未签到被释放)",
            "",
            "超时未签到",
            "",
            "系统",
            "2022.07.21 11:16:40 (GMT+08:00)",
        ],
        &[
            "3F 大会议室",
            "",
            "",
            "",
            "",
            "",
            "2022.07.21 11:01:40 (GMT+08:00)",
            "2022.07.21 12:01:40 (GMT+08:00)",
            "01:00:00",
            "新状态",
            "设备离线，自动签到",
            "无需签到（即时预定）",
            "",
            "",
            "",
        ],
    ];
    let got = read(&xlsx(&RESERVATION_HEADERS, rows)).unwrap();
    assert_eq!(got.kind, Some(Kind::ResourceReservationList));
    let bookings: Vec<&Reservation> = got
        .records
        .iter()
        .map(|r| match r {
            Record::Reservation(b) => b,
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        bookings[0],
        &Reservation {
            room: "测试专用rooms".into(),
            invitees: Some(10),
            acceptances: Some(8),
            start: T0,
            end: T0 + 3600,
            status: ReservationStatus::Reserved,
            check_in_device: Some(CheckInDevice::CheckInBoard),
            check_in_status: Some(CheckInStatus::CheckedIn),
            check_in_time: Some(T0 + 120),
            release_time: None,
        }
    );
    assert_eq!(bookings[1].status, ReservationStatus::ReleasedNoCheckIn);
    assert_eq!(bookings[1].check_in_status, Some(CheckInStatus::Missed));
    assert_eq!(bookings[1].release_time, Some(T0 + 900));
    assert_eq!(bookings[2].status, ReservationStatus::Other);
    assert_eq!(
        bookings[2].check_in_device,
        Some(CheckInDevice::OfflineAuto)
    );
    assert_eq!(
        bookings[2].check_in_status,
        Some(CheckInStatus::NotRequiredInstant)
    );
}

#[test]
fn a_bad_value_rejects_its_row_only() {
    let rows = [
        meeting_row("1", "2022.07.21 11:01:40 (GMT+08:00)", "", "01:00:00", "5"),
        meeting_row("2", "next tuesday", "", "01:00:00", "5"),
        meeting_row("3", "2022.07.21 11:01:40 (GMT+08:00)", "", "an hour", "5"),
        meeting_row(
            "4",
            "2022.07.21 11:01:40 (GMT+08:00)",
            "",
            "01:00:00",
            "five",
        ),
        meeting_row("", "2022.07.21 11:01:40 (GMT+08:00)", "", "01:00:00", "5"),
        meeting_row("6", "-", "", "01:00:00", "5"),
        meeting_row("7", "2022.07.21 11:01:40 (GMT+08:00)", "", "-", "-"),
    ];
    let refs: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
    let got = read(&xlsx(&MEETING_HEADERS, &refs)).unwrap();
    let ids: Vec<&str> = meetings(&got.records)
        .iter()
        .map(|m| m.meeting_no.as_str())
        .collect();
    assert_eq!(ids, ["1", "7"]);
    let fingerprints: std::collections::HashSet<u64> =
        got.rejected.iter().map(|r| r.fingerprint).collect();
    assert_eq!(
        fingerprints.len(),
        got.rejected.len(),
        "different rows, different fingerprints"
    );
    let rejected: Vec<(u32, &str, Invalid)> = got
        .rejected
        .iter()
        .map(|r| (r.row, r.column.as_str(), r.reason))
        .collect();
    assert_eq!(
        rejected,
        [
            (3, "会议开始时间", Invalid::Time),
            (4, "会议持续时间", Invalid::Duration),
            (5, "参会人数量", Invalid::Number),
            (6, "会议ID", Invalid::Missing),
            (7, "会议开始时间", Invalid::Missing),
        ]
    );
}

#[test]
fn blank_rows_are_skipped() {
    let rows = [
        meeting_row("1", "2022.07.21 11:01:40 (GMT+08:00)", "", "01:00:00", "5"),
        vec![""; 17],
        vec![" "; 17],
        meeting_row("2", "2022.07.21 11:01:40 (GMT+08:00)", "", "01:00:00", "5"),
    ];
    let refs: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
    let got = read(&xlsx(&MEETING_HEADERS, &refs)).unwrap();
    assert_eq!((got.records.len(), got.rejected.len()), (2, 0));
}

#[test]
fn real_excel_cells_are_understood() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let time = Format::new().set_num_format("[hh]:mm:ss");
    for (col, header) in [
        "会议ID",
        "会议开始时间",
        "会议持续时间",
        "参会人数量",
        "音频",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    sheet.write_number(1, 0, 123456789.0).unwrap();
    let start = ExcelDateTime::parse_from_str("2022-07-21 11:01:40").unwrap();
    sheet
        .write_datetime_with_format(1, 1, &start, &date)
        .unwrap();
    sheet
        .write_number_with_format(1, 2, 1.5 / 24.0, &time)
        .unwrap();
    sheet.write_number(1, 3, 7.0).unwrap();
    sheet.write_boolean(1, 4, true).unwrap();
    let bytes = workbook.save_to_buffer().unwrap();
    let got = read(&bytes).unwrap();
    assert_eq!(got.rejected, []);
    let meeting = meetings(&got.records)[0];
    assert_eq!(meeting.meeting_no, "123456789");
    assert_eq!(
        meeting.start, T0,
        "an Excel date is a wall-clock time in the default zone"
    );
    assert_eq!(meeting.duration_seconds, Some(5400));
    assert_eq!((meeting.participants, meeting.audio), (Some(7), Some(true)));
}

#[test]
fn whole_file_errors_name_what_is_wrong() {
    let good = xlsx(
        &MEETING_HEADERS,
        &[&meeting_row("1", "2022.07.21 11:01:40", "", "", "1")],
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty file", Vec::new(), "not an .xlsx workbook"),
        (
            "random bytes",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
            "not an .xlsx workbook",
        ),
        (
            "csv renamed",
            "会议ID,会议开始时间\n1,2022.07.21 11:01:40\n"
                .as_bytes()
                .to_vec(),
            "not an .xlsx workbook",
        ),
        (
            "truncated download",
            good[..good.len() / 2].to_vec(),
            "not an .xlsx workbook",
        ),
        ("workbook with no rows", xlsx(&[], &[]), "no header row"),
        (
            "unknown headers",
            xlsx(&["姓名", "年龄"], &[&["a", "1"]]),
            "match no Feishu VC export kind (headers: 姓名, 年龄)",
        ),
        (
            "missing column (Chinese)",
            xlsx(&["会议ID", "会议主题", "参会人数量"], &[]),
            "meeting_list export without the required column \"会议开始时间\"",
        ),
        (
            "missing column (English)",
            xlsx(&["Room Name", "Start Time", "End Time"], &[]),
            "resource_reservation_list export without the required column \"Reservation Status\"",
        ),
        (
            "quality without time",
            xlsx(&["音频-码率（接收）", "音频-延迟（接收）"], &[]),
            "participant_quality_list export without the required column \"时间\"",
        ),
        (
            "duplicate column",
            xlsx(&["会议ID", "会议 ID", "会议开始时间"], &[]),
            "the column \"会议 ID\" twice",
        ),
    ];
    for (name, bytes, expected) in cases {
        match read(&bytes) {
            Ok(_) => panic!("{name}: read without error"),
            Err(e) => assert!(e.to_string().contains(expected), "{name}: {e}"),
        }
    }
}

#[test]
fn a_header_only_file_is_fine_and_empty() {
    let got = read(&xlsx(&MEETING_HEADERS, &[])).unwrap();
    assert_eq!((got.kind, got.records.len()), (Some(Kind::MeetingList), 0));
}
