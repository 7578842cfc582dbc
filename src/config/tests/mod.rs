//! The configuration's tests: helpers shared by the files below.

mod errors;
mod files;
mod layers;
mod readme;
mod values;

use super::*;
use std::collections::HashMap;

use super::values::format_duration;
use crate::collect::state::DEFAULT_STATE_PATH;
use crate::collect::Settings as CollectSettings;
use crate::feishu::{ClientOptions, DEFAULT_BASE_URL};
use crate::metrics::{MetricsOptions, PoorThresholds, QualityLabel};
use crate::server::DEFAULT_LISTEN_ADDRESS;
use errors::INVALID;

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

fn token_config() -> Config {
    let env = env_of(&[(ENV_USER_ACCESS_TOKEN, TOKEN)]);
    Config::from_yaml_str("", "t", &Overrides::default(), &env).unwrap()
}
