//! `ingest`: export files downloaded by hand, printed as metrics.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{IngestArgs, IngestFormat, LogArgs};
use crate::ingest::{ingest_file, replay_file};
use crate::metrics::openmetrics::{Replay, StepWriter};
use crate::metrics::{Metrics, MetricsOptions};
use crate::sheet::ParseOptions;

use super::init_logging_from_flags;

/// Logs as the flags say (no config file), then reads the files.
pub(super) fn run(args: &IngestArgs, log: &LogArgs) -> anyhow::Result<ExitCode> {
    init_logging_from_flags(log);
    ingest(args)
}

/// Prints the metrics of every readable file; exit 1 after naming each file that was not.
fn ingest(args: &IngestArgs) -> anyhow::Result<ExitCode> {
    if args.format == IngestFormat::Openmetrics {
        return ingest_openmetrics(args);
    }
    let metrics = Metrics::new(MetricsOptions::default());
    let mut failed = false;
    for path in &args.files {
        if let Err(error) = ingest_file(path, &metrics, &ParseOptions::default()) {
            eprintln!("{error}");
            failed = true;
        }
    }
    use std::io::Write as _;
    std::io::stdout()
        .write_all(metrics.encode_text().as_bytes())
        .context("writing the metrics")?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `ingest --format openmetrics`: every readable file's records, with their own timestamps.
fn ingest_openmetrics(args: &IngestArgs) -> anyhow::Result<ExitCode> {
    let writer = StepWriter::new(MetricsOptions::default(), 60, &[]);
    let mut replay = Replay::new(writer, None);
    let mut failed = false;
    for path in &args.files {
        if let Err(error) = replay_file(path, &mut replay, &ParseOptions::default()) {
            eprintln!("{error}");
            failed = true;
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    replay
        .finish(&mut out)
        .and_then(|()| std::io::Write::flush(&mut out))
        .context("writing the metrics")?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
