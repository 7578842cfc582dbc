//! The user token source against the OAuth simulator: refresh, single flight, back-off, crashes, secrecy.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::TcpListener;

use super::*;
use crate::clock::ManualClock;
use crate::simulator::oauth::{
    Fault, OAuthFaults, OAuthSim, OAuthSimOptions, OAuthSimServer, GRANT_REFRESH,
};

const APP: &str = "cli_demo";
const SECRET: &str = "demo-secret";

struct Setup {
    sim: OAuthSim,
    server: OAuthSimServer,
    clock: ManualClock,
    _dir: tempfile::TempDir,
    path: PathBuf,
}

async fn setup(access_ttl: u64, logged_in: bool) -> Setup {
    let clock = ManualClock::new(1_800_000_000);
    let sim = OAuthSim::new(OAuthSimOptions {
        access_ttl: Duration::from_secs(access_ttl),
        hang_for: Duration::from_secs(2),
        clock: Clock::Manual(clock.clone()),
        ..Default::default()
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = sim.serve(listener).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("user-token.json");
    let setup = Setup {
        sim,
        server,
        clock,
        _dir: dir,
        path,
    };
    if logged_in {
        setup.login().await;
    }
    setup
}

impl Setup {
    /// What `login` does, without the browser: approve, exchange, write the file.
    async fn login(&self) -> TokenFile {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = self.server.base_url();
        let redirect_uri = "http://127.0.0.1:9/callback";
        let url =
            oauth::authorize_url(&base, APP, redirect_uri, &["vc:export"], &Secret::new("st"));
        let answer = http.get(url).send().await.unwrap();
        let location = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
        let code = location
            .query_pairs()
            .find(|(key, _)| key == "code")
            .unwrap()
            .1
            .into_owned();
        let grant = TokenGrant::AuthorizationCode {
            code: Secret::new(code),
            redirect_uri: redirect_uri.into(),
            code_verifier: None,
        };
        let now = self.clock.now();
        let pair = oauth::exchange(
            &http,
            &base,
            APP,
            &Secret::new(SECRET),
            &grant,
            Duration::from_secs(5),
            now,
        )
        .await
        .unwrap();
        let file = TokenFile::from_login(APP, &pair, now);
        file.save(&self.path).unwrap();
        file
    }

    fn source(&self) -> UserTokenSource {
        UserTokenSource::new(
            &self.path,
            APP,
            Secret::new(SECRET),
            self.server.base_url(),
            reqwest::Client::new(),
            Clock::Manual(self.clock.clone()),
            fast(),
        )
    }

    fn refresh_calls(&self) -> u64 {
        self.sim.stats().grant_calls(GRANT_REFRESH)
    }

    fn assert_valid(&self, token: &Secret) {
        assert_eq!(self.sim.check_user_token_now(token.expose()), Ok(()));
    }

    fn faults(&self, faults: OAuthFaults) {
        self.sim.set_faults(faults);
    }
}

fn fast() -> UserTokenOptions {
    UserTokenOptions {
        refresh_ahead: Duration::from_secs(300),
        min_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
        request_timeout: Duration::from_millis(500),
        file_check_interval: Duration::from_millis(50),
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[test]
fn refresh_is_due_a_quarter_of_the_lifetime_or_refresh_ahead_before_expiry() {
    let file = |issued_at, access_expires_at| TokenFile {
        version: 1,
        app_id: APP.into(),
        access_token: Secret::new("a"),
        access_expires_at,
        refresh_token: Secret::new("r"),
        refresh_expires_at: 0,
        authorized_at: 0,
        issued_at,
        scope: String::new(),
    };
    let five_minutes = Duration::from_secs(300);
    assert_eq!(refresh_due(&file(0, 7200), five_minutes), 6900);
    assert_eq!(refresh_due(&file(0, 600), five_minutes), 450);
    assert_eq!(refresh_due(&file(0, 2), five_minutes), 1);
    assert_eq!(refresh_due(&file(0, 0), five_minutes), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_rotations_with_concurrent_callers_refresh_once_each() {
    let s = setup(2, true).await;
    let source = s.source();
    let first = source.access_token().await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(StdMutex::new(HashSet::from([first.expose().to_owned()])));
    let mut callers = Vec::new();
    for _ in 0..8 {
        let (source, stop, seen) = (source.clone(), stop.clone(), seen.clone());
        let (sim, clock) = (s.sim.clone(), s.clock.clone());
        callers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let got_at = clock.now();
                let token = source.access_token().await.unwrap();
                if let Err(problem) = sim.check_user_token_now(token.expose()) {
                    // A token is handed out while valid, possibly in its last second
                    // (while its successor is being fetched): only a clock step between
                    // the two lines can expire it.
                    assert!(clock.now() > got_at, "{problem:?}");
                }
                seen.lock().unwrap().insert(token.expose().to_owned());
                tokio::task::yield_now().await;
            }
        }));
    }
    const ROTATIONS: u64 = 40;
    for rotation in 1..=ROTATIONS {
        // Each second makes the 2-second token due (a quarter of its life ahead, rounded up).
        s.clock.advance(Duration::from_secs(1));
        wait_until("a rotation", || {
            source.status().refreshes.success == rotation
        })
        .await;
    }
    stop.store(true, Ordering::SeqCst);
    for caller in callers {
        caller.await.unwrap();
    }
    let status = source.status();
    let stats = s.sim.stats();
    assert_eq!(
        status.refreshes,
        RefreshCounts {
            success: ROTATIONS,
            failure: 0
        }
    );
    assert_eq!(stats.grant_calls(GRANT_REFRESH), ROTATIONS, "{stats:?}");
    assert_eq!(stats.token_calls(GRANT_REFRESH, "ok"), ROTATIONS);
    assert_eq!(seen.lock().unwrap().len() as u64, ROTATIONS + 1);
    assert_eq!(status.state, TokenState::Ok);
    // The file holds the pair in use.
    let on_disk = TokenFile::load(&s.path, APP).unwrap();
    assert_eq!(on_disk.access_token, source.access_token().await.unwrap());
    assert_eq!(status.access_expires_at, Some(on_disk.access_expires_at));
    assert_eq!(
        status.authorization_ends_at,
        Some(on_disk.authorized_at + 365 * 86_400)
    );
    s.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_refresh_token_stops_token_calls_until_a_new_login() {
    let s = setup(2, true).await;
    let source = s.source();
    source.access_token().await.unwrap();
    assert_eq!(s.sim.revoke_all_refresh_tokens(), 1);
    s.clock.advance(Duration::from_secs(1));
    // (Callers arriving during this refresh would get the still-valid old token.)
    let error = source.access_token().await.unwrap_err();
    assert!(error.to_string().contains(LOGIN_HINT), "{error}");
    let mut callers = Vec::new();
    for _ in 0..4 {
        let source = source.clone();
        callers.push(tokio::spawn(async move {
            for _ in 0..25 {
                match source.access_token().await {
                    Err(UserTokenError::Expired { reason }) => {
                        assert!(reason.starts_with(LOGIN_HINT), "{reason}");
                        assert!(reason.contains("20064"), "{reason}");
                    }
                    other => panic!("{other:?}"),
                }
                tokio::time::sleep(Duration::from_millis(8)).await;
            }
        }));
    }
    for caller in callers {
        caller.await.unwrap();
    }
    // ~200 ms: four looks at the file, one token call.
    assert_eq!(s.refresh_calls(), 1);
    let status = source.status();
    assert!(matches!(&status.state, TokenState::Expired { reason } if reason.contains(LOGIN_HINT)));
    assert_eq!(
        status.refreshes,
        RefreshCounts {
            success: 0,
            failure: 1
        }
    );
    // A new login while running: picked up within the file check interval.
    s.login().await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    let token = source.access_token().await.unwrap();
    s.assert_valid(&token);
    assert_eq!(source.status().state, TokenState::Ok);
    // And it refreshes again as usual.
    s.clock.advance(Duration::from_secs(1));
    let next = source.access_token().await.unwrap();
    assert_ne!(next, token);
    assert_eq!(s.sim.stats().token_calls(GRANT_REFRESH, "ok"), 1);
    s.server.shutdown().await;
}

/// Each fault once, then a success: the old pair stays (on disk and in use while valid),
/// the calls in the back-off window cost nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_failures_keep_the_old_pair_and_back_off() {
    let faults = [
        (
            "server_error",
            OAuthFaults {
                server_error: Fault::Next(1),
                ..Default::default()
            },
        ),
        (
            "unavailable",
            OAuthFaults {
                unavailable: Fault::Next(1),
                ..Default::default()
            },
        ),
        (
            "hang",
            OAuthFaults {
                hang: Fault::Next(1),
                ..Default::default()
            },
        ),
        (
            "no refresh token",
            OAuthFaults {
                drop_refresh_token: Fault::Next(1),
                ..Default::default()
            },
        ),
    ];
    for (name, fault) in faults {
        let s = setup(4, true).await;
        let source = s.source();
        let old = source.access_token().await.unwrap();
        let old_file = std::fs::read(&s.path).unwrap();
        s.faults(fault);
        s.clock.advance(Duration::from_secs(3)); // due, valid one more second
        let first = {
            let source = source.clone();
            tokio::spawn(async move { source.access_token().await })
        };
        if name == "hang" {
            // While the refresh hangs, callers get the still-valid token at once.
            wait_until("the refresh", || {
                source.status().state == TokenState::Refreshing
            })
            .await;
            let started = std::time::Instant::now();
            assert_eq!(source.access_token().await.unwrap(), old);
            assert!(started.elapsed() < Duration::from_millis(200), "{name}");
        }
        assert_eq!(first.await.unwrap().unwrap(), old, "{name}");
        let status = source.status();
        assert!(
            matches!(&status.state, TokenState::Retrying { last_error, .. } if !last_error.contains("eyJ")),
            "{name}: {status:?}"
        );
        assert_eq!(status.refreshes.failure, 1, "{name}");
        assert_eq!(std::fs::read(&s.path).unwrap(), old_file, "{name}");
        let calls = s.refresh_calls();
        for _ in 0..10 {
            assert_eq!(source.access_token().await.unwrap(), old, "{name}");
        }
        assert_eq!(
            s.refresh_calls(),
            calls,
            "{name}: calls in the back-off window"
        );
        tokio::time::sleep(Duration::from_millis(120)).await;
        let new = source.access_token().await.unwrap();
        assert_ne!(new, old, "{name}");
        s.assert_valid(&new);
        assert_eq!(source.status().state, TokenState::Ok, "{name}");
        assert_eq!(TokenFile::load(&s.path, APP).unwrap().access_token, new);
        s.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_in_the_back_off_window_is_an_error_and_back_off_grows() {
    let s = setup(4, true).await;
    let source = s.source();
    let old = source.access_token().await.unwrap();
    s.faults(OAuthFaults {
        server_error: Fault::Next(2),
        ..Default::default()
    });
    s.clock.advance(Duration::from_secs(3));
    assert_eq!(source.access_token().await.unwrap(), old);
    s.clock.advance(Duration::from_secs(1)); // now expired, still backing off
    let error = source.access_token().await.unwrap_err();
    assert!(
        matches!(error, UserTokenError::Retrying { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("20050"), "{error}");
    assert_eq!(s.refresh_calls(), 1);
    tokio::time::sleep(Duration::from_millis(120)).await;
    // The second failure: no valid token, an error, and a doubled back-off (200 ms).
    assert!(source.access_token().await.is_err());
    assert_eq!(s.refresh_calls(), 2);
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(source.access_token().await.is_err());
    assert_eq!(s.refresh_calls(), 2);
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.assert_valid(&source.access_token().await.unwrap());
    assert_eq!(
        source.status().refreshes,
        RefreshCounts {
            success: 1,
            failure: 2
        }
    );
    s.server.shutdown().await;
}

/// A refresh "killed" at each point, then a restart from the file (see the module doc).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_a_refresh_a_restart_has_a_pair_or_says_run_login() {
    for point in [
        RefreshPoint::BeforePost,
        RefreshPoint::AfterPost,
        RefreshPoint::AfterSave,
    ] {
        let s = setup(4, true).await;
        let before = s.source();
        before.access_token().await.unwrap();
        before.set_hook(Arc::new(move |at| at != point));
        s.clock.advance(Duration::from_secs(3));
        assert!(before.access_token().await.is_err(), "{point:?}");
        drop(before);
        let restarted = s.source();
        let result = restarted.access_token().await;
        match point {
            RefreshPoint::BeforePost => {
                s.assert_valid(&result.unwrap());
                assert_eq!(s.refresh_calls(), 1);
            }
            RefreshPoint::AfterPost => {
                // The one window: Feishu rotated, the disk still has the spent token.
                let Err(UserTokenError::Expired { reason }) = result else {
                    panic!("{result:?}")
                };
                assert!(
                    reason.starts_with(LOGIN_HINT) && reason.contains("20073"),
                    "{reason}"
                );
                assert_eq!(s.refresh_calls(), 2);
                assert!(restarted.access_token().await.is_err());
                assert_eq!(s.refresh_calls(), 2);
            }
            RefreshPoint::AfterSave => {
                // The new pair is on disk and not due: no token call at all.
                s.assert_valid(&result.unwrap());
                assert_eq!(s.refresh_calls(), 1);
            }
        }
        s.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidate_forces_one_refresh_for_all_callers() {
    let s = setup(3600, true).await;
    let source = s.source();
    let old = source.access_token().await.unwrap();
    let mut callers = Vec::new();
    for _ in 0..6 {
        let (source, old) = (source.clone(), old.clone());
        callers.push(tokio::spawn(async move {
            source.invalidate(&old).await;
            source.access_token().await.unwrap()
        }));
    }
    let mut tokens = HashSet::new();
    for caller in callers {
        tokens.insert(caller.await.unwrap().expose().to_owned());
    }
    assert_eq!(tokens.len(), 1);
    assert!(!tokens.contains(old.expose()));
    assert_eq!(s.refresh_calls(), 1);
    // A stale report is ignored.
    source.invalidate(&old).await;
    source.access_token().await.unwrap();
    assert_eq!(s.refresh_calls(), 1);
    s.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_open_file_waits_for_a_usable_one() {
    let s = setup(3600, false).await;
    let source = s.source();
    let error = source.access_token().await.unwrap_err();
    assert!(error.to_string().contains("does not exist"), "{error}");
    assert!(matches!(source.status().state, TokenState::Expired { .. }));
    s.login().await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    s.assert_valid(&source.access_token().await.unwrap());

    std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = s.source();
    let error = open.access_token().await.unwrap_err();
    assert!(error.to_string().contains("chmod 600"), "{error}");
    std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(0o600)).unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    s.assert_valid(&open.access_token().await.unwrap());
    assert_eq!(s.refresh_calls(), 0);
    s.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_file_adopt_each_others_refresh() {
    let s = setup(4, true).await;
    let (serve, backfill) = (s.source(), s.source());
    assert_eq!(
        serve.access_token().await.unwrap(),
        backfill.access_token().await.unwrap()
    );
    s.clock.advance(Duration::from_secs(3));
    let refreshed = serve.access_token().await.unwrap();
    assert_eq!(backfill.access_token().await.unwrap(), refreshed);
    assert_eq!(s.refresh_calls(), 1);
    s.clock.advance(Duration::from_secs(3));
    let again = backfill.access_token().await.unwrap();
    assert_eq!(serve.access_token().await.unwrap(), again);
    assert_eq!(s.sim.stats().token_calls(GRANT_REFRESH, "ok"), 2);
    assert_eq!(s.refresh_calls(), 2);
    s.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refreshed_pair_the_disk_refuses_is_kept_and_written_before_use() {
    let s = setup(4, true).await;
    let source = s.source();
    let old = source.access_token().await.unwrap();
    // A non-empty directory where the file was: the rename fails, even for root.
    std::fs::remove_file(&s.path).unwrap();
    std::fs::create_dir(&s.path).unwrap();
    std::fs::write(s.path.join("x"), "x").unwrap();
    s.clock.advance(Duration::from_secs(3));
    let error = source.access_token().await.unwrap_err();
    assert!(
        error.to_string().contains("cannot write user token file"),
        "{error}"
    );
    assert!(matches!(source.status().state, TokenState::Retrying { .. }));
    // In the back-off window: neither token is handed out, nothing is called.
    assert!(source.access_token().await.is_err());
    std::fs::remove_dir_all(&s.path).unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    let new = source.access_token().await.unwrap();
    assert_ne!(new, old);
    s.assert_valid(&new);
    assert_eq!(TokenFile::load(&s.path, APP).unwrap().access_token, new);
    assert_eq!(
        s.refresh_calls(),
        1,
        "the pending pair is written, not refreshed again"
    );
    assert_eq!(
        source.status().refreshes,
        RefreshCounts {
            success: 1,
            failure: 1
        }
    );
    s.server.shutdown().await;
}

#[derive(Clone, Default)]
struct Capture(Arc<StdMutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// Every log line (all levels), error, status and `Debug` of a run through rotations,
/// faults and an expiry: no token, code or secret in any of them.
#[tokio::test]
async fn no_token_in_any_output() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let s = setup(2, true).await;
    let source = s.source();
    let mut outputs = vec![format!("{source:?}")];
    let mut record = |result: Result<Secret, UserTokenError>, source: &UserTokenSource| {
        outputs.push(format!("{result:?}"));
        if let Err(error) = &result {
            outputs.push(error.to_string());
        }
        outputs.push(format!("{:?}", source.status()));
    };
    record(source.access_token().await, &source);
    for fault in [
        OAuthFaults {
            server_error: Fault::Next(1),
            ..Default::default()
        },
        OAuthFaults {
            drop_refresh_token: Fault::Next(1),
            ..Default::default()
        },
        OAuthFaults::default(),
    ] {
        s.faults(fault);
        s.clock.advance(Duration::from_secs(2));
        record(source.access_token().await, &source);
        tokio::time::sleep(Duration::from_millis(120)).await;
        record(source.access_token().await, &source);
    }
    s.sim.revoke_all_refresh_tokens();
    s.clock.advance(Duration::from_secs(2));
    record(source.access_token().await, &source);
    assert!(matches!(source.status().state, TokenState::Expired { .. }));
    drop(_guard);
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains(LOGIN_HINT), "{logs}");
    let everything = format!("{logs}\n{}", outputs.join("\n"));
    let secrets = s.sim.issued_secrets();
    assert!(secrets.len() > 8);
    for secret in secrets.iter().map(String::as_str).chain([SECRET]) {
        assert!(!everything.contains(secret), "leaked: {everything}");
    }
    s.server.shutdown().await;
}
