//! The simulator's OAuth side: the authorise page and the v2 token endpoint with single-use rotating refresh tokens, answering as the Feishu docs describe.
//!
//! A self-contained axum [`Router`] ([`OAuthSim::router`]) for the simulator server to merge,
//! plus [`OAuthSim::check_user_token`] for its API routes. What it does, per the docs (see
//! `notes/oauth.md`):
//! - `GET /open-apis/authen/v1/authorize`: checks `client_id`, `redirect_uri` (against
//!   [`RedirectUris`]), `response_type=code`, at most 50 space-separated scopes and the PKCE
//!   parameters, then auto-approves with a 302 to `redirect_uri?code=…&state=…` (or, with
//!   [`OAuthFaults::deny`], `?error=access_denied&state=…`). A request it refuses gets HTTP 400
//!   and a page naming the problem, as Feishu shows an error page instead of redirecting.
//! - `POST /open-apis/authen/v2/oauth/token`, JSON or form body, both grants. Codes live 5
//!   minutes and work once; refresh tokens work once and rotate; the authorisation ends
//!   `authorization_max` after it was given; an access token stays valid 60 s after the refresh
//!   that replaced it. No refresh token unless the authorised scope had `offline_access`.
//!   Errors carry `code`, `error`, `error_description` with the documented HTTP status: 20001,
//!   20002, 20003, 20004, 20026, 20036, 20037, 20049, 20050 (500), 20063, 20064, 20065, 20070,
//!   20071, 20072 (503), 20073. The `error` names other than `server_error` are RFC 6749's (the
//!   docs show no other).
//! - A spent refresh token answers 20073 ("has been used"); one revoked by
//!   [`OAuthSim::revoke_all_refresh_tokens`] answers 20064 ("has been revoked").
//!
//! Time is the simulator's timeline (real elapsed time plus what a [`crate::clock::ManualClock`]
//! was advanced by), in milliseconds, so a test can wait or jump.
//!
//! This module deliberately does not use `crate::feishu::oauth`: it is the oracle the client is
//! tested against, so it keeps its own copy of the documented facts.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use super::rng::{tag, Rng};
use crate::clock::Clock;

/// The authorise page's path (on the accounts host).
pub const AUTHORIZE_PATH: &str = "/open-apis/authen/v1/authorize";
/// The token endpoint's path.
pub const TOKEN_PATH: &str = "/open-apis/authen/v2/oauth/token";
/// The `grant` names of [`OAuthStats`].
pub const GRANT_CODE: &str = "authorization_code";
pub const GRANT_REFRESH: &str = "refresh_token";
pub const GRANT_OTHER: &str = "other";

const OFFLINE_ACCESS: &str = "offline_access";
const MAX_SCOPES: usize = 50;
/// Entries this long past their end are forgotten (a later use is "not found" / "invalid").
const FORGET_AFTER_MS: i64 = 3_600_000;

/// Which `redirect_uri` values the app has registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectUris {
    /// Any http(s) URL (tests bind port 0).
    AllowAny,
    /// Exactly these.
    List(Vec<String>),
}

/// The simulated app and lifetimes.
#[derive(Clone)]
pub struct OAuthSimOptions {
    pub app_id: String,
    pub app_secret: String,
    pub redirect_uris_allowed: RedirectUris,
    /// `expires_in` of access tokens (whole seconds, at least 1). Default 7200 s.
    pub access_ttl: Duration,
    /// `refresh_token_expires_in` (whole seconds). Default 604800 s (the docs' example).
    pub refresh_ttl: Duration,
    /// The longest an authorisation lasts, refreshes or not. Default 365 days.
    pub authorization_max: Duration,
    /// How long a code can be exchanged. Default 5 minutes.
    pub code_ttl: Duration,
    /// How long an access token stays valid after the refresh that replaced it. Default 60 s.
    pub access_grace: Duration,
    /// How long a "hang" fault holds the request before answering 503. Default 60 s.
    pub hang_for: Duration,
    /// Seeds the tokens and codes and the fault draws.
    pub seed: u64,
    pub clock: Clock,
}

impl Default for OAuthSimOptions {
    fn default() -> Self {
        Self {
            app_id: "cli_demo".into(),
            app_secret: "demo-secret".into(),
            redirect_uris_allowed: RedirectUris::AllowAny,
            access_ttl: Duration::from_secs(7200),
            refresh_ttl: Duration::from_secs(604_800),
            authorization_max: Duration::from_secs(365 * 86_400),
            code_ttl: Duration::from_secs(300),
            access_grace: Duration::from_secs(60),
            hang_for: Duration::from_secs(60),
            seed: 42,
            clock: Clock::System,
        }
    }
}

impl std::fmt::Debug for OAuthSimOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthSimOptions")
            .field("app_id", &self.app_id)
            .field("app_secret", &"<redacted>")
            .field("redirect_uris_allowed", &self.redirect_uris_allowed)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("authorization_max", &self.authorization_max)
            .field("code_ttl", &self.code_ttl)
            .field("access_grace", &self.access_grace)
            .field("hang_for", &self.hang_for)
            .field("seed", &self.seed)
            .field("clock", &self.clock)
            .finish()
    }
}

