//! `--web.config.file`: the Prometheus exporter-toolkit web configuration.
//!
//! The format is the toolkit's (`tls_server_config`, `http_server_config`, `basic_auth_users`,
//! `rate_limit`); relative file names are read from the config file's directory. Everything is
//! checked once at start: an unknown key, an unreadable certificate, a key that does not match
//! its certificate or a string that is not a bcrypt hash fails with one line naming the file
//! and the key. Options of the toolkit this exporter cannot honour (TLS 1.0/1.1, unverified
//! client certificates, `client_allowed_sans`, P-521) are errors too, never silently ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use rustls::crypto::{ring as provider, SupportedKxGroup};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};
use serde::Deserialize;

use super::ServerError;

/// A parsed and checked web configuration, ready to serve with.
#[derive(Clone)]
pub struct WebConfig {
    path: PathBuf,
    pub(super) tls: Option<Arc<ServerConfig>>,
    /// User name → bcrypt hash.
    pub(super) users: Arc<BTreeMap<String, String>>,
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
    pub(super) rate_limit: Option<RateLimit>,
}

/// `rate_limit`: one request per `interval`, bursts of up to `burst`, for all clients together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub interval: Duration,
    pub burst: NonZeroU32,
}

impl WebConfig {
    /// The file this configuration was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the server speaks TLS.
    pub fn tls_enabled(&self) -> bool {
        self.tls.is_some()
    }

    /// Whether requests need basic-auth credentials.
    pub fn basic_auth_enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// The basic-auth user names (not their hashes).
    pub fn basic_auth_users(&self) -> impl Iterator<Item = &str> {
        self.users.keys().map(String::as_str)
    }

    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }
}

impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("path", &self.path)
            .field("tls", &self.tls_enabled())
            .field("basic_auth_users", &self.users.keys().collect::<Vec<_>>())
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

/// Reads and checks the web configuration file; the error names the file and the key.
pub fn load_web_config(path: &Path) -> Result<WebConfig, ServerError> {
    let text = std::fs::read_to_string(path).map_err(|e| ServerError::WebConfig {
        path: path.to_owned(),
        message: format!("cannot read the file: {e}"),
    })?;
    let dir = path.parent().unwrap_or(Path::new(""));
    parse(&text, dir)
        .map(|mut config| {
            config.path = path.to_owned();
            config
        })
        .map_err(|message| ServerError::WebConfig {
            path: path.to_owned(),
            message,
        })
}

// --- The file as written -------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    tls_server_config: Option<RawTls>,
    http_server_config: Option<RawHttp>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    rate_limit: Option<RawRateLimit>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    /// Accepted for compatibility; this server speaks HTTP/1.1 only.
    #[allow(dead_code)]
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    interval: Option<GoDuration>,
    burst: Option<u32>,
}

/// A Go duration (`500ms`, `1m30s`) or the number 0.
#[derive(Debug)]
struct GoDuration(Duration);

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Number(u64),
            Text(String),
        }
        match Form::deserialize(deserializer)? {
            Form::Number(0) => Ok(GoDuration(Duration::ZERO)),
            Form::Number(n) => Err(serde::de::Error::custom(format!(
                "{n} has no unit: write a duration such as 1s or 500ms"
            ))),
            Form::Text(text) if text.trim() == "0" => Ok(GoDuration(Duration::ZERO)),
            Form::Text(text) => humantime::parse_duration(text.trim())
                .map(GoDuration)
                .map_err(|e| serde::de::Error::custom(format!("invalid duration {text:?}: {e}"))),
        }
    }
}

// --- Checking ------------------------------------------------------------------------------

