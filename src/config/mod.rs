//! Configuration: defaults < YAML file < environment < flags, validated into one [`Config`].
//!
//! The YAML file is read into raw structs (`deny_unknown_fields`, every key optional), the
//! environment and then the flags are laid over it, and [`Config::load`] validates the result
//! into typed values. Every error is a [`ConfigError`] whose `Display` is one line naming the
//! key (`collect.interval`), environment variable (`FEISHU_BASE_URL`) or flag
//! (`--web.telemetry-path`) at fault, and never a secret value.
//!
//! Secrets (the app secret, a user access token) come only from the environment or a file:
//! `FEISHU_APP_SECRET`, else `FEISHU_APP_SECRET_FILE`, else `feishu.app_secret_file`;
//! `FEISHU_USER_ACCESS_TOKEN`. They are held as [`Secret`] and print as `<redacted>`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::FixedOffset;
use serde::de::{self, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

use crate::logging::{LogFormat, LogLevel};
use crate::secret::Secret;

use crate::collect::budget::Budget;
use crate::collect::state::DEFAULT_STATE_PATH;
use crate::collect::{
    RoomsSettings, Settings as CollectSettings, DEFAULT_CONCURRENCY, DEFAULT_INTERVAL,
    DEFAULT_LOOKBACK, DEFAULT_QUALITY_MAX_PER_CYCLE, DEFAULT_QUALITY_SAMPLE_RATIO, MIN_INTERVAL,
};
use crate::feishu::{
    ClientOptions, Credentials, PollOptions, UserIdType, DEFAULT_BASE_URL,
    DEFAULT_POLL_INITIAL_DELAY, DEFAULT_POLL_MAX_DELAY, DEFAULT_POLL_TIMEOUT,
    DEFAULT_REQUESTS_PER_MINUTE, MAX_REQUESTS_PER_MINUTE,
};
use crate::metrics::{MetricsOptions, PoorThresholds, QualityLabel, DEFAULT_MAX_LABEL_VALUES};
use crate::server::{
    check_telemetry_path, BadTelemetryPath, DEFAULT_LISTEN_ADDRESS, DEFAULT_TELEMETRY_PATH,
};
use crate::sheet::ParseOptions;

pub const ENV_APP_ID: &str = "FEISHU_APP_ID";
pub const ENV_APP_SECRET: &str = "FEISHU_APP_SECRET";
pub const ENV_APP_SECRET_FILE: &str = "FEISHU_APP_SECRET_FILE";
pub const ENV_BASE_URL: &str = "FEISHU_BASE_URL";
pub const ENV_USER_ACCESS_TOKEN: &str = "FEISHU_USER_ACCESS_TOKEN";

/// Where environment variables come from: [`process_env`] in the binary, a closure over a map
/// in tests.
pub type EnvSource<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads the process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

// ---------------------------------------------------------------------------------------------
// The validated configuration
// ---------------------------------------------------------------------------------------------

/// The validated, effective configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub feishu: FeishuConfig,
    pub collect: CollectConfig,
    pub metrics: MetricsConfig,
    pub state: StateConfig,
    pub web: WebConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeishuConfig {
    /// An http(s) URL whose path ends with `/`, so `base_url.join("open-apis/…")` works.
    pub base_url: Url,
    pub credentials: Credentials,
    /// The file the app secret was read from, if it came from a file (for `check-config`).
    pub app_secret_file: Option<PathBuf>,
    pub user_id_type: UserIdType,
    /// Per endpoint, 1..=100.
    pub requests_per_minute: u32,
    /// `None` = unlimited (the file's `0`).
    pub monthly_call_budget: Option<u64>,
    /// For export times without an offset, and for dates on the command line.
    pub timezone: FixedOffset,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CollectConfig {
    /// At least 30 s.
    pub interval: Duration,
    /// At least `interval`.
    pub lookback: Duration,
    /// Export tasks in flight at once, at least 1.
    pub concurrency: usize,
    pub meetings_in_progress: bool,
    pub participants: bool,
    pub quality: QualityConfig,
    /// `None` when room exports are off.
    pub rooms: Option<RoomsSettings>,
    pub poll: PollConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QualityConfig {
    /// Implies `collect.participants`.
    pub enabled: bool,
    /// At least 1.
    pub max_per_cycle: u32,
    /// 0..=1: the share of new participant sessions whose quality is exported.
    pub sample_ratio: f64,
}

/// Export-task polling: first poll after `initial_delay`, backing off up to `max_delay`, giving
/// up after `timeout`. `initial_delay <= max_delay <= timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollConfig {
    pub initial_delay: Duration,
    pub max_delay: Duration,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    /// Extra labels of the quality histograms, deduplicated, in the order given.
    pub quality_labels: Vec<QualityLabel>,
    /// Distinct values per free-form label before `other`, at least 1.
    pub max_label_values: usize,
    pub poor_thresholds: PoorThresholds,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateConfig {
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfig {
    pub listen_address: SocketAddr,
    /// Starts with `/`; not `/`, `/-/healthy` nor `/-/ready`.
    pub telemetry_path: String,
    /// An exporter-toolkit web config (TLS, basic auth); read by the server.
    pub config_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogConfig {
    pub level: LogLevel,
    pub format: LogFormat,
}

/// Values given on the command line; they win over the environment and the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Use these credentials: any in the file or environment are ignored (`--demo`: the
    /// simulator's, see `cli::demo_overrides`).
    pub credentials: Option<Credentials>,
    /// Export the rooms under this room-level node unless the file turns rooms on or off itself
    /// (`--demo`: the simulator's whole tree).
    pub default_room_level_id: Option<String>,
    pub listen_address: Option<SocketAddr>,
    pub telemetry_path: Option<String>,
    pub web_config_file: Option<PathBuf>,
    pub log_level: Option<LogLevel>,
    pub log_format: Option<LogFormat>,
}

/// A configuration error: one line naming the key, environment variable or flag at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {error}", path.display())]
    ReadFile {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The YAML does not parse or does not fit the schema (unknown key, wrong type, …).
    #[error("{origin}: {}", key_message(.key.as_deref(), .message))]
    Parse {
        origin: String,
        key: Option<String>,
        message: String,
    },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
    #[error("{key}: cannot read secret file {}: {error}", path.display())]
    SecretFile {
        key: String,
        path: PathBuf,
        error: std::io::Error,
    },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::invalid(key, message)
}

fn key_message(key: Option<&str>, message: &str) -> String {
    match key {
        Some(key) => format!("{key}: {message}"),
        None => message.to_owned(),
    }
}

impl ConfigError {
    /// The exit status for a bad configuration.
    pub const EXIT_CODE: i32 = 2;

    /// The key, environment variable or flag at fault, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::ReadFile { .. } => None,
            ConfigError::Parse { key, .. } => key.as_deref(),
            ConfigError::Invalid { key, .. } | ConfigError::SecretFile { key, .. } => Some(key),
        }
    }

    pub fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl Config {
    /// Loads the effective configuration: defaults < `file` (if any) < `env` < `overrides`.
    pub fn load(
        file: Option<&Path>,
        overrides: &Overrides,
        env: EnvSource<'_>,
    ) -> Result<Config, ConfigError> {
        let raw = match file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|error| ConfigError::ReadFile {
                        path: path.to_owned(),
                        error,
                    })?;
                RawConfig::parse(&text, &path.display().to_string())?
            }
            None => RawConfig::default(),
        };
        raw.resolve(overrides, env)
    }

    /// Like [`Config::load`] with the YAML text given; `origin` names it in errors.
    pub fn from_yaml_str(
        yaml: &str,
        origin: &str,
        overrides: &Overrides,
        env: EnvSource<'_>,
    ) -> Result<Config, ConfigError> {
        RawConfig::parse(yaml, origin)?.resolve(overrides, env)
    }

    /// The effective configuration as YAML, for `check-config`: every key, with the app secret
    /// and the user access token shown as `<redacted>`. Apart from those two keys it loads
    /// back into the same configuration.
    pub fn to_yaml(&self) -> String {
        let raw = RawConfig::from(self);
        let mut value = serde_norway::to_value(&raw).expect("the config serializes");
        if let Some(feishu) = value.get_mut("feishu").and_then(|v| v.as_mapping_mut()) {
            let redacted = || serde_norway::Value::String(Secret::default().to_string());
            match &self.feishu.credentials {
                Credentials::App { .. } => {
                    feishu.insert("app_secret".into(), redacted());
                }
                Credentials::UserToken(_) => {
                    feishu.insert("user_access_token".into(), redacted());
                }
            }
        }
        serde_norway::to_string(&value).expect("the config serializes")
    }
}

