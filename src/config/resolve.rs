//! Layering and validation: the raw file, the environment and the flags into one [`Config`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::secret::Secret;

use crate::collect::state::DEFAULT_STATE_PATH;
use crate::collect::{
    RoomsSettings, DEFAULT_CONCURRENCY, DEFAULT_INTERVAL, DEFAULT_LOOKBACK,
    DEFAULT_QUALITY_MAX_PER_CYCLE, DEFAULT_QUALITY_SAMPLE_RATIO, MIN_INTERVAL,
};
use crate::feishu::{
    Credentials, DEFAULT_BASE_URL, DEFAULT_POLL_INITIAL_DELAY, DEFAULT_POLL_MAX_DELAY,
    DEFAULT_POLL_TIMEOUT, DEFAULT_REQUESTS_PER_MINUTE, MAX_REQUESTS_PER_MINUTE,
};
use crate::metrics::{PoorThresholds, DEFAULT_MAX_LABEL_VALUES};
use crate::server::{DEFAULT_LISTEN_ADDRESS, DEFAULT_TELEMETRY_PATH};
use crate::sheet::ParseOptions;

use super::error::{invalid, ConfigError};
use super::raw::{HumanDuration, RawConfig, TimeZone};
use super::values::{self, check_ratio, format_duration, parse_listen_address};
use super::*;

impl RawConfig {
    pub(super) fn resolve(
        self,
        overrides: &Overrides,
        env: EnvSource<'_>,
    ) -> Result<Config, ConfigError> {
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
        values::telemetry_path(&telemetry_path).map_err(|m| invalid(telemetry_key, m))?;
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
