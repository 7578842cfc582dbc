//! The command line: raw flags, parsed by clap before anything else happens.
//!
//! `serve` is the default subcommand, so `feishu-vc-exporter --config c.yml` and
//! `feishu-vc-exporter serve --config c.yml` are the same. Flags use the Prometheus exporters'
//! dotted long names (`--web.listen-address`, `--log.level`). No flag of `serve` or `backfill`
//! carries a secret: credentials come from the environment or a file (see [`crate::config`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _};
use clap::{Args, Parser, Subcommand, ValueEnum};
use url::Url;

use crate::config::{parse_duration, parse_listen_address, parse_ratio, ConfigError, Overrides};
use crate::logging::{LogFormat, LogLevel};
use crate::server::{DEFAULT_LISTEN_ADDRESS, DEFAULT_TELEMETRY_PATH};
use crate::simulator::{Faults, SimulatorOptions, DEMO_APP_ID, DEMO_APP_SECRET};

/// What `healthcheck` probes by default: the default port on loopback.
pub const DEFAULT_HEALTHCHECK_URL: &str = "http://127.0.0.1:9874/-/healthy";
/// Where `simulate` listens by default.
pub const DEFAULT_SIMULATOR_LISTEN_ADDRESS: &str = "127.0.0.1:9875";
pub const DEFAULT_SIMULATOR_SEED: u64 = 1;

/// Prometheus exporter for Feishu / Lark video-conferencing exports.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "feishu-vc-exporter",
    version,
    about,
    long_about = None
)]
pub struct Cli {
    #[command(flatten)]
    pub log: LogArgs,

    #[command(subcommand)]
    pub command: Option<Command>,

    /// `serve`'s flags, when they are given without the `serve` subcommand.
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Cli {
    /// Parses the process arguments; on an error, prints it (or the help) and exits with
    /// status 2 (0 for `--help` / `--version`).
    pub fn parse_args() -> Cli {
        Cli::try_parse_args_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// Parses `args` (the first is the program name). Besides clap's checks, `serve`'s flags
    /// given before another subcommand are an error rather than silently ignored.
    pub fn try_parse_args_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = Cli::try_parse_from(args)?;
        if cli.command.is_some() && cli.serve != ServeArgs::default() {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            return Err(cmd.error(
                clap::error::ErrorKind::ArgumentConflict,
                "serve's flags (--config, --demo, --web.*) go after the subcommand they belong to",
            ));
        }
        Ok(cli)
    }

    /// The subcommand to run: `serve` (with the top-level serve flags) when none was named.
    pub fn command_or_serve(&self) -> Command {
        self.command
            .clone()
            .unwrap_or_else(|| Command::Serve(self.serve.clone()))
    }

    /// The log settings from the flags alone, for subcommands without a config file (with a
    /// config file, use `Config::log`, which layers these flags over the file).
    pub fn log_settings(&self) -> (LogLevel, LogFormat) {
        self.log.settings()
    }
}

#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum Command {
    /// Run the collection loop and serve the metrics (the default).
    Serve(ServeArgs),
    /// Read export files downloaded by hand and print their metrics.
    Ingest(IngestArgs),
    /// Pull a past range through the API and write OpenMetrics with timestamps.
    Backfill(BackfillArgs),
    /// Serve the fake Feishu export API alone.
    Simulate(SimulateArgs),
    /// Validate the configuration and print the effective configuration (secrets redacted).
    CheckConfig(CheckConfigArgs),
    /// Probe a running exporter's health endpoint; exit 0 when healthy (for Docker).
    Healthcheck(HealthcheckArgs),
}

/// Global logging flags, accepted before or after the subcommand. Unset flags fall back to the
/// config file's `log` section, then to `info` / `logfmt`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct LogArgs {
    /// Only log messages of this severity or above. RUST_LOG, when set, wins.
    #[arg(
        id = "log.level",
        long = "log.level",
        value_name = "LEVEL",
        value_enum,
        global = true,
        help_heading = "Logging",
        help = format!(
            "Only log messages of this severity or above [default: {}]. RUST_LOG, when set, wins",
            LogLevel::default()
        )
    )]
    pub level: Option<LogLevel>,

    /// Output format of log messages.
    #[arg(
        id = "log.format",
        long = "log.format",
        value_name = "FORMAT",
        value_enum,
        global = true,
        help_heading = "Logging",
        help = format!("Output format of log messages [default: {}]", LogFormat::default())
    )]
    pub format: Option<LogFormat>,
}

impl LogArgs {
    /// The level and format these flags ask for, `info` / `logfmt` where unset.
    pub fn settings(&self) -> (LogLevel, LogFormat) {
        (
            self.level.unwrap_or_default(),
            self.format.unwrap_or_default(),
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct ServeArgs {
    /// YAML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Run against the built-in Feishu simulator: no credentials needed.
    #[arg(long)]
    pub demo: bool,

    /// Address to listen on for the web interface and telemetry.
    #[arg(long = "web.listen-address", value_name = "ADDR", value_parser = parse_listen_address,
          help = format!("Address to listen on for the web interface and telemetry \
                          [default: {DEFAULT_LISTEN_ADDRESS}]"))]
    pub listen_address: Option<SocketAddr>,

    /// Path under which to expose metrics.
    #[arg(long = "web.telemetry-path", value_name = "PATH",
          help = format!("Path under which to expose metrics [default: {DEFAULT_TELEMETRY_PATH}]"))]
    pub telemetry_path: Option<String>,

    /// Web configuration file (exporter-toolkit format: TLS, basic auth).
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,
}

