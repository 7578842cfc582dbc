//! Errors of the Feishu client, classified for retries, logs and metric labels.

use std::time::Duration;

use super::Endpoint;

/// Feishu `code` values the client acts on (see DESIGN.md section 1).
pub mod codes {
    /// Rate limited (HTTP 429, older APIs 400).
    pub const RATE_LIMITED: i64 = 99991400;
    /// Caller IP not in the app's allow-list.
    pub const IP_NOT_ALLOWED: i64 = 99991401;
    /// Bad app_id or app_secret.
    pub const BAD_APP_CREDENTIALS: i64 = 99991543;
    /// Bad app_id or app_secret (token endpoint).
    pub const BAD_APP_SECRET: i64 = 10014;
    /// No access token in the request.
    pub const NO_TOKEN: i64 = 99991661;
    /// Invalid tenant/app access token.
    pub const TOKEN_INVALID: i64 = 99991663;
    /// Invalid tenant/app access token.
    pub const TOKEN_INVALID_2: i64 = 99991664;
    /// Expired or invalid access token.
    pub const TOKEN_EXPIRED: i64 = 99991671;
    /// Invalid user access token.
    pub const USER_TOKEN_INVALID: i64 = 99991668;
    /// Expired user access token.
    pub const USER_TOKEN_EXPIRED: i64 = 99991677;
    /// Missing scope.
    pub const SCOPE_MISSING: i64 = 99991672;
    /// Missing scope (user token).
    pub const SCOPE_MISSING_USER: i64 = 99991676;
    /// Missing scope (user authorisation).
    pub const SCOPE_MISSING_AUTH: i64 = 99991679;
    /// VC internal error: retry.
    pub const INTERNAL: i64 = 121001;
    /// Not supported.
    pub const NOT_SUPPORTED: i64 = 121002;
    /// Bad parameter.
    pub const BAD_PARAMETER: i64 = 121003;
    /// Data does not exist.
    pub const NOT_FOUND: i64 = 121004;
    /// No permission.
    pub const NO_PERMISSION: i64 = 121005;

    /// The tenant token is bad or expired: refresh it once and retry the call once.
    pub fn is_token_expired(code: i64) -> bool {
        matches!(code, TOKEN_INVALID | TOKEN_INVALID_2 | TOKEN_EXPIRED)
    }

    /// Codes that retrying cannot fix: credentials, scope, permission, parameter, not found.
    pub fn is_permanent(code: i64) -> bool {
        matches!(
            code,
            IP_NOT_ALLOWED
                | BAD_APP_CREDENTIALS
                | BAD_APP_SECRET
                | NO_TOKEN
                | USER_TOKEN_INVALID
                | USER_TOKEN_EXPIRED
                | SCOPE_MISSING
                | SCOPE_MISSING_USER
                | SCOPE_MISSING_AUTH
                | NOT_SUPPORTED
                | BAD_PARAMETER
                | NOT_FOUND
                | NO_PERMISSION
        )
    }

    /// The bounded `reason` label of a Feishu code.
    pub fn reason(code: i64) -> &'static str {
        match code {
            RATE_LIMITED => "rate_limited",
            BAD_APP_CREDENTIALS | BAD_APP_SECRET | NO_TOKEN | TOKEN_INVALID | TOKEN_INVALID_2
            | TOKEN_EXPIRED | USER_TOKEN_INVALID | USER_TOKEN_EXPIRED => "auth",
            IP_NOT_ALLOWED | SCOPE_MISSING | SCOPE_MISSING_USER | SCOPE_MISSING_AUTH
            | NO_PERMISSION => "permission",
            NOT_SUPPORTED | BAD_PARAMETER => "bad_parameter",
            NOT_FOUND => "not_found",
            INTERNAL => "server",
            _ => "other",
        }
    }
}

