//! "Now" in unix seconds, for the collection loop and the simulator.
//!
//! [`Clock::System`] everywhere in production. `serve --demo` and `simulate` run the tenant and
//! the loop on one shared clock, which tests pin with [`DEMO_NOW_ENV`] so that what the demo
//! shows does not depend on the hour the tests run at.
//!
//! A leaf module: it uses nothing else of the crate.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Test-only, not a flag: `serve --demo` and `simulate` start their tenant's clock at this
/// instant (RFC 3339, or unix seconds) and let it run on with real time from there.
pub const DEMO_NOW_ENV: &str = "FEISHU_VC_DEMO_NOW";

/// Where "now" comes from.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// Always this unix time (seconds).
    Fixed(i64),
    /// The system clock shifted by this many seconds (replay the past, preview the future).
    Offset(i64),
    /// A clock a test sets and advances; advancing also moves the simulator's timeline (task
    /// delays, token lifetimes, rate-limit windows) forward.
    Manual(ManualClock),
}

impl Clock {
    /// A clock that reads `instant` now and runs on with real time.
    pub fn starting_at(instant: i64) -> Self {
        Clock::Offset(instant - system_now())
    }

    /// The clock [`DEMO_NOW_ENV`] asks for: [`Clock::System`] when it is unset.
    pub fn from_demo_env() -> Result<Self, String> {
        match std::env::var(DEMO_NOW_ENV) {
            Err(std::env::VarError::NotPresent) => Ok(Clock::System),
            Err(std::env::VarError::NotUnicode(_)) => Err("not valid UTF-8".into()),
            Ok(text) => parse_instant(&text).map(Clock::starting_at),
        }
    }

    /// Unix seconds.
    pub fn now(&self) -> i64 {
        match self {
            Clock::System => system_now(),
            Clock::Fixed(t) => *t,
            Clock::Offset(offset) => system_now() + offset,
            Clock::Manual(clock) => clock.now(),
        }
    }

    /// Milliseconds the clock was jumped forward by (manual clocks only).
    pub fn skipped_ms(&self) -> i64 {
        match self {
            Clock::Manual(clock) => clock.0.skipped_ms.load(Ordering::SeqCst),
            _ => 0,
        }
    }
}

/// The system clock in unix seconds.
pub fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// An instant as RFC 3339 (`2026-11-18T15:00:00+08:00`) or unix seconds (`1794985200`).
pub fn parse_instant(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp())
        .map_err(|_| {
            format!(
                "{text:?} is neither an RFC 3339 time such as 2026-11-18T15:00:00+08:00 \
                 nor unix seconds"
            )
        })
}

/// A settable clock shared between a test and the simulator (clones share the time).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<ManualInner>);

#[derive(Debug)]
struct ManualInner {
    now: AtomicI64,
    skipped_ms: AtomicI64,
}

impl ManualClock {
    pub fn new(now: i64) -> Self {
        Self(Arc::new(ManualInner {
            now: AtomicI64::new(now),
            skipped_ms: AtomicI64::new(0),
        }))
    }

    pub fn now(&self) -> i64 {
        self.0.now.load(Ordering::SeqCst)
    }

    /// Moves "now" and the timeline forward (whole seconds for "now").
    pub fn advance(&self, by: Duration) {
        self.0.now.fetch_add(by.as_secs() as i64, Ordering::SeqCst);
        self.0
            .skipped_ms
            .fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }

    /// Sets "now"; a jump forward also moves the timeline, a jump back does not.
    pub fn set(&self, now: i64) {
        let before = self.0.now.swap(now, Ordering::SeqCst);
        if now > before {
            self.0
                .skipped_ms
                .fetch_add((now - before) * 1000, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_parse_as_rfc_3339_or_unix_seconds() {
        assert_eq!(
            parse_instant("2026-11-18T15:00:00+08:00"),
            Ok(1_794_985_200)
        );
        assert_eq!(parse_instant("2026-11-18T07:00:00Z"), Ok(1_794_985_200));
        assert_eq!(parse_instant(" 1794985200\n"), Ok(1_794_985_200));
        for bad in ["", "tomorrow", "2026-11-18", "2026-11-18 15:00:00"] {
            let error = parse_instant(bad).unwrap_err();
            assert!(error.contains("RFC 3339"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_clock_starting_at_an_instant_runs_on_from_it() {
        let clock = Clock::starting_at(1_794_985_200);
        let now = clock.now();
        assert!((1_794_985_200..=1_794_985_201).contains(&now), "{now}");
        assert!(matches!(clock, Clock::Offset(_)));
    }
}
