//! promtool (`check metrics`, `tsdb create-blocks-from openmetrics`), shared by the end-to-end
//! tests. A missing promtool fails the test with the way to get it; it is never skipped.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use super::process::{run, Process, TOOL_LIMIT};

const MISSING: &str = "promtool is not installed: run the README's test command (bash .ci/run), which installs the Debian package prometheus";

/// Asserts that promtool accepts `exposition` and has nothing to say about it.
pub fn check_metrics(exposition: &str) {
    let mut promtool = Process::spawn(
        Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .expect(MISSING);
    // Dropped at the end of the statement: promtool sees the end of its input.
    promtool
        .stdin()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let out = promtool.output_within(TOOL_LIMIT);
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
    let out = run(Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(input)
        .arg(output))
    .expect(MISSING);
    assert!(
        out.status.success(),
        "promtool tsdb create-blocks-from openmetrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
