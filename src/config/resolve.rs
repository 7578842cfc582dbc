//! Layering and validation: the raw file, the environment and the flags into one [`Config`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::collect::state::DEFAULT_STATE_PATH;
use crate::collect::{
    RoomsSettings, Settings as CollectSettings, DEFAULT_QUALITY_MAX_PER_CYCLE, MIN_INTERVAL,
};
use crate::feishu::{
    Credentials, PollOptions, DEFAULT_BASE_URL, DEFAULT_REQUESTS_PER_MINUTE,
    MAX_REQUESTS_PER_MINUTE,
};
use crate::metrics::{MetricsOptions, PoorThresholds};
use crate::secret::Secret;
use crate::server::{DEFAULT_LISTEN_ADDRESS, DEFAULT_TELEMETRY_PATH};
use crate::sheet::ParseOptions;

use super::error::{invalid, ConfigError};
use super::raw::{
    RawCollect, RawConfig, RawFeishu, RawLog, RawMetrics, RawPoll, RawQuality, RawRooms, RawState,
    RawWeb, TimeZone,
};
use super::values::{self, check_ratio, format_duration, parse_listen_address};
use super::{
    CollectConfig, Config, EnvSource, FeishuConfig, LogConfig, Overrides, QualityConfig,
    StateConfig, WebConfig, ENV_APP_ID, ENV_APP_SECRET, ENV_APP_SECRET_FILE, ENV_BASE_URL,
    ENV_USER_ACCESS_TOKEN,
};

