//! The collection loop (DESIGN.md section 3): decides what to export, asks [`feishu`] for the
//! bytes, hands them to [`sheet`] and feeds the new records to a [`RecordSink`] exactly once:
//! the live [`metrics`] for `serve`, a journal for [`backfill`].
//!
//! Each cycle runs three phases, each concurrent up to `collect.concurrency`:
//! 1. meetings (ended in the lookback; in progress, for the gauges) and room bookings;
//! 2. the participant list of every newly ended meeting;
//! 3. quality exports from the backlog, oldest first, up to `max_per_cycle`.
//!
//! [`Collector::run_task`] is the one place where a task is run, timed, counted and parsed;
//! the phases only say which request to make and what to do with its records.
//!
//! [`feishu`]: crate::feishu
//! [`sheet`]: crate::sheet
//! [`metrics`]: crate::metrics

pub mod backfill;
pub mod budget;
mod journal;
mod ledger;
pub mod state;
/// The status board's old path: it moved to [`crate::status`].
pub use crate::status;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::clock::{system_now, Clock};
use crate::feishu::{
    Client, ClientOptions, ErrorClass, ExportRequest, FeishuError, MeetingStatus, Participant,
    PollOptions,
};
use crate::metrics::{ExporterMetrics, Metrics, QualityContext};
use crate::sheet::{self, Export, ExportSink, Kind, ParseOptions, Record, Rejected, SheetError};
use crate::status::StatusBoard;

use budget::{Budget, Priority, CALLS_PER_EXPORT};
pub use ledger::CallLedger;
use state::{MeetingRef, QualityJob, State, StateError};

/// `collect.interval` unless told otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
/// The shortest `collect.interval` the configuration accepts.
pub const MIN_INTERVAL: Duration = Duration::from_secs(30);
/// `collect.lookback` unless told otherwise: a day.
pub const DEFAULT_LOOKBACK: Duration = Duration::from_secs(24 * 3600);
/// Export tasks in flight at once unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Quality exports per cycle unless told otherwise.
pub const DEFAULT_QUALITY_MAX_PER_CYCLE: u32 = 100;
/// The share of new participant sessions whose quality is exported, unless told otherwise.
pub const DEFAULT_QUALITY_SAMPLE_RATIO: f64 = 1.0;

/// A quality job that failed this often (not counting rate limits) is dropped.
pub(crate) const MAX_QUALITY_ATTEMPTS: u32 = 5;
/// The backlog never grows past this; the oldest jobs go first.
const MAX_QUALITY_BACKLOG: usize = 20_000;

/// Which room bookings to export: the rooms under a room-level node, all or some of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomsSettings {
    pub room_level_id: String,
    pub room_ids: Vec<String>,
    /// `room_ids` are excluded rather than selected.
    pub exclude: bool,
}

/// What the loop needs from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub interval: Duration,
    pub lookback: Duration,
    pub concurrency: usize,
    pub meetings_in_progress: bool,
    pub participants: bool,
    pub quality: bool,
    pub quality_max_per_cycle: usize,
    pub quality_sample_ratio: f64,
    /// `None` when room exports are off.
    pub rooms: Option<RoomsSettings>,
    pub poll: PollOptions,
    pub parse: ParseOptions,
    pub budget: Option<Budget>,
    pub state_path: PathBuf,
    /// The cycles' "now": the system clock, or in demo mode the simulator's.
    pub clock: Clock,
}

