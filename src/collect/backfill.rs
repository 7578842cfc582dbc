//! `feishu-vc-exporter backfill`: a past range through the API into OpenMetrics with each
//! record's own timestamp, for `promtool tsdb create-blocks-from openmetrics`.
//!
//! The range is walked in windows of a day, oldest first. Each window runs the loop's phases
//! (meetings and rooms, then every participant list, then every quality export) until its
//! work is done, through the same client, limiter, budget and exactly-once keys as `serve`;
//! the new records go to a journal beside the output instead of the live metrics. After
//! every round of exports the journal is synced and the state saved beside it, so an
//! interrupted run continues with `--resume`. At the end the journal is replayed in time
//! order into the output (through a temporary file, renamed into place) and both are removed.

use std::collections::VecDeque;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::journal::{Entry, Journal};
use super::state::{write_atomically, State, StateError};
use super::{Applied, Collector, Phase1, RecordSink, TaskError};
use crate::metrics::openmetrics::{Replay, StepWriter};
use crate::metrics::MetricsOptions;
use crate::sheet::Kind;

/// Bumped when the checkpoint's meaning changes.
const VERSION: u32 = 1;
const WINDOW_SECONDS: i64 = 86_400;
/// Exports per round between checkpoints, at most.
const ROUND: usize = 64;
/// Rounds in a row in which nothing succeeded before the backfill gives up (resumable).
const MAX_FRUITLESS_ROUNDS: u32 = 6;
/// How often a paced backfill asks the budget again.
const BUDGET_RECHECK: Duration = Duration::from_secs(60);

pub struct Options {
    /// `[from, to)`, unix seconds.
    pub from: i64,
    pub to: i64,
    pub output: PathBuf,
    pub resume: bool,
    pub step_seconds: i64,
    pub labels: Vec<(String, String)>,
    pub metrics: MetricsOptions,
}

/// What the backfill did, for the last line and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub windows: u64,
    pub exports: u64,
    pub failed_exports: u64,
    /// Quality exports given up after repeated failures.
    pub dropped: u64,
    pub api_calls: u64,
    pub records: u64,
    /// Records of meetings in the range that count outside it (a meeting ending after `to`).
    pub outside: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("{path} belongs to an interrupted backfill: pass --resume to continue it, or remove it to start again")]
    Interrupted { path: PathBuf },
    #[error("--resume: {path} is a backfill of {found}, not of {asked}")]
    OtherRange {
        path: PathBuf,
        found: String,
        asked: String,
    },
    #[error("backfill state {path} is corrupt ({detail})")]
    Corrupt { path: PathBuf, detail: String },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("journal {path}: {source}")]
    Journal {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} keeps failing ({source}); run again with --resume to retry")]
    Failing { what: String, source: TaskError },
    #[error("stopped; run again with --resume to continue")]
    Stopped,
}

/// What is saved beside the output after every round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Checkpoint {
    version: u32,
    from: i64,
    to: i64,
    /// The start of the first window not yet done.
    next_window: i64,
    /// The journal's length at this checkpoint.
    journal_bytes: u64,
    collect: State,
}

pub fn state_path(output: &Path) -> PathBuf {
    sibling(output, ".backfill-state.json")
}

pub fn journal_path(output: &Path) -> PathBuf {
    sibling(output, ".backfill-journal.gz")
}

fn sibling(output: &Path, suffix: &str) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_owned();
    name.push(suffix);
    output.with_file_name(name)
}

/// Where a backfill starts: a new one, or the checkpoint of an interrupted one.
pub struct Start {
    checkpoint: Checkpoint,
    journal: Arc<Journal>,
}

