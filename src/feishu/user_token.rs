//! The refreshing user access token: single-flight refresh, the new pair on disk before it is used, back-off, and the "run login" state.
//!
//! [`UserTokenSource::access_token`] hands out the token of the pair in the token file. When it
//! is due (see [`UserTokenOptions::refresh_ahead`]) one caller refreshes it while the others
//! wait for that refresh (or keep using the current token while it is still valid); the
//! refresh runs in a task of its own, so a caller that is cancelled (a timeout, a shutdown)
//! does not abandon a refresh half way. The new pair is written to the token file **before**
//! it is handed out or the old one forgotten: a refresh token works once.
//!
//! Failures, by [`ErrorClass`]:
//! - `Retryable` (20050, 20072, 5xx, transport, timeout, malformed answer, an answer without
//!   `refresh_token`): the old pair is kept (its access token is handed out while it is valid)
//!   and the refresh is retried after an exponential back-off from `min_backoff` to
//!   `max_backoff`; in between, callers cost nothing: the still-valid token or
//!   [`UserTokenError::Retrying`].
//! - `Config` / `Bug` (the app's settings, or a request this code got wrong): the same, but the
//!   back-off is `max_backoff` at once: an administrator has to act, nothing will change soon.
//! - `Reauthorize` (20026 invalid, 20037 expired or past the 365-day limit, 20064 revoked,
//!   20073 used, 20008/20066 user gone, …): the "authorisation expired: run
//!   feishu-vc-exporter login" state. No more token calls; every few seconds
//!   (`file_check_interval`) the token file's [`fingerprint`] is compared, and when a new
//!   `login` (or a copy) has replaced it, it is loaded and used. A token file that is missing or
//!   refused at start-up puts the source in the same state, with the file's own reason.
//!
//! Before refreshing, and after a `Reauthorize` answer, the file is compared with what this
//! source last read or wrote: if another process (`backfill` beside `serve`) or a `login` has
//! replaced the pair, that pair is adopted instead of being overwritten.
//!
//! Refresh ahead: `min(refresh_ahead, ¼ of the access token's lifetime)`, in whole seconds
//! rounded up. Five minutes leave room for a few retries within Feishu's ~2-hour tokens; the
//! quarter keeps a short-lived token (the docs call lifetimes "not fixed"; the tests use 2 s)
//! from being due the moment it arrives, which would refresh on every call.
//!
//! # Killed during a refresh (SIGKILL, power loss)
//!
//! A refresh is: (1) POST the refresh token RT0 of the pair P0 on disk; (2) Feishu rotates:
//! RT0 dies at once, P0's access token lives on for about a minute (the docs' grace), and P1
//! is answered; (3) P1 is written to a temporary file, fsynced, (4) renamed over the token file,
//! (5) the directory is fsynced; (6) P1 is handed out.
//! - Killed before Feishu processed (1): P0 is on disk and RT0 unspent; a restart refreshes as
//!   usual.
//! - Killed after (4): P1 is on disk; a restart uses it. (A power loss before (5) can undo the
//!   rename: that is the case below.) A kill between (3) and (4) leaves a `.NAME.*.tmp` file
//!   (0600) that nothing reads.
//! - Killed after (2) but before (4) — the one window that cannot be closed, since Feishu
//!   redeems a refresh token once and the answer exists only in this process: P0 is on disk
//!   with a spent RT0. After a restart the loaded P0 is due (refreshes happen only when due),
//!   so the first call refreshes with RT0, gets 20073 (or 20064), and the source says plainly
//!   "authorisation expired: run feishu-vc-exporter login" after one token call — no loop,
//!   never a false "ok". Had the refresh been forced by [`UserTokenSource::invalidate`] before
//!   P0 was due, P0's access token is handed out again; the API accepts it during the grace and
//!   then rejects it (99991668/99991677), the caller calls `invalidate`, the refresh gets 20073,
//!   and the result is the same plain state. The window is the transit of one answer plus one
//!   fsync and rename — milliseconds once per access-token lifetime.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use super::oauth::{self, ErrorClass, OAuthError, TokenGrant};
use super::token_file::{fingerprint, Fingerprint, TokenFile};
use crate::clock::Clock;
use crate::secret::Secret;

