//! The client: HTTP, token, limiter, retries, polling and the download guards.

use std::fmt;
use std::future::Future;
use std::io::Cursor;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::time::Instant;
use url::Url;

use super::auth::{refresh_margin, CachedToken, Credentials, TokenCache};
use super::error::{codes, FeishuError};
use super::limiter::Limiters;
use super::request::{ExportRequest, UserIdType};
use super::{CallObserver, Endpoint};
use crate::secret::Secret;

/// The largest JSON answer the client reads (real answers are a few hundred bytes).
const MAX_JSON_BYTES: usize = 1 << 20;
/// Feishu's `msg` is cut to this many characters in errors.
const MAX_MSG_CHARS: usize = 300;
/// The header telling a throttled caller how many seconds to wait.
const RATELIMIT_RESET: &str = "x-ogw-ratelimit-reset";

/// Feishu (China). Lark is `https://open.larksuite.com`.
pub const DEFAULT_BASE_URL: &str = "https://open.feishu.cn";
/// Requests a minute the client makes per endpoint unless told otherwise.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 90;
/// Requests a minute Feishu allows per endpoint.
pub const MAX_REQUESTS_PER_MINUTE: u32 = 100;
/// [`PollOptions::default`]: first poll after 2 s, backing off to 30 s, giving up after 10 min.
pub const DEFAULT_POLL_INITIAL_DELAY: Duration = Duration::from_secs(2);
pub const DEFAULT_POLL_MAX_DELAY: Duration = Duration::from_secs(30);
pub const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(600);

/// Everything the client needs. [`ClientOptions::new`] fills in the defaults.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `https://open.feishu.cn` (Feishu) or `https://open.larksuite.com` (Lark).
    pub base_url: Url,
    pub credentials: Credentials,
    /// Sent as `user_id_type` on meeting_list, participant_list and participant_quality_list.
    pub user_id_type: UserIdType,
    /// Per endpoint; Feishu allows 100. Default 90.
    pub requests_per_minute: u32,
    /// The limit for one HTTP request, body included. Default 30 s.
    pub request_timeout: Duration,
    /// The largest download accepted. Default 64 MiB.
    pub max_download_bytes: u64,
    /// The largest summed uncompressed size of a workbook's entries. Default 512 MiB.
    pub max_uncompressed_bytes: u64,
    /// Retries of one call after a transient failure or a throttle. Default 3.
    pub max_retries: u32,
}

impl ClientOptions {
    /// Options with the defaults for everything but the base URL and credentials.
    pub fn new(base_url: Url, credentials: Credentials) -> Self {
        Self {
            base_url,
            credentials,
            user_id_type: UserIdType::OpenId,
            requests_per_minute: DEFAULT_REQUESTS_PER_MINUTE,
            request_timeout: Duration::from_secs(30),
            max_download_bytes: 64 << 20,
            max_uncompressed_bytes: 512 << 20,
            max_retries: 3,
        }
    }
}

/// How [`Client::run_export`] polls a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollOptions {
    /// Wait before the first poll.
    pub initial_delay: Duration,
    /// The wait doubles after each "processing" answer, up to this.
    pub max_delay: Duration,
    /// Give up (with [`FeishuError::TaskTimeout`]) this long after the task was created.
    pub timeout: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self {
            initial_delay: DEFAULT_POLL_INITIAL_DELAY,
            max_delay: DEFAULT_POLL_MAX_DELAY,
            timeout: DEFAULT_POLL_TIMEOUT,
        }
    }
}

/// The state of an export task (`data.status` of the poll answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskStatus {
    /// 1: still running.
    Processing,
    /// 2: failed, with Feishu's `fail_msg`.
    Failed { message: String },
    /// 3: done; download the file with this token.
    Done { file_token: String },
}

/// Delays the retry machinery uses; the defaults suit Feishu, tests shorten them.
#[derive(Debug, Clone)]
pub(crate) struct Tuning {
    /// First backoff delay after a transient failure (jittered, doubling).
    pub(crate) backoff_min: Duration,
    /// Largest backoff delay.
    pub(crate) backoff_max: Duration,
    /// Throttle wait when Feishu sends no reset header.
    pub(crate) throttle_default: Duration,
    /// Bounds of the throttle wait.
    pub(crate) throttle_min: Duration,
    pub(crate) throttle_max: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            throttle_default: Duration::from_secs(5),
            throttle_min: Duration::from_secs(1),
            throttle_max: Duration::from_secs(60),
        }
    }
}

