//! One rate limiter per endpoint, on tokio's clock (so tests can pause time).
//!
//! Feishu allows 100 requests per minute per endpoint. Each limiter lets one request through
//! every `60 s / requests_per_minute` (plus a millisecond) with a burst of one, so no window of
//! 60 s ever sees more than `requests_per_minute` requests from this client. A throttled answer
//! (99991400) additionally holds the whole endpoint until the reset time Feishu gave.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::time::Instant;

use super::Endpoint;

/// governor's clock reading tokio's (pausable) time.
#[derive(Debug, Clone)]
struct TokioClock {
    start: Instant,
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.start.elapsed())
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Nanos>>;

pub(crate) struct Limiters {
    clock: TokioClock,
    limiters: Vec<Limiter>,
    held_until: Mutex<[Option<Instant>; Endpoint::ALL.len()]>,
}

impl Limiters {
    /// `requests_per_minute` must be at least 1.
    pub(crate) fn new(requests_per_minute: u32) -> Self {
        let rpm = requests_per_minute.max(1);
        let period =
            Duration::from_nanos(60_000_000_000 / u64::from(rpm)) + Duration::from_millis(1);
        let quota = Quota::with_period(period)
            .expect("period is positive")
            .allow_burst(NonZeroU32::MIN);
        let clock = TokioClock {
            start: Instant::now(),
        };
        let limiters = Endpoint::ALL
            .iter()
            .map(|_| RateLimiter::direct_with_clock(quota, clock.clone()))
            .collect();
        Self {
            clock,
            limiters,
            held_until: Mutex::new([None; Endpoint::ALL.len()]),
        }
    }

    /// Waits until a request to `endpoint` may go out, and takes that slot.
    pub(crate) async fn until_ready(&self, endpoint: Endpoint) {
        loop {
            let held = self.held_until.lock().expect("limiter lock")[endpoint.index()];
            if let Some(until) = held {
                if until > Instant::now() {
                    tokio::time::sleep_until(until).await;
                    continue;
                }
            }
            match self.limiters[endpoint.index()].check() {
                Ok(()) => return,
                Err(not_until) => {
                    tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
                }
            }
        }
    }

    /// Holds every request to `endpoint` until `until` (after a throttled answer).
    pub(crate) fn hold(&self, endpoint: Endpoint, until: Instant) {
        let mut held = self.held_until.lock().expect("limiter lock");
        let slot = &mut held[endpoint.index()];
        if slot.is_none_or(|current| current < until) {
            *slot = Some(until);
        }
    }
}
