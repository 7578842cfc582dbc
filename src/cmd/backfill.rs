//! `backfill`: a past range through the API into OpenMetrics with timestamps.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::cli::{BackfillArgs, LogArgs};
use crate::collect::state::State;
use crate::collect::{backfill, Collector};
use crate::config::{self, Config, ConfigError};
use crate::logging;
use crate::metrics::openmetrics::check_labels;
use crate::status::StatusBoard;

use super::{runtime, wait_for_signal};

/// Loads the configuration, checks the range and the labels, then runs the backfill.
pub(super) fn run(args: &BackfillArgs, log: &LogArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(
        Some(&args.config),
        &args.overrides(log),
        &config::process_env,
    )?;
    let _ = logging::init(config.log.level, config.log.format);
    let (from, to) = args.range(config.feishu.timezone)?;
    check_labels(&args.labels).map_err(|e| ConfigError::invalid("--label", e))?;
    let options = backfill::Options {
        from: from.timestamp(),
        to: to.timestamp(),
        output: args.output.clone(),
        resume: args.resume,
        step_seconds: args.step.as_secs() as i64,
        labels: args.labels.clone(),
        metrics: config.metrics_options(),
    };
    runtime()?.block_on(run_backfill(config, options))
}

/// A past range into OpenMetrics; exit 130 when stopped by a signal (resumable).
async fn run_backfill(config: Config, options: backfill::Options) -> anyhow::Result<ExitCode> {
    let registry = prometheus::Registry::new();
    let settings = config.collect_settings();
    // The month's calls `serve` has spent count against the budget too.
    let serving = match State::load(&settings.state_path) {
        Ok(state) => Some(state),
        Err(error) => {
            tracing::warn!(%error, "the exporter's state file is unreadable: the backfill counts only its own API calls against the budget");
            None
        }
    };
    let start = backfill::Start::open(&options, serving)?;
    let collector = Collector::build(
        config.client_options(),
        settings,
        start.sink(),
        start.state(),
        Arc::new(StatusBoard::new()),
        &registry,
    )?;
    let shutdown = CancellationToken::new();
    let signals = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("stopping the backfill at the next checkpoint");
            shutdown.cancel();
        })
    };
    let display = ProgressDisplay::new();
    let started = std::time::Instant::now();
    let result = backfill::run(&collector, start, &options, &shutdown, &|p| display.show(p)).await;
    display.finish();
    signals.abort();
    match result {
        Ok(report) => {
            eprintln!(
                "backfill done in {}: {} windows, {} exports ({} failed and retried, {} given up), {} API calls, {} records written to {} ({} outside the range)",
                humantime::format_duration(Duration::from_secs(started.elapsed().as_secs())),
                report.windows,
                report.exports,
                report.failed_exports,
                report.dropped,
                report.api_calls,
                report.records,
                options.output.display(),
                report.outside,
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(backfill::BackfillError::Stopped) => {
            eprintln!(
                "feishu-vc-exporter: backfill stopped; run the same command with --resume to continue"
            );
            Ok(ExitCode::from(130))
        }
        Err(error) => Err(error.into()),
    }
}

/// The backfill's progress line on a terminal; nothing otherwise.
struct ProgressDisplay(indicatif::ProgressBar);

impl ProgressDisplay {
    fn new() -> Self {
        use std::io::IsTerminal as _;
        let bar = if std::io::stderr().is_terminal() {
            indicatif::ProgressBar::new(1000)
        } else {
            indicatif::ProgressBar::hidden()
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:24}] {percent:>3}% {msg} · ETA {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_secs(1));
        Self(bar)
    }

    fn show(&self, p: backfill::Progress) {
        self.0.set_position((p.fraction() * 1000.0) as u64);
        let waiting = if p.waiting_for_budget {
            " · waiting for the monthly API budget"
        } else {
            ""
        };
        self.0.set_message(format!(
            "window {}/{} · {} exports ({} failed) · {} API calls{waiting}",
            (p.windows_done + 1).min(p.windows),
            p.windows,
            p.exports,
            p.failed_exports,
            p.api_calls,
        ));
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