/// The effective configuration: `raw` with the environment and then `overrides` laid over it,
/// validated section by section (the first error wins).
pub(super) fn resolve(
    raw: RawConfig,
    overrides: &Overrides,
    env: EnvSource<'_>,
) -> Result<Config, ConfigError> {
    let env_var = |name: &str| {
        env(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    Ok(Config {
        feishu: feishu(raw.feishu, overrides, &env_var)?,
        collect: collect(raw.collect, overrides)?,
        metrics: metrics(raw.metrics)?,
        state: state(raw.state)?,
        web: web(raw.web, overrides)?,
        log: log(raw.log, overrides),
    })
}

/// `feishu`: where the API is, the credentials (environment, then file; the flags' win), pacing.
fn feishu(
    f: RawFeishu,
    overrides: &Overrides,
    env_var: &dyn Fn(&str) -> Option<String>,
) -> Result<FeishuConfig, ConfigError> {
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
        None => resolve_credentials(f.app_id, f.app_secret_file, env_var)?,
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
    Ok(FeishuConfig {
        base_url,
        credentials,
        app_secret_file,
        user_id_type: f.user_id_type.unwrap_or_default(),
        requests_per_minute,
        monthly_call_budget: f.monthly_call_budget.filter(|&b| b > 0),
        timezone,
    })
}

/// `collect`: what the loop exports, how often, how far back, and how it polls.
fn collect(c: RawCollect, overrides: &Overrides) -> Result<CollectConfig, ConfigError> {
    let defaults = CollectSettings::new(PathBuf::from(DEFAULT_STATE_PATH));
    let interval = c.interval.map_or(defaults.interval, |d| d.0);
    check(
        "collect.interval",
        interval,
        Bound::AtLeast(MIN_INTERVAL, None),
    )?;
    let lookback = c.lookback.map_or(defaults.lookback, |d| d.0);
    let after_interval = Bound::AtLeast(interval, Some("collect.interval"));
    check("collect.lookback", lookback, after_interval)?;
    let concurrency = c.concurrency.unwrap_or(defaults.concurrency);
    if concurrency < 1 {
        return Err(invalid("collect.concurrency", "must be at least 1, got 0"));
    }
    let participants = c.participants.unwrap_or(defaults.participants);
    Ok(CollectConfig {
        interval,
        lookback,
        concurrency,
        meetings_in_progress: c
            .meetings_in_progress
            .unwrap_or(defaults.meetings_in_progress),
        participants,
        quality: quality(c.quality, participants, &defaults)?,
        rooms: rooms(c.rooms, overrides)?,
        poll: poll(c.poll, defaults.poll)?,
    })
}

/// `collect.quality`: on unless participants are off, how many a cycle, which share.
fn quality(
    q: RawQuality,
    participants: bool,
    defaults: &CollectSettings,
) -> Result<QualityConfig, ConfigError> {
    let quality = QualityConfig {
        enabled: q.enabled.unwrap_or(defaults.quality),
        max_per_cycle: q.max_per_cycle.unwrap_or(DEFAULT_QUALITY_MAX_PER_CYCLE),
        sample_ratio: q.sample_ratio.unwrap_or(defaults.quality_sample_ratio),
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
    check_ratio(quality.sample_ratio).map_err(|m| invalid("collect.quality.sample_ratio", m))?;
    Ok(quality)
}

/// `collect.rooms`: on when a room level is given (by the file, else by the caller), unless the
/// file says otherwise.
fn rooms(r: RawRooms, overrides: &Overrides) -> Result<Option<RoomsSettings>, ConfigError> {
    let mut level = r.room_level_id.map(|s| s.trim().to_owned());
    if r.enabled.is_none() && level.is_none() {
        level.clone_from(&overrides.default_room_level_id);
    }
    if !r.enabled.unwrap_or(level.is_some()) {
        return Ok(None);
    }
    let room_level_id = match level {
        Some(id) if !id.is_empty() => id,
        _ => {
            return Err(invalid(
                "collect.rooms.room_level_id",
                "required when collect.rooms.enabled is true (the room-level node to \
                 export, e.g. omb_…); or set collect.rooms.enabled: false",
            ))
        }
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
    Ok(Some(RoomsSettings {
        room_level_id,
        room_ids,
        exclude: r.exclude.unwrap_or(false),
    }))
}

/// `collect.poll`: `0 < initial_delay <= max_delay <= timeout`.
fn poll(p: RawPoll, defaults: PollOptions) -> Result<PollOptions, ConfigError> {
    let poll = PollOptions {
        initial_delay: p.initial_delay.map_or(defaults.initial_delay, |d| d.0),
        max_delay: p.max_delay.map_or(defaults.max_delay, |d| d.0),
        timeout: p.timeout.map_or(defaults.timeout, |d| d.0),
    };
    if poll.initial_delay.is_zero() {
        return Err(invalid(
            "collect.poll.initial_delay",
            "must be more than 0s",
        ));
    }
    let below_max = Bound::AtMost(poll.max_delay, "collect.poll.max_delay");
    check("collect.poll.initial_delay", poll.initial_delay, below_max)?;
    let below_timeout = Bound::AtMost(poll.timeout, "collect.poll.timeout");
    check("collect.poll.max_delay", poll.max_delay, below_timeout)?;
    Ok(poll)
}

/// A bound on a duration: a constant (`None`) or another key's value.
enum Bound<'a> {
    AtLeast(Duration, Option<&'a str>),
    AtMost(Duration, &'a str),
}

/// An error on `key` unless `value` keeps to `bound`, naming the bound's key if it has one.
fn check(key: &str, value: Duration, bound: Bound<'_>) -> Result<(), ConfigError> {
    let (ok, rule, limit, limit_key) = match bound {
        Bound::AtLeast(min, min_key) => (value >= min, "must be at least", min, min_key),
        Bound::AtMost(max, max_key) => (value <= max, "must not exceed", max, Some(max_key)),
    };
    if ok {
        return Ok(());
    }
    let limit = match limit_key {
        Some(limit_key) => format!("{limit_key} ({})", format_duration(limit)),
        None => format_duration(limit),
    };
    Err(invalid(
        key,
        format!("{rule} {limit}, got {}", format_duration(value)),
    ))
}

/// `metrics`: quality labels, the label cap and the poor-quality thresholds.
fn metrics(m: RawMetrics) -> Result<MetricsOptions, ConfigError> {
    let mut quality_labels = Vec::new();
    for label in m.quality_labels.unwrap_or_default() {
        if !quality_labels.contains(&label) {
            quality_labels.push(label);
        }
    }
    let defaults = MetricsOptions::default();
    let max_label_values = m.max_label_values.unwrap_or(defaults.max_label_values);
    if max_label_values < 1 {
        return Err(invalid(
            "metrics.max_label_values",
            "must be at least 1, got 0",
        ));
    }
    let (t, defaults) = (m.poor_thresholds, defaults.poor_thresholds);
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
    Ok(MetricsOptions {
        quality_labels,
        max_label_values,
        poor_thresholds,
    })
}

/// `state`: where the loop keeps what it has counted.
fn state(s: RawState) -> Result<StateConfig, ConfigError> {
    let path = s.path.unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_PATH));
    if path.as_os_str().is_empty() {
        return Err(invalid("state.path", "must not be empty"));
    }
    Ok(StateConfig { path })
}

/// `web`: the file's values, then the flags'.
fn web(w: RawWeb, overrides: &Overrides) -> Result<WebConfig, ConfigError> {
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
    Ok(WebConfig {
        listen_address,
        telemetry_path,
        config_file: overrides.web_config_file.clone().or(w.config_file),
    })
}

/// `log`: the flags' values, then the file's.
fn log(l: RawLog, overrides: &Overrides) -> LogConfig {
    LogConfig {
        level: overrides.log_level.or(l.level).unwrap_or_default(),
        format: overrides.log_format.or(l.format).unwrap_or_default(),
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
