//! The HTTP side: axum handlers, tokens, rate limits, tasks and faults.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::files::{
    meeting_list_row, participant_list_rows, participant_quality_row, resource_reservation_row,
    xlsx, ExportKind,
};
use super::rng::{tag, Rng};
use super::tenant::{IdType, MeetingStatus, MeetingType, SimMeeting, Tenant};
use super::{endpoint, SimulatorOptions, Stats, MAX_FAULT_STREAK};

const XLSX_CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// While more than this remains of the current token, the token endpoint hands it out again.
const TOKEN_REUSE_MS: i64 = 30 * 60 * 1000;
const WINDOW_MS: i64 = 60_000;
/// Tasks (and their files) are dropped after this long or beyond this many.
const TASK_KEEP_MS: i64 = 60 * 60 * 1000;
const MAX_TASKS: usize = 2000;
/// The longest range a list export accepts.
const MAX_RANGE_SECONDS: i64 = 31 * 86_400;

pub struct Simulator;

impl Simulator {
    /// Serves the simulator on `listener` until [`SimulatorHandle::shutdown`].
    pub async fn start(listener: TcpListener, options: SimulatorOptions) -> SimulatorHandle {
        let addr = listener.local_addr().expect("a bound listener");
        let base_url = format!("http://{addr}");
        let inner = Arc::new(Inner {
            tenant: Tenant::new(options.seed),
            started: tokio::time::Instant::now(),
            base_url: base_url.clone(),
            state: Mutex::new(ServerState {
                rng: Rng::from_parts(&[options.seed, tag("server")]),
                tokens: HashMap::new(),
                current_token: None,
                windows: HashMap::new(),
                tasks: HashMap::new(),
                task_order: VecDeque::new(),
                files: HashMap::new(),
                fault_streaks: HashMap::new(),
                next_task: 0,
                stats: Stats::default(),
            }),
            options,
        });
        let router = router(inner.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::warn!(%error, "simulator server stopped");
            }
        });
        tracing::debug!(%base_url, "Feishu simulator listening");
        SimulatorHandle {
            base_url,
            inner,
            stop,
            server,
        }
    }
}

/// A running simulator.
pub struct SimulatorHandle {
    base_url: String,
    inner: Arc<Inner>,
    stop: oneshot::Sender<()>,
    server: JoinHandle<()>,
}

impl SimulatorHandle {
    /// `http://127.0.0.1:PORT`, to use as the Feishu base URL.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The ground truth being served.
    pub fn tenant(&self) -> &Tenant {
        &self.inner.tenant
    }

    /// The simulator's "now" (unix seconds).
    pub fn now(&self) -> i64 {
        self.inner.options.clock.now()
    }

    pub fn options(&self) -> &SimulatorOptions {
        &self.inner.options
    }

    pub fn stats(&self) -> Stats {
        self.inner.lock().stats.clone()
    }

    /// Stops serving: open connections get a moment to finish, then are dropped.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let mut server = self.server;
        if tokio::time::timeout(std::time::Duration::from_secs(5), &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
    }
}

struct Inner {
    tenant: Tenant,
    options: SimulatorOptions,
    started: tokio::time::Instant,
    base_url: String,
    state: Mutex<ServerState>,
}

struct ServerState {
    rng: Rng,
    /// token → expiry on the timeline (ms).
    tokens: HashMap<String, i64>,
    current_token: Option<String>,
    /// endpoint → times of the calls in the last 60 s (timeline ms).
    windows: HashMap<&'static str, VecDeque<i64>>,
    tasks: HashMap<String, Task>,
    task_order: VecDeque<String>,
    /// file_token → task_id.
    files: HashMap<String, String>,
    /// export (kind and parameters) → injected faults in a row, until its file is downloaded
    /// whole.
    fault_streaks: HashMap<String, u32>,
    next_task: u64,
    stats: Stats,
}

impl ServerState {
    /// Injected faults `export` has had in a row.
    fn fault_streak(&self, export: &str) -> u32 {
        self.fault_streaks.get(export).copied().unwrap_or(0)
    }
}

struct Task {
    created_ms: i64,
    ready_ms: i64,
    /// Which export this is: the kind and the parameters as sent.
    export: String,
    outcome: Outcome,
}

