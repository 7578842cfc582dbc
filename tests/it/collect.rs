//! The real loop against the real simulator over loopback HTTP: totals must equal the
//! simulator's ground truth exactly, with and without faults, across cycles and restarts.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use feishu_vc_exporter::collect::state::State;
use feishu_vc_exporter::collect::{Collector, RoomsSettings, Settings};
use feishu_vc_exporter::feishu::{ClientOptions, Credentials, PollOptions, UserIdType};
use feishu_vc_exporter::metrics::{Metrics, MetricsOptions};
use feishu_vc_exporter::secret::Secret;
use feishu_vc_exporter::simulator::{
    endpoint, Clock, Faults, ManualClock, SimMeeting, Simulator, SimulatorHandle, SimulatorOptions,
    Stats, Tenant, DEMO_APP_ID, DEMO_APP_SECRET, ROOT_LEVEL_ID,
};
use feishu_vc_exporter::status::StatusBoard;

/// Wednesday 2026-11-18 18:00 +08:00: a working day's meetings lie behind it.
const T: i64 = 1_794_996_000;
const LOOKBACK: i64 = 3 * 3600;
const SEED: u64 = 7;

struct Rig {
    sim: SimulatorHandle,
    clock: ManualClock,
    dir: tempfile::TempDir,
}

