//! The parts' settings: the only place the configuration turns into them.

use crate::collect::budget::Budget;
use crate::collect::Settings as CollectSettings;
use crate::feishu::ClientOptions;
use crate::metrics::MetricsOptions;
use crate::sheet::ParseOptions;

use super::Config;

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
            poll: c.poll,
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
        self.metrics.clone()
    }
}
