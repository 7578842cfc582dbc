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
use super::retry::Tuning;
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

fn fast() -> Tuning {
    Tuning {
        backoff_min: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        throttle_default: Duration::from_millis(10),
        throttle_min: Duration::from_millis(1),
        throttle_max: Duration::from_secs(60),
    }
}

fn client_with(options: ClientOptions) -> (Client, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let client = Client::with_tuning(options, recorder.clone(), fast()).unwrap();
    (client, recorder)
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

#[tokio::test]
async fn token_is_cached_and_refreshed_once_on_an_expired_token() {
    let fake = Fake::start().await;
    let (client, recorder) = client_with(options(&fake));

    assert_eq!(
        client.create_export(&meeting_list()).await.unwrap(),
        "task-1"
    );
    assert_eq!(
        client.create_export(&meeting_list()).await.unwrap(),
        "task-1"
    );
    assert_eq!(fake.count(TOKEN), 1, "the token is cached across calls");
    let token_call = &fake.requests(TOKEN)[0];
    assert_eq!(
        token_call.json(),
        json!({"app_id": "cli_test", "app_secret": SECRET})
    );
    assert_eq!(token_call.authorization, None);

    fake.push(
        MEETING_LIST,
        feishu_error(400, 99991663, "Invalid access token"),
    );
    assert_eq!(
        client.create_export(&meeting_list()).await.unwrap(),
        "task-1"
    );
    assert_eq!(fake.count(TOKEN), 2, "exactly one refresh");
    let auth: Vec<_> = fake
        .requests(MEETING_LIST)
        .into_iter()
        .map(|r| r.authorization)
        .collect();
    assert_eq!(
        auth,
        [bearer("t-1"), bearer("t-1"), bearer("t-1"), bearer("t-2")],
        "the rejected call is retried once with the new token"
    );
    let code = |e: Endpoint, c: &str| (e, c.to_owned());
    assert_eq!(
        recorder.calls(),
        [
            code(Endpoint::Token, "0"),
            code(Endpoint::CreateMeetingList, "0"),
            code(Endpoint::CreateMeetingList, "0"),
            code(Endpoint::CreateMeetingList, "99991663"),
            code(Endpoint::Token, "0"),
            code(Endpoint::CreateMeetingList, "0"),
        ]
    );
}

#[tokio::test]
async fn a_token_still_rejected_after_the_refresh_is_returned() {
    let fake = Fake::start().await;
    let (client, _) = client_with(options(&fake));
    for _ in 0..3 {
        fake.push(MEETING_LIST, feishu_error(400, 99991671, "token expired"));
    }
    let error = client.create_export(&meeting_list()).await.unwrap_err();
    assert_eq!(error.code(), Some(99991671));
    assert_eq!(error.reason(), "auth");
    assert_eq!(
        fake.count(MEETING_LIST),
        2,
        "one retry after one refresh, no more"
    );
    assert_eq!(fake.count(TOKEN), 2);
}

#[tokio::test]
async fn a_due_token_is_refreshed_before_the_call() {
    let fake = Fake::start().await;
    *fake.state.token_expire.lock().unwrap() = 0;
    let (client, _) = client_with(options(&fake));
    client.create_export(&meeting_list()).await.unwrap();
    client.create_export(&meeting_list()).await.unwrap();
    assert_eq!(
        fake.count(TOKEN),
        2,
        "a token without life left is not reused"
    );
    let auth: Vec<_> = fake
        .requests(MEETING_LIST)
        .into_iter()
        .map(|r| r.authorization)
        .collect();
    assert_eq!(auth, [bearer("t-1"), bearer("t-2")]);
}

#[test]
fn the_refresh_margin_is_five_minutes_or_a_tenth() {
    use super::auth::refresh_margin;
    assert_eq!(
        refresh_margin(Duration::from_secs(7200)),
        Duration::from_secs(300)
    );
    assert_eq!(
        refresh_margin(Duration::from_secs(600)),
        Duration::from_secs(60)
    );
    assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
}

#[tokio::test]
async fn concurrent_callers_share_one_token_fetch() {
    let fake = Fake::start().await;
    let (client, _) = client_with(options(&fake));
    let request = meeting_list();
    let calls = (0..8).map(|_| client.create_export(&request));
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap(), "task-1");
    }
    assert_eq!(fake.count(TOKEN), 1);
    assert_eq!(fake.count(MEETING_LIST), 8);
}

