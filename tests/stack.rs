//! What ships beside the binary (DESIGN.md §6): Prometheus rules and their unit tests, the
//! example Prometheus and Alertmanager configs, the Grafana dashboards and provisioning, and
//! the compose stack. Checked with the real tools (promtool, amtool, prometheus) against the
//! real exporter in demo mode.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a tool from the repository root; a missing tool is a clear failure, not a skip.
fn run(tool: &str, args: &[&str], package: &str) -> Output {
    Command::new(tool)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{tool}` ({e}): install the Debian package `{package}` (.ci/run does)"
            )
        })
}

fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no *.{ext} in {dir}");
    found
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn rules_pass_promtool_check_and_unit_tests() {
    for rules in files("prometheus/rules", "yml") {
        let out = run("promtool", &["check", "rules", &rel(&rules)], "prometheus");
        assert_success(&format!("promtool check rules {}", rel(&rules)), &out);
    }
    let tests: Vec<String> = files("prometheus/tests", "yml")
        .iter()
        .map(|p| rel(p))
        .collect();
    let mut args = vec!["test", "rules"];
    args.extend(tests.iter().map(String::as_str));
    let out = run("promtool", &args, "prometheus");
    assert_success("promtool test rules", &out);
}

/// Every alert in the rule files has a `severity`, a `summary` and a `description`, and a
/// unit test that expects it to fire and one that expects it silent.
#[test]
fn every_alert_is_annotated_and_unit_tested_both_ways() {
    let mut alerts = Vec::new();
    for rules in files("prometheus/rules", "yml") {
        let doc: serde_json::Value =
            serde_norway::from_str(&std::fs::read_to_string(&rules).unwrap()).unwrap();
        for group in doc["groups"].as_array().unwrap() {
            for rule in group["rules"].as_array().unwrap() {
                let Some(name) = rule["alert"].as_str() else {
                    continue;
                };
                for key in ["summary", "description"] {
                    assert!(rule["annotations"][key].is_string(), "{name}: no {key}");
                }
                assert!(
                    rule["labels"]["severity"].is_string(),
                    "{name}: no severity"
                );
                alerts.push(name.to_owned());
            }
        }
    }
    let (mut firing, mut silent) = (BTreeSet::new(), BTreeSet::new());
    for test_file in files("prometheus/tests", "yml") {
        let doc: serde_json::Value =
            serde_norway::from_str(&std::fs::read_to_string(&test_file).unwrap()).unwrap();
        for test in doc["tests"].as_array().unwrap() {
            for case in test["alert_rule_test"].as_array().into_iter().flatten() {
                let name = case["alertname"].as_str().unwrap().to_owned();
                let fires = case["exp_alerts"].as_array().is_some_and(|a| !a.is_empty());
                if fires { &mut firing } else { &mut silent }.insert(name);
            }
        }
    }
    for alert in &alerts {
        assert!(
            firing.contains(alert),
            "{alert}: no unit test where it fires"
        );
        assert!(
            silent.contains(alert),
            "{alert}: no unit test where it stays silent"
        );
    }
}

#[test]
fn example_prometheus_and_alertmanager_configs_are_valid() {
    let out = run(
        "promtool",
        &["check", "config", "prometheus/prometheus.yml"],
        "prometheus",
    );
    assert_success("promtool check config prometheus/prometheus.yml", &out);
    let out = run(
        "amtool",
        &["check-config", "prometheus/alertmanager.yml"],
        "prometheus-alertmanager",
    );
    assert_success("amtool check-config prometheus/alertmanager.yml", &out);
}
