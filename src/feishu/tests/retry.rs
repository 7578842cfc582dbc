//! Retries, throttles, timeouts and the rate limiters.

use super::*;

#[tokio::test]
async fn a_throttled_call_waits_for_the_reset_header_and_is_retried() {
    let (fake, client, recorder) = start().await;
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
    let (fake, client, recorder) = start_with(|options| options.retry.max_retries = 2).await;
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
    let (fake, client, recorder) = start().await;
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
    let (fake, client, _) = start_with(|options| options.retry.max_retries = 2).await;
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
    let (fake, client, recorder) = start().await;
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
    options.retry.max_retries = 2;
    options.requests_per_minute = 60_000;
    let (client, recorder) = client_with(options);
    let error = client.get_task("task-1").await.unwrap_err();
    assert_eq!(error.reason(), "transport", "{error}");
    assert_eq!(recorder.codes(Endpoint::GetTask), ["transport"; 3]);
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried() {
    let (fake, client, recorder) = start_with(|options| {
        options.request_timeout = Duration::from_millis(200);
        options.retry.max_retries = 1;
    })
    .await;
    fake.push(TASK, Reply::Hang);
    fake.push(TASK, Reply::Hang);
    let error = client.get_task("task-1").await.unwrap_err();
    assert!(matches!(error, FeishuError::Timeout { .. }), "{error:?}");
    assert_eq!(error.reason(), "timeout");
    assert!(!error.is_task_timeout());
    assert_eq!(recorder.codes(Endpoint::GetTask), ["timeout", "timeout"]);
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
    // One request every ~101 ms.
    let (fake, client, _) = start_with(|options| options.requests_per_minute = 600).await;
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

#[test]
fn the_policy_decides_in_order_refresh_limit_throttle_backoff() {
    use crate::feishu::retry::Decision;
    let policy = RetryPolicy {
        max_retries: 2,
        ..fast(0)
    };
    let endpoint = Endpoint::GetTask;
    let throttled = FeishuError::RateLimited {
        endpoint,
        retry_after: Duration::from_millis(7),
    };
    let transient = FeishuError::Http {
        endpoint,
        status: 503,
    };
    let permanent = FeishuError::Http {
        endpoint,
        status: 404,
    };
    let mut attempts = policy.start();
    let decide = |a: &mut _, e, refresh| policy.decide(a, e, refresh);
    assert_eq!(
        decide(&mut attempts, &transient, true),
        Decision::RefreshToken
    );
    assert_eq!(attempts.retries(), 0, "a refresh is not a retry");
    let Decision::Wait(_) = decide(&mut attempts, &transient, true) else {
        panic!("refreshed once only, then the transient error waits")
    };
    assert_eq!(
        decide(&mut attempts, &throttled, false),
        Decision::Wait(Duration::from_millis(7))
    );
    assert_eq!(attempts.retries(), 2);
    assert_eq!(decide(&mut attempts, &throttled, false), Decision::GiveUp);
    assert_eq!(
        decide(&mut policy.start(), &permanent, false),
        Decision::GiveUp
    );
}

#[test]
fn the_throttle_wait_reads_the_header_within_bounds() {
    let policy = RetryPolicy::default();
    let secs = Duration::from_secs;
    assert_eq!(policy.throttle_wait(Some(7.0)), secs(7));
    assert_eq!(policy.throttle_wait(Some(0.0)), secs(1));
    assert_eq!(policy.throttle_wait(Some(1e9)), secs(60));
    assert_eq!(policy.throttle_wait(Some(f64::NAN)), secs(5));
    assert_eq!(policy.throttle_wait(Some(-3.0)), secs(5));
    assert_eq!(policy.throttle_wait(None), secs(5));
}
