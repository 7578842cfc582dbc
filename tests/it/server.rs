//! `serve` over real sockets: the endpoints, gzip, stable bodies, the metric catalogue's
//! HELP and naming, graceful shutdown, and the web config (TLS, client certificates, basic
//! auth, headers, rate limit) with generated certificates and bcrypt hashes.

use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use feishu_vc_exporter::server::{load_web_config, TEXT_CONTENT_TYPE};
use feishu_vc_exporter::status::StatusBoard;
use reqwest::header;
use reqwest::StatusCode;

use crate::support::{promtool, synthetic};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Exposition lines without the ones that change by themselves between scrapes.
fn stable_lines(body: &str) -> Vec<&str> {
    body.lines()
        .filter(|l| {
            !l.starts_with("process_")
                && !l.starts_with("feishu_vc_http_")
                && !l.starts_with("# HELP process_")
                && !l.starts_with("# TYPE process_")
        })
        .collect()
}

fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut out)
        .expect("a gzip body");
    out
}

#[tokio::test]
async fn metrics_endpoint_content_type_gzip_and_head() {
    let server = synthetic::start(None, Arc::new(StatusBoard::new()), false).await;
    let client = client();
    let url = server.url("http", "/metrics");

    let plain = client.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(plain.headers()[header::CONTENT_TYPE], TEXT_CONTENT_TYPE);
    assert_eq!(
        TEXT_CONTENT_TYPE,
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    assert_eq!(plain.headers()[header::VARY], "Accept-Encoding");
    let plain = plain.text().await.unwrap();
    for needle in [
        "# HELP feishu_vc_up ",
        "# TYPE feishu_vc_quality_latency_seconds histogram",
        "feishu_vc_quality_latency_seconds_bucket{device=\"windows\",direction=\"send\",media=\"audio\",network_type=\"wifi\",le=\"0.05\"}",
        "feishu_vc_room_reservations_total{room=\"Room 000\"",
        "# HELP feishu_vc_http_requests_total ",
        "# HELP feishu_vc_http_unauthorized_requests_total ",
        "feishu_vc_http_unauthorized_requests_total{reason=\"missing\"} 0",
        "process_resident_memory_bytes",
    ] {
        assert!(plain.contains(needle), "{needle} in\n{plain}");
    }

    let zipped = client
        .get(&url)
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.status(), StatusCode::OK);
    assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(zipped.headers()[header::CONTENT_TYPE], TEXT_CONTENT_TYPE);
    let bytes = zipped.bytes().await.unwrap();
    assert!(
        bytes.len() * 4 < plain.len(),
        "{} vs {}",
        bytes.len(),
        plain.len()
    );
    assert_eq!(stable_lines(&gunzip(&bytes)), stable_lines(&plain));

    // gzip;q=0 means no.
    let refused = client
        .get(&url)
        .header(header::ACCEPT_ENCODING, "gzip;q=0, identity")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().get(header::CONTENT_ENCODING).is_none());

    let head = client.head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()[header::CONTENT_TYPE], TEXT_CONTENT_TYPE);
    assert!(head.bytes().await.unwrap().is_empty());

    // Our own scrapes are counted.
    let body = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(
        body.contains("feishu_vc_http_requests_total{code=\"200\",handler=\"metrics\"} 4"),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn two_scrapes_in_a_row_are_identical() {
    let server = synthetic::start(None, Arc::new(StatusBoard::new()), false).await;
    let client = client();
    let url = server.url("http", "/metrics");
    let first = client.get(&url).send().await.unwrap().text().await.unwrap();
    let second = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(stable_lines(&first).len() > 500, "a populated registry");
    assert_eq!(stable_lines(&first), stable_lines(&second));

    // And they do change when the data does.
    server.exporter.quality_backlog.set(7);
    let third = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert_ne!(stable_lines(&second), stable_lines(&third));
    assert!(third.contains("feishu_vc_quality_backlog_participants 7"));
    server.stop().await;
}

/// The server's own text writer is byte for byte `prometheus::TextEncoder` on the catalogue.
#[test]
fn the_fast_encoder_matches_the_reference() {
    use prometheus::Encoder as _;
    let metrics =
        feishu_vc_exporter::metrics::Metrics::new(feishu_vc_exporter::metrics::MetricsOptions {
            quality_labels: vec![
                feishu_vc_exporter::metrics::QualityLabel::Device,
                feishu_vc_exporter::metrics::QualityLabel::NetworkType,
            ],
            max_label_values: 100,
            ..Default::default()
        });
    synthetic::feed(&metrics, &synthetic::SMALL);
    let ours = feishu_vc_exporter::server::encode_text(metrics.registry()).unwrap();
    let mut reference = Vec::new();
    prometheus::TextEncoder::new()
        .encode(&metrics.registry().gather(), &mut reference)
        .unwrap();
    assert!(reference.len() > 50_000);
    assert_eq!(
        String::from_utf8(ours).unwrap(),
        String::from_utf8(reference).unwrap()
    );
}

#[tokio::test]
async fn health_ready_status_and_errors() {
    let board = Arc::new(StatusBoard::new());
    let server = synthetic::start(None, board.clone(), false).await;
    let client = client();
    let get = |path: &str| client.get(server.url("http", path)).send();

    let healthy = get("/-/healthy").await.unwrap();
    assert_eq!(healthy.status(), StatusCode::OK);
    assert_eq!(healthy.text().await.unwrap(), "Healthy.\n");

    let ready = get("/-/ready").await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready
        .text()
        .await
        .unwrap()
        .contains("first collection cycle"));
    board.cycle_done(1_714_000_000, true);
    assert_eq!(get("/-/ready").await.unwrap().status(), StatusCode::OK);

    let page = get("/").await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        page.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert!(page
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .is_some());
    let html = page.text().await.unwrap();
    for kind in [
        "meeting_list",
        "participant_list",
        "participant_quality_list",
        "resource_reservation_list",
    ] {
        assert!(html.contains(&format!("data-kind=\"{kind}\"")), "{kind}");
    }
    // API calls by code come from the registry.
    assert!(
        html.contains("99991400") && html.contains("rate limited"),
        "{html}"
    );
    assert!(html.contains("href=\"./metrics\""));

    let missing = get("/metrics/extra").await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let post = client
        .post(server.url("http", "/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers()[header::ALLOW], "GET, HEAD");

    let body = get("/metrics").await.unwrap().text().await.unwrap();
    for counted in [
        "feishu_vc_http_requests_total{code=\"503\",handler=\"ready\"} 1",
        "feishu_vc_http_requests_total{code=\"200\",handler=\"ready\"} 1",
        "feishu_vc_http_requests_total{code=\"404\",handler=\"not_found\"} 1",
        "feishu_vc_http_requests_total{code=\"405\",handler=\"metrics\"} 1",
        "feishu_vc_http_requests_total{code=\"200\",handler=\"status\"} 1",
    ] {
        assert!(body.contains(counted), "{counted} in {body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn demo_is_ready_at_once() {
    let server = synthetic::start(None, Arc::new(StatusBoard::new()), true).await;
    let ready = client()
        .get(server.url("http", "/-/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let html = client()
        .get(server.url("http", "/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Demo mode"));
    server.stop().await;
}

/// HELP on every family, Prometheus naming, and `promtool check metrics` when installed.
#[tokio::test]
async fn the_catalogue_has_help_and_lints_clean() {
    let server = synthetic::start(None, synthetic::board(), false).await;
    let client = client();
    // Touch every handler so the server's own families have samples.
    for path in ["/", "/-/healthy", "/-/ready", "/nope", "/metrics"] {
        client.get(server.url("http", path)).send().await.unwrap();
    }
    let body = client
        .get(server.url("http", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut families = 0;
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            assert!(help.trim().len() > 10, "HELP of {name}: {help:?}");
            families += 1;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(
                name.starts_with("feishu_vc_") || name.starts_with("process_"),
                "{name}"
            );
            assert_eq!(
                kind == "counter",
                name.ends_with("_total"),
                "{name} is a {kind}"
            );
            assert!(
                !name.contains("milli") && !name.contains("kbps") && !name.contains("percent"),
                "base units: {name}"
            );
        }
    }
    assert!(families >= 40, "{families} families");
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        // `name{labels} value`: no sample timestamps (label values may hold spaces).
        let after_labels = line.rsplit_once('}').map_or(line, |(_, rest)| rest);
        let fields: Vec<&str> = after_labels.split_whitespace().collect();
        let expected = if line.contains('}') { 1 } else { 2 };
        assert_eq!(fields.len(), expected, "{line}");
    }

    // Every family of DESIGN.md section 4 is served once there is data.
    let served: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    // Registered, but without a sample until a label value overflows its cap.
    const ON_EVENT: &[&str] = &["label_overflow_total"];
    for family in DESIGN_CATALOGUE {
        let name = format!("feishu_vc_{family}");
        let present = served.contains(&name.as_str());
        if !ON_EVENT.contains(family) {
            assert!(present, "{name} is not served");
        }
    }
    for process in ["process_cpu_seconds_total", "process_resident_memory_bytes"] {
        assert!(served.contains(&process), "{process}");
    }
    assert!(!body.contains("ou_synthetic"), "no user id in the metrics");

    promtool::check_metrics(&body);
    server.stop().await;
}

/// The metric names of DESIGN.md section 4, without the `feishu_vc_` prefix.
const DESIGN_CATALOGUE: &[&str] = &[
    "meetings_total",
    "meeting_duration_seconds",
    "meeting_participants",
    "meeting_feature_usage_total",
    "meetings_in_progress",
    "meeting_participants_in_progress",
    "participant_sessions_total",
    "participant_session_duration_seconds",
    "participant_leaves_total",
    "participant_rtc_proxy_sessions_total",
    "participant_client_versions_total",
    "quality_latency_seconds",
    "quality_jitter_seconds",
    "quality_packet_loss_ratio",
    "quality_packet_loss_peak_ratio",
    "quality_bitrate_bytes_per_second",
    "quality_client_cpu_ratio",
    "quality_client_cpu_peak_ratio",
    "quality_system_cpu_peak_ratio",
    "quality_poor_minute_samples_total",
    "quality_audio_mos",
    "room_reservations_total",
    "room_check_ins_total",
    "room_check_in_devices_total",
    "room_check_in_delay_seconds",
    "room_reserved_seconds_total",
    "room_invitees_total",
    "room_acceptances_total",
    "up",
    "exporter_build_info",
    "export_tasks_total",
    "export_task_duration_seconds",
    "export_last_success_timestamp_seconds",
    "export_rows_total",
    "export_rows_rejected_total",
    "api_requests_total",
    "api_budget_remaining_calls",
    "data_newest_timestamp_seconds",
    "quality_backlog_participants",
    "label_overflow_total",
];

#[tokio::test]
async fn graceful_shutdown_does_not_wait_for_idle_connections() {
    let server = synthetic::start(None, Arc::new(StatusBoard::new()), false).await;
    let client = client();
    // A keep-alive connection stays open in the client's pool.
    let ok = client
        .get(server.url("http", "/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    ok.bytes().await.unwrap();
    let addr = server.addr;
    let started = Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

// --- Web config -----------------------------------------------------------------------------

/// A test CA, a server certificate for 127.0.0.1 and localhost, a client certificate.
struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
    client_pem: String,
}

impl Pki {
    fn new() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        };
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "feishu-vc-exporter test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();

        let mut server_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().unwrap();
        let server = server_params.signed_by(&server_key, &ca, &ca_key).unwrap();

        let mut client_params = CertificateParams::new(vec!["scraper".to_owned()]).unwrap();
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = KeyPair::generate().unwrap();
        let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();

        std::fs::write(dir.path().join("server.crt"), server.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
        std::fs::write(dir.path().join("ca.crt"), ca.pem()).unwrap();
        Self {
            dir,
            ca_pem: ca.pem(),
            client_pem: format!("{}{}", client.pem(), client_key.serialize_pem()),
        }
    }

    fn web_config(&self, yaml: &str) -> feishu_vc_exporter::server::WebConfig {
        let path = self.dir.path().join("web.yml");
        std::fs::write(&path, yaml).unwrap();
        load_web_config(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    fn client(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

const TLS: &str = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

#[tokio::test]
async fn tls_and_basic_auth() {
    let pki = Pki::new();
    // Cost 10, as htpasswd -B makes them.
    let hash = bcrypt::hash("correct horse", 10).unwrap();
    let web = pki.web_config(&format!(
        "{TLS}basic_auth_users:\n  prometheus: {hash}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n"
    ));
    assert!(web.tls_enabled() && web.basic_auth_enabled());
    let server = synthetic::start(Some(web), Arc::new(StatusBoard::new()), false).await;
    let client = pki.client().build().unwrap();
    let url = server.url("https", "/metrics");

    let ok = client
        .get(&url)
        .basic_auth("prometheus", Some("correct horse"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["x-frame-options"], "deny");
    assert!(ok.text().await.unwrap().contains("# HELP feishu_vc_up"));

    // The second time the bcrypt comparison is cached.
    let started = Instant::now();
    for _ in 0..5 {
        let again = client
            .get(&url)
            .basic_auth("prometheus", Some("correct horse"))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::OK);
    }
    eprintln!("5 cached authorized scrapes: {:?}", started.elapsed());

    for (user, password) in [
        ("prometheus", Some("wrong")),
        ("prometheus", Some("correct horse ")),
        ("prometheus", None),
        ("nobody", Some("correct horse")),
    ] {
        let denied = client
            .get(&url)
            .basic_auth(user, password)
            .send()
            .await
            .unwrap();
        assert_eq!(
            denied.status(),
            StatusCode::UNAUTHORIZED,
            "{user} {password:?}"
        );
        let challenge = denied.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.starts_with("Basic realm="), "{challenge}");
        assert_eq!(denied.headers()["x-frame-options"], "deny");
    }
    let missing = client.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    // Every endpoint is behind the password, as with the exporter toolkit.
    let page = client.get(server.url("https", "/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);

    let body = client
        .get(&url)
        .basic_auth("prometheus", Some("correct horse"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("feishu_vc_http_unauthorized_requests_total{reason=\"wrong\"} 4"),
        "{body}"
    );
    assert!(
        body.contains("feishu_vc_http_unauthorized_requests_total{reason=\"missing\"} 2"),
        "{body}"
    );
    assert!(body.contains("feishu_vc_http_requests_total{code=\"401\",handler=\"metrics\"} 5"));

    // Plain HTTP to the TLS port gets nowhere.
    let plain = reqwest::Client::new()
        .get(server.url("http", "/metrics"))
        .basic_auth("prometheus", Some("correct horse"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    // Nor does a client that does not trust the certificate.
    assert!(reqwest::Client::new().get(&url).send().await.is_err());
    server.stop().await;
}

#[tokio::test]
async fn tls_min_version() {
    let pki = Pki::new();
    let web = pki.web_config(&format!("{TLS}  min_version: TLS13\n"));
    let server = synthetic::start(Some(web), Arc::new(StatusBoard::new()), false).await;
    let url = server.url("https", "/-/healthy");
    let tls13 = pki
        .client()
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(tls13.status(), StatusCode::OK);
    let tls12 = pki
        .client()
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await;
    assert!(tls12.is_err(), "a TLS 1.2 client must be refused");
    server.stop().await;

    // The default accepts TLS 1.2.
    let web = pki.web_config(TLS);
    let server = synthetic::start(Some(web), Arc::new(StatusBoard::new()), false).await;
    let tls12 = pki
        .client()
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap()
        .get(server.url("https", "/-/healthy"))
        .send()
        .await
        .unwrap();
    assert_eq!(tls12.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn client_certificates() {
    let pki = Pki::new();
    let web = pki.web_config(&format!(
        "{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
    ));
    let server = synthetic::start(Some(web), Arc::new(StatusBoard::new()), false).await;
    let url = server.url("https", "/metrics");
    let identity = reqwest::Identity::from_pem(pki.client_pem.as_bytes()).unwrap();
    let with_cert = pki
        .client()
        .identity(identity)
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(with_cert.status(), StatusCode::OK);
    let without = pki.client().build().unwrap().get(&url).send().await;
    assert!(without.is_err(), "no client certificate, no connection");
    server.stop().await;
}

#[tokio::test]
async fn rate_limit_answers_429() {
    let pki = Pki::new();
    let web = pki.web_config("rate_limit:\n  interval: 1h\n  burst: 2\n");
    assert!(!web.tls_enabled());
    let server = synthetic::start(Some(web), Arc::new(StatusBoard::new()), false).await;
    let client = client();
    let url = server.url("http", "/-/healthy");
    for _ in 0..2 {
        assert_eq!(
            client.get(&url).send().await.unwrap().status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        client.get(&url).send().await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    server.stop().await;
}

#[test]
fn a_bad_web_config_fails_with_a_clear_error() {
    let pki = Pki::new();
    let path = pki.path().join("web.yml");
    for (yaml, needle) in [
        (
            "basic_auth_users:\n  prometheus: not-a-hash\n".to_owned(),
            "basic_auth_users.prometheus: not a bcrypt hash",
        ),
        (
            format!("{TLS}  min_version: TLS9\n"),
            "tls_server_config.min_version: unknown TLS version",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: nope.key\n".to_owned(),
            "tls_server_config.key_file: cannot read",
        ),
        (
            format!("{TLS}basic_auth:\n  prometheus: x\n"),
            "unknown field `basic_auth`",
        ),
    ] {
        std::fs::write(&path, yaml).unwrap();
        let error = load_web_config(&path).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("web config file {}: ", path.display())),
            "{error}"
        );
        assert!(error.contains(needle), "{needle} in {error}");
        assert!(!error.contains('\n'), "{error}");
    }
}
