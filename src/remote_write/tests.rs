//! Tests of the remote write client against a fake receiver on 127.0.0.1.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prost::Message;
use url::Url;

use super::*;

/// What the fake receiver answers, one per request; 204 once the script is used up.
#[derive(Clone)]
enum Answer {
    Status(u16, &'static str),
    RetryAfter(u16, &'static str),
    Hang,
}

struct Received {
    headers: HeaderMap,
    body: WriteRequest,
    at: Instant,
}

#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<VecDeque<Answer>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

struct Receiver {
    url: Url,
    script: Script,
}

impl Receiver {
    async fn start(answers: impl IntoIterator<Item = Answer>) -> Self {
        let script = Script::default();
        script.answers.lock().unwrap().extend(answers);
        let app = axum::Router::new()
            .route("/api/v1/write", axum::routing::post(handle))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/v1/write", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: Url::parse(&url).unwrap(),
            script,
        }
    }

    fn received(&self) -> std::sync::MutexGuard<'_, Vec<Received>> {
        self.script.received.lock().unwrap()
    }

    /// Test options: this receiver, short timeout, millisecond back-offs, 3 attempts.
    fn options(&self) -> RemoteWriteOptions {
        let mut options = RemoteWriteOptions::new(self.url.clone());
        options.timeout = Duration::from_secs(5);
        options.retry = RetryOptions {
            min_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            max_attempts: 3,
        };
        options
    }
}

async fn handle(State(script): State<Script>, headers: HeaderMap, body: Bytes) -> Response {
    let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
    script.received.lock().unwrap().push(Received {
        headers,
        body: WriteRequest::decode(raw.as_slice()).unwrap(),
        at: Instant::now(),
    });
    let answer = script.answers.lock().unwrap().pop_front();
    let status = |code: u16| StatusCode::from_u16(code).unwrap();
    match answer {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(Answer::Status(code, body)) => (status(code), body).into_response(),
        Some(Answer::RetryAfter(code, seconds)) => {
            (status(code), [("retry-after", seconds)], "slow down").into_response()
        }
        Some(Answer::Hang) => std::future::pending().await,
    }
}

fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
    TimeSeries {
        labels: labels.iter().map(|(n, v)| Label::new(*n, *v)).collect(),
        samples: samples.iter().map(|(t, v)| Sample::new(*t, *v)).collect(),
    }
}

fn up(job: &str, samples: &[(i64, f64)]) -> TimeSeries {
    series(&[("job", job), ("__name__", "up")], samples)
}

fn header<'a>(received: &'a Received, name: &str) -> &'a str {
    received.headers.get(name).unwrap().to_str().unwrap()
}

