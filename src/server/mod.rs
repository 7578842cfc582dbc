//! The HTTP side of `serve`: the telemetry path, the status page, `/-/healthy`, `/-/ready`,
//! on hyper 1, with the exporter-toolkit web configuration (TLS, basic auth, headers, rate
//! limit). Reads the registry and the status board; writes nothing but its own counters.
//!
//! Every request passes, in order: the rate limit (429), basic auth (401 with
//! `WWW-Authenticate`), the method (GET and HEAD; 405), then the handler. Each is counted in
//! `feishu_vc_http_requests_total{handler,code}`; 401s also in
//! `feishu_vc_http_unauthorized_requests_total{reason}`.

mod auth;
mod page;
mod scrape;
mod web_config;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::status::StatusBoard;

pub use scrape::{accepts_gzip, encode_text, gzip, TEXT_CONTENT_TYPE};
pub use web_config::{load_web_config, RateLimit, WebConfig};

/// The default `--web.listen-address`, Prometheus-exporter style: all interfaces, port 9874.
pub const DEFAULT_LISTEN_ADDRESS: &str = ":9874";
/// The default `--web.telemetry-path`.
pub const DEFAULT_TELEMETRY_PATH: &str = "/metrics";

/// How long a client may take to send its request headers, or to finish a TLS handshake.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for requests in progress before dropping their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What the server shows.
pub struct ServerState {
    /// Everything `/metrics` shows: file metrics, exporter self-metrics, `process_*`. The
    /// server registers its own `feishu_vc_http_*` families here.
    pub registry: Registry,
    pub status: Arc<StatusBoard>,
    /// Default [`DEFAULT_TELEMETRY_PATH`].
    pub telemetry_path: String,
    /// Ready as soon as the demo runs.
    pub demo: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The web config file is unreadable or wrong; the message names the key.
    #[error("web config file {}: {message}", path.display())]
    WebConfig {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("--web.telemetry-path {path:?}: {reason}")]
    TelemetryPath { path: String, reason: &'static str },
    /// The server's own metrics could not be registered (registered twice?).
    #[error("registering the HTTP server's metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Why a path cannot be the telemetry path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadTelemetryPath {
    /// It does not start with `/`.
    NotAbsolute,
    /// Another endpoint has it: `/`, `/-/healthy`, `/-/ready`.
    Reserved,
    /// It holds whitespace, a control character, `?`, `#`, `"`, `<` or `>`.
    NotPlain,
}

/// The one rule for the telemetry path (the config checks it with this too): the reserved
/// paths are this server's other routes.
pub fn check_telemetry_path(path: &str) -> Result<(), BadTelemetryPath> {
    if !path.starts_with('/') {
        Err(BadTelemetryPath::NotAbsolute)
    } else if path == "/" || path == "/-/healthy" || path == "/-/ready" {
        Err(BadTelemetryPath::Reserved)
    } else if path
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '"' | '<' | '>'))
    {
        Err(BadTelemetryPath::NotPlain)
    } else {
        Ok(())
    }
}

/// Checks a `--web.telemetry-path` value (serve does too; main may check it earlier).
pub fn validate_telemetry_path(path: &str) -> Result<(), ServerError> {
    check_telemetry_path(path).map_err(|bad| ServerError::TelemetryPath {
        path: path.to_owned(),
        reason: match bad {
            BadTelemetryPath::NotAbsolute => "must start with /",
            BadTelemetryPath::Reserved => "is taken by another endpoint",
            BadTelemetryPath::NotPlain => "must be a plain URL path",
        },
    })
}

