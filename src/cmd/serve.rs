//! `serve`: the collection loop and the HTTP server, against Feishu or the built-in simulator.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::cli::{LogArgs, ServeArgs};
use crate::clock::Clock;
use crate::collect::state::State;
use crate::collect::Collector;
use crate::config::{self, Config};
use crate::logging;
use crate::metrics::Metrics;
use crate::server;
use crate::status::StatusBoard;

use super::{demo, runtime, wait_for_signal};

/// How long shutdown may take before in-flight work is abandoned.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Loads the configuration (with `--demo`'s credentials and rooms if asked), then serves until
/// a signal.
pub(super) fn run(args: &ServeArgs, log: &LogArgs) -> anyhow::Result<ExitCode> {
    let overrides = args.overrides(log);
    let overrides = if args.demo {
        demo::overrides(overrides)
    } else {
        overrides
    };
    let config = Config::load(args.config.as_deref(), &overrides, &config::process_env)?;
    // Only the demo's tenant has a clock to pin; Feishu's is the real one.
    let demo = args.demo.then(demo::clock).transpose()?;
    let _ = logging::init(config.log.level, config.log.format);
    runtime()?.block_on(serve(config, demo))?;
    Ok(ExitCode::SUCCESS)
}

/// The loop and the HTTP server until SIGTERM or Ctrl-C; then the state is saved. `demo`:
/// the built-in simulator with this clock, which the loop shares.
async fn serve(mut config: Config, demo: Option<Clock>) -> anyhow::Result<()> {
    server::validate_telemetry_path(&config.web.telemetry_path)?;
    let web = match &config.web.config_file {
        Some(path) => Some(server::load_web_config(path)?),
        None => None,
    };
    // Demo: the simulator in-process on a loopback port, a throwaway state file.
    let demo = match demo {
        Some(clock) => Some(demo::start(&mut config, clock).await?),
        None => None,
    };

    let registry = prometheus::Registry::new();
    let metrics = Arc::new(Metrics::with_registry(
        registry.clone(),
        config.metrics_options(),
    ));
    let mut settings = config.collect_settings();
    if let Some(demo) = &demo {
        settings.clock = demo.clock().clone();
    }
    let state = State::load(&settings.state_path)?;
    let status = Arc::new(StatusBoard::new());
    let collector = Collector::build(
        config.client_options(),
        settings,
        metrics,
        state,
        status.clone(),
        &registry,
    )?;

    let listener = tokio::net::TcpListener::bind(config.web.listen_address)
        .await
        .with_context(|| format!("listening on {}", config.web.listen_address))?;
    let shutdown = CancellationToken::new();
    let server_state = server::ServerState {
        registry,
        status,
        telemetry_path: config.web.telemetry_path.clone(),
        demo: demo.is_some(),
    };
    let server = tokio::spawn(server::serve(listener, web, server_state, shutdown.clone()));
    let collector = tokio::spawn(collector.run(shutdown.clone()));

    wait_for_signal().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    let (collected, served) =
        tokio::time::timeout(SHUTDOWN_GRACE, async { (collector.await, server.await) })
            .await
            .context("shutdown took too long")?;
    collected.context("the collection loop panicked")??;
    served.context("the server panicked")??;
    if let Some(demo) = demo {
        demo.shutdown().await;
    }
    Ok(())
}
