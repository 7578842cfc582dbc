//! `backfill` end to end: the binary pulls an hour from the simulator over HTTP, is stopped
//! half way and resumed, and its OpenMetrics output goes through
//! `promtool tsdb create-blocks-from openmetrics` into a real Prometheus, which must answer
//! the simulator's ground truth.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use chrono::{Datelike, Duration as Days, FixedOffset, TimeZone, Weekday};
use feishu_vc_exporter::simulator::{Faults, Simulator, SimulatorHandle, SimulatorOptions, Tenant};

use crate::support::clock::{simulator_clock, test_now};
use crate::support::process::{free_port, run, wait_until, Process};
use crate::support::promtool;

const SEED: u64 = 11;
const JOB: &str = "feishu-vc-backfill-test";

/// 10:00–11:00 (+08:00) of the last weekday at least two days before the tests' "now" (the
/// simulator's): a busy, finished hour.
fn busy_hour() -> (i64, i64) {
    let tz = FixedOffset::east_opt(8 * 3600).unwrap();
    let now = chrono::DateTime::from_timestamp(test_now(), 0).unwrap();
    let mut day = now.with_timezone(&tz).date_naive() - Days::days(2);
    while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        day -= Days::days(1);
    }
    let from = tz
        .from_local_datetime(&day.and_hms_opt(10, 0, 0).unwrap())
        .unwrap()
        .timestamp();
    (from, from + 3600)
}

/// What the exporter must count for `[from, to)`: meetings ending in it, sessions leaving in
/// it, and quality minutes in it, of the meetings that start in it.
fn ground_truth(from: i64, to: i64) -> (u64, u64, u64) {
    let tenant = Tenant::new(SEED);
    let meetings = tenant.meetings_started_between(from, to);
    let in_range = |t: i64| (from..to).contains(&t);
    let ended = meetings.iter().filter(|m| in_range(m.end)).count() as u64;
    let sessions = meetings
        .iter()
        .flat_map(|m| &m.participants)
        .filter(|p| in_range(p.leave))
        .count() as u64;
    let minutes = meetings
        .iter()
        .flat_map(|m| &m.participants)
        .flat_map(|p| p.quality_minute_times())
        .filter(|t| in_range(*t))
        .count() as u64;
    (ended, sessions, minutes)
}

fn start_simulator(runtime: &tokio::runtime::Runtime, faults: Faults) -> SimulatorHandle {
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Simulator::start(
            listener,
            SimulatorOptions {
                seed: SEED,
                task_delay: (Duration::from_millis(5), Duration::from_millis(40)),
                faults,
                clock: simulator_clock(test_now()),
                ..SimulatorOptions::default()
            },
        )
        .await
    })
}

/// A configuration for the simulator at `base_url`, as fast as the client allows.
fn write_config(dir: &Path, base_url: &str) -> PathBuf {
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "feishu:\n  base_url: {base_url}/\n  requests_per_minute: 100\n\
             collect:\n  concurrency: 8\n  poll: {{initial_delay: 50ms, max_delay: 500ms, timeout: 60s}}\n\
             state:\n  path: {}\n",
            dir.join("serve.state.json").display()
        ),
    )
    .unwrap();
    config
}