#[tokio::test]
async fn a_user_token_is_used_as_is_and_its_rejection_is_permanent() {
    let fake = Fake::start().await;
    let mut options = options(&fake);
    options.credentials = Credentials::UserToken(Secret::new("u-user-token"));
    let (client, _) = client_with(options);
    client.create_export(&meeting_list()).await.unwrap();
    fake.push(
        MEETING_LIST,
        feishu_error(400, 99991677, "user token expired"),
    );
    let error = client.create_export(&meeting_list()).await.unwrap_err();
    assert_eq!(error.code(), Some(99991677));
    assert!(error.is_permanent());
    assert_eq!(fake.count(TOKEN), 0, "a user token is never exchanged");
    assert_eq!(fake.count(MEETING_LIST), 2);
    assert!(fake
        .requests(MEETING_LIST)
        .iter()
        .all(|r| r.authorization == bearer("u-user-token")));
}

#[tokio::test]
async fn request_bodies_and_query_parameters_are_as_documented() {
    let fake = Fake::start().await;
    let mut options = options(&fake);
    options.user_id_type = UserIdType::UnionId;
    let (client, _) = client_with(options);
    let requests = [
        ExportRequest::MeetingList {
            start: 1_700_000_000,
            end: 1_700_003_600,
            status: Some(MeetingStatus::Ongoing),
            filter: Some(MeetingFilter::MeetingType(MeetingType::Video)),
        },
        ExportRequest::MeetingList {
            start: 1_700_000_000,
            end: 1_700_003_600,
            status: None,
            filter: Some(MeetingFilter::RoomId("omm_room".into())),
        },
        ExportRequest::ParticipantList {
            meeting_start: 1_700_000_000,
            meeting_end: 1_700_001_800,
            meeting_no: "123456789".into(),
            status: Some(MeetingStatus::Ended),
            user_id: None,
            room_id: None,
        },
        ExportRequest::ParticipantQualityList {
            meeting_start: 1_700_000_000,
            meeting_end: 1_700_001_800,
            meeting_no: "123456789".into(),
            join_time: 1_700_000_060,
            participant: Participant::User("ou_abc".into()),
        },
        ExportRequest::ResourceReservationList {
            room_level_id: "omb_level".into(),
            start: 1_700_000_000,
            end: 1_700_086_400,
            need_topic: Some(true),
            room_ids: vec!["omm_1".into(), "omm_2".into()],
            is_exclude: Some(false),
        },
        ExportRequest::ResourceReservationList {
            room_level_id: "omb_level".into(),
            start: 1_700_000_000,
            end: 1_700_086_400,
            need_topic: None,
            room_ids: vec![],
            is_exclude: None,
        },
    ];
    for request in &requests {
        client.create_export(request).await.unwrap();
    }
    let ml = fake.requests(MEETING_LIST);
    assert_eq!(
        ml[0].json(),
        json!({"start_time": "1700000000", "end_time": "1700003600", "meeting_status": 1, "meeting_type": 2})
    );
    assert_eq!(
        ml[1].json(),
        json!({"start_time": "1700000000", "end_time": "1700003600", "room_id": "omm_room"})
    );
    let pl = fake.requests(PARTICIPANT_LIST);
    assert_eq!(
        pl[0].json(),
        json!({"meeting_start_time": "1700000000", "meeting_end_time": "1700001800",
               "meeting_no": "123456789", "meeting_status": 2})
    );
    let ql = fake.requests(QUALITY_LIST);
    assert_eq!(
        ql[0].json(),
        json!({"meeting_start_time": "1700000000", "meeting_end_time": "1700001800",
               "meeting_no": "123456789", "join_time": "1700000060", "user_id": "ou_abc"})
    );
    let rl = fake.requests(RESERVATION_LIST);
    assert_eq!(
        rl[0].json(),
        json!({"room_level_id": "omb_level", "start_time": "1700000000", "end_time": "1700086400",
               "need_topic": true, "room_ids": ["omm_1", "omm_2"], "is_exclude": false})
    );
    assert_eq!(
        rl[1].json(),
        json!({"room_level_id": "omb_level", "start_time": "1700000000", "end_time": "1700086400"})
    );
    for r in ml.iter().chain(&pl).chain(&ql) {
        assert_eq!(
            r.query.as_deref(),
            Some("user_id_type=union_id"),
            "{}",
            r.path
        );
    }
    for r in &rl {
        assert_eq!(r.query, None);
    }
    for r in ml.iter().chain(&pl).chain(&ql).chain(&rl) {
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(r.authorization, bearer("t-1"));
    }
    assert_eq!(
        requests.iter().map(ExportRequest::kind).collect::<Vec<_>>(),
        [
            "meeting_list",
            "meeting_list",
            "participant_list",
            "participant_quality_list",
            "resource_reservation_list",
            "resource_reservation_list"
        ]
    );
}