/// The Feishu VC export client. Cheap to clone (the state is shared behind an `Arc`): clones
/// share the token cache and the rate limiters.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: Url,
    credentials: Credentials,
    user_id_type: UserIdType,
    request_timeout: Duration,
    max_download_bytes: u64,
    max_uncompressed_bytes: u64,
    max_retries: u32,
    observer: Arc<dyn CallObserver>,
    limiters: Limiters,
    tokens: TokenCache,
    tuning: Tuning,
    /// Per export kind, when to poll first: learned from how long tasks take.
    first_poll: std::sync::Mutex<std::collections::HashMap<&'static str, Duration>>,
}

/// The first poll aims at the 97th percentile of task durations, so nearly every task needs
/// one poll (polls are the scarce call when a backlog drains): a poll that finds the task done
/// shortens the next first delay by 1 %, one that finds it still processing lengthens it by
/// 32 %, which balances where 97 in 100 are done.
const FIRST_POLL_SHORTEN: f64 = 0.99;
const FIRST_POLL_LENGTHEN: f64 = 1.32;

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

/// What one HTTP request came to: the observer's code and the outcome.
type Attempt<T> = (String, Result<T, FeishuError>);

impl Client {
    pub fn new(
        options: ClientOptions,
        observer: Arc<dyn CallObserver>,
    ) -> Result<Self, FeishuError> {
        Self::with_tuning(options, observer, Tuning::default())
    }