impl Start {
    /// `budget_from`: the state `serve` keeps, whose month's calls a new backfill counts too.
    pub fn open(options: &Options, budget_from: Option<State>) -> Result<Self, BackfillError> {
        let state_path = state_path(&options.output);
        let journal_path = journal_path(&options.output);
        let journal_error = |source| BackfillError::Journal {
            path: journal_path.clone(),
            source,
        };
        let existing = match std::fs::read(&state_path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(StateError::Read {
                    path: state_path,
                    source,
                }
                .into())
            }
        };
        match existing {
            Some(_) if !options.resume => Err(BackfillError::Interrupted { path: state_path }),
            Some(bytes) => {
                let checkpoint: Checkpoint =
                    serde_json::from_slice(&bytes).map_err(|e| BackfillError::Corrupt {
                        path: state_path.clone(),
                        detail: e.to_string(),
                    })?;
                if checkpoint.version != VERSION {
                    return Err(BackfillError::Corrupt {
                        path: state_path,
                        detail: format!("version {}", checkpoint.version),
                    });
                }
                if (checkpoint.from, checkpoint.to) != (options.from, options.to) {
                    return Err(BackfillError::OtherRange {
                        path: state_path,
                        found: range_text(checkpoint.from, checkpoint.to),
                        asked: range_text(options.from, options.to),
                    });
                }
                let journal = Arc::new(
                    Journal::open(&journal_path, checkpoint.journal_bytes)
                        .map_err(journal_error)?,
                );
                Ok(Self {
                    checkpoint,
                    journal,
                })
            }
            None => {
                let mut collect = State::new();
                if let Some(serving) = budget_from {
                    collect.budget = serving.budget;
                }
                Ok(Self {
                    checkpoint: Checkpoint {
                        version: VERSION,
                        from: options.from,
                        to: options.to,
                        next_window: options.from,
                        journal_bytes: 0,
                        collect,
                    },
                    journal: Arc::new(Journal::open(&journal_path, 0).map_err(journal_error)?),
                })
            }
        }
    }

    /// The loop's state to build the [`Collector`] with.
    pub fn state(&self) -> State {
        self.checkpoint.collect.clone()
    }

    /// Where the [`Collector`] is to put the records.
    pub fn sink(&self) -> Arc<dyn RecordSink> {
        self.journal.clone()
    }
}

fn range_text(from: i64, to: i64) -> String {
    let time = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0).map_or_else(|| t.to_string(), |t| t.to_rfc3339())
    };
    format!("[{}, {})", time(from), time(to))
}

/// What a progress display reads while the backfill runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub windows_done: u64,
    pub windows: u64,
    /// Exports done in the current window.
    pub window_exports: u64,
    /// Exports still queued in the current window (participant lists and quality).
    pub queued: u64,
    pub exports: u64,
    pub failed_exports: u64,
    pub api_calls: u64,
    pub waiting_for_budget: bool,
}

impl Progress {
    /// Done, 0..=1: whole windows plus the share of the current one's exports done.
    pub fn fraction(&self) -> f64 {
        if self.windows == 0 {
            return 1.0;
        }
        let within = self.window_exports as f64 / (self.window_exports + self.queued).max(1) as f64;
        ((self.windows_done as f64 + within) / self.windows as f64).min(1.0)
    }
}

/// Runs the backfill to the end; `on_progress` is called every second while exports run.
/// The `collector` must have been built with `start`'s journal as its sink and `start`'s state.
pub async fn run(
    collector: &Collector,
    start: Start,
    options: &Options,
    shutdown: &CancellationToken,
    on_progress: &(dyn Fn(Progress) + Sync),
) -> Result<Report, BackfillError> {
    let Start {
        mut checkpoint,
        journal,
    } = start;
    let span = options.to - options.from;
    let windows = span.div_euclid(WINDOW_SECONDS) + i64::from(span % WINDOW_SECONDS != 0);
    let mut run = Run {
        collector,
        journal: &journal,
        state_path: state_path(&options.output),
        report: Report::default(),
        progress: Progress {
            windows: windows as u64,
            windows_done: ((checkpoint.next_window - options.from) / WINDOW_SECONDS) as u64,
            ..Progress::default()
        },
        on_progress,
        shutdown,
        window_started_at: 0,
    };
    let started = Instant::now();
    while checkpoint.next_window < options.to {
        let window = (
            checkpoint.next_window,
            (checkpoint.next_window + WINDOW_SECONDS).min(options.to),
        );
        run.window_started_at = run.tasks_so_far().0;
        if let Err(error) = run.window(window, &mut checkpoint).await {
            // Keep what was fetched since the last round; the window starts again on resume.
            run.save(&mut checkpoint).await?;
            return Err(error);
        }
        journal.watermark(window.1);
        checkpoint.next_window = window.1;
        run.save(&mut checkpoint).await?;
        run.progress.windows_done += 1;
        run.report.windows += 1;
        tracing::info!(
            window = %range_text(window.0, window.1),
            exports = run.report.exports,
            api_calls = collector.ledger.total_calls(),
            seconds = started.elapsed().as_secs(),
            "backfill window done"
        );
        run.publish(false);
    }
    let mut report = run.report;
    report.api_calls = collector.ledger.total_calls();
    let (records, outside) = write_output(&journal, options)?;
    report.records = records;
    report.outside = outside;
    for path in [journal.path().to_owned(), state_path(&options.output)] {
        if let Err(error) = std::fs::remove_file(&path) {
            tracing::warn!(path = %path.display(), %error, "could not remove a backfill work file");
        }
    }
    Ok(report)
}

