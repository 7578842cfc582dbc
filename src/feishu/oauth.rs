//! The pure OAuth 2 (v2) pieces of Feishu user authorisation: the authorise URL, PKCE, one token-endpoint call, and its error classes.
//!
//! Facts from the Feishu docs (see `notes/oauth.md`; where DESIGN.md 8.1 or issue 13 differ,
//! the docs win and the difference is noted where it matters):
//! - Authorise page: `GET {accounts_url}/open-apis/authen/v1/authorize` with `client_id`,
//!   `response_type=code`, `redirect_uri`, a **space-separated** `scope` that must contain
//!   `offline_access` for a refresh token, `state`, and optional PKCE (`code_challenge`,
//!   `code_challenge_method=S256`; the docs' default is `plain`, so S256 is always named).
//! - Token: `POST {base_url}/open-apis/authen/v2/oauth/token`, JSON body, client
//!   authentication by `client_id` + `client_secret` in the body (never also HTTP Basic: 20070).
//!   Success: `code` 0, `access_token`, `expires_in`, and — only when `offline_access` was
//!   granted — `refresh_token` + `refresh_token_expires_in`; `scope`, `token_type`. Lifetimes are
//!   "not fixed": always the returned values. Tokens may start `eyJ` and be up to ~4 KB, so
//!   nothing here looks at a prefix or a length.
//! - Errors: HTTP 400 / 500 / 503 with `code`, `error`, `error_description`. A spent refresh
//!   token may answer 20073 ("has been used") **or** 20064 ("has been revoked"); DESIGN.md names
//!   only 20064. Only 20050 (HTTP 500) and 20072 (HTTP 503) are documented as retryable.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{json, Value};
use url::Url;

use crate::secret::Secret;

/// The authorise page, on the accounts host.
pub const AUTHORIZE_PATH: &str = "/open-apis/authen/v1/authorize";
/// The v2 token endpoint, on the API host (`base_url`).
pub const TOKEN_PATH: &str = "/open-apis/authen/v2/oauth/token";
/// The scope without which no refresh token is issued.
pub const OFFLINE_ACCESS: &str = "offline_access";
/// The accounts host of Feishu (China).
pub const FEISHU_ACCOUNTS_URL: &str = "https://accounts.feishu.cn";
/// The accounts host of Lark (international).
pub const LARK_ACCOUNTS_URL: &str = "https://accounts.larksuite.com";
/// The docs allow at most this many scopes in one authorise request.
pub const MAX_SCOPES: usize = 50;
/// Default limit for one token request, connection and body included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest token-endpoint answer read (two ~4 KB tokens and a scope list fit many times).
const MAX_ANSWER_BYTES: usize = 256 << 10;
/// Feishu's `error_description` is cut to this many characters in errors.
const MAX_DESCRIPTION_CHARS: usize = 200;

