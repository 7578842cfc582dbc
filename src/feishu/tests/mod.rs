//! The client against a small scripted fake of the Feishu API (axum on 127.0.0.1:0).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};
use url::Url;

use super::export::check_workbook;
use super::limiter::Limiters;
use super::*;
use crate::secret::Secret;

const SECRET: &str = "app-secret-do-not-print";
const TOKEN: &str = "/open-apis/auth/v3/tenant_access_token/internal";
const MEETING_LIST: &str = "/open-apis/vc/v1/exports/meeting_list";
const PARTICIPANT_LIST: &str = "/open-apis/vc/v1/exports/participant_list";
const QUALITY_LIST: &str = "/open-apis/vc/v1/exports/participant_quality_list";
const RESERVATION_LIST: &str = "/open-apis/vc/v1/exports/resource_reservation_list";
const TASK: &str = "/open-apis/vc/v1/exports/task-1";
const DOWNLOAD: &str = "/open-apis/vc/v1/exports/download";

/// One scripted answer of the fake server.
enum Reply {
    /// A JSON body with this status and extra headers.
    Json(u16, Value, Vec<(&'static str, &'static str)>),
    /// A body of this status and content type (with Content-Length).
    Raw(u16, &'static str, Vec<u8>),
    /// A file body sent chunked, without Content-Length.
    Streamed(Vec<u8>),
    /// No answer within any sensible timeout.
    Hang,
}

fn ok(data: Value) -> Reply {
    Reply::Json(
        200,
        json!({"code": 0, "msg": "success", "data": data}),
        vec![],
    )
}

fn feishu_error(status: u16, code: i64, msg: &str) -> Reply {
    Reply::Json(status, json!({"code": code, "msg": msg}), vec![])
}

fn file(bytes: Vec<u8>) -> Reply {
    Reply::Raw(
        200,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        bytes,
    )
}

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    query: Option<String>,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Recorded {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON request body")
    }
}

#[derive(Default)]
struct FakeState {
    log: Mutex<Vec<Recorded>>,
    script: Mutex<HashMap<String, VecDeque<Reply>>>,
    tokens_issued: AtomicUsize,
    token_expire: Mutex<i64>,
}

struct Fake {
    state: Arc<FakeState>,
    base: Url,
}

impl Fake {
    async fn start() -> Self {
        let state = Arc::new(FakeState::default());
        *state.token_expire.lock().unwrap() = 7200;
        let app = Router::new().fallback(handle).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { state, base }
    }

    fn push(&self, path: &str, reply: Reply) {
        let mut script = self.state.script.lock().unwrap();
        script.entry(path.to_owned()).or_default().push_back(reply);
    }

    fn requests(&self, path: &str) -> Vec<Recorded> {
        let log = self.state.log.lock().unwrap();
        log.iter().filter(|r| r.path == path).cloned().collect()
    }

    fn count(&self, path: &str) -> usize {
        self.requests(path).len()
    }

    fn all_paths(&self) -> Vec<String> {
        let log = self.state.log.lock().unwrap();
        log.iter().map(|r| r.path.clone()).collect()
    }
}

async fn handle(State(state): State<Arc<FakeState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let header = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let recorded = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        authorization: header(header::AUTHORIZATION),
        content_type: header(header::CONTENT_TYPE),
        body: axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec(),
    };
    let path = recorded.path.clone();
    state.log.lock().unwrap().push(recorded);
    let scripted = state
        .script
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(VecDeque::pop_front);
    let reply = match scripted {
        Some(reply) => reply,
        None if path == TOKEN => {
            let n = state.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
            let expire = *state.token_expire.lock().unwrap();
            Reply::Json(
                200,
                json!({"code": 0, "msg": "ok", "tenant_access_token": format!("t-{n}"), "expire": expire}),
                vec![],
            )
        }
        None if path.starts_with("/open-apis/vc/v1/exports/") && path.ends_with("_list") => {
            ok(json!({"task_id": "task-1"}))
        }
        None => Reply::Raw(404, "text/plain", b"404 page not found".to_vec()),
    };
    let builder = Response::builder();
    match reply {
        Reply::Json(status, value, headers) => {
            let mut builder = builder
                .status(status)
                .header(header::CONTENT_TYPE, "application/json; charset=utf-8");
            for (name, value) in headers {
                builder = builder.header(name, value);
            }
            builder.body(Body::from(value.to_string())).unwrap()
        }
        Reply::Raw(status, content_type, bytes) => builder
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(bytes))
            .unwrap(),
        Reply::Streamed(bytes) => {
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                bytes.chunks(1024).map(|c| Ok(c.to_vec())).collect();
            builder
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(Body::from_stream(futures::stream::iter(chunks)))
                .unwrap()
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            builder.status(500).body(Body::empty()).unwrap()
        }
    }
}

/// Records every call the client reports.
#[derive(Default)]
struct Recorder(Mutex<Vec<(Endpoint, String)>>);

impl CallObserver for Recorder {
    fn on_call(&self, endpoint: Endpoint, code: &str) {
        self.0.lock().unwrap().push((endpoint, code.to_owned()));
    }
}

impl Recorder {
    fn calls(&self) -> Vec<(Endpoint, String)> {
        self.0.lock().unwrap().clone()
    }

    fn codes(&self, endpoint: Endpoint) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|(e, _)| *e == endpoint)
            .map(|(_, code)| code)
            .collect()
    }
}

fn options(fake: &Fake) -> ClientOptions {
    ClientOptions {
        requests_per_minute: 60_000,
        request_timeout: Duration::from_secs(5),
        max_download_bytes: 1 << 20,
        max_uncompressed_bytes: 8 << 20,
        ..ClientOptions::new(
            fake.base.clone(),
            Credentials::App {
                app_id: "cli_test".into(),
                app_secret: Secret::new(SECRET),
            },
        )
    }
}

/// The client's retry policy with short waits, keeping `max_retries` as the test set it.
fn fast(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        backoff_min: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        throttle_default: Duration::from_millis(10),
        throttle_min: Duration::from_millis(1),
        throttle_max: Duration::from_secs(60),
    }
}

fn client_with(mut options: ClientOptions) -> (Client, Arc<Recorder>) {
    options.retry = fast(options.retry.max_retries);
    let recorder = Arc::new(Recorder::default());
    let client = Client::new(options, recorder.clone()).unwrap();
    (client, recorder)
}

/// A fake and a client of it with the test [`options`], recording its calls.
async fn start() -> (Fake, Client, Arc<Recorder>) {
    start_with(|_| {}).await
}

/// As [`start`], with the options changed by `edit` first.
async fn start_with(edit: impl FnOnce(&mut ClientOptions)) -> (Fake, Client, Arc<Recorder>) {
    let fake = Fake::start().await;
    let mut options = options(&fake);
    edit(&mut options);
    let (client, recorder) = client_with(options);
    (fake, client, recorder)
}

fn meeting_list() -> ExportRequest {
    ExportRequest::MeetingList {
        start: 1_700_000_000,
        end: 1_700_086_400,
        status: None,
        filter: None,
    }
}

fn xlsx() -> Vec<u8> {
    crate::sheet::writer::write_xlsx(&["会议ID", "会议主题"], [["123456789", "周会"]]).unwrap()
}

fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

mod auth;
mod export;
mod http;
mod requests;
mod retry;
