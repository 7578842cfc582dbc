//! promtool (`check metrics`, `tsdb create-blocks-from openmetrics`), shared by the end-to-end
//! tests. A missing promtool fails the test with the way to get it; it is never skipped.


use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// Asserts that promtool accepts `exposition` and has nothing to say about it.
pub fn check_metrics(exposition: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is not installed: run the README's test command (bash .ci/run), which installs the Debian package prometheus");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && findings.trim().is_empty(),
        "promtool check metrics: {findings}"
    );
}

/// Turns an OpenMetrics file into TSDB blocks under `output`, as the README's backfill
/// workflow does.
pub fn create_blocks(input: &Path, output: &Path) {
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(input)
        .arg(output)
        .output()
        .expect("promtool is not installed: run the README's test command (bash .ci/run), which installs the Debian package prometheus");
    assert!(
        out.status.success(),
        "promtool tsdb create-blocks-from openmetrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