/// What went wrong talking to Feishu. Messages name the endpoint and, where there is one, the
/// Feishu code and message; they never contain a token or a secret (Feishu's `msg` is scrubbed
/// of both before it is stored).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FeishuError {
    /// Feishu answered with a non-zero `code` (other than 99991400, see [`Self::RateLimited`]).
    #[error("feishu {}: code {code}: {msg} (HTTP {http_status})", .endpoint.label())]
    Api {
        endpoint: Endpoint,
        code: i64,
        msg: String,
        http_status: u16,
    },
    /// Throttled (code 99991400 or a bare HTTP 429) and still throttled after the retries.
    #[error("feishu {}: rate limited (code 99991400), retry after {retry_after:?}", .endpoint.label())]
    RateLimited {
        endpoint: Endpoint,
        retry_after: Duration,
    },
    /// An HTTP error status without a Feishu JSON body.
    #[error("feishu {}: HTTP {status} without a Feishu error body", .endpoint.label())]
    Http { endpoint: Endpoint, status: u16 },
    /// Connecting, sending or reading failed.
    #[error("feishu {}: transport error: {message}", .endpoint.label())]
    Transport { endpoint: Endpoint, message: String },
    /// One request took longer than `request_timeout`.
    #[error("feishu {}: request timed out after {timeout:?}", .endpoint.label())]
    Timeout {
        endpoint: Endpoint,
        timeout: Duration,
    },
    /// The answer was not what the API documents (bad JSON, missing field, not a zip file, …).
    #[error("feishu {}: unexpected response: {detail}", .endpoint.label())]
    BadResponse { endpoint: Endpoint, detail: String },
    /// The download, or the workbook's declared uncompressed size, exceeds a configured cap.
    #[error("feishu {}: {what} exceeds the limit of {limit} bytes", .endpoint.label())]
    TooLarge {
        endpoint: Endpoint,
        what: &'static str,
        limit: u64,
    },
    /// The export task finished with status 2 (failed).
    #[error("feishu export task {task_id} failed: {message}")]
    TaskFailed { task_id: String, message: String },
    /// The export task was still processing when the poll timeout ran out.
    #[error("feishu export task {task_id} not done after {timeout:?}")]
    TaskTimeout { task_id: String, timeout: Duration },
    /// The client options cannot work (zero rate, bad base URL, empty credentials, …).
    #[error("feishu client options: {0}")]
    InvalidOptions(String),
}

impl FeishuError {
    /// Retrying will not help until someone changes credentials, scopes, permissions or the
    /// request: report it and wait for the next cycle instead of retrying in a hot loop.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Api { code, .. } => codes::is_permanent(*code),
            Self::Http { status, .. } => matches!(status, 401 | 403 | 404),
            Self::InvalidOptions(_) => true,
            _ => false,
        }
    }

    /// The Feishu `code`, when Feishu gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Api { code, .. } => Some(*code),
            Self::RateLimited { .. } => Some(codes::RATE_LIMITED),
            _ => None,
        }
    }

    /// A short label from a small fixed set, for metrics and the status page:
    /// `rate_limited`, `auth`, `permission`, `bad_parameter`, `not_found`, `task_failed`,
    /// `timeout`, `transport`, `server`, `too_large`, `bad_response`, `config`, `other`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Api { code, .. } => codes::reason(*code),
            Self::RateLimited { .. } => "rate_limited",
            Self::Http { status, .. } => match status {
                401 => "auth",
                403 => "permission",
                404 => "not_found",
                429 => "rate_limited",
                500..=599 => "server",
                _ => "bad_response",
            },
            Self::Transport { .. } => "transport",
            Self::Timeout { .. } | Self::TaskTimeout { .. } => "timeout",
            Self::BadResponse { .. } => "bad_response",
            Self::TooLarge { .. } => "too_large",
            Self::TaskFailed { .. } => "task_failed",
            Self::InvalidOptions(_) => "config",
        }
    }

    /// The export task ran out of poll time (the loop counts it as `result="timeout"`).
    pub fn is_task_timeout(&self) -> bool {
        matches!(self, Self::TaskTimeout { .. })
    }

    /// The endpoint the error came from, if it came from one request.
    pub fn endpoint(&self) -> Option<Endpoint> {
        match self {
            Self::Api { endpoint, .. }
            | Self::RateLimited { endpoint, .. }
            | Self::Http { endpoint, .. }
            | Self::Transport { endpoint, .. }
            | Self::Timeout { endpoint, .. }
            | Self::BadResponse { endpoint, .. }
            | Self::TooLarge { endpoint, .. } => Some(*endpoint),
            Self::TaskFailed { .. } | Self::TaskTimeout { .. } => Some(Endpoint::GetTask),
            Self::InvalidOptions(_) => None,
        }
    }

    /// Worth retrying within the same call: transport errors, timeouts, 5xx and 121001.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Self::Api {
                code, http_status, ..
            } => *code == codes::INTERNAL || (*http_status >= 500 && !codes::is_permanent(*code)),
            Self::Http { status, .. } => *status >= 500,
            Self::Transport { .. } | Self::Timeout { .. } => true,
            _ => false,
        }
    }
}