/// A fresh random `state` (32 bytes from the thread CSPRNG, base64url: 43 characters).
pub fn random_state() -> Secret {
    Secret::new(random_token())
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A PKCE (RFC 7636) verifier; the authorise URL carries its S256 challenge and the code
/// exchange the verifier, so an intercepted code is useless on its own.
#[derive(Debug, Clone)]
pub struct Pkce {
    verifier: Secret,
}

impl Pkce {
    /// 43 characters of `[A-Za-z0-9_-]`, within the docs' 43–128 of `[A-Za-z0-9-._~]`.
    pub fn generate() -> Self {
        Self {
            verifier: Secret::new(random_token()),
        }
    }

    pub fn verifier(&self) -> &Secret {
        &self.verifier
    }

    /// `BASE64URL(SHA-256(verifier))`, not secret (it goes in the URL).
    pub fn challenge(&self) -> String {
        s256_challenge(self.verifier.expose())
    }
}

/// The S256 code challenge of a verifier.
pub fn s256_challenge(verifier: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// The scope parameter: the given scopes (each may itself hold several, space-separated) in
/// order, without duplicates, with `offline_access` added when missing.
pub fn scope_param(scopes: &[&str]) -> String {
    let mut list: Vec<&str> = Vec::new();
    for scope in scopes.iter().flat_map(|s| s.split_whitespace()) {
        if !list.contains(&scope) {
            list.push(scope);
        }
    }
    if !list.contains(&OFFLINE_ACCESS) {
        list.push(OFFLINE_ACCESS);
    }
    list.join(" ")
}

/// The authorise URL without PKCE. `accounts_url` must be an http(s) URL (the config checks
/// it); a path prefix in it is kept.
pub fn authorize_url(
    accounts_url: &Url,
    app_id: &str,
    redirect_uri: &str,
    scopes: &[&str],
    state: &Secret,
) -> Url {
    build_authorize_url(accounts_url, app_id, redirect_uri, scopes, state, None)
}

/// The authorise URL with the S256 challenge of `pkce`; exchange the code with
/// [`TokenGrant::AuthorizationCode`] carrying the same verifier.
pub fn authorize_url_with_pkce(
    accounts_url: &Url,
    app_id: &str,
    redirect_uri: &str,
    scopes: &[&str],
    state: &Secret,
    pkce: &Pkce,
) -> Url {
    build_authorize_url(
        accounts_url,
        app_id,
        redirect_uri,
        scopes,
        state,
        Some(pkce),
    )
}

fn build_authorize_url(
    accounts_url: &Url,
    app_id: &str,
    redirect_uri: &str,
    scopes: &[&str],
    state: &Secret,
    pkce: Option<&Pkce>,
) -> Url {
    let mut url =
        endpoint_url(accounts_url, AUTHORIZE_PATH).unwrap_or_else(|| accounts_url.clone());
    let scope = scope_param(scopes);
    let challenge = pkce.map(Pkce::challenge);
    let mut pairs: Vec<(&str, &str)> = vec![
        ("client_id", app_id),
        ("response_type", "code"),
        ("redirect_uri", redirect_uri),
        ("scope", &scope),
        ("state", state.expose()),
    ];
    if let Some(challenge) = &challenge {
        pairs.push(("code_challenge", challenge));
        pairs.push(("code_challenge_method", "S256"));
    }
    // The docs show the scope's spaces as `%20`; form encoding would write `+`. A literal `+`
    // is encoded as `%2B` first, so turning every `+` into `%20` is exact.
    let query = pairs
        .iter()
        .map(|(key, value)| format!("{key}={}", form_encode(value).replace('+', "%20")))
        .collect::<Vec<_>>()
        .join("&");
    url.set_query(Some(&query));
    url
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `base` with `path` (absolute, `/`-separated) appended to its path; `None` when `base`
/// cannot be a base (`mailto:` and the like).
fn endpoint_url(base: &Url, path: &str) -> Option<Url> {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(path.split('/').filter(|s| !s.is_empty()));
    Some(url)
}

/// What to trade at the token endpoint. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub enum TokenGrant {
    /// The code from the callback; `redirect_uri` exactly as sent to the authorise page
    /// (20071 otherwise); the PKCE verifier when the authorise URL carried a challenge.
    AuthorizationCode {
        code: Secret,
        redirect_uri: String,
        code_verifier: Option<Secret>,
    },
    /// A refresh token: it works once, and the answer carries its successor.
    RefreshToken { refresh_token: Secret },
}

impl TokenGrant {
    /// `authorization_code` or `refresh_token`.
    pub fn grant_type(&self) -> &'static str {
        match self {
            TokenGrant::AuthorizationCode { .. } => "authorization_code",
            TokenGrant::RefreshToken { .. } => "refresh_token",
        }
    }

    fn body(&self, app_id: &str, app_secret: &Secret) -> Value {
        let mut body = json!({
            "grant_type": self.grant_type(),
            "client_id": app_id,
            "client_secret": app_secret.expose(),
        });
        match self {
            TokenGrant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                body["code"] = json!(code.expose());
                body["redirect_uri"] = json!(redirect_uri);
                if let Some(verifier) = code_verifier {
                    body["code_verifier"] = json!(verifier.expose());
                }
            }
            TokenGrant::RefreshToken { refresh_token } => {
                body["refresh_token"] = json!(refresh_token.expose());
            }
        }
        body
    }

    /// The values a server might echo back, scrubbed from error texts.
    fn secrets<'a>(&'a self, app_secret: &'a Secret) -> Vec<&'a str> {
        let mut secrets = vec![app_secret.expose()];
        match self {
            TokenGrant::AuthorizationCode {
                code,
                code_verifier,
                ..
            } => {
                secrets.push(code.expose());
                if let Some(verifier) = code_verifier {
                    secrets.push(verifier.expose());
                }
            }
            TokenGrant::RefreshToken { refresh_token } => secrets.push(refresh_token.expose()),
        }
        secrets
    }
}

