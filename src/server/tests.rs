//! Web config parsing and the telemetry path; the HTTP behaviour is tested end to end in
//! `tests/it/server.rs`.

use std::path::Path;

use super::web_config::parse;
use super::*;

struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    /// A self-signed certificate and key in `cert.pem` / `key.pem`, another key in
    /// `other_key.pem`, and a CA certificate in `ca.pem`.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(dir.path().join("other_key.pem"), other.serialize_pem()).unwrap();
        let ca = rcgen::generate_simple_self_signed(vec!["ca".to_owned()]).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.cert.pem()).unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn parse(&self, yaml: &str) -> Result<WebConfig, String> {
        parse(yaml, self.path())
    }

    fn error(&self, yaml: &str) -> String {
        match self.parse(yaml) {
            Ok(config) => panic!("{yaml} should fail, got {config:?}"),
            Err(error) => error,
        }
    }
}

const TLS: &str = "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n";

fn hash() -> String {
    bcrypt::hash("pw", 4).unwrap()
}

#[test]
fn empty_and_minimal_files() {
    let certs = Certs::new();
    for empty in ["", "\n", "# only a comment\n", "{}", "tls_server_config:\n"] {
        let config = certs.parse(empty).unwrap();
        assert!(!config.tls_enabled(), "{empty:?}");
        assert!(!config.basic_auth_enabled());
        assert_eq!(config.rate_limit(), None);
    }
    let config = certs.parse(TLS).unwrap();
    assert!(config.tls_enabled());
    let tls = config.tls.as_ref().unwrap();
    assert_eq!(tls.alpn_protocols, vec![b"http/1.1".to_vec()]);
    assert!(
        tls.ignore_client_order,
        "prefer_server_cipher_suites defaults to true"
    );

    let yaml = format!(
        "basic_auth_users:\n  prometheus: '{}'\n  grafana: \"{}\"\n",
        hash(),
        hash()
    );
    let config = certs.parse(&yaml).unwrap();
    assert!(config.basic_auth_enabled());
    assert!(!config.tls_enabled());
    assert_eq!(
        config.basic_auth_users().collect::<Vec<_>>(),
        ["grafana", "prometheus"]
    );
    let debug = format!("{config:?}");
    assert!(!debug.contains("$2"), "no hash in Debug: {debug}");
}

#[test]
fn the_full_toolkit_format() {
    let certs = Certs::new();
    let yaml = format!(
        "{TLS}  min_version: TLS13
  max_version: TLS13
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.pem
  client_allowed_sans: []
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305, TLS_AES_128_GCM_SHA256]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256, CurveP384]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Strict-Transport-Security: max-age=31536000
    Content-Security-Policy: \"\"
rate_limit:
  interval: 100ms
  burst: 5
basic_auth_users:
  prometheus: {}
",
        hash()
    );
    let config = certs.parse(&yaml).unwrap();
    assert!(config.tls_enabled());
    assert!(!config.tls.as_ref().unwrap().ignore_client_order);
    assert_eq!(
        config.rate_limit(),
        Some(RateLimit {
            interval: Duration::from_millis(100),
            burst: 5.try_into().unwrap()
        })
    );
    let headers: Vec<&str> = config.headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        headers,
        [
            "strict-transport-security",
            "x-content-type-options",
            "x-frame-options"
        ],
        "an empty value leaves the header unset"
    );

    // Inline PEM instead of files.
    let cert = std::fs::read_to_string(certs.path().join("cert.pem")).unwrap();
    let key = std::fs::read_to_string(certs.path().join("key.pem")).unwrap();
    let indent = |pem: &str| pem.replace('\n', "\n    ");
    let yaml = format!(
        "tls_server_config:\n  cert: |\n    {}\n  key: |\n    {}\n",
        indent(&cert),
        indent(&key)
    );
    assert!(certs.parse(&yaml).unwrap().tls_enabled());

    for zero in ["0", "'0'", "0s"] {
        let yaml = format!("rate_limit:\n  interval: {zero}\n  burst: 0\n");
        assert_eq!(certs.parse(&yaml).unwrap().rate_limit(), None, "{zero}");
    }
}

