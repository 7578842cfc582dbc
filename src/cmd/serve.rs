//! `serve`: the collection loop and the HTTP server, against Feishu or the built-in simulator.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, ServeArgs};
use crate::clock::{self, Clock};
use crate::collect::state::State;
use crate::collect::Collector;
use crate::config::{self, Config, ConfigError};
use crate::metrics::Metrics;
use crate::server;
use crate::simulator::{Simulator, SimulatorOptions};
use crate::status::StatusBoard;

use super::wait_for_signal;

/// How long shutdown may take before in-flight work is abandoned.
pub(super) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

pub(super) fn load_serve_config(cli: &Cli, args: &ServeArgs) -> Result<Config, ConfigError> {
    Config::load(
        args.config.as_deref(),
        &args.overrides(&cli.log),
        &config::process_env,
    )
}

/// The loop and the HTTP server until SIGTERM or Ctrl-C; then the state is saved. `demo`:
/// the built-in simulator with this clock, which the loop shares.
pub(super) async fn serve(mut config: Config, demo: Option<Clock>) -> anyhow::Result<()> {
    server::validate_telemetry_path(&config.web.telemetry_path)?;
    let web = match &config.web.config_file {
        Some(path) => Some(server::load_web_config(path)?),
        None => None,
    };
    // Demo: the simulator in-process on a loopback port, a throwaway state file.
    let mut _demo_dir = None;
    let simulator = if let Some(clock) = &demo {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("starting the demo simulator")?;
        if !matches!(clock, Clock::System) {
            tracing::info!(
                now = clock.now(),
                "demo: the tenant's clock is pinned by {}",
                clock::DEMO_NOW_ENV
            );
        }
        let options = SimulatorOptions {
            clock: clock.clone(),
            ..SimulatorOptions::default()
        };
        let handle = Simulator::start(listener, options).await;
        config.feishu.base_url = url::Url::parse(&format!("{}/", handle.base_url()))?;
        let dir = tempfile::tempdir().context("creating the demo state directory")?;
        config.state.path = dir.path().join("demo.state.json");
        // Show a full picture within a minute: more exports in flight than a cautious default.
        config.collect.concurrency = config.collect.concurrency.max(8);
        _demo_dir = Some(dir);
        tracing::info!(url = %handle.base_url(), "demo: collecting from the built-in Feishu simulator");
        Some(handle)
    } else {
        None
    };

    let registry = prometheus::Registry::new();
    let metrics = Arc::new(Metrics::with_registry(
        registry.clone(),
        config.metrics_options(),
    ));
    let mut settings = config.collect_settings();
    if let Some(clock) = &demo {
        settings.clock = clock.clone();
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
    if let Some(handle) = simulator {
        handle.shutdown().await;
    }
    Ok(())
}