/// A successful token answer, with lifetimes turned into unix times from the `now` passed to
/// [`exchange`] (the moment the request was sent, so the times err early). `Debug` shows no
/// token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: Secret,
    /// Unix seconds: `now + expires_in`.
    pub access_expires_at: i64,
    /// Always present: [`exchange`] turns an answer without one into
    /// [`OAuthError::NoRefreshToken`] (the docs return it only when `offline_access` was
    /// granted, and every grant here asks for it).
    pub refresh_token: Secret,
    /// Unix seconds: `now + refresh_token_expires_in`; `None` when the answer had no lifetime.
    pub refresh_expires_at: Option<i64>,
    /// The scopes in the token, space-separated, as answered.
    pub scope: String,
    /// The `now` the times were computed from.
    pub issued_at: i64,
}

/// How to react to a failed token call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The grant is dead (code or refresh token invalid, used, revoked, expired; user gone):
    /// stop calling and send the user through `login` again.
    Reauthorize,
    /// A server or network hiccup: keep what you have and retry with back-off.
    Retryable,
    /// The app's settings are wrong (secret, installation, availability, refresh switch):
    /// an administrator has to act; retrying soon will not help.
    Config,
    /// The request itself was wrong: a bug here (or an API change).
    Bug,
}

impl ErrorClass {
    /// A bounded label for metrics and the status page.
    pub fn label(self) -> &'static str {
        match self {
            ErrorClass::Reauthorize => "reauthorize",
            ErrorClass::Retryable => "retryable",
            ErrorClass::Config => "config",
            ErrorClass::Bug => "bug",
        }
    }
}

/// The token endpoint's error codes, from the docs' tables (get and refresh pages).
pub mod codes {
    use super::ErrorClass;

