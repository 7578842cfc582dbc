//! Basic authentication against the bcrypt hashes of `basic_auth_users`.
//!
//! bcrypt is slow on purpose (~50–100 ms at cost 10), so a credential that passed once is
//! remembered: the cache holds an HMAC, under a key made at start, of user, hash and password,
//! never the password. Only successes are cached: a wrong password always pays a full bcrypt
//! comparison, and so does an unknown user (against a decoy hash of the same cost), so timing
//! tells nothing about which user names exist. One comparison runs at a time, which bounds the
//! CPU a flood of bad credentials can take; cached scrapes do not wait for it.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::http::{header, HeaderMap};
use base64::Engine as _;
use ring::hmac;
use tokio::sync::{OnceCell, Semaphore};

/// Enough for every user and a few rotations; cleared when full.
const CACHE_CAPACITY: usize = 256;

/// Why a request was turned away (the `reason` label of the unauthorized counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Denied {
    /// No `Authorization: Basic` header.
    Missing,
    /// Credentials that did not match, or could not be read.
    Wrong,
}

impl Denied {
    pub(super) const ALL: [Denied; 2] = [Denied::Missing, Denied::Wrong];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Denied::Missing => "missing",
            Denied::Wrong => "wrong",
        }
    }
}

pub(super) struct BasicAuth {
    users: Arc<BTreeMap<String, String>>,
    key: hmac::Key,
    verified: Mutex<HashSet<Vec<u8>>>,
    bcrypt: Semaphore,
    decoy: OnceCell<String>,
    decoy_cost: u32,
}

impl BasicAuth {
    pub(super) fn new(users: Arc<BTreeMap<String, String>>) -> Self {
        let rng = ring::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .expect("the system random generator works");
        let decoy_cost = users
            .values()
            .filter_map(|hash| hash.trim().parse::<bcrypt::HashParts>().ok())
            .map(|parts| parts.get_cost())
            .max()
            .unwrap_or(bcrypt::DEFAULT_COST);
        Self {
            users,
            key,
            verified: Mutex::new(HashSet::new()),
            bcrypt: Semaphore::new(1),
            decoy: OnceCell::new(),
            decoy_cost,
        }
    }

    /// Checks the request's `Authorization` header.
    pub(super) async fn check(&self, headers: &HeaderMap) -> Result<(), Denied> {
        let (user, password) = credentials(headers)?;
        let hash = self.users.get(&user).map(|h| h.trim().to_owned());
        let tag = hash.as_ref().map(|hash| self.tag(&user, hash, &password));
        if let Some(tag) = &tag {
            if self.is_verified(tag) {
                return Ok(());
            }
        }
        let _permit = self.bcrypt.acquire().await.map_err(|_| Denied::Wrong)?;
        // Someone may have verified the same credentials while this request waited.
        if let Some(tag) = &tag {
            if self.is_verified(tag) {
                return Ok(());
            }
        }
        let (hash, known) = match hash {
            Some(hash) => (hash, true),
            None => (self.decoy().await, false),
        };
        let ok = tokio::task::spawn_blocking(move || {
            bcrypt::verify(password.as_bytes(), &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        match (ok && known, tag) {
            (true, Some(tag)) => {
                let mut verified = self.lock();
                if verified.len() >= CACHE_CAPACITY {
                    verified.clear();
                }
                verified.insert(tag);
                Ok(())
            }
            _ => Err(Denied::Wrong),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<Vec<u8>>> {
        self.verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_verified(&self, tag: &[u8]) -> bool {
        self.lock().contains(tag)
    }

    /// HMAC of the length-prefixed user, hash and password: distinct triples never collide.
    fn tag(&self, user: &str, hash: &str, password: &str) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in [user, hash, password] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part.as_bytes());
        }
        ctx.sign().as_ref().to_vec()
    }

    /// A hash of a random password at the users' highest cost, made on first need.
    async fn decoy(&self) -> String {
        let cost = self.decoy_cost;
        self.decoy
            .get_or_init(|| async move {
                tokio::task::spawn_blocking(move || {
                    let mut secret = [0u8; 16];
                    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
                        .expect("the system random generator works");
                    bcrypt::hash(secret, cost).unwrap_or_default()
                })
                .await
                .unwrap_or_default()
            })
            .await
            .clone()
    }
}

/// User and password of an `Authorization: Basic` header.
fn credentials(headers: &HeaderMap) -> Result<(String, String), Denied> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(Denied::Missing)?
        .to_str()
        .map_err(|_| Denied::Wrong)?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or(Denied::Missing)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Denied::Missing);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| Denied::Wrong)?;
    let decoded = String::from_utf8(decoded).map_err(|_| Denied::Wrong)?;
    let (user, password) = decoded.split_once(':').ok_or(Denied::Wrong)?;
    Ok((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn basic(user: &str, password: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        headers
    }

    fn auth() -> BasicAuth {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        BasicAuth::new(Arc::new(BTreeMap::from([("prometheus".to_owned(), hash)])))
    }

    #[tokio::test]
    async fn accepts_the_right_password_and_caches_only_it() {
        let auth = auth();
        assert_eq!(auth.check(&basic("prometheus", "s3cret")).await, Ok(()));
        assert_eq!(auth.lock().len(), 1);
        assert_eq!(auth.check(&basic("prometheus", "s3cret")).await, Ok(()));
        assert_eq!(auth.lock().len(), 1, "a cached success is not stored twice");
        for (user, password) in [
            ("prometheus", "s3cret "),
            ("prometheus", "S3cret"),
            ("prometheus", ""),
            ("Prometheus", "s3cret"),
            ("nobody", "s3cret"),
        ] {
            assert_eq!(
                auth.check(&basic(user, password)).await,
                Err(Denied::Wrong),
                "{user}:{password}"
            );
        }
        assert_eq!(auth.lock().len(), 1, "failures are never cached");
        // A wrong password right after a cached success is still wrong.
        assert_eq!(
            auth.check(&basic("prometheus", "wrong")).await,
            Err(Denied::Wrong)
        );
    }

    #[tokio::test]
    async fn missing_and_malformed_headers() {
        let auth = auth();
        assert_eq!(auth.check(&HeaderMap::new()).await, Err(Denied::Missing));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(auth.check(&headers).await, Err(Denied::Missing));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic !!notbase64"),
        );
        assert_eq!(auth.check(&headers).await, Err(Denied::Wrong));
        let no_colon = base64::engine::general_purpose::STANDARD.encode("prometheus");
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("basic {no_colon}")).unwrap(),
        );
        assert_eq!(auth.check(&headers).await, Err(Denied::Wrong));
        // The scheme is case-insensitive; a password may contain ':'.
        let hash = bcrypt::hash("a:b", 4).unwrap();
        let auth = BasicAuth::new(Arc::new(BTreeMap::from([("u".to_owned(), hash)])));
        let encoded = base64::engine::general_purpose::STANDARD.encode("u:a:b");
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("BASIC {encoded}")).unwrap(),
        );
        assert_eq!(auth.check(&headers).await, Ok(()));
    }

    #[test]
    fn tags_separate_their_parts() {
        let auth = auth();
        assert_ne!(auth.tag("ab", "h", "c"), auth.tag("a", "h", "bc"));
        assert_ne!(auth.tag("a", "h1", "p"), auth.tag("a", "h2", "p"));
        assert_eq!(auth.tag("a", "h", "p"), auth.tag("a", "h", "p"));
    }
}