/// When a fault strikes a token call.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Fault {
    #[default]
    Off,
    /// The next N token calls.
    Next(u32),
    /// Each token call with this probability (0–1).
    Rate(f64),
}

/// Injected failures (all off by default); changed at run time with [`OAuthSim::set_faults`].
/// A faulted token call has no effect on the simulator's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OAuthFaults {
    /// The authorise page redirects with `error=access_denied`.
    pub deny: bool,
    /// HTTP 500, code 20050.
    pub server_error: Fault,
    /// HTTP 503, code 20072.
    pub unavailable: Fault,
    /// No answer for `hang_for`, then 503.
    pub hang: Fault,
    /// A success without `refresh_token` and `refresh_token_expires_in`, for a request that
    /// would have succeeded; the presented code or refresh token stays valid (a lost field,
    /// not a rotation), and the access token in it is not registered.
    pub drop_refresh_token: Fault,
}

/// What the simulator has answered so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthStats {
    /// Authorise-page answers: `approved`, `denied`, `refused`.
    pub authorize: BTreeMap<String, u64>,
    /// Token calls by `"{grant}/{result}"`: grant [`GRANT_CODE`], [`GRANT_REFRESH`] or
    /// [`GRANT_OTHER`]; result `ok`, `no_refresh_token`, `hang` or the error code
    /// (`20073`, …).
    pub token_calls: BTreeMap<String, u64>,
}

impl OAuthStats {
    /// Calls of `grant` with `result`.
    pub fn token_calls(&self, grant: &str, result: &str) -> u64 {
        self.token_calls
            .get(&format!("{grant}/{result}"))
            .copied()
            .unwrap_or(0)
    }

    /// Calls of `grant`, whatever the result.
    pub fn grant_calls(&self, grant: &str) -> u64 {
        let prefix = format!("{grant}/");
        self.token_calls
            .iter()
            .filter(|(key, _)| key.starts_with(&prefix))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn total_token_calls(&self) -> u64 {
        self.token_calls.values().sum()
    }

    pub fn authorize(&self, result: &str) -> u64 {
        self.authorize.get(result).copied().unwrap_or(0)
    }
}

/// Why an API call's user token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserTokenProblem {
    /// Unknown (never issued, or forgotten): 99991668.
    Invalid,
    /// Issued but past its end (including the 60 s after a refresh): 99991677.
    Expired,
}

impl UserTokenProblem {
    pub fn code(self) -> i64 {
        match self {
            UserTokenProblem::Invalid => 99991668,
            UserTokenProblem::Expired => 99991677,
        }
    }

    /// The generic error table's `msg`.
    pub fn msg(self) -> &'static str {
        match self {
            UserTokenProblem::Invalid => {
                "Invalid access token for authorization. Please make a request with token attached."
            }
            UserTokenProblem::Expired => "token expire",
        }
    }

    /// The API answer: HTTP 400 (not documented; the simulator's other auth errors use it)
    /// with `{code, msg, data}`.
    pub fn answer(self) -> Response {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"code": self.code(), "msg": self.msg(), "data": {}})),
        )
            .into_response()
    }
}

/// The simulated OAuth provider. Cheap to clone (shared state).
#[derive(Clone)]
pub struct OAuthSim {
    inner: Arc<Inner>,
}

struct Inner {
    options: OAuthSimOptions,
    started: tokio::time::Instant,
    state: Mutex<SimState>,
}

struct SimState {
    rng: Rng,
    faults: OAuthFaults,
    codes: HashMap<String, CodeGrant>,
    access: HashMap<String, AccessEntry>,
    refresh: HashMap<String, RefreshEntry>,
    authorizations: HashMap<u64, Authorization>,
    next_authorization: u64,
    /// Every token and code handed out, for tests that scan outputs for them.
    issued: Vec<String>,
    stats: OAuthStats,
}

struct CodeGrant {
    redirect_uri: String,
    scope: String,
    /// (challenge, S256?) when the authorise request carried PKCE.
    challenge: Option<(String, bool)>,
    issued_ms: i64,
    used: bool,
}

struct AccessEntry {
    expires_ms: i64,
    authorization: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefreshStatus {
    Live,
    Used,
    Revoked,
}

struct RefreshEntry {
    status: RefreshStatus,
    expires_ms: i64,
    authorization: u64,
}

struct Authorization {
    ends_ms: i64,
    scope: String,
}

/// A token-endpoint error: (HTTP status, OAuth `error`, the docs' English message).
fn token_error(code: i64) -> (StatusCode, &'static str, &'static str) {
    let bad = StatusCode::BAD_REQUEST;
    match code {
        20001 => (bad, "invalid_request", "The request is missing a required parameter."),
        20002 => (bad, "invalid_client", "The client secret is invalid."),
        20003 => (bad, "invalid_grant", "The authorization code is not found."),
        20004 => (bad, "invalid_grant", "The authorization code has expired."),
        20026 => (bad, "invalid_grant", "The refresh token passed is invalid."),
        20036 => (bad, "unsupported_grant_type", "The grant type is not supported."),
        20037 => (bad, "invalid_grant", "The refresh token passed has expired."),
        20049 => (bad, "invalid_grant", "PKCE code challenge failed."),
        20050 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "An unexpected server error occurred. Please retry your request.",
        ),
        20063 => (bad, "invalid_request", "The request is malformed."),
        20064 => (
            bad,
            "invalid_grant",
            "The refresh token has been revoked. Please note that a refresh token can only be used once.",
        ),
        20065 => (bad, "invalid_grant", "The authorization code has been used."),
        20070 => (
            bad,
            "invalid_request",
            "Both HTTP Basic authentication and client_secret were provided.",
        ),
        20071 => (bad, "invalid_grant", "The redirect_uri does not match."),
        20072 => (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The server is temporarily unavailable. Please retry your request.",
        ),
        20073 => (
            bad,
            "invalid_grant",
            "The refresh token has been used. Please note that a refresh token can only be used once.",
        ),
        _ => (bad, "invalid_request", "The request is invalid."),
    }
}