/// What the status page and the log say when only a new `login` can help.
pub const LOGIN_HINT: &str = "authorisation expired: run feishu-vc-exporter login";

/// Timing of the source. [`Default`] suits Feishu; tests shorten it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTokenOptions {
    /// Refresh this long before the access token expires, but at most a quarter of its
    /// lifetime ahead. Default 5 minutes.
    pub refresh_ahead: Duration,
    /// The first back-off after a retryable failure; it doubles per failure. Default 5 s.
    pub min_backoff: Duration,
    /// The longest back-off, and the back-off after a `Config`/`Bug` failure. Default 5 min.
    pub max_backoff: Duration,
    /// The limit for one token request. Default 30 s.
    pub request_timeout: Duration,
    /// In the "run login" state, how often the token file is looked at. Default 5 s.
    pub file_check_interval: Duration,
}

impl Default for UserTokenOptions {
    fn default() -> Self {
        Self {
            refresh_ahead: Duration::from_secs(300),
            min_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(300),
            request_timeout: oauth::DEFAULT_TIMEOUT,
            file_check_interval: Duration::from_secs(5),
        }
    }
}

/// Where the source stands, for the status page (no token in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenState {
    /// The pair is fine.
    Ok,
    /// A refresh is under way.
    Refreshing,
    /// The last refresh failed; the next attempt is not before `until` (unix seconds).
    Retrying { until: i64, last_error: String },
    /// Only a new `login` (or fixing the token file) helps; `reason` says which.
    Expired { reason: String },
}

impl TokenState {
    /// A bounded label: `ok`, `refreshing`, `retrying`, `expired`.
    pub fn label(&self) -> &'static str {
        match self {
            TokenState::Ok => "ok",
            TokenState::Refreshing => "refreshing",
            TokenState::Retrying { .. } => "retrying",
            TokenState::Expired { .. } => "expired",
        }
    }
}

/// Refreshes so far (for `feishu_vc_auth_refreshes_total{result}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshCounts {
    pub success: u64,
    pub failure: u64,
}

/// A snapshot for the status page and the self-metrics; it holds no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTokenStatus {
    /// Always `"user"` (the tenant mode has no source).
    pub mode: &'static str,
    /// Unix seconds, of the pair last loaded or written.
    pub access_expires_at: Option<i64>,
    pub refresh_expires_at: Option<i64>,
    /// The 365-day end of the authorisation.
    pub authorization_ends_at: Option<i64>,
    pub state: TokenState,
    pub refreshes: RefreshCounts,
}

/// Why no token can be handed out. Messages hold no token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserTokenError {
    /// Only a new `login` helps (or fixing the token file, as `reason` says).
    #[error("{reason}")]
    Expired { reason: String },
    /// Refreshing failed, the current access token has expired (or was rejected), and the
    /// next attempt is not before `until` (unix seconds).
    #[error("user token refresh failing, next attempt not before {} ({last_error})", format_time(*.until))]
    Retrying { until: i64, last_error: String },
}

fn format_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| unix.to_string())
}

/// Points of a refresh at which a test can "kill the process" (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshPoint {
    BeforePost,
    AfterPost,
    AfterSave,
}

#[cfg(test)]
pub(crate) type Hook = Arc<dyn Fn(RefreshPoint) -> bool + Send + Sync>;

/// The user access token of one token file, refreshed as needed. Cheap to clone: clones share
/// the pair, the single-flight lock and the counters.
#[derive(Clone)]
pub struct UserTokenSource {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for UserTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserTokenSource")
            .field("path", &self.inner.path)
            .field("app_id", &self.inner.app_id)
            .field("state", &self.status().state.label())
            .finish_non_exhaustive()
    }
}

struct Inner {
    path: PathBuf,
    app_id: String,
    app_secret: Secret,
    base_url: Url,
    http: reqwest::Client,
    clock: Clock,
    options: UserTokenOptions,
    shared: StdMutex<Shared>,
    /// Held for the whole of a refresh (and of a reload): the single flight.
    refresh_lock: Arc<Mutex<()>>,
    #[cfg(test)]
    hook: StdMutex<Option<Hook>>,
}

