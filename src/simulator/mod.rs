//! The built-in Feishu simulator: a stateful fake of the VC export API on loopback, serving a
//! deterministic synthetic tenant as real .xlsx files.
//!
//! Used by `feishu-vc-exporter simulate`, by `serve --demo` (in-process) and by the tests that
//! check the exporter's totals against the simulator's ground truth ([`Tenant`]).
//!
//! What it does, as DESIGN.md section 1 says the real API does: the tenant token endpoint
//! (tokens expire after `token_ttl`; the same token is handed out while more than 30 min
//! remain), the four create calls with their validation (times as strings, one filter, known
//! meeting and participant, known room level), task polling (status 1 until a random delay has
//! passed, then 3 with a `file_token` and a `url` that answers 403, or 2 with `fail_msg`), the
//! authenticated download, 100 requests/min per endpoint with 429 + 99991400 +
//! `x-ogw-ratelimit-*` headers, and fault injection ([`Faults`]).
//!
//! Time: data questions ("has this meeting ended?", "is this booking checked in yet?") use the
//! [`Clock`]; waiting (task delays, token lifetimes, rate-limit windows) uses a timeline that is
//! real elapsed time plus whatever a [`ManualClock`] was advanced by, so a test can either wait
//! or jump.

mod files;
mod format;
mod rng;
mod server;
mod tenant;

pub mod oauth;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

/// The simulator's "now" (moved to [`crate::clock`], which the collection loop shares).
pub use crate::clock::{Clock, ManualClock};
pub use files::{
    media_cells, meeting_list_row, participant_list_row, participant_list_rows,
    participant_quality_row, resource_reservation_row, xlsx, ExportKind,
};
pub use format::{
    format_bitrate, format_duration, format_ms, format_percent, format_time, quantize_bitrate,
    quantize_percent, yes_no, MEETING_LIST_HEADERS, NO_VALUE, OFFSET_SECONDS,
    PARTICIPANT_LIST_HEADERS, PARTICIPANT_QUALITY_LIST_HEADERS, RESOURCE_RESERVATION_LIST_HEADERS,
};
pub use server::{Simulator, SimulatorHandle};
pub use tenant::{
    CheckInDevice, CheckInStatus, Device, IdType, LeaveReason, MeetingStatus, MeetingType,
    NetworkType, ReservationStatus, RoomCheckIn, SimBooking, SimMediaPair, SimMediaStats,
    SimMeeting, SimParticipant, SimPerson, SimQualityMinute, SimRoom, SimRoomLevel, Tenant,
    CHECK_IN_DEADLINE_AFTER, CHECK_IN_OPENS_BEFORE, ROOT_LEVEL_ID,
};

/// Endpoint names used in [`Stats`] (and for the rate-limit buckets).
pub mod endpoint {
    pub const TOKEN: &str = "tenant_access_token";
    pub const MEETING_LIST: &str = "meeting_list";
    pub const PARTICIPANT_LIST: &str = "participant_list";
    pub const PARTICIPANT_QUALITY_LIST: &str = "participant_quality_list";
    pub const RESOURCE_RESERVATION_LIST: &str = "resource_reservation_list";
    /// `GET /open-apis/vc/v1/exports/{task_id}`.
    pub const POLL: &str = "poll";
    /// `GET /open-apis/vc/v1/exports/download`.
    pub const DOWNLOAD: &str = "download";
    /// The `url` of a finished task (always 403; not rate limited).
    pub const FILE_URL: &str = "file_url";
}

/// The app credentials the simulator accepts by default (`simulate`, `serve --demo`).
pub const DEMO_APP_ID: &str = "cli_demo";
pub const DEMO_APP_SECRET: &str = "demo-secret";