impl Rig {
    /// `task_delay`: how long every export task takes (drawn from the range).
    async fn start(faults: Faults, token_ttl: Duration, task_delay: (Duration, Duration)) -> Self {
        let clock = ManualClock::new(T);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = Simulator::start(
            listener,
            SimulatorOptions {
                seed: SEED,
                requests_per_minute: 0,
                token_ttl,
                task_delay,
                faults,
                clock: Clock::Manual(clock.clone()),
                ..SimulatorOptions::default()
            },
        )
        .await;
        Self {
            sim,
            clock,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn state_path(&self) -> std::path::PathBuf {
        self.dir.path().join("state.json")
    }

    /// A collector with fresh metrics, resuming from the state file if there is one.
    fn collector(&self) -> (Collector, Arc<Metrics>, prometheus::Registry) {
        let registry = prometheus::Registry::new();
        let metrics = Arc::new(Metrics::with_registry(
            registry.clone(),
            MetricsOptions::default(),
        ));
        let mut options = ClientOptions::new(
            url::Url::parse(&self.sim.base_url()).unwrap(),
            Credentials::App {
                app_id: DEMO_APP_ID.into(),
                app_secret: Secret::new(DEMO_APP_SECRET),
            },
        );
        options.requests_per_minute = 60_000;
        options.retry.max_retries = 6;
        options.user_id_type = UserIdType::OpenId;
        let settings = Settings {
            interval: Duration::from_secs(60),
            lookback: Duration::from_secs(LOOKBACK as u64),
            quality_max_per_cycle: 100_000,
            rooms: Some(RoomsSettings {
                room_level_id: ROOT_LEVEL_ID.into(),
                room_ids: vec![],
                exclude: false,
            }),
            poll: PollOptions {
                initial_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(50),
                timeout: Duration::from_secs(20),
            },
            clock: Clock::Manual(self.clock.clone()),
            ..Settings::new(self.state_path())
        };
        let state = State::load(&self.state_path()).unwrap();
        let collector = Collector::build(
            options,
            settings,
            metrics.clone(),
            state,
            Arc::new(StatusBoard::new()),
            &registry,
        )
        .unwrap();
        (collector, metrics, registry)
    }
}

/// What the exporter should have counted after cycles at `nows`.
#[derive(Debug, Default, PartialEq)]
struct Totals {
    meetings: u64,
    sessions: u64,
    quality_minutes: u64,
    bookings: u64,
}

fn truth(tenant: &Tenant, nows: &[i64]) -> Totals {
    let mut meetings: BTreeMap<String, SimMeeting> = BTreeMap::new();
    let mut bookings = BTreeMap::new();
    for &now in nows {
        for m in tenant.meetings_started_between(now - LOOKBACK, now) {
            if m.end <= now {
                meetings.insert(m.meeting_no.clone(), m);
            }
        }
        for b in tenant.bookings_between(ROOT_LEVEL_ID, now - LOOKBACK, now) {
            if b.end <= now {
                bookings.insert((b.room_id.clone(), b.start), b);
            }
        }
    }
    let sessions = meetings.values().map(|m| m.participants.len() as u64).sum();
    let quality_minutes = meetings
        .values()
        .flat_map(|m| &m.participants)
        .map(|p| p.quality_minute_times().count() as u64)
        .sum();
    Totals {
        meetings: meetings.len() as u64,
        sessions,
        quality_minutes,
        bookings: bookings.len() as u64,
    }
}

fn counted(registry: &prometheus::Registry) -> Totals {
    let families = registry.gather();
    let sum = |name: &str| -> u64 {
        families
            .iter()
            .filter(|f| f.name() == name)
            .flat_map(|f| f.get_metric().iter().map(move |m| (f, m)))
            .map(|(f, m)| match f.get_field_type() {
                prometheus::proto::MetricType::HISTOGRAM => {
                    m.get_histogram().get_sample_count() as f64
                }
                _ => m.get_counter().get_value(),
            })
            .sum::<f64>() as u64
    };
    Totals {
        meetings: sum("feishu_vc_meetings_total"),
        sessions: sum("feishu_vc_participant_sessions_total"),
        quality_minutes: sum("feishu_vc_quality_client_cpu_ratio"),
        bookings: sum("feishu_vc_room_reservations_total"),
    }
}

/// The simulator's export tasks finish at once.
const NO_DELAY: (Duration, Duration) = (Duration::ZERO, Duration::ZERO);

/// Between `before` and `after`, each export task took exactly a create, a poll and a
/// download, and nothing else was called (no token, no retry).
fn assert_exports_only(after: &Stats, before: &Stats) {
    let delta = |f: &dyn Fn(&Stats) -> u64| f(after) - f(before);
    let created = delta(&|s| s.total_tasks_created());
    assert_eq!(delta(&|s| s.calls(endpoint::POLL)), created, "{after:?}");
    assert_eq!(
        delta(&|s| s.calls(endpoint::DOWNLOAD)),
        created,
        "{after:?}"
    );
    assert_eq!(
        delta(&|s| s.total_calls()) - delta(&|s| s.calls(endpoint::TOKEN)),
        3 * created,
        "{after:?}"
    );
}

/// Cycles at `now` until no work is left over (faults leave some for the next cycle).
async fn drain(collector: &Collector, now: i64, state_path: &Path) -> usize {
    for cycle in 1..=12 {
        let report = collector.cycle(now).await;
        collector.save().await.unwrap();
        let state = State::load(state_path).unwrap();
        if report.tasks_failed == 0
            && state.pending_participants.is_empty()
            && state.quality_backlog.is_empty()
        {
            return cycle;
        }
    }
    panic!("work left after 12 cycles");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_totals_once_across_cycles_and_restarts() {
    // Tasks are done when created: every export is one create, one poll and one download,
    // whatever the machine's load, so the calls can be counted exactly.
    let rig = Rig::start(Faults::default(), Duration::from_secs(7200), NO_DELAY).await;
    let expected = truth(rig.sim.tenant(), &[T]);
    assert!(
        expected.meetings >= 5 && expected.quality_minutes > 100 && expected.bookings > 0,
        "{expected:?}"
    );

    let (collector, _metrics, registry) = rig.collector();
    let report = collector.cycle(T).await;
    assert!(report.up, "{report:?}");
    assert_eq!(report.tasks_failed, 0);
    assert_eq!(counted(&registry), expected);
    // Ended and ongoing meetings and the bookings, a participant list per ended meeting and a
    // quality export per session; one token for all.
    let first = rig.sim.stats();
    assert_eq!(
        first.total_tasks_created(),
        3 + expected.meetings + expected.sessions,
        "{first:?}"
    );
    assert_eq!(first.calls(endpoint::TOKEN), 1, "{first:?}");
    assert_exports_only(&first, &Stats::default());

    // The same window again: everything is known, nothing counts twice, and only the three
    // window exports are made again.
    collector.cycle(T).await;
    assert_eq!(counted(&registry), expected);
    let repeat = rig.sim.stats();
    assert_eq!(
        repeat.total_tasks_created() - first.total_tasks_created(),
        3,
        "a repeat cycle re-exports only the windows: {repeat:?}"
    );
    assert_exports_only(&repeat, &first);

    // Half an hour later: the meetings that ended since are added, once.
    rig.clock.advance(Duration::from_secs(1800));
    let later = T + 1800;
    collector.cycle(later).await;
    assert_eq!(counted(&registry), truth(rig.sim.tenant(), &[T, later]));
    collector.save().await.unwrap();

    // A restart with the state file: fresh metrics, nothing re-counted, nothing forgotten.
    drop(collector);
    let (restarted, _metrics, registry) = rig.collector();
    restarted.cycle(later).await;
    assert_eq!(counted(&registry), Totals::default());
    rig.clock.advance(Duration::from_secs(1800));
    let latest = later + 1800;
    restarted.cycle(latest).await;
    let all = truth(rig.sim.tenant(), &[T, later, latest]);
    let before = truth(rig.sim.tenant(), &[T, later]);
    assert_eq!(
        counted(&registry),
        Totals {
            meetings: all.meetings - before.meetings,
            sessions: all.sessions - before.sessions,
            quality_minutes: all.quality_minutes - before.quality_minutes,
            bookings: all.bookings - before.bookings,
        }
    );
    rig.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_totals_despite_faults_and_expiring_tokens() {
    let faults = Faults {
        error_rate: 0.05,
        failed_task_rate: 0.1,
        truncated_download_rate: 0.1,
        slow_task_rate: 0.0,
    };
    let rig = Rig::start(
        faults,
        Duration::from_secs(3),
        (Duration::from_millis(5), Duration::from_millis(30)),
    )
    .await;
    let (collector, _metrics, registry) = rig.collector();
    let cycles = drain(&collector, T, &rig.state_path()).await;
    assert!(cycles > 1, "faults should have left work for a later cycle");
    assert_eq!(counted(&registry), truth(rig.sim.tenant(), &[T]));
    let stats = rig.sim.stats();
    assert!(
        stats.truncated_downloads > 0 && stats.failed_tasks > 0,
        "{stats:?}"
    );
    rig.sim.shutdown().await;
}
