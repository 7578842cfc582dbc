//! The file's schema: every key optional, unknown keys refused; and the effective
//! configuration written back in it (`check-config`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::FixedOffset;
use serde::de::{self, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::feishu::UserIdType;
use crate::logging::{LogFormat, LogLevel};
use crate::metrics::QualityLabel;

use super::error::{yaml_error, ConfigError};
use super::values::{format_duration, parse_duration, parse_timezone};
use super::Config;

/// A value the file spells as a string: read with the parser (the command line's too), and
/// described as the second field says in a type error.
struct FromStrVisitor<T>(fn(&str) -> Result<T, String>, &'static str);

impl<T> de::Visitor<'_> for FromStrVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.1)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
        (self.0)(s).map_err(E::custom)
    }
}

/// A duration in the file: a humantime string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct HumanDuration(pub(super) Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(FromStrVisitor(
            |s| parse_duration(s).map(HumanDuration),
            "a duration such as \"300ms\", \"30s\", \"5m\" or \"24h\"",
        ))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

/// A time zone in the file: a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TimeZone(pub(super) FixedOffset);

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(FromStrVisitor(
            |s| parse_timezone(s).map(TimeZone),
            "a UTC offset such as \"+08:00\" or \"UTC\"",
        ))
    }
}

impl Serialize for TimeZone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) feishu: RawFeishu,
    pub(super) collect: RawCollect,
    pub(super) metrics: RawMetrics,
    pub(super) state: RawState,
    pub(super) web: RawWeb,
    pub(super) log: RawLog,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawFeishu {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) app_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) app_secret_file: Option<PathBuf>,
    /// Present only to reject it with a pointer to the right place; the value is never read.
    #[serde(skip_serializing)]
    pub(super) app_secret: Option<IgnoredAny>,
    #[serde(skip_serializing)]
    pub(super) user_access_token: Option<IgnoredAny>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) user_id_type: Option<UserIdType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) requests_per_minute: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) monthly_call_budget: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) timezone: Option<TimeZone>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawCollect {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) interval: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) lookback: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) concurrency: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) meetings_in_progress: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) participants: Option<bool>,
    pub(super) quality: RawQuality,
    pub(super) rooms: RawRooms,
    pub(super) poll: RawPoll,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawQuality {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max_per_cycle: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) sample_ratio: Option<f64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawRooms {
    /// Unset: on exactly when `room_level_id` is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) room_level_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) room_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) exclude: Option<bool>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawPoll {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) initial_delay: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max_delay: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) timeout: Option<HumanDuration>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawMetrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) quality_labels: Option<Vec<QualityLabel>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max_label_values: Option<usize>,
    pub(super) poor_thresholds: RawPoorThresholds,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawPoorThresholds {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) latency: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) jitter: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) packet_loss: Option<f64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) path: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawWeb {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) listen_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) telemetry_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) config_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawLog {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) level: Option<LogLevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) format: Option<LogFormat>,
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

impl RawConfig {
    pub(super) fn parse(yaml: &str, origin: &str) -> Result<RawConfig, ConfigError> {
        // An empty file (or one of only comments) is an empty document: all defaults.
        let parsed: Option<RawConfig> =
            serde_norway::from_str(yaml).map_err(|e| yaml_error(&e, origin))?;
        Ok(parsed.unwrap_or_default())
    }
}