    /// One row: code, HTTP status, class, the OAuth `error` type, the docs' meaning.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct CodeInfo {
        pub code: i64,
        pub http_status: u16,
        pub class: ErrorClass,
        /// The RFC 6749 `error` type. Only `server_error` is shown in the docs; the others are
        /// the RFC's names (the simulator answers with them).
        pub error: &'static str,
        pub meaning: &'static str,
    }

    pub const MISSING_PARAMETER: i64 = 20001;
    pub const BAD_CLIENT_SECRET: i64 = 20002;
    pub const CODE_NOT_FOUND: i64 = 20003;
    pub const CODE_EXPIRED: i64 = 20004;
    pub const USER_NOT_FOUND: i64 = 20008;
    pub const APP_NOT_INSTALLED: i64 = 20009;
    pub const USER_NOT_ALLOWED: i64 = 20010;
    pub const CLIENT_MISMATCH: i64 = 20024;
    pub const REFRESH_TOKEN_INVALID: i64 = 20026;
    pub const SCOPE_NOT_ENABLED: i64 = 20027;
    pub const GRANT_TYPE_UNSUPPORTED: i64 = 20036;
    pub const REFRESH_TOKEN_EXPIRED: i64 = 20037;
    pub const APP_NOT_FOUND: i64 = 20048;
    pub const PKCE_FAILED: i64 = 20049;
    pub const SERVER_ERROR: i64 = 20050;
    pub const MALFORMED_REQUEST: i64 = 20063;
    pub const REFRESH_TOKEN_REVOKED: i64 = 20064;
    pub const CODE_USED: i64 = 20065;
    pub const USER_STATUS_INVALID: i64 = 20066;
    pub const DUPLICATE_SCOPES: i64 = 20067;
    pub const SCOPE_NOT_GRANTED: i64 = 20068;
    pub const APP_NOT_ENABLED: i64 = 20069;
    pub const BOTH_CLIENT_AUTHS: i64 = 20070;
    pub const REDIRECT_URI_MISMATCH: i64 = 20071;
    pub const UNAVAILABLE: i64 = 20072;
    pub const REFRESH_TOKEN_USED: i64 = 20073;
    pub const REFRESH_NOT_ALLOWED: i64 = 20074;

    use ErrorClass::{Bug, Config, Reauthorize, Retryable};

    const fn row(
        code: i64,
        http_status: u16,
        class: ErrorClass,
        error: &'static str,
        meaning: &'static str,
    ) -> CodeInfo {
        CodeInfo {
            code,
            http_status,
            class,
            error,
            meaning,
        }
    }

    /// Every documented code. 20027 is shown on the consent page, not by the token endpoint.
    #[rustfmt::skip]
    pub const TABLE: &[CodeInfo] = &[
        row(MISSING_PARAMETER, 400, Bug, "invalid_request", "a required parameter is missing"),
        row(BAD_CLIENT_SECRET, 400, Config, "invalid_client", "the client_id or client_secret is invalid"),
        row(CODE_NOT_FOUND, 400, Reauthorize, "invalid_grant", "the authorization code was not found"),
        row(CODE_EXPIRED, 400, Reauthorize, "invalid_grant", "the authorization code has expired (it lives 5 minutes)"),
        row(USER_NOT_FOUND, 400, Reauthorize, "invalid_grant", "the user does not exist"),
        row(APP_NOT_INSTALLED, 400, Config, "invalid_client", "the app is not installed in the tenant"),
        row(USER_NOT_ALLOWED, 400, Config, "invalid_grant", "the user is not within the app's availability range"),
        row(CLIENT_MISMATCH, 400, Config, "invalid_grant", "the code or refresh token belongs to another app"),
        row(REFRESH_TOKEN_INVALID, 400, Reauthorize, "invalid_grant", "the refresh token passed is invalid (only v2-issued refresh tokens are accepted)"),
        row(SCOPE_NOT_ENABLED, 400, Config, "invalid_scope", "the scope contains scopes the app has not enabled"),
        row(GRANT_TYPE_UNSUPPORTED, 400, Bug, "unsupported_grant_type", "the grant_type is not supported"),
        row(REFRESH_TOKEN_EXPIRED, 400, Reauthorize, "invalid_grant", "the refresh token passed has expired (also after the 365-day authorisation limit)"),
        row(APP_NOT_FOUND, 400, Config, "invalid_client", "the app does not exist"),
        row(PKCE_FAILED, 400, Bug, "invalid_grant", "the PKCE code_verifier is missing or does not match"),
        row(SERVER_ERROR, 500, Retryable, "server_error", "an unexpected server error occurred; retry"),
        row(MALFORMED_REQUEST, 400, Bug, "invalid_request", "the request is malformed"),
        row(REFRESH_TOKEN_REVOKED, 400, Reauthorize, "invalid_grant", "the refresh token has been revoked (a refresh token works only once)"),
        row(CODE_USED, 400, Reauthorize, "invalid_grant", "the authorization code has already been used"),
        row(USER_STATUS_INVALID, 400, Reauthorize, "invalid_grant", "the user's status is invalid"),
        row(DUPLICATE_SCOPES, 400, Bug, "invalid_scope", "the scope lists a scope twice"),
        row(SCOPE_NOT_GRANTED, 400, Bug, "invalid_scope", "the scope contains scopes the user has not granted"),
        row(APP_NOT_ENABLED, 400, Config, "invalid_client", "the app is not enabled"),
        row(BOTH_CLIENT_AUTHS, 400, Bug, "invalid_request", "both HTTP Basic authentication and client_secret were sent"),
        row(REDIRECT_URI_MISMATCH, 400, Bug, "invalid_grant", "the redirect_uri does not match the one of the authorise request"),
        row(UNAVAILABLE, 503, Retryable, "temporarily_unavailable", "the server is temporarily unavailable; retry"),
        row(REFRESH_TOKEN_USED, 400, Reauthorize, "invalid_grant", "the refresh token has already been used (a refresh token works only once)"),
        row(REFRESH_NOT_ALLOWED, 400, Config, "unauthorized_client", "the app is not allowed to refresh tokens (turn on \"refresh user_access_token\" in the app's security settings and publish a version)"),
    ];

    /// The documented row of `code`.
    pub fn info(code: i64) -> Option<&'static CodeInfo> {
        TABLE.iter().find(|row| row.code == code)
    }
}