impl Settings {
    /// The defaults, keeping the state at `state_path`: no rooms, no budget, the system clock.
    pub fn new(state_path: PathBuf) -> Settings {
        Settings {
            interval: DEFAULT_INTERVAL,
            lookback: DEFAULT_LOOKBACK,
            concurrency: DEFAULT_CONCURRENCY,
            meetings_in_progress: true,
            participants: true,
            quality: true,
            quality_max_per_cycle: DEFAULT_QUALITY_MAX_PER_CYCLE as usize,
            quality_sample_ratio: DEFAULT_QUALITY_SAMPLE_RATIO,
            rooms: None,
            poll: PollOptions::default(),
            parse: ParseOptions::default(),
            budget: None,
            state_path,
            clock: Clock::System,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Feishu(#[from] FeishuError),
    #[error("the {expected} export returned a file that is not one: {source}")]
    Sheet { expected: Kind, source: SheetError },
    #[error("the {expected} export returned a {found} file")]
    WrongKind { expected: Kind, found: Kind },
    #[error("not started: the monthly call budget is paced")]
    Paced,
    #[error("parsing stopped: {0}")]
    Join(String),
}

impl TaskError {
    fn result_label(&self) -> &'static str {
        match self {
            TaskError::Feishu(FeishuError::TaskFailed { .. }) => "failed",
            TaskError::Feishu(e) if e.is_task_timeout() => "timeout",
            _ => "error",
        }
    }

    fn is_permanent(&self) -> bool {
        matches!(self, TaskError::Feishu(e) if e.is_permanent())
    }
}

/// What one cycle did, for the log line and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CycleReport {
    pub meetings: u64,
    pub sessions: u64,
    pub quality_exports: u64,
    pub quality_minutes: u64,
    pub bookings: u64,
    pub tasks_failed: u64,
    pub paced: u64,
    /// Every export that was tried succeeded, and at least one call reached Feishu.
    pub up: bool,
}

/// The new records of one export file, ready to be counted.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewRecords {
    pub kind: Kind,
    pub context: QualityContext,
    pub records: Vec<Record>,
    pub rejected: Vec<Rejected>,
}

/// Where the loop puts what it collected: the live [`Metrics`] for `serve`, a journal for
/// `backfill`.
pub trait RecordSink: Send + Sync {
    /// Counts one file's new records, all of them together.
    fn apply(&self, file: NewRecords);

    /// The meetings in progress now and their participants (only `serve` asks for them).
    fn in_progress(&self, _meetings: u64, _participants: u64) {}
}

impl RecordSink for Metrics {
    fn apply(&self, file: NewRecords) {
        let mut batch = self.batch(file.context);
        batch.begin(file.kind);
        for record in file.records {
            batch.record(record);
        }
        for rejected in file.rejected {
            batch.rejected(rejected);
        }
        batch.commit();
    }

    fn in_progress(&self, meetings: u64, participants: u64) {
        self.set_in_progress(meetings, participants);
    }
}

pub struct Collector {
    client: Client,
    sink: Arc<dyn RecordSink>,
    exporter: Arc<ExporterMetrics>,
    settings: Settings,
    state: Arc<Mutex<State>>,
    ledger: Arc<CallLedger>,
    status: Arc<StatusBoard>,
    /// Held (shared) while a file is being applied, taken (exclusive) before the state is
    /// saved at shutdown, so a save never misses a file that was already counted.
    applying: Arc<tokio::sync::RwLock<()>>,
}

impl Collector {
    /// The only way to make a loop: the client is built here, observed by the call ledger that
    /// feeds `feishu_vc_api_requests_total` and the budget, so no call goes uncounted. The
    /// loop's self-metrics are registered on `registry`.
    pub fn build(
        client: ClientOptions,
        settings: Settings,
        sink: Arc<dyn RecordSink>,
        state: State,
        status: Arc<StatusBoard>,
        registry: &prometheus::Registry,
    ) -> Result<Collector, FeishuError> {
        let exporter = Arc::new(ExporterMetrics::new(registry, settings.budget.is_some()));
        let ledger = Arc::new(CallLedger::new(exporter.api_requests.clone()));
        let client = Client::new(client, ledger.clone())?;
        Ok(Self::new(
            client, sink, exporter, settings, state, ledger, status,
        ))
    }

    /// `ledger` must be the client's call observer, so the budget sees every call.
    fn new(
        client: Client,
        sink: Arc<dyn RecordSink>,
        exporter: Arc<ExporterMetrics>,
        settings: Settings,
        state: State,
        ledger: Arc<CallLedger>,
        status: Arc<StatusBoard>,
    ) -> Self {
        ledger.restore(&state.budget);
        let collector = Self {
            client,
            sink,
            exporter,
            settings,
            state: Arc::new(Mutex::new(state)),
            ledger,
            status,
            applying: Arc::new(tokio::sync::RwLock::new(())),
        };
        collector.publish_gauges();
        collector
    }