#[derive(Default)]
struct Shared {
    /// The pair on disk, as this source last read or wrote it.
    pair: Option<TokenFile>,
    /// The file's fingerprint after that read or write.
    disk: Option<Fingerprint>,
    /// `Some`: the "run login" state.
    expired: Option<Expired>,
    /// The API rejected the pair's access token ([`UserTokenSource::invalidate`]).
    rejected: bool,
    refreshing: bool,
    /// A refreshed pair the disk refused: the old refresh token is spent, so this one must not
    /// be lost; it is written again before anything else.
    unsaved: Option<TokenFile>,
    /// Failures in a row since the last success.
    failures: u32,
    retry_at: Option<Instant>,
    retry_until: i64,
    last_error: Option<String>,
    counts: RefreshCounts,
}

struct Expired {
    reason: String,
    /// The file as it was when this state began (or was last checked).
    seen: Option<Fingerprint>,
    next_check: Instant,
}

enum Step {
    Use(Secret),
    Fail(UserTokenError),
    Work,
}

impl UserTokenSource {
    /// A source for the token file at `path`, issued to `app_id`. The file is read now; a
    /// missing or refused file puts the source in the "run login" state (see the module doc).
    /// `base_url` is the API host (`https://open.feishu.cn`), `http` a shared client (each
    /// token request gets `options.request_timeout`), `clock` dates the expiry times.
    pub fn new(
        path: impl Into<PathBuf>,
        app_id: impl Into<String>,
        app_secret: Secret,
        base_url: Url,
        http: reqwest::Client,
        clock: Clock,
        options: UserTokenOptions,
    ) -> Self {
        let inner = Arc::new(Inner {
            path: path.into(),
            app_id: app_id.into(),
            app_secret,
            base_url,
            http,
            clock,
            options,
            shared: StdMutex::new(Shared::default()),
            refresh_lock: Arc::new(Mutex::new(())),
            #[cfg(test)]
            hook: StdMutex::new(None),
        });
        inner.initial_load();
        Self { inner }
    }

    /// The token file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The access token to send: the current one unless it is due, else the result of one
    /// shared refresh (see the module doc for failures).
    pub async fn access_token(&self) -> Result<Secret, UserTokenError> {
        if let Some(done) = self.inner.step() {
            return done;
        }
        let guard = self.inner.refresh_lock.clone().lock_owned().await;
        if let Some(done) = self.inner.step() {
            return done;
        }
        let inner = self.inner.clone();
        let task = tokio::spawn(async move {
            let _guard = guard;
            inner.work().await
        });
        match task.await {
            Ok(result) => result,
            Err(error) => Err(UserTokenError::Retrying {
                until: self.inner.clock.now(),
                last_error: format!("the refresh task failed: {error}"),
            }),
        }
    }

    /// The API said `token` is invalid or expired (99991668 / 99991677): if it is still the
    /// current token, the next [`Self::access_token`] refreshes (once, however many callers
    /// report it). A token already replaced is ignored.
    pub async fn invalidate(&self, token: &Secret) {
        let mut shared = self.inner.lock();
        let current = shared
            .pair
            .as_ref()
            .is_some_and(|pair| pair.access_token == *token);
        if current && shared.expired.is_none() && !shared.rejected {
            shared.rejected = true;
            tracing::debug!(
                "the API rejected the user access token; refreshing before the next call"
            );
        }
    }

    /// Waits until no refresh is under way (call before exiting, so a refresh is not cut
    /// between Feishu's answer and the rename).
    pub async fn settle(&self) {
        let _guard = self.inner.refresh_lock.lock().await;
    }

    /// A snapshot for the status page and the metrics.
    pub fn status(&self) -> UserTokenStatus {
        let shared = self.inner.lock();
        let state = if let Some(expired) = &shared.expired {
            TokenState::Expired {
                reason: expired.reason.clone(),
            }
        } else if shared.refreshing {
            TokenState::Refreshing
        } else if shared.failures > 0 || shared.unsaved.is_some() {
            TokenState::Retrying {
                until: shared.retry_until,
                last_error: shared.last_error.clone().unwrap_or_default(),
            }
        } else {
            TokenState::Ok
        };
        let pair = shared.pair.as_ref();
        UserTokenStatus {
            mode: "user",
            access_expires_at: pair.map(|p| p.access_expires_at),
            refresh_expires_at: pair.map(|p| p.refresh_expires_at),
            authorization_ends_at: pair.map(TokenFile::authorization_ends_at),
            state,
            refreshes: shared.counts,
        }
    }