// ---------------------------------------------------------------------------------------------
// The parts' settings: the only place the configuration turns into them
// ---------------------------------------------------------------------------------------------

impl Config {
    /// The API client's options (base URL, credentials, user id type, rate).
    pub fn client_options(&self) -> ClientOptions {
        let mut options = ClientOptions::new(
            self.feishu.base_url.clone(),
            self.feishu.credentials.clone(),
        );
        options.user_id_type = self.feishu.user_id_type;
        options.requests_per_minute = self.feishu.requests_per_minute;
        options
    }

    /// What the collection loop needs (the system clock; demo mode sets the simulator's).
    pub fn collect_settings(&self) -> CollectSettings {
        let c = &self.collect;
        CollectSettings {
            interval: c.interval,
            lookback: c.lookback,
            concurrency: c.concurrency.max(1),
            meetings_in_progress: c.meetings_in_progress,
            participants: c.participants,
            quality: c.quality.enabled,
            quality_max_per_cycle: c.quality.max_per_cycle as usize,
            quality_sample_ratio: c.quality.sample_ratio,
            rooms: c.rooms.clone(),
            poll: PollOptions {
                initial_delay: c.poll.initial_delay,
                max_delay: c.poll.max_delay,
                timeout: c.poll.timeout,
            },
            parse: ParseOptions {
                default_offset: self.feishu.timezone,
            },
            budget: self.feishu.monthly_call_budget.map(|monthly_calls| Budget {
                monthly_calls,
                timezone: self.feishu.timezone,
            }),
            ..CollectSettings::new(self.state.path.clone())
        }
    }

    /// The metrics' options (quality labels, label cap, poor-quality thresholds).
    pub fn metrics_options(&self) -> MetricsOptions {
        MetricsOptions {
            quality_labels: self.metrics.quality_labels.clone(),
            max_label_values: self.metrics.max_label_values,
            poor_thresholds: self.metrics.poor_thresholds,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Value parsers shared with the command line
// ---------------------------------------------------------------------------------------------

/// A listen address: `host:port`, `:port` (all IPv4 interfaces), `[ipv6]:port` or
/// `localhost:port`.
pub fn parse_listen_address(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Some(port) = s.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| format!("invalid port in {s:?}"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Some((host, port)) = s.rsplit_once(':') {
        if host.eq_ignore_ascii_case("localhost") {
            let port: u16 = port.parse().map_err(|_| format!("invalid port in {s:?}"))?;
            return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
        }
    }
    Err(format!(
        "invalid listen address {s:?}: expected IP:PORT, :PORT or [IPv6]:PORT"
    ))
}

/// A duration in humantime form: `300ms`, `30s`, `5m`, `24h`, `1h 30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|_| format!("invalid duration {s:?}: expected e.g. 300ms, 30s, 5m, 24h"))
}

/// A ratio in 0..=1.
pub fn parse_ratio(s: &str) -> Result<f64, String> {
    let value: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("invalid number {s:?}"))?;
    check_ratio(value)
}

fn check_ratio(value: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be a ratio between 0 and 1, got {value}"))
    }
}

/// A fixed UTC offset: `+08:00`, `+0800`, `+8`, `-05:30`, `UTC`, `Z`, `GMT`, `UTC+8`,
/// `GMT+08:00`. IANA names (`Asia/Shanghai`) are not supported.
pub fn parse_timezone(s: &str) -> Result<FixedOffset, String> {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return Err("empty time zone: expected an offset such as +08:00, or UTC".to_owned());
    }
    let upper = trimmed.to_ascii_uppercase();
    let rest = upper
        .strip_prefix("UTC")
        .or_else(|| upper.strip_prefix("GMT"))
        .unwrap_or(&upper);
    if rest.is_empty() || rest == "Z" {
        return Ok(FixedOffset::east_opt(0).expect("zero offset"));
    }
    let bad = || {
        if trimmed.contains('/') {
            format!(
                "unsupported time zone {trimmed:?}: IANA names are not supported, use a fixed offset such as +08:00"
            )
        } else {
            format!(
                "invalid time zone {trimmed:?}: expected an offset such as +08:00, -05:30, or UTC"
            )
        }
    };
    let (sign, digits) = match rest.as_bytes()[0] {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return Err(bad()),
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None if digits.len() == 4 => digits.split_at(2),
        None => (digits, "0"),
    };
    let all_digits =
        |p: &str| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) {
        return Err(bad());
    }
    let hours: i32 = hours.parse().map_err(|_| bad())?;
    let minutes: i32 = minutes.parse().map_err(|_| bad())?;
    if hours > 14 || minutes > 59 || (hours == 14 && minutes > 0) {
        return Err(format!(
            "invalid time zone {trimmed:?}: offsets range from -14:00 to +14:00"
        ));
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).ok_or_else(bad)
}