#[derive(Clone)]
pub struct SimulatorOptions {
    /// Seeds the tenant and every random choice of the server (delays, faults, tokens).
    pub seed: u64,
    pub app_id: String,
    pub app_secret: String,
    /// Per endpoint, in a sliding 60 s window; 0 turns the limit off.
    pub requests_per_minute: u32,
    pub token_ttl: Duration,
    /// Each task's processing time is drawn uniformly from this range (slow tasks ×10).
    pub task_delay: (Duration, Duration),
    pub faults: Faults,
    pub clock: Clock,
}

impl std::fmt::Debug for SimulatorOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorOptions")
            .field("seed", &self.seed)
            .field("app_id", &self.app_id)
            .field("app_secret", &"<redacted>")
            .field("requests_per_minute", &self.requests_per_minute)
            .field("token_ttl", &self.token_ttl)
            .field("task_delay", &self.task_delay)
            .field("faults", &self.faults)
            .field("clock", &self.clock)
            .finish()
    }
}

impl Default for SimulatorOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            app_id: DEMO_APP_ID.into(),
            app_secret: DEMO_APP_SECRET.into(),
            requests_per_minute: 100,
            token_ttl: Duration::from_secs(7200),
            task_delay: (Duration::from_secs(1), Duration::from_secs(4)),
            faults: Faults::default(),
            clock: Clock::System,
        }
    }
}

/// Injected failures, each a probability in 0–1 (all 0 by default).
///
/// Failed tasks and truncated downloads are transient: the same export (kind and parameters)
/// gets at most [`MAX_FAULT_STREAK`] of them in a row, then its next task and download go
/// through. A client that retries an export a few times therefore gets every file, whatever
/// order its requests arrive in, so tests through faults can expect exact totals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Share of export calls (create, poll, download) answered HTTP 500 (text body) or
    /// `code 121001` (JSON, HTTP 200), half each. Such a call has no other effect.
    pub error_rate: f64,
    /// Share of tasks ending in status 2 with a `fail_msg`.
    pub failed_task_rate: f64,
    /// Share of downloads whose body stops halfway under the full `Content-Length`.
    pub truncated_download_rate: f64,
    /// Share of tasks taking 10× their drawn delay.
    pub slow_task_rate: f64,
}

/// Injected failed tasks and truncated downloads one export gets in a row (see [`Faults`]):
/// fewer than the attempts the loop gives a quality export before dropping it.
pub const MAX_FAULT_STREAK: u32 = 3;
const _: () = assert!(MAX_FAULT_STREAK < crate::collect::MAX_QUALITY_ATTEMPTS);

/// What the simulator has answered so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Requests received per endpoint (see [`endpoint`]), whatever the answer.
    pub calls: BTreeMap<String, u64>,
    /// HTTP 429 answers per endpoint.
    pub rate_limited: BTreeMap<String, u64>,
    /// Tasks created per export kind (`meeting_list`, …).
    pub tasks_created: BTreeMap<String, u64>,
    pub tokens_issued: u64,
    /// Answers with 99991661 / 99991663 / bad credentials.
    pub auth_failures: u64,
    /// Calls answered with an injected 500 / 121001.
    pub injected_errors: u64,
    /// Tasks that end (or ended) in status 2.
    pub failed_tasks: u64,
    /// Successful download answers (including truncated ones).
    pub downloads: u64,
    pub truncated_downloads: u64,
}

impl Stats {
    pub fn calls(&self, endpoint: &str) -> u64 {
        self.calls.get(endpoint).copied().unwrap_or(0)
    }

    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }

    pub fn rate_limited(&self, endpoint: &str) -> u64 {
        self.rate_limited.get(endpoint).copied().unwrap_or(0)
    }

    pub fn total_rate_limited(&self) -> u64 {
        self.rate_limited.values().sum()
    }

    pub fn tasks_created(&self, kind: ExportKind) -> u64 {
        self.tasks_created.get(kind.as_str()).copied().unwrap_or(0)
    }

    pub fn total_tasks_created(&self) -> u64 {
        self.tasks_created.values().sum()
    }
}