fn write_file(dir: &Path, name: &str, content: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[tokio::test]
async fn sends_the_spec_headers_sorted_labels_and_samples_in_time_order() {
    let receiver = Receiver::start([]).await;
    let writer = RemoteWriter::new(receiver.options()).unwrap();
    let input = vec![
        series(
            &[
                ("zone", "b"),
                ("Alpha", "x"),
                ("__name__", "calls"),
                ("a", "1"),
            ],
            &[(3_000, 3.0), (1_000, 1.0), (2_000, 2.0)],
        ),
        up("j", &[(5, 1.0)]),
        up("empty", &[]),
    ];
    let report = writer.send(input).await.unwrap();
    assert_eq!(
        report,
        SendReport {
            requests: 1,
            samples: 4,
            series: 2,
            retries: 0
        }
    );

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(header(request, "content-encoding"), "snappy");
    assert_eq!(header(request, "content-type"), "application/x-protobuf");
    assert_eq!(
        header(request, "user-agent"),
        concat!("feishu-vc-exporter/", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        header(request, "x-prometheus-remote-write-version"),
        "0.1.0"
    );
    assert!(request.headers.get("authorization").is_none());

    let sent = &request.body.timeseries;
    assert_eq!(sent.len(), 2, "the series without samples is skipped");
    let names: Vec<&str> = sent[0].labels.iter().map(|l| l.name.as_str()).collect();
    // Byte order: uppercase sorts before `_`, so `__name__` is not always first.
    assert_eq!(names, ["Alpha", "__name__", "a", "zone"]);
    let times: Vec<i64> = sent[0].samples.iter().map(|s| s.timestamp).collect();
    assert_eq!(times, [1_000, 2_000, 3_000]);
    assert_eq!(sent[0].samples[0].value, 1.0);
}

#[tokio::test]
async fn batches_at_the_sample_limit_keeping_each_series_in_order() {
    let receiver = Receiver::start([]).await;
    let mut options = receiver.options();
    options.max_samples_per_request = 5;
    let writer = RemoteWriter::new(options).unwrap();
    let long: Vec<(i64, f64)> = (0..12).rev().map(|i| (i * 1000, i as f64)).collect();
    let short = [(7, 0.5), (8, 0.25), (9, 0.125)];
    let report = writer
        .send(vec![up("long", &long), up("short", &short)])
        .await
        .unwrap();
    assert_eq!((report.requests, report.samples, report.series), (3, 15, 2));

    let received = receiver.received();
    let sizes: Vec<usize> = received
        .iter()
        .map(|r| r.body.timeseries.iter().map(|s| s.samples.len()).sum())
        .collect();
    assert_eq!(sizes, [5, 5, 5]);
    // Reassembled per series, in request order, the samples are each series' own, oldest first.
    for (job, expected) in [("long", 12), ("short", 3)] {
        let times: Vec<i64> = received
            .iter()
            .flat_map(|r| r.body.timeseries.iter())
            .filter(|s| s.labels.iter().any(|l| l.value == job))
            .flat_map(|s| s.samples.iter().map(|x| x.timestamp))
            .collect();
        assert_eq!(times.len(), expected, "{job}");
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{job}: {times:?}");
    }
}

#[tokio::test]
async fn basic_auth_comes_from_the_password_file_and_never_prints() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start([]).await;
    let mut options = receiver.options();
    let password = write_file(dir.path(), "password", "s3cr3t-pw\n");
    options.basic_auth = Some(("feishu".into(), password));
    let writer = RemoteWriter::new(options).unwrap();
    assert!(!format!("{writer:?}").contains("s3cr3t"));
    writer.send(vec![up("a", &[(1, 1.0)])]).await.unwrap();
    // base64("feishu:s3cr3t-pw"): the trailing newline of the file is not part of it.
    assert_eq!(
        header(&receiver.received()[0], "authorization"),
        "Basic ZmVpc2h1OnMzY3IzdC1wdw=="
    );
}

#[tokio::test]
async fn bearer_token_from_its_file_and_extra_headers_are_sent() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start([]).await;
    let mut options = receiver.options();
    options.bearer_token_file = Some(write_file(dir.path(), "token", " tok-123 \n"));
    options.headers = vec![
        ("X-Scope-OrgID".into(), "feishu".into()),
        ("THANOS-TENANT".into(), "t1".into()),
    ];
    let writer = RemoteWriter::new(options).unwrap();
    writer.send(vec![up("a", &[(1, 1.0)])]).await.unwrap();
    let received = receiver.received();
    assert_eq!(header(&received[0], "authorization"), "Bearer tok-123");
    assert_eq!(header(&received[0], "x-scope-orgid"), "feishu");
    assert_eq!(header(&received[0], "thanos-tenant"), "t1");
}

#[test]
fn reserved_headers_bad_urls_and_missing_secret_files_are_refused() {
    let url = Url::parse("http://127.0.0.1:1/api/v1/write").unwrap();
    for name in [
        "Content-Type",
        "authorization",
        "X-Prometheus-Remote-Write-Version",
        "User-Agent",
        "host",
    ] {
        let mut options = RemoteWriteOptions::new(url.clone());
        options.headers = vec![(name.into(), "x".into())];
        let error = RemoteWriter::new(options).unwrap_err();
        assert!(error.is_permanent());
        assert!(
            error.to_string().contains(&format!("{name:?} is reserved")),
            "{error}"
        );
    }

    let with_password = Url::parse("https://user:hunter2@example.com/write").unwrap();
    let error = RemoteWriter::new(RemoteWriteOptions::new(with_password)).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("https://example.com/write") && text.contains("basic_auth"));
    assert!(!text.contains("hunter2"), "{text}");

    let ftp = Url::parse("ftp://example.com/").unwrap();
    assert!(RemoteWriter::new(RemoteWriteOptions::new(ftp)).is_err());

    let mut options = RemoteWriteOptions::new(url.clone());
    options.bearer_token_file = Some("/nonexistent/token".into());
    let error = RemoteWriter::new(options).unwrap_err().to_string();
    assert!(error.contains("/nonexistent/token"), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let mut options = RemoteWriteOptions::new(url);
    options.bearer_token_file = Some(write_file(dir.path(), "empty", "\n"));
    let error = RemoteWriter::new(options).unwrap_err().to_string();
    assert!(error.contains("is empty"), "{error}");
}