/// Serves until `shutdown` is cancelled, then stops accepting, lets requests in progress
/// finish (up to a few seconds) and returns. Errors only on a bad setup, before serving.
pub async fn serve(
    listener: TcpListener,
    web: Option<WebConfig>,
    state: ServerState,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    validate_telemetry_path(&state.telemetry_path)?;
    let tls = web.as_ref().and_then(|w| w.tls.clone());
    let app = Arc::new(App::new(state, web.as_ref())?);
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let address = listener.local_addr().ok();
    tracing::info!(
        address = %address.map(|a| a.to_string()).unwrap_or_default(),
        tls = acceptor.is_some(),
        basic_auth = app.auth.is_some(),
        telemetry_path = %app.telemetry_path,
        "listening"
    );

    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection(
                        stream,
                        peer,
                        acceptor.clone(),
                        app.clone(),
                        shutdown.clone(),
                    ));
                }
                Err(error) => {
                    // Out of file descriptors, a connection reset before accept: keep serving.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "closing connections still busy after the shutdown grace period"
        );
        connections.shutdown().await;
    }
    tracing::debug!("HTTP server stopped");
    Ok(())
}

async fn connection<S>(
    stream: S,
    peer: SocketAddr,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    app: Arc<App>,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match acceptor {
        None => http(stream, peer, app, shutdown).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
            let stream = tokio::select! {
                () = shutdown.cancelled() => return,
                result = handshake => match result {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(error)) => {
                        tracing::debug!(%peer, %error, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                },
            };
            http(stream, peer, app, shutdown).await
        }
    }
}

async fn http<S>(stream: S, peer: SocketAddr, app: Arc<App>, shutdown: CancellationToken)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.handle(request, peer).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(CLIENT_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "HTTP connection ended with an error");
    }
}

/// Which endpoint a request is for (the `handler` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handler {
    Metrics,
    Status,
    Healthy,
    Ready,
    NotFound,
}

impl Handler {
    const ALL: [Handler; 5] = [
        Handler::Metrics,
        Handler::Status,
        Handler::Healthy,
        Handler::Ready,
        Handler::NotFound,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Handler::Metrics => "metrics",
            Handler::Status => "status",
            Handler::Healthy => "healthy",
            Handler::Ready => "ready",
            Handler::NotFound => "not_found",
        }
    }
}

struct App {
    telemetry_path: String,
    registry: Registry,
    status: Arc<StatusBoard>,
    demo: bool,
    scraper: scrape::Scraper,
    auth: Option<auth::BasicAuth>,
    limiter: Option<governor::DefaultDirectRateLimiter>,
    headers: Vec<(HeaderName, HeaderValue)>,
    requests: IntCounterVec,
    durations: HistogramVec,
    unauthorized: IntCounterVec,
}

impl App {
    fn new(state: ServerState, web: Option<&WebConfig>) -> Result<Self, ServerError> {
        let registry = state.registry;
        let requests = IntCounterVec::new(
            Opts::new(
                "feishu_vc_http_requests_total",
                "HTTP requests this exporter answered, by handler (metrics, status, healthy, ready, not_found) and status code.",
            ),
            &["handler", "code"],
        )?;
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "feishu_vc_http_request_duration_seconds",
                "Time to answer an HTTP request, up to the first byte of the body, by handler.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["handler"],
        )?;
        let unauthorized = IntCounterVec::new(
            Opts::new(
                "feishu_vc_http_unauthorized_requests_total",
                "HTTP requests refused with 401 because basic-auth credentials were missing or wrong (reason).",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(durations.clone()))?;
        registry.register(Box::new(unauthorized.clone()))?;
        requests.with_label_values(&[Handler::Metrics.as_str(), "200"]);
        for handler in Handler::ALL {
            durations.with_label_values(&[handler.as_str()]);
        }
        for reason in auth::Denied::ALL {
            unauthorized.with_label_values(&[reason.as_str()]);
        }
        let limiter = web.and_then(|w| w.rate_limit).map(|limit| {
            let quota = governor::Quota::with_period(limit.interval)
                .expect("a non-zero interval")
                .allow_burst(limit.burst);
            governor::RateLimiter::direct(quota)
        });
        Ok(Self {
            telemetry_path: state.telemetry_path,
            scraper: scrape::Scraper::new(registry.clone()),
            registry,
            status: state.status,
            demo: state.demo,
            auth: web
                .filter(|w| w.basic_auth_enabled())
                .map(|w| auth::BasicAuth::new(w.users.clone())),
            limiter,
            headers: web.map(|w| w.headers.clone()).unwrap_or_default(),
            requests,
            durations,
            unauthorized,
        })
    }

