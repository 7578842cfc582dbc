//! The retry policy: what the client does after one failed request of a call.
//!
//! [`RetryPolicy::decide`] is the whole decision, in this order: a rejected token is refreshed
//! once and the call repeated (not counted as a retry); after `max_retries` retries the error is
//! returned; a throttle waits `retry_after` (from [`RetryPolicy::throttle_wait`]); a transient
//! error ([`FeishuError::is_transient`]) waits the next jittered, doubling backoff; anything else
//! is returned at once. The client's `execute` loop carries the decision out.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use super::error::FeishuError;

/// How often and how long one call is retried. The defaults suit Feishu; tests shorten them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries of one call after a transient failure or a throttle. Default 3.
    pub max_retries: u32,
    /// First backoff delay after a transient failure (jittered, doubling). Default 500 ms.
    pub backoff_min: Duration,
    /// Largest backoff delay. Default 30 s.
    pub backoff_max: Duration,
    /// Throttle wait when Feishu sends no reset header. Default 5 s.
    pub throttle_default: Duration,
    /// Bounds of the throttle wait. Default 1 s and 60 s.
    pub throttle_min: Duration,
    pub throttle_max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            throttle_default: Duration::from_secs(5),
            throttle_min: Duration::from_secs(1),
            throttle_max: Duration::from_secs(60),
        }
    }
}

/// What to do after a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Drop the token that was sent, get a fresh one, repeat the call.
    RefreshToken,
    /// Sleep this long, then retry.
    Wait(Duration),
    /// Return the error.
    GiveUp,
}

/// The state of one call's retries.
#[derive(Debug)]
pub(crate) struct Attempts {
    retries: u32,
    refreshed: bool,
    backoff: ExponentialBackoff,
}

impl Attempts {
    /// Retries made so far (a token refresh is not one).
    pub(crate) fn retries(&self) -> u32 {
        self.retries
    }
}

impl RetryPolicy {
    /// Why the policy cannot work, if it cannot (`Duration::clamp` needs ordered bounds).
    pub(crate) fn problem(&self) -> Option<&'static str> {
        if self.backoff_min > self.backoff_max {
            Some("retry.backoff_min must not exceed retry.backoff_max")
        } else if self.throttle_min > self.throttle_max {
            Some("retry.throttle_min must not exceed retry.throttle_max")
        } else {
            None
        }
    }

    /// A new call: no retries yet, no refresh yet, the backoff at its start.
    pub(crate) fn start(&self) -> Attempts {
        let backoff = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(self.backoff_min)
            .with_max_delay(self.backoff_max)
            .without_max_times()
            .build();
        Attempts {
            retries: 0,
            refreshed: false,
            backoff,
        }
    }

    /// What to do after `error`. `can_refresh`: a token was sent, the error says it was
    /// rejected, and its source can give another (see `TokenSource::refreshes_on`).
    pub(crate) fn decide(
        &self,
        attempts: &mut Attempts,
        error: &FeishuError,
        can_refresh: bool,
    ) -> Decision {
        if can_refresh && !attempts.refreshed {
            attempts.refreshed = true;
            return Decision::RefreshToken;
        }
        if attempts.retries >= self.max_retries {
            return Decision::GiveUp;
        }
        let delay = match error {
            FeishuError::RateLimited { retry_after, .. } => *retry_after,
            error if error.is_transient() => attempts.backoff.next().unwrap_or(self.backoff_max),
            _ => return Decision::GiveUp,
        };
        attempts.retries += 1;
        Decision::Wait(delay)
    }

    /// How long to wait after a throttled answer: the reset header's seconds when it gave a
    /// usable number (at most an hour), else `throttle_default`; within the throttle bounds.
    pub(crate) fn throttle_wait(&self, reset_header_secs: Option<f64>) -> Duration {
        reset_header_secs
            .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
            .map(|seconds| Duration::from_secs_f64(seconds.min(3600.0)))
            .unwrap_or(self.throttle_default)
            .clamp(self.throttle_min, self.throttle_max)
    }
}
