//! The subcommands: one file each, one dispatch, and the exit status.
//!
//! `main` = parse ([`Cli`]) → `run`'s one arm a subcommand → the file's `run` → the exit
//! status: 0, 1, 130 (a backfill stopped), or 2 for a bad configuration ([`ConfigError`], a bad
//! web config file or telemetry path), with one line on stderr. Errors are `anyhow` here only;
//! the parts return their own types. A new subcommand: a [`Command`] variant and its flags in
//! `cli`, a file here with `pub(super) fn run`, and its arm in `run`.

mod backfill;
mod check_config;
pub mod demo;
mod healthcheck;
mod ingest;
mod serve;
mod simulate;

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Cli, Command, LogArgs};
use crate::config::ConfigError;
use crate::logging;
use crate::server::ServerError;

/// Runs the subcommand `cli` names, and maps its outcome to the exit status.
pub fn main(cli: Cli) -> ExitCode {
    match run(&cli) {
        Ok(code) => code,
        Err(error) => {
            // A bad configuration is exit 2 with one line naming the key.
            if let Some(config_error) = error.downcast_ref::<ConfigError>() {
                eprintln!("feishu-vc-exporter: {config_error}");
                return ExitCode::from(ConfigError::EXIT_CODE as u8);
            }
            // A bad web config file or telemetry path is bad configuration too.
            if let Some(
                server_error @ (ServerError::WebConfig { .. } | ServerError::TelemetryPath { .. }),
            ) = error.downcast_ref::<ServerError>()
            {
                eprintln!("feishu-vc-exporter: {server_error}");
                return ExitCode::from(ConfigError::EXIT_CODE as u8);
            }
            eprintln!("feishu-vc-exporter: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// One arm a subcommand: its flags to its file's `run`.
fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command_or_serve() {
        Command::Serve(args) => serve::run(args, &cli.log),
        Command::Ingest(args) => ingest::run(args, &cli.log),
        Command::Backfill(args) => backfill::run(args, &cli.log),
        Command::Simulate(args) => simulate::run(args, &cli.log),
        Command::CheckConfig(args) => check_config::run(args),
        Command::Healthcheck(args) => healthcheck::run(args),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Logging from the flags alone, for subcommands without a config file.
fn init_logging_from_flags(log: &LogArgs) {
    let (level, format) = log.settings();
    // Only fails when a subscriber is already set, which main never does twice.
    let _ = logging::init(level, format);
}

/// Returns on SIGTERM or Ctrl-C.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