/// A duration as the file would spell it: the largest whole unit (`24h`, `5m`, `300ms`).
fn format_duration(d: Duration) -> String {
    let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
    if nanos == 0 {
        if secs > 0 && secs % 3600 == 0 {
            format!("{}h", secs / 3600)
        } else if secs > 0 && secs % 60 == 0 {
            format!("{}m", secs / 60)
        } else {
            format!("{secs}s")
        }
    } else if nanos % 1_000_000 == 0 {
        format!("{}ms", d.as_millis())
    } else {
        humantime::format_duration(d).to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// The raw file schema
// ---------------------------------------------------------------------------------------------

/// A duration in the file: a humantime string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HumanDuration(Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"300ms\", \"30s\", \"5m\" or \"24h\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<HumanDuration, E> {
                parse_duration(s).map(HumanDuration).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

/// A time zone in the file: a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TimeZone(FixedOffset);

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = TimeZone;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a UTC offset such as \"+08:00\" or \"UTC\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TimeZone, E> {
                parse_timezone(s).map(TimeZone).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl Serialize for TimeZone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawConfig {
    feishu: RawFeishu,
    collect: RawCollect,
    metrics: RawMetrics,
    state: RawState,
    web: RawWeb,
    log: RawLog,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawFeishu {
    #[serde(skip_serializing_if = "Option::is_none")]
    base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_secret_file: Option<PathBuf>,
    /// Present only to reject it with a pointer to the right place; the value is never read.
    #[serde(skip_serializing)]
    app_secret: Option<IgnoredAny>,
    #[serde(skip_serializing)]
    user_access_token: Option<IgnoredAny>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id_type: Option<UserIdType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requests_per_minute: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    monthly_call_budget: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timezone: Option<TimeZone>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawCollect {
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lookback: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    concurrency: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    meetings_in_progress: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    participants: Option<bool>,
    quality: RawQuality,
    rooms: RawRooms,
    poll: RawPoll,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawQuality {
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_per_cycle: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sample_ratio: Option<f64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawRooms {
    /// Unset: on exactly when `room_level_id` is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    room_level_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    room_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exclude: Option<bool>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawPoll {
    #[serde(skip_serializing_if = "Option::is_none")]
    initial_delay: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_delay: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<HumanDuration>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawMetrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    quality_labels: Option<Vec<QualityLabel>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_label_values: Option<usize>,
    poor_thresholds: RawPoorThresholds,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawPoorThresholds {
    #[serde(skip_serializing_if = "Option::is_none")]
    latency: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jitter: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    packet_loss: Option<f64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawState {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawWeb {
    #[serde(skip_serializing_if = "Option::is_none")]
    listen_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    telemetry_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    config_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RawLog {
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<LogLevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<LogFormat>,
}

impl From<&Config> for RawConfig {
    fn from(c: &Config) -> Self {
        let d = HumanDuration;
        let rooms = match &c.collect.rooms {
            Some(r) => RawRooms {
                enabled: Some(true),
                room_level_id: Some(r.room_level_id.clone()),
                room_ids: Some(r.room_ids.clone()),
                exclude: Some(r.exclude),
            },
            None => RawRooms {
                enabled: Some(false),
                ..RawRooms::default()
            },
        };
        RawConfig {
            feishu: RawFeishu {
                base_url: Some(c.feishu.base_url.to_string()),
                app_id: c.feishu.credentials.app_id().map(str::to_owned),
                app_secret_file: c.feishu.app_secret_file.clone(),
                app_secret: None,
                user_access_token: None,
                user_id_type: Some(c.feishu.user_id_type),
                requests_per_minute: Some(c.feishu.requests_per_minute),
                monthly_call_budget: Some(c.feishu.monthly_call_budget.unwrap_or(0)),
                timezone: Some(TimeZone(c.feishu.timezone)),
            },
            collect: RawCollect {
                interval: Some(d(c.collect.interval)),
                lookback: Some(d(c.collect.lookback)),
                concurrency: Some(c.collect.concurrency),
                meetings_in_progress: Some(c.collect.meetings_in_progress),
                participants: Some(c.collect.participants),
                quality: RawQuality {
                    enabled: Some(c.collect.quality.enabled),
                    max_per_cycle: Some(c.collect.quality.max_per_cycle),
                    sample_ratio: Some(c.collect.quality.sample_ratio),
                },
                rooms,
                poll: RawPoll {
                    initial_delay: Some(d(c.collect.poll.initial_delay)),
                    max_delay: Some(d(c.collect.poll.max_delay)),
                    timeout: Some(d(c.collect.poll.timeout)),
                },
            },
            metrics: RawMetrics {
                quality_labels: Some(c.metrics.quality_labels.clone()),
                max_label_values: Some(c.metrics.max_label_values),
                poor_thresholds: RawPoorThresholds {
                    latency: Some(d(c.metrics.poor_thresholds.latency)),
                    jitter: Some(d(c.metrics.poor_thresholds.jitter)),
                    packet_loss: Some(c.metrics.poor_thresholds.packet_loss),
                },
            },
            state: RawState {
                path: Some(c.state.path.clone()),
            },
            web: RawWeb {
                listen_address: Some(c.web.listen_address.to_string()),
                telemetry_path: Some(c.web.telemetry_path.clone()),
                config_file: c.web.config_file.clone(),
            },
            log: RawLog {
                level: Some(c.log.level),
                format: Some(c.log.format),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing, layering, validation
// ---------------------------------------------------------------------------------------------

impl RawConfig {
    fn parse(yaml: &str, origin: &str) -> Result<RawConfig, ConfigError> {
        // An empty file (or one of only comments) is an empty document: all defaults.
        let parsed: Option<RawConfig> =
            serde_norway::from_str(yaml).map_err(|e| yaml_error(&e, origin))?;
        Ok(parsed.unwrap_or_default())
    }

    fn resolve(self, overrides: &Overrides, env: EnvSource<'_>) -> Result<Config, ConfigError> {
        let env_var = |name: &str| {
            env(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        // --- feishu -------------------------------------------------------------------------
        let f = self.feishu;
        if f.app_secret.is_some() {
            return Err(invalid(
                "feishu.app_secret",
                format!(
                    "secrets are not read from the config file; set {ENV_APP_SECRET}, \
                     {ENV_APP_SECRET_FILE} or feishu.app_secret_file"
                ),
            ));
        }
        if f.user_access_token.is_some() {
            return Err(invalid(
                "feishu.user_access_token",
                format!("secrets are not read from the config file; set {ENV_USER_ACCESS_TOKEN}"),
            ));
        }
        let (base_url, base_url_key) = match env_var(ENV_BASE_URL) {
            Some(url) => (url, ENV_BASE_URL),
            None => (
                f.base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
                "feishu.base_url",
            ),
        };
        let base_url = parse_base_url(&base_url).map_err(|m| invalid(base_url_key, m))?;

        let (credentials, app_secret_file) = match &overrides.credentials {
            Some(credentials) => (credentials.clone(), None),
            None => resolve_credentials(f.app_id, f.app_secret_file, &env_var)?,
        };

        let requests_per_minute = f.requests_per_minute.unwrap_or(DEFAULT_REQUESTS_PER_MINUTE);
        if !(1..=MAX_REQUESTS_PER_MINUTE).contains(&requests_per_minute) {
            return Err(invalid(
                "feishu.requests_per_minute",
                format!(
                    "must be between 1 and {MAX_REQUESTS_PER_MINUTE} (the API allows 100 a \
                     minute per endpoint), got {requests_per_minute}"
                ),
            ));
        }
        let timezone = match f.timezone {
            Some(TimeZone(tz)) => tz,
            None => ParseOptions::default().default_offset,
        };
        let feishu = FeishuConfig {
            base_url,
            credentials,
            app_secret_file,
            user_id_type: f.user_id_type.unwrap_or_default(),
            requests_per_minute,
            monthly_call_budget: f.monthly_call_budget.filter(|&b| b > 0),
            timezone,
        };

        // --- collect ------------------------------------------------------------------------
        let c = self.collect;
        let dur = |v: Option<HumanDuration>, default: Duration| v.map_or(default, |d| d.0);
        let interval = dur(c.interval, DEFAULT_INTERVAL);
        if interval < MIN_INTERVAL {
            return Err(invalid(
                "collect.interval",
                format!(
                    "must be at least {}, got {}",
                    format_duration(MIN_INTERVAL),
                    format_duration(interval)
                ),
            ));
        }
        let lookback = dur(c.lookback, DEFAULT_LOOKBACK);
        if lookback < interval {
            return Err(invalid(
                "collect.lookback",
                format!(
                    "must be at least collect.interval ({}), got {}",
                    format_duration(interval),
                    format_duration(lookback)
                ),
            ));
        }
        let concurrency = c.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if concurrency < 1 {
            return Err(invalid("collect.concurrency", "must be at least 1, got 0"));
        }
        let participants = c.participants.unwrap_or(true);

        let quality = QualityConfig {
            enabled: c.quality.enabled.unwrap_or(true),
            max_per_cycle: c
                .quality
                .max_per_cycle
                .unwrap_or(DEFAULT_QUALITY_MAX_PER_CYCLE),
            sample_ratio: c
                .quality
                .sample_ratio
                .unwrap_or(DEFAULT_QUALITY_SAMPLE_RATIO),
        };
        if quality.enabled && !participants {
            return Err(invalid(
                "collect.quality.enabled",
                "needs collect.participants: true (quality is exported per participant session); \
                 set collect.quality.enabled: false",
            ));
        }
        if quality.max_per_cycle < 1 {
            return Err(invalid(
                "collect.quality.max_per_cycle",
                "must be at least 1, got 0 (to turn quality exports off, set collect.quality.enabled: false)",
            ));
        }
        check_ratio(quality.sample_ratio)
            .map_err(|m| invalid("collect.quality.sample_ratio", m))?;

        let rooms = {
            let r = c.rooms;
            let mut level = r.room_level_id.map(|s| s.trim().to_owned());
            if r.enabled.is_none() && level.is_none() {
                level.clone_from(&overrides.default_room_level_id);
            }
            let enabled = r.enabled.unwrap_or(level.is_some());
            if enabled {
                let room_level_id =
                    match level {
                        Some(id) if !id.is_empty() => id,
                        _ => return Err(invalid(
                            "collect.rooms.room_level_id",
                            "required when collect.rooms.enabled is true (the room-level node to \
                             export, e.g. omb_…); or set collect.rooms.enabled: false",
                        )),
                    };
                let room_ids: Vec<String> = r
                    .room_ids
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| s.trim().to_owned())
                    .collect();
                if let Some(i) = room_ids.iter().position(String::is_empty) {
                    return Err(invalid(
                        format!("collect.rooms.room_ids[{i}]"),
                        "must not be empty",
                    ));
                }
                Some(RoomsSettings {
                    room_level_id,
                    room_ids,
                    exclude: r.exclude.unwrap_or(false),
                })
            } else {
                None
            }
        };

        let poll = PollConfig {
            initial_delay: dur(c.poll.initial_delay, DEFAULT_POLL_INITIAL_DELAY),
            max_delay: dur(c.poll.max_delay, DEFAULT_POLL_MAX_DELAY),
            timeout: dur(c.poll.timeout, DEFAULT_POLL_TIMEOUT),
        };
        if poll.initial_delay.is_zero() {
            return Err(invalid(
                "collect.poll.initial_delay",
                "must be more than 0s",
            ));
        }
        if poll.initial_delay > poll.max_delay {
            return Err(invalid(
                "collect.poll.initial_delay",
                format!(
                    "must not exceed collect.poll.max_delay ({}), got {}",
                    format_duration(poll.max_delay),
                    format_duration(poll.initial_delay)
                ),
            ));
        }
        if poll.max_delay > poll.timeout {
            return Err(invalid(
                "collect.poll.max_delay",
                format!(
                    "must not exceed collect.poll.timeout ({}), got {}",
                    format_duration(poll.timeout),
                    format_duration(poll.max_delay)
                ),
            ));
        }
        let collect = CollectConfig {
            interval,
            lookback,
            concurrency,
            meetings_in_progress: c.meetings_in_progress.unwrap_or(true),
            participants,
            quality,
            rooms,
            poll,
        };

        // --- metrics ------------------------------------------------------------------------
        let m = self.metrics;
        let mut quality_labels = Vec::new();
        for label in m.quality_labels.unwrap_or_default() {
            if !quality_labels.contains(&label) {
                quality_labels.push(label);
            }
        }
        let max_label_values = m.max_label_values.unwrap_or(DEFAULT_MAX_LABEL_VALUES);
        if max_label_values < 1 {
            return Err(invalid(
                "metrics.max_label_values",
                "must be at least 1, got 0",
            ));
        }
        let t = m.poor_thresholds;
        let defaults = PoorThresholds::default();
        let poor_thresholds = PoorThresholds {
            latency: t.latency.map_or(defaults.latency, |d| d.0),
            jitter: t.jitter.map_or(defaults.jitter, |d| d.0),
            packet_loss: t.packet_loss.unwrap_or(defaults.packet_loss),
        };
        if poor_thresholds.latency.is_zero() {
            return Err(invalid(
                "metrics.poor_thresholds.latency",
                "must be more than 0s",
            ));
        }
        if poor_thresholds.jitter.is_zero() {
            return Err(invalid(
                "metrics.poor_thresholds.jitter",
                "must be more than 0s",
            ));
        }
        check_ratio(poor_thresholds.packet_loss)
            .map_err(|m| invalid("metrics.poor_thresholds.packet_loss", m))?;
        let metrics = MetricsConfig {
            quality_labels,
            max_label_values,
            poor_thresholds,
        };

        // --- state --------------------------------------------------------------------------
        let path = self
            .state
            .path
            .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_PATH));
        if path.as_os_str().is_empty() {
            return Err(invalid("state.path", "must not be empty"));
        }
        let state = StateConfig { path };

        // --- web (file, then flags) ---------------------------------------------------------
        let w = self.web;
        let listen_address = match overrides.listen_address {
            Some(addr) => addr,
            None => parse_listen_address(
                w.listen_address
                    .as_deref()
                    .unwrap_or(DEFAULT_LISTEN_ADDRESS),
            )
            .map_err(|m| invalid("web.listen_address", m))?,
        };
        let (telemetry_path, telemetry_key) = match &overrides.telemetry_path {
            Some(p) => (p.clone(), "--web.telemetry-path"),
            None => (
                w.telemetry_path
                    .unwrap_or_else(|| DEFAULT_TELEMETRY_PATH.to_owned()),
                "web.telemetry_path",
            ),
        };
        self::telemetry_path(&telemetry_path).map_err(|m| invalid(telemetry_key, m))?;
        let web = WebConfig {
            listen_address,
            telemetry_path,
            config_file: overrides.web_config_file.clone().or(w.config_file),
        };

        // --- log (file, then flags) ---------------------------------------------------------
        let log = LogConfig {
            level: overrides.log_level.or(self.log.level).unwrap_or_default(),
            format: overrides.log_format.or(self.log.format).unwrap_or_default(),
        };

        Ok(Config {
            feishu,
            collect,
            metrics,
            state,
            web,
            log,
        })
    }
}

/// Credentials from the file and the environment; the user token wins over app credentials.
fn resolve_credentials(
    file_app_id: Option<String>,
    file_secret_file: Option<PathBuf>,
    env_var: &dyn Fn(&str) -> Option<String>,
) -> Result<(Credentials, Option<PathBuf>), ConfigError> {
    if let Some(token) = env_var(ENV_USER_ACCESS_TOKEN) {
        return Ok((Credentials::UserToken(Secret::new(token)), None));
    }
    let app_id = env_var(ENV_APP_ID).or_else(|| {
        file_app_id
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    });
    let (secret, secret_file) = if let Some(secret) = env_var(ENV_APP_SECRET) {
        (Some(Secret::new(secret)), None)
    } else {
        let source = match env_var(ENV_APP_SECRET_FILE) {
            Some(path) => Some((PathBuf::from(path), ENV_APP_SECRET_FILE)),
            None => file_secret_file
                .filter(|p| !p.as_os_str().is_empty())
                .map(|p| (p, "feishu.app_secret_file")),
        };
        match source {
            Some((path, key)) => {
                let secret = read_secret_file(&path, key)?;
                (Some(secret), Some(path))
            }
            None => (None, None),
        }
    };
    match (app_id, secret) {
        (Some(app_id), Some(app_secret)) => {
            Ok((Credentials::App { app_id, app_secret }, secret_file))
        }
        (Some(_), None) => Err(ConfigError::invalid(
            ENV_APP_SECRET,
            format!(
                "no app secret for feishu.app_id: set {ENV_APP_SECRET}, {ENV_APP_SECRET_FILE} \
                 or feishu.app_secret_file"
            ),
        )),
        (None, Some(_)) => Err(ConfigError::invalid(
            "feishu.app_id",
            format!("missing (an app secret is set): set feishu.app_id or {ENV_APP_ID}"),
        )),
        (None, None) => Err(ConfigError::invalid(
            "feishu.app_id",
            format!(
                "no Feishu credentials: set feishu.app_id (or {ENV_APP_ID}) and {ENV_APP_SECRET} \
                 (or {ENV_APP_SECRET_FILE}, feishu.app_secret_file), or {ENV_USER_ACCESS_TOKEN}; \
                 or run with --demo"
            ),
        )),
    }
}

/// Reads a secret file; surrounding whitespace (a trailing newline) is dropped.
fn read_secret_file(path: &Path, key: &str) -> Result<Secret, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::SecretFile {
        key: key.to_owned(),
        path: path.to_owned(),
        error,
    })?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(ConfigError::invalid(
            key,
            format!("secret file {} is empty", path.display()),
        ));
    }
    Ok(Secret::new(secret))
}

fn parse_base_url(s: &str) -> Result<Url, String> {
    let mut url = Url::parse(s.trim()).map_err(|e| format!("invalid URL {s:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("must be an http or https URL, got {s:?}"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("must name a host, got {s:?}"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "must not carry a query, fragment or user name, got {s:?}"
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The server's rule ([`check_telemetry_path`]), worded for the config.
fn telemetry_path(path: &str) -> Result<(), String> {
    check_telemetry_path(path).map_err(|bad| match bad {
        BadTelemetryPath::NotAbsolute => format!("must start with /, got {path:?}"),
        BadTelemetryPath::Reserved => format!("{path:?} is reserved"),
        BadTelemetryPath::NotPlain => format!("must be a plain URL path, got {path:?}"),
    })
}

/// One line from a YAML error: `origin: key: message (line L, column C)`, where an unknown
/// field becomes the dotted path of the unknown key (`collect.intervall`).
fn yaml_error(err: &serde_norway::Error, origin: &str) -> ConfigError {
    let mut text = err.to_string();
    if let Some(loc) = err.location() {
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(stripped) = text.strip_suffix(&suffix) {
            text = stripped.to_owned();
        }
    }
    // serde_norway prefixes the path of the value at fault: `collect.rooms: unknown field …`.
    let (path, message) = match text.split_once(": ") {
        Some((path, rest))
            if !path.is_empty() && !path.contains(char::is_whitespace) && !path.contains('`') =>
        {
            (Some(path.to_owned()), rest.to_owned())
        }
        _ => (None, text),
    };
    let (key, message) = match message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
    {
        Some((field, rest)) => {
            let key = match &path {
                Some(path) => format!("{path}.{field}"),
                None => field.to_owned(),
            };
            let expected = rest.trim_start_matches(',').trim();
            let message = if expected.is_empty() {
                "unknown key".to_owned()
            } else {
                format!("unknown key ({expected})")
            };
            (Some(key), message)
        }
        None => (path, message),
    };
    let message = match err.location() {
        Some(loc) => format!("{message} (line {}, column {})", loc.line(), loc.column()),
        None => message,
    };
    ConfigError::Parse {
        origin: origin.to_owned(),
        key,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SECRET: &str = "s3cr3t-app-secret-value";
    const TOKEN: &str = "u-s3cr3t-user-token";

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn creds_env() -> impl Fn(&str) -> Option<String> {
        env_of(&[(ENV_APP_ID, "cli_env"), (ENV_APP_SECRET, SECRET)])
    }

    fn load(yaml: &str) -> Result<Config, ConfigError> {
        Config::from_yaml_str(yaml, "test.yml", &Overrides::default(), &creds_env())
    }

    fn load_err(yaml: &str) -> String {
        match load(yaml) {
            Ok(c) => panic!("expected an error for {yaml:?}, got {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn empty_file_gives_the_defaults() {
        for yaml in ["", "# only a comment\n", "{}"] {
            let c = load(yaml).unwrap();
            assert_eq!(c.feishu.base_url.as_str(), "https://open.feishu.cn/");
            assert_eq!(
                c.feishu.credentials,
                Credentials::App {
                    app_id: "cli_env".into(),
                    app_secret: Secret::new(SECRET)
                }
            );
            assert_eq!(c.feishu.user_id_type, UserIdType::OpenId);
            assert_eq!(c.feishu.requests_per_minute, 90);
            assert_eq!(c.feishu.monthly_call_budget, None);
            assert_eq!(c.feishu.timezone.local_minus_utc(), 8 * 3600);
            assert_eq!(c.collect.interval, Duration::from_secs(300));
            assert_eq!(c.collect.lookback, Duration::from_secs(24 * 3600));
            assert_eq!(c.collect.concurrency, 4);
            assert!(c.collect.meetings_in_progress);
            assert!(c.collect.participants);
            assert_eq!(
                c.collect.quality,
                QualityConfig {
                    enabled: true,
                    max_per_cycle: 100,
                    sample_ratio: 1.0
                }
            );
            assert_eq!(
                c.collect.rooms, None,
                "rooms are off without a room_level_id"
            );
            assert_eq!(
                c.collect.poll,
                PollConfig {
                    initial_delay: Duration::from_secs(2),
                    max_delay: Duration::from_secs(30),
                    timeout: Duration::from_secs(600)
                }
            );
            assert!(c.metrics.quality_labels.is_empty());
            assert_eq!(c.metrics.max_label_values, 100);
            assert_eq!(
                c.metrics.poor_thresholds,
                PoorThresholds {
                    latency: Duration::from_millis(300),
                    jitter: Duration::from_millis(30),
                    packet_loss: 0.05
                }
            );
            assert_eq!(c.state.path, PathBuf::from("feishu-vc-exporter.state.json"));
            assert_eq!(c.web.listen_address, "0.0.0.0:9874".parse().unwrap());
            assert_eq!(c.web.telemetry_path, "/metrics");
            assert_eq!(c.web.config_file, None);
            assert_eq!(c.log, LogConfig::default());
        }
    }

    const FULL: &str = r#"
feishu:
  base_url: https://open.larksuite.com
  app_id: cli_file
  app_secret_file: /run/secrets/feishu_app_secret
  user_id_type: union_id
  requests_per_minute: 60
  monthly_call_budget: 10000
  timezone: "-05:30"
collect:
  interval: 10m
  lookback: 48h
  concurrency: 2
  meetings_in_progress: false
  participants: true
  quality: {enabled: true, max_per_cycle: 20, sample_ratio: 0.25}
  rooms: {enabled: true, room_level_id: omb_123, room_ids: [omm_a, omm_b], exclude: true}
  poll: {initial_delay: 500ms, max_delay: 1m, timeout: 20m}
metrics:
  quality_labels: [device, network_type, location, device]
  max_label_values: 50
  poor_thresholds: {latency: 400ms, jitter: 40ms, packet_loss: 0.1}
state:
  path: /var/lib/feishu-vc-exporter/state.json
web:
  listen_address: 127.0.0.1:9100
  telemetry_path: /probe
  config_file: /etc/web.yml
log:
  level: warn
  format: json
"#;

    #[test]
    fn full_file_sets_every_key() {
        // The secret comes from the environment: the file's app_secret_file is not read.
        let c = load(FULL).unwrap();
        assert_eq!(c.feishu.base_url.as_str(), "https://open.larksuite.com/");
        assert_eq!(c.feishu.credentials.app_id(), Some("cli_env"), "env wins");
        assert_eq!(c.feishu.user_id_type, UserIdType::UnionId);
        assert_eq!(c.feishu.requests_per_minute, 60);
        assert_eq!(c.feishu.monthly_call_budget, Some(10000));
        assert_eq!(c.feishu.timezone.local_minus_utc(), -(5 * 3600 + 30 * 60));
        assert_eq!(c.collect.interval, Duration::from_secs(600));
        assert_eq!(c.collect.lookback, Duration::from_secs(48 * 3600));
        assert_eq!(c.collect.concurrency, 2);
        assert!(!c.collect.meetings_in_progress);
        assert!(c.collect.participants);
        assert_eq!(c.collect.quality.max_per_cycle, 20);
        assert_eq!(c.collect.quality.sample_ratio, 0.25);
        assert_eq!(
            c.collect.rooms,
            Some(RoomsSettings {
                room_level_id: "omb_123".into(),
                room_ids: vec!["omm_a".into(), "omm_b".into()],
                exclude: true
            })
        );
        assert_eq!(c.collect.poll.initial_delay, Duration::from_millis(500));
        assert_eq!(c.collect.poll.max_delay, Duration::from_secs(60));
        assert_eq!(c.collect.poll.timeout, Duration::from_secs(1200));
        assert_eq!(
            c.metrics.quality_labels,
            vec![
                QualityLabel::Device,
                QualityLabel::NetworkType,
                QualityLabel::Location
            ],
            "deduplicated, in order"
        );
        assert_eq!(c.metrics.max_label_values, 50);
        assert_eq!(
            c.metrics.poor_thresholds.latency,
            Duration::from_millis(400)
        );
        assert_eq!(c.metrics.poor_thresholds.jitter, Duration::from_millis(40));
        assert_eq!(c.metrics.poor_thresholds.packet_loss, 0.1);
        assert_eq!(
            c.state.path,
            PathBuf::from("/var/lib/feishu-vc-exporter/state.json")
        );
        assert_eq!(c.web.listen_address, "127.0.0.1:9100".parse().unwrap());
        assert_eq!(c.web.telemetry_path, "/probe");
        assert_eq!(c.web.config_file, Some(PathBuf::from("/etc/web.yml")));
        assert_eq!(c.log.level, LogLevel::Warn);
        assert_eq!(c.log.format, LogFormat::Json);
    }

    #[test]
    fn unknown_keys_are_named_with_their_path() {
        let err = load("collect:\n  intervall: 5m\n").unwrap_err();
        assert_eq!(err.key(), Some("collect.intervall"));
        let msg = err.to_string();
        assert!(
            msg.starts_with("test.yml: collect.intervall: unknown key"),
            "{msg}"
        );
        assert!(msg.contains("`interval`"), "suggests the known keys: {msg}");
        assert!(msg.contains("line 2"), "{msg}");

        let err = load("collect:\n  rooms:\n    room_level: x\n").unwrap_err();
        assert_eq!(err.key(), Some("collect.rooms.room_level"));
        let err = load("feishu_:\n  app_id: x\n").unwrap_err();
        assert_eq!(err.key(), Some("feishu_"));
        for msg in [load_err("a: 1\n"), load_err("collect:\n  x: 1\n")] {
            assert!(!msg.contains('\n'), "one line: {msg}");
        }
    }

    #[test]
    fn type_errors_name_their_key() {
        let err = load("collect:\n  interval: 5x\n").unwrap_err();
        assert_eq!(err.key(), Some("collect.interval"));
        assert!(err.to_string().contains("invalid duration \"5x\""), "{err}");
        let err = load("collect:\n  interval: 300\n").unwrap_err();
        assert_eq!(err.key(), Some("collect.interval"), "{err}");
        let err = load("metrics:\n  quality_labels: [device, city]\n").unwrap_err();
        assert_eq!(err.key(), Some("metrics.quality_labels[1]"));
        assert!(err.to_string().contains("`city`"), "{err}");
        let err = load("feishu:\n  user_id_type: email\n").unwrap_err();
        assert_eq!(err.key(), Some("feishu.user_id_type"));
        let err = load("feishu:\n  requests_per_minute: -1\n").unwrap_err();
        assert_eq!(err.key(), Some("feishu.requests_per_minute"));
        let err = load("feishu:\n  timezone: Asia/Shanghai\n").unwrap_err();
        assert_eq!(err.key(), Some("feishu.timezone"));
        assert!(err.to_string().contains("IANA"), "{err}");
        let err = load("log:\n  level: trace\n").unwrap_err();
        assert_eq!(err.key(), Some("log.level"));
        let err = load("collect: [1, 2]\n").unwrap_err();
        assert_eq!(err.key(), Some("collect"), "{err}");
    }

    #[test]
    fn syntax_errors_are_one_line() {
        let msg = load_err("collect:\n  interval: [5m\n");
        assert!(msg.starts_with("test.yml: "), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }

    /// (yaml, key named in the error, a fragment of the message)
    const INVALID: &[(&str, &str, &str)] = &[
        (
            "feishu: {base_url: ftp://open.feishu.cn}",
            "feishu.base_url",
            "http",
        ),
        (
            "feishu: {base_url: not a url}",
            "feishu.base_url",
            "invalid URL",
        ),
        (
            "feishu: {base_url: 'https://x/?a=1'}",
            "feishu.base_url",
            "query",
        ),
        (
            "feishu: {requests_per_minute: 0}",
            "feishu.requests_per_minute",
            "between 1 and 100",
        ),
        (
            "feishu: {requests_per_minute: 101}",
            "feishu.requests_per_minute",
            "got 101",
        ),
        ("feishu: {timezone: '+25:00'}", "feishu.timezone", "+14:00"),
        (
            "feishu: {timezone: CST}",
            "feishu.timezone",
            "invalid time zone",
        ),
        (
            "collect: {interval: 29s}",
            "collect.interval",
            "at least 30s",
        ),
        (
            "collect: {interval: 1h, lookback: 30m}",
            "collect.lookback",
            "at least collect.interval",
        ),
        (
            "collect: {concurrency: 0}",
            "collect.concurrency",
            "at least 1",
        ),
        (
            "collect: {participants: false}",
            "collect.quality.enabled",
            "collect.participants",
        ),
        (
            "collect: {quality: {max_per_cycle: 0}}",
            "collect.quality.max_per_cycle",
            "at least 1",
        ),
        (
            "collect: {quality: {sample_ratio: 1.5}}",
            "collect.quality.sample_ratio",
            "between 0 and 1",
        ),
        (
            "collect: {quality: {sample_ratio: -0.1}}",
            "collect.quality.sample_ratio",
            "between 0 and 1",
        ),
        (
            "collect: {rooms: {enabled: true}}",
            "collect.rooms.room_level_id",
            "required",
        ),
        (
            "collect: {rooms: {enabled: true, room_level_id: ' '}}",
            "collect.rooms.room_level_id",
            "required",
        ),
        (
            "collect: {rooms: {room_level_id: omb_1, room_ids: [a, '']}}",
            "collect.rooms.room_ids[1]",
            "empty",
        ),
        (
            "collect: {poll: {initial_delay: 0s}}",
            "collect.poll.initial_delay",
            "more than 0s",
        ),
        (
            "collect: {poll: {initial_delay: 1m, max_delay: 30s}}",
            "collect.poll.initial_delay",
            "collect.poll.max_delay",
        ),
        (
            "collect: {poll: {max_delay: 20m, timeout: 10m}}",
            "collect.poll.max_delay",
            "collect.poll.timeout",
        ),
        (
            "metrics: {max_label_values: 0}",
            "metrics.max_label_values",
            "at least 1",
        ),
        (
            "metrics: {poor_thresholds: {latency: 0ms}}",
            "metrics.poor_thresholds.latency",
            "more than 0s",
        ),
        (
            "metrics: {poor_thresholds: {jitter: 0ms}}",
            "metrics.poor_thresholds.jitter",
            "more than 0s",
        ),
        (
            "metrics: {poor_thresholds: {packet_loss: 5}}",
            "metrics.poor_thresholds.packet_loss",
            "between 0 and 1",
        ),
        ("state: {path: ''}", "state.path", "empty"),
        (
            "web: {listen_address: 'localhost'}",
            "web.listen_address",
            "invalid listen address",
        ),
        (
            "web: {listen_address: ':99999'}",
            "web.listen_address",
            "port",
        ),
        (
            "web: {telemetry_path: metrics}",
            "web.telemetry_path",
            "start with /",
        ),
        (
            "web: {telemetry_path: /-/healthy}",
            "web.telemetry_path",
            "reserved",
        ),
        (
            "web: {telemetry_path: /m?x=1}",
            "web.telemetry_path",
            "plain URL path",
        ),
        // The server refuses these too, so the config does (check-config used to accept them).
        (
            r#"web: {telemetry_path: '/m"x'}"#,
            "web.telemetry_path",
            "plain URL path",
        ),
        (
            "web: {telemetry_path: '/<m>'}",
            "web.telemetry_path",
            "plain URL path",
        ),
        (
            "feishu: {app_secret: hunter2}",
            "feishu.app_secret",
            "FEISHU_APP_SECRET",
        ),
        (
            "feishu: {user_access_token: u-hunter2}",
            "feishu.user_access_token",
            "FEISHU_USER_ACCESS_TOKEN",
        ),
    ];

    #[test]
    fn each_validation_rule_names_its_key() {
        for (yaml, key, fragment) in INVALID {
            let err = load(yaml).unwrap_err();
            let msg = err.to_string();
            assert_eq!(err.key(), Some(*key), "{yaml}: {msg}");
            let (origin_key, bare_key) = (format!("test.yml: {key}: "), format!("{key}: "));
            assert!(
                msg.starts_with(&origin_key) || msg.starts_with(&bare_key),
                "{yaml}: {msg}"
            );
            assert!(msg.contains(fragment), "{yaml}: {msg} lacks {fragment:?}");
            assert!(!msg.contains('\n'), "{yaml}: one line: {msg}");
            assert!(!msg.contains("hunter2"), "{yaml}: leaks a secret: {msg}");
        }
    }

    #[test]
    fn boundary_values_are_accepted() {
        let c = load(
            "feishu: {requests_per_minute: 100}\n\
             collect: {interval: 30s, lookback: 30s, quality: {sample_ratio: 0}, \
             poll: {initial_delay: 10m, max_delay: 10m, timeout: 10m}}\n\
             metrics: {poor_thresholds: {packet_loss: 1}}",
        )
        .unwrap();
        assert_eq!(c.feishu.requests_per_minute, 100);
        assert_eq!(c.collect.interval, Duration::from_secs(30));
        assert_eq!(c.collect.quality.sample_ratio, 0.0);
        assert_eq!(c.metrics.poor_thresholds.packet_loss, 1.0);
        let c = load("collect: {participants: false, quality: {enabled: false}}").unwrap();
        assert!(!c.collect.quality.enabled);
        let c = load("collect: {rooms: {enabled: false, room_level_id: omb_1}}").unwrap();
        assert_eq!(c.collect.rooms, None);
        let c = load("collect: {rooms: {room_level_id: omb_1}}").unwrap();
        assert_eq!(c.collect.rooms.unwrap().room_level_id, "omb_1");
        let c = load("feishu: {base_url: 'http://127.0.0.1:8080/proxy'}").unwrap();
        assert_eq!(c.feishu.base_url.as_str(), "http://127.0.0.1:8080/proxy/");
        assert_eq!(
            c.feishu
                .base_url
                .join("open-apis/vc/v1/exports/x")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/proxy/open-apis/vc/v1/exports/x"
        );
    }

    #[test]
    fn timezone_forms() {
        let ok = [
            ("+08:00", 8 * 3600),
            ("+0800", 8 * 3600),
            ("+8", 8 * 3600),
            ("-05:30", -(5 * 3600 + 1800)),
            ("UTC", 0),
            ("utc", 0),
            ("Z", 0),
            ("GMT", 0),
            ("UTC+8", 8 * 3600),
            ("GMT+08:00", 8 * 3600),
            ("UTC-03:00", -3 * 3600),
            ("+14:00", 14 * 3600),
            (" +05:45 ", 5 * 3600 + 45 * 60),
        ];
        for (s, secs) in ok {
            assert_eq!(parse_timezone(s).unwrap().local_minus_utc(), secs, "{s}");
        }
        for s in [
            "",
            "+",
            "08:00",
            "+8:0:0",
            "+24:00",
            "+14:30",
            "+08:60",
            "CST",
            "Asia/Shanghai",
            "+0x",
        ] {
            assert!(parse_timezone(s).is_err(), "{s:?} should be rejected");
        }
        // In the file: quoted or bare, the YAML scalar is read as text.
        for yaml in [
            "feishu: {timezone: '+08:00'}",
            "feishu:\n  timezone: +08:00",
            "feishu: {timezone: Z}",
            "feishu: {timezone: UTC}",
        ] {
            let c = load(yaml).unwrap();
            assert!(
                [0, 8 * 3600].contains(&c.feishu.timezone.local_minus_utc()),
                "{yaml}"
            );
        }
        assert_eq!(
            load("feishu: {timezone: UTC}")
                .unwrap()
                .feishu
                .timezone
                .local_minus_utc(),
            0
        );
    }

    #[test]
    fn listen_address_forms() {
        assert_eq!(
            parse_listen_address(":9874").unwrap(),
            "0.0.0.0:9874".parse().unwrap()
        );
        assert_eq!(
            parse_listen_address("127.0.0.1:1").unwrap(),
            "127.0.0.1:1".parse().unwrap()
        );
        assert_eq!(
            parse_listen_address("[::1]:9874").unwrap(),
            "[::1]:9874".parse().unwrap()
        );
        assert_eq!(
            parse_listen_address("localhost:80").unwrap(),
            "127.0.0.1:80".parse().unwrap()
        );
        for bad in [
            "9874",
            ":",
            ":x",
            "example.com:80",
            "1.2.3.4",
            "localhost:x",
        ] {
            assert!(parse_listen_address(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_listen_address(DEFAULT_LISTEN_ADDRESS).unwrap().port(),
            9874
        );
    }

    #[test]
    fn environment_overrides_the_file_and_flags_override_both() {
        let yaml = "feishu: {base_url: 'https://file.example', app_id: cli_file}\n\
                    web: {listen_address: ':1111', telemetry_path: /file}\n\
                    log: {level: warn, format: json}";
        let env = env_of(&[
            (ENV_APP_ID, "cli_env"),
            (ENV_APP_SECRET, SECRET),
            (ENV_BASE_URL, "https://env.example"),
        ]);
        let c = Config::from_yaml_str(yaml, "t", &Overrides::default(), &env).unwrap();
        assert_eq!(c.feishu.base_url.as_str(), "https://env.example/");
        assert_eq!(c.feishu.credentials.app_id(), Some("cli_env"));
        assert_eq!(c.web.listen_address.port(), 1111);
        assert_eq!(c.web.telemetry_path, "/file");
        assert_eq!(c.log.level, LogLevel::Warn);

        let flags = Overrides {
            listen_address: Some("127.0.0.1:2222".parse().unwrap()),
            telemetry_path: Some("/flag".into()),
            web_config_file: Some("/flag-web.yml".into()),
            log_level: Some(LogLevel::Debug),
            log_format: Some(LogFormat::Logfmt),
            credentials: None,
            default_room_level_id: None,
        };
        let c = Config::from_yaml_str(yaml, "t", &flags, &env).unwrap();
        assert_eq!(c.web.listen_address, "127.0.0.1:2222".parse().unwrap());
        assert_eq!(c.web.telemetry_path, "/flag");
        assert_eq!(c.web.config_file, Some(PathBuf::from("/flag-web.yml")));
        assert_eq!(
            c.log,
            LogConfig {
                level: LogLevel::Debug,
                format: LogFormat::Logfmt
            }
        );

        // Without the environment, the file's values stand.
        let file_env = env_of(&[(ENV_APP_SECRET, SECRET), (ENV_BASE_URL, "  ")]);
        let c = Config::from_yaml_str(yaml, "t", &Overrides::default(), &file_env).unwrap();
        assert_eq!(c.feishu.base_url.as_str(), "https://file.example/");
        assert_eq!(c.feishu.credentials.app_id(), Some("cli_file"));

        // A bad value names where it came from.
        let bad_env = env_of(&[
            (ENV_APP_ID, "a"),
            (ENV_APP_SECRET, SECRET),
            (ENV_BASE_URL, "file:///x"),
        ]);
        let err = Config::from_yaml_str("", "t", &Overrides::default(), &bad_env).unwrap_err();
        assert_eq!(err.key(), Some(ENV_BASE_URL));
        let bad_flag = Overrides {
            telemetry_path: Some("nope".into()),
            ..Overrides::default()
        };
        let err = Config::from_yaml_str("", "t", &bad_flag, &creds_env()).unwrap_err();
        assert_eq!(err.key(), Some("--web.telemetry-path"));
    }

    #[test]
    fn secret_file_is_read_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, format!("  {SECRET}\n\n")).unwrap();
        let yaml = format!(
            "feishu: {{app_id: cli_file, app_secret_file: '{}'}}",
            file.display()
        );
        let c = Config::from_yaml_str(&yaml, "t", &Overrides::default(), &env_of(&[])).unwrap();
        match &c.feishu.credentials {
            Credentials::App { app_id, app_secret } => {
                assert_eq!(app_id, "cli_file");
                assert_eq!(app_secret.expose(), SECRET);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.feishu.app_secret_file.as_deref(), Some(file.as_path()));

        // FEISHU_APP_SECRET_FILE beats the file key; FEISHU_APP_SECRET beats both.
        let other = dir.path().join("other");
        std::fs::write(&other, "other-secret").unwrap();
        let env = env_of(&[(ENV_APP_SECRET_FILE, other.to_str().unwrap())]);
        let c = Config::from_yaml_str(&yaml, "t", &Overrides::default(), &env).unwrap();
        assert!(
            matches!(&c.feishu.credentials, Credentials::App { app_secret, .. } if app_secret.expose() == "other-secret")
        );
        let env = env_of(&[
            (ENV_APP_SECRET_FILE, other.to_str().unwrap()),
            (ENV_APP_SECRET, "direct"),
        ]);
        let c = Config::from_yaml_str(&yaml, "t", &Overrides::default(), &env).unwrap();
        assert!(
            matches!(&c.feishu.credentials, Credentials::App { app_secret, .. } if app_secret.expose() == "direct")
        );
        assert_eq!(c.feishu.app_secret_file, None);

        // Missing and empty files are errors naming the key that pointed at them.
        let missing = dir.path().join("missing");
        let env = env_of(&[
            (ENV_APP_ID, "a"),
            (ENV_APP_SECRET_FILE, missing.to_str().unwrap()),
        ]);
        let err = Config::from_yaml_str("", "t", &Overrides::default(), &env).unwrap_err();
        assert_eq!(err.key(), Some(ENV_APP_SECRET_FILE));
        assert!(err.to_string().contains("cannot read secret file"), "{err}");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let yaml = format!(
            "feishu: {{app_id: a, app_secret_file: '{}'}}",
            empty.display()
        );
        let err =
            Config::from_yaml_str(&yaml, "t", &Overrides::default(), &env_of(&[])).unwrap_err();
        assert_eq!(err.key(), Some("feishu.app_secret_file"));
        assert!(err.to_string().contains("empty"), "{err}");
    }

    #[test]
    fn credentials_are_required_unless_given() {
        let none = env_of(&[]);
        let err = Config::from_yaml_str("", "t", &Overrides::default(), &none).unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.key(), Some("feishu.app_id"));
        assert!(msg.contains("FEISHU_APP_SECRET"), "{msg}");

        let err =
            Config::from_yaml_str("feishu: {app_id: cli_x}", "t", &Overrides::default(), &none)
                .unwrap_err();
        assert_eq!(err.key(), Some(ENV_APP_SECRET));

        let err = Config::from_yaml_str(
            "",
            "t",
            &Overrides::default(),
            &env_of(&[(ENV_APP_SECRET, SECRET)]),
        )
        .unwrap_err();
        assert_eq!(err.key(), Some("feishu.app_id"));
        assert!(!err.to_string().contains(SECRET));

        // A user access token alone is enough, and wins over app credentials.
        let env = env_of(&[
            (ENV_USER_ACCESS_TOKEN, TOKEN),
            (ENV_APP_ID, "a"),
            (ENV_APP_SECRET, SECRET),
        ]);
        let c = Config::from_yaml_str("", "t", &Overrides::default(), &env).unwrap();
        assert_eq!(
            c.feishu.credentials,
            Credentials::UserToken(Secret::new(TOKEN))
        );

        // Credentials given by the caller (--demo): these, whatever the file and environment
        // say; rooms default to the given level unless the file turns rooms on or off.
        let given = Credentials::App {
            app_id: "cli_given".into(),
            app_secret: Secret::new("given-secret"),
        };
        let demo = Overrides {
            credentials: Some(given.clone()),
            default_room_level_id: Some("omb_given".into()),
            ..Overrides::default()
        };
        let c = Config::from_yaml_str("feishu: {app_id: cli_x}", "t", &demo, &env).unwrap();
        assert_eq!(c.feishu.credentials, given);
        assert_eq!(c.feishu.app_secret_file, None);
        assert_eq!(c.collect.rooms.as_ref().unwrap().room_level_id, "omb_given");
        let c = Config::from_yaml_str("", "t", &demo, &none).unwrap();
        assert_eq!(c.feishu.credentials, given);
        let c =
            Config::from_yaml_str("collect: {rooms: {enabled: false}}", "t", &demo, &none).unwrap();
        assert_eq!(c.collect.rooms, None);
        let c = Config::from_yaml_str(
            "collect: {rooms: {room_level_id: omb_f}}",
            "t",
            &demo,
            &none,
        )
        .unwrap();
        assert_eq!(c.collect.rooms.unwrap().room_level_id, "omb_f");
        // The two are independent: a default level without given credentials.
        let rooms_only = Overrides {
            default_room_level_id: Some("omb_given".into()),
            ..Overrides::default()
        };
        let c = Config::from_yaml_str("", "t", &rooms_only, &env).unwrap();
        assert_eq!(
            c.feishu.credentials,
            Credentials::UserToken(Secret::new(TOKEN))
        );
        assert_eq!(c.collect.rooms.unwrap().room_level_id, "omb_given");
    }

    fn token_config() -> Config {
        let env = env_of(&[(ENV_USER_ACCESS_TOKEN, TOKEN)]);
        Config::from_yaml_str("", "t", &Overrides::default(), &env).unwrap()
    }

    #[test]
    fn the_defaults_are_the_parts_defaults() {
        let c = token_config();
        let settings = c.collect_settings();
        let defaults = CollectSettings::new(PathBuf::from(DEFAULT_STATE_PATH));
        assert_eq!(settings.state_path, defaults.state_path);
        assert_eq!(settings.interval, defaults.interval);
        assert_eq!(settings.lookback, defaults.lookback);
        assert_eq!(settings.concurrency, defaults.concurrency);
        assert_eq!(settings.meetings_in_progress, defaults.meetings_in_progress);
        assert_eq!(settings.participants, defaults.participants);
        assert_eq!(settings.quality, defaults.quality);
        assert_eq!(
            settings.quality_max_per_cycle,
            defaults.quality_max_per_cycle
        );
        assert_eq!(settings.quality_sample_ratio, defaults.quality_sample_ratio);
        assert_eq!(settings.rooms, defaults.rooms);
        assert_eq!(settings.poll, defaults.poll);
        assert_eq!(settings.parse.default_offset, defaults.parse.default_offset);
        assert!(settings.budget.is_none() && defaults.budget.is_none());
        assert_eq!(c.metrics_options(), MetricsOptions::default());
        let options = c.client_options();
        let defaults = ClientOptions::new(
            Url::parse(DEFAULT_BASE_URL).unwrap(),
            c.feishu.credentials.clone(),
        );
        assert_eq!(options.base_url, defaults.base_url);
        assert_eq!(options.user_id_type, defaults.user_id_type);
        assert_eq!(options.requests_per_minute, defaults.requests_per_minute);
    }

    #[test]
    fn secrets_never_print() {
        let app = load(FULL).unwrap();
        let token = token_config();
        for c in [&app, &token] {
            let debug = format!("{c:?} {c:#?}");
            let yaml = c.to_yaml();
            for text in [&debug, &yaml] {
                assert!(!text.contains(SECRET), "{text}");
                assert!(!text.contains(TOKEN), "{text}");
            }
            assert!(yaml.contains("<redacted>"), "{yaml}");
        }
        assert!(
            app.to_yaml().contains("app_secret: <redacted>"),
            "{}",
            app.to_yaml()
        );
        assert!(
            token.to_yaml().contains("user_access_token: <redacted>"),
            "{}",
            token.to_yaml()
        );

        // Errors raised while secrets are in hand do not carry them.
        let env = env_of(&[(ENV_APP_SECRET, SECRET), (ENV_USER_ACCESS_TOKEN, TOKEN)]);
        for yaml in INVALID
            .iter()
            .map(|(y, _, _)| *y)
            .chain(["collect:\n  intervall: 1"])
        {
            if let Err(e) = Config::from_yaml_str(yaml, "t", &Overrides::default(), &env) {
                let text = format!("{e} {e:?}");
                assert!(!text.contains(SECRET) && !text.contains(TOKEN), "{text}");
            }
        }
    }

    #[test]
    fn rendering_loads_back_into_the_same_config() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, SECRET).unwrap();
        let yaml = FULL.replace("/run/secrets/feishu_app_secret", file.to_str().unwrap());
        let env = env_of(&[]);
        for original in [
            Config::from_yaml_str(&yaml, "t", &Overrides::default(), &env).unwrap(),
            load("").unwrap(),
            load("collect: {interval: 90s, lookback: 2h, poll: {initial_delay: 1500ms}}").unwrap(),
            token_config(),
        ] {
            let rendered = original.to_yaml();
            // Drop the redacted lines.
            let stripped: String = rendered
                .lines()
                .filter(|l| !l.contains("<redacted>"))
                .map(|l| format!("{l}\n"))
                .collect();
            // Hand the secret back: through the rendered app_secret_file, else the environment.
            let pair = match &original.feishu.credentials {
                _ if original.feishu.app_secret_file.is_some() => None,
                Credentials::App { app_secret, .. } => Some((ENV_APP_SECRET, app_secret.expose())),
                Credentials::UserToken(t) => Some((ENV_USER_ACCESS_TOKEN, t.expose())),
            };
            let env = env_of(pair.as_slice());
            let reloaded =
                Config::from_yaml_str(&stripped, "rendered", &Overrides::default(), &env)
                    .unwrap_or_else(|e| panic!("{e}\n{rendered}"));
            let expected = original.clone();
            assert_eq!(reloaded, expected, "{rendered}");
        }
        let rendered = load("").unwrap().to_yaml();
        for key in [
            "interval: 5m",
            "lookback: 24h",
            "latency: 300ms",
            "timezone: +08:00",
            "enabled: false",
        ] {
            assert!(rendered.contains(key), "{key} in {rendered}");
        }
    }

    #[test]
    fn missing_config_file_is_an_error() {
        let err = Config::load(
            Some(Path::new("/nonexistent/c.yml")),
            &Overrides::default(),
            &creds_env(),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("cannot read config file /nonexistent/c.yml: "),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn load_reads_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yml");
        std::fs::write(&file, "collect:\n  interval: 1m\n  bogus: 1\n").unwrap();
        let err = Config::load(Some(&file), &Overrides::default(), &creds_env()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("{}: collect.bogus: ", file.display())),
            "{err}"
        );
        std::fs::write(&file, "collect:\n  interval: 1m\n").unwrap();
        let c = Config::load(Some(&file), &Overrides::default(), &creds_env()).unwrap();
        assert_eq!(c.collect.interval, Duration::from_secs(60));
    }

    #[test]
    fn durations_render_in_their_largest_whole_unit() {
        assert_eq!(format_duration(Duration::from_secs(86400)), "24h");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        let odd = Duration::from_nanos(1_500);
        assert_eq!(parse_duration(&format_duration(odd)).unwrap(), odd);
    }
}
