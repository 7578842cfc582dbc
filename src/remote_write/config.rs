//! Remote write options, as Prometheus's `remote_write` block has them, from code or a small YAML file.
//!
//! Secrets come only from files, read once when the writer is built; the options themselves
//! hold paths, never a password or a token.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::IgnoredAny;
use serde::Deserialize;
use url::Url;

use super::RemoteWriteError;
use crate::secret::Secret;

/// Where and how to send. [`RemoteWriteOptions::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct RemoteWriteOptions {
    /// The whole endpoint, e.g. `http://127.0.0.1:9090/api/v1/write` (Prometheus, VictoriaMetrics),
    /// `.../api/v1/push` (Mimir), `.../api/v1/receive` (Thanos). No userinfo: see `basic_auth`.
    pub url: Url,
    /// The user name and the file holding the password.
    pub basic_auth: Option<(String, PathBuf)>,
    /// The file holding a token sent as `Authorization: Bearer <token>`.
    pub bearer_token_file: Option<PathBuf>,
    /// Extra headers (a tenant header, say). The spec's and HTTP's own headers are refused.
    pub headers: Vec<(String, String)>,
    pub tls: TlsOptions,
    /// For one HTTP request, from connecting to the end of the answer.
    pub timeout: Duration,
    /// At most this many samples in one request. The default, 2000, keeps a request small
    /// (tens of kB) because Prometheus 2.42 rolls back a whole request on its first bad sample,
    /// and a retry resends the whole request; Prometheus's own sender uses 500, but a backfill
    /// sends one request at a time, so four times fewer round trips pay.
    pub max_samples_per_request: usize,
    pub retry: RetryOptions,
}

/// Prometheus's `tls_config`. All empty means the public roots and no client certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Trust only these CAs (PEM) instead of the public roots.
    pub ca_file: Option<PathBuf>,
    /// A client certificate (PEM), with `key_file`.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Check the receiver's certificate against this name instead of the URL's host.
    pub server_name: Option<String>,
    /// Accept any certificate (tests only: this gives up on knowing who the receiver is).
    pub insecure_skip_verify: bool,
}

/// Retries of 429, 5xx and network failures: `min_backoff` doubling up to `max_backoff`,
/// each wait drawn between half and all of it, or the receiver's `Retry-After` (capped at
/// `max_backoff`), for at most `max_attempts` attempts in all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryOptions {
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub max_attempts: u32,
}

impl Default for RetryOptions {
    /// 10 attempts wait about two minutes in all (0.5 + 1 + ... + 16 + 30 + 30 + 30 s at
    /// most): long enough to ride out a receiver's restart, short enough to tell soon.
    fn default() -> Self {
        Self {
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_attempts: 10,
        }
    }
}

/// The header names a user may not set, as Prometheus 2.42 refuses them (`config/config.go`),
/// plus `authorization`, which belongs to `basic_auth` / `authorization` / `bearer_token_file`.
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

fn config_error(message: impl Into<String>) -> RemoteWriteError {
    RemoteWriteError::Config(message.into())
}

/// `url` without its userinfo, query and fragment: safe to print.
pub(crate) fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Fails only for URLs that cannot have userinfo, which then have none.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

impl RemoteWriteOptions {
    /// The defaults: no auth, no extra header, public roots, 30 s timeout, 2000 samples a
    /// request, [`RetryOptions::default`].
    pub fn new(url: Url) -> Self {
        Self {
            url,
            basic_auth: None,
            bearer_token_file: None,
            headers: Vec::new(),
            tls: TlsOptions::default(),
            timeout: Duration::from_secs(30),
            max_samples_per_request: 2000,
            retry: RetryOptions::default(),
        }
    }

