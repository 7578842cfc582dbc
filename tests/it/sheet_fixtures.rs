//! Committed workbooks through `read_export`:
//! - `fixtures/openpyxl/`: one export of each kind written by openpyxl (inline strings, other
//!   sheet names, a Text number format, ASCII parentheses…), not by the rust_xlsxwriter the
//!   unit tests use, so the parser is not tuned to one writer. Regenerate with
//!   `python3 tests/fixtures/make_foreign_fixtures.py`.
//! - `fixtures/fuzz-regressions/`: inputs that once crashed the parser (found by `fuzz/`) and
//!   hand-made hostile files; each must come back as `Ok` or `Err`, never a panic.

use std::fs::File;
use std::io::{BufReader, Cursor};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use feishu_vc_exporter::sheet::{
    read_export, CheckInDevice, CheckInStatus, Direction, ExportSink, Invalid, Kind, LeaveReason,
    Media, Meeting, ParseOptions, ParticipantSession, QualityMinute, Record, Rejected, Reservation,
    ReservationStatus, SheetError, StreamSample,
};

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
        assert!(self.kind.is_some(), "record before begin");
        self.records.push(record);
    }
    fn rejected(&mut self, rejected: Rejected) {
        assert!(self.kind.is_some(), "rejected row before begin");
        self.rejected.push(rejected);
    }
}

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn read_bytes(bytes: &[u8]) -> Result<Collected, SheetError> {
    let mut sink = Collected::default();
    let summary = read_export(Cursor::new(bytes), &ParseOptions::default(), &mut sink)?;
    assert_eq!(Some(summary.kind), sink.kind);
    assert_eq!(summary.records, sink.records.len() as u64);
    assert_eq!(summary.rejected, sink.rejected.len() as u64);
    Ok(sink)
}

/// Reads a committed openpyxl workbook, from a file as `ingest` does.
fn read_openpyxl(name: &str) -> Collected {
    let path = fixture(&format!("openpyxl/{name}"));
    let file = BufReader::new(File::open(&path).expect("fixture exists"));
    let mut sink = Collected::default();
    let summary = read_export(file, &ParseOptions::default(), &mut sink)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(Some(summary.kind), sink.kind);
    assert_eq!(summary.records, sink.records.len() as u64);
    assert_eq!(summary.rejected, sink.rejected.len() as u64);
    sink
}

fn rejected(got: &Collected) -> Vec<(u32, &str, Invalid)> {
    got.rejected
        .iter()
        .map(|r| (r.row, r.column.as_str(), r.reason))
        .collect()
}

// 2022-07-21 11:01:40 +08:00
const T0: i64 = 1_658_372_500;

#[track_caller]
fn approx(got: Option<f64>, want: f64) {
    let got = got.unwrap_or_else(|| panic!("no value, want {want}"));
    assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
}

#[test]
fn openpyxl_meeting_list_with_headers_seen_in_the_wild() {
    let got = read_openpyxl("meeting_list.xlsx");
    assert_eq!(got.kind, Some(Kind::MeetingList));
    // The header is ` 参会人数 `; the column is named as written, trimmed.
    assert_eq!(rejected(&got), [(5, "参会人数", Invalid::Number)]);
    let meetings: Vec<&Meeting> = got
        .records
        .iter()
        .map(|r| match r {
            Record::Meeting(m) => m,
            other => panic!("not a meeting: {other:?}"),
        })
        .collect();
    assert_eq!(meetings.len(), 4);
    assert_eq!(
        meetings[0],
        &Meeting {
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
        }
    );
    // Over a day long: 26:15:10.
    assert_eq!(meetings[1].start, 1_658_417_400);
    assert_eq!(meetings[1].end, Some(1_658_511_910));
    assert_eq!(meetings[1].duration_seconds, Some(26 * 3600 + 15 * 60 + 10));
    assert_eq!(meetings[1].participants, Some(120));
    assert_eq!(meetings[1].recording, Some(true));
    // 05:01:40 at GMT+02:00 is T0; `-` and an empty cell are no value, not errors.
    assert_eq!(meetings[2].meeting_no, "345678901");
    assert_eq!(meetings[2].start, T0);
    assert_eq!(meetings[2].end, None);
    assert_eq!(meetings[2].duration_seconds, None);
    assert_eq!(meetings[2].audio, None);
    assert_eq!(meetings[2].participants, Some(2));
    // No offset: +08:00; 会议时长 `N/A`, so the duration is end minus start.
    assert_eq!(meetings[3].meeting_no, "567890123");
    assert_eq!(meetings[3].start, 1_658_451_600);
    assert_eq!(meetings[3].end, Some(1_658_451_600 + 1800));
    assert_eq!(meetings[3].duration_seconds, Some(1800));
    assert_eq!(meetings[3].telephone, Some(true));
}