enum Outcome {
    Done {
        file_token: String,
        file_name: String,
        bytes: Bytes,
    },
    Failed(String),
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, ServerState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Milliseconds since start, plus any manual clock jumps.
    fn timeline_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64 + self.options.clock.skipped_ms()
    }

    /// Counts the call, then checks the token, the rate limit and the injected faults, in the
    /// order a gateway would. `Some` is the answer to send instead of the real one.
    fn gate(&self, name: &'static str, headers: &HeaderMap) -> Option<Response> {
        let now_ms = self.timeline_ms();
        let mut state = self.lock();
        *state.stats.calls.entry(name.to_string()).or_default() += 1;
        if let Some(answer) = check_token(&mut state, headers, now_ms) {
            state.stats.auth_failures += 1;
            return Some(answer);
        }
        if let Some(answer) = self.rate_limit(&mut state, name, now_ms) {
            return Some(answer);
        }
        let error_rate = self.options.faults.error_rate;
        if error_rate > 0.0 && state.rng.chance(error_rate) {
            state.stats.injected_errors += 1;
            return Some(if state.rng.chance(0.5) {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    "Internal Server Error",
                )
                    .into_response()
            } else {
                api_error(StatusCode::OK, 121001, "internal error, please retry")
            });
        }
        None
    }

    /// `Some(429)` when the endpoint's window is full; otherwise counts the call in it.
    fn rate_limit(
        &self,
        state: &mut ServerState,
        name: &'static str,
        now_ms: i64,
    ) -> Option<Response> {
        let limit = self.options.requests_per_minute;
        if limit == 0 {
            return None;
        }
        let window = state.windows.entry(name).or_default();
        while window.front().is_some_and(|&t| t <= now_ms - WINDOW_MS) {
            window.pop_front();
        }
        if window.len() < limit as usize {
            window.push_back(now_ms);
            return None;
        }
        let oldest = window.front().copied().unwrap_or(now_ms);
        let reset = ((oldest + WINDOW_MS - now_ms + 999) / 1000).max(1);
        *state
            .stats
            .rate_limited
            .entry(name.to_string())
            .or_default() += 1;
        let mut answer = api_error(
            StatusCode::TOO_MANY_REQUESTS,
            99991400,
            "request trigger frequency limit",
        );
        let headers = answer.headers_mut();
        headers.insert("x-ogw-ratelimit-limit", HeaderValue::from(limit));
        headers.insert("x-ogw-ratelimit-reset", HeaderValue::from(reset));
        Some(answer)
    }
}

/// `Some(error)` unless the request carries a live token.
fn check_token(state: &mut ServerState, headers: &HeaderMap, now_ms: i64) -> Option<Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Some(api_error(
            StatusCode::BAD_REQUEST,
            99991661,
            "Missing access token for authorization. Please make a request with token attached.",
        ));
    };
    state.tokens.retain(|_, expiry| *expiry > now_ms);
    if state.tokens.contains_key(token) {
        None
    } else {
        Some(api_error(
            StatusCode::BAD_REQUEST,
            99991663,
            "Invalid access token for authorization. Please make a request with token attached.",
        ))
    }
}

fn api_error(status: StatusCode, code: i64, msg: impl Into<String>) -> Response {
    (
        status,
        axum::Json(json!({"code": code, "msg": msg.into(), "data": {}})),
    )
        .into_response()
}

fn ok(data: Value) -> Response {
    axum::Json(json!({"code": 0, "msg": "success", "data": data})).into_response()
}

fn router(inner: Arc<Inner>) -> Router {
    let create = |kind: ExportKind| {
        move |state: State<Arc<Inner>>,
              query: Query<HashMap<String, String>>,
              headers: HeaderMap,
              body: Bytes| create_task(state, kind, query, headers, body)
    };
    Router::new()
        .route(
            "/open-apis/auth/v3/tenant_access_token/internal",
            post(tenant_access_token),
        )
        .route(
            "/open-apis/vc/v1/exports/meeting_list",
            post(create(ExportKind::MeetingList)),
        )
        .route(
            "/open-apis/vc/v1/exports/participant_list",
            post(create(ExportKind::ParticipantList)),
        )
        .route(
            "/open-apis/vc/v1/exports/participant_quality_list",
            post(create(ExportKind::ParticipantQualityList)),
        )
        .route(
            "/open-apis/vc/v1/exports/resource_reservation_list",
            post(create(ExportKind::ResourceReservationList)),
        )
        .route("/open-apis/vc/v1/exports/download", get(download))
        .route("/open-apis/vc/v1/exports/{task_id}", get(poll))
        .route("/sim/files/{file_token}", get(file_url))
        .fallback(|| async { api_error(StatusCode::NOT_FOUND, 404, "not found") })
        .with_state(inner)
}

