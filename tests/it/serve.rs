//! `feishu-vc-exporter serve` as a user runs it: the real binary, real HTTP, real signals.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use feishu_vc_exporter::clock::DEMO_NOW_ENV;
use feishu_vc_exporter::simulator::{Simulator, SimulatorOptions, Tenant};

use crate::support::clock::{demo_env, simulator_clock, test_now};
use crate::support::demo::{self, DemoTruth};
use crate::support::process::{free_port, run, Process};
use crate::support::promtool;

const BIN: &str = env!("CARGO_BIN_EXE_feishu-vc-exporter");

/// `serve` on a free port; killed and reaped when dropped (see [`Process`]).
struct Exporter {
    process: Process,
    port: u16,
}

impl Exporter {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let process = Process::spawn(
            Command::new(BIN)
                .args(args)
                .args(["--web.listen-address", &address])
                .env_remove("RUST_LOG")
                .env_remove("FEISHU_APP_SECRET")
                .env_remove(DEMO_NOW_ENV)
                .envs(env.iter().copied())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        )
        .unwrap();
        Self { process, port }
    }

    fn get(&self, path: &str) -> Option<String> {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let response = reqwest::blocking::get(url).ok()?;
        response
            .status()
            .is_success()
            .then(|| response.text().ok())
            .flatten()
    }

    /// Polls `path` until `ready` holds, for at most `limit`.
    fn wait_for(&self, path: &str, limit: Duration, ready: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            if let Some(body) = self.get(path) {
                if ready(&body) {
                    return body;
                }
            }
            assert!(
                started.elapsed() < limit,
                "{path} not ready after {limit:?}; the exporter logged:\n{}",
                self.process.stderr_so_far()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// SIGTERM, then the exit status (within 8 s) and everything logged.
    fn stop(self) -> (std::process::ExitStatus, String) {
        self.process.signal(libc::SIGTERM);
        let out = self.process.output_within(Duration::from_secs(8));
        (
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The sum of the series starting with `prefix` (a name and `{`).
fn sum(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Names, e-mails and phones of the simulated tenant: none may appear anywhere.
fn personal_data() -> Vec<String> {
    let tenant = Tenant::new(SimulatorOptions::default().seed);
    tenant
        .users()
        .iter()
        .flat_map(|u| {
            [
                u.name.clone(),
                u.email.clone(),
                u.phone.clone(),
                u.open_id.clone(),
            ]
        })
        .collect()
}

/// Every family of the catalogue that the demo feeds, whatever the hour: the tenant has a
/// meeting every hour. The families with a `room` label ([`demo::ROOM_FAMILIES`]) need an
/// ended booking in the lookback, which nights and weekends may not have.
const CATALOGUE: &[&str] = &[
    "feishu_vc_meetings_total",
    "feishu_vc_meeting_duration_seconds",
    "feishu_vc_meeting_participants",
    "feishu_vc_meeting_feature_usage_total",
    "feishu_vc_meetings_in_progress",
    "feishu_vc_meeting_participants_in_progress",
    "feishu_vc_participant_sessions_total",
    "feishu_vc_participant_session_duration_seconds",
    "feishu_vc_participant_leaves_total",
    "feishu_vc_participant_rtc_proxy_sessions_total",
    "feishu_vc_participant_client_versions_total",
    "feishu_vc_quality_latency_seconds",
    "feishu_vc_quality_jitter_seconds",
    "feishu_vc_quality_packet_loss_ratio",
    "feishu_vc_quality_packet_loss_peak_ratio",
    "feishu_vc_quality_bitrate_bytes_per_second",
    "feishu_vc_quality_client_cpu_ratio",
    "feishu_vc_quality_client_cpu_peak_ratio",
    "feishu_vc_quality_system_cpu_peak_ratio",
    "feishu_vc_room_check_in_devices_total",
    "feishu_vc_room_check_in_delay_seconds",
    "feishu_vc_up",
    "feishu_vc_exporter_build_info",
    "feishu_vc_export_tasks_total",
    "feishu_vc_export_task_duration_seconds",
    "feishu_vc_export_last_success_timestamp_seconds",
    "feishu_vc_export_rows_total",
    "feishu_vc_api_requests_total",
    "feishu_vc_data_newest_timestamp_seconds",
    "feishu_vc_quality_backlog_participants",
    "process_resident_memory_bytes",
];

#[test]
fn demo_serves_the_whole_catalogue_then_stops_cleanly() {
    let now = test_now();
    let truth = DemoTruth::at(now);
    assert!(
        truth.certain.sessions > 0,
        "every hour of the tenant has a meeting, so a lookback has sessions: {truth:?}"
    );
    let (key, pinned) = demo_env(now);
    let exporter = Exporter::start(&["serve", "--demo"], &[(key, &pinned)]);
    // Healthy (HTTP 200) as soon as it listens, long before the first cycle is done.
    exporter.wait_for("/-/healthy", Duration::from_secs(20), |_| true);
    // A quality export done: the meeting, room and participant exports of the first cycle
    // (phases 1 and 2) are counted.
    let metrics = exporter.wait_for("/metrics", Duration::from_secs(90), |body| {
        value(
            body,
            "feishu_vc_export_tasks_total{kind=\"participant_quality_list\",result=\"success\"}",
        )
        .is_some_and(|n| n > 0.0)
    });
    for family in CATALOGUE {
        assert!(
            metrics.contains(&format!("# TYPE {family} ")),
            "{family} missing from /metrics at {now}"
        );
    }
    assert!(value(&metrics, "feishu_vc_quality_client_cpu_ratio_count").unwrap() > 0.0);
    let within = |what: &str, got: f64, low: u64, high: u64| {
        assert!(
            (low as f64..=high as f64).contains(&got),
            "{what} at {now}: {got}, the ground truth says {low}..={high} ({truth:?})"
        );
    };
    within(
        "meetings",
        value(&metrics, "feishu_vc_meetings_total").unwrap(),
        truth.certain.meetings,
        truth.possible.meetings,
    );
    within(
        "sessions",
        sum(&metrics, "feishu_vc_participant_sessions_total{"),
        truth.certain.sessions,
        truth.possible.sessions,
    );
    within(
        "ended bookings",
        sum(&metrics, "feishu_vc_room_reservations_total{"),
        truth.certain.bookings,
        truth.possible.bookings,
    );
    let check_ins: BTreeSet<&str> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("feishu_vc_room_check_ins_total{"))
        .filter_map(|l| l.split("status=\"").nth(1)?.split('"').next())
        .collect();
    assert!(
        check_ins.is_superset(&truth.certain.check_ins)
            && check_ins.is_subset(&truth.possible.check_ins),
        "check-in statuses at {now}: {check_ins:?} ({truth:?})"
    );
    if let Some(expected) = truth.room_families() {
        for family in demo::ROOM_FAMILIES {
            assert_eq!(
                metrics.contains(&format!("# TYPE {family} ")),
                expected,
                "{family} at {now} ({truth:?})"
            );
        }
    }
    assert!(exporter.get("/-/ready").is_some());
    let page = exporter.get("/").unwrap();
    for kind in [
        "meeting_list",
        "participant_list",
        "participant_quality_list",
        "resource_reservation_list",
    ] {
        assert!(page.contains(kind), "status page lacks {kind}");
    }
    let (status, log) = exporter.stop();
    assert!(status.success(), "exit {status:?}: {log}");
    for personal in personal_data() {
        assert!(!metrics.contains(&personal), "{personal} in /metrics");
        assert!(!page.contains(&personal), "{personal} on the status page");
        assert!(!log.contains(&personal), "{personal} in the log");
    }
    assert!(!log.contains("demo-secret"), "the secret was logged");
    promtool::check_metrics(&metrics);
}

#[test]
fn wrong_credentials_are_reported_not_retried_and_never_printed() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let options = SimulatorOptions {
            clock: simulator_clock(test_now()),
            ..SimulatorOptions::default()
        };
        Simulator::start(listener, options).await
    });
    let secret = "not-the-secret-4f1c9a";
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            // One cycle during the test: the token calls are that cycle's.
            "state:\n  path: {}\ncollect:\n  interval: 1h\n",
            state.display()
        ),
    )
    .unwrap();
    let exporter = Exporter::start(
        &["serve", "--config", config.to_str().unwrap()],
        &[
            ("FEISHU_APP_ID", "cli_demo"),
            ("FEISHU_APP_SECRET", secret),
            ("FEISHU_BASE_URL", &sim.base_url()),
        ],
    );
    // The first cycle is over (its duration is set at its end).
    let metrics = exporter.wait_for("/metrics", Duration::from_secs(30), |body| {
        value(body, "feishu_vc_collection_cycle_duration_seconds").is_some_and(|s| s > 0.0)
    });
    assert_eq!(value(&metrics, "feishu_vc_up"), Some(0.0));
    let failed = value(
        &metrics,
        "feishu_vc_export_tasks_total{kind=\"meeting_list\",result=\"error\"}",
    );
    // Phase 1's two meeting exports (ended, in progress); nothing after a permanent error.
    assert_eq!(failed, Some(2.0), "{metrics}");
    let page = exporter.get("/").unwrap();
    assert!(
        page.contains("10014") || page.contains("99991543"),
        "the status page names the error code"
    );
    let stats = sim.stats();
    let token_calls = stats.calls(feishu_vc_exporter::simulator::endpoint::TOKEN);
    assert_eq!(
        token_calls, 2,
        "a credentials error is not retried: one token call per failed export"
    );
    assert_eq!(stats.total_calls(), token_calls, "{stats:?}");
    let (status, log) = exporter.stop();
    assert!(status.success());
    for place in [&metrics, &page, &log] {
        assert!(!place.contains(secret), "the secret leaked");
    }
    runtime.block_on(sim.shutdown());
}