    /// Checks everything that does not need a file.
    pub fn validate(&self) -> Result<(), RemoteWriteError> {
        let url = &self.url;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(config_error(format!(
                "url {} must be http:// or https:// with a host",
                display_url(url)
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(config_error(format!(
                "url {} must not hold credentials: use basic_auth with a password file",
                display_url(url)
            )));
        }
        if self.basic_auth.is_some() && self.bearer_token_file.is_some() {
            return Err(config_error(
                "at most one of basic_auth and a bearer token may be set",
            ));
        }
        if let Some((user, _)) = &self.basic_auth {
            if user.contains(':') {
                return Err(config_error("basic_auth username must not contain ':'"));
            }
        }
        let mut seen = Vec::new();
        for (name, value) in &self.headers {
            let lower = name.to_ascii_lowercase();
            if RESERVED_HEADERS.contains(&lower.as_str()) {
                return Err(config_error(format!(
                    "header {name:?} is reserved and cannot be set in headers{}",
                    if lower == "authorization" {
                        " (use basic_auth or a bearer token file)"
                    } else {
                        ""
                    }
                )));
            }
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(config_error(format!(
                    "header {name:?} is not a valid header name"
                )));
            }
            if reqwest::header::HeaderValue::from_str(value).is_err() {
                return Err(config_error(format!(
                    "header {name:?} has a value that cannot be sent (control characters?)"
                )));
            }
            if seen.contains(&lower) {
                return Err(config_error(format!("header {name:?} is set twice")));
            }
            seen.push(lower);
        }
        let tls = &self.tls;
        if tls.cert_file.is_some() != tls.key_file.is_some() {
            return Err(config_error(
                "tls cert_file and key_file must be set together",
            ));
        }
        if let Some(name) = &tls.server_name {
            if rustls::pki_types::ServerName::try_from(name.as_str()).is_err() {
                return Err(config_error(format!(
                    "tls server_name {name:?} is not a DNS name or IP address"
                )));
            }
        }
        if self.timeout.is_zero() {
            return Err(config_error("remote_timeout must be positive"));
        }
        if self.max_samples_per_request == 0 {
            return Err(config_error("max_samples_per_request must be at least 1"));
        }
        let retry = &self.retry;
        if retry.max_attempts == 0 || retry.min_backoff > retry.max_backoff {
            return Err(config_error(
                "retry needs max_attempts >= 1 and min_backoff <= max_backoff",
            ));
        }
        Ok(())
    }

    /// The `Authorization` header value from the secret files, if any auth is set.
    pub(crate) fn authorization(&self) -> Result<Option<Secret>, RemoteWriteError> {
        use base64::Engine as _;
        if let Some((user, password_file)) = &self.basic_auth {
            let password = read_secret(password_file, "basic_auth password_file")?;
            let pair = format!("{user}:{}", password.expose());
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            return Ok(Some(Secret::new(format!("Basic {encoded}"))));
        }
        if let Some(file) = &self.bearer_token_file {
            let token = read_secret(file, "bearer token file")?;
            return Ok(Some(Secret::new(format!("Bearer {}", token.expose()))));
        }
        Ok(None)
    }

    /// Reads a `remote_write` block (one entry, Prometheus's key names) from a YAML file;
    /// relative file names in it are taken from the file's folder, as Prometheus does.
    pub fn from_yaml_file(path: &Path) -> Result<Self, RemoteWriteError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| config_error(format!("reading {}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_yaml(&text, base).map_err(|e| match e {
            RemoteWriteError::Config(message) => {
                config_error(format!("{}: {message}", path.display()))
            }
            other => other,
        })
    }