fn backfill(config: &Path, range: (i64, i64), output: &Path, resume: bool) -> Command {
    let time = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339();
    let mut command = Command::new(env!("CARGO_BIN_EXE_feishu-vc-exporter"));
    command
        .args(["backfill", "--config"])
        .arg(config)
        .args(["--from", &time(range.0), "--to", &time(range.1), "--output"])
        .arg(output)
        .args([
            "--label",
            &format!("job={JOB}"),
            "--label",
            "instance=test:9",
        ])
        .env("FEISHU_APP_ID", "cli_demo")
        .env("FEISHU_APP_SECRET", "demo-secret")
        .env_remove("RUST_LOG");
    if resume {
        command.arg("--resume");
    }
    command
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The last value of every series starting with `prefix` (a name and `{`, perhaps some
/// labels) in an OpenMetrics text, summed.
fn final_sum(om: &str, prefix: &str) -> f64 {
    let mut last: BTreeMap<&str, f64> = BTreeMap::new();
    for line in om.lines().filter(|l| l.starts_with(prefix)) {
        let mut fields = line.rsplitn(3, ' ');
        let (_time, value, series) = (fields.next(), fields.next(), fields.next());
        if let (Some(value), Some(series)) = (value, series) {
            last.insert(series, value.parse().unwrap());
        }
    }
    last.values().sum()
}

/// The output's final meeting, session and quality row totals are `expected`.
fn assert_totals(om: &str, (meetings, sessions, minutes): (u64, u64, u64)) {
    let total = |prefix| final_sum(om, prefix);
    assert_eq!(total("feishu_vc_meetings_total{"), meetings as f64);
    assert_eq!(
        total("feishu_vc_participant_sessions_total{"),
        sessions as f64
    );
    let quality_rows = "feishu_vc_export_rows_total{kind=\"participant_quality_list\"";
    assert_eq!(total(quality_rows), minutes as f64);
}

fn query(port: u16, expr: &str, time: i64) -> Option<f64> {
    let url = format!("http://127.0.0.1:{port}/api/v1/query");
    let body: serde_json::Value = reqwest::blocking::Client::new()
        .get(url)
        .query(&[("query", expr), ("time", &time.to_string())])
        .send()
        .ok()?
        .json()
        .ok()?;
    body["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

#[test]
fn backfill_resumes_after_a_stop_and_loads_into_prometheus_with_the_ground_truth() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let simulator = start_simulator(&runtime, Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &simulator.base_url());
    let range = busy_hour();
    let (meetings, sessions, minutes) = ground_truth(range.0, range.1);
    assert!(
        meetings > 0 && minutes > 100,
        "a quiet hour: {meetings} meetings"
    );
    let output: PathBuf = dir.path().join("history.om");
    let state = dir.path().join("history.om.backfill-state.json");
    let journal = dir.path().join("history.om.backfill-journal.gz");

    // Stopped once the participant lists are in and quality exports are under way.
    let child = Process::spawn(
        backfill(&config, range, &output, false)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    wait_until("quality exports queued", Duration::from_secs(120), || {
        let checkpoint: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&state).ok()?).ok()?;
        let backlog = checkpoint["collect"]["quality_backlog"].as_array()?.len();
        (backlog > 0).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    child.signal(libc::SIGINT);
    let stopped = child.output_within(Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    assert!(!output.exists(), "no output before the range is done");
    assert!(state.exists() && journal.exists());

    // Without --resume the interrupted work is not overwritten.
    let refused = run(&mut backfill(&config, range, &output, false)).unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("history.om.backfill-state.json"),
        "{}",
        text(&refused)
    );
    // Nor is it mixed up with another range.
    let other = run(&mut backfill(
        &config,
        (range.0, range.1 + 60),
        &output,
        true,
    ))
    .unwrap();
    assert_eq!(other.status.code(), Some(1), "{}", text(&other));

    let resumed = run(&mut backfill(&config, range, &output, true)).unwrap();
    assert!(resumed.status.success(), "{}", text(&resumed));
    assert!(
        !state.exists() && !journal.exists(),
        "work files left behind"
    );
    let summary = String::from_utf8_lossy(&resumed.stderr);
    assert!(summary.contains("backfill done"), "{summary}");
    // Quiet when not a terminal: no progress bar drawing.
    assert!(
        !summary.contains('\r') && !summary.contains('\u{1b}'),
        "{summary}"
    );

    // Exactly the ground truth, although the first run was stopped half way.
    let om = std::fs::read_to_string(&output).unwrap();
    assert!(om.ends_with("# EOF\n"));
    assert_totals(&om, (meetings, sessions, minutes));
    // Every sample is in the range, and carries the extra labels.
    for line in om.lines().filter(|l| !l.starts_with('#')) {
        let time: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!((range.0..range.1).contains(&time), "{line}");
        assert!(
            line.contains(&format!("job=\"{JOB}\",instance=\"test:9\"")),
            "{line}"
        );
    }
    // No personal data from the exports reaches the output.
    let tenant = Tenant::new(SEED);
    let people = tenant
        .meetings_started_between(range.0, range.1)
        .into_iter()
        .flat_map(|m| m.participants)
        // Room devices take part under the room's name, which is a label on purpose.
        .filter(|p| p.room_id.is_none())
        .map(|p| p.person);
    for person in people {
        for personal in [
            &person.name,
            &person.open_id,
            &person.user_id,
            &person.email,
        ] {
            assert!(
                personal.is_empty() || !om.contains(personal.as_str()),
                "personal data in the output"
            );
        }
    }

    // promtool turns it into blocks; a real Prometheus opened on them answers the totals.
    let data = dir.path().join("data");
    promtool::create_blocks(&output, &data);
    let prometheus_config = dir.path().join("prometheus.yml");
    std::fs::write(&prometheus_config, "scrape_configs: []\n").unwrap();
    let port = free_port();
    let _prometheus = Process::spawn(
        Command::new("prometheus")
            .arg(format!("--config.file={}", prometheus_config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .expect("prometheus is not installed: run the README's test command (bash .ci/run)");
    let at = range.1 - 60;
    let selector = format!("{{job=\"{JOB}\",instance=\"test:9\"}}");
    let answered = wait_until("Prometheus answers", Duration::from_secs(60), || {
        query(
            port,
            &format!("sum(feishu_vc_meetings_total{selector})"),
            at,
        )
    });
    assert_eq!(answered, meetings as f64);
    let rows = format!(
        "sum(feishu_vc_export_rows_total{{job=\"{JOB}\",kind=\"participant_quality_list\"}})"
    );
    assert_eq!(query(port, &rows, at), Some(minutes as f64));
    // And rate() works over the backfilled range: some quality rows per second in the hour.
    let rate = format!(
        "sum(increase(feishu_vc_export_rows_total{{job=\"{JOB}\",kind=\"participant_quality_list\"}}[50m]))"
    );
    assert!(query(port, &rate, at).is_some_and(|v| v > 0.0));
    runtime.block_on(simulator.shutdown());
}

/// Server errors, failed tasks and truncated downloads are retried until every export is in:
/// the totals are still exactly the ground truth.
#[test]
fn backfill_through_faults_counts_exactly_the_ground_truth() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let simulator = start_simulator(
        &runtime,
        Faults {
            error_rate: 0.05,
            failed_task_rate: 0.1,
            truncated_download_rate: 0.1,
            slow_task_rate: 0.0,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &simulator.base_url());
    // Twenty minutes (the client's 100 calls a minute bound the test's time) after the busy
    // hour, the first from 11:00 on in which sessions end and quality minutes lie.
    let range = (0..21)
        .map(|i| busy_hour().1 + i * 1200)
        .map(|from| (from, from + 1200))
        .find(|&(from, to)| {
            let (_, sessions, minutes) = ground_truth(from, to);
            sessions > 0 && minutes > 0
        })
        .expect("twenty minutes with sessions ending in them between 11:00 and 18:00");
    let (meetings, sessions, minutes) = ground_truth(range.0, range.1);
    let output = dir.path().join("faults.om");
    let done = run(&mut backfill(&config, range, &output, false)).unwrap();
    assert!(done.status.success(), "{}", text(&done));
    let summary = String::from_utf8_lossy(&done.stderr);
    assert!(summary.contains("0 given up"), "{summary}");
    let om = std::fs::read_to_string(&output).unwrap();
    assert_totals(&om, (meetings, sessions, minutes));
    runtime.block_on(simulator.shutdown());
}
