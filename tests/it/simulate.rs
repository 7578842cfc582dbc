//! `feishu-vc-exporter simulate` as a user runs it, its tenant pinned by `FEISHU_VC_DEMO_NOW`.

use std::process::{Command, Stdio};
use std::time::Duration;

use feishu_vc_exporter::cli::DEFAULT_SIMULATOR_SEED;
use feishu_vc_exporter::sheet::{self, ParseOptions, Record};
use feishu_vc_exporter::simulator::Tenant;
use feishu_vc_exporter::simulator::{DEMO_APP_ID, DEMO_APP_SECRET};
use serde_json::{json, Value};

use crate::support::clock::{demo_env, test_now};
use crate::support::process::{free_port, wait_until, Process};

const BIN: &str = env!("CARGO_BIN_EXE_feishu-vc-exporter");

/// Meetings scheduled in the hours after the pinned instant are upcoming for the simulator,
/// whatever the real time: exactly the tenant's, then it stops on SIGTERM.
#[test]
fn simulate_serves_the_tenant_as_of_the_pinned_instant() {
    let now = test_now();
    let port = free_port();
    let (key, pinned) = demo_env(now);
    let simulator = Process::spawn(
        Command::new(BIN)
            .args(["simulate", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--task-delay", "0s..0s"])
            .env_remove("RUST_LOG")
            .env(key, pinned)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}/open-apis");
    let http = reqwest::blocking::Client::new();
    let call = |request: reqwest::blocking::RequestBuilder| -> Option<Value> {
        let answer: Value = request.send().ok()?.json().ok()?;
        assert_eq!(answer["code"], 0, "{answer}");
        Some(answer)
    };
    let token = wait_until("simulate answers", Duration::from_secs(20), || {
        call(
            http.post(format!("{base}/auth/v3/tenant_access_token/internal"))
                .json(&json!({"app_id": DEMO_APP_ID, "app_secret": DEMO_APP_SECRET})),
        )
    })["tenant_access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Three hours hold a whole hour, and the tenant has a meeting every hour; ten minutes'
    // margin for the clock running on.
    let (from, to) = (now + 600, now + 3 * 3600);
    let expected = Tenant::new(DEFAULT_SIMULATOR_SEED)
        .meetings_started_between(from, to)
        .len();
    assert!(expected > 0);
    let created = call(
        http.post(format!("{base}/vc/v1/exports/meeting_list"))
            .bearer_auth(&token)
            .json(&json!({
                "start_time": from.to_string(),
                "end_time": to.to_string(),
                "meeting_status": 3,
            })),
    )
    .unwrap();
    let task_id = created["data"]["task_id"].as_str().unwrap();
    let task = wait_until("the export task", Duration::from_secs(20), || {
        let answer = call(
            http.get(format!("{base}/vc/v1/exports/{task_id}"))
                .bearer_auth(&token),
        )?;
        (answer["data"]["status"] == 3).then_some(answer)
    });
    let file_token = task["data"]["file_token"].as_str().unwrap();
    let bytes = http
        .get(format!("{base}/vc/v1/exports/download"))
        .query(&[("file_token", file_token)])
        .bearer_auth(&token)
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let export = sheet::read_all(&bytes, &ParseOptions::default()).unwrap();
    let upcoming = export
        .records
        .iter()
        .filter(|r| matches!(r, Record::Meeting(_)))
        .count();
    assert_eq!(upcoming, expected, "upcoming meetings at {now}");

    simulator.signal(libc::SIGTERM);
    let out = simulator.output_within(Duration::from_secs(8));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("http://127.0.0.1:{port}"),
        "simulate prints its base URL"
    );
}
