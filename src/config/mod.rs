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
//!
//! Files: this one the typed configuration and [`Config::load`]; `raw.rs` the file's schema and
//! its rendering (`check-config`); `resolve.rs` the layering and validation, one function a
//! section, each default read from the part that owns it; `values.rs` the value parsers the
//! command line shares; `error.rs` [`ConfigError`]; `parts.rs` the parts' settings built from a
//! [`Config`]. A new key: its `Raw*` field (and its line in `From<&Config>`) in `raw.rs`, its
//! check in its section's function in `resolve.rs`, its typed field here, and the README.

mod error;
mod parts;
mod raw;
mod resolve;
#[cfg(test)]
mod tests;
mod values;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::FixedOffset;
use url::Url;

use crate::logging::{LogFormat, LogLevel};
use crate::secret::Secret;

use crate::collect::RoomsSettings;
use crate::feishu::{Credentials, PollOptions, UserIdType};
use crate::metrics::MetricsOptions;

pub use error::ConfigError;
pub use values::{parse_duration, parse_listen_address, parse_ratio, parse_timezone};

use raw::RawConfig;

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
    /// Quality labels deduplicated in the order given; at least 1 label value; thresholds
    /// above 0 and a loss ratio in 0..=1.
    pub metrics: MetricsOptions,
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
    /// `0 < initial_delay <= max_delay <= timeout`.
    pub poll: PollOptions,
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
    /// simulator's, see `cmd::demo::overrides`).
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
        resolve::resolve(raw, overrides, env)
    }

    /// Like [`Config::load`] with the YAML text given; `origin` names it in errors.
    pub fn from_yaml_str(
        yaml: &str,
        origin: &str,
        overrides: &Overrides,
        env: EnvSource<'_>,
    ) -> Result<Config, ConfigError> {
        resolve::resolve(RawConfig::parse(yaml, origin)?, overrides, env)
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