    #[cfg(test)]
    pub(crate) fn set_hook(&self, hook: Hook) {
        *self
            .inner
            .hook
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(hook);
    }
}

/// The unix second from which `pair` is due for a refresh.
fn refresh_due(pair: &TokenFile, refresh_ahead: Duration) -> i64 {
    let lifetime = (pair.access_expires_at - pair.issued_at).max(0);
    let quarter = (lifetime + 3) / 4;
    let ahead = i64::try_from(refresh_ahead.as_secs())
        .unwrap_or(i64::MAX)
        .min(quarter);
    pair.access_expires_at - ahead
}

/// Clears the "refreshing" flag however the refresh ends.
struct RefreshingFlag<'a>(&'a Inner);

impl Drop for RefreshingFlag<'_> {
    fn drop(&mut self) {
        self.0.lock().refreshing = false;
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn initial_load(&self) {
        let seen = fingerprint(&self.path).ok().flatten();
        let loaded = TokenFile::load(&self.path, &self.app_id);
        let mut shared = self.lock();
        match loaded {
            Ok(file) => {
                shared.pair = Some(file);
                shared.disk = seen;
            }
            Err(error) => {
                let reason = error.to_string();
                tracing::warn!("{reason}");
                shared.expired = Some(Expired {
                    reason,
                    seen,
                    next_check: Instant::now() + self.options.file_check_interval,
                });
            }
        }
    }

    /// What a caller can do now without the refresh lock.
    fn step(&self) -> Option<Result<Secret, UserTokenError>> {
        match self.decide(&self.lock()) {
            Step::Use(token) => Some(Ok(token)),
            Step::Fail(error) => Some(Err(error)),
            Step::Work => None,
        }
    }

    fn decide(&self, shared: &Shared) -> Step {
        let instant = Instant::now();
        if let Some(expired) = &shared.expired {
            return if instant >= expired.next_check {
                Step::Work
            } else {
                Step::Fail(UserTokenError::Expired {
                    reason: expired.reason.clone(),
                })
            };
        }
        let Some(pair) = &shared.pair else {
            return Step::Work;
        };
        let now = self.clock.now();
        let valid = !shared.rejected && now < pair.access_expires_at;
        let backing_off = shared.retry_at.is_some_and(|at| instant < at);
        let retrying = || {
            Step::Fail(UserTokenError::Retrying {
                until: shared.retry_until,
                last_error: shared.last_error.clone().unwrap_or_default(),
            })
        };
        if shared.unsaved.is_some() {
            return if backing_off { retrying() } else { Step::Work };
        }
        let due = shared.rejected || now >= refresh_due(pair, self.options.refresh_ahead);
        if !due || (valid && (shared.refreshing || backing_off)) {
            return Step::Use(pair.access_token.clone());
        }
        if backing_off {
            return retrying();
        }
        Step::Work
    }

    /// Runs with the refresh lock held: reload in the "run login" state, write a pending pair,
    /// adopt a newer file, or refresh.
    async fn work(&self) -> Result<Secret, UserTokenError> {
        // Two rounds: a pair adopted from disk may itself be due.
        for _ in 0..2 {
            if self.lock().expired.is_some() {
                self.reload_if_changed()?;
            }
            let pending = {
                let shared = self.lock();
                match self.decide(&shared) {
                    Step::Use(token) => return Ok(token),
                    Step::Fail(error) => return Err(error),
                    Step::Work => shared.unsaved.clone(),
                }
            };
            if let Some(file) = pending {
                return self.commit(file);
            }
            if self.adopt_newer_file() {
                continue;
            }
            match self.refresh().await {
                Some(result) => return result,
                None => continue,
            }
        }
        match self.decide(&self.lock()) {
            Step::Use(token) => Ok(token),
            Step::Fail(error) => Err(error),
            Step::Work => Err(UserTokenError::Retrying {
                until: self.clock.now(),
                last_error: "the token file keeps changing".into(),
            }),
        }
    }

    /// In the "run login" state: loads the token file if it changed since the state began.
    fn reload_if_changed(&self) -> Result<(), UserTokenError> {
        let now_fp = fingerprint(&self.path).ok().flatten();
        let next_check = Instant::now() + self.options.file_check_interval;
        {
            let mut shared = self.lock();
            let Some(expired) = shared.expired.as_mut() else {
                return Ok(());
            };
            if expired.seen == now_fp {
                expired.next_check = next_check;
                return Err(UserTokenError::Expired {
                    reason: expired.reason.clone(),
                });
            }
        }
        let loaded = TokenFile::load(&self.path, &self.app_id);
        let mut shared = self.lock();
        match loaded {
            Ok(file) => {
                tracing::info!(path = %self.path.display(), "user token file replaced; using the new authorisation");
                shared.pair = Some(file);
                shared.disk = now_fp;
                shared.expired = None;
                shared.rejected = false;
                shared.unsaved = None;
                shared.failures = 0;
                shared.retry_at = None;
                shared.last_error = None;
                Ok(())
            }
            Err(error) => {
                let reason = error.to_string();
                tracing::warn!("{reason}");
                shared.expired = Some(Expired {
                    reason: reason.clone(),
                    seen: now_fp,
                    next_check,
                });
                Err(UserTokenError::Expired { reason })
            }
        }
    }

    /// Adopts the token file's pair when another process or a `login` replaced it since this
    /// source last read or wrote it. True when a different pair was adopted.
    fn adopt_newer_file(&self) -> bool {
        let now_fp = fingerprint(&self.path).ok().flatten();
        if now_fp.is_none() || now_fp == self.lock().disk {
            return false;
        }
        let loaded = TokenFile::load(&self.path, &self.app_id);
        let mut shared = self.lock();
        shared.disk = now_fp;
        match loaded {
            Ok(file) => {
                let same = shared
                    .pair
                    .as_ref()
                    .is_some_and(|pair| pair.refresh_token == file.refresh_token);
                if same {
                    return false;
                }
                tracing::info!(path = %self.path.display(), "the user token file holds a newer pair; using it");
                shared.pair = Some(file);
                shared.expired = None;
                shared.rejected = false;
                shared.failures = 0;
                shared.retry_at = None;
                shared.last_error = None;
                true
            }
            Err(error) => {
                tracing::warn!(error = %error, "the user token file changed and cannot be used; keeping the pair in memory");
                false
            }
        }
    }

    /// One refresh of the current pair. `None`: the pair changed on disk meanwhile, decide
    /// again.
    async fn refresh(&self) -> Option<Result<Secret, UserTokenError>> {
        let current = {
            let mut shared = self.lock();
            let pair = shared.pair.clone()?;
            shared.refreshing = true;
            pair
        };
        let _flag = RefreshingFlag(self);
        if !self.survives(RefreshPoint::BeforePost) {
            return Some(Err(killed()));
        }
        let grant = TokenGrant::RefreshToken {
            refresh_token: current.refresh_token.clone(),
        };
        let answer = oauth::exchange(
            &self.http,
            &self.base_url,
            &self.app_id,
            &self.app_secret,
            &grant,
            self.options.request_timeout,
            self.clock.now(),
        )
        .await;
        match answer {
            Ok(pair) => {
                let file = current.refreshed(&pair);
                if !self.survives(RefreshPoint::AfterPost) {
                    return Some(Err(killed()));
                }
                Some(self.commit(file))
            }
            Err(error) if error.class() == ErrorClass::Reauthorize => {
                // serve and backfill on one file: the other may have rotated the pair first.
                if self.adopt_newer_file() {
                    self.lock().counts.failure += 1;
                    return None;
                }
                Some(Err(self.expire(&error)))
            }
            Err(error) => Some(self.back_off(&error)),
        }
    }

    /// Writes a refreshed pair, then makes it current; if the disk refuses, keeps it pending.
    fn commit(&self, file: TokenFile) -> Result<Secret, UserTokenError> {
        if let Err(error) = file.save(&self.path) {
            let message = error.to_string();
            tracing::error!(error = %message, "the refreshed user token pair cannot be written; it is kept in memory and written again before it is used");
            let mut shared = self.lock();
            shared.unsaved = Some(file);
            shared.counts.failure += 1;
            let until = self.schedule_retry(&mut shared, ErrorClass::Retryable, message.clone());
            return Err(UserTokenError::Retrying {
                until,
                last_error: message,
            });
        }
        if !self.survives(RefreshPoint::AfterSave) {
            return Err(killed());
        }
        let now_fp = fingerprint(&self.path).ok().flatten();
        let token = file.access_token.clone();
        tracing::debug!(
            access_expires_at = file.access_expires_at,
            refresh_expires_at = file.refresh_expires_at,
            "user access token refreshed"
        );
        let mut shared = self.lock();
        shared.pair = Some(file);
        shared.disk = now_fp;
        shared.unsaved = None;
        shared.rejected = false;
        shared.failures = 0;
        shared.retry_at = None;
        shared.last_error = None;
        shared.counts.success += 1;
        Ok(token)
    }

    /// Enters the "run login" state after a `Reauthorize` answer.
    fn expire(&self, error: &OAuthError) -> UserTokenError {
        let reason = format!("{LOGIN_HINT} ({error})");
        tracing::error!(code = error.code(), "{reason}");
        let seen = fingerprint(&self.path).ok().flatten();
        let mut shared = self.lock();
        shared.counts.failure += 1;
        shared.last_error = Some(error.to_string());
        shared.expired = Some(Expired {
            reason: reason.clone(),
            seen,
            next_check: Instant::now() + self.options.file_check_interval,
        });
        UserTokenError::Expired { reason }
    }

    /// After a failure that keeps the pair: back off; hand out the old token while it is valid.
    fn back_off(&self, error: &OAuthError) -> Result<Secret, UserTokenError> {
        let class = error.class();
        let message = error.to_string();
        let now = self.clock.now();
        let mut shared = self.lock();
        shared.counts.failure += 1;
        let until = self.schedule_retry(&mut shared, class, message.clone());
        tracing::warn!(
            error = %message,
            class = class.label(),
            failures = shared.failures,
            "user token refresh failed; keeping the current pair"
        );
        match &shared.pair {
            Some(pair) if !shared.rejected && now < pair.access_expires_at => {
                Ok(pair.access_token.clone())
            }
            _ => Err(UserTokenError::Retrying {
                until,
                last_error: message,
            }),
        }
    }

    /// Sets the next attempt: doubling from `min_backoff` for retryable failures, `max_backoff`
    /// at once for the others. Returns it in unix seconds.
    fn schedule_retry(&self, shared: &mut Shared, class: ErrorClass, message: String) -> i64 {
        shared.failures = shared.failures.saturating_add(1);
        let options = &self.options;
        let delay = if class == ErrorClass::Retryable {
            let doublings = shared.failures.saturating_sub(1).min(20);
            options
                .min_backoff
                .saturating_mul(1 << doublings)
                .min(options.max_backoff)
        } else {
            options.max_backoff
        };
        shared.retry_at = Some(Instant::now() + delay);
        let delay_secs = i64::try_from(delay.as_millis().div_ceil(1000)).unwrap_or(i64::MAX);
        shared.retry_until = self.clock.now().saturating_add(delay_secs);
        shared.last_error = Some(message);
        shared.retry_until
    }

    #[cfg(test)]
    fn survives(&self, point: RefreshPoint) -> bool {
        let hook = self
            .hook
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        hook.is_none_or(|hook| hook(point))
    }

    #[cfg(not(test))]
    fn survives(&self, _point: RefreshPoint) -> bool {
        true
    }
}

/// What a refresh "killed" by a test hook answers (the test drops the source afterwards).
fn killed() -> UserTokenError {
    UserTokenError::Retrying {
        until: 0,
        last_error: "killed by a test hook".into(),
    }
}

#[cfg(all(test, unix))]
mod tests;