/// A failed token call. Messages name the code and the docs' meaning; they never contain a
/// token, a code, a verifier or the app secret (the server's text is scrubbed of everything
/// the request carried before it is kept).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The endpoint answered with an OAuth error body.
    #[error("token endpoint answered {}HTTP {http_status}: {}{}",
        .code.map(|c| format!("code {c}, ")).unwrap_or_default(),
        api_meaning(*.code, .error),
        detail_suffix(.error, .description))]
    Api {
        code: Option<i64>,
        /// The OAuth `error` type, when given.
        error: String,
        /// `error_description`, scrubbed and cut short.
        description: String,
        http_status: u16,
    },
    /// An HTTP error status without a JSON body.
    #[error("token endpoint answered HTTP {status} without an OAuth error body")]
    Http { status: u16 },
    /// Connecting, sending or reading failed.
    #[error("token endpoint unreachable: {message}")]
    Transport { message: String },
    /// No complete answer within the timeout.
    #[error("token endpoint did not answer within {after:?}")]
    Timeout { after: Duration },
    /// A success status whose body is not what the docs describe.
    #[error("token endpoint answered something unexpected: {detail}")]
    Malformed { detail: String },
    /// A success without `refresh_token`. With `offline_access` in the answered scope the
    /// answer is anomalous (retry); without it the app has not enabled `offline_access`.
    #[error("token endpoint answered without a refresh token{}", if *.offline_access_granted {
        " although offline_access was granted"
    } else {
        ": offline_access is not among the granted scopes (enable it in the app's permissions)"
    })]
    NoRefreshToken { offline_access_granted: bool },
    /// `base_url` cannot carry a path.
    #[error("token endpoint: base URL {0} cannot be used")]
    BadUrl(String),
}

fn api_meaning(code: Option<i64>, error: &str) -> String {
    match code.and_then(codes::info) {
        Some(info) => info.meaning.to_owned(),
        None if code.is_some() => "an undocumented code".to_owned(),
        None if error.is_empty() => "an unspecified error".to_owned(),
        None => format!("error {error}"),
    }
}

fn detail_suffix(error: &str, description: &str) -> String {
    match (error.is_empty(), description.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(" [{error}]"),
        (true, false) => format!(" [{description}]"),
        (false, false) => format!(" [{error}: {description}]"),
    }
}

impl OAuthError {
    /// How to react: see [`ErrorClass`]. Undocumented codes and statuses fall back on the HTTP
    /// status (5xx, 429, 408 retryable) and the OAuth `error` type.
    pub fn class(&self) -> ErrorClass {
        match self {
            OAuthError::Api {
                code,
                error,
                http_status,
                ..
            } => {
                if let Some(info) = code.and_then(codes::info) {
                    return info.class;
                }
                if is_retryable_status(*http_status) {
                    return ErrorClass::Retryable;
                }
                match error.as_str() {
                    "server_error" | "temporarily_unavailable" => ErrorClass::Retryable,
                    "invalid_grant" if code.is_none() => ErrorClass::Reauthorize,
                    "invalid_client" | "unauthorized_client" => ErrorClass::Config,
                    _ => ErrorClass::Bug,
                }
            }
            OAuthError::Http { status } if is_retryable_status(*status) => ErrorClass::Retryable,
            // A 404 or an HTML 403 from a proxy: the base URL is probably wrong.
            OAuthError::Http { .. } | OAuthError::BadUrl(_) => ErrorClass::Config,
            OAuthError::Transport { .. }
            | OAuthError::Timeout { .. }
            | OAuthError::Malformed { .. } => ErrorClass::Retryable,
            OAuthError::NoRefreshToken {
                offline_access_granted,
            } => {
                if *offline_access_granted {
                    ErrorClass::Retryable
                } else {
                    ErrorClass::Config
                }
            }
        }
    }

    /// The Feishu code, when the answer had one.
    pub fn code(&self) -> Option<i64> {
        match self {
            OAuthError::Api { code, .. } => *code,
            _ => None,
        }
    }
}