#[test]
fn every_mistake_names_its_key() {
    let certs = Certs::new();
    let cases: &[(String, &[&str])] = &[
        ("tls_config:\n  cert_file: a\n".into(), &["unknown field `tls_config`"]),
        (
            format!("{TLS}  certfile: x\n"),
            &["tls_server_config", "unknown field `certfile`"],
        ),
        ("basic_auth_users: [a, b]\n".into(), &["basic_auth_users"]),
        (
            "tls_server_config:\n  cert_file: missing.pem\n  key_file: key.pem\n".into(),
            &["tls_server_config.cert_file", "missing.pem"],
        ),
        (
            "tls_server_config:\n  cert_file: cert.pem\n".into(),
            &["tls_server_config: missing key_file"],
        ),
        (
            "tls_server_config:\n  min_version: TLS13\n".into(),
            &["tls_server_config: missing cert_file"],
        ),
        (
            format!("{TLS}  cert: inline\n"),
            &["set cert or cert_file, not both"],
        ),
        (
            "tls_server_config:\n  cert_file: key.pem\n  key_file: key.pem\n".into(),
            &["tls_server_config.cert_file", "no PEM certificate"],
        ),
        (
            "tls_server_config:\n  cert_file: cert.pem\n  key_file: cert.pem\n".into(),
            &["tls_server_config.key_file", "no private key"],
        ),
        (
            "tls_server_config:\n  cert_file: cert.pem\n  key_file: other_key.pem\n".into(),
            &["other_key.pem", "does not match the certificate"],
        ),
        (
            format!("{TLS}  min_version: TLS14\n"),
            &["tls_server_config.min_version", "unknown TLS version \"TLS14\""],
        ),
        (
            format!("{TLS}  min_version: TLS11\n"),
            &["tls_server_config.min_version", "TLS11 is not supported"],
        ),
        (
            format!("{TLS}  min_version: TLS13\n  max_version: TLS12\n"),
            &["min_version TLS13 is above max_version TLS12"],
        ),
        (
            format!("{TLS}  client_auth_type: RequireAnyClientCert\n  client_ca_file: ca.pem\n"),
            &["client_auth_type", "RequireAnyClientCert is not supported"],
        ),
        (
            format!("{TLS}  client_auth_type: Sometimes\n"),
            &["client_auth_type", "unknown value \"Sometimes\""],
        ),
        (
            format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n"),
            &["RequireAndVerifyClientCert needs client_ca_file"],
        ),
        (
            format!("{TLS}  client_ca_file: ca.pem\n"),
            &["client_ca_file is set but client_auth_type is NoClientCert"],
        ),
        (
            format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  client_allowed_sans: [a.example]\n"),
            &["tls_server_config.client_allowed_sans", "not supported"],
        ),
        (
            format!("{TLS}  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n"),
            &["tls_server_config.cipher_suites", "TLS_RSA_WITH_RC4_128_SHA", "supported: "],
        ),
        (
            format!("{TLS}  curve_preferences: [CurveP521]\n"),
            &["tls_server_config.curve_preferences", "CurveP521 is not supported"],
        ),
        (
            "basic_auth_users:\n  alice: plaintext-password\n".into(),
            &["basic_auth_users.alice", "not a bcrypt hash"],
        ),
        (
            format!("basic_auth_users:\n  'a:b': {}\n", hash()),
            &["basic_auth_users.a:b", "cannot contain ':'"],
        ),
        (
            "http_server_config:\n  headers:\n    Server: mine\n".into(),
            &["http_server_config.headers.Server", "cannot be configured"],
        ),
        (
            "http_server_config:\n  headers:\n    X-Frame-Options: allow\n".into(),
            &["http_server_config.headers.X-Frame-Options", "invalid value \"allow\""],
        ),
        (
            "http_server_config:\n  http3: true\n".into(),
            &["http_server_config", "unknown field `http3`"],
        ),
        (
            "rate_limit:\n  interval: 1s\n".into(),
            &["rate_limit.burst", "at least 1"],
        ),
        (
            "rate_limit:\n  interval: soon\n  burst: 1\n".into(),
            &["rate_limit", "invalid duration \"soon\""],
        ),
        (
            "rate_limit:\n  interval: 5\n  burst: 1\n".into(),
            &["rate_limit", "has no unit"],
        ),
    ];
    for (yaml, needles) in cases {
        let error = certs.error(yaml);
        for needle in *needles {
            assert!(
                error.contains(needle),
                "{needle:?} in {error:?}\nfor {yaml}"
            );
        }
        assert!(!error.contains('\n'), "one line: {error:?}");
        assert!(!error.contains("plaintext-password"), "{error}");
    }
}

#[test]
fn load_web_config_names_the_file() {
    let certs = Certs::new();
    let file = certs.path().join("web.yml");
    std::fs::write(
        &file,
        "tls_server_config:\n  cert_file: nope.pem\n  key_file: key.pem\n",
    )
    .unwrap();
    let error = load_web_config(&file).unwrap_err().to_string();
    assert!(
        error.starts_with(&format!("web config file {}: ", file.display())),
        "{error}"
    );
    assert!(error.contains("tls_server_config.cert_file"), "{error}");
    assert!(
        error.contains(&certs.path().join("nope.pem").display().to_string()),
        "{error}"
    );

    let missing = certs.path().join("absent.yml");
    let error = load_web_config(&missing).unwrap_err().to_string();
    assert!(
        error.contains("absent.yml") && error.contains("cannot read"),
        "{error}"
    );

    // Relative names are read beside the config file, wherever the process runs.
    std::fs::write(&file, TLS).unwrap();
    let config = load_web_config(&file).unwrap();
    assert!(config.tls_enabled());
    assert_eq!(config.path(), file);
}

#[test]
fn telemetry_paths() {
    for good in ["/metrics", "/m", "/feishu/metrics", "/metrics/"] {
        validate_telemetry_path(good).unwrap();
    }
    for bad in [
        "metrics",
        "",
        "/",
        "/-/healthy",
        "/-/ready",
        "/a b",
        "/m?x=1",
        "/m#x",
    ] {
        let error = validate_telemetry_path(bad).unwrap_err().to_string();
        assert!(error.starts_with("--web.telemetry-path"), "{error}");
    }
}