#[tokio::test]
async fn a_throttled_call_waits_for_the_reset_header_and_is_retried() {
    let fake = Fake::start().await;
    let (client, recorder) = client_with(options(&fake));
    fake.push(
        MEETING_LIST,
        Reply::Json(
            429,
            json!({"code": 99991400, "msg": "request trigger frequency limit"}),
            vec![
                ("x-ogw-ratelimit-limit", "100"),
                ("x-ogw-ratelimit-reset", "1"),
            ],
        ),
    );
    let started = std::time::Instant::now();
    assert_eq!(
        client.create_export(&meeting_list()).await.unwrap(),
        "task-1"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}, not the 1 s reset",
        started.elapsed()
    );
    assert_eq!(fake.count(MEETING_LIST), 2);
    assert_eq!(
        recorder.codes(Endpoint::CreateMeetingList),
        ["99991400", "0"]
    );
}

#[tokio::test]
async fn a_throttle_that_outlasts_the_retries_is_a_rate_limited_error() {
    let fake = Fake::start().await;
    let mut options = options(&fake);
    options.max_retries = 2;
    let (client, recorder) = client_with(options);
    fake.push(
        MEETING_LIST,
        Reply::Json(
            400,
            json!({"code": 99991400, "msg": "too many requests"}),
            vec![("x-ogw-ratelimit-reset", "0")],
        ),
    );
    fake.push(
        MEETING_LIST,
        Reply::Raw(429, "text/plain", b"slow down".to_vec()),
    );
    fake.push(
        MEETING_LIST,
        Reply::Raw(429, "text/plain", b"slow down".to_vec()),
    );
    let error = client.create_export(&meeting_list()).await.unwrap_err();
    assert!(
        matches!(error, FeishuError::RateLimited { .. }),
        "{error:?}"
    );
    assert_eq!(error.code(), Some(99991400));
    assert_eq!(error.reason(), "rate_limited");
    assert!(!error.is_permanent());
    assert_eq!(
        recorder.codes(Endpoint::CreateMeetingList),
        ["99991400", "http_429", "http_429"]
    );
}

#[tokio::test]
async fn internal_errors_are_retried_until_success() {
    let fake = Fake::start().await;
    let (client, recorder) = client_with(options(&fake));
    fake.push(MEETING_LIST, feishu_error(200, 121001, "internal error"));
    fake.push(
        MEETING_LIST,
        Reply::Raw(503, "text/html", b"<h1>busy</h1>".to_vec()),
    );
    fake.push(MEETING_LIST, feishu_error(500, 121001, "internal error"));
    assert_eq!(
        client.create_export(&meeting_list()).await.unwrap(),
        "task-1"
    );
    assert_eq!(fake.count(MEETING_LIST), 4);
    assert_eq!(
        recorder.codes(Endpoint::CreateMeetingList),
        ["121001", "http_503", "121001", "0"]
    );
}

#[tokio::test]
async fn retries_stop_after_max_retries() {
    let fake = Fake::start().await;
    let mut options = options(&fake);
    options.max_retries = 2;
    let (client, _) = client_with(options);
    for _ in 0..5 {
        fake.push(MEETING_LIST, feishu_error(200, 121001, "internal error"));
    }
    let error = client.create_export(&meeting_list()).await.unwrap_err();
    assert_eq!(error.code(), Some(121001));
    assert_eq!(error.reason(), "server");
    assert!(!error.is_permanent());
    assert_eq!(fake.count(MEETING_LIST), 3, "one call and two retries");
}

