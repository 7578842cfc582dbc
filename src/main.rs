//! The binary: parse flags, pick the subcommand, wire the parts together.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use feishu_vc_exporter::cli::{Cli, Command, IngestArgs, IngestFormat, ServeArgs, SimulateArgs};
use feishu_vc_exporter::clock::{self, Clock};
use feishu_vc_exporter::collect::state::State;
use feishu_vc_exporter::collect::{backfill, Collector};
use feishu_vc_exporter::config::{self, Config, ConfigError};
use feishu_vc_exporter::ingest::{ingest_file, replay_file};
use feishu_vc_exporter::logging;
use feishu_vc_exporter::metrics::openmetrics::{check_labels, Replay, StepWriter};
use feishu_vc_exporter::metrics::{Metrics, MetricsOptions};
use feishu_vc_exporter::server::{self, ServerError};
use feishu_vc_exporter::sheet::ParseOptions;
use feishu_vc_exporter::simulator::{Faults, Simulator, SimulatorHandle, SimulatorOptions};
use feishu_vc_exporter::status::StatusBoard;
use tokio_util::sync::CancellationToken;

/// How long shutdown may take before in-flight work is abandoned.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let cli = Cli::parse_args();
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
    }
}

/// The simulator's clock: the system's, unless a test pins it with `FEISHU_VC_DEMO_NOW`.
fn demo_clock() -> Result<Clock, ConfigError> {
    Clock::from_demo_env().map_err(|message| ConfigError::invalid(clock::DEMO_NOW_ENV, message))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn init_logging_from_flags(cli: &Cli) {
    let (level, format) = cli.log_settings();
    // Only fails when a subscriber is already set, which main never does twice.
    let _ = logging::init(level, format);
}

fn load_serve_config(cli: &Cli, args: &ServeArgs) -> Result<Config, ConfigError> {
    Config::load(
        args.config.as_deref(),
        &args.overrides(&cli.log),
        &config::process_env,
    )
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

/// The loop and the HTTP server until SIGTERM or Ctrl-C; then the state is saved. `demo`:
/// the built-in simulator with this clock, which the loop shares.
async fn serve(mut config: Config, demo: Option<Clock>) -> anyhow::Result<()> {
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

/// The simulator alone, until SIGTERM or Ctrl-C.
async fn simulate(args: &SimulateArgs, clock: Clock) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let options = SimulatorOptions {
        seed: args.seed,
        app_id: args.app_id.clone(),
        app_secret: args.app_secret.clone(),
        requests_per_minute: args.requests_per_minute,
        token_ttl: args.token_ttl,
        task_delay: (args.task_delay.min, args.task_delay.max),
        faults: Faults {
            error_rate: args.fault_error_rate,
            failed_task_rate: args.fault_failed_task_rate,
            truncated_download_rate: args.fault_truncated_download_rate,
            slow_task_rate: args.fault_slow_task_rate,
        },
        clock,
    };
    let handle: SimulatorHandle = Simulator::start(listener, options).await;
    tracing::info!(url = %handle.base_url(), "simulator listening");
    println!("{}", handle.base_url());
    wait_for_signal().await;
    handle.shutdown().await;
    Ok(())
}

/// Exit 0 when the exporter's health endpoint answers (the Docker HEALTHCHECK): 200, or 401
/// when basic auth guards every endpoint (the process is alive and answering).
async fn healthcheck(url: &str) -> anyhow::Result<ExitCode> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    match client.get(url).send().await {
        Ok(response)
            if response.status().is_success()
                || response.status() == reqwest::StatusCode::UNAUTHORIZED =>
        {
            Ok(ExitCode::SUCCESS)
        }
        Ok(response) => {
            eprintln!("{url}: HTTP {}", response.status());
            Ok(ExitCode::FAILURE)
        }
        Err(error) => {
            eprintln!("{url}: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}
