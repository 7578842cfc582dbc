//! `feishu-vc-exporter ingest` end to end: real workbooks in, the real binary, exposition out.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use feishu_vc_exporter::sheet::writer::write_xlsx;
use feishu_vc_exporter::simulator::{
    MEETING_LIST_HEADERS, PARTICIPANT_LIST_HEADERS, RESOURCE_RESERVATION_LIST_HEADERS,
};

use crate::support::{process, promtool};

fn run_ingest(files: &[&Path]) -> Output {
    process::run(
        Command::new(env!("CARGO_BIN_EXE_feishu-vc-exporter"))
            .arg("ingest")
            .args(files),
    )
    .expect("run the binary")
}

fn write(dir: &Path, name: &str, headers: &[&str], rows: &[&[&str]]) -> PathBuf {
    let path = dir.join(name);
    let bytes = write_xlsx(headers, rows.iter().map(|r| r.iter().copied())).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The sample lines of `family` (no HELP/TYPE), for exact assertions beside the snapshots.
fn samples<'a>(text: &'a str, family: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next() == Some(family))
        .collect()
}

/// Sums are floats: compare within a relative 1e-9.
fn assert_value(text: &str, series: &str, expected: f64) {
    let got = value(text, series);
    assert!(
        (got - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "{series}: {got} != {expected}"
    );
}

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .unwrap_or_else(|| panic!("no series {series}"))
        .parse()
        .unwrap()
}

/// Personal data in every fixture; none of it may reach the output.
const PERSONAL: &[&str] = &[
    "张三",
    "李四",
    "zs@example.com",
    "+86123****8910",
    "ou_1a2b",
    "E001",
    "170.40.80.80",
    "192.168.1.1",
    "研发部",
];

fn meeting_file(dir: &Path) -> PathBuf {
    let headers = MEETING_LIST_HEADERS;
    let m = |id, start, length, count, video, share, rec| {
        [
            id,
            "周会",
            "张三",
            "研发部",
            "ou_1a2b",
            "E001",
            "zs@example.com",
            "+86123****8910",
            start,
            "",
            length,
            count,
            "是",
            video,
            share,
            rec,
            "否",
        ]
    };
    let rows = [
        m(
            "100000001",
            "2022.07.21 09:00:00 (GMT+08:00)",
            "01:00:00",
            "5",
            "是",
            "是",
            "否",
        ),
        m(
            "100000002",
            "2022.07.21 10:00:00 (GMT+08:00)",
            "00:30:00",
            "2",
            "是",
            "否",
            "是",
        ),
        m(
            "100000003",
            "2022.07.21 11:00:00 (GMT+08:00)",
            "00:10:00",
            "12",
            "否",
            "否",
            "否",
        ),
        m("100000004", "the 21st", "00:10:00", "12", "否", "否", "否"),
    ];
    let refs: Vec<&[&str]> = rows.iter().map(|r| r.as_slice()).collect();
    write(dir, "meetings.xlsx", &headers, &refs)
}

fn participant_file(dir: &Path) -> PathBuf {
    let headers = PARTICIPANT_LIST_HEADERS;
    let p = |device, version, proxy, network, length, reason| {
        [
            "张三",
            "研发部",
            "ou_1a2b",
            "E001",
            "+86123****8910",
            "zs@example.com",
            device,
            version,
            "170.40.80.80",
            "192.168.1.1",
            proxy,
            "中国大陆",
            network,
            "与系统一致",
            "与系统一致",
            "Camera",
            "是",
            "是",
            "否",
            "2022.07.21 09:00:00 (GMT+08:00)",
            "2022.07.21 10:00:00 (GMT+08:00)",
            length,
            reason,
        ]
    };
    let rows = [
        p(
            "WINDOWS",
            "7.23.6",
            "否",
            "wifi",
            "00:01:58",
            "主持人结束会议",
        ),
        p("MAC", "7.23.6", "是", "LAN", "00:10:00", "主动离会"),
        p(
            "WINDOWS",
            "7.20.1",
            "否",
            "wifi",
            "01:00:00",
            "被主持人张三移出会议",
        ),
    ];
    let refs: Vec<&[&str]> = rows.iter().map(|r| r.as_slice()).collect();
    write(dir, "participants.xlsx", &headers, &refs)
}

