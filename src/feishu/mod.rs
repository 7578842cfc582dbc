//! The Feishu / Lark Open Platform client for the VC export API (DESIGN.md section 1).
//!
//! [`Client`] creates export tasks, polls them and downloads the finished .xlsx bytes. It owns
//! the tenant token (cached, refreshed before expiry, single-flight), one rate limiter per
//! endpoint, request timeouts, retries with jittered backoff for transient failures, the
//! 99991400 throttle wait, and the download size and zip-bomb guards. Every HTTP request it
//! makes is reported to a [`CallObserver`], which the collect loop turns into
//! `feishu_vc_api_requests_total` and the monthly call budget. It knows nothing of xlsx columns.
//!
//! Files, one job each: `client.rs` (options, shared state, the call loop), `retry.rs` (the
//! [`RetryPolicy`] and its decision), `auth.rs` (credentials and the token source), `http.rs`
//! (one request: send, classify, scrub), `export.rs` (create, poll, download, workbook guard),
//! `limiter.rs`, `request.rs` (request bodies), `error.rs` (errors and their classes); the user
//! OAuth pieces `oauth.rs`, `token_file.rs`, `user_token.rs` are not wired into the client yet.

mod auth;
mod client;
mod error;
mod export;
mod http;
mod limiter;
mod request;
mod retry;

pub mod oauth;
pub mod token_file;
pub mod user_token;

#[cfg(test)]
mod tests;

pub use auth::Credentials;
pub use client::{
    Client, ClientOptions, DEFAULT_BASE_URL, DEFAULT_REQUESTS_PER_MINUTE, MAX_REQUESTS_PER_MINUTE,
};
pub use error::{codes, ErrorClass, FeishuError};
pub use export::{
    PollOptions, TaskStatus, DEFAULT_POLL_INITIAL_DELAY, DEFAULT_POLL_MAX_DELAY,
    DEFAULT_POLL_TIMEOUT,
};
pub use request::{
    ExportRequest, MeetingFilter, MeetingStatus, MeetingType, Participant, UserIdType,
};
pub use retry::RetryPolicy;

/// The API endpoints, each with its own Feishu rate limit and its own limiter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `POST /open-apis/auth/v3/tenant_access_token/internal`
    Token,
    /// `POST /open-apis/vc/v1/exports/meeting_list`
    CreateMeetingList,
    /// `POST /open-apis/vc/v1/exports/participant_list`
    CreateParticipantList,
    /// `POST /open-apis/vc/v1/exports/participant_quality_list`
    CreateParticipantQualityList,
    /// `POST /open-apis/vc/v1/exports/resource_reservation_list`
    CreateResourceReservationList,
    /// `GET /open-apis/vc/v1/exports/{task_id}`
    GetTask,
    /// `GET /open-apis/vc/v1/exports/download?file_token=…`
    Download,
}

impl Endpoint {
    /// Every endpoint, in declaration order.
    pub const ALL: [Endpoint; 7] = [
        Endpoint::Token,
        Endpoint::CreateMeetingList,
        Endpoint::CreateParticipantList,
        Endpoint::CreateParticipantQualityList,
        Endpoint::CreateResourceReservationList,
        Endpoint::GetTask,
        Endpoint::Download,
    ];

    /// The `endpoint` label of `feishu_vc_api_requests_total`; for the create calls it is also
    /// the export kind.
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Token => "token",
            Endpoint::CreateMeetingList => "meeting_list",
            Endpoint::CreateParticipantList => "participant_list",
            Endpoint::CreateParticipantQualityList => "participant_quality_list",
            Endpoint::CreateResourceReservationList => "resource_reservation_list",
            Endpoint::GetTask => "get_task",
            Endpoint::Download => "download",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Told about every HTTP request the client makes (each retry is a call of its own).
///
/// `code` is the Feishu `code` as a decimal string when the answer had one (`"0"` on success,
/// `"99991400"`, …), else `"http_<status>"`, `"transport"` or `"timeout"`. A download that
/// answered 200 with a file counts as `"0"`. Implementations must be cheap and must not block.
pub trait CallObserver: Send + Sync {
    fn on_call(&self, endpoint: Endpoint, code: &str);
}

/// An observer that ignores every call (for tools that do not count calls).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopObserver;

impl CallObserver for NoopObserver {
    fn on_call(&self, _endpoint: Endpoint, _code: &str) {}
}