fn error_answer(code: i64) -> Response {
    let (status, error, description) = token_error(code);
    (
        status,
        axum::Json(json!({"code": code, "error": error, "error_description": description})),
    )
        .into_response()
}

impl OAuthSim {
    pub fn new(options: OAuthSimOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(SimState {
                    rng: Rng::from_parts(&[options.seed, tag("oauth")]),
                    faults: OAuthFaults::default(),
                    codes: HashMap::new(),
                    access: HashMap::new(),
                    refresh: HashMap::new(),
                    authorizations: HashMap::new(),
                    next_authorization: 1,
                    issued: Vec::new(),
                    stats: OAuthStats::default(),
                }),
                started: tokio::time::Instant::now(),
                options,
            }),
        }
    }

    /// The two routes, with their state: merge into the simulator's router.
    pub fn router(&self) -> Router {
        Router::new()
            .route(AUTHORIZE_PATH, get(authorize))
            .route(TOKEN_PATH, post(token))
            .with_state(self.inner.clone())
    }

    /// Serves [`Self::router`] alone on `listener` (tests, and a standalone accounts host).
    pub async fn serve(&self, listener: TcpListener) -> std::io::Result<OAuthSimServer> {
        let addr = listener.local_addr()?;
        let router = self.router();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::warn!(%error, "OAuth simulator stopped");
            }
        });
        Ok(OAuthSimServer { addr, stop, task })
    }

    pub fn options(&self) -> &OAuthSimOptions {
        &self.inner.options
    }

    /// Milliseconds of the simulator's timeline (see the module doc).
    pub fn timeline_ms(&self) -> i64 {
        self.inner.timeline_ms()
    }

    /// Whether an API call may use `token` at `now_ms` (the timeline: [`Self::timeline_ms`]).
    pub fn check_user_token(&self, token: &str, now_ms: i64) -> Result<(), UserTokenProblem> {
        let state = self.inner.lock();
        match state.access.get(token) {
            None => Err(UserTokenProblem::Invalid),
            Some(entry) if entry.expires_ms <= now_ms => Err(UserTokenProblem::Expired),
            Some(_) => Ok(()),
        }
    }

    /// [`Self::check_user_token`] now.
    pub fn check_user_token_now(&self, token: &str) -> Result<(), UserTokenProblem> {
        self.check_user_token(token, self.timeline_ms())
    }

    pub fn set_faults(&self, faults: OAuthFaults) {
        self.inner.lock().faults = faults;
    }

    pub fn faults(&self) -> OAuthFaults {
        self.inner.lock().faults.clone()
    }

    /// Revokes every live refresh token (they then answer 20064); access tokens live on.
    /// Returns how many were revoked.
    pub fn revoke_all_refresh_tokens(&self) -> usize {
        let mut state = self.inner.lock();
        let mut revoked = 0;
        for entry in state.refresh.values_mut() {
            if entry.status == RefreshStatus::Live {
                entry.status = RefreshStatus::Revoked;
                revoked += 1;
            }
        }
        revoked
    }

    pub fn stats(&self) -> OAuthStats {
        self.inner.lock().stats.clone()
    }

    /// Every access token, refresh token and code handed out so far.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.inner.lock().issued.clone()
    }
}

/// [`OAuthSim::serve`]'s running server.
pub struct OAuthSimServer {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl OAuthSimServer {
    /// `http://127.0.0.1:PORT`: the accounts URL and the base URL.
    pub fn base_url(&self) -> Url {
        Url::parse(&format!("http://{}", self.addr)).unwrap_or_else(|_| unreachable!())
    }

    /// Stops serving; a hanging request is cut after a moment.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(2), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn timeline_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64 + self.options.clock.skipped_ms()
    }

    fn redirect_allowed(&self, uri: &str) -> bool {
        match &self.options.redirect_uris_allowed {
            RedirectUris::AllowAny => true,
            RedirectUris::List(list) => list.iter().any(|allowed| allowed == uri),
        }
    }
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn secs(ms: i64) -> i64 {
    (ms / 1000).max(1)
}

impl SimState {
    /// A JWT-looking token (~1 KB, like the docs' `eyJhbGciOiJFUzI1NiIs…`), remembered in
    /// `issued`.
    fn new_token(&mut self) -> String {
        let mut bytes = Vec::with_capacity(768);
        while bytes.len() < 768 {
            bytes.extend_from_slice(&self.rng.next_u64().to_le_bytes());
        }
        let token = format!("eyJhbGciOiJFUzI1NiIs{}", URL_SAFE_NO_PAD.encode(&bytes));
        self.issued.push(token.clone());
        token
    }