async fn tenant_access_token(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    let now_ms = inner.timeline_ms();
    let mut state = inner.lock();
    *state
        .stats
        .calls
        .entry(endpoint::TOKEN.to_string())
        .or_default() += 1;
    if let Some(answer) = inner.rate_limit(&mut state, endpoint::TOKEN, now_ms) {
        return answer;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let app_id = body.get("app_id").and_then(Value::as_str);
    let app_secret = body.get("app_secret").and_then(Value::as_str);
    if app_id != Some(inner.options.app_id.as_str()) {
        state.stats.auth_failures += 1;
        return api_error(
            StatusCode::BAD_REQUEST,
            99991543,
            "app_id or app_secret is invalid",
        );
    }
    if app_secret != Some(inner.options.app_secret.as_str()) {
        state.stats.auth_failures += 1;
        return api_error(StatusCode::BAD_REQUEST, 10014, "app secret invalid");
    }
    state.tokens.retain(|_, expiry| *expiry > now_ms);
    let reusable = state
        .current_token
        .as_ref()
        .and_then(|t| state.tokens.get(t).map(|expiry| (t.clone(), *expiry)))
        .filter(|(_, expiry)| expiry - now_ms > TOKEN_REUSE_MS);
    let (token, expiry) = match reusable {
        Some(found) => found,
        None => {
            let token = format!("t-g1{}", state.rng.hex(38));
            let expiry = now_ms + inner.options.token_ttl.as_millis() as i64;
            state.tokens.insert(token.clone(), expiry);
            state.current_token = Some(token.clone());
            state.stats.tokens_issued += 1;
            (token, expiry)
        }
    };
    axum::Json(json!({
        "code": 0,
        "msg": "ok",
        "tenant_access_token": token,
        "expire": (expiry - now_ms) / 1000,
    }))
    .into_response()
}

async fn create_task(
    State(inner): State<Arc<Inner>>,
    kind: ExportKind,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let name = match kind {
        ExportKind::MeetingList => endpoint::MEETING_LIST,
        ExportKind::ParticipantList => endpoint::PARTICIPANT_LIST,
        ExportKind::ParticipantQualityList => endpoint::PARTICIPANT_QUALITY_LIST,
        ExportKind::ResourceReservationList => endpoint::RESOURCE_RESERVATION_LIST,
    };
    if let Some(answer) = inner.gate(name, &headers) {
        return answer;
    }
    let now = inner.options.clock.now();
    // The export's identity, for the fault streaks: its kind and its parameters as sent.
    let export = format!("{}\n{}", kind.as_str(), String::from_utf8_lossy(&body));
    let worker = inner.clone();
    let built = tokio::task::spawn_blocking(move || {
        build_export(&worker.tenant, kind, &query, &body, now).map(|rows| xlsx(kind, &rows))
    })
    .await;
    let bytes = match built {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(ApiError(code, msg))) => {
            return api_error(StatusCode::BAD_REQUEST, code, msg);
        }
        Err(_) => return api_error(StatusCode::INTERNAL_SERVER_ERROR, 121001, "internal error"),
    };

    let now_ms = inner.timeline_ms();
    let faults = inner.options.faults.clone();
    let (lo, hi) = inner.options.task_delay;
    let (task_id, failed, delay, file_token) = {
        let mut state = inner.lock();
        state.next_task += 1;
        let task_id = format!(
            "7{:012}{:06}",
            state.rng.next_u64() % 1_000_000_000_000,
            state.next_task % 1_000_000
        );
        let (lo, hi) = (lo.as_millis() as i64, hi.as_millis() as i64);
        let mut delay = if hi > lo {
            state.rng.range(lo, hi + 1)
        } else {
            lo
        };
        if faults.slow_task_rate > 0.0 && state.rng.chance(faults.slow_task_rate) {
            delay *= 10;
        }
        let failed = faults.failed_task_rate > 0.0
            && state.fault_streak(&export) < MAX_FAULT_STREAK
            && state.rng.chance(faults.failed_task_rate);
        if failed {
            *state.fault_streaks.entry(export.clone()).or_default() += 1;
        }
        let file_token = format!("boxcn{}", state.rng.alnum(22));
        (task_id, failed, delay, file_token)
    };
    let outcome = if failed {
        Outcome::Failed("export failed: internal error, please retry".into())
    } else {
        Outcome::Done {
            file_name: format!("{}_{task_id}.xlsx", kind.as_str()),
            file_token,
            bytes: Bytes::from(bytes),
        }
    };

    let mut state = inner.lock();
    if let Outcome::Done { file_token, .. } = &outcome {
        state.files.insert(file_token.clone(), task_id.clone());
    } else {
        state.stats.failed_tasks += 1;
    }
    *state
        .stats
        .tasks_created
        .entry(kind.as_str().to_string())
        .or_default() += 1;
    state.tasks.insert(
        task_id.clone(),
        Task {
            created_ms: now_ms,
            ready_ms: now_ms + delay,
            export,
            outcome,
        },
    );
    state.task_order.push_back(task_id.clone());
    evict_tasks(&mut state, now_ms);
    tracing::debug!(kind = kind.as_str(), %task_id, "simulator export task created");
    ok(json!({ "task_id": task_id }))
}