fn is_retryable_status(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

/// One call of the token endpoint: `POST {base_url}/open-apis/authen/v2/oauth/token` with a
/// JSON body, answered within `timeout`. `now` (unix seconds, taken before sending) dates the
/// lifetimes. Nothing is retried here.
pub async fn exchange(
    http: &reqwest::Client,
    base_url: &Url,
    app_id: &str,
    app_secret: &Secret,
    grant: &TokenGrant,
    timeout: Duration,
    now: i64,
) -> Result<TokenPair, OAuthError> {
    let url = endpoint_url(base_url, TOKEN_PATH)
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .ok_or_else(|| OAuthError::BadUrl(base_url.to_string()))?;
    let body =
        serde_json::to_vec(&grant.body(app_id, app_secret)).map_err(|e| OAuthError::Malformed {
            detail: format!("cannot encode the request: {e}"),
        })?;
    let sent = http
        .post(url)
        .timeout(timeout)
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .header(ACCEPT, "application/json")
        .body(body)
        .send()
        .await;
    let secrets = grant.secrets(app_secret);
    let mut response = sent.map_err(|e| transport_error(&e, timeout, &secrets))?;
    let status = response.status().as_u16();
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(OAuthError::Malformed {
                        detail: format!("an answer larger than {MAX_ANSWER_BYTES} bytes"),
                    });
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(transport_error(&e, timeout, &secrets)),
        }
    }
    parse_answer(status, &bytes, &secrets, now)
}

fn transport_error(error: &reqwest::Error, timeout: Duration, secrets: &[&str]) -> OAuthError {
    if error.is_timeout() {
        return OAuthError::Timeout { after: timeout };
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    OAuthError::Transport {
        message: scrub(&message, secrets, 300),
    }
}

/// Reads one answer (pure, for tests): an OAuth error, or the pair dated from `now`.
pub(crate) fn parse_answer(
    status: u16,
    body: &[u8],
    secrets: &[&str],
    now: i64,
) -> Result<TokenPair, OAuthError> {
    let success = (200..300).contains(&status);
    let value = match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => value,
        _ if success => {
            return Err(OAuthError::Malformed {
                detail: "the body is not a JSON object".into(),
            })
        }
        _ => return Err(OAuthError::Http { status }),
    };
    let code = value.get("code").and_then(Value::as_i64);
    let error = value.get("error").and_then(Value::as_str);
    if !success || code.is_some_and(|c| c != 0) || error.is_some_and(|e| !e.is_empty()) {
        if code.is_none() && error.is_none() {
            return Err(OAuthError::Http { status });
        }
        let description = value
            .get("error_description")
            .or_else(|| value.get("msg"))
            .and_then(Value::as_str)
            .unwrap_or("");
        return Err(OAuthError::Api {
            code: code.filter(|&c| c != 0),
            error: scrub(error.unwrap_or(""), secrets, 60),
            description: scrub(description, secrets, MAX_DESCRIPTION_CHARS),
            http_status: status,
        });
    }
    let malformed = |detail: &str| OAuthError::Malformed {
        detail: detail.to_owned(),
    };
    let access_token = non_empty_str(&value, "access_token")
        .ok_or_else(|| malformed("no access_token in a success answer"))?;
    let expires_in = positive_int(&value, "expires_in")
        .ok_or_else(|| malformed("no positive expires_in in a success answer"))?;
    let scope = value
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_owned();
    let Some(refresh_token) = non_empty_str(&value, "refresh_token") else {
        // An empty or missing scope says nothing about offline_access: treat it as granted.
        let granted = scope.is_empty() || scope.split_whitespace().any(|s| s == OFFLINE_ACCESS);
        return Err(OAuthError::NoRefreshToken {
            offline_access_granted: granted,
        });
    };
    Ok(TokenPair {
        access_token: Secret::new(access_token),
        access_expires_at: now.saturating_add(expires_in),
        refresh_token: Secret::new(refresh_token),
        refresh_expires_at: positive_int(&value, "refresh_token_expires_in")
            .map(|seconds| now.saturating_add(seconds)),
        scope,
        issued_at: now,
    })
}

fn non_empty_str<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// A positive integer, also when sent as a float (`7200.0`) or a string (`"7200"`).
fn positive_int(value: &Value, key: &str) -> Option<i64> {
    let field = value.get(key)?;
    let number = match field {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    number.filter(|&n| n > 0)
}

/// `text` without any of `secrets` (each replaced by `<redacted>`), control characters
/// flattened, cut to `max_chars`.
pub(crate) fn scrub(text: &str, secrets: &[&str], max_chars: usize) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        if text.contains(secret) {
            text = text.replace(secret, "<redacted>");
        }
    }
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max_chars)
        .collect();
    if text.chars().count() > max_chars {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests;
