//! Where the token sent with a call comes from: credentials, the tenant token (fetched, cached,
//! refreshed before expiry, single-flight) and the [`TokenSource`] the retry loop refreshes.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::client::Client;
use super::error::{codes, FeishuError};
use super::http::as_i64;
use super::Endpoint;
use crate::secret::Secret;

/// How the client authenticates. `Debug` never shows the secret or the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A self-built app: the client fetches and caches a tenant_access_token.
    App { app_id: String, app_secret: Secret },
    /// A user_access_token (`u-…`), used as is: never refreshed by the client.
    UserToken(Secret),
}

impl Credentials {
    pub fn app_id(&self) -> Option<&str> {
        match self {
            Credentials::App { app_id, .. } => Some(app_id),
            Credentials::UserToken(_) => None,
        }
    }
}

/// A tenant token and the moment to fetch the next one.
#[derive(Debug, Clone)]
pub(crate) struct CachedToken {
    pub(crate) token: Secret,
    pub(crate) refresh_at: Instant,
    pub(crate) expires_at: Instant,
}

/// How long before its expiry a token with `expire` seconds of life is replaced:
/// 5 minutes or 10 % of its life, whichever is smaller.
pub(crate) fn refresh_margin(expire: Duration) -> Duration {
    (expire / 10).min(Duration::from_secs(300))
}

/// The cached tenant token. The async mutex is held across a refresh, so concurrent callers
/// that find the token missing or stale wait for one refresh and share its result.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    pub(crate) slot: Mutex<Option<CachedToken>>,
}

impl TokenCache {
    /// Forgets `failed` if it is still the cached token (a later token is kept: another caller
    /// already refreshed it).
    pub(crate) async fn invalidate(&self, failed: &Secret) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|cached| cached.token == *failed) {
            *slot = None;
        }
    }
}

/// Where the client's token comes from, built from [`Credentials`] by `Client::new`.
///
/// A third kind slots in beside these two: `User(UserTokenSource)` (the refreshing user token,
/// DESIGN.md section 8.1) answers `access_token` with `UserTokenSource::access_token` (its error
/// made a `FeishuError` of class `Auth`), `refreshes_on` with the user token codes
/// (`codes::USER_TOKEN_INVALID | codes::USER_TOKEN_EXPIRED`), `invalidate` with
/// `UserTokenSource::invalidate(token)`, and `held_secret` with the app secret. The retry loop
/// then refreshes a rejected user token once and repeats the call once, as it does for a tenant.
pub(super) enum TokenSource {
    /// A self-built app's tenant token: fetched with the app's id and secret, cached, refreshed
    /// before it expires and once when Feishu rejects it.
    Tenant {
        app_id: String,
        app_secret: Secret,
        cache: TokenCache,
    },
    /// A user access token used as is: nothing can refresh it, so its rejection is final.
    Static(Secret),
}

impl TokenSource {
    /// The source for `credentials`, or why they cannot work.
    pub(super) fn new(credentials: Credentials) -> Result<Self, &'static str> {
        match credentials {
            Credentials::App { app_id, app_secret } => {
                if app_id.trim().is_empty() || app_secret.is_empty() {
                    return Err("app_id and app_secret must not be empty");
                }
                Ok(Self::Tenant {
                    app_id,
                    app_secret,
                    cache: TokenCache::default(),
                })
            }
            Credentials::UserToken(token) => {
                if token.is_empty() {
                    return Err("the user access token must not be empty");
                }
                Ok(Self::Static(token))
            }
        }
    }

    /// `error` says the token that was sent is bad or expired, and this source can get another.
    pub(super) fn refreshes_on(&self, error: &FeishuError) -> bool {
        match self {
            Self::Tenant { .. } => error.code().is_some_and(codes::is_token_expired),
            Self::Static(_) => false,
        }
    }

    /// Forgets `rejected`, so that the next [`Client::access_token`] gets a fresh token.
    pub(super) async fn invalidate(&self, rejected: &Secret) {
        match self {
            Self::Tenant { cache, .. } => cache.invalidate(rejected).await,
            Self::Static(_) => {}
        }
    }

    /// The credential this source holds, blanked out of whatever Feishu says.
    pub(super) fn held_secret(&self) -> &Secret {
        match self {
            Self::Tenant { app_secret, .. } => app_secret,
            Self::Static(token) => token,
        }
    }
}

/// Shows the kind and the app id; secrets print as `Secret`'s `Debug` does (never the value).
impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tenant {
                app_id, app_secret, ..
            } => f
                .debug_struct("Tenant")
                .field("app_id", app_id)
                .field("app_secret", app_secret)
                .finish_non_exhaustive(),
            Self::Static(token) => f.debug_tuple("Static").field(token).finish(),
        }
    }
}

impl Client {
    /// The token to send: the user token as is, or the cached tenant token, fetched when
    /// missing or due. The lock is held across the fetch, so concurrent callers share it.
    pub(super) async fn access_token(&self) -> Result<Secret, FeishuError> {
        let (app_id, app_secret, cache) = match &self.inner.tokens {
            TokenSource::Static(token) => return Ok(token.clone()),
            TokenSource::Tenant {
                app_id,
                app_secret,
                cache,
            } => (app_id, app_secret, cache),
        };
        let mut slot = cache.slot.lock().await;
        let now = Instant::now();
        if let Some(cached) = slot.as_ref() {
            if now < cached.refresh_at {
                return Ok(cached.token.clone());
            }
        }
        match self.fetch_token(app_id, app_secret).await {
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
    fn fetch_token<'a>(
        &'a self,
        app_id: &'a str,
        app_secret: &'a Secret,
    ) -> Pin<Box<dyn Future<Output = Result<CachedToken, FeishuError>> + Send + 'a>> {
        Box::pin(async move {
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
}