#[tokio::test]
async fn permanent_errors_are_not_retried() {
    let fake = Fake::start().await;
    let (client, recorder) = client_with(options(&fake));
    let cases = [
        (121005, "permission"),
        (121003, "bad_parameter"),
        (121004, "not_found"),
        (99991672, "permission"),
        (99991401, "permission"),
    ];
    for (code, reason) in cases {
        fake.push(MEETING_LIST, feishu_error(400, code, "no"));
        let error = client.create_export(&meeting_list()).await.unwrap_err();
        assert_eq!(error.code(), Some(code));
        assert!(error.is_permanent(), "{code}");
        assert_eq!(error.reason(), reason, "{code}");
        let text = error.to_string();
        assert!(
            text.contains(&code.to_string()) && text.contains("meeting_list"),
            "{text}"
        );
    }
    assert_eq!(
        fake.count(MEETING_LIST),
        cases.len(),
        "exactly one call each"
    );
    assert_eq!(
        recorder.codes(Endpoint::CreateMeetingList).len(),
        cases.len()
    );
}

#[tokio::test]
async fn transport_errors_are_retried_and_reported() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let base = Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let mut options = ClientOptions::new(base, Credentials::UserToken(Secret::new("u-x")));
    options.max_retries = 2;
    options.requests_per_minute = 60_000;
    let (client, recorder) = client_with(options);
    let error = client.get_task("task-1").await.unwrap_err();
    assert_eq!(error.reason(), "transport", "{error}");
    assert_eq!(recorder.codes(Endpoint::GetTask), ["transport"; 3]);
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried() {
    let fake = Fake::start().await;
    let mut options = options(&fake);
    options.request_timeout = Duration::from_millis(200);
    options.max_retries = 1;
    let (client, recorder) = client_with(options);
    fake.push(TASK, Reply::Hang);
    fake.push(TASK, Reply::Hang);
    let error = client.get_task("task-1").await.unwrap_err();
    assert!(matches!(error, FeishuError::Timeout { .. }), "{error:?}");
    assert_eq!(error.reason(), "timeout");
    assert!(!error.is_task_timeout());
    assert_eq!(recorder.codes(Endpoint::GetTask), ["timeout", "timeout"]);
}

#[tokio::test]
async fn task_states_are_read() {
    let fake = Fake::start().await;
    let (client, _) = client_with(options(&fake));
    fake.push(TASK, ok(json!({"status": 1})));
    fake.push(TASK, ok(json!({"status": 2, "fail_msg": "export failed"})));
    fake.push(
        TASK,
        ok(json!({"status": 3, "file_token": "ft-1", "url": "https://x"})),
    );
    fake.push(TASK, ok(json!({"status": 3})));
    assert_eq!(
        client.get_task("task-1").await.unwrap(),
        TaskStatus::Processing
    );
    assert_eq!(
        client.get_task("task-1").await.unwrap(),
        TaskStatus::Failed {
            message: "export failed".into()
        }
    );
    assert_eq!(
        client.get_task("task-1").await.unwrap(),
        TaskStatus::Done {
            file_token: "ft-1".into()
        }
    );
    assert_eq!(
        client.get_task("task-1").await.unwrap_err().reason(),
        "bad_response"
    );
    assert!(fake.requests(TASK).iter().all(|r| r.method == "GET"));
}

#[tokio::test]
async fn a_download_error_body_is_an_error_with_its_code() {
    let fake = Fake::start().await;
    let (client, recorder) = client_with(options(&fake));
    fake.push(DOWNLOAD, feishu_error(200, 121004, "data not exist"));
    fake.push(DOWNLOAD, feishu_error(403, 121005, "no permission"));
    let error = client.download("ft-1").await.unwrap_err();
    assert_eq!(error.code(), Some(121004));
    assert_eq!(error.reason(), "not_found");
    assert!(error.to_string().contains("download"), "{error}");
    let error = client.download("ft-1").await.unwrap_err();
    assert_eq!(error.code(), Some(121005));
    assert_eq!(recorder.codes(Endpoint::Download), ["121004", "121005"]);
    let request = &fake.requests(DOWNLOAD)[0];
    assert_eq!(request.query.as_deref(), Some("file_token=ft-1"));
    assert_eq!(request.authorization, bearer("t-1"));
}

