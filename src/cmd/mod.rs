//! The subcommands: one file each, one dispatch, and the exit status.

mod backfill;
mod healthcheck;
mod ingest;
mod serve;
mod simulate;

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Cli, Command};
use crate::clock::{self, Clock};
use crate::config::{self, Config, ConfigError};
use crate::logging;
use crate::metrics::openmetrics::check_labels;
use crate::server::ServerError;

use backfill::run_backfill;
use healthcheck::healthcheck;
use ingest::ingest;
use serve::{load_serve_config, serve};
use simulate::simulate;

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

fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    match cli.command_or_serve() {
        Command::Ingest(args) => {
            init_logging_from_flags(cli);
            ingest(&args)
        }
        Command::CheckConfig(args) => {
            let config = Config::load(
                Some(&args.config),
                &Default::default(),
                &config::process_env,
            )?;
            print!("{}", config.to_yaml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => {
            let config = load_serve_config(cli, &args)?;
            // Only the demo's tenant has a clock to pin; Feishu's is the real one.
            let demo = args.demo.then(demo_clock).transpose()?;
            let _ = logging::init(config.log.level, config.log.format);
            runtime()?.block_on(serve(config, demo))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate(args) => {
            let clock = demo_clock()?;
            init_logging_from_flags(cli);
            runtime()?.block_on(simulate(&args, clock))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck(args) => runtime()?.block_on(healthcheck(args.url.as_str())),
        Command::Backfill(args) => {
            let config = Config::load(
                Some(&args.config),
                &args.overrides(&cli.log),
                &config::process_env,
            )?;
            let _ = logging::init(config.log.level, config.log.format);
            let (from, to) = args.range(config.feishu.timezone)?;
            check_labels(&args.labels).map_err(|e| ConfigError::invalid("--label", e))?;
            let options = crate::collect::backfill::Options {
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
    }
}

/// The simulator's clock: the system's, unless a test pins it with `FEISHU_VC_DEMO_NOW`.
pub(super) fn demo_clock() -> Result<Clock, ConfigError> {
    Clock::from_demo_env().map_err(|message| ConfigError::invalid(clock::DEMO_NOW_ENV, message))
}

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub(super) fn init_logging_from_flags(cli: &Cli) {
    let (level, format) = cli.log_settings();
    // Only fails when a subscriber is already set, which main never does twice.
    let _ = logging::init(level, format);
}

pub(super) async fn wait_for_signal() {
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