impl ServeArgs {
    /// The flags that override the config file and the environment (`--demo` adds its own:
    /// see `cmd::demo::overrides`).
    pub fn overrides(&self, log: &LogArgs) -> Overrides {
        Overrides {
            listen_address: self.listen_address,
            telemetry_path: self.telemetry_path.clone(),
            web_config_file: self.web_config_file.clone(),
            log_level: log.level,
            log_format: log.format,
            ..Overrides::default()
        }
    }
}

/// The old path of [`crate::cmd::demo::overrides`], kept for `tests/it/support/demo.rs`.
pub use crate::cmd::demo::overrides as demo_overrides;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum IngestFormat {
    /// Prometheus text format: the aggregated metrics.
    #[default]
    Prometheus,
    /// OpenMetrics with each record's own timestamp.
    Openmetrics,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct IngestArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = IngestFormat::Prometheus)]
    pub format: IngestFormat,

    /// Export files (.xlsx); the kind of each is detected from its headers.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct BackfillArgs {
    /// YAML configuration file (credentials from the environment or a secret file).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    /// Start of the range: RFC 3339 (2024-05-01T00:00:00+08:00), a local date-time
    /// (2024-05-01T08:00:00) or a date (2024-05-01), local ones in feishu.timezone.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub from: TimeArg,

    /// End of the range (exclusive), same forms; a date covers that whole day.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub to: TimeArg,

    /// OpenMetrics file to write (for promtool tsdb create-blocks-from openmetrics).
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,

    /// Continue an interrupted backfill into the same output.
    #[arg(long)]
    pub resume: bool,

    /// Time between the samples written: records count at the start of their step.
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = parse_step)]
    pub step: Duration,

    /// A label added to every sample, NAME=VALUE, repeatable: give the job and instance
    /// labels your Prometheus puts on the live exporter so the dashboards show both.
    #[arg(long = "label", value_name = "NAME=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
}

impl BackfillArgs {
    /// The flags that override the config file and the environment.
    pub fn overrides(&self, log: &LogArgs) -> Overrides {
        Overrides {
            log_level: log.level,
            log_format: log.format,
            ..Overrides::default()
        }
    }

    /// The half-open range `[from, to)` with local times read in `tz`; an error unless
    /// `from < to`.
    pub fn range(
        &self,
        tz: FixedOffset,
    ) -> Result<(DateTime<FixedOffset>, DateTime<FixedOffset>), ConfigError> {
        let from = self.from.start(tz);
        let to = self.to.end(tz);
        if from >= to {
            return Err(ConfigError::invalid(
                "--to",
                format!("must be after --from ({from}), got {to}"),
            ));
        }
        Ok((from, to))
    }
}

/// A `--from` / `--to` value. Local forms are resolved against `feishu.timezone` once the
/// configuration is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeArg {
    /// RFC 3339 with an offset.
    Instant(DateTime<FixedOffset>),
    /// A date-time without an offset.
    Local(NaiveDateTime),
    /// A whole day.
    Date(NaiveDate),
}

impl TimeArg {
    /// The instant this names; a date means its first moment.
    pub fn start(&self, tz: FixedOffset) -> DateTime<FixedOffset> {
        match *self {
            TimeArg::Instant(t) => t,
            TimeArg::Local(t) => local(tz, t),
            TimeArg::Date(d) => local(tz, d.and_time(NaiveTime::MIN)),
        }
    }

    /// As an exclusive end: a date means the first moment of the next day.
    pub fn end(&self, tz: FixedOffset) -> DateTime<FixedOffset> {
        match *self {
            TimeArg::Date(d) => {
                let next = d.succ_opt().unwrap_or(d);
                local(tz, next.and_time(NaiveTime::MIN))
            }
            other => other.start(tz),
        }
    }
}

fn local(tz: FixedOffset, t: NaiveDateTime) -> DateTime<FixedOffset> {
    // A fixed offset maps every local time to exactly one instant.
    tz.from_local_datetime(&t)
        .single()
        .expect("fixed offsets are unambiguous")
}

/// Parses a `TIME`: RFC 3339, `YYYY-MM-DDTHH:MM[:SS]` (also with a space), or `YYYY-MM-DD`.
pub fn parse_time(s: &str) -> Result<TimeArg, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(TimeArg::Instant(t));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Ok(TimeArg::Local(t));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(TimeArg::Date(d));
    }
    Err(format!(
        "invalid time {s:?}: expected RFC 3339 (2024-05-01T08:00:00+08:00) or a date (2024-05-01)"
    ))
}

/// `min..max` delays; `2s` alone means exactly that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    pub min: Duration,
    pub max: Duration,
}