    /// A code: 64 characters of `[A-Za-z0-9_-]`.
    fn new_code(&mut self) -> String {
        let mut bytes = Vec::with_capacity(48);
        for _ in 0..6 {
            bytes.extend_from_slice(&self.rng.next_u64().to_le_bytes());
        }
        let code = URL_SAFE_NO_PAD.encode(&bytes);
        self.issued.push(code.clone());
        code
    }

    /// Whether `fault` strikes this call (a counter is used up when it does).
    fn strikes(&mut self, pick: fn(&mut OAuthFaults) -> &mut Fault) -> bool {
        let draw = self.rng.f64();
        let fault = pick(&mut self.faults);
        match *fault {
            Fault::Off => false,
            Fault::Next(0) => false,
            Fault::Next(n) => {
                *fault = Fault::Next(n - 1);
                true
            }
            Fault::Rate(p) => draw < p,
        }
    }

    fn count_token(&mut self, grant: &str, result: &str) {
        *self
            .stats
            .token_calls
            .entry(format!("{grant}/{result}"))
            .or_default() += 1;
    }

    fn forget_old(&mut self, now_ms: i64, code_ttl_ms: i64) {
        self.access
            .retain(|_, entry| entry.expires_ms + FORGET_AFTER_MS > now_ms);
        self.refresh
            .retain(|_, entry| entry.expires_ms + FORGET_AFTER_MS > now_ms);
        self.codes
            .retain(|_, code| code.issued_ms + code_ttl_ms + FORGET_AFTER_MS > now_ms);
    }

    /// A new pair for `authorization`: the answer's JSON.
    fn issue(&mut self, options: &OAuthSimOptions, authorization: u64, now_ms: i64) -> Value {
        let (ends_ms, scope) = match self.authorizations.get(&authorization) {
            Some(a) => (a.ends_ms, a.scope.clone()),
            None => (now_ms, String::new()),
        };
        let access = self.new_token();
        let access_ms = ms(options.access_ttl).max(1000);
        self.access.insert(
            access.clone(),
            AccessEntry {
                expires_ms: now_ms + access_ms,
                authorization,
            },
        );
        let mut answer = json!({
            "code": 0,
            "access_token": access,
            "expires_in": secs(access_ms),
            "scope": scope,
            "token_type": "Bearer",
        });
        if scope.split_whitespace().any(|s| s == OFFLINE_ACCESS) {
            let refresh = self.new_token();
            let refresh_ms = ms(options.refresh_ttl).min(ends_ms - now_ms).max(1000);
            self.refresh.insert(
                refresh.clone(),
                RefreshEntry {
                    status: RefreshStatus::Live,
                    expires_ms: now_ms + refresh_ms,
                    authorization,
                },
            );
            answer["refresh_token"] = json!(refresh);
            answer["refresh_token_expires_in"] = json!(secs(refresh_ms));
        }
        answer
    }
}

/// Feishu shows an error page instead of redirecting.
fn refuse(inner: &Inner, problem: String) -> Response {
    *inner
        .lock()
        .stats
        .authorize
        .entry("refused".into())
        .or_default() += 1;
    let body = format!(
        "<!doctype html><title>Authorisation error</title><h1>Authorisation error</h1><p>{}</p>\n",
        html_escape(&problem)
    );
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn authorize(
    State(inner): State<Arc<Inner>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let options = &inner.options;
    let param = |name: &str| params.get(name).map(String::as_str);
    match param("client_id") {
        Some(id) if id == options.app_id => {}
        Some(id) => return refuse(&inner, format!("client_id {id:?} is not a known app")),
        None => return refuse(&inner, "client_id is missing".into()),
    }
    let Some(redirect_uri) = param("redirect_uri").filter(|u| !u.is_empty()) else {
        return refuse(&inner, "redirect_uri is missing".into());
    };
    let redirect = match Url::parse(redirect_uri) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url,
        _ => {
            return refuse(
                &inner,
                format!("redirect_uri {redirect_uri:?} is not a URL"),
            )
        }
    };
    if !inner.redirect_allowed(redirect_uri) {
        return refuse(
            &inner,
            format!("redirect_uri {redirect_uri:?} is not in the app's redirect URL list"),
        );
    }
    if param("response_type") != Some("code") {
        return refuse(&inner, "response_type must be code".into());
    }
    let scope = param("scope")
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>();
    if scope.len() > MAX_SCOPES {
        return refuse(&inner, format!("more than {MAX_SCOPES} scopes"));
    }
    let challenge = match (param("code_challenge"), param("code_challenge_method")) {
        (None, None) => None,
        (Some(c), None | Some("plain")) => Some((c.to_owned(), false)),
        (Some(c), Some("S256")) => Some((c.to_owned(), true)),
        (None, Some(_)) => {
            return refuse(
                &inner,
                "code_challenge_method without code_challenge".into(),
            )
        }
        (Some(_), Some(m)) => {
            return refuse(&inner, format!("unknown code_challenge_method {m:?}"))
        }
    };
    let state = param("state");
    let mut location = redirect;
    let now_ms = inner.timeline_ms();
    {
        let mut sim = inner.lock();
        let result = if sim.faults.deny {
            location
                .query_pairs_mut()
                .append_pair("error", "access_denied");
            "denied"
        } else {
            let code = sim.new_code();
            sim.codes.insert(
                code.clone(),
                CodeGrant {
                    redirect_uri: redirect_uri.to_owned(),
                    scope: scope.join(" "),
                    challenge,
                    issued_ms: now_ms,
                    used: false,
                },
            );
            location.query_pairs_mut().append_pair("code", &code);
            "approved"
        };
        *sim.stats.authorize.entry(result.into()).or_default() += 1;
    }
    if let Some(state) = state {
        location.query_pairs_mut().append_pair("state", state);
    }
    match HeaderValue::from_str(location.as_str()) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => refuse(&inner, "redirect_uri cannot be redirected to".into()),
    }
}

