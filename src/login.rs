//! The `login` flow: authorise in a browser, catch the redirect on a loopback listener, exchange the code, write the user token file.
//!
//! [`run`] is the whole of `feishu-vc-exporter login` but the flag and config parsing: it binds
//! the listener first (so a busy port fails before the user is sent anywhere), prints the
//! authorise URL on a line of its own (and opens a browser unless told not to), serves
//! `GET /callback` once, checks `state` in constant time, exchanges the code (with the PKCE
//! verifier), writes the token file atomically with mode 0600, answers the browser with a
//! short page, shuts the listener down and returns until when the authorisation holds. Other
//! paths answer 404; a callback after the first one answers 410. The code, the tokens and the
//! app secret are never printed, logged or put in a page or an error (the printed URL carries
//! the `state`, which the browser must carry too).

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use url::Url;

use crate::clock::Clock;
use crate::feishu::oauth::{self, OAuthError, Pkce, TokenGrant};
use crate::feishu::token_file::{TokenFile, TokenFileError};
use crate::secret::Secret;

/// `--listen`'s default; `http://127.0.0.1:9875/callback` must be among the app's redirect URLs.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9875));
/// How long to wait for the browser's redirect.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Everything `login` needs. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// Where the redirect is caught; the redirect URI is `http://{listen}/callback` (with the
    /// bound port when `listen` asks for port 0).
    pub listen: SocketAddr,
    /// `https://accounts.feishu.cn` or `https://accounts.larksuite.com`.
    pub accounts_url: Url,
    /// The API host of the token endpoint: `https://open.feishu.cn`, `https://open.larksuite.com`.
    pub base_url: Url,
    pub app_id: String,
    pub app_secret: Secret,
    /// The scopes the configured source needs; `offline_access` is always added.
    pub scopes: Vec<String>,
    pub token_file: PathBuf,
    /// Try `xdg-open` / `open` (never fatal).
    pub open_browser: bool,
    /// No callback within this: [`LoginError::Timeout`].
    pub timeout: Duration,
    /// The limit for the code exchange request.
    pub request_timeout: Duration,
    /// Dates the token file's times.
    pub clock: Clock,
}

impl LoginOptions {
    /// Options with the defaults: listen on [`DEFAULT_LISTEN`], no extra scope, open a browser,
    /// wait [`DEFAULT_TIMEOUT`], the system clock.
    pub fn new(
        accounts_url: Url,
        base_url: Url,
        app_id: impl Into<String>,
        app_secret: Secret,
        token_file: impl Into<PathBuf>,
    ) -> Self {
        Self {
            listen: DEFAULT_LISTEN,
            accounts_url,
            base_url,
            app_id: app_id.into(),
            app_secret,
            scopes: Vec::new(),
            token_file: token_file.into(),
            open_browser: true,
            timeout: DEFAULT_TIMEOUT,
            request_timeout: oauth::DEFAULT_TIMEOUT,
            clock: Clock::System,
        }
    }
}

/// A finished login. `Display` is the one line `login` prints on success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginOutcome {
    pub token_file: PathBuf,
    /// Unix seconds: the earlier of the refresh token's expiry and the 365-day end. A running
    /// `serve` or `backfill` renews the refresh token, up to the 365-day end.
    pub authorised_until: i64,
    pub access_expires_at: i64,
    pub refresh_expires_at: i64,
    /// The 365-day end of the authorisation.
    pub authorization_ends_at: i64,
    /// The granted scopes, space-separated.
    pub scope: String,
}

impl fmt::Display for LoginOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "authorised until {} (token file {}; serve and backfill renew it up to {}, then run login again)",
            format_time(self.authorised_until),
            self.token_file.display(),
            format_time(self.authorization_ends_at),
        )
    }
}

fn format_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| unix.to_string())
}

/// Why `login` failed: each a one-line reason (`login` exits 1 with it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    #[error("the authorisation was denied in the browser ({error})")]
    Denied { error: String },
    #[error("the redirect's state does not match this login (a stale browser tab or a forged request): run login again")]
    WrongState,
    #[error("the redirect carried neither a code nor an error")]
    MissingCode,
    #[error("exchanging the authorisation code failed: {0}")]
    Exchange(OAuthError),
    #[error("no redirect to {redirect_uri} within {}: open the printed URL, and check that this address is among the app's redirect URLs",
        humantime::format_duration(*.after))]
    Timeout {
        redirect_uri: String,
        after: Duration,
    },
    #[error("cannot listen on {addr}: {source} (choose another with --listen, and add http://ADDR/callback to the app's redirect URLs)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    TokenFile(TokenFileError),
    #[error("login: {0}")]
    Options(String),
    #[error("login: cannot print the URL: {0}")]
    Output(std::io::Error),
}