#[tokio::test]
async fn a_good_download_is_returned_byte_for_byte() {
    let fake = Fake::start().await;
    let (client, recorder) = client_with(options(&fake));
    let workbook = xlsx();
    fake.push(DOWNLOAD, file(workbook.clone()));
    fake.push(DOWNLOAD, Reply::Streamed(workbook.clone()));
    assert_eq!(client.download("ft-1").await.unwrap(), workbook);
    assert_eq!(client.download("ft-1").await.unwrap(), workbook);
    assert_eq!(recorder.codes(Endpoint::Download), ["0", "0"]);
}

#[tokio::test]
async fn a_download_over_the_cap_is_too_large() {
    let fake = Fake::start().await;
    let mut options = options(&fake);
    options.max_download_bytes = 4096;
    let (client, _) = client_with(options);
    fake.push(DOWNLOAD, file(vec![7; 10_000]));
    fake.push(DOWNLOAD, Reply::Streamed(vec![7; 10_000]));
    for _ in 0..2 {
        let error = client.download("ft-1").await.unwrap_err();
        assert!(matches!(error, FeishuError::TooLarge { .. }), "{error:?}");
        assert_eq!(error.reason(), "too_large");
    }
    assert_eq!(fake.count(DOWNLOAD), 2, "not retried");
}

#[tokio::test]
async fn a_download_that_is_not_a_whole_zip_is_a_bad_response() {
    let fake = Fake::start().await;
    let (client, _) = client_with(options(&fake));
    let workbook = xlsx();
    fake.push(DOWNLOAD, file(b"<html>surprise</html>".to_vec()));
    fake.push(DOWNLOAD, file(workbook[..workbook.len() - 30].to_vec()));
    for _ in 0..2 {
        let error = client.download("ft-1").await.unwrap_err();
        assert!(
            matches!(error, FeishuError::BadResponse { .. }),
            "{error:?}"
        );
        assert_eq!(error.reason(), "bad_response");
    }
}

#[test]
fn a_zip_bomb_is_refused_without_inflating_it() {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    writer
        .start_file("xl/worksheets/sheet1.xml", options)
        .unwrap();
    writer.write_all(&vec![b'0'; 4 << 20]).unwrap();
    let bomb = writer.finish().unwrap().into_inner();
    assert!(bomb.len() < 64 << 10, "compressed to {} bytes", bomb.len());
    let error = check_workbook(&bomb, 1 << 20).unwrap_err();
    assert!(matches!(
        error,
        FeishuError::TooLarge {
            what: "uncompressed workbook",
            ..
        }
    ));
    check_workbook(&bomb, 8 << 20).unwrap();
    check_workbook(&xlsx(), 1 << 20).unwrap();
}

#[tokio::test]
async fn run_export_creates_polls_and_downloads() {
    let fake = Fake::start().await;
    let (client, recorder) = client_with(options(&fake));
    let workbook = xlsx();
    let never = fake.base.join("/never-fetch-this").unwrap();
    fake.push(TASK, ok(json!({"status": 1})));
    fake.push(TASK, ok(json!({"status": 1})));
    fake.push(
        TASK,
        ok(json!({"status": 3, "file_token": "ft-9", "url": never.as_str()})),
    );
    fake.push(DOWNLOAD, file(workbook.clone()));
    let poll = PollOptions {
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        timeout: Duration::from_secs(10),
    };
    let bytes = client.run_export(&meeting_list(), &poll).await.unwrap();
    assert_eq!(bytes, workbook);
    let code = |e: Endpoint| (e, "0".to_owned());
    assert_eq!(
        recorder.calls(),
        [
            code(Endpoint::Token),
            code(Endpoint::CreateMeetingList),
            code(Endpoint::GetTask),
            code(Endpoint::GetTask),
            code(Endpoint::GetTask),
            code(Endpoint::Download),
        ]
    );
    assert_eq!(
        fake.all_paths(),
        [TOKEN, MEETING_LIST, TASK, TASK, TASK, DOWNLOAD],
        "the url field is never fetched"
    );
    assert_eq!(
        fake.requests(DOWNLOAD)[0].query.as_deref(),
        Some("file_token=ft-9")
    );
}