    /// The loop's self-metrics.
    pub fn exporter(&self) -> &ExporterMetrics {
        &self.exporter
    }

    /// "Now" for a cycle, from [`Settings::clock`] (unix seconds).
    pub fn now(&self) -> i64 {
        self.settings.clock.now()
    }

    pub fn load_state(settings: &Settings) -> Result<State, StateError> {
        State::load(&settings.state_path)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs cycles every `interval` until `shutdown`; in-flight work is abandoned (it will be
    /// retried after a restart) and the state is saved.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StateError> {
        loop {
            let started = Instant::now();
            tokio::select! {
                report = self.cycle(self.now()) => {
                    tracing::info!(
                        meetings = report.meetings, sessions = report.sessions,
                        quality_exports = report.quality_exports, bookings = report.bookings,
                        failed = report.tasks_failed, paced = report.paced, up = report.up,
                        seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
                        "collection cycle done"
                    );
                }
                _ = shutdown.cancelled() => break,
            }
            if let Err(error) = self.save().await {
                tracing::error!(%error, "saving the state failed");
            }
            let wait = self.settings.interval.saturating_sub(started.elapsed());
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        self.save().await
    }

    /// Saves the state once no file is half applied.
    pub async fn save(&self) -> Result<(), StateError> {
        let _quiet = self.applying.write().await;
        let snapshot = {
            let mut state = self.state();
            state.budget = self.ledger.snapshot();
            state.clone()
        };
        snapshot.save(&self.settings.state_path)
    }

    /// One collection cycle at `now` (unix seconds).
    pub async fn cycle(&self, now: i64) -> CycleReport {
        let started = Instant::now();
        self.status.cycle_started();
        if let Some(budget) = &self.settings.budget {
            self.ledger.roll_month(&budget.month_of(now));
        }
        let calls_before = self.ledger.total_calls();
        let lookback = self.settings.lookback.as_secs() as i64;
        let window = (now - lookback, now);
        {
            let mut state = self.state();
            // A day's margin: keys must outlive every export window that can still return them.
            state.forget_before(now - lookback - 86_400);
        }
        let mut report = CycleReport {
            up: true,
            ..CycleReport::default()
        };

        // Phase 1: meetings and rooms.
        let mut first: Vec<Phase1> = vec![Phase1::Ended];
        if self.settings.meetings_in_progress {
            first.push(Phase1::InProgress);
        }
        if let Some(rooms) = &self.settings.rooms {
            first.push(Phase1::Rooms(rooms.clone()));
        }
        let results: Vec<Result<Applied, TaskError>> = stream::iter(first)
            .map(|job| self.phase1(job, window, now))
            .buffer_unordered(self.settings.concurrency)
            .collect()
            .await;
        let permanent = self.tally(&mut report, results);

        // Phase 2: participant lists of newly ended meetings.
        if self.settings.participants && !permanent {
            let pending: Vec<MeetingRef> =
                self.state().pending_participants.iter().cloned().collect();
            let results: Vec<Result<Applied, TaskError>> = stream::iter(pending)
                .map(|meeting| self.participants(meeting, now))
                .buffer_unordered(self.settings.concurrency)
                .collect()
                .await;
            self.tally(&mut report, results);
        }

        // Phase 3: quality exports from the backlog, oldest first.
        if self.settings.quality && !permanent {
            let jobs: Vec<QualityJob> = {
                let state = self.state();
                state
                    .quality_backlog
                    .iter()
                    .take(self.settings.quality_max_per_cycle)
                    .cloned()
                    .collect()
            };
            let results: Vec<Result<Applied, TaskError>> = stream::iter(jobs)
                .map(|job| self.quality(job, now))
                .buffer_unordered(self.settings.concurrency)
                .collect()
                .await;
            self.tally(&mut report, results);
        }

        // Up: Feishu answered and nothing failed. A paced task is not a failure.
        let reached = self.ledger.total_calls() > calls_before || report.paced > 0;
        report.up &= reached;
        self.exporter.up.set(i64::from(report.up));
        self.exporter
            .cycle_duration
            .set(started.elapsed().as_secs_f64());
        self.publish_gauges();
        self.status.cycle_done(now, report.up);
        report
    }

    /// Adds results to the report; answers whether one was a permanent error (credentials,
    /// scope, permission), after which the rest of the cycle would only fail the same way.
    fn tally(&self, report: &mut CycleReport, results: Vec<Result<Applied, TaskError>>) -> bool {
        let mut permanent = false;
        for result in results {
            match result {
                Ok(applied) => {
                    report.meetings += applied.meetings;
                    report.sessions += applied.sessions;
                    report.quality_exports += applied.quality_exports;
                    report.quality_minutes += applied.quality_minutes;
                    report.bookings += applied.bookings;
                }
                Err(TaskError::Paced) => report.paced += 1,
                Err(error) => {
                    report.tasks_failed += 1;
                    report.up = false;
                    permanent |= error.is_permanent();
                }
            }
        }
        permanent
    }

    fn publish_gauges(&self) {
        let state = self.state();
        self.exporter
            .quality_backlog
            .set(state.quality_backlog.len() as i64);
        for (kind, time) in &state.newest {
            self.exporter
                .data_newest
                .with_label_values(&[kind])
                .set(*time as f64);
        }
        let budget_note = self.settings.budget.map(|budget| {
            let remaining = budget.remaining(self.ledger.month_calls());
            if let Some(gauge) = &self.exporter.budget_remaining {
                gauge.set(remaining as i64);
            }
            (remaining, budget.monthly_calls)
        });
        self.status.set_queues(
            state.quality_backlog.len(),
            state.pending_participants.len(),
            budget_note,
        );
    }

    /// Whether the budget lets work of `priority` start now.
    fn budget_allows(&self, priority: Priority, now: i64) -> bool {
        match &self.settings.budget {
            None => true,
            Some(budget) => {
                let allowed =
                    budget.allows(priority, self.ledger.month_calls(), CALLS_PER_EXPORT, now);
                if !allowed {
                    self.status.note_paced(priority.label());
                }
                allowed
            }
        }
    }

    /// Creates the export, waits for it, downloads and parses it, then applies it on a
    /// blocking thread: the one path every export takes.
    async fn run_task<F>(
        &self,
        kind: Kind,
        request: ExportRequest,
        apply: F,
    ) -> Result<Applied, TaskError>
    where
        F: FnOnce(Export) -> Applied + Send + 'static,
    {
        let started = Instant::now();
        let _in_flight = self.status.task_started(kind);
        let result = self.fetch_and_apply(kind, &request, apply).await;
        let label = match &result {
            Ok(_) => "success",
            Err(error) => error.result_label(),
        };
        self.exporter
            .tasks
            .with_label_values(&[kind.as_str(), label])
            .inc();
        self.exporter
            .task_duration
            .with_label_values(&[kind.as_str()])
            .observe(started.elapsed().as_secs_f64());
        match &result {
            // When exports succeed and fail (the status page, the last-success gauge) is
            // wall-clock time even when a cycle's [`Settings::clock`] is pinned.
            Ok(applied) => {
                let now = system_now();
                self.exporter
                    .last_success
                    .with_label_values(&[kind.as_str()])
                    .set(now as f64);
                self.status.task_succeeded(kind, now, applied.rows);
                self.publish_gauges();
            }
            Err(error) => {
                tracing::warn!(kind = kind.as_str(), %error, "export task failed");
                self.status
                    .task_failed(kind, system_now(), error.to_string());
            }
        }
        result
    }

    async fn fetch_and_apply<F>(
        &self,
        kind: Kind,
        request: &ExportRequest,
        apply: F,
    ) -> Result<Applied, TaskError>
    where
        F: FnOnce(Export) -> Applied + Send + 'static,
    {
        let bytes: Bytes = self.client.run_export(request, &self.settings.poll).await?;
        let options = self.settings.parse;
        let gate = self.applying.clone().read_owned().await;
        tokio::task::spawn_blocking(move || {
            let _gate = gate;
            let export = sheet::read_all(&bytes, &options).map_err(|source| TaskError::Sheet {
                expected: kind,
                source,
            })?;
            if export.kind != kind {
                return Err(TaskError::WrongKind {
                    expected: kind,
                    found: export.kind,
                });
            }
            Ok(apply(export))
        })
        .await
        .map_err(|e| TaskError::Join(e.to_string()))?
    }

    async fn phase1(
        &self,
        job: Phase1,
        (start, end): (i64, i64),
        now: i64,
    ) -> Result<Applied, TaskError> {
        if !self.budget_allows(Priority::MeetingsAndRooms, now) {
            return Err(TaskError::Paced);
        }
        let sink = self.sink.clone();
        let state = self.state.clone();
        match job {
            Phase1::Ended => {
                let request = ExportRequest::MeetingList {
                    start,
                    end,
                    status: Some(MeetingStatus::Ended),
                    filter: None,
                };
                let follow = self.settings.participants;
                self.run_task(Kind::MeetingList, request, move |export| {
                    apply_meetings(sink.as_ref(), &state, export, follow, now)
                })
                .await
            }
            Phase1::InProgress => {
                let request = ExportRequest::MeetingList {
                    start,
                    end,
                    status: Some(MeetingStatus::Ongoing),
                    filter: None,
                };
                self.run_task(Kind::MeetingList, request, move |export| {
                    let meetings = export
                        .records
                        .iter()
                        .filter(|r| matches!(r, Record::Meeting(_)))
                        .count();
                    let participants: u64 = export
                        .records
                        .iter()
                        .filter_map(|r| match r {
                            Record::Meeting(m) => m.participants,
                            _ => None,
                        })
                        .sum();
                    sink.in_progress(meetings as u64, participants);
                    Applied {
                        rows: export.records.len() as u64,
                        ..Applied::default()
                    }
                })
                .await
            }
            Phase1::Rooms(rooms) => {
                let request = ExportRequest::ResourceReservationList {
                    room_level_id: rooms.room_level_id,
                    start,
                    end,
                    need_topic: Some(false),
                    room_ids: rooms.room_ids,
                    is_exclude: Some(rooms.exclude),
                };
                self.run_task(Kind::ResourceReservationList, request, move |export| {
                    apply_bookings(sink.as_ref(), &state, export, now)
                })
                .await
            }
        }
    }

    async fn participants(&self, meeting: MeetingRef, now: i64) -> Result<Applied, TaskError> {
        if !self.budget_allows(Priority::Participants, now) {
            return Err(TaskError::Paced);
        }
        let request = ExportRequest::ParticipantList {
            meeting_start: meeting.start,
            meeting_end: meeting.end,
            meeting_no: meeting.meeting_no.clone(),
            status: Some(MeetingStatus::Ended),
            user_id: None,
            room_id: None,
        };
        let sink = self.sink.clone();
        let state = self.state.clone();
        let sample = self
            .settings
            .quality
            .then_some(self.settings.quality_sample_ratio);
        let target = meeting.clone();
        let result = self
            .run_task(Kind::ParticipantList, request, move |export| {
                apply_participants(sink.as_ref(), &state, export, &target, sample)
            })
            .await;
        if matches!(&result, Err(e) if e.is_permanent() && !is_credentials_problem(e)) {
            // The meeting is gone or not ours to see: asking again would fail the same way.
            self.state().pending_participants.retain(|m| *m != meeting);
        }
        result
    }

    async fn quality(&self, job: QualityJob, now: i64) -> Result<Applied, TaskError> {
        if !self.budget_allows(Priority::Quality, now) {
            return Err(TaskError::Paced);
        }
        // Meeting-room devices take part under their room id, which the API wants as room_id.
        let participant = if job.user_id.starts_with("omm_") {
            Participant::Room(job.user_id.clone())
        } else {
            Participant::User(job.user_id.clone())
        };
        let request = ExportRequest::ParticipantQualityList {
            meeting_start: job.meeting.start,
            meeting_end: job.meeting.end,
            meeting_no: job.meeting.meeting_no.clone(),
            join_time: job.join,
            participant,
        };
        let sink = self.sink.clone();
        let state = self.state.clone();
        let done = job.clone();
        let result = self
            .run_task(Kind::ParticipantQualityList, request, move |export| {
                apply_quality(sink.as_ref(), &state, export, &done)
            })
            .await;
        if let Err(error) = &result {
            let mut state = self.state();
            let drop_it = error.is_permanent() && !is_credentials_problem(error);
            if let Some(position) = state.quality_backlog.iter().position(|j| *j == job) {
                let entry = &mut state.quality_backlog[position];
                entry.attempts += u32::from(!matches!(
                    error,
                    TaskError::Feishu(FeishuError::RateLimited { .. })
                ));
                if drop_it || entry.attempts >= MAX_QUALITY_ATTEMPTS {
                    state.quality_backlog.remove(position);
                    tracing::warn!(%error, "dropping a quality export after repeated failures");
                }
            }
        }
        result
    }
}

/// A credentials, scope or IP problem is the tenant's to fix, not the record's: keep the work.
fn is_credentials_problem(error: &TaskError) -> bool {
    matches!(error, TaskError::Feishu(e) if matches!(e.class(), ErrorClass::Auth | ErrorClass::Permission))
}

#[derive(Debug, Clone)]
enum Phase1 {
    Ended,
    InProgress,
    Rooms(RoomsSettings),
}

/// What applying one file added.
#[derive(Debug, Clone, Default)]
struct Applied {
    rows: u64,
    meetings: u64,
    sessions: u64,
    quality_exports: u64,
    quality_minutes: u64,
    bookings: u64,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Hands the rows that were not counted before to the sink, marking their keys in the same
/// critical section: a record is counted exactly once.
fn apply_new(
    sink: &dyn RecordSink,
    state: &mut State,
    export: Export,
    context: QualityContext,
    now: i64,
    mut key_of: impl FnMut(&Record) -> Option<(String, i64)>,
    mut on_new: impl FnMut(&mut State, &Record),
) -> u64 {
    let kind = export.kind;
    let mut records = Vec::with_capacity(export.records.len());
    for record in export.records {
        let fresh = match key_of(&record) {
            Some((key, time)) => state.first_time(key, time),
            None => true,
        };
        if fresh {
            on_new(state, &record);
            records.push(record);
        }
    }
    let rejected: Vec<Rejected> = export
        .rejected
        .into_iter()
        .filter(|rejected| {
            state.first_time(
                format!("x:{}:{:016x}", kind.as_str(), rejected.fingerprint),
                now,
            )
        })
        .collect();
    let rows = (records.len() + rejected.len()) as u64;
    sink.apply(NewRecords {
        kind,
        context,
        records,
        rejected,
    });
    rows
}

fn apply_meetings(
    sink: &dyn RecordSink,
    state: &Mutex<State>,
    export: Export,
    follow: bool,
    now: i64,
) -> Applied {
    let mut state = lock(state);
    let mut applied = Applied::default();
    let rows = apply_new(
        sink,
        &mut state,
        export,
        QualityContext::default(),
        now,
        |record| match record {
            Record::Meeting(m) => Some((format!("m:{}:{}", m.meeting_no, m.start), m.start)),
            _ => None,
        },
        |state, record| {
            if let Record::Meeting(m) = record {
                applied.meetings += 1;
                let end = m
                    .end
                    .unwrap_or(m.start + m.duration_seconds.unwrap_or(0) as i64);
                state.note_newest(Kind::MeetingList.as_str(), end);
                if follow {
                    state.pending_participants.push_back(MeetingRef {
                        meeting_no: m.meeting_no.clone(),
                        start: m.start,
                        end,
                    });
                }
            }
        },
    );
    applied.rows = rows;
    applied
}

fn apply_participants(
    sink: &dyn RecordSink,
    state: &Mutex<State>,
    export: Export,
    meeting: &MeetingRef,
    quality_sample: Option<f64>,
) -> Applied {
    let mut state = lock(state);
    let mut applied = Applied::default();
    // The list is fetched once per meeting: the meeting's key guards all its sessions.
    if !state.first_time(
        format!("p:{}:{}", meeting.meeting_no, meeting.start),
        meeting.start,
    ) {
        state.pending_participants.retain(|m| m != meeting);
        return applied;
    }
    let rows = apply_new(
        sink,
        &mut state,
        export,
        QualityContext::default(),
        meeting.end,
        |_| None,
        |state, record| {
            if let Record::Participant(p) = record {
                applied.sessions += 1;
                state.note_newest(Kind::ParticipantList.as_str(), p.leave.unwrap_or(p.join));
                let Some(user_id) = p.user_id.clone() else {
                    return;
                };
                let Some(ratio) = quality_sample else { return };
                if !sampled(
                    &format!("{}:{}:{}", meeting.meeting_no, user_id, p.join),
                    ratio,
                ) {
                    return;
                }
                if state.quality_backlog.len() >= MAX_QUALITY_BACKLOG {
                    state.quality_backlog.pop_front();
                    tracing::warn!("quality backlog full: dropping its oldest entry");
                }
                state.quality_backlog.push_back(QualityJob {
                    meeting: meeting.clone(),
                    user_id,
                    join: p.join,
                    device: p.device.clone(),
                    network_type: p.network_type.clone(),
                    location: p.location.clone(),
                    attempts: 0,
                });
            }
        },
    );
    state.pending_participants.retain(|m| m != meeting);
    applied.rows = rows;
    applied
}

fn apply_quality(
    sink: &dyn RecordSink,
    state: &Mutex<State>,
    export: Export,
    job: &QualityJob,
) -> Applied {
    let mut state = lock(state);
    let mut applied = Applied::default();
    let Some(position) = state.quality_backlog.iter().position(|j| j == job) else {
        return applied; // Already applied by an earlier attempt.
    };
    state.quality_backlog.remove(position);
    let context = QualityContext {
        device: job.device.clone(),
        network_type: job.network_type.clone(),
        location: job.location.clone(),
    };
    let rows = apply_new(
        sink,
        &mut state,
        export,
        context,
        job.meeting.end,
        |_| None,
        |state, record| {
            if let Record::Quality(q) = record {
                applied.quality_minutes += 1;
                state.note_newest(Kind::ParticipantQualityList.as_str(), q.time);
            }
        },
    );
    applied.quality_exports = 1;
    applied.rows = rows;
    applied
}

fn apply_bookings(
    sink: &dyn RecordSink,
    state: &Mutex<State>,
    export: Export,
    now: i64,
) -> Applied {
    let mut state = lock(state);
    let mut applied = Applied::default();
    // A booking's state is final once it has ended; later ones wait for a later cycle.
    let export = Export {
        records: export
            .records
            .into_iter()
            .filter(|r| matches!(r, Record::Reservation(b) if b.end <= now))
            .collect(),
        ..export
    };
    let rows = apply_new(
        sink,
        &mut state,
        export,
        QualityContext::default(),
        now,
        |record| match record {
            Record::Reservation(b) => Some((
                format!(
                    "r:{}:{}:{}:{}:{}",
                    b.room,
                    b.start,
                    b.end,
                    b.status.as_str(),
                    b.invitees.unwrap_or(0)
                ),
                b.end,
            )),
            _ => None,
        },
        |state, record| {
            if let Record::Reservation(b) = record {
                applied.bookings += 1;
                state.note_newest(Kind::ResourceReservationList.as_str(), b.end);
            }
        },
    );
    applied.rows = rows;
    applied
}

/// A stable yes/no for `key` with probability `ratio`.
fn sampled(key: &str, ratio: f64) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % 10_000) as f64 / 10_000.0 < ratio
}