fn evict_tasks(state: &mut ServerState, now_ms: i64) {
    while let Some(oldest) = state.task_order.front() {
        let expired = state
            .tasks
            .get(oldest)
            .is_none_or(|t| t.created_ms < now_ms - TASK_KEEP_MS);
        if !expired && state.task_order.len() <= MAX_TASKS {
            break;
        }
        let id = state.task_order.pop_front().unwrap_or_default();
        if let Some(Task {
            outcome: Outcome::Done { file_token, .. },
            ..
        }) = state.tasks.remove(&id)
        {
            state.files.remove(&file_token);
        }
    }
}

async fn poll(
    State(inner): State<Arc<Inner>>,
    Path(task_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(answer) = inner.gate(endpoint::POLL, &headers) {
        return answer;
    }
    let now_ms = inner.timeline_ms();
    let state = inner.lock();
    let Some(task) = state.tasks.get(&task_id) else {
        return api_error(StatusCode::BAD_REQUEST, 121004, "export task not found");
    };
    if now_ms < task.ready_ms {
        return ok(json!({ "status": 1 }));
    }
    match &task.outcome {
        Outcome::Done { file_token, .. } => ok(json!({
            "status": 3,
            "file_token": file_token,
            "url": format!("{}/sim/files/{file_token}", inner.base_url),
        })),
        Outcome::Failed(message) => ok(json!({ "status": 2, "fail_msg": message })),
    }
}

async fn download(
    State(inner): State<Arc<Inner>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(answer) = inner.gate(endpoint::DOWNLOAD, &headers) {
        return answer;
    }
    let Some(file_token) = query.get("file_token").filter(|t| !t.is_empty()) else {
        return api_error(StatusCode::BAD_REQUEST, 121003, "file_token is required");
    };
    let now_ms = inner.timeline_ms();
    let mut state = inner.lock();
    let found = state
        .files
        .get(file_token)
        .and_then(|id| state.tasks.get(id))
        .filter(|task| now_ms >= task.ready_ms);
    let Some(Task {
        export,
        outcome: Outcome::Done {
            file_name, bytes, ..
        },
        ..
    }) = found
    else {
        return api_error(StatusCode::BAD_REQUEST, 121004, "file not found");
    };
    let (export, file_name, bytes) = (export.clone(), file_name.clone(), bytes.clone());
    let rate = inner.options.faults.truncated_download_rate;
    let truncate =
        rate > 0.0 && state.fault_streak(&export) < MAX_FAULT_STREAK && state.rng.chance(rate);
    state.stats.downloads += 1;
    if truncate {
        state.stats.truncated_downloads += 1;
        *state.fault_streaks.entry(export).or_default() += 1;
    } else {
        state.fault_streaks.remove(&export);
    }
    drop(state);

    let full_length = bytes.len();
    let body = if truncate {
        // Announce the whole file, send half of it, then break the connection.
        // The pause lets the prefix reach the client before the connection breaks.
        let prefix = bytes.slice(..full_length / 2);
        let chunks = futures::stream::unfold(0u8, move |step| {
            let prefix = prefix.clone();
            async move {
                match step {
                    0 => Some((Ok(prefix), 1)),
                    1 => {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        Some((
                            Err(std::io::Error::other("simulated truncated download")),
                            2,
                        ))
                    }
                    _ => None,
                }
            }
        });
        Body::from_stream(chunks)
    } else {
        Body::from(bytes)
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, XLSX_CONTENT_TYPE)
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        )
        .header(header::CONTENT_LENGTH, full_length)
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The `url` of a finished task: the real one needs a browser session, so clients must never
/// follow it.
async fn file_url(State(inner): State<Arc<Inner>>) -> Response {
    *inner
        .lock()
        .stats
        .calls
        .entry(endpoint::FILE_URL.to_string())
        .or_default() += 1;
    api_error(
        StatusCode::FORBIDDEN,
        121005,
        "no permission: download through /open-apis/vc/v1/exports/download with a token",
    )
}

/// A validation answer: code and message.
struct ApiError(i64, String);

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(121003, msg.into())
}

