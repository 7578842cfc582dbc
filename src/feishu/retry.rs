//! The retry policy: how often and how long one call is retried.

use std::time::Duration;

/// Delays the retry machinery uses; the defaults suit Feishu, tests shorten them.
#[derive(Debug, Clone)]
pub(crate) struct Tuning {
    /// First backoff delay after a transient failure (jittered, doubling).
    pub(crate) backoff_min: Duration,
    /// Largest backoff delay.
    pub(crate) backoff_max: Duration,
    /// Throttle wait when Feishu sends no reset header.
    pub(crate) throttle_default: Duration,
    /// Bounds of the throttle wait.
    pub(crate) throttle_min: Duration,
    pub(crate) throttle_max: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            throttle_default: Duration::from_secs(5),
            throttle_min: Duration::from_secs(1),
            throttle_max: Duration::from_secs(60),
        }
    }
}