#[test]
fn openpyxl_participant_list_with_documented_headers() {
    let got = read_openpyxl("participant_list.xlsx");
    assert_eq!(got.kind, Some(Kind::ParticipantList));
    assert_eq!(rejected(&got), [(5, "视频", Invalid::Boolean)]);
    let sessions: Vec<&ParticipantSession> = got
        .records
        .iter()
        .map(|r| match r {
            Record::Participant(p) => p,
            other => panic!("not a participant: {other:?}"),
        })
        .collect();
    assert_eq!(sessions.len(), 3);
    assert_eq!(
        sessions[0],
        &ParticipantSession {
            user_id: Some("ou_1a2b3c".into()),
            device: Some("Mac".into()),
            client_version: Some("7.12.5".into()),
            rtc_proxy: Some(false),
            location: Some("中国 北京".into()),
            network_type: Some("Wi-Fi".into()),
            audio: Some(true),
            video: Some(true),
            screen_share: Some(false),
            join: T0,
            leave: Some(T0 + 3600),
            duration_seconds: Some(3600),
            leave_reason: Some(LeaveReason::MeetingEnded),
        }
    );
    // No 参会时长: leave minus join (11:05:00 to 11:20:30).
    assert_eq!(sessions[1].join, T0 + 200);
    assert_eq!(sessions[1].leave, Some(T0 + 1130));
    assert_eq!(sessions[1].duration_seconds, Some(930));
    assert_eq!(sessions[1].rtc_proxy, Some(true));
    assert_eq!(sessions[1].network_type.as_deref(), Some("4G"));
    assert_eq!(sessions[1].leave_reason, Some(LeaveReason::Network));
    assert_eq!(sessions[2].duration_seconds, Some(600));
    assert_eq!(sessions[2].location, None);
    assert_eq!(sessions[2].screen_share, Some(true));
    assert_eq!(sessions[2].leave_reason, Some(LeaveReason::Removed));
}