/// The body as string fields: JSON or `application/x-www-form-urlencoded` (the docs send
/// JSON; the official clients send forms).
fn parse_body(headers: &HeaderMap, body: &[u8]) -> Option<HashMap<String, String>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let json = || {
        serde_json::from_slice::<Map<String, Value>>(body)
            .ok()
            .map(|map| {
                map.into_iter()
                    .filter_map(|(k, v)| match v {
                        Value::String(s) => Some((k, s)),
                        _ => None,
                    })
                    .collect()
            })
    };
    let form = || {
        std::str::from_utf8(body).ok().map(|text| {
            url::form_urlencoded::parse(text.as_bytes())
                .into_owned()
                .collect()
        })
    };
    if content_type.contains("json") {
        json()
    } else if content_type.contains("x-www-form-urlencoded") {
        form()
    } else {
        json().or_else(form)
    }
}

async fn token(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = parse_body(&headers, &body);
    let grant = match fields
        .as_ref()
        .and_then(|f| f.get("grant_type"))
        .map(String::as_str)
    {
        Some(GRANT_CODE) => GRANT_CODE,
        Some(GRANT_REFRESH) => GRANT_REFRESH,
        _ => GRANT_OTHER,
    };
    let hang = inner.lock().strikes(|f| &mut f.hang);
    if hang {
        inner.lock().count_token(grant, "hang");
        tokio::time::sleep(inner.options.hang_for).await;
        return error_answer(20072);
    }
    let (answer, result) = answer_token(&inner, &headers, fields);
    inner.lock().count_token(grant, &result);
    answer
}