#[test]
fn a_bad_config_exits_2_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(&config, "collect:\n  intervall: 5m\n").unwrap();
    let out = run(Command::new(BIN).args(["serve", "--config", config.to_str().unwrap()])).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("collect.intervall"), "{stderr}");

    std::fs::write(&config, "collect:\n  interval: 5m\n").unwrap();
    let out = run(Command::new(BIN)
        .args(["serve", "--config", config.to_str().unwrap()])
        .env_remove("FEISHU_APP_ID")
        .env_remove("FEISHU_APP_SECRET")
        .env_remove("FEISHU_USER_ACCESS_TOKEN"))
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("feishu.app_id") || stderr.contains("FEISHU_APP_ID"),
        "{stderr}"
    );
}

#[test]
fn a_bad_pinned_demo_clock_exits_2_naming_the_variable() {
    for command in [&["serve", "--demo"][..], &["simulate"][..]] {
        let out = run(Command::new(BIN)
            .args(command)
            .env(DEMO_NOW_ENV, "next tuesday"))
        .unwrap();
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(DEMO_NOW_ENV) && stderr.contains("RFC 3339"),
            "{stderr}"
        );
    }
}

#[test]
fn a_corrupt_state_file_is_an_error_not_a_silent_reset() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, "{half a file").unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(&config, format!("state:\n  path: {}\n", state.display())).unwrap();
    let out = run(Command::new(BIN)
        .args([
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--web.listen-address",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .env("FEISHU_APP_ID", "cli_x")
        .env("FEISHU_APP_SECRET", "x")
        .env("FEISHU_BASE_URL", "http://127.0.0.1:9"))
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("state.json") && stderr.contains("corrupt"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{half a file",
        "the file was left alone"
    );
}