/// Parses `1s..4s` (or a single duration) with `min <= max`.
pub fn parse_duration_range(s: &str) -> Result<DurationRange, String> {
    let (min, max) = match s.split_once("..") {
        Some((min, max)) => (parse_duration(min)?, parse_duration(max)?),
        None => {
            let d = parse_duration(s)?;
            (d, d)
        }
    };
    if min > max {
        return Err(format!(
            "invalid range {s:?}: the minimum exceeds the maximum"
        ));
    }
    Ok(DurationRange { min, max })
}

/// Whole seconds, at least one.
fn parse_step(s: &str) -> Result<Duration, String> {
    let step = parse_positive_duration(s)?;
    if step.subsec_nanos() != 0 || step.as_secs() == 0 {
        return Err(format!("{s:?} is not a whole number of seconds"));
    }
    Ok(step)
}

/// `NAME=VALUE`, a valid label name that is not one of the exporter's own.
fn parse_label(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not NAME=VALUE"))?;
    let label = (name.to_owned(), value.to_owned());
    crate::metrics::openmetrics::check_labels(std::slice::from_ref(&label))?;
    Ok(label)
}

fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err("must be more than 0s".to_owned());
    }
    Ok(d)
}

/// The defaults of `simulate`'s flags that are the simulator's own, spelled as the flags are.
struct SimulatorDefaults {
    token_ttl: String,
    task_delay: String,
}

static SIMULATOR: LazyLock<SimulatorDefaults> = LazyLock::new(|| {
    let defaults = SimulatorOptions::default();
    let (min, max) = defaults.task_delay;
    SimulatorDefaults {
        token_ttl: humantime::format_duration(defaults.token_ttl).to_string(),
        task_delay: format!(
            "{}..{}",
            humantime::format_duration(min),
            humantime::format_duration(max)
        ),
    }
});

#[derive(Debug, Clone, PartialEq, Args)]
pub struct SimulateArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_SIMULATOR_LISTEN_ADDRESS,
          value_parser = parse_listen_address)]
    pub listen: SocketAddr,

    /// Seed of the synthetic tenant (same seed, same data).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SIMULATOR_SEED)]
    pub seed: u64,

    /// The app id the simulator accepts.
    #[arg(long = "app-id", value_name = "ID", default_value = DEMO_APP_ID)]
    pub app_id: String,

    /// The app secret the simulator accepts (a fake, hence a flag).
    #[arg(long = "app-secret", value_name = "S", default_value = DEMO_APP_SECRET)]
    pub app_secret: String,

    /// Rate limit of each endpoint, per minute.
    #[arg(long = "requests-per-minute", value_name = "N",
          default_value_t = SimulatorOptions::default().requests_per_minute,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub requests_per_minute: u32,

    /// Lifetime of issued tenant access tokens.
    #[arg(long = "token-ttl", value_name = "DURATION", default_value = SIMULATOR.token_ttl.as_str(),
          value_parser = parse_positive_duration)]
    pub token_ttl: Duration,

    /// How long an export task stays "processing", drawn from this range.
    #[arg(long = "task-delay", value_name = "MIN..MAX", default_value = SIMULATOR.task_delay.as_str(),
          value_parser = parse_duration_range)]
    pub task_delay: DurationRange,

    /// Share of API calls answered with an internal error (121001).
    #[arg(long = "fault.error-rate", value_name = "RATIO", default_value_t = Faults::default().error_rate,
          value_parser = parse_ratio, allow_negative_numbers = true)]
    pub fault_error_rate: f64,

    /// Share of export tasks that end failed (status 2).
    #[arg(long = "fault.failed-task-rate", value_name = "RATIO", default_value_t = Faults::default().failed_task_rate,
          value_parser = parse_ratio, allow_negative_numbers = true)]
    pub fault_failed_task_rate: f64,

    /// Share of downloads cut short.
    #[arg(long = "fault.truncated-download-rate", value_name = "RATIO", default_value_t = Faults::default().truncated_download_rate,
          value_parser = parse_ratio, allow_negative_numbers = true)]
    pub fault_truncated_download_rate: f64,

    /// Share of export tasks that take ten times longer.
    #[arg(long = "fault.slow-task-rate", value_name = "RATIO", default_value_t = Faults::default().slow_task_rate,
          value_parser = parse_ratio, allow_negative_numbers = true)]
    pub fault_slow_task_rate: f64,
}

impl Default for SimulateArgs {
    /// The flag defaults: what `serve --demo` runs the simulator with, bar the address and the
    /// seed.
    fn default() -> Self {
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: SimulateArgs,
        }
        Wrapper::parse_from(["simulate"]).args
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CheckConfigArgs {
    /// YAML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct HealthcheckArgs {
    /// Health endpoint to probe.
    #[arg(long, value_name = "URL", default_value = DEFAULT_HEALTHCHECK_URL,
          value_parser = parse_http_url)]
    pub url: Url,
}

fn parse_http_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("invalid URL {s:?}: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        _ => Err(format!("must be an http or https URL, got {s:?}")),
    }
}

#[cfg(test)]
mod tests;