/// A running backfill: its loop, journal, report and progress display.
struct Run<'a> {
    collector: &'a Collector,
    journal: &'a Journal,
    state_path: PathBuf,
    report: Report,
    progress: Progress,
    on_progress: &'a (dyn Fn(Progress) + Sync),
    shutdown: &'a CancellationToken,
    /// Exports that had succeeded when the current window started.
    window_started_at: u64,
}

impl Run<'_> {
    /// Lists the window's meetings and bookings, then fetches every participant list and
    /// quality export they lead to, saving a checkpoint after each round.
    async fn window(
        &mut self,
        window: (i64, i64),
        checkpoint: &mut Checkpoint,
    ) -> Result<(), BackfillError> {
        let collector = self.collector;
        let mut lists = vec![Phase1::Ended];
        if let Some(rooms) = &collector.settings.rooms {
            lists.push(Phase1::Rooms(rooms.clone()));
        }
        for list in lists {
            let what = match list {
                Phase1::Rooms(_) => "the room booking export",
                _ => "the meeting export",
            };
            let what = format!("{what} of {}", range_text(window.0, window.1));
            self.until_done(&what, || async {
                vec![
                    collector
                        .phase1(list.clone(), window, collector.now())
                        .await,
                ]
            })
            .await?;
        }
        self.save(checkpoint).await?;
        self.drain(
            "participant list exports",
            checkpoint,
            |state| &state.pending_participants,
            |meeting| collector.participants(meeting, collector.now()),
        )
        .await?;
        self.drain(
            "quality exports",
            checkpoint,
            |state| &state.quality_backlog,
            |job| collector.quality(job, collector.now()),
        )
        .await?;
        Ok(())
    }

    /// Exports what `queue` holds, oldest first, in rounds of up to [`ROUND`] with a checkpoint
    /// after each, until it is empty. What leaves the queue without succeeding was given up.
    async fn drain<T, Fut>(
        &mut self,
        what: &str,
        checkpoint: &mut Checkpoint,
        queue: fn(&State) -> &VecDeque<T>,
        export: impl Fn(T) -> Fut,
    ) -> Result<(), BackfillError>
    where
        T: Clone,
        Fut: std::future::Future<Output = Result<Applied, TaskError>>,
    {
        let collector = self.collector;
        loop {
            let (round, queued): (Vec<T>, usize) = {
                let state = collector.state();
                let queue = queue(&state);
                (queue.iter().take(ROUND).cloned().collect(), queue.len())
            };
            if round.is_empty() {
                return Ok(());
            }
            let succeeded = self
                .until_done(what, || {
                    stream::iter(round.clone())
                        .map(&export)
                        .buffer_unordered(collector.settings.concurrency)
                        .collect::<Vec<_>>()
                })
                .await?;
            let left = queue(&collector.state()).len();
            self.report.dropped += queued.saturating_sub(left).saturating_sub(succeeded) as u64;
            self.save(checkpoint).await?;
        }
    }

    /// Runs `round` until one of its exports succeeds (or it has nothing to do): waits while
    /// the budget is paced, backs off while everything fails, gives up after a few fruitless
    /// rounds. Answers how many exports succeeded.
    async fn until_done<F, Fut>(&mut self, what: &str, round: F) -> Result<usize, BackfillError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Vec<Result<Applied, TaskError>>>,
    {
        let mut fruitless = 0;
        let mut backoff = Duration::from_secs(1);
        loop {
            if let Some(budget) = &self.collector.settings.budget {
                self.collector
                    .ledger
                    .roll_month(&budget.month_of(self.collector.now()));
            }
            // The display follows the exports as they finish, not only round by round.
            let round = round();
            tokio::pin!(round);
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let results = loop {
                tokio::select! {
                    results = &mut round => break results,
                    _ = tick.tick() => self.publish(false),
                    _ = self.shutdown.cancelled() => return Err(BackfillError::Stopped),
                }
            };
            let (mut succeeded, mut paced, mut last_error) = (0, 0, None);
            for result in results {
                match result {
                    Ok(_) => succeeded += 1,
                    Err(TaskError::Paced) => paced += 1,
                    Err(error) => {
                        self.report.failed_exports += 1;
                        last_error = Some(error);
                    }
                }
            }
            self.report.exports += succeeded as u64;
            self.publish(paced > 0 && succeeded == 0);
            if succeeded > 0 || (paced == 0 && last_error.is_none()) {
                return Ok(succeeded);
            }
            let wait = match last_error {
                None => BUDGET_RECHECK,
                Some(error) => {
                    fruitless += 1;
                    if fruitless >= MAX_FRUITLESS_ROUNDS {
                        return Err(BackfillError::Failing {
                            what: what.to_owned(),
                            source: error,
                        });
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                    backoff
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.shutdown.cancelled() => return Err(BackfillError::Stopped),
            }
        }
    }

    fn publish(&mut self, waiting_for_budget: bool) {
        let queued = {
            let state = self.collector.state();
            state.pending_participants.len() + state.quality_backlog.len()
        };
        let (succeeded, failed) = self.tasks_so_far();
        self.progress.queued = queued as u64;
        self.progress.window_exports = succeeded - self.window_started_at;
        self.progress.exports = succeeded;
        self.progress.failed_exports = failed;
        self.progress.api_calls = self.collector.ledger.total_calls();
        self.progress.waiting_for_budget = waiting_for_budget;
        (self.on_progress)(self.progress);
    }

    /// Exports that succeeded and failed so far, from the loop's own task counters.
    fn tasks_so_far(&self) -> (u64, u64) {
        let tasks = &self.collector.exporter.tasks;
        let (mut succeeded, mut failed) = (0, 0);
        for kind in Kind::ALL {
            for result in ["success", "failed", "timeout", "error"] {
                let count = tasks.with_label_values(&[kind.as_str(), result]).get();
                if result == "success" {
                    succeeded += count;
                } else {
                    failed += count;
                }
            }
        }
        (succeeded, failed)
    }

    /// Syncs the journal and saves the loop's state with its length, once no file is half
    /// applied.
    async fn save(&self, checkpoint: &mut Checkpoint) -> Result<(), BackfillError> {
        let _quiet = self.collector.applying.write().await;
        checkpoint.journal_bytes =
            self.journal
                .checkpoint()
                .map_err(|source| BackfillError::Journal {
                    path: self.journal.path().to_owned(),
                    source,
                })?;
        checkpoint.collect = {
            let mut state = self.collector.state();
            state.budget = self.collector.ledger.snapshot();
            state.clone()
        };
        let path = &self.state_path;
        let json = serde_json::to_vec(&checkpoint).map_err(|e| StateError::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        write_atomically(path, &json).map_err(|source| StateError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(())
    }
}

/// Replays the journal into the output; answers the records written and those outside the
/// range.
fn write_output(journal: &Journal, options: &Options) -> Result<(u64, u64), BackfillError> {
    let journal_error = |source| BackfillError::Journal {
        path: journal.path().to_owned(),
        source,
    };
    journal.checkpoint().map_err(journal_error)?;
    let writer = StepWriter::new(
        options.metrics.clone(),
        options.step_seconds,
        &options.labels,
    );
    let mut replay = Replay::new(writer, Some((options.from, options.to)));
    let mut records = 0;
    for entry in Journal::read(journal.path()).map_err(journal_error)? {
        match entry.map_err(journal_error)? {
            Entry::File(file) => {
                records += (file.records.len() + file.rejected.len()) as u64;
                replay.file(file.kind, file.context, file.records, file.rejected);
            }
            Entry::Watermark(time) => replay.watermark(time).map_err(journal_error)?,
        }
    }
    let outside = replay.outside();
    let output_error = |source| BackfillError::Output {
        path: options.output.clone(),
        source,
    };
    let dir = options
        .output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = tempfile::NamedTempFile::new_in(dir).map_err(output_error)?;
    let mut out = BufWriter::new(temp);
    replay.finish(&mut out).map_err(output_error)?;
    out.flush().map_err(output_error)?;
    let temp = out.into_inner().map_err(|e| output_error(e.into_error()))?;
    temp.as_file().sync_all().map_err(output_error)?;
    temp.persist(&options.output)
        .map_err(|e| output_error(e.error))?;
    Ok((records - outside, outside))
}