#[tokio::test]
async fn invalid_series_are_refused_before_anything_is_sent() {
    let receiver = Receiver::start([]).await;
    let writer = RemoteWriter::new(receiver.options()).unwrap();
    let cases = [
        (series(&[("job", "a")], &[(1, 1.0)]), "no __name__"),
        (
            series(&[("__name__", "up"), ("job", "")], &[(1, 1.0)]),
            "empty value",
        ),
        (
            series(&[("__name__", "up"), ("", "x")], &[(1, 1.0)]),
            "invalid label name",
        ),
        (
            series(&[("__name__", "up"), ("a", "1"), ("a", "2")], &[(1, 1.0)]),
            "repeated",
        ),
        (
            series(&[("__name__", "1up")], &[(1, 1.0)]),
            "invalid metric name",
        ),
        (up("a", &[(1, 1.0), (1, 2.0)]), "two samples at 1 ms"),
    ];
    for (bad, reason) in cases {
        let error = writer
            .send(vec![up("ok", &[(1, 1.0)]), bad])
            .await
            .unwrap_err();
        assert!(
            matches!(error, RemoteWriteError::InvalidSeries { .. }),
            "{error}"
        );
        assert!(error.to_string().contains(reason), "{error} / {reason}");
    }
    let error = writer
        .send(vec![up("a", &[(1, 1.0)]), up("a", &[(2, 1.0)])])
        .await
        .unwrap_err();
    assert!(error.to_string().contains("comes twice"), "{error}");
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn retries_503_then_succeeds() {
    let receiver = Receiver::start([
        Answer::Status(503, "not ready"),
        Answer::Status(502, "bad gateway"),
    ])
    .await;
    let writer = RemoteWriter::new(receiver.options()).unwrap();
    let report = writer.send(vec![up("a", &[(1, 1.0)])]).await.unwrap();
    assert_eq!((report.requests, report.retries), (1, 2));
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    assert!(received.iter().all(|r| r.body == received[0].body));
}

#[tokio::test]
async fn gives_up_on_5xx_after_the_last_attempt_with_the_receivers_message() {
    let answers = std::iter::repeat_n(Answer::Status(503, "overloaded\n"), 5);
    let receiver = Receiver::start(answers).await;
    let writer = RemoteWriter::new(receiver.options()).unwrap();
    let error = writer.send(vec![up("a", &[(1, 1.0)])]).await.unwrap_err();
    assert!(!error.is_permanent());
    assert_eq!(error.receiver_message(), Some("overloaded"));
    assert!(
        matches!(error, RemoteWriteError::GaveUp { attempts: 3, .. }),
        "{error}"
    );
    let text = error.to_string();
    assert!(
        text.contains(receiver.url.as_str()) && text.contains("503"),
        "{text}"
    );
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn honours_retry_after_on_429() {
    let receiver = Receiver::start([Answer::RetryAfter(429, "1")]).await;
    let mut options = receiver.options();
    options.retry.max_backoff = Duration::from_secs(2);
    let writer = RemoteWriter::new(options).unwrap();
    let report = writer.send(vec![up("a", &[(1, 1.0)])]).await.unwrap();
    assert_eq!(report.retries, 1);
    let received = receiver.received();
    let gap = received[1].at - received[0].at;
    // min_backoff is 5 ms: only Retry-After explains a one-second wait.
    assert!(gap >= Duration::from_millis(950), "{gap:?}");
}

#[tokio::test]
async fn prometheus_500_too_old_sample_and_out_of_bounds_are_not_retried() {
    for body in ["too old sample\n", "out of bounds"] {
        let receiver = Receiver::start([Answer::Status(500, body)]).await;
        let writer = RemoteWriter::new(receiver.options()).unwrap();
        let error = writer.send(vec![up("a", &[(1, 1.0)])]).await.unwrap_err();
        assert!(error.is_permanent(), "{error}");
        assert!(
            matches!(error, RemoteWriteError::Rejected { status: 500, .. }),
            "{error}"
        );
        assert_eq!(error.receiver_message(), Some(body.trim()));
        assert_eq!(receiver.received().len(), 1, "{body}");
    }
    // Only Prometheus's own 500 means that: a proxy's 502 is retried whatever it says.
    let receiver = Receiver::start([Answer::Status(502, "out of bounds")]).await;
    let writer = RemoteWriter::new(receiver.options()).unwrap();
    let report = writer.send(vec![up("a", &[(1, 1.0)])]).await.unwrap();
    assert_eq!(report.retries, 1);
}

#[tokio::test]
async fn a_400_is_reported_with_the_sanitised_message_and_what_went_before() {
    let long = "x".repeat(2000);
    let long: &'static str = Box::leak(long.into_boxed_str());
    let receiver = Receiver::start([
        Answer::Status(204, ""),
        Answer::Status(400, "out of order sample\n\u{1b}[31mred\r\n"),
        Answer::Status(409, long),
    ])
    .await;
    let mut options = receiver.options();
    options.max_samples_per_request = 2;
    let writer = RemoteWriter::new(options).unwrap();
    let samples = [(1, 1.0), (2, 1.0), (3, 1.0), (4, 1.0), (5, 1.0)];
    let error = writer.send(vec![up("a", &samples)]).await.unwrap_err();
    assert!(error.is_permanent());
    assert_eq!(
        error.receiver_message(),
        Some("out of order sample [31mred")
    );
    assert_eq!(
        error.accepted(),
        Some(&SendReport {
            requests: 1,
            samples: 2,
            series: 1,
            retries: 0
        })
    );
    let text = error.to_string();
    assert!(text.contains("HTTP 400: out of order sample"), "{text}");
    assert!(text.contains("2 samples in 1 earlier requests"), "{text}");
    assert_eq!(receiver.received().len(), 2, "a 4xx is not retried");

    // A long answer is cut to 512 bytes.
    let error = writer.send(vec![up("b", &[(1, 1.0)])]).await.unwrap_err();
    let message = error.receiver_message().unwrap();
    assert!(
        message.starts_with("xxx") && message.ends_with(" …"),
        "{message}"
    );
    assert_eq!(message.len(), 512 + " …".len());
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let receiver = Receiver::start([Answer::Status(308, "")]).await;
    let writer = RemoteWriter::new(receiver.options()).unwrap();
    let error = writer.send(vec![up("a", &[(1, 1.0)])]).await.unwrap_err();
    assert!(
        matches!(error, RemoteWriteError::Rejected { status: 308, .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("final address (Permanent Redirect (empty body))"),
        "{error}"
    );
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_hanging_receiver_times_out_is_retried_then_fails() {
    let receiver = Receiver::start([Answer::Hang, Answer::Hang]).await;
    let mut options = receiver.options();
    options.timeout = Duration::from_millis(300);
    options.retry.max_attempts = 2;
    let writer = RemoteWriter::new(options).unwrap();
    let started = Instant::now();
    let error = writer.send(vec![up("a", &[(1, 1.0)])]).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(!error.is_permanent());
    assert!(
        matches!(error, RemoteWriteError::GaveUp { attempts: 2, .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("timed out after 300ms"),
        "{error}"
    );
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn connection_refused_names_the_url_without_credentials() {
    // A port that was free a moment ago: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = Url::parse(&format!("http://127.0.0.1:{port}/api/v1/write")).unwrap();
    let mut options = RemoteWriteOptions::new(url);
    options.retry = RetryOptions {
        min_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        max_attempts: 2,
    };
    let writer = RemoteWriter::new(options).unwrap();
    let error = writer.send(vec![up("a", &[(1, 1.0)])]).await.unwrap_err();
    assert!(!error.is_permanent());
    let text = error.to_string();
    assert!(
        text.contains(&format!("http://127.0.0.1:{port}/api/v1/write"))
            && text.contains("connection failed")
            && text.contains("after 2 attempts"),
        "{text}"
    );
}

#[test]
fn yaml_mirrors_prometheus_remote_write_keys() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "pw", "p\n");
    let yaml = "
url: https://mimir.example/api/v1/push
remote_timeout: 1m30s
headers: { X-Scope-OrgID: feishu }
basic_auth: { username: u, password_file: pw }
tls_config:
  ca_file: /etc/ca.pem
  server_name: mimir.internal
queue_config: { max_samples_per_send: 500, min_backoff: 30ms, max_backoff: 5s }
";
    let options = RemoteWriteOptions::from_yaml(yaml, dir.path()).unwrap();
    assert_eq!(options.url.as_str(), "https://mimir.example/api/v1/push");
    assert_eq!(options.timeout, Duration::from_secs(90));
    assert_eq!(options.headers, [("X-Scope-OrgID".into(), "feishu".into())]);
    assert_eq!(
        options.basic_auth,
        Some(("u".into(), dir.path().join("pw")))
    );
    assert_eq!(options.tls.ca_file, Some("/etc/ca.pem".into()));
    assert_eq!(options.tls.server_name.as_deref(), Some("mimir.internal"));
    assert_eq!(options.max_samples_per_request, 500);
    assert_eq!(options.retry.min_backoff, Duration::from_millis(30));
    assert_eq!(options.retry.max_backoff, Duration::from_secs(5));

    let file = write_file(dir.path(), "rw.yml", yaml);
    let from_file = RemoteWriteOptions::from_yaml_file(&file).unwrap();
    assert_eq!(from_file.basic_auth, options.basic_auth);
    let missing = RemoteWriteOptions::from_yaml_file(&dir.path().join("nope.yml")).unwrap_err();
    assert!(missing.to_string().contains("nope.yml"), "{missing}");

    let bearer = "url: http://h/w\nauthorization: { credentials_file: /t }\n";
    let options = RemoteWriteOptions::from_yaml(bearer, dir.path()).unwrap();
    assert_eq!(options.bearer_token_file, Some("/t".into()));

    for (bad, expected) in [
        (
            "url: http://h/w\nbasic_auth: { username: u, password: hunter2 }\n",
            "password_file",
        ),
        (
            "url: http://h/w\nbearer_token: hunter2\n",
            "bearer_token_file",
        ),
        (
            "url: http://h/w\nauthorization: { credentials: hunter2 }\n",
            "credentials_file",
        ),
        (
            "url: http://h/w\nauthorization: { type: Digest, credentials_file: /t }\n",
            "Digest",
        ),
        (
            "url: http://h/w\nheaders: { Content-Encoding: gzip }\n",
            "\"Content-Encoding\" is reserved",
        ),
        (
            "url: http://h/w\nproxy_url: http://p\n",
            "unknown field `proxy_url`",
        ),
        ("url: http://h/w\nremote_timeout: soon\n", "remote_timeout"),
    ] {
        let error = RemoteWriteOptions::from_yaml(bad, dir.path())
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{bad}: {error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
}

/// A CA, a receiver certificate for `receiver.test` only, and a client certificate, as files;
/// and a TLS receiver on 127.0.0.1 that requires a client certificate from that CA.
async fn tls_receiver(dir: &Path) -> Url {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let signed = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        (params.signed_by(&key, &ca, &ca_key).unwrap(), key)
    };
    let (server, server_key) = signed("receiver.test");
    let (client, client_key) = signed("backfill");
    write_file(dir, "ca.pem", &ca.pem());
    write_file(dir, "client.pem", &client.pem());
    write_file(dir, "client.key", &client_key.serialize_pem());

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let client_verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(server_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(vec![server.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/api/v1/write", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let Ok(stream) = acceptor.accept(stream).await else {
                continue;
            };
            let service = hyper::service::service_fn(|_request| async {
                let mut answer = hyper::Response::new(String::new());
                *answer.status_mut() = StatusCode::NO_CONTENT;
                Ok::<_, std::convert::Infallible>(answer)
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(io, service));
        }
    });
    Url::parse(&url).unwrap()
}

#[tokio::test]
async fn tls_with_a_private_ca_a_server_name_and_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let url = tls_receiver(dir.path()).await;
    let tls = |server_name: Option<&str>, client_cert: bool, insecure: bool| {
        let mut options = RemoteWriteOptions::new(url.clone());
        options.retry.max_attempts = 1;
        options.tls = TlsOptions {
            ca_file: (!insecure).then(|| dir.path().join("ca.pem")),
            cert_file: client_cert.then(|| dir.path().join("client.pem")),
            key_file: client_cert.then(|| dir.path().join("client.key")),
            server_name: server_name.map(str::to_owned),
            insecure_skip_verify: insecure,
        };
        RemoteWriter::new(options).unwrap()
    };
    let send = |writer: RemoteWriter| async move { writer.send(vec![up("a", &[(1, 1.0)])]).await };

    let report = send(tls(Some("receiver.test"), true, false)).await.unwrap();
    assert_eq!(report.requests, 1);
    // The certificate names receiver.test, not 127.0.0.1.
    let error = send(tls(None, true, false)).await.unwrap_err().to_string();
    assert!(error.contains("certificate not valid for name"), "{error}");
    // The receiver wants a client certificate.
    let error = send(tls(Some("receiver.test"), false, false))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("CertificateRequired"), "{error}");
    // No CA at all: only insecure_skip_verify gets through.
    assert!(send(tls(None, true, true)).await.is_ok());

    let mut options = RemoteWriteOptions::new(url.clone());
    options.tls.cert_file = Some(dir.path().join("client.pem"));
    let error = RemoteWriter::new(options).unwrap_err().to_string();
    assert!(error.contains("cert_file and key_file"), "{error}");
}