    /// Parses a `remote_write` entry: `url`, `remote_timeout`, `headers`, `basic_auth`
    /// (`username`, `password_file`), `authorization` (`type: Bearer`, `credentials_file`),
    /// `bearer_token_file`, `tls_config`, `queue_config` (`max_samples_per_send`,
    /// `min_backoff`, `max_backoff`). Inline secrets are refused; unknown keys too.
    pub fn from_yaml(text: &str, base_dir: &Path) -> Result<Self, RemoteWriteError> {
        let raw: YamlRemoteWrite =
            serde_norway::from_str(text).map_err(|e| config_error(e.to_string()))?;
        let inline = |present: bool, key: &str, instead: &str| {
            if present {
                Err(config_error(format!(
                    "{key}: secrets are read only from files, use {instead}"
                )))
            } else {
                Ok(())
            }
        };
        inline(
            raw.bearer_token.is_some(),
            "bearer_token",
            "bearer_token_file",
        )?;
        let file = |p: PathBuf| if p.is_relative() { base_dir.join(p) } else { p };

        let url = Url::parse(&raw.url).map_err(|e| config_error(format!("url: {e}")))?;
        let mut options = Self::new(url);
        if let Some(timeout) = raw.remote_timeout {
            options.timeout = duration("remote_timeout", &timeout)?;
        }
        options.headers = raw.headers.into_iter().collect();
        if let Some(auth) = raw.basic_auth {
            inline(
                auth.password.is_some(),
                "basic_auth.password",
                "password_file",
            )?;
            let password_file = auth
                .password_file
                .ok_or_else(|| config_error("basic_auth needs password_file"))?;
            options.basic_auth = Some((auth.username, file(password_file)));
        }
        if let Some(auth) = raw.authorization {
            inline(
                auth.credentials.is_some(),
                "authorization.credentials",
                "credentials_file",
            )?;
            if let Some(kind) = auth.kind.filter(|k| !k.eq_ignore_ascii_case("bearer")) {
                return Err(config_error(format!(
                    "authorization type {kind:?} is not supported: only Bearer (or basic_auth)"
                )));
            }
            let credentials_file = auth
                .credentials_file
                .ok_or_else(|| config_error("authorization needs credentials_file"))?;
            if raw.bearer_token_file.is_some() {
                return Err(config_error(
                    "at most one of authorization and bearer_token_file may be set",
                ));
            }
            options.bearer_token_file = Some(file(credentials_file));
        } else {
            options.bearer_token_file = raw.bearer_token_file.map(file);
        }
        if let Some(tls) = raw.tls_config {
            options.tls = TlsOptions {
                ca_file: tls.ca_file.map(file),
                cert_file: tls.cert_file.map(file),
                key_file: tls.key_file.map(file),
                server_name: tls.server_name,
                insecure_skip_verify: tls.insecure_skip_verify,
            };
        }
        if let Some(queue) = raw.queue_config {
            if let Some(max) = queue.max_samples_per_send {
                options.max_samples_per_request = max;
            }
            if let Some(min) = queue.min_backoff {
                options.retry.min_backoff = duration("queue_config.min_backoff", &min)?;
            }
            if let Some(max) = queue.max_backoff {
                options.retry.max_backoff = duration("queue_config.max_backoff", &max)?;
            }
        }
        options.validate()?;
        Ok(options)
    }
}

/// A Prometheus-style duration: `30s`, `500ms`, `1m30s`, `2h`.
fn duration(key: &str, text: &str) -> Result<Duration, RemoteWriteError> {
    humantime::parse_duration(text)
        .map_err(|e| config_error(format!("{key}: {text:?} is not a duration ({e})")))
}

/// A secret file's content without surrounding whitespace (the trailing newline, mostly).
pub(crate) fn read_secret(path: &Path, what: &str) -> Result<Secret, RemoteWriteError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| config_error(format!("reading {what} {}: {e}", path.display())))?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(config_error(format!("{what} {} is empty", path.display())));
    }
    Ok(Secret::new(secret))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlRemoteWrite {
    url: String,
    remote_timeout: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    basic_auth: Option<YamlBasicAuth>,
    authorization: Option<YamlAuthorization>,
    bearer_token: Option<IgnoredAny>,
    bearer_token_file: Option<PathBuf>,
    tls_config: Option<YamlTls>,
    queue_config: Option<YamlQueue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlBasicAuth {
    #[serde(default)]
    username: String,
    password: Option<IgnoredAny>,
    password_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlAuthorization {
    #[serde(rename = "type")]
    kind: Option<String>,
    credentials: Option<IgnoredAny>,
    credentials_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlTls {
    ca_file: Option<PathBuf>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    server_name: Option<String>,
    #[serde(default)]
    insecure_skip_verify: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlQueue {
    max_samples_per_send: Option<usize>,
    min_backoff: Option<String>,
    max_backoff: Option<String>,
}