#[tokio::test]
async fn run_export_reports_a_failed_task() {
    let fake = Fake::start().await;
    let (client, _) = client_with(options(&fake));
    fake.push(TASK, ok(json!({"status": 2, "fail_msg": "too much data"})));
    let poll = PollOptions {
        initial_delay: Duration::from_millis(1),
        ..PollOptions::default()
    };
    let error = client.run_export(&meeting_list(), &poll).await.unwrap_err();
    assert!(
        matches!(&error, FeishuError::TaskFailed { task_id, message } if task_id == "task-1" && message == "too much data"),
        "{error:?}"
    );
    assert_eq!(error.reason(), "task_failed");
    assert_eq!(fake.count(DOWNLOAD), 0);
}

#[tokio::test]
async fn run_export_gives_up_after_the_poll_timeout() {
    let fake = Fake::start().await;
    let (client, _) = client_with(options(&fake));
    for _ in 0..100 {
        fake.push(TASK, ok(json!({"status": 1})));
    }
    let poll = PollOptions {
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        timeout: Duration::from_millis(300),
    };
    let error = client.run_export(&meeting_list(), &poll).await.unwrap_err();
    assert!(error.is_task_timeout(), "{error:?}");
    assert_eq!(error.reason(), "timeout");
    let polls = fake.count(TASK);
    // 10 + 20 + 40 + 40 + … ms: at most 10 polls fit in 300 ms, and the backoff keeps it low.
    assert!((2..=10).contains(&polls), "{polls} polls");
    assert_eq!(fake.count(DOWNLOAD), 0);
}

