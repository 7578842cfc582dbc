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

/// What a caller should make of a [`FeishuError`]: whose it is to fix and whether asking
/// again can help. [`FeishuError::class`] agrees with [`FeishuError::is_permanent`] and the
/// client's own retry rule (see the tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Permanent, the tenant's to fix: bad app credentials, no token, a user token that is bad
    /// or expired, HTTP 401.
    Auth,
    /// Permanent, the tenant's to fix: a missing scope, the IP allow-list, 121005, HTTP 403.
    Permission,
    /// Permanent, the request's fault: 121002, 121003, 121004, HTTP 404, unusable options.
    Rejected,
    /// Still throttled after the client's retries ([`FeishuError::RateLimited`]).
    RateLimited,
    /// Worth retrying within the same call: transport errors, timeouts, 5xx, 121001.
    Transient,
    /// The rest: a failed or timed-out task, a bad answer, a file too large, a tenant token
    /// still rejected after a refresh.
    Failed,
}

impl ErrorClass {
    /// Retrying cannot help: [`Auth`](Self::Auth), [`Permission`](Self::Permission),
    /// [`Rejected`](Self::Rejected).
    pub fn is_permanent(self) -> bool {
        matches!(self, Self::Auth | Self::Permission | Self::Rejected)
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

    /// The error's class (see [`ErrorClass`]).
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Api {
                code, http_status, ..
            } => match *code {
                codes::BAD_APP_CREDENTIALS
                | codes::BAD_APP_SECRET
                | codes::NO_TOKEN
                | codes::USER_TOKEN_INVALID
                | codes::USER_TOKEN_EXPIRED => ErrorClass::Auth,
                codes::IP_NOT_ALLOWED
                | codes::SCOPE_MISSING
                | codes::SCOPE_MISSING_USER
                | codes::SCOPE_MISSING_AUTH
                | codes::NO_PERMISSION => ErrorClass::Permission,
                codes::NOT_SUPPORTED | codes::BAD_PARAMETER | codes::NOT_FOUND => {
                    ErrorClass::Rejected
                }
                codes::INTERNAL => ErrorClass::Transient,
                _ if *http_status >= 500 => ErrorClass::Transient,
                _ => ErrorClass::Failed,
            },
            Self::RateLimited { .. } => ErrorClass::RateLimited,
            Self::Http { status, .. } => match status {
                401 => ErrorClass::Auth,
                403 => ErrorClass::Permission,
                404 => ErrorClass::Rejected,
                500.. => ErrorClass::Transient,
                _ => ErrorClass::Failed,
            },
            Self::Transport { .. } | Self::Timeout { .. } => ErrorClass::Transient,
            Self::InvalidOptions(_) => ErrorClass::Rejected,
            Self::BadResponse { .. }
            | Self::TooLarge { .. }
            | Self::TaskFailed { .. }
            | Self::TaskTimeout { .. } => ErrorClass::Failed,
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Every code the client knows, and two it does not.
    const CODES: [i64; 21] = [
        codes::RATE_LIMITED,
        codes::IP_NOT_ALLOWED,
        codes::BAD_APP_CREDENTIALS,
        codes::BAD_APP_SECRET,
        codes::NO_TOKEN,
        codes::TOKEN_INVALID,
        codes::TOKEN_INVALID_2,
        codes::TOKEN_EXPIRED,
        codes::USER_TOKEN_INVALID,
        codes::USER_TOKEN_EXPIRED,
        codes::SCOPE_MISSING,
        codes::SCOPE_MISSING_USER,
        codes::SCOPE_MISSING_AUTH,
        codes::INTERNAL,
        codes::NOT_SUPPORTED,
        codes::BAD_PARAMETER,
        codes::NOT_FOUND,
        codes::NO_PERMISSION,
        0,
        1,
        99_999_999,
    ];

    fn statuses() -> impl Iterator<Item = u16> {
        std::iter::once(200).chain(400..=599)
    }

    /// Every variant, with every code and HTTP status where it carries one.
    fn every_error() -> Vec<FeishuError> {
        let endpoint = Endpoint::GetTask;
        let mut errors = Vec::new();
        for code in CODES {
            for http_status in statuses() {
                errors.push(FeishuError::Api {
                    endpoint,
                    code,
                    msg: String::new(),
                    http_status,
                });
            }
        }
        for status in statuses() {
            errors.push(FeishuError::Http { endpoint, status });
        }
        errors.extend([
            FeishuError::RateLimited {
                endpoint,
                retry_after: Duration::from_secs(1),
            },
            FeishuError::Transport {
                endpoint,
                message: String::new(),
            },
            FeishuError::Timeout {
                endpoint,
                timeout: Duration::from_secs(1),
            },
            FeishuError::BadResponse {
                endpoint,
                detail: String::new(),
            },
            FeishuError::TooLarge {
                endpoint,
                what: "download",
                limit: 1,
            },
            FeishuError::TaskFailed {
                task_id: String::new(),
                message: String::new(),
            },
            FeishuError::TaskTimeout {
                task_id: String::new(),
                timeout: Duration::from_secs(1),
            },
            FeishuError::InvalidOptions(String::new()),
        ]);
        errors
    }

    #[test]
    fn classes_agree_with_the_retry_rules() {
        for error in every_error() {
            let class = error.class();
            assert_eq!(class.is_permanent(), error.is_permanent(), "{error:?}");
            assert_eq!(
                class == ErrorClass::Transient,
                error.is_transient(),
                "{error:?}"
            );
            assert_eq!(
                class == ErrorClass::RateLimited,
                matches!(error, FeishuError::RateLimited { .. }),
                "{error:?}"
            );
            // The tenant's to fix: what collect used to tell apart by the reason label.
            if error.is_permanent() {
                assert_eq!(
                    matches!(class, ErrorClass::Auth | ErrorClass::Permission),
                    matches!(error.reason(), "auth" | "permission"),
                    "{error:?}"
                );
            }
        }
    }

    #[test]
    fn classes_by_example() {
        let api = |code, http_status| FeishuError::Api {
            endpoint: Endpoint::CreateMeetingList,
            code,
            msg: String::new(),
            http_status,
        };
        let http = |status| FeishuError::Http {
            endpoint: Endpoint::Download,
            status,
        };
        assert_eq!(api(codes::BAD_APP_SECRET, 200).class(), ErrorClass::Auth);
        assert_eq!(
            api(codes::USER_TOKEN_EXPIRED, 400).class(),
            ErrorClass::Auth
        );
        assert_eq!(http(401).class(), ErrorClass::Auth);
        assert_eq!(
            api(codes::SCOPE_MISSING, 400).class(),
            ErrorClass::Permission
        );
        assert_eq!(
            api(codes::NO_PERMISSION, 200).class(),
            ErrorClass::Permission
        );
        assert_eq!(http(403).class(), ErrorClass::Permission);
        assert_eq!(api(codes::NOT_FOUND, 200).class(), ErrorClass::Rejected);
        assert_eq!(api(codes::BAD_PARAMETER, 500).class(), ErrorClass::Rejected);
        assert_eq!(http(404).class(), ErrorClass::Rejected);
        assert_eq!(api(codes::INTERNAL, 200).class(), ErrorClass::Transient);
        assert_eq!(api(1, 503).class(), ErrorClass::Transient);
        assert_eq!(http(502).class(), ErrorClass::Transient);
        assert_eq!(api(codes::TOKEN_EXPIRED, 400).class(), ErrorClass::Failed);
        assert_eq!(http(429).class(), ErrorClass::Failed);
        assert_eq!(api(1, 200).class(), ErrorClass::Failed);
    }
}
