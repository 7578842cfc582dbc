//! `cargo bench --bench collect`: how frugal and how fast the loop is against the simulator.
//!
//! 1. API calls per export task (create + polls + download) with the default poll settings and
//!    the default 90/min client limit against the simulator's 100/min limit and 1–4 s tasks;
//!    and how many 429s that drew.
//! 2. Draining a quality backlog with every limit at R requests per minute (`BENCH_RPM`,
//!    default 60): the export rate achieved, as a share of R.

use std::sync::Arc;
use std::time::{Duration, Instant};

use feishu_vc_exporter::collect::state::State;
use feishu_vc_exporter::collect::{Collector, RoomsSettings, Settings};
use feishu_vc_exporter::feishu::{ClientOptions, Credentials};
use feishu_vc_exporter::metrics::{Metrics, MetricsOptions};
use feishu_vc_exporter::secret::Secret;
use feishu_vc_exporter::simulator::{
    endpoint, Clock, ManualClock, Simulator, SimulatorOptions, DEMO_APP_ID, DEMO_APP_SECRET,
    ROOT_LEVEL_ID,
};
use feishu_vc_exporter::status::StatusBoard;

/// Wednesday 2026-11-18 18:00 +08:00.
const T: i64 = 1_794_996_000;

fn collector(
    base_url: &str,
    rpm: u32,
    concurrency: usize,
    quality_per_cycle: usize,
    lookback_hours: u64,
    state: &std::path::Path,
) -> Collector {
    let registry = prometheus::Registry::new();
    let metrics = Arc::new(Metrics::with_registry(
        registry.clone(),
        MetricsOptions::default(),
    ));
    let mut options = ClientOptions::new(
        url::Url::parse(base_url).unwrap(),
        Credentials::App {
            app_id: DEMO_APP_ID.into(),
            app_secret: Secret::new(DEMO_APP_SECRET),
        },
    );
    options.requests_per_minute = rpm;
    let settings = Settings {
        lookback: Duration::from_secs(lookback_hours * 3600),
        concurrency,
        quality_max_per_cycle: quality_per_cycle,
        rooms: Some(RoomsSettings {
            room_level_id: ROOT_LEVEL_ID.into(),
            room_ids: vec![],
            exclude: false,
        }),
        // The cycles are given their "now" (T) explicitly.
        clock: Clock::Fixed(T),
        ..Settings::new(state.to_owned())
    };
    Collector::build(
        options,
        settings,
        metrics,
        State::load(state).unwrap(),
        Arc::new(StatusBoard::new()),
        &registry,
    )
    .unwrap()
}

async fn simulator(rpm: u32) -> feishu_vc_exporter::simulator::SimulatorHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = SimulatorOptions {
        seed: 7,
        requests_per_minute: rpm,
        clock: Clock::Manual(ManualClock::new(T)),
        ..SimulatorOptions::default()
    };
    Simulator::start(listener, options).await
}

fn export_calls(stats: &feishu_vc_exporter::simulator::Stats) -> u64 {
    [
        endpoint::MEETING_LIST,
        endpoint::PARTICIPANT_LIST,
        endpoint::PARTICIPANT_QUALITY_LIST,
        endpoint::RESOURCE_RESERVATION_LIST,
        endpoint::POLL,
        endpoint::DOWNLOAD,
    ]
    .iter()
    .map(|e| stats.calls(e))
    .sum()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();

    // 1. Calls per task at the defaults: 90/min client, 100/min simulator, 2 s first poll.
    let sim = simulator(100).await;
    let c = collector(&sim.base_url(), 90, 4, 120, 6, &dir.path().join("one.json"));
    let started = Instant::now();
    let report = c.cycle(T).await;
    let stats = sim.stats();
    let tasks = stats.total_tasks_created();
    println!(
        "defaults: {tasks} export tasks in {:.0} s, {:.2} API calls per task (create + polls + download), {} answered 429, {} failed",
        started.elapsed().as_secs_f64(),
        export_calls(&stats) as f64 / tasks as f64,
        stats.total_rate_limited(),
        report.tasks_failed,
    );
    sim.shutdown().await;

    // 2. Backlog drain with every limit at R/min.
    let rpm: u32 = std::env::var("BENCH_RPM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let sim = simulator(rpm).await;
    let state = dir.path().join("drain.json");
    // Fill the backlog (meetings and participant lists), no quality exports yet; then let the
    // simulator's 60 s windows empty so the drain starts with the whole allowance.
    let fill = collector(&sim.base_url(), rpm, 16, 0, 24, &state);
    fill.cycle(T).await;
    fill.save().await.unwrap();
    tokio::time::sleep(Duration::from_secs(61)).await;
    let backlog = State::load(&state).unwrap().quality_backlog.len();
    let exports = backlog.min(3 * rpm as usize);
    let drain = collector(&sim.base_url(), rpm, 16, exports, 24, &state);
    let before = sim.stats();
    let started = Instant::now();
    let report = drain.cycle(T).await;
    let seconds = started.elapsed().as_secs_f64();
    let after = sim.stats();
    let done = report.quality_exports as f64;
    let rate = done / seconds * 60.0;
    println!(
        "drain at R={rpm}/min: {done} of {backlog} backlog exports in {seconds:.0} s = {rate:.1}/min = {:.0} % of R; {:.2} polls per export; {} answered 429",
        100.0 * rate / rpm as f64,
        (after.calls(endpoint::POLL) - before.calls(endpoint::POLL)) as f64 / done,
        after.total_rate_limited() - before.total_rate_limited(),
    );
    sim.shutdown().await;
}