    pub(crate) fn with_tuning(
        options: ClientOptions,
        observer: Arc<dyn CallObserver>,
        tuning: Tuning,
    ) -> Result<Self, FeishuError> {
        let invalid = |what: &str| Err(FeishuError::InvalidOptions(what.to_owned()));
        let mut base_url = options.base_url;
        if !matches!(base_url.scheme(), "http" | "https")
            || base_url.host_str().is_none()
            || base_url.cannot_be_a_base()
        {
            return invalid("base_url must be an http(s) URL with a host");
        }
        base_url.set_query(None);
        base_url.set_fragment(None);
        match &options.credentials {
            Credentials::App { app_id, app_secret } => {
                if app_id.trim().is_empty() || app_secret.is_empty() {
                    return invalid("app_id and app_secret must not be empty");
                }
            }
            Credentials::UserToken(token) => {
                if token.is_empty() {
                    return invalid("the user access token must not be empty");
                }
            }
        }
        if options.requests_per_minute == 0 {
            return invalid("requests_per_minute must be at least 1");
        }
        if options.request_timeout.is_zero() {
            return invalid("request_timeout must be positive");
        }
        if options.max_download_bytes == 0 || options.max_uncompressed_bytes == 0 {
            return invalid("max_download_bytes and max_uncompressed_bytes must be positive");
        }
        let http = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .connect_timeout(options.request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("feishu-vc-exporter/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FeishuError::InvalidOptions(format!("HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base_url,
                credentials: options.credentials,
                user_id_type: options.user_id_type,
                request_timeout: options.request_timeout,
                max_download_bytes: options.max_download_bytes,
                max_uncompressed_bytes: options.max_uncompressed_bytes,
                max_retries: options.max_retries,
                observer,
                limiters: Limiters::new(options.requests_per_minute),
                tokens: TokenCache::default(),
                tuning,
                first_poll: Default::default(),
            }),
        })
    }

    /// Creates an export task and returns its `task_id`.
    pub async fn create_export(&self, request: &ExportRequest) -> Result<String, FeishuError> {
        let endpoint = request.endpoint();
        let mut url = self.url(&["open-apis", "vc", "v1", "exports", request.kind()]);
        if request.takes_user_id_type() {
            url.query_pairs_mut()
                .append_pair("user_id_type", self.inner.user_id_type.as_str());
        }
        let body = request.body();
        let answer = self
            .execute(endpoint, true, |token| {
                self.json_attempt(endpoint, Method::POST, url.clone(), token, Some(&body))
            })
            .await?;
        let task_id = match answer.pointer("/data/task_id") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            Some(Value::Number(id)) => id.to_string(),
            _ => {
                return Err(FeishuError::BadResponse {
                    endpoint,
                    detail: "answer without data.task_id".into(),
                })
            }
        };
        tracing::debug!(kind = request.kind(), task_id = %task_id, "feishu export task created");
        Ok(task_id)
    }

    /// Asks for the state of an export task.
    pub async fn get_task(&self, task_id: &str) -> Result<TaskStatus, FeishuError> {
        let endpoint = Endpoint::GetTask;
        let url = self.url(&["open-apis", "vc", "v1", "exports", task_id]);
        let answer = self
            .execute(endpoint, true, |token| {
                self.json_attempt(endpoint, Method::GET, url.clone(), token, None)
            })
            .await?;
        let bad = |detail: String| FeishuError::BadResponse { endpoint, detail };
        let data = answer
            .get("data")
            .ok_or_else(|| bad("answer without data".into()))?;
        match data.get("status").and_then(as_i64) {
            Some(1) => Ok(TaskStatus::Processing),
            Some(2) => Ok(TaskStatus::Failed {
                message: truncate(data.get("fail_msg").and_then(Value::as_str).unwrap_or("")),
            }),
            Some(3) => match data.get("file_token").and_then(Value::as_str) {
                // Never the `url` field: the download goes through the authenticated endpoint.
                Some(file_token) if !file_token.is_empty() => Ok(TaskStatus::Done {
                    file_token: file_token.to_owned(),
                }),
                _ => Err(bad("task done without a file_token".into())),
            },
            Some(other) => Err(bad(format!("unknown task status {other}"))),
            None => Err(bad("answer without data.status".into())),
        }
    }

    /// Downloads a finished export through `/exports/download` with the token. The bytes are
    /// a zip container (xlsx) whose declared uncompressed size is within the limit.
    pub async fn download(&self, file_token: &str) -> Result<Bytes, FeishuError> {
        let endpoint = Endpoint::Download;
        let mut url = self.url(&["open-apis", "vc", "v1", "exports", "download"]);
        url.query_pairs_mut().append_pair("file_token", file_token);
        let bytes = self
            .execute(endpoint, true, |token| {
                self.download_attempt(url.clone(), token)
            })
            .await?;
        check_workbook(&bytes, self.inner.max_uncompressed_bytes)?;
        Ok(bytes)
    }

    /// Creates the task, polls it (first after `initial_delay`, then doubling up to
    /// `max_delay`, giving up `timeout` after creation) and downloads the file.
    pub async fn run_export(
        &self,
        request: &ExportRequest,
        poll: &PollOptions,
    ) -> Result<Bytes, FeishuError> {
        let task_id = self.create_export(request).await?;
        let started = Instant::now();
        let deadline = started + poll.timeout;
        let max_delay = poll.max_delay.max(poll.initial_delay);
        let first = self.first_poll_delay(request.kind(), poll);
        let mut delay = first;
        let mut polls = 0u32;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(FeishuError::TaskTimeout {
                    task_id,
                    timeout: poll.timeout,
                });
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            polls += 1;
            let status = self.get_task(&task_id).await?;
            if polls == 1 {
                self.learn_first_poll(
                    request.kind(),
                    poll,
                    first,
                    matches!(status, TaskStatus::Processing),
                );
            }
            match status {
                TaskStatus::Processing if polls == 1 => {
                    // Just past the learned mark most tasks finish soon: look again shortly.
                    delay = (first / 4).max(Duration::from_millis(10)).min(max_delay);
                }
                TaskStatus::Processing => {
                    delay = (delay * 2).max(Duration::from_millis(10)).min(max_delay);
                }
                TaskStatus::Failed { message } => {
                    return Err(FeishuError::TaskFailed { task_id, message })
                }
                TaskStatus::Done { file_token } => {
                    tracing::debug!(
                        kind = request.kind(),
                        task_id = %task_id,
                        polls,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "feishu export task done"
                    );
                    return self.download(&file_token).await;
                }
            }
        }
    }

    pub(crate) fn first_poll_delay(&self, kind: &'static str, poll: &PollOptions) -> Duration {
        let learned = self
            .inner
            .first_poll
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(kind)
            .copied();
        learned.unwrap_or(poll.initial_delay)
    }

    fn learn_first_poll(
        &self,
        kind: &'static str,
        poll: &PollOptions,
        used: Duration,
        still_processing: bool,
    ) {
        let factor = if still_processing {
            FIRST_POLL_LENGTHEN
        } else {
            FIRST_POLL_SHORTEN
        };
        let floor = (poll.initial_delay / 8).max(Duration::from_millis(10));
        let next = used.mul_f64(factor).clamp(floor, poll.max_delay.max(floor));
        self.inner
            .first_poll
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(kind, next);
    }

    /// The base URL with `segments` appended (each percent-encoded as a path segment).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base_url.clone();
        url.path_segments_mut()
            .expect("base_url was checked to be a base")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// Runs one call: waits for the limiter before every request, retries transient failures
    /// with jittered exponential backoff, waits out throttles, and on a rejected tenant token
    /// refreshes it once and repeats the call once. Every request is told to the observer.
    async fn execute<T, F, Fut>(
        &self,
        endpoint: Endpoint,
        authenticated: bool,
        mut attempt: F,
    ) -> Result<T, FeishuError>
    where
        F: FnMut(Option<Secret>) -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        let inner = &*self.inner;
        let mut backoff = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(inner.tuning.backoff_min)
            .with_max_delay(inner.tuning.backoff_max)
            .without_max_times()
            .build();
        let mut retries = 0u32;
        let mut refreshed = false;
        loop {
            let token = if authenticated {
                Some(self.access_token().await?)
            } else {
                None
            };
            inner.limiters.until_ready(endpoint).await;
            let started = Instant::now();
            let (code, result) = attempt(token.clone()).await;
            inner.observer.on_call(endpoint, &code);
            tracing::debug!(
                endpoint = endpoint.label(),
                code = %code,
                elapsed_ms = started.elapsed().as_millis() as u64,
                retries,
                "feishu api call"
            );
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            if let (Some(token), Some(code)) = (&token, error.code()) {
                if codes::is_token_expired(code)
                    && !refreshed
                    && matches!(inner.credentials, Credentials::App { .. })
                {
                    tracing::debug!(
                        endpoint = endpoint.label(),
                        code,
                        "token rejected, refreshing"
                    );
                    refreshed = true;
                    inner.tokens.invalidate(token).await;
                    continue;
                }
            }
            if let FeishuError::RateLimited { retry_after, .. } = &error {
                inner.limiters.hold(endpoint, Instant::now() + *retry_after);
            }
            if retries >= inner.max_retries {
                return Err(error);
            }
            let delay = match &error {
                FeishuError::RateLimited { retry_after, .. } => *retry_after,
                error if error.is_transient() => backoff.next().unwrap_or(inner.tuning.backoff_max),
                _ => return Err(error),
            };
            retries += 1;
            tracing::debug!(
                endpoint = endpoint.label(),
                reason = error.reason(),
                delay_ms = delay.as_millis() as u64,
                retries,
                "retrying feishu call"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// The token to send: the user token as is, or the cached tenant token, fetched when
    /// missing or due. The lock is held across the fetch, so concurrent callers share it.
    async fn access_token(&self) -> Result<Secret, FeishuError> {
        if let Credentials::UserToken(token) = &self.inner.credentials {
            return Ok(token.clone());
        }
        let mut slot = self.inner.tokens.slot.lock().await;
        let now = Instant::now();
        if let Some(cached) = slot.as_ref() {
            if now < cached.refresh_at {
                return Ok(cached.token.clone());
            }
        }
        match self.fetch_token().await {
            Ok(fresh) => {
                let token = fresh.token.clone();
                *slot = Some(fresh);
                Ok(token)
            }
            Err(error) => match slot.as_ref() {
                // Refreshing early failed, but the cached token has not expired yet.
                Some(cached) if now < cached.expires_at => {
                    tracing::warn!(error = %error, "feishu token refresh failed, using the current token");
                    Ok(cached.token.clone())
                }
                _ => Err(error),
            },
        }
    }

    /// `POST /open-apis/auth/v3/tenant_access_token/internal`. Boxed: `execute` calls
    /// `access_token`, which calls this, which calls `execute`.
    fn fetch_token(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<CachedToken, FeishuError>> + Send + '_>> {
        Box::pin(async move {
            let Credentials::App { app_id, app_secret } = &self.inner.credentials else {
                unreachable!("only app credentials fetch a tenant token")
            };
            let endpoint = Endpoint::Token;
            let url = self.url(&["open-apis", "auth", "v3", "tenant_access_token", "internal"]);
            let answer = self
                .execute(endpoint, false, |_| {
                    let body = json!({"app_id": app_id, "app_secret": app_secret.expose()});
                    let url = url.clone();
                    async move {
                        self.json_attempt(endpoint, Method::POST, url, None, Some(&body))
                            .await
                    }
                })
                .await?;
            let token = answer
                .get("tenant_access_token")
                .and_then(Value::as_str)
                .filter(|token| !token.is_empty())
                .ok_or_else(|| FeishuError::BadResponse {
                    endpoint,
                    detail: "answer without tenant_access_token".into(),
                })?;
            let expire = answer.get("expire").and_then(as_i64).unwrap_or(0).max(0);
            let life = Duration::from_secs(expire as u64);
            let now = Instant::now();
            tracing::debug!(expire_s = expire, "feishu tenant token fetched");
            Ok(CachedToken {
                token: Secret::new(token),
                refresh_at: now + life - refresh_margin(life),
                expires_at: now + life,
            })
        })
    }

    /// Sends one request: bearer token, JSON body with the documented content type.
    async fn send(
        &self,
        endpoint: Endpoint,
        method: Method,
        url: Url,
        token: Option<&Secret>,
        body: Option<&Value>,
    ) -> Result<reqwest::Response, (String, FeishuError)> {
        let mut request = self.inner.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json; charset=utf-8")
                .body(body.to_string());
        }
        request
            .send()
            .await
            .map_err(|e| self.transport_error(endpoint, e))
    }

    /// One request answered by Feishu JSON: the whole answer when `code` is 0.
    async fn json_attempt(
        &self,
        endpoint: Endpoint,
        method: Method,
        url: Url,
        token: Option<Secret>,
        body: Option<&Value>,
    ) -> Attempt<Value> {
        let response = match self.send(endpoint, method, url, token.as_ref(), body).await {
            Ok(response) => response,
            Err((code, error)) => return (code, Err(error)),
        };
        self.read_json_answer(endpoint, response, token.as_ref())
            .await
    }

    /// One download request: the file bytes, or the error the JSON answer names.
    async fn download_attempt(&self, url: Url, token: Option<Secret>) -> Attempt<Bytes> {
        let endpoint = Endpoint::Download;
        let mut response = match self
            .send(endpoint, Method::GET, url, token.as_ref(), None)
            .await
        {
            Ok(response) => response,
            Err((code, error)) => return (code, Err(error)),
        };
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.to_ascii_lowercase().contains("json"));
        if is_json || !response.status().is_success() {
            let (code, result) = self
                .read_json_answer(endpoint, response, token.as_ref())
                .await;
            let result = result.and_then(|_| {
                Err(FeishuError::BadResponse {
                    endpoint,
                    detail: "a JSON answer instead of the file".into(),
                })
            });
            return (code, result);
        }
        // Feishu answered with the file: the call succeeded, whatever we make of the bytes.
        let ok = || "0".to_owned();
        let limit = self.inner.max_download_bytes;
        let too_large = FeishuError::TooLarge {
            endpoint,
            what: "download",
            limit,
        };
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return (ok(), Err(too_large));
        }
        let mut buffer = BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if (buffer.len() + chunk.len()) as u64 > limit {
                        return (ok(), Err(too_large));
                    }
                    buffer.extend_from_slice(&chunk);
                }
                Ok(None) => return (ok(), Ok(buffer.freeze())),
                Err(error) => {
                    let (code, error) = self.transport_error(endpoint, error);
                    return (code, Err(error));
                }
            }
        }
    }

    /// Reads a (small) JSON answer and classifies it by Feishu `code`, else by HTTP status.
    async fn read_json_answer(
        &self,
        endpoint: Endpoint,
        mut response: reqwest::Response,
        token: Option<&Secret>,
    ) -> Attempt<Value> {
        let status = response.status();
        let retry_after = self.throttle_delay(response.headers());
        let mut body = BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_JSON_BYTES {
                        let detail = format!("JSON answer larger than {MAX_JSON_BYTES} bytes");
                        let code = format!("http_{}", status.as_u16());
                        return (code, Err(FeishuError::BadResponse { endpoint, detail }));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(error) => {
                    let (code, error) = self.transport_error(endpoint, error);
                    return (code, Err(error));
                }
            }
        }
        let answer = serde_json::from_slice::<Value>(&body)
            .ok()
            .filter(Value::is_object);
        let feishu_code = answer.as_ref().and_then(|v| v.get("code")).and_then(as_i64);
        let Some(code) = feishu_code else {
            let observed = format!("http_{}", status.as_u16());
            let error = if status == StatusCode::TOO_MANY_REQUESTS {
                FeishuError::RateLimited {
                    endpoint,
                    retry_after,
                }
            } else if status.is_success() {
                FeishuError::BadResponse {
                    endpoint,
                    detail: "answer is not Feishu JSON with a code".into(),
                }
            } else {
                FeishuError::Http {
                    endpoint,
                    status: status.as_u16(),
                }
            };
            return (observed, Err(error));
        };
        let observed = code.to_string();
        let answer = answer.expect("a code implies an answer");
        let result = match code {
            0 if status.is_success() => Ok(answer),
            0 => Err(FeishuError::Http {
                endpoint,
                status: status.as_u16(),
            }),
            codes::RATE_LIMITED => Err(FeishuError::RateLimited {
                endpoint,
                retry_after,
            }),
            code => Err(FeishuError::Api {
                endpoint,
                code,
                msg: self.scrub(
                    answer.get("msg").and_then(Value::as_str).unwrap_or(""),
                    token,
                ),
                http_status: status.as_u16(),
            }),
        };
        (observed, result)
    }

    /// How long to wait after a throttled answer: `x-ogw-ratelimit-reset` seconds, bounded.
    fn throttle_delay(&self, headers: &HeaderMap) -> Duration {
        let tuning = &self.inner.tuning;
        headers
            .get(RATELIMIT_RESET)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<f64>().ok())
            .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
            .map(|seconds| Duration::from_secs_f64(seconds.min(3600.0)))
            .unwrap_or(tuning.throttle_default)
            .clamp(tuning.throttle_min, tuning.throttle_max)
    }

    fn transport_error(&self, endpoint: Endpoint, error: reqwest::Error) -> (String, FeishuError) {
        if error.is_timeout() {
            let timeout = self.inner.request_timeout;
            return ("timeout".into(), FeishuError::Timeout { endpoint, timeout });
        }
        // The URL may carry a file_token: leave it out, keep the chain of causes.
        let error = error.without_url();
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        (
            "transport".into(),
            FeishuError::Transport { endpoint, message },
        )
    }

    /// Feishu's `msg`, cut short and with any credential we hold blanked out.
    fn scrub(&self, msg: &str, token: Option<&Secret>) -> String {
        let mut text = msg.to_owned();
        let held = match &self.inner.credentials {
            Credentials::App { app_secret, .. } => app_secret,
            Credentials::UserToken(user_token) => user_token,
        };
        for secret in [Some(held), token].into_iter().flatten() {
            if !secret.is_empty() {
                text = text.replace(secret.expose(), "<redacted>");
            }
        }
        truncate(&text)
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(MAX_MSG_CHARS).collect()
}

/// A JSON integer, also when sent as a string (`"1"`).
fn as_i64(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Checks that `bytes` is a zip container (as .xlsx is) and that its entries' declared
/// uncompressed sizes sum to at most `max_uncompressed`. Reads the central directory only.
pub(crate) fn check_workbook(bytes: &[u8], max_uncompressed: u64) -> Result<(), FeishuError> {
    let endpoint = Endpoint::Download;
    let bad = |detail: String| FeishuError::BadResponse { endpoint, detail };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        bad(format!(
            "the download is not a complete xlsx (zip) file: {e}"
        ))
    })?;
    if archive.is_empty() {
        return Err(bad("the download is an empty zip file".into()));
    }
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| bad(format!("broken zip entry {index}: {e}")))?;
        total = total.saturating_add(entry.size());
        if total > max_uncompressed {
            return Err(FeishuError::TooLarge {
                endpoint,
                what: "uncompressed workbook",
                limit: max_uncompressed,
            });
        }
    }
    Ok(())
}