#[tokio::test(start_paused = true)]
async fn the_limiter_spaces_calls_per_endpoint() {
    let limiters = Arc::new(Limiters::new(60));
    let passed = Arc::new(AtomicUsize::new(0));
    for _ in 0..20 {
        let (limiters, passed) = (limiters.clone(), passed.clone());
        tokio::spawn(async move {
            limiters.until_ready(Endpoint::GetTask).await;
            passed.fetch_add(1, Ordering::SeqCst);
        });
    }
    tokio::time::sleep(Duration::from_millis(4500)).await;
    // One at once, then one every 1.001 s: t = 0, 1.001, 2.002, 3.003, 4.004.
    assert_eq!(passed.load(Ordering::SeqCst), 5);
    // Another endpoint has its own limiter: no wait.
    let before = tokio::time::Instant::now();
    limiters.until_ready(Endpoint::Download).await;
    assert_eq!(before.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn the_limiter_never_exceeds_the_rate_in_a_minute() {
    let limiters = Limiters::new(90);
    let start = tokio::time::Instant::now();
    let mut in_first_minute = 0;
    loop {
        limiters.until_ready(Endpoint::CreateMeetingList).await;
        if start.elapsed() > Duration::from_secs(60) {
            break;
        }
        in_first_minute += 1;
    }
    assert_eq!(in_first_minute, 90);
}

#[tokio::test(start_paused = true)]
async fn a_throttle_holds_the_whole_endpoint() {
    let limiters = Limiters::new(6000);
    let start = tokio::time::Instant::now();
    limiters.hold(Endpoint::GetTask, start + Duration::from_secs(7));
    limiters.until_ready(Endpoint::Download).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    limiters.until_ready(Endpoint::GetTask).await;
    assert_eq!(start.elapsed(), Duration::from_secs(7));
}

#[tokio::test]
async fn the_client_waits_for_its_limiter() {
    let fake = Fake::start().await;
    let mut options = options(&fake);
    options.requests_per_minute = 600; // one every ~101 ms
    let (client, _) = client_with(options);
    for _ in 0..4 {
        fake.push(TASK, ok(json!({"status": 1})));
    }
    let started = std::time::Instant::now();
    for _ in 0..4 {
        client.get_task("task-1").await.unwrap();
    }
    // A lower bound only: a loaded machine can make it slower, never faster.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn secrets_never_appear_in_errors() {
    let fake = Fake::start().await;
    let (client, recorder) = client_with(options(&fake));
    fake.push(
        TOKEN,
        feishu_error(400, 10014, &format!("app secret invalid: {SECRET}")),
    );
    let error = client.create_export(&meeting_list()).await.unwrap_err();
    assert_eq!(error.code(), Some(10014));
    assert!(error.is_permanent());
    assert_eq!(error.reason(), "auth");
    assert_eq!(recorder.codes(Endpoint::Token), ["10014"]);
    assert_eq!(fake.count(MEETING_LIST), 0);
    let shown = format!("{error} {error:?}");
    assert!(
        shown.contains("10014") && shown.contains("token"),
        "{shown}"
    );
    assert!(!shown.contains(SECRET), "{shown}");

    fake.push(
        MEETING_LIST,
        feishu_error(400, 121003, "bad token t-1 in request"),
    );
    let error = client.create_export(&meeting_list()).await.unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("121003"), "{shown}");
    assert!(!shown.contains("t-1"), "the token is blanked: {shown}");
    assert!(shown.contains("bad token <redacted>"), "{shown}");

    let debug = format!("{client:?} {:?}", options(&fake));
    assert!(!debug.contains(SECRET), "{debug}");
}

#[test]
fn bad_options_are_refused() {
    let base = Url::parse("https://open.feishu.cn").unwrap();
    let app = || Credentials::App {
        app_id: "cli_x".into(),
        app_secret: Secret::new("s"),
    };
    let observer: Arc<dyn CallObserver> = Arc::new(NoopObserver);
    let mut zero_rate = ClientOptions::new(base.clone(), app());
    zero_rate.requests_per_minute = 0;
    let no_secret = ClientOptions::new(
        base.clone(),
        Credentials::App {
            app_id: "cli_x".into(),
            app_secret: Secret::default(),
        },
    );
    let not_http = ClientOptions::new(Url::parse("ftp://open.feishu.cn").unwrap(), app());
    for options in [zero_rate, no_secret, not_http] {
        let error = Client::new(options, observer.clone()).unwrap_err();
        assert_eq!(error.reason(), "config");
    }
    Client::new(ClientOptions::new(base, app()), observer).unwrap();
}

#[test]
fn endpoint_labels_and_kinds() {
    let labels: Vec<_> = Endpoint::ALL.iter().map(|e| e.label()).collect();
    assert_eq!(
        labels,
        [
            "token",
            "meeting_list",
            "participant_list",
            "participant_quality_list",
            "resource_reservation_list",
            "get_task",
            "download"
        ]
    );
    for (index, endpoint) in Endpoint::ALL.iter().enumerate() {
        assert_eq!(endpoint.index(), index);
    }
}

#[test]
fn the_client_and_its_futures_can_be_shared_and_spawned() {
    fn shared<T: Send + Sync + Clone + 'static>() {}
    fn spawnable<T: Send>(_: &T) {}
    shared::<Client>();
    let client = Client::new(
        ClientOptions::new(
            Url::parse("https://open.feishu.cn").unwrap(),
            Credentials::UserToken(Secret::new("u-x")),
        ),
        Arc::new(NoopObserver),
    )
    .unwrap();
    let request = meeting_list();
    let poll = PollOptions::default();
    spawnable(&client.run_export(&request, &poll));
    spawnable(&client.create_export(&request));
}

#[tokio::test]
async fn the_first_poll_moves_toward_when_tasks_are_done() {
    let fake = Fake::start().await;
    let (client, _) = client_with(options(&fake));
    let poll = PollOptions {
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(10),
        timeout: Duration::from_secs(10),
    };
    let kind = meeting_list().kind();
    assert_eq!(
        client.first_poll_delay(kind, &poll),
        Duration::from_millis(100)
    );
    // Still processing at the first poll: the next export waits 32 % longer.
    fake.push(TASK, ok(json!({"status": 1})));
    fake.push(TASK, ok(json!({"status": 3, "file_token": "ft-1"})));
    fake.push(DOWNLOAD, file(xlsx()));
    client.run_export(&meeting_list(), &poll).await.unwrap();
    assert_eq!(
        client.first_poll_delay(kind, &poll),
        Duration::from_millis(132)
    );
    // Done at the first poll: 1 % sooner next time.
    fake.push(TASK, ok(json!({"status": 3, "file_token": "ft-2"})));
    fake.push(DOWNLOAD, file(xlsx()));
    client.run_export(&meeting_list(), &poll).await.unwrap();
    let learned = client.first_poll_delay(kind, &poll).as_secs_f64();
    assert!((learned - 0.13068).abs() < 1e-6, "{learned}");
    assert_eq!(fake.count(TASK), 3);
}