fn missing(msg: impl Into<String>) -> ApiError {
    ApiError(121004, msg.into())
}

/// A parsed request body.
struct Fields(Map<String, Value>);

impl Fields {
    fn parse(body: &[u8]) -> Result<Self, ApiError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            _ => Err(bad("invalid request body: a JSON object is required")),
        }
    }

    fn present(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|v| !v.is_null())
    }

    /// Unix seconds as a string of digits.
    fn time(&self, name: &str) -> Result<i64, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Err(bad(format!("{name} is required"))),
            Some(Value::String(text))
                if !text.is_empty()
                    && text.len() <= 12
                    && text.bytes().all(|b| b.is_ascii_digit()) =>
            {
                text.parse()
                    .map_err(|_| bad(format!("{name} must be unix seconds as a string")))
            }
            Some(_) => Err(bad(format!("{name} must be unix seconds as a string"))),
        }
    }

    fn string(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if !text.is_empty() => Ok(Some(text)),
            Some(_) => Err(bad(format!("{name} must be a non-empty string"))),
        }
    }

    fn required_string(&self, name: &str) -> Result<&str, ApiError> {
        self.string(name)?
            .ok_or_else(|| bad(format!("{name} is required")))
    }

    fn int(&self, name: &str, allowed: &[i64]) -> Result<Option<i64>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => match value.as_i64() {
                Some(n) if allowed.contains(&n) => Ok(Some(n)),
                _ => Err(bad(format!("{name} must be one of {allowed:?}"))),
            },
        }
    }

    fn bool(&self, name: &str) -> Result<bool, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(bad(format!("{name} must be a boolean"))),
        }
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad(format!("{name} must be an array of strings")))
                })
                .collect(),
            Some(_) => Err(bad(format!("{name} must be an array of strings"))),
        }
    }

    /// A `[start, end]` pair: both required, start not after end.
    fn range(&self, start: &str, end: &str) -> Result<(i64, i64), ApiError> {
        let (from, to) = (self.time(start)?, self.time(end)?);
        if from > to {
            return Err(bad(format!("{start} must not be after {end}")));
        }
        Ok((from, to))
    }
}

fn status_of(code: Option<i64>) -> MeetingStatus {
    match code {
        Some(1) => MeetingStatus::Ongoing,
        Some(3) => MeetingStatus::Upcoming,
        _ => MeetingStatus::Ended,
    }
}