fn quality_file(dir: &Path) -> PathBuf {
    let mut headers = vec!["时间".to_owned()];
    for media in ["音频", "视频", "共享屏幕"] {
        for direction in ["接收", "发送"] {
            for metric in ["码率", "延迟", "抖动", "丢包平均", "丢包最大"] {
                headers.push(format!("{media}-{metric}（{direction}）"));
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
    let minute = |time: &str, audio: [&str; 5], video: [&str; 5], cpu: [&str; 4]| {
        let mut row = vec![time.to_owned()];
        row.extend(audio.map(String::from)); // audio receive
        row.extend(audio.map(String::from)); // audio send
        row.extend(video.map(String::from)); // video receive
        row.extend(["-"; 5].map(String::from)); // video send: camera off
        row.extend(["-"; 10].map(String::from)); // no screen share
        row.extend(cpu.map(String::from));
        row
    };
    let rows = [
        minute(
            "2022.07.21 09:00:00 (GMT+08:00)",
            ["48kbps", "20ms", "2ms", "0%", "1%"],
            ["1.2Mbps", "40ms", "5ms", "0.5%", "2%"],
            ["1%", "10%", "20%", "35%"],
        ),
        minute(
            "2022.07.21 09:01:00 (GMT+08:00)",
            ["32kbps", "450ms", "45ms", "6%", "12%"],
            ["800kbps", "500ms", "60ms", "8%", "20%"],
            ["2%", "30%", "60%", "80%"],
        ),
        minute(
            "2022.07.21 09:02:00 (GMT+08:00)",
            ["40kbps", "quick", "3ms", "0%", "0%"],
            ["-", "-", "-", "-", "-"],
            ["1%", "5%", "8%", "20%"],
        ),
    ];
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let rows: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    let refs: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
    write(dir, "quality.xlsx", &headers, &refs)
}

fn reservation_file(dir: &Path) -> PathBuf {
    let headers = RESOURCE_RESERVATION_LIST_HEADERS;
    let rows: &[&[&str]] = &[
        &[
            "3F 大会议室",
            "周会",
            "张三",
            "研发部",
            "10",
            "8",
            "2022.07.21 09:00:00 (GMT+08:00)",
            "2022.07.21 10:00:00 (GMT+08:00)",
            "01:00:00",
            "预定成功",
            "签到板",
            "已签到",
            "2022.07.21 09:02:00 (GMT+08:00)",
            "",
            "",
        ],
        &[
            "3F 大会议室",
            "评审",
            "李四",
            "研发部",
            "4",
            "1",
            "2022.07.21 10:00:00 (GMT+08:00)",
            "2022.07.21 11:00:00 (GMT+08:00)",
            "01:00:00",
            "已释放（未签到被释放）",
            "",
            "超时未签到",
            "",
            "系统",
            "2022.07.21 10:15:00 (GMT+08:00)",
        ],
        &[
            "2F 电话间",
            "1:1",
            "张三",
            "研发部",
            "2",
            "2",
            "2022.07.21 08:50:00 (GMT+08:00)",
            "2022.07.21 09:20:00 (GMT+08:00)",
            "00:30:00",
            "已释放（会议结束后自动释放）",
            "签到二维码",
            "已签到",
            "2022.07.21 08:45:00 (GMT+08:00)",
            "",
            "",
        ],
    ];
    write(dir, "rooms.xlsx", &headers, rows)
}

#[test]
fn every_kind_into_one_exposition() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        meeting_file(dir.path()),
        participant_file(dir.path()),
        quality_file(dir.path()),
        reservation_file(dir.path()),
    ];
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let out = run_ingest(&paths);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");

    // Meetings: three good rows, one bad start time.
    assert_value(&stdout, "feishu_vc_meetings_total", 3.0);
    assert_value(&stdout, "feishu_vc_meeting_duration_seconds_sum", 6000.0);
    assert_value(&stdout, "feishu_vc_meeting_participants_sum", 19.0);
    assert_value(
        &stdout,
        "feishu_vc_meeting_feature_usage_total{feature=\"video\"}",
        2.0,
    );
    assert_value(
        &stdout,
        "feishu_vc_meeting_feature_usage_total{feature=\"telephone\"}",
        0.0,
    );
    assert_value(
        &stdout,
        "feishu_vc_export_rows_total{kind=\"meeting_list\"}",
        4.0,
    );
    assert_value(
        &stdout,
        "feishu_vc_export_rows_rejected_total{kind=\"meeting_list\",reason=\"invalid_time\"}",
        1.0,
    );
    // Participants.
    assert_eq!(
        samples(&stdout, "feishu_vc_participant_sessions_total"),
        [
            "feishu_vc_participant_sessions_total{device=\"mac\",network_type=\"lan\"} 1",
            "feishu_vc_participant_sessions_total{device=\"windows\",network_type=\"wifi\"} 2",
        ]
    );
    assert_value(
        &stdout,
        "feishu_vc_participant_session_duration_seconds_sum",
        4318.0,
    );
    assert_value(
        &stdout,
        "feishu_vc_participant_leaves_total{reason=\"removed\"}",
        1.0,
    );
    assert_value(
        &stdout,
        "feishu_vc_participant_rtc_proxy_sessions_total",
        1.0,
    );
    // Quality: two good minutes, one bad latency cell; unused media are not observed.
    let audio_receive = "{direction=\"receive\",media=\"audio\"}";
    assert_value(
        &stdout,
        &format!("feishu_vc_quality_latency_seconds_count{audio_receive}"),
        2.0,
    );
    assert_value(
        &stdout,
        &format!("feishu_vc_quality_latency_seconds_sum{audio_receive}"),
        0.47,
    );
    assert_value(
        &stdout,
        &format!("feishu_vc_quality_bitrate_bytes_per_second_sum{audio_receive}"),
        10000.0,
    );
    assert_value(
        &stdout,
        "feishu_vc_quality_latency_seconds_count{direction=\"send\",media=\"video\"}",
        0.0,
    );
    assert_value(&stdout, "feishu_vc_quality_client_cpu_ratio_sum", 0.4);
    // Poor minutes (300 ms / 30 ms / 5 %): only 09:01 is poor, for audio and video, on every
    // reason; the 09:02 row is rejected; no screen share.
    for media in ["audio", "video", "screen"] {
        for reason in ["latency", "jitter", "packet_loss"] {
            assert_value(
                &stdout,
                &format!(
                    "feishu_vc_quality_poor_minute_samples_total{{media=\"{media}\",reason=\"{reason}\"}}"
                ),
                if media == "screen" { 0.0 } else { 1.0 },
            );
        }
    }
    // Audio MOS, per direction: 09:00 (20 ms, 2 ms, 0 %) ≈ 4.39; 09:01 (450 ms, 45 ms, 6 %): R < 0, MOS 1.
    for direction in ["receive", "send"] {
        assert_value(
            &stdout,
            &format!("feishu_vc_quality_audio_mos_count{{direction=\"{direction}\"}}"),
            2.0,
        );
        assert_value(
            &stdout,
            &format!("feishu_vc_quality_audio_mos_bucket{{direction=\"{direction}\",le=\"1.5\"}}"),
            1.0,
        );
        assert_value(
            &stdout,
            &format!("feishu_vc_quality_audio_mos_bucket{{direction=\"{direction}\",le=\"4.25\"}}"),
            1.0,
        );
        assert_value(
            &stdout,
            &format!("feishu_vc_quality_audio_mos_bucket{{direction=\"{direction}\",le=\"4.5\"}}"),
            2.0,
        );
    }
    assert_value(&stdout, "feishu_vc_export_rows_rejected_total{kind=\"participant_quality_list\",reason=\"invalid_delay\"}", 1.0);
    // Rooms.
    assert_value(
        &stdout,
        "feishu_vc_room_reservations_total{room=\"3F 大会议室\",status=\"released_no_check_in\"}",
        1.0,
    );
    assert_value(
        &stdout,
        "feishu_vc_room_check_ins_total{room=\"3F 大会议室\",status=\"missed\"}",
        1.0,
    );
    // Booked 09:00-10:00 plus 10:00-10:15 (released early).
    assert_value(
        &stdout,
        "feishu_vc_room_reserved_seconds_total{room=\"3F 大会议室\"}",
        4500.0,
    );
    assert_value(&stdout, "feishu_vc_room_check_in_delay_seconds_sum", 120.0);
    assert_value(&stdout, "feishu_vc_room_check_in_delay_seconds_count", 2.0);
    assert_value(
        &stdout,
        "feishu_vc_room_invitees_total{room=\"2F 电话间\"}",
        2.0,
    );

    for personal in PERSONAL {
        assert!(!stdout.contains(personal), "{personal} reached the output");
    }
    promtool::check_metrics(&stdout);
    insta::assert_snapshot!("all_kinds", stdout);
}

#[test]
fn a_bad_file_is_named_and_the_good_ones_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let good = meeting_file(dir.path());
    let csv = dir.path().join("export.xlsx");
    std::fs::write(&csv, "会议ID,会议开始时间\n1,2022.07.21\n").unwrap();
    let unknown = write(
        dir.path(),
        "people.xlsx",
        &["姓名", "邮箱"],
        &[&["张三", "zs@example.com"]],
    );
    let missing = write(
        dir.path(),
        "rooms.xlsx",
        &["会议室名称", "会议开始时间", "会议结束时间"],
        &[],
    );
    let out = run_ingest(&[
        &good,
        &csv,
        &unknown,
        Path::new("/nonexistent/file.xlsx"),
        &missing,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "one line per bad file: {stderr}");
    assert!(
        lines[0].starts_with(&format!("{}: not an .xlsx workbook", csv.display())),
        "{stderr}"
    );
    assert!(
        lines[1].contains("people.xlsx: the headers match no Feishu VC export kind"),
        "{stderr}"
    );
    assert!(lines[2].starts_with("/nonexistent/file.xlsx: "), "{stderr}");
    assert!(lines[3].contains("rooms.xlsx: resource_reservation_list export without the required column \"会议室预定状态\""), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_value(&stdout, "feishu_vc_meetings_total", 3.0);
}

#[test]
fn ingest_needs_a_file() {
    let out =
        process::run(Command::new(env!("CARGO_BIN_EXE_feishu-vc-exporter")).arg("ingest")).unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn openmetrics_with_record_timestamps_loads_into_promtool_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        meeting_file(dir.path()),
        participant_file(dir.path()),
        quality_file(dir.path()),
        reservation_file(dir.path()),
    ];
    let out = process::run(
        Command::new(env!("CARGO_BIN_EXE_feishu-vc-exporter"))
            .args(["ingest", "--format", "openmetrics"])
            .args(&files),
    )
    .expect("run the binary");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.ends_with("# EOF\n"));
    assert_eq!(stdout.matches("# EOF").count(), 1);
    // Counters: `_total` off the TYPE line, on the samples.
    assert!(stdout.contains("# TYPE feishu_vc_quality_poor_minute_samples counter\n"));
    assert!(!stdout.contains("# TYPE feishu_vc_quality_poor_minute_samples_total"));
    // Quality minutes 09:00 and 09:01 (+08:00) are 01:00 and 01:01 UTC on 2022-07-21.
    let poor = "feishu_vc_quality_poor_minute_samples_total{media=\"audio\",reason=\"latency\"}";
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with(poor)).collect();
    assert!(
        lines.contains(&format!("{poor} 0 1658365200").as_str()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!("{poor} 1 1658365260").as_str()),
        "{lines:?}"
    );
    // Every sample carries a timestamp, and each series' timestamps increase.
    let mut last: std::collections::HashMap<&str, i64> = Default::default();
    for line in stdout.lines().filter(|l| !l.starts_with('#')) {
        let (series, rest) = line.rsplit_once('}').map_or_else(
            || line.split_once(' ').unwrap(),
            |(series, rest)| (series, rest),
        );
        let fields: Vec<&str> = rest.split_whitespace().collect();
        assert_eq!(fields.len(), 2, "{line}");
        let time: i64 = fields[1].parse().unwrap();
        if let Some(before) = last.insert(series, time) {
            assert!(time > before, "{line}");
        }
    }
    // Same totals at the end as the plain exposition.
    let final_value = |series: &str| {
        stdout
            .lines()
            .rfind(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .map(|l| l.split_whitespace().nth(1).unwrap().to_owned())
    };
    assert_eq!(
        final_value("feishu_vc_meetings_total").as_deref(),
        Some("3")
    );

    let om = dir.path().join("data.om");
    std::fs::write(&om, &stdout).unwrap();
    let blocks = dir.path().join("blocks");
    promtool::create_blocks(&om, &blocks);
    let block_dirs: Vec<_> = std::fs::read_dir(&blocks)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("meta.json").exists())
        .collect();
    assert!(!block_dirs.is_empty(), "no block written");
    let out = process::run(
        Command::new("promtool")
            .args(["tsdb", "analyze"])
            .arg(&blocks),
    )
    .unwrap();
    let analysis = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{analysis}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        analysis.contains("feishu_vc_quality_poor_minute_samples_total"),
        "{analysis}"
    );
}

#[test]
fn openmetrics_names_a_bad_file_and_still_prints_the_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let good = meeting_file(dir.path());
    let bad = dir.path().join("export.xlsx");
    std::fs::write(&bad, "not a workbook").unwrap();
    let out = process::run(
        Command::new(env!("CARGO_BIN_EXE_feishu-vc-exporter"))
            .args(["ingest", "--format", "openmetrics"])
            .args([&good, &bad]),
    )
    .expect("run the binary");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(&bad.display().to_string()), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.ends_with("# EOF\n"));
    let last = stdout
        .lines()
        .rfind(|l| l.starts_with("feishu_vc_meetings_total "))
        .unwrap();
    assert_eq!(last.split_whitespace().nth(1), Some("3"), "{last}");
}
