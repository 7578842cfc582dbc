//! The status page in a real browser: `serve` with a populated status board on 127.0.0.1:0,
//! headless Chromium takes a screenshot and dumps the rendered DOM.
//!
//! Chromium is required (Debian: `apt-get install -y chromium`; set `CHROMIUM` to use another
//! binary). Without it this test fails, it does not skip. The screenshot is kept in
//! `target/tmp/status_page/page.png` for a look.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::support::process::Process;
use crate::support::synthetic;

fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let paths = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Some(found) = std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
        {
            return found;
        }
    }
    panic!(
        "chromium not found on PATH (nor CHROMIUM set): this test needs a headless browser; \
         install it with `apt-get update && apt-get install -y chromium`"
    );
}

/// Runs Chromium headless on `url` with `args`; returns stdout. Chromium starts processes of
/// its own: it runs as a process group, all killed when it is done or the test fails.
async fn run_chromium(profile: &Path, args: &[String], url: &str) -> String {
    let mut command = std::process::Command::new(chromium());
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            // Screenshot only once the page has loaded and painted completely.
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Waiting blocks: off the runtime's threads, which serve the page meanwhile.
    let output = tokio::task::spawn_blocking(move || {
        Process::spawn_group(&mut command)
            .expect("chromium runs")
            .output_within(Duration::from_secs(90))
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    assert!(
        output.status.success(),
        "chromium failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.len() > 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG"
    );
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (width, height)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_renders_in_chromium() {
    let chromium = chromium();
    assert!(chromium.exists(), "{}", chromium.display());
    let server = synthetic::start(None, synthetic::board(), false).await;
    let url = server.url("http", "/");

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("status_page");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let screenshot = dir.join("page.png");

    run_chromium(
        &dir.join("profile"),
        &[
            format!("--screenshot={}", screenshot.display()),
            "--window-size=1200,900".to_owned(),
        ],
        &url,
    )
    .await;
    let png = std::fs::read(&screenshot)
        .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", screenshot.display()));
    assert_eq!(png_size(&png), (1200, 900));
    // A blank page compresses to a few kB; text, tables and colours do not.
    assert!(
        png.len() > 30_000,
        "a trivial screenshot: {} bytes",
        png.len()
    );

    let dom = run_chromium(&dir.join("profile"), &["--dump-dom".to_owned()], &url).await;
    for kind in [
        "meeting_list",
        "participant_list",
        "participant_quality_list",
        "resource_reservation_list",
    ] {
        assert!(
            dom.contains(&format!("<tr data-kind=\"{kind}\">")),
            "the row of {kind} in the rendered DOM:\n{dom}"
        );
    }
    for shown in [
        "Meetings",
        "Call quality",
        "Room bookings",
        "1,234,567",
        "failing",
        "9,000",
        "held back: quality exports",
        "rate limited",
    ] {
        assert!(dom.contains(shown), "{shown} in the rendered DOM:\n{dom}");
    }
    // The error's markup stayed text: the browser built no element from it.
    assert!(
        dom.contains("no permission &lt;check the app's admin permission&gt; &amp; scope"),
        "{dom}"
    );
    assert!(!dom.contains("<check"), "{dom}");
    assert!(!dom.contains("<script"), "{dom}");
    server.stop().await;
}