/// Parses the file's text; `dir` resolves relative file names. Errors read "key: problem".
pub(super) fn parse(text: &str, dir: &Path) -> Result<WebConfig, String> {
    let raw: RawConfig = if text.trim().is_empty() {
        RawConfig::default()
    } else {
        serde_norway::from_str::<Option<RawConfig>>(text)
            .map_err(|e| e.to_string())?
            .unwrap_or_default()
    };
    let tls = match raw.tls_server_config {
        Some(tls) if !tls.is_empty() => Some(Arc::new(build_tls(tls, dir)?)),
        _ => None,
    };
    let users = raw.basic_auth_users.unwrap_or_default();
    for (user, hash) in &users {
        check_user(user, hash).map_err(|e| format!("basic_auth_users.{user}: {e}"))?;
    }
    let headers = raw
        .http_server_config
        .and_then(|http| http.headers)
        .map(|headers| check_headers(&headers))
        .transpose()?
        .unwrap_or_default();
    let rate_limit = raw.rate_limit.map(check_rate_limit).transpose()?.flatten();
    Ok(WebConfig {
        path: PathBuf::new(),
        tls,
        users: Arc::new(users),
        headers,
        rate_limit,
    })
}

impl RawTls {
    fn is_empty(&self) -> bool {
        let RawTls {
            cert,
            key,
            client_ca,
            cert_file,
            key_file,
            client_auth_type,
            client_ca_file,
            client_allowed_sans,
            min_version,
            max_version,
            cipher_suites,
            prefer_server_cipher_suites,
            curve_preferences,
        } = self;
        cert.is_none()
            && key.is_none()
            && client_ca.is_none()
            && cert_file.is_none()
            && key_file.is_none()
            && client_auth_type.is_none()
            && client_ca_file.is_none()
            && client_allowed_sans.is_none()
            && min_version.is_none()
            && max_version.is_none()
            && cipher_suites.is_none()
            && prefer_server_cipher_suites.is_none()
            && curve_preferences.is_none()
    }
}

const TLS: &str = "tls_server_config";

/// PEM text from an inline value or a file, whichever of the pair is set (exactly one may be).
fn pem_source(
    inline: Option<String>,
    file: Option<PathBuf>,
    inline_key: &str,
    file_key: &str,
    dir: &Path,
) -> Result<Option<(Vec<u8>, String)>, String> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(format!("{TLS}: set {inline_key} or {file_key}, not both")),
        (Some(text), None) => Ok(Some((text.into_bytes(), format!("{TLS}.{inline_key}")))),
        (None, Some(file)) => {
            let path = dir.join(&file);
            let bytes = std::fs::read(&path)
                .map_err(|e| format!("{TLS}.{file_key}: cannot read {}: {e}", path.display()))?;
            Ok(Some((
                bytes,
                format!("{TLS}.{file_key} ({})", path.display()),
            )))
        }
        (None, None) => Ok(None),
    }
}

fn read_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = rustls_pemfile::certs(&mut &pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{what}: not valid PEM: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{what}: no PEM certificate found"));
    }
    Ok(certs)
}

