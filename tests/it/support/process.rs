//! Child processes and ports for the end-to-end tests.
//!
//! Every process a test starts (the exporter, prometheus, promtool, amtool, chromium) goes
//! through [`Process`]: dropping it kills and reaps the child, and with
//! [`Process::spawn_group`] everything the child started too, so a test that panics half way
//! leaves nothing running. Its piped stdout and stderr are read as they come, so a chatty
//! child never blocks on a full pipe.

use std::os::unix::process::CommandExt as _;
use std::process::{Child, ChildStdin, Command, ExitStatus, Output};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a short-lived tool ([`run`]) may take before the test fails.
pub const TOOL_LIMIT: Duration = Duration::from_secs(180);

/// A child process killed and reaped when the test ends, however it ends.
pub struct Process {
    child: Child,
    /// What was started, for messages.
    what: String,
    /// The child leads its own process group, which is killed as a whole.
    group: bool,
    stdout: Option<Capture>,
    stderr: Option<Capture>,
}

/// A pipe read to the end by a thread.
struct Capture {
    bytes: Arc<Mutex<Vec<u8>>>,
    reader: JoinHandle<()>,
}

impl Capture {
    fn start(mut pipe: impl std::io::Read + Send + 'static) -> Self {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let sink = bytes.clone();
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Self { bytes, reader }
    }

    fn so_far(&self) -> Vec<u8> {
        self.bytes.lock().unwrap().clone()
    }

    fn finish(self) -> Vec<u8> {
        let _ = self.reader.join();
        Arc::try_unwrap(self.bytes)
            .map(|m| m.into_inner().unwrap())
            .unwrap_or_else(|shared| shared.lock().unwrap().clone())
    }
}

impl Process {
    /// Starts `command` in the test's process group (a Ctrl-C at the terminal reaches it).
    pub fn spawn(command: &mut Command) -> std::io::Result<Self> {
        Self::start(command, false)
    }

    /// Starts `command` as the leader of a new process group, for programs that start
    /// processes of their own (chromium): they are all killed with it.
    pub fn spawn_group(command: &mut Command) -> std::io::Result<Self> {
        command.process_group(0);
        Self::start(command, true)
    }

    fn start(command: &mut Command, group: bool) -> std::io::Result<Self> {
        let what = format!("{command:?}");
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().map(Capture::start);
        let stderr = child.stderr.take().map(Capture::start);
        Ok(Self {
            child,
            what,
            group,
            stdout,
            stderr,
        })
    }

    /// The child's stdin, if it was piped (once).
    pub fn stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// Sends `signal` (`libc::SIGTERM`, …) to the child.
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) with the pid of our own child, which is not reaped yet.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(
            sent,
            0,
            "kill({signal}) {}: {}",
            self.what,
            std::io::Error::last_os_error()
        );
    }

    /// The exit status, if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Waits for the child to exit; fails the test (which kills it) after `limit`.
    pub fn wait_within(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.try_wait() {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "{} did not exit within {limit:?}",
                self.what
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What it wrote to its piped stderr so far.
    pub fn stderr_so_far(&self) -> String {
        let bytes = self
            .stderr
            .as_ref()
            .map(Capture::so_far)
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Waits for the child to exit (see [`Process::wait_within`]) and returns its status and
    /// everything it wrote to its piped stdout and stderr.
    pub fn output_within(mut self, limit: Duration) -> Output {
        let status = self.wait_within(limit);
        // Whatever it started and left behind must not hold the pipes open.
        self.kill_group();
        let stdout = self.stdout.take().map(Capture::finish).unwrap_or_default();
        let stderr = self.stderr.take().map(Capture::finish).unwrap_or_default();
        Output {
            status,
            stdout,
            stderr,
        }
    }

    fn kill_group(&self) {
        if self.group {
            // SAFETY: killpg(2) on the group the child leads; the group outlives the leader
            // while a member is alive, and its id is not handed out again before it is empty.
            unsafe {
                libc::killpg(self.child.id() as libc::pid_t, libc::SIGKILL);
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill_group();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a short-lived `command` to its end through a [`Process`], as [`Command::output`]
/// does: no stdin, stdout and stderr captured; the test fails after [`TOOL_LIMIT`].
pub fn run(command: &mut Command) -> std::io::Result<Output> {
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    Ok(Process::spawn(command)?.output_within(TOOL_LIMIT))
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `probe` until it answers, failing the test after `limit`.
pub fn wait_until<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(
            started.elapsed() < limit,
            "{what}: not ready after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