/// Runs the login (see the module doc); `out` gets the URL and the waiting message.
pub async fn run(options: LoginOptions, mut out: impl Write) -> Result<LoginOutcome, LoginError> {
    let invalid = |what: &str| Err(LoginError::Options(what.to_owned()));
    if options.app_id.trim().is_empty() || options.app_secret.is_empty() {
        return invalid("app_id and app_secret must not be empty");
    }
    if !matches!(options.accounts_url.scheme(), "http" | "https") {
        return invalid("accounts_url must be an http(s) URL");
    }
    if options.timeout.is_zero() || options.request_timeout.is_zero() {
        return invalid("the timeouts must be positive");
    }
    let http = reqwest::Client::builder()
        .user_agent(concat!("feishu-vc-exporter/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| LoginError::Options(format!("HTTP client: {e}")))?;
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|source| LoginError::Bind {
            addr: options.listen,
            source,
        })?;
    let bound = listener.local_addr().map_err(|source| LoginError::Bind {
        addr: options.listen,
        source,
    })?;
    let redirect_uri = format!("http://{bound}/callback");
    let state = oauth::random_state();
    let pkce = Pkce::generate();
    let scopes: Vec<&str> = options.scopes.iter().map(String::as_str).collect();
    let url = oauth::authorize_url_with_pkce(
        &options.accounts_url,
        &options.app_id,
        &redirect_uri,
        &scopes,
        &state,
        &pkce,
    );
    let print = |out: &mut dyn Write| -> std::io::Result<()> {
        writeln!(
            out,
            "Open this URL in a browser and authorise the app (its redirect URLs must include {redirect_uri}):"
        )?;
        writeln!(out, "{url}")?;
        out.flush()
    };
    print(&mut out).map_err(LoginError::Output)?;
    if options.open_browser {
        if let Err(error) = open_browser(url.as_str()) {
            let _ = writeln!(
                out,
                "Could not open a browser ({error}); open the URL above by hand."
            );
        }
    }
    let _ = writeln!(
        out,
        "Waiting up to {} for the redirect to {redirect_uri} …",
        humantime::format_duration(options.timeout)
    );
    let _ = out.flush();

    let (done, mut finished) = mpsc::channel(1);
    let flow = Arc::new(Flow {
        state,
        verifier: pkce.verifier().clone(),
        redirect_uri: redirect_uri.clone(),
        app_id: options.app_id.clone(),
        app_secret: options.app_secret.clone(),
        base_url: options.base_url.clone(),
        token_file: options.token_file.clone(),
        request_timeout: options.request_timeout,
        clock: options.clock.clone(),
        http,
        phase: Mutex::new(Phase::Waiting),
        done,
    });
    let router = Router::new()
        .route("/callback", get(callback))
        .fallback(not_found)
        .with_state(flow.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let mut server = tokio::spawn(async move {
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
        if let Err(error) = serve.await {
            tracing::warn!(%error, "login callback listener stopped");
        }
    });
    let timed_out = || LoginError::Timeout {
        redirect_uri: redirect_uri.clone(),
        after: options.timeout,
    };
    let result = match tokio::time::timeout(options.timeout, finished.recv()).await {
        Ok(Some(result)) => result,
        Ok(None) => Err(timed_out()),
        // A callback being completed right now may finish (its exchange has its own limit).
        Err(_) if flow.phase() == Phase::Working => {
            let grace = options.request_timeout + Duration::from_secs(5);
            match tokio::time::timeout(grace, finished.recv()).await {
                Ok(Some(result)) => result,
                _ => Err(timed_out()),
            }
        }
        Err(_) => Err(timed_out()),
    };
    *flow.lock_phase() = Phase::Done;
    let _ = stop.send(());
    if tokio::time::timeout(Duration::from_secs(2), &mut server)
        .await
        .is_err()
    {
        server.abort();
    }
    result
}

/// Best effort: the platform's URL opener, the URL as one argument (no shell).
fn open_browser(url: &str) -> std::io::Result<()> {
    use std::process::{Command, Stdio};
    let mut command = if cfg!(target_os = "macos") {
        Command::new("open")
    } else if cfg!(windows) {
        let mut command = Command::new("rundll32");
        command.arg("url.dll,FileProtocolHandler");
        command
    } else {
        Command::new("xdg-open")
    };
    let mut child = command
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // Reap it whenever it ends; its exit status does not matter.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Working,
    Done,
}

struct Flow {
    state: Secret,
    verifier: Secret,
    redirect_uri: String,
    app_id: String,
    app_secret: Secret,
    base_url: Url,
    token_file: PathBuf,
    request_timeout: Duration,
    clock: Clock,
    http: reqwest::Client,
    phase: Mutex<Phase>,
    done: mpsc::Sender<Result<LoginOutcome, LoginError>>,
}

impl Flow {
    fn lock_phase(&self) -> MutexGuard<'_, Phase> {
        self.phase
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn phase(&self) -> Phase {
        *self.lock_phase()
    }

    async fn complete(&self, params: &HashMap<String, String>) -> Result<LoginOutcome, LoginError> {
        let state_matches = params.get("state").is_some_and(|state| {
            bool::from(state.as_bytes().ct_eq(self.state.expose().as_bytes()))
        });
        if !state_matches {
            return Err(LoginError::WrongState);
        }
        if let Some(error) = params.get("error") {
            return Err(LoginError::Denied {
                error: sanitize(error),
            });
        }
        let Some(code) = params.get("code").filter(|code| !code.is_empty()) else {
            return Err(LoginError::MissingCode);
        };
        let now = self.clock.now();
        let grant = TokenGrant::AuthorizationCode {
            code: Secret::new(code.as_str()),
            redirect_uri: self.redirect_uri.clone(),
            code_verifier: Some(self.verifier.clone()),
        };
        let pair = oauth::exchange(
            &self.http,
            &self.base_url,
            &self.app_id,
            &self.app_secret,
            &grant,
            self.request_timeout,
            now,
        )
        .await
        .map_err(LoginError::Exchange)?;
        let file = TokenFile::from_login(&self.app_id, &pair, now);
        file.save(&self.token_file).map_err(LoginError::TokenFile)?;
        tracing::info!(path = %self.token_file.display(), scope = %file.scope, "user token file written");
        Ok(LoginOutcome {
            token_file: self.token_file.clone(),
            authorised_until: file.authorised_until(),
            access_expires_at: file.access_expires_at,
            refresh_expires_at: file.refresh_expires_at,
            authorization_ends_at: file.authorization_ends_at(),
            scope: file.scope,
        })
    }
}

/// The `error` parameter is the user's browser talking: keep a short safe word of it.
fn sanitize(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(64)
        .collect()
}

async fn callback(
    State(flow): State<Arc<Flow>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    {
        let mut phase = flow.lock_phase();
        match *phase {
            Phase::Waiting => *phase = Phase::Working,
            Phase::Working => {
                return page(
                    StatusCode::CONFLICT,
                    "Login in progress",
                    "This login is being completed in another tab.",
                )
            }
            Phase::Done => {
                return page(
                    StatusCode::GONE,
                    "Login finished",
                    "This login has already finished; you can close this tab.",
                )
            }
        }
    }
    let result = flow.complete(&params).await;
    let response = match &result {
        Ok(outcome) => page(
            StatusCode::OK,
            "feishu-vc-exporter is authorised",
            &format!(
                "Authorised until {}. You can close this tab.",
                format_time(outcome.authorised_until)
            ),
        ),
        Err(error) => page(StatusCode::BAD_REQUEST, "Login failed", &error.to_string()),
    };
    *flow.lock_phase() = Phase::Done;
    let _ = flow.done.try_send(result);
    response
}

async fn not_found() -> Response {
    page(StatusCode::NOT_FOUND, "Not found", "Nothing here.")
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<meta charset=\"utf-8\"><title>{title}</title>\n<h1>{title}</h1>\n<p>{}</p>\n",
        html_escape(text)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(all(test, unix))]
mod tests {
    use std::collections::HashSet;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::feishu::oauth::ErrorClass;
    use crate::feishu::user_token::{
        TokenState, UserTokenError, UserTokenOptions, UserTokenSource, LOGIN_HINT,
    };
    use crate::simulator::oauth::{
        OAuthFaults, OAuthSim, OAuthSimOptions, OAuthSimServer, GRANT_CODE, GRANT_REFRESH,
    };

    const APP: &str = "cli_demo";
    const SECRET: &str = "demo-secret";

    /// The terminal `login` prints to, readable while it runs.
    #[derive(Clone, Default)]
    struct Terminal(Arc<Mutex<Vec<u8>>>);

    impl Write for Terminal {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Terminal {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }

        /// The line holding the authorise URL, once printed.
        async fn url(&self) -> Url {
            for _ in 0..500 {
                let text = self.text();
                if let Some(line) = text.lines().find(|l| l.starts_with("http")) {
                    return Url::parse(line).unwrap();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("no URL printed: {}", self.text());
        }
    }

    struct Setup {
        sim: OAuthSim,
        server: OAuthSimServer,
        dir: tempfile::TempDir,
        http: reqwest::Client,
    }

    async fn setup(access_ttl: Duration) -> Setup {
        let sim = OAuthSim::new(OAuthSimOptions {
            access_ttl,
            ..Default::default()
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = sim.serve(listener).await.unwrap();
        Setup {
            sim,
            server,
            dir: tempfile::tempdir().unwrap(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    impl Setup {
        fn path(&self) -> PathBuf {
            self.dir.path().join("user-token.json")
        }

        fn options(&self) -> LoginOptions {
            let base = self.server.base_url();
            let mut options =
                LoginOptions::new(base.clone(), base, APP, Secret::new(SECRET), self.path());
            options.listen = "127.0.0.1:0".parse().unwrap();
            options.open_browser = false;
            options.scopes = vec!["vc:export".into(), "vc:room:readonly".into()];
            options.timeout = Duration::from_secs(20);
            options
        }

        fn start(
            &self,
            options: LoginOptions,
        ) -> (
            Terminal,
            tokio::task::JoinHandle<Result<LoginOutcome, LoginError>>,
        ) {
            let terminal = Terminal::default();
            let task = tokio::spawn(run(options, terminal.clone()));
            (terminal, task)
        }

        /// What the browser does: open the URL, follow the redirect by hand.
        async fn follow(&self, url: Url) -> (StatusCode, String, Url) {
            let answer = self.http.get(url).send().await.unwrap();
            assert_eq!(answer.status(), 302);
            let location = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
            let page = self.http.get(location.clone()).send().await.unwrap();
            (page.status(), page.text().await.unwrap(), location)
        }

        /// A whole successful login.
        async fn login(&self) -> (LoginOutcome, Terminal) {
            let (terminal, task) = self.start(self.options());
            let (status, page, _) = self.follow(terminal.url().await).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            (task.await.unwrap().unwrap(), terminal)
        }

        fn source(&self) -> UserTokenSource {
            UserTokenSource::new(
                self.path(),
                APP,
                Secret::new(SECRET),
                self.server.base_url(),
                reqwest::Client::new(),
                Clock::System,
                UserTokenOptions {
                    min_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_millis(400),
                    request_timeout: Duration::from_secs(2),
                    file_check_interval: Duration::from_millis(50),
                    ..Default::default()
                },
            )
        }

        /// No token, code or secret in `text`.
        fn assert_clean(&self, text: &str) {
            for secret in self
                .sim
                .issued_secrets()
                .iter()
                .map(String::as_str)
                .chain([SECRET])
            {
                assert!(!text.contains(secret), "leaked into: {text}");
            }
        }
    }

    /// `login --no-browser` driven like a user would, then the token source through real
    /// 2-second tokens: rotations with concurrent callers, a revoked refresh token, a new
    /// login while it runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn login_then_refresh_end_to_end() {
        let s = setup(Duration::from_secs(2)).await;
        let (terminal, task) = s.start(s.options());
        let url = terminal.url().await;
        let pairs: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs["client_id"], APP);
        assert_eq!(pairs["response_type"], "code");
        assert_eq!(pairs["scope"], "vc:export vc:room:readonly offline_access");
        assert_eq!(pairs["code_challenge_method"], "S256");
        let redirect_uri = Url::parse(&pairs["redirect_uri"]).unwrap();
        assert_eq!(redirect_uri.path(), "/callback");
        let (status, page, callback) = s.follow(url).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("Authorised until"), "{page}");
        let outcome = task.await.unwrap().unwrap();

        // The file: 0600, this app, the sim's tokens.
        let path = s.path();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let file = TokenFile::load(&path, APP).unwrap();
        assert_eq!(file.app_id, APP);
        assert_eq!(
            s.sim.check_user_token_now(file.access_token.expose()),
            Ok(())
        );
        assert_eq!(outcome.authorised_until, file.refresh_expires_at);
        assert_eq!(outcome.scope, "vc:export vc:room:readonly offline_access");
        let line = outcome.to_string();
        assert!(line.starts_with("authorised until 20"), "{line}");
        // The listener is gone: the callback cannot be replayed.
        assert!(s.http.get(callback).send().await.is_err());
        s.assert_clean(&format!("{}\n{page}\n{line}\n{outcome:?}", terminal.text()));

        // Serve: concurrent callers through real 2-second tokens.
        let source = s.source();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(HashSet::new()));
        let mut callers = Vec::new();
        for _ in 0..6 {
            let (source, stop, seen, sim) =
                (source.clone(), stop.clone(), seen.clone(), s.sim.clone());
            callers.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let token = source.access_token().await.unwrap();
                    assert_eq!(sim.check_user_token_now(token.expose()), Ok(()));
                    seen.lock().unwrap().insert(token.expose().to_owned());
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(4500)).await;
        stop.store(true, Ordering::SeqCst);
        for caller in callers {
            caller.await.unwrap();
        }
        let status = source.status();
        let refreshes = s.sim.stats().grant_calls(GRANT_REFRESH);
        assert!(status.refreshes.success >= 3, "{status:?}");
        assert_eq!(status.refreshes.failure, 0);
        assert_eq!(
            refreshes, status.refreshes.success,
            "one token call per rotation"
        );
        assert_eq!(seen.lock().unwrap().len() as u64, refreshes + 1);

        // The refresh token is invalidated: one token call, then nothing but "run login".
        s.sim.revoke_all_refresh_tokens();
        let expired = loop {
            match source.access_token().await {
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(error) => break error,
            }
        };
        assert!(
            matches!(&expired, UserTokenError::Expired { reason } if reason.starts_with(LOGIN_HINT))
        );
        for _ in 0..20 {
            assert!(source.access_token().await.is_err());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(s.sim.stats().grant_calls(GRANT_REFRESH), refreshes + 1);
        assert!(matches!(source.status().state, TokenState::Expired { .. }));

        // A new login while it runs: taken up without a restart.
        s.login().await;
        tokio::time::sleep(Duration::from_millis(60)).await;
        let token = source.access_token().await.unwrap();
        assert_eq!(s.sim.check_user_token_now(token.expose()), Ok(()));
        assert_eq!(source.status().state, TokenState::Ok);
        assert_eq!(s.sim.stats().token_calls(GRANT_CODE, "ok"), 2);
        s.assert_clean(&format!(
            "{expired}\n{expired:?}\n{:?}\n{source:?}",
            source.status()
        ));
        s.server.shutdown().await;
    }

    #[tokio::test]
    async fn a_denied_authorisation_fails_and_writes_nothing() {
        let s = setup(Duration::from_secs(7200)).await;
        s.sim.set_faults(OAuthFaults {
            deny: true,
            ..Default::default()
        });
        let (terminal, task) = s.start(s.options());
        let (status, page, _) = s.follow(terminal.url().await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("denied"), "{page}");
        let error = task.await.unwrap().unwrap_err();
        assert!(matches!(&error, LoginError::Denied { error } if error == "access_denied"));
        assert_eq!(
            error.to_string(),
            "the authorisation was denied in the browser (access_denied)"
        );
        assert!(!s.path().exists());
        s.server.shutdown().await;
    }

    #[tokio::test]
    async fn a_wrong_state_fails_and_other_paths_are_not_found() {
        let s = setup(Duration::from_secs(7200)).await;
        let (terminal, task) = s.start(s.options());
        let url = terminal.url().await;
        let pairs: HashMap<_, _> = url.query_pairs().into_owned().collect();
        let mut callback = Url::parse(&pairs["redirect_uri"]).unwrap();
        let base = callback.clone();
        // Other paths: 404, and the login goes on.
        let other = s
            .http
            .get(base.join("/favicon.ico").unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 404);
        callback.set_query(Some("code=abc&state=forged"));
        let answer = s.http.get(callback.clone()).send().await.unwrap();
        assert_eq!(answer.status(), 400);
        let error = task.await.unwrap().unwrap_err();
        assert!(matches!(error, LoginError::WrongState), "{error}");
        assert!(!s.path().exists());
        s.server.shutdown().await;
    }

    #[tokio::test]
    async fn callbacks_after_the_first_are_refused_without_an_exchange() {
        let s = setup(Duration::from_secs(7200)).await;
        let (done, mut finished) = mpsc::channel(1);
        let flow = Arc::new(Flow {
            state: Secret::new("expected-state"),
            verifier: Secret::new("v"),
            redirect_uri: "http://127.0.0.1:9/callback".into(),
            app_id: APP.into(),
            app_secret: Secret::new(SECRET),
            base_url: s.server.base_url(),
            token_file: s.path(),
            request_timeout: Duration::from_secs(5),
            clock: Clock::System,
            http: reqwest::Client::new(),
            phase: Mutex::new(Phase::Working),
            done,
        });
        let params: HashMap<String, String> = [
            ("state".to_owned(), "expected-state".to_owned()),
            ("code".to_owned(), "c".to_owned()),
        ]
        .into();
        let answer = callback(State(flow.clone()), Query(params.clone())).await;
        assert_eq!(answer.status(), StatusCode::CONFLICT);
        *flow.lock_phase() = Phase::Done;
        let answer = callback(State(flow.clone()), Query(params.clone())).await;
        assert_eq!(answer.status(), StatusCode::GONE);
        assert!(finished.try_recv().is_err());
        assert_eq!(s.sim.stats().total_token_calls(), 0);
        // Waiting: the first callback is handled (here the code is unknown: 20003).
        *flow.lock_phase() = Phase::Waiting;
        let answer = callback(State(flow.clone()), Query(params)).await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        let error = finished.try_recv().unwrap().unwrap_err();
        assert!(
            matches!(&error, LoginError::Exchange(e) if e.code() == Some(20003)),
            "{error}"
        );
        assert_eq!(flow.phase(), Phase::Done);
        s.server.shutdown().await;
    }

    #[tokio::test]
    async fn a_bad_app_secret_is_a_classified_exchange_error() {
        let s = setup(Duration::from_secs(7200)).await;
        let mut options = s.options();
        options.app_secret = Secret::new("wrong-secret-value");
        let (terminal, task) = s.start(options);
        let (status, page, _) = s.follow(terminal.url().await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let error = task.await.unwrap().unwrap_err();
        let LoginError::Exchange(oauth) = &error else {
            panic!("{error}")
        };
        assert_eq!(
            (oauth.code(), oauth.class()),
            (Some(20002), ErrorClass::Config)
        );
        let text = error.to_string();
        assert!(
            text.contains("20002") && text.contains("client_secret"),
            "{text}"
        );
        assert!(!text.contains("wrong-secret-value") && !page.contains("wrong-secret-value"));
        s.assert_clean(&format!("{text}\n{page}\n{}", terminal.text()));
        assert!(!s.path().exists());
        s.server.shutdown().await;
    }

    #[tokio::test]
    async fn no_callback_times_out_and_a_busy_port_fails_to_bind() {
        let s = setup(Duration::from_secs(7200)).await;
        let mut options = s.options();
        options.timeout = Duration::from_millis(200);
        let (terminal, task) = s.start(options);
        terminal.url().await;
        let error = task.await.unwrap().unwrap_err();
        assert!(matches!(error, LoginError::Timeout { .. }), "{error}");
        assert!(
            error
                .to_string()
                .starts_with("no redirect to http://127.0.0.1:"),
            "{error}"
        );

        let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut options = s.options();
        options.listen = busy.local_addr().unwrap();
        let error = run(options, Terminal::default()).await.unwrap_err();
        assert!(matches!(error, LoginError::Bind { .. }), "{error}");
        assert!(error.to_string().contains("--listen"), "{error}");
        s.server.shutdown().await;
    }
}