fn build_tls(raw: RawTls, dir: &Path) -> Result<ServerConfig, String> {
    let (cert_pem, cert_what) = pem_source(raw.cert, raw.cert_file, "cert", "cert_file", dir)?
        .ok_or_else(|| format!("{TLS}: missing cert_file (or cert)"))?;
    let (key_pem, key_what) = pem_source(raw.key, raw.key_file, "key", "key_file", dir)?
        .ok_or_else(|| format!("{TLS}: missing key_file (or key)"))?;
    let certs = read_certs(&cert_pem, &cert_what)?;
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|e| format!("{key_what}: not valid PEM: {e}"))?
        .ok_or_else(|| {
            format!("{key_what}: no private key found (PKCS#8, PKCS#1 or SEC1 PEM; encrypted keys are not supported)")
        })?;

    let min = tls_version(raw.min_version.as_deref(), "min_version", "TLS12")?;
    let max = tls_version(raw.max_version.as_deref(), "max_version", "TLS13")?;
    if min > max {
        return Err(format!(
            "{TLS}: min_version TLS1{min} is above max_version TLS1{max}"
        ));
    }
    let versions: Vec<&'static SupportedProtocolVersion> =
        [(2, &rustls::version::TLS12), (3, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, version)| version)
            .collect();

    let mut crypto = provider::default_provider();
    if let Some(names) = &raw.cipher_suites {
        crypto.cipher_suites = cipher_suites(names)?;
    }
    if let Some(names) = &raw.curve_preferences {
        crypto.kx_groups = curves(names)?;
    }
    let crypto = Arc::new(crypto);

    let builder = ServerConfig::builder_with_provider(crypto.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("{TLS}: {e}"))?;
    let client_ca = pem_source(
        raw.client_ca,
        raw.client_ca_file,
        "client_ca",
        "client_ca_file",
        dir,
    )?;
    let auth_type = raw.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let verifier = match (auth_type, client_ca) {
        ("" | "NoClientCert", None) => None,
        ("" | "NoClientCert", Some(_)) => {
            return Err(format!(
                "{TLS}: client_ca_file is set but client_auth_type is NoClientCert (use RequireAndVerifyClientCert)"
            ))
        }
        ("RequireAndVerifyClientCert" | "VerifyClientCertIfGiven", None) => {
            return Err(format!(
                "{TLS}.client_auth_type: {auth_type} needs client_ca_file (or client_ca)"
            ))
        }
        ("RequireAndVerifyClientCert" | "VerifyClientCertIfGiven", Some((pem, what))) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(&pem, &what)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("{what}: not a usable CA certificate: {e}"))?;
            }
            let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), crypto);
            let builder = if auth_type == "VerifyClientCertIfGiven" {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            Some(
                builder
                    .build()
                    .map_err(|e| format!("{what}: {e}"))?,
            )
        }
        ("RequestClientCert" | "RequireAnyClientCert" | "RequireClientCert", _) => {
            return Err(format!(
                "{TLS}.client_auth_type: {auth_type} is not supported: it accepts client certificates nobody verifies; use RequireAndVerifyClientCert with client_ca_file"
            ))
        }
        (other, _) => {
            return Err(format!(
                "{TLS}.client_auth_type: unknown value {other:?} (expected NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
            ))
        }
    };
    if raw.client_allowed_sans.is_some_and(|sans| !sans.is_empty()) {
        return Err(format!(
            "{TLS}.client_allowed_sans: not supported by this exporter; issue the allowed clients' certificates from a dedicated CA in client_ca_file"
        ));
    }

    let builder = match verifier {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => {
            format!("{key_what}: the private key does not match the certificate in {cert_what}")
        }
        other => format!("{key_what}: {other}"),
    })?;
    config.ignore_client_order = raw.prefer_server_cipher_suites.unwrap_or(true);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// `TLS12` → 2, `TLS13` → 3.
fn tls_version(value: Option<&str>, key: &str, default: &str) -> Result<u8, String> {
    match value.unwrap_or(default) {
        "TLS12" => Ok(2),
        "TLS13" => Ok(3),
        old @ ("TLS10" | "TLS11") => Err(format!(
            "{TLS}.{key}: {old} is not supported (TLS12 and TLS13 are)"
        )),
        other => Err(format!(
            "{TLS}.{key}: unknown TLS version {other:?} (expected TLS12 or TLS13)"
        )),
    }
}

