//! Credentials and the tenant access token cache.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

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