#[test]
fn openpyxl_quality_list_with_ascii_parentheses() {
    let got = read_openpyxl("participant_quality_list.xlsx");
    assert_eq!(got.kind, Some(Kind::ParticipantQualityList));
    assert_eq!(rejected(&got), [(4, "音频-延迟(接收)", Invalid::Delay)]);
    let minutes: Vec<&QualityMinute> = got
        .records
        .iter()
        .map(|r| match r {
            Record::Quality(q) => q,
            other => panic!("not a quality minute: {other:?}"),
        })
        .collect();
    assert_eq!(
        minutes.iter().map(|m| m.time).collect::<Vec<_>>(),
        [T0, T0 + 60, T0 + 180, T0 + 240]
    );

    let first = minutes[0];
    let audio_in = first.stream(Media::Audio, Direction::Receive);
    approx(audio_in.bitrate_bytes_per_second, 50_000.0 / 8.0);
    approx(audio_in.latency_seconds, 0.005);
    approx(audio_in.jitter_seconds, 0.001);
    approx(audio_in.packet_loss_ratio, 0.02);
    approx(audio_in.packet_loss_peak_ratio, 0.05);
    let audio_out = first.stream(Media::Audio, Direction::Send);
    approx(audio_out.bitrate_bytes_per_second, 6_000.0);
    approx(audio_out.packet_loss_ratio, 0.0);
    approx(audio_out.packet_loss_peak_ratio, 0.01);
    let video_in = first.stream(Media::Video, Direction::Receive);
    approx(video_in.bitrate_bytes_per_second, 1.2e6 / 8.0);
    approx(video_in.latency_seconds, 0.03);
    // `-`, `N/A` and empty cells: the medium was not used, not an error.
    for (media, direction) in [
        (Media::Video, Direction::Send),
        (Media::Screen, Direction::Receive),
        (Media::Screen, Direction::Send),
    ] {
        assert_eq!(
            first.stream(media, direction),
            &StreamSample::default(),
            "{media:?} {direction:?}"
        );
    }
    approx(first.client_cpu_min_ratio, 0.02);
    approx(first.client_cpu_ratio, 0.05);
    approx(first.client_cpu_peak_ratio, 0.10);
    approx(first.system_cpu_peak_ratio, 0.20);

    let second = minutes[1];
    let audio_in = second.stream(Media::Audio, Direction::Receive);
    approx(audio_in.bitrate_bytes_per_second, 8_000.0); // `64 kbps`
    approx(audio_in.latency_seconds, 0.3); // `0.3s`
    approx(
        second
            .stream(Media::Screen, Direction::Receive)
            .bitrate_bytes_per_second,
        250_000.0, // `2Mbps`
    );
    approx(second.system_cpu_peak_ratio, 0.25);

    let audio_only = minutes[2];
    approx(
        audio_only
            .stream(Media::Audio, Direction::Receive)
            .packet_loss_peak_ratio,
        0.5,
    );
    assert_eq!(
        audio_only.stream(Media::Video, Direction::Receive),
        &StreamSample::default()
    );

    let idle = minutes[3];
    assert!(idle
        .streams
        .iter()
        .flatten()
        .all(|s| *s == StreamSample::default()));
    assert_eq!(idle.client_cpu_ratio, None);
}

#[test]
fn openpyxl_reservations_with_every_enumeration() {
    let got = read_openpyxl("resource_reservation_list.xlsx");
    assert_eq!(got.kind, Some(Kind::ResourceReservationList));
    assert_eq!(rejected(&got), [(16, "邀请人数", Invalid::Number)]);
    let reservations: Vec<&Reservation> = got
        .records
        .iter()
        .map(|r| match r {
            Record::Reservation(r) => r,
            other => panic!("not a reservation: {other:?}"),
        })
        .collect();
    assert_eq!(reservations.len(), 14);

    // 2022.07.21 14:00:00 (GMT+08:00)
    let start = 1_658_383_200;
    assert_eq!(
        reservations[0],
        &Reservation {
            room: "A-101 大会议室".into(),
            invitees: Some(6),
            acceptances: Some(4),
            start,
            end: start + 3600,
            status: ReservationStatus::Reserved,
            check_in_device: Some(CheckInDevice::CheckInBoard),
            check_in_status: Some(CheckInStatus::CheckedIn),
            check_in_time: Some(start - 90),
            release_time: None,
        }
    );
    assert_eq!(reservations[2].release_time, Some(start + 900));
    assert_eq!(reservations[4].release_time, Some(start + 600));
    assert_eq!(reservations[4].check_in_time, None);

    let labels: Vec<(&str, Option<&str>, Option<&str>)> = reservations
        .iter()
        .map(|r| {
            (
                r.status.as_str(),
                r.check_in_device.map(|d| d.as_str()),
                r.check_in_status.map(|s| s.as_str()),
            )
        })
        .collect();
    assert_eq!(
        labels,
        [
            ("reserved", Some("check_in_board"), Some("checked_in")),
            ("pending_approval", None, Some("waiting")),
            ("released_manually", Some("qr_code"), Some("checked_in")),
            (
                "released_after_meeting",
                Some("controller"),
                Some("checked_in")
            ),
            ("released_no_check_in", None, Some("missed")),
            (
                "released_by_sensor",
                Some("touch_panel"),
                Some("checked_in")
            ),
            ("reserved", Some("offline_auto"), Some("checked_in")),
            ("reserved", None, Some("not_required_instant")),
            ("reserved", None, Some("not_required_disabled")),
            ("reserved", None, Some("not_required")),
            ("reserved", None, Some("window_open")),
            ("reserved", None, Some("not_required_no_device")),
            ("reserved", None, Some("room_disabled")),
            ("other", Some("other"), Some("checked_in")),
        ]
    );
    // Every value DESIGN.md lists, and `other`, occurs.
    for status in ReservationStatus::ALL {
        assert!(
            reservations.iter().any(|r| r.status == *status),
            "{status:?}"
        );
    }
    for device in CheckInDevice::ALL {
        assert!(
            reservations
                .iter()
                .any(|r| r.check_in_device == Some(*device)),
            "{device:?}"
        );
    }
    for status in CheckInStatus::ALL
        .iter()
        .filter(|s| **s != CheckInStatus::Other)
    {
        assert!(
            reservations
                .iter()
                .any(|r| r.check_in_status == Some(*status)),
            "{status:?}"
        );
    }
}

