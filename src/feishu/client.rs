//! The client: its options, its shared state, and the loop that runs one call.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use url::Url;

use super::auth::{Credentials, TokenSource};
use super::error::FeishuError;
use super::http::Attempt;
use super::limiter::Limiters;
use super::request::UserIdType;
use super::retry::{Decision, RetryPolicy};
use super::{CallObserver, Endpoint};
use crate::secret::Secret;

/// Feishu (China). Lark is `https://open.larksuite.com`.
pub const DEFAULT_BASE_URL: &str = "https://open.feishu.cn";
/// Requests a minute the client makes per endpoint unless told otherwise.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 90;
/// Requests a minute Feishu allows per endpoint.
pub const MAX_REQUESTS_PER_MINUTE: u32 = 100;

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
    /// Retries, backoff and throttle waits of one call. Default [`RetryPolicy::default`].
    pub retry: RetryPolicy,
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
            retry: RetryPolicy::default(),
        }
    }
}

/// The Feishu VC export client. Cheap to clone (the state is shared behind an `Arc`): clones
/// share the token cache and the rate limiters.
#[derive(Clone)]
pub struct Client {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) http: reqwest::Client,
    pub(super) base_url: Url,
    pub(super) user_id_type: UserIdType,
    pub(super) request_timeout: Duration,
    pub(super) max_download_bytes: u64,
    pub(super) max_uncompressed_bytes: u64,
    pub(super) observer: Arc<dyn CallObserver>,
    pub(super) limiters: Limiters,
    pub(super) tokens: TokenSource,
    pub(super) retry: RetryPolicy,
    /// Per export kind, when to poll first: learned from how long tasks take.
    pub(super) first_poll: std::sync::Mutex<std::collections::HashMap<&'static str, Duration>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("tokens", &self.inner.tokens)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(
        options: ClientOptions,
        observer: Arc<dyn CallObserver>,
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
        let tokens = match TokenSource::new(options.credentials) {
            Ok(tokens) => tokens,
            Err(problem) => return invalid(problem),
        };
        if options.requests_per_minute == 0 {
            return invalid("requests_per_minute must be at least 1");
        }
        if options.request_timeout.is_zero() {
            return invalid("request_timeout must be positive");
        }
        if options.max_download_bytes == 0 || options.max_uncompressed_bytes == 0 {
            return invalid("max_download_bytes and max_uncompressed_bytes must be positive");
        }
        if let Some(problem) = options.retry.problem() {
            return invalid(problem);
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
                user_id_type: options.user_id_type,
                request_timeout: options.request_timeout,
                max_download_bytes: options.max_download_bytes,
                max_uncompressed_bytes: options.max_uncompressed_bytes,
                observer,
                limiters: Limiters::new(options.requests_per_minute),
                tokens,
                retry: options.retry,
                first_poll: Default::default(),
            }),
        })
    }

    /// The base URL with `segments` appended (each percent-encoded as a path segment).
    pub(super) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base_url.clone();
        url.path_segments_mut()
            .expect("base_url was checked to be a base")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// Runs one call: a token from the [`TokenSource`], the limiter before every request, the
    /// request, the observer; then what [`RetryPolicy::decide`] says (refresh a rejected token
    /// once, wait and retry, or give up). A throttle holds the endpoint's limiter even when the
    /// policy gives up, so the next call waits too.
    pub(super) async fn execute<T, F, Fut>(
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
        let mut attempts = inner.retry.start();
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
                retries = attempts.retries(),
                "feishu api call"
            );
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            if let FeishuError::RateLimited { retry_after, .. } = &error {
                inner.limiters.hold(endpoint, Instant::now() + *retry_after);
            }
            let rejected = token.as_ref().filter(|_| inner.tokens.refreshes_on(&error));
            match inner
                .retry
                .decide(&mut attempts, &error, rejected.is_some())
            {
                Decision::RefreshToken => {
                    tracing::debug!(
                        endpoint = endpoint.label(),
                        code = error.code(),
                        "token rejected, refreshing"
                    );
                    if let Some(token) = rejected {
                        inner.tokens.invalidate(token).await;
                    }
                }
                Decision::Wait(delay) => {
                    tracing::debug!(
                        endpoint = endpoint.label(),
                        reason = error.reason(),
                        delay_ms = delay.as_millis() as u64,
                        retries = attempts.retries(),
                        "retrying feishu call"
                    );
                    tokio::time::sleep(delay).await;
                }
                Decision::GiveUp => return Err(error),
            }
        }
    }
}