    fn handler(&self, path: &str) -> Handler {
        match path {
            p if p == self.telemetry_path => Handler::Metrics,
            "/" => Handler::Status,
            "/-/healthy" => Handler::Healthy,
            "/-/ready" => Handler::Ready,
            _ => Handler::NotFound,
        }
    }

    async fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let arrived = Instant::now();
        let handler = self.handler(request.uri().path());
        let mut response = self.respond(handler, &request, peer).await;
        let headers = response.headers_mut();
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        self.requests
            .with_label_values(&[handler.as_str(), response.status().as_str()])
            .inc();
        self.durations
            .with_label_values(&[handler.as_str()])
            .observe(arrived.elapsed().as_secs_f64());
        response
    }

    async fn respond(
        &self,
        handler: Handler,
        request: &Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<Body> {
        if let Some(limiter) = &self.limiter {
            if limiter.check().is_err() {
                return text(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n");
            }
        }
        if let Some(auth) = &self.auth {
            if let Err(denied) = auth.check(request.headers()).await {
                self.unauthorized
                    .with_label_values(&[denied.as_str()])
                    .inc();
                tracing::debug!(%peer, reason = denied.as_str(), "unauthorized request");
                let mut response = text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Basic realm=\"feishu-vc-exporter\", charset=\"UTF-8\"",
                    ),
                );
                return response;
            }
        }
        if handler == Handler::NotFound {
            return text(StatusCode::NOT_FOUND, "404 page not found\n");
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        match handler {
            Handler::Metrics => self.metrics(request).await,
            Handler::Status => self.status_page().await,
            Handler::Healthy => text(StatusCode::OK, "Healthy.\n"),
            Handler::Ready if self.demo || self.status.ready() => text(StatusCode::OK, "Ready.\n"),
            Handler::Ready => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not ready: the first collection cycle has not finished.\n",
            ),
            Handler::NotFound => unreachable!("answered above"),
        }
    }

    async fn metrics(&self, request: &Request<Incoming>) -> Response<Body> {
        let encoded = match self.scraper.scrape().await {
            Ok(encoded) => encoded,
            Err(error) => {
                tracing::error!(%error, "cannot serve the metrics");
                return text(StatusCode::INTERNAL_SERVER_ERROR, &format!("{error}\n"));
            }
        };
        let mut builder = Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)
            .header(header::VARY, "Accept-Encoding");
        let body = if accepts_gzip(request.headers()) {
            builder = builder.header(header::CONTENT_ENCODING, "gzip");
            encoded.gzip().await
        } else {
            encoded.text.clone()
        };
        builder
            .body(Body::from(body))
            .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "response\n"))
    }

    async fn status_page(&self) -> Response<Body> {
        let snapshot = self.status.snapshot();
        let ready = self.demo || self.status.ready();
        let registry = self.registry.clone();
        let facts = tokio::task::spawn_blocking(move || {
            page::RegistryFacts::from_families(&registry.gather())
        })
        .await
        .unwrap_or_default();
        let html = page::render(&page::Page {
            snapshot: &snapshot,
            facts: &facts,
            telemetry_path: &self.telemetry_path,
            demo: self.demo,
            ready,
            now: crate::clock::system_now(),
        });
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .header(header::CACHE_CONTROL, "no-store")
            .header(
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            )
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .body(Body::from(html))
            .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "response\n"))
    }
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut response = Response::new(Body::from(body.to_owned()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests;