/// The answer and the stats result of one token call.
fn answer_token(
    inner: &Inner,
    headers: &HeaderMap,
    fields: Option<HashMap<String, String>>,
) -> (Response, String) {
    let fail = |code: i64| (error_answer(code), code.to_string());
    let options = &inner.options;
    let now_ms = inner.timeline_ms();
    let mut sim = inner.lock();
    if sim.strikes(|f| &mut f.server_error) {
        return fail(20050);
    }
    if sim.strikes(|f| &mut f.unavailable) {
        return fail(20072);
    }
    let Some(fields) = fields else {
        return fail(20063);
    };
    let field = |name: &str| {
        fields
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let (Some(grant_type), Some(client_id), Some(client_secret)) = (
        field("grant_type"),
        field("client_id"),
        field("client_secret"),
    ) else {
        return fail(20001);
    };
    if headers.contains_key(header::AUTHORIZATION) {
        return fail(20070);
    }
    if client_id != options.app_id || client_secret != options.app_secret {
        return fail(20002);
    }
    sim.forget_old(now_ms, ms(options.code_ttl));
    match grant_type {
        GRANT_CODE => {
            let Some(code) = field("code") else {
                return fail(20001);
            };
            let Some(entry) = sim.codes.get(code) else {
                return fail(20003);
            };
            if entry.used {
                return fail(20065);
            }
            if now_ms > entry.issued_ms + ms(options.code_ttl) {
                return fail(20004);
            }
            if field("redirect_uri").is_some_and(|uri| uri != entry.redirect_uri) {
                return fail(20071);
            }
            if let Some((challenge, s256)) = &entry.challenge {
                let verified = field("code_verifier").is_some_and(|verifier| {
                    let computed = if *s256 {
                        let digest =
                            ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
                        URL_SAFE_NO_PAD.encode(digest.as_ref())
                    } else {
                        verifier.to_owned()
                    };
                    computed == *challenge
                });
                if !verified {
                    return fail(20049);
                }
            }
            let scope = entry.scope.clone();
            if sim.strikes(|f| &mut f.drop_refresh_token) {
                return dropped(&mut sim, options, &scope);
            }
            if let Some(entry) = sim.codes.get_mut(code) {
                entry.used = true;
            }
            let id = sim.next_authorization;
            sim.next_authorization += 1;
            sim.authorizations.insert(
                id,
                Authorization {
                    ends_ms: now_ms.saturating_add(ms(options.authorization_max)),
                    scope,
                },
            );
            let answer = sim.issue(options, id, now_ms);
            (axum::Json(answer).into_response(), "ok".into())
        }
        GRANT_REFRESH => {
            let Some(refresh_token) = field("refresh_token") else {
                return fail(20001);
            };
            let Some(entry) = sim.refresh.get(refresh_token) else {
                return fail(20026);
            };
            match entry.status {
                RefreshStatus::Used => return fail(20073),
                RefreshStatus::Revoked => return fail(20064),
                RefreshStatus::Live => {}
            }
            let authorization = entry.authorization;
            let ends_ms = sim
                .authorizations
                .get(&authorization)
                .map_or(now_ms, |a| a.ends_ms);
            if now_ms >= entry.expires_ms || now_ms >= ends_ms {
                return fail(20037);
            }
            if sim.strikes(|f| &mut f.drop_refresh_token) {
                let scope = sim
                    .authorizations
                    .get(&authorization)
                    .map(|a| a.scope.clone())
                    .unwrap_or_default();
                return dropped(&mut sim, options, &scope);
            }
            if let Some(entry) = sim.refresh.get_mut(refresh_token) {
                entry.status = RefreshStatus::Used;
            }
            // The docs: the replaced access token stays valid for a minute.
            let grace_end = now_ms + ms(options.access_grace);
            for entry in sim.access.values_mut() {
                if entry.authorization == authorization {
                    entry.expires_ms = entry.expires_ms.min(grace_end);
                }
            }
            let answer = sim.issue(options, authorization, now_ms);
            (axum::Json(answer).into_response(), "ok".into())
        }
        _ => fail(20036),
    }
}

/// The `drop_refresh_token` fault: a success without a refresh token, changing nothing.
fn dropped(sim: &mut SimState, options: &OAuthSimOptions, scope: &str) -> (Response, String) {
    let access = sim.new_token();
    let answer = json!({
        "code": 0,
        "access_token": access,
        "expires_in": secs(ms(options.access_ttl).max(1000)),
        "scope": scope,
        "token_type": "Bearer",
    });
    (
        axum::Json(answer).into_response(),
        "no_refresh_token".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    struct Running {
        sim: OAuthSim,
        server: OAuthSimServer,
        http: reqwest::Client,
    }

    async fn start(options: OAuthSimOptions) -> Running {
        let sim = OAuthSim::new(options);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = sim.serve(listener).await.unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Running { sim, server, http }
    }

    impl Running {
        fn url(&self, path: &str) -> Url {
            self.server.base_url().join(path).unwrap()
        }

        async fn authorize(&self, pairs: &[(&str, &str)]) -> reqwest::Response {
            let mut url = self.url(AUTHORIZE_PATH);
            url.query_pairs_mut().extend_pairs(pairs);
            self.http.get(url).send().await.unwrap()
        }

        /// Approves `scope` and returns the code.
        async fn code(&self, scope: &str) -> String {
            let answer = self
                .authorize(&[
                    ("client_id", "cli_demo"),
                    ("redirect_uri", "http://127.0.0.1:9875/callback"),
                    ("response_type", "code"),
                    ("scope", scope),
                    ("state", "s1"),
                ])
                .await;
            assert_eq!(answer.status(), 302);
            let location = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
            let pairs: HashMap<_, _> = location.query_pairs().into_owned().collect();
            assert_eq!(pairs["state"], "s1");
            pairs["code"].clone()
        }

        async fn post(&self, body: Value) -> (u16, Value) {
            let answer = self
                .http
                .post(self.url(TOKEN_PATH))
                .json(&body)
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.json().await.unwrap())
        }

        async fn exchange(&self, code: &str) -> (u16, Value) {
            self.post(
                json!({"grant_type": "authorization_code", "client_id": "cli_demo",
                "client_secret": "demo-secret", "code": code,
                "redirect_uri": "http://127.0.0.1:9875/callback"}),
            )
            .await
        }

        async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
            self.post(
                json!({"grant_type": "refresh_token", "client_id": "cli_demo",
                "client_secret": "demo-secret", "refresh_token": refresh_token}),
            )
            .await
        }
    }

    fn code_of(answer: &(u16, Value)) -> (u16, i64) {
        (answer.0, answer.1["code"].as_i64().unwrap())
    }

    fn string(value: &Value, key: &str) -> String {
        value[key].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn the_authorise_page_checks_the_app_and_the_redirect() {
        let run = start(OAuthSimOptions {
            redirect_uris_allowed: RedirectUris::List(
                vec!["http://127.0.0.1:9875/callback".into()],
            ),
            ..Default::default()
        })
        .await;
        let good = [
            ("client_id", "cli_demo"),
            ("redirect_uri", "http://127.0.0.1:9875/callback"),
            ("response_type", "code"),
        ];
        let mut wrong_app = good;
        wrong_app[0].1 = "cli_other";
        let answer = run.authorize(&wrong_app).await;
        assert_eq!(answer.status(), 400);
        assert!(answer.text().await.unwrap().contains("client_id"));
        let mut wrong_uri = good;
        wrong_uri[1].1 = "http://127.0.0.1:9999/callback";
        let answer = run.authorize(&wrong_uri).await;
        assert_eq!(answer.status(), 400);
        assert!(answer.text().await.unwrap().contains("redirect URL list"));
        let answer = run.authorize(&good[..2]).await;
        assert_eq!(answer.status(), 400);

        // No state: none comes back. A redirect_uri with a query keeps it.
        let answer = run.authorize(&good).await;
        assert_eq!(answer.status(), 302);
        let location = answer.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            location.starts_with("http://127.0.0.1:9875/callback?code="),
            "{location}"
        );
        assert!(!location.contains("state="));

        run.sim.set_faults(OAuthFaults {
            deny: true,
            ..Default::default()
        });
        let answer = run
            .authorize(&[good[0], good[1], good[2], ("state", "xyz")])
            .await;
        assert_eq!(
            answer.headers()["location"].to_str().unwrap(),
            "http://127.0.0.1:9875/callback?error=access_denied&state=xyz"
        );
        let stats = run.sim.stats();
        assert_eq!(
            (
                stats.authorize("refused"),
                stats.authorize("approved"),
                stats.authorize("denied")
            ),
            (3, 1, 1)
        );
        run.server.shutdown().await;
    }

    #[tokio::test]
    async fn codes_work_once_within_five_minutes() {
        let clock = ManualClock::new(1_000_000);
        let run = start(OAuthSimOptions {
            clock: Clock::Manual(clock.clone()),
            ..Default::default()
        })
        .await;
        let code = run.code("vc:export offline_access").await;
        assert_eq!(code.len(), 64);
        let first = run.exchange(&code).await;
        assert_eq!(first.0, 200, "{first:?}");
        assert_eq!(first.1["expires_in"], 7200);
        assert_eq!(first.1["refresh_token_expires_in"], 604_800);
        assert_eq!(first.1["scope"], "vc:export offline_access");
        assert_eq!(first.1["token_type"], "Bearer");
        assert!(string(&first.1, "access_token").starts_with("eyJ"));
        assert!(run
            .sim
            .check_user_token_now(&string(&first.1, "access_token"))
            .is_ok());
        assert_eq!(code_of(&run.exchange(&code).await), (400, 20065));
        assert_eq!(code_of(&run.exchange("nope").await), (400, 20003));

        let code = run.code("vc:export").await;
        clock.advance(Duration::from_secs(301));
        assert_eq!(code_of(&run.exchange(&code).await), (400, 20004));

        // Without offline_access: no refresh token. A wrong redirect_uri, secret, grant.
        let code = run.code("vc:export").await;
        let answer = run.exchange(&code).await;
        assert_eq!(answer.0, 200);
        assert!(answer.1.get("refresh_token").is_none(), "{answer:?}");
        let code = run.code("offline_access").await;
        let mut body = json!({"grant_type": "authorization_code", "client_id": "cli_demo",
            "client_secret": "demo-secret", "code": code, "redirect_uri": "http://elsewhere/"});
        assert_eq!(code_of(&run.post(body.clone()).await), (400, 20071));
        body["redirect_uri"] = "http://127.0.0.1:9875/callback".into();
        body["client_secret"] = "wrong".into();
        assert_eq!(code_of(&run.post(body.clone()).await), (400, 20002));
        body["client_secret"] = "demo-secret".into();
        body["grant_type"] = "password".into();
        assert_eq!(code_of(&run.post(body.clone()).await), (400, 20036));
        assert_eq!(
            code_of(&run.post(json!({"grant_type": "refresh_token"})).await),
            (400, 20001)
        );

        // A form body works as well as JSON.
        let answer = run
            .http
            .post(run.url(TOKEN_PATH))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=authorization_code&client_id=cli_demo&client_secret=demo-secret&code={code}"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        let stats = run.sim.stats();
        assert_eq!(stats.token_calls(GRANT_CODE, "ok"), 3);
        assert_eq!(stats.token_calls(GRANT_CODE, "20065"), 1);
        assert_eq!(stats.token_calls(GRANT_OTHER, "20036"), 1);
        run.server.shutdown().await;
    }

    #[tokio::test]
    async fn pkce_is_checked() {
        let run = start(OAuthSimOptions::default()).await;
        let verifier = "a-verifier-of-enough-length-0123456789abcdefgh";
        let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
        let challenge = URL_SAFE_NO_PAD.encode(digest.as_ref());
        let answer = run
            .authorize(&[
                ("client_id", "cli_demo"),
                ("redirect_uri", "http://127.0.0.1:9875/callback"),
                ("response_type", "code"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ])
            .await;
        let location = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let mut body = json!({"grant_type": "authorization_code", "client_id": "cli_demo",
            "client_secret": "demo-secret", "code": code, "code_verifier": "wrong"});
        assert_eq!(code_of(&run.post(body.clone()).await), (400, 20049));
        body["code_verifier"] = verifier.into();
        assert_eq!(run.post(body).await.0, 200);
        run.server.shutdown().await;
    }

    #[tokio::test]
    async fn refresh_tokens_rotate_once_and_old_access_tokens_get_a_minute() {
        let clock = ManualClock::new(1_000_000);
        let run = start(OAuthSimOptions {
            clock: Clock::Manual(clock.clone()),
            refresh_ttl: Duration::from_secs(100),
            authorization_max: Duration::from_secs(1000),
            ..Default::default()
        })
        .await;
        let first = run.exchange(&run.code("offline_access").await).await.1;
        let (access1, refresh1) = (
            string(&first, "access_token"),
            string(&first, "refresh_token"),
        );
        let second = run.refresh(&refresh1).await;
        assert_eq!(second.0, 200, "{second:?}");
        let (access2, refresh2) = (
            string(&second.1, "access_token"),
            string(&second.1, "refresh_token"),
        );
        assert_ne!(refresh1, refresh2);
        assert_eq!(code_of(&run.refresh(&refresh1).await), (400, 20073));
        assert_eq!(code_of(&run.refresh("unknown").await), (400, 20026));
        // The old access token: valid for 60 s, then expired; the new one lives on.
        assert!(run.sim.check_user_token_now(&access1).is_ok());
        clock.advance(Duration::from_secs(61));
        assert_eq!(
            run.sim.check_user_token_now(&access1),
            Err(UserTokenProblem::Expired)
        );
        assert!(run.sim.check_user_token_now(&access2).is_ok());
        assert_eq!(
            run.sim.check_user_token_now("never"),
            Err(UserTokenProblem::Invalid)
        );
        // Refresh tokens expire (100 s here).
        clock.advance(Duration::from_secs(40));
        assert_eq!(code_of(&run.refresh(&refresh2).await), (400, 20037));
        // The authorisation's end caps the refresh token's life: 1000 s after the code.
        let fresh = run.exchange(&run.code("offline_access").await).await.1;
        let mut refresh = string(&fresh, "refresh_token");
        for _ in 0..12 {
            clock.advance(Duration::from_secs(90));
            let answer = run.refresh(&refresh).await;
            if answer.0 != 200 {
                assert_eq!(code_of(&answer), (400, 20037));
                break;
            }
            assert!(answer.1["refresh_token_expires_in"].as_i64().unwrap() <= 100);
            refresh = string(&answer.1, "refresh_token");
        }
        assert!(run.sim.stats().token_calls(GRANT_REFRESH, "20037") >= 2);
        // Revoked: 20064.
        let live = string(
            &run.exchange(&run.code("offline_access").await).await.1,
            "refresh_token",
        );
        assert!(run.sim.revoke_all_refresh_tokens() >= 1);
        assert_eq!(code_of(&run.refresh(&live).await), (400, 20064));
        let problem = UserTokenProblem::Expired;
        assert_eq!(
            (problem.code(), UserTokenProblem::Invalid.code()),
            (99991677, 99991668)
        );
        run.server.shutdown().await;
    }

    #[tokio::test]
    async fn faults_answer_as_documented_and_change_nothing() {
        let run = start(OAuthSimOptions {
            hang_for: Duration::from_millis(300),
            ..Default::default()
        })
        .await;
        let first = run.exchange(&run.code("offline_access").await).await.1;
        let refresh = string(&first, "refresh_token");
        run.sim.set_faults(OAuthFaults {
            server_error: Fault::Next(1),
            ..Default::default()
        });
        let answer = run.refresh(&refresh).await;
        assert_eq!(code_of(&answer), (500, 20050));
        assert_eq!(answer.1["error"], "server_error");
        assert!(answer.1["error_description"]
            .as_str()
            .unwrap()
            .contains("retry"));
        run.sim.set_faults(OAuthFaults {
            unavailable: Fault::Next(1),
            ..Default::default()
        });
        assert_eq!(code_of(&run.refresh(&refresh).await), (503, 20072));
        run.sim.set_faults(OAuthFaults {
            drop_refresh_token: Fault::Next(1),
            ..Default::default()
        });
        let answer = run.refresh(&refresh).await;
        assert_eq!(answer.0, 200);
        assert!(answer.1.get("refresh_token").is_none());
        run.sim.set_faults(OAuthFaults {
            hang: Fault::Next(1),
            ..Default::default()
        });
        let started = std::time::Instant::now();
        assert_eq!(code_of(&run.refresh(&refresh).await), (503, 20072));
        assert!(started.elapsed() >= Duration::from_millis(300));
        run.sim.set_faults(OAuthFaults {
            server_error: Fault::Rate(1.0),
            ..Default::default()
        });
        assert_eq!(code_of(&run.refresh(&refresh).await).1, 20050);
        run.sim.set_faults(OAuthFaults::default());
        // The refresh token survived every fault.
        assert_eq!(run.refresh(&refresh).await.0, 200);
        let stats = run.sim.stats();
        assert_eq!(stats.token_calls(GRANT_REFRESH, "ok"), 1);
        assert_eq!(stats.token_calls(GRANT_REFRESH, "20050"), 2);
        assert_eq!(stats.token_calls(GRANT_REFRESH, "hang"), 1);
        assert_eq!(stats.token_calls(GRANT_REFRESH, "no_refresh_token"), 1);
        assert_eq!(stats.grant_calls(GRANT_REFRESH), 6);
        assert!(run.sim.issued_secrets().contains(&refresh));
        assert!(!format!("{:?}", run.sim.options()).contains("demo-secret"));
        run.server.shutdown().await;
    }
}
