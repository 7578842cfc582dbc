//! The binary: parse flags, pick the subcommand, wire the parts together.

use std::process::ExitCode;

use anyhow::Context as _;
use feishu_vc_exporter::cli::{Cli, Command, IngestArgs, IngestFormat};
use feishu_vc_exporter::config::{self, Config, ConfigError};
use feishu_vc_exporter::ingest::ingest_file;
use feishu_vc_exporter::logging;
use feishu_vc_exporter::metrics::{Metrics, MetricsOptions};
use feishu_vc_exporter::sheet::ParseOptions;

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
            eprintln!("feishu-vc-exporter: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    match cli.command_or_serve() {
        Command::Ingest(args) => {
            init_logging(cli);
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
        other => anyhow::bail!("{} is not built yet", command_name(&other)),
    }
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Serve(_) => "serve",
        Command::Ingest(_) => "ingest",
        Command::Backfill(_) => "backfill",
        Command::Simulate(_) => "simulate",
        Command::CheckConfig(_) => "check-config",
        Command::Healthcheck(_) => "healthcheck",
    }
}

fn init_logging(cli: &Cli) {
    let (level, format) = cli.log_settings();
    // Only fails when a subscriber is already set, which main never does twice.
    let _ = logging::init(level, format);
}

/// Prints the metrics of every readable file; exit 1 after naming each file that was not.
fn ingest(args: &IngestArgs) -> anyhow::Result<ExitCode> {
    if args.format == IngestFormat::Openmetrics {
        anyhow::bail!("--format openmetrics is not built yet");
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