/// Validates a create call and computes its rows (as of `now`).
fn build_export(
    tenant: &Tenant,
    kind: ExportKind,
    query: &HashMap<String, String>,
    body: &[u8],
    now: i64,
) -> Result<Vec<Vec<String>>, ApiError> {
    let id_type = match query.get("user_id_type") {
        None => IdType::OpenId,
        Some(text) => IdType::parse(text)
            .ok_or_else(|| bad("user_id_type must be open_id, union_id or user_id"))?,
    };
    let fields = Fields::parse(body)?;
    match kind {
        ExportKind::MeetingList => {
            let (start, end) = fields.range("start_time", "end_time")?;
            if end - start > MAX_RANGE_SECONDS {
                return Err(bad("start_time to end_time must span at most 31 days"));
            }
            let status = status_of(fields.int("meeting_status", &[1, 2, 3])?);
            let filters = ["meeting_no", "user_id", "room_id", "meeting_type"];
            if filters.iter().filter(|f| fields.present(f)).count() > 1 {
                return Err(bad(
                    "only one of meeting_no, user_id, room_id, meeting_type may be set",
                ));
            }
            let meeting_no = fields.string("meeting_no")?;
            let user_id = fields.string("user_id")?;
            let room_id = fields.string("room_id")?;
            let meeting_type = fields.int("meeting_type", &[1, 2, 3])?;
            let keep = |m: &SimMeeting| {
                m.status_at(now) == status
                    && meeting_no.is_none_or(|no| m.meeting_no == no)
                    && user_id.is_none_or(|id| {
                        m.organizer.id(id_type) == id
                            || m.participants
                                .iter()
                                .any(|p| p.room_id.is_none() && p.id(id_type) == id)
                    })
                    && room_id.is_none_or(|id| {
                        m.participants
                            .iter()
                            .any(|p| p.room_id.as_deref() == Some(id))
                    })
                    && match meeting_type {
                        Some(2) => m.meeting_type == MeetingType::Video,
                        Some(3) => m.meeting_type == MeetingType::ScreenCast,
                        _ => true,
                    }
            };
            Ok(tenant
                .meetings_started_between(start, end)
                .iter()
                .filter(|m| keep(m))
                .map(|m| meeting_list_row(m, now, id_type))
                .collect())
        }
        ExportKind::ParticipantList => {
            let (start, _end) = fields.range("meeting_start_time", "meeting_end_time")?;
            let meeting_no = fields.required_string("meeting_no")?;
            fields.int("meeting_status", &[1, 2, 3])?;
            let user_id = fields.string("user_id")?;
            let room_id = fields.string("room_id")?;
            let meeting = find_meeting(tenant, meeting_no, start)?;
            if meeting.start > now {
                return Err(missing("the meeting has not started"));
            }
            Ok(participant_list_rows(&meeting, now, id_type)
                .into_iter()
                .zip(meeting.participants_joined_by(now))
                .filter(|(_, p)| {
                    user_id.is_none_or(|id| p.room_id.is_none() && p.id(id_type) == id)
                        && room_id.is_none_or(|id| p.room_id.as_deref() == Some(id))
                })
                .map(|(row, _)| row)
                .collect())
        }
        ExportKind::ParticipantQualityList => {
            let (start, _end) = fields.range("meeting_start_time", "meeting_end_time")?;
            let meeting_no = fields.required_string("meeting_no")?;
            let join_time = fields.time("join_time")?;
            let user_id = fields.string("user_id")?;
            let room_id = fields.string("room_id")?;
            let matches: Box<dyn Fn(&super::SimParticipant) -> bool> = match (user_id, room_id) {
                (Some(id), None) => Box::new(move |p| p.room_id.is_none() && p.id(id_type) == id),
                (None, Some(id)) => Box::new(move |p| p.room_id.as_deref() == Some(id)),
                _ => return Err(bad("exactly one of user_id and room_id is required")),
            };
            let meeting = find_meeting(tenant, meeting_no, start)?;
            if meeting.end > now {
                return Err(missing("the meeting has not ended"));
            }
            let index = meeting
                .find_participant(matches, Some(join_time))
                .ok_or_else(|| missing("no such participant in the meeting"))?;
            Ok(meeting
                .quality_minutes(index)
                .iter()
                .map(participant_quality_row)
                .collect())
        }
        ExportKind::ResourceReservationList => {
            let level = fields.required_string("room_level_id")?;
            let (start, end) = fields.range("start_time", "end_time")?;
            if end - start > MAX_RANGE_SECONDS {
                return Err(bad("start_time to end_time must span at most 31 days"));
            }
            let need_topic = fields.bool("need_topic")?;
            let room_ids = fields.strings("room_ids")?;
            let exclude = fields.bool("is_exclude")?;
            if tenant.rooms_in_level(level).is_none() {
                return Err(missing("room_level_id not found"));
            }
            Ok(tenant
                .bookings_between(level, start, end)
                .iter()
                .filter(|b| room_ids.is_empty() || room_ids.contains(&b.room_id) != exclude)
                .map(|b| resource_reservation_row(&b.at(now), need_topic))
                .collect())
        }
    }
}

/// The meeting with this number whose start is within a minute of `start`.
fn find_meeting(tenant: &Tenant, meeting_no: &str, start: i64) -> Result<SimMeeting, ApiError> {
    tenant
        .meeting_by_no(meeting_no)
        .filter(|m| (m.start - start).abs() < 60)
        .ok_or_else(|| missing("meeting not found"))
}