/// The TLS 1.2 suites named (Go names), in that order, then every TLS 1.3 suite: like Go,
/// `cipher_suites` only governs TLS 1.2 and below.
fn cipher_suites(names: &[String]) -> Result<Vec<SupportedCipherSuite>, String> {
    let all = provider::ALL_CIPHER_SUITES;
    let name_of = |suite: &SupportedCipherSuite| format!("{:?}", suite.suite());
    let mut chosen = Vec::new();
    for name in names {
        // Go also accepts the ChaCha20 names without the _SHA256 suffix; rustls spells the
        // TLS 1.3 suites TLS13_*.
        let canonical = if name.ends_with("_CHACHA20_POLY1305") {
            format!("{name}_SHA256")
        } else if let Some(rest) = name
            .strip_prefix("TLS_")
            .filter(|rest| rest.starts_with("AES_") || rest.starts_with("CHACHA20_"))
        {
            format!("TLS13_{rest}")
        } else {
            name.clone()
        };
        let Some(suite) = all.iter().find(|s| name_of(s) == canonical) else {
            let supported: Vec<String> = all
                .iter()
                .filter(|s| s.tls13().is_none())
                .map(name_of)
                .collect();
            return Err(format!(
                "{TLS}.cipher_suites: unknown or unsupported cipher suite {name:?} (supported: {})",
                supported.join(", ")
            ));
        };
        if suite.tls13().is_none() && !chosen.contains(suite) {
            chosen.push(*suite);
        }
    }
    chosen.extend(all.iter().filter(|s| s.tls13().is_some()).copied());
    Ok(chosen)
}

fn curves(names: &[String]) -> Result<Vec<&'static dyn SupportedKxGroup>, String> {
    names
        .iter()
        .map(|name| match name.as_str() {
            "X25519" => Ok(provider::kx_group::X25519),
            "CurveP256" => Ok(provider::kx_group::SECP256R1),
            "CurveP384" => Ok(provider::kx_group::SECP384R1),
            "CurveP521" => Err(format!(
                "{TLS}.curve_preferences: CurveP521 is not supported (X25519, CurveP256 and CurveP384 are)"
            )),
            other => Err(format!(
                "{TLS}.curve_preferences: unknown curve {other:?} (expected X25519, CurveP256 or CurveP384)"
            )),
        })
        .collect()
}

fn check_user(user: &str, hash: &str) -> Result<(), String> {
    if user.is_empty() {
        return Err("the user name is empty".into());
    }
    if user.contains(':') {
        return Err("a user name cannot contain ':' (basic auth splits on it)".into());
    }
    // The hash itself is not echoed: it is credential material.
    bcrypt::HashParts::from_str(hash.trim())
        .map(|_| ())
        .map_err(|_| {
            "not a bcrypt hash (expected $2a$, $2b$ or $2y$ with a cost, e.g. from `htpasswd -nBC 10 \"\"`)"
                .to_owned()
        })
}

/// The response headers the toolkit lets an operator set, with their allowed values if fixed.
const EXTRA_HEADERS: [(&str, &[&str]); 5] = [
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

fn check_headers(
    headers: &BTreeMap<String, String>,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut out = Vec::new();
    for (name, value) in headers {
        let key = format!("http_server_config.headers.{name}");
        let Some((_, allowed)) = EXTRA_HEADERS
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
        else {
            let known: Vec<&str> = EXTRA_HEADERS.iter().map(|(k, _)| *k).collect();
            return Err(format!(
                "{key}: this header cannot be configured (allowed: {})",
                known.join(", ")
            ));
        };
        if value.is_empty() {
            continue;
        }
        if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
            return Err(format!(
                "{key}: invalid value {value:?} (expected one of: {})",
                allowed.join(", ")
            ));
        }
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("{key}: not a valid header name"))?;
        let header_value =
            HeaderValue::from_str(value).map_err(|_| format!("{key}: not a valid header value"))?;
        out.push((header_name, header_value));
    }
    Ok(out)
}

fn check_rate_limit(raw: RawRateLimit) -> Result<Option<RateLimit>, String> {
    let interval = raw.interval.map(|d| d.0).unwrap_or(Duration::ZERO);
    if interval.is_zero() {
        return Ok(None);
    }
    let burst = raw.burst.and_then(NonZeroU32::new).ok_or_else(|| {
        "rate_limit.burst: must be at least 1 when rate_limit.interval is set".to_owned()
    })?;
    Ok(Some(RateLimit { interval, burst }))
}