/// Every file under `fixtures/fuzz-regressions/` is read to an `Ok` or an `Err`; a panic in
/// any of them fails the test, naming the files.
#[test]
fn fuzz_regressions_never_panic() {
    let dir = fixture("fuzz-regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the fuzz-regressions folder")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "only {} files in {}",
        files.len(),
        dir.display()
    );
    let panicked: Vec<String> = files
        .iter()
        .filter(|path| {
            let bytes = std::fs::read(path).expect("readable");
            catch_unwind(AssertUnwindSafe(|| drop(read_bytes(&bytes)))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(panicked.is_empty(), "read_export panicked on {panicked:?}");
}

fn regression(name: &str) -> Result<Collected, SheetError> {
    let bytes = std::fs::read(fixture(&format!("fuzz-regressions/{name}"))).expect("fixture");
    read_bytes(&bytes)
}

/// What each of them gives, beyond not panicking.
#[test]
fn fuzz_regressions_are_read_as_far_as_they_go() {
    // Found by `fuzz/` (sheet_cells): a time-formatted cell holding -6.97e182 made calamine's
    // date conversion panic inside chrono. Now the row is rejected like any bad time.
    let got = regression("excel-time-serial-out-of-range.xlsx").unwrap();
    assert_eq!(got.kind, Some(Kind::ParticipantQualityList));
    assert!(got.records.is_empty());
    assert_eq!(rejected(&got), [(3, "时间", Invalid::Time)]);

    // Found reading value.rs while the fuzzer ran: the offset `+1é1` is four bytes, and
    // splitting its digits at byte 2 cut `é` in half (a str slicing panic).
    let got = regression("time-offset-digits-split-inside-a-character.xlsx").unwrap();
    assert_eq!(rejected(&got), [(2, "会议开始时间", Invalid::Time)]);
    match got.records.as_slice() {
        [Record::Meeting(m)] => assert_eq!(m.start, T0), // `+0800` still reads
        other => panic!("{other:?}"),
    }

    // The rows before the cut count; the file then fails as corrupt, naming where.
    match regression("sheet-xml-cut-mid-tag.xlsx") {
        Err(SheetError::Corrupt { row: 3, .. }) => {}
        other => panic!("{:?}", other.map(|c| c.records)),
    }

    // A header and a value at XFD (column 16384) of row 1048576: read, and ignored.
    let got = regression("cell-at-xfd1048576.xlsx").unwrap();
    assert_eq!(got.kind, Some(Kind::MeetingList));
    let numbers: Vec<&str> = got
        .records
        .iter()
        .map(|r| match r {
            Record::Meeting(m) => m.meeting_no.as_str(),
            other => panic!("not a meeting: {other:?}"),
        })
        .collect();
    assert_eq!(numbers, ["123456789", "999999999"]);
    assert!(got.rejected.is_empty());

    // calamine refuses a shared-string index past the table: the whole file is corrupt.
    assert!(matches!(
        regression("shared-string-index-out-of-range.xlsx"),
        Err(SheetError::Corrupt { .. })
    ));
}
