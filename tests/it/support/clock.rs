//! The instant every test that drives the simulator or the demo runs at.
//!
//! `FEISHU_VC_TEST_NOW` (RFC 3339 or unix seconds) if set, else [`DEFAULT_NOW`]: a weekday
//! afternoon in the tenant's +08:00, with a full working day in the lookback. `.ci/run` runs
//! those tests again at a night, a weekend and a midnight UTC instant.

use feishu_vc_exporter::clock::{parse_instant, Clock, DEMO_NOW_ENV};

pub const TEST_NOW_ENV: &str = "FEISHU_VC_TEST_NOW";

/// Wednesday 2026-11-18 15:00 +08:00.
pub const DEFAULT_NOW: &str = "2026-11-18T15:00:00+08:00";

/// The tests' "now", unix seconds.
pub fn test_now() -> i64 {
    let text = std::env::var(TEST_NOW_ENV).unwrap_or_else(|_| DEFAULT_NOW.to_owned());
    parse_instant(&text).unwrap_or_else(|e| panic!("{TEST_NOW_ENV}: {e}"))
}

/// A simulator clock reading `now` at once and running on with real time, as
/// `FEISHU_VC_DEMO_NOW` makes the binary's.
pub fn simulator_clock(now: i64) -> Clock {
    Clock::starting_at(now)
}

/// The environment that pins a child `serve --demo` or `simulate` at `now`.
pub fn demo_env(now: i64) -> (&'static str, String) {
    (DEMO_NOW_ENV, now.to_string())
}
