//! What ships beside the binary (DESIGN.md §6): Prometheus rules and their unit tests, the
//! example Prometheus and Alertmanager configs, the Grafana dashboards and provisioning, and
//! the compose stack. Checked with the real tools (promtool, amtool, prometheus) against the
//! real exporter in demo mode.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::clock::{demo_env, test_now};
use crate::support::demo::{DemoTruth, ROOM_FAMILIES};
use crate::support::process::{free_port, run, wait_until, Process};

const BIN: &str = env!("CARGO_BIN_EXE_feishu-vc-exporter");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a tool from the repository root; a missing tool is a clear failure, not a skip.
fn run_tool(tool: &str, args: &[&str], package: &str) -> Output {
    run(Command::new(tool).args(args).current_dir(root())).unwrap_or_else(|e| {
        panic!("cannot run `{tool}` ({e}): install the Debian package `{package}` (.ci/run does)")
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
        let out = run_tool("promtool", &["check", "rules", &rel(&rules)], "prometheus");
        assert_success(&format!("promtool check rules {}", rel(&rules)), &out);
    }
    let tests: Vec<String> = files("prometheus/tests", "yml")
        .iter()
        .map(|p| rel(p))
        .collect();
    let mut args = vec!["test", "rules"];
    args.extend(tests.iter().map(String::as_str));
    let out = run_tool("promtool", &args, "prometheus");
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
    let out = run_tool(
        "promtool",
        &["check", "config", "prometheus/prometheus.yml"],
        "prometheus",
    );
    assert_success("promtool check config prometheus/prometheus.yml", &out);
    let out = run_tool(
        "amtool",
        &["check-config", "prometheus/alertmanager.yml"],
        "prometheus-alertmanager",
    );
    assert_success("amtool check-config prometheus/alertmanager.yml", &out);
}

fn dashboards() -> Vec<(String, Value)> {
    files("grafana/dashboards", "json")
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", rel(p)));
            (rel(p), json)
        })
        .collect()
}

/// Every panel of a dashboard, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        all.push(panel);
        all.extend(panel["panels"].as_array().into_iter().flatten());
    }
    all
}

/// (where, expr) of every dashboard panel target.
fn dashboard_exprs() -> Vec<(String, String)> {
    let mut exprs = Vec::new();
    for (file, dashboard) in dashboards() {
        for panel in panels(&dashboard) {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let expr = target["expr"].as_str().unwrap_or_else(|| {
                    panic!(
                        "{file}: panel {:?} has a target without expr",
                        panel["title"]
                    )
                });
                exprs.push((format!("{file}: {}", panel["title"]), expr.to_owned()));
            }
        }
    }
    exprs
}

/// (where, expr) of every recording and alerting rule.
fn rule_exprs() -> Vec<(String, String)> {
    let mut exprs = Vec::new();
    for rules in files("prometheus/rules", "yml") {
        let doc: Value = serde_norway::from_str(&std::fs::read_to_string(&rules).unwrap()).unwrap();
        for group in doc["groups"].as_array().unwrap() {
            for rule in group["rules"].as_array().unwrap() {
                let name = rule["alert"].as_str().or(rule["record"].as_str()).unwrap();
                exprs.push((
                    format!("{}: {name}", rel(&rules)),
                    rule["expr"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    exprs
}

/// Every recording rule's expression by the name it records.
fn recording_rules() -> BTreeMap<String, String> {
    let mut rules = BTreeMap::new();
    for file in files("prometheus/rules", "yml") {
        let doc: Value = serde_norway::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for group in doc["groups"].as_array().unwrap() {
            for rule in group["rules"].as_array().unwrap() {
                if let (Some(name), Some(expr)) = (rule["record"].as_str(), rule["expr"].as_str()) {
                    rules.insert(name.to_owned(), expr.to_owned());
                }
            }
        }
    }
    rules
}

/// The check-in statuses (`status="…"` on `feishu_vc_room_check_ins_total`) an expression,
/// or a recording rule it uses, selects: without a booking of each, its result is empty.
fn check_ins_needed(expr: &str, rules: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut needed = BTreeSet::new();
    if expr.contains("feishu_vc_room_check_ins_total") {
        for part in expr.split("status=\"").skip(1) {
            needed.insert(part.split('"').next().unwrap().to_owned());
        }
    }
    for name in metric_names(expr) {
        if let Some(recorded) = rules.get(&name) {
            needed.extend(check_ins_needed(recorded, rules));
        }
    }
    needed
}

fn recorded_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for rules in files("prometheus/rules", "yml") {
        let doc: Value = serde_norway::from_str(&std::fs::read_to_string(&rules).unwrap()).unwrap();
        for group in doc["groups"].as_array().unwrap() {
            for rule in group["rules"].as_array().unwrap() {
                if let Some(name) = rule["record"].as_str() {
                    names.insert(name.to_owned());
                }
            }
        }
    }
    names
}

/// Metric names an expression refers to: identifiers of the exporter's families
/// (`feishu_vc_*`, `process_*`) and recording rules (with a colon).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut chars = expr.char_indices().peekable();
    let mut in_string = false;
    while let Some((start, c)) = chars.next() {
        if c == '"' {
            in_string = !in_string;
            continue;
        }
        if in_string || !(c.is_ascii_alphabetic() || c == '_' || c == ':') {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(i, c)) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                end = i + 1;
                chars.next();
            } else {
                break;
            }
        }
        let word = &expr[start..end];
        if word.starts_with("feishu_vc_") || word.starts_with("process_") || word.contains(':') {
            names.insert(word.to_owned());
        }
    }
    names
}

#[test]
fn dashboards_have_the_variables_units_datasources_and_descriptions() {
    let all = dashboards();
    assert!(
        all.len() >= 4,
        "expected four dashboards, found {}",
        all.len()
    );
    let mut uids = BTreeSet::new();
    for (file, dashboard) in all {
        assert!(
            uids.insert(dashboard["uid"].as_str().unwrap().to_owned()),
            "{file}: uid reused"
        );
        assert!(dashboard.get("__inputs").is_none(), "{file}: uses __inputs");
        let vars = dashboard["templating"]["list"].as_array().unwrap();
        let var = |name: &str| vars.iter().find(|v| v["name"] == name);
        let ds = var("datasource").unwrap_or_else(|| panic!("{file}: no datasource variable"));
        assert_eq!(ds["type"], "datasource", "{file}");
        assert_eq!(ds["query"], "prometheus", "{file}");
        for name in ["job", "instance"] {
            let v = var(name).unwrap_or_else(|| panic!("{file}: no {name} variable"));
            assert_eq!(v["type"], "query", "{file}: {name}");
            assert_eq!(v["datasource"]["uid"], "${datasource}", "{file}: {name}");
        }
        let text = serde_json::to_string(&dashboard).unwrap();
        assert!(
            text.contains("$__rate_interval"),
            "{file}: no $__rate_interval"
        );
        for panel in panels(&dashboard) {
            let title = panel["title"].as_str().unwrap_or("?");
            if panel["type"] == "row" {
                continue;
            }
            assert_eq!(
                panel["datasource"]["uid"], "${datasource}",
                "{file}: {title}: datasource"
            );
            assert_eq!(
                panel["datasource"]["type"], "prometheus",
                "{file}: {title}: datasource"
            );
            let unit = panel["fieldConfig"]["defaults"]["unit"].as_str();
            assert!(
                unit.is_some_and(|u| !u.is_empty()),
                "{file}: {title}: no unit"
            );
            assert!(
                panel["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{file}: {title}: no description"
            );
            let targets = panel["targets"].as_array();
            assert!(
                targets.is_some_and(|t| !t.is_empty()),
                "{file}: {title}: no query"
            );
            for target in targets.unwrap() {
                assert_eq!(
                    target["datasource"]["uid"], "${datasource}",
                    "{file}: {title}"
                );
                let expr = target["expr"].as_str().unwrap();
                // Rates must follow the dashboard's scrape interval, not a fixed window
                // (the recording rules and the 1d no-show ratio are the exceptions).
                if expr.contains("rate(") && !expr.contains("[$__range]") {
                    assert!(
                        expr.contains("[$__rate_interval]"),
                        "{file}: {title}: {expr}"
                    );
                }
                // Bitrates are exported in bytes per second and shown in bits.
                if unit == Some("bps") {
                    assert!(
                        expr.trim_end().ends_with("* 8"),
                        "{file}: {title}: bps without × 8"
                    );
                }
            }
        }
    }
}

fn get(url: &str) -> Option<String> {
    let response = reqwest::blocking::get(url).ok()?;
    response
        .status()
        .is_success()
        .then(|| response.text().ok())
        .flatten()
}

fn value(exposition: &str, series: &str) -> Option<f64> {
    exposition
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Families that exist only in some configurations, so the demo does not export them.
const NOT_IN_DEMO: &[&str] = &[
    // Only when feishu.monthly_call_budget is set.
    "feishu_vc_api_budget_remaining_calls",
];

/// Dashboard expressions allowed to return nothing on a fresh demo: they must still parse.
const MAY_BE_EMPTY: &[&str] = &[
    // No budget configured in demo mode.
    "feishu_vc_api_budget_remaining_calls",
    // The demo is not rate limited in its first minute.
    "99991400",
];

const JOB: &str = "feishu-vc-exporter";

fn substitute(expr: &str) -> String {
    expr.replace("$job", JOB)
        .replace("$instance", ".*")
        .replace("$media", ".*")
        .replace("$room", ".*")
        // `split` is one label: "media" (no split, a repeated grouping label) or an extra
        // quality label; both at once cover both cases.
        .replace("$split", "media, network_type")
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "15s")
        .replace("$__range_s", "3600")
        .replace("$__range", "1h")
}

/// The honest check: the real exporter in demo mode, scraped every second by a real
/// Prometheus with the rule files loaded. Every metric a dashboard or rule names is in the
/// exporter's output, and every dashboard and rule expression runs without error.
#[test]
fn dashboards_and_rules_run_against_the_demo_exporter_in_a_real_prometheus() {
    let now = test_now();
    let truth = DemoTruth::at(now);
    assert!(
        truth.certain.sessions > 0,
        "every hour of the tenant has a meeting, so a lookback has sessions: {truth:?}"
    );
    // Without an ended booking in the lookback, the room families cannot be there yet.
    let no_rooms = truth.room_families() != Some(true);
    let port = free_port();
    let (key, pinned) = demo_env(now);
    let exporter = Process::spawn(
        Command::new(BIN)
            .args([
                "serve",
                "--demo",
                "--web.listen-address",
                &format!("127.0.0.1:{port}"),
            ])
            .env_remove("RUST_LOG")
            .env(key, pinned)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .unwrap();
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    let exposition = wait_until(
        "demo exporter quality metrics",
        Duration::from_secs(180),
        || {
            let body = get(&metrics_url)?;
            (value(&body, "feishu_vc_quality_client_cpu_ratio_count")? > 0.0).then_some(body)
        },
    );

    // 1. Every name referenced exists in the exporter's output (or is recorded by a rule).
    let mut exported: BTreeSet<String> = exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_owned())
        .collect();
    exported.extend(NOT_IN_DEMO.iter().map(|s| s.to_string()));
    if no_rooms {
        exported.extend(ROOM_FAMILIES.iter().map(|s| s.to_string()));
    }
    exported.extend(recorded_names());
    let mut unknown = Vec::new();
    for (place, expr) in dashboard_exprs().into_iter().chain(rule_exprs()) {
        for name in metric_names(&expr) {
            if !exported.contains(&name) {
                unknown.push(format!("{place}: {name}"));
            }
        }
    }
    for (file, dashboard) in dashboards() {
        for var in dashboard["templating"]["list"].as_array().unwrap() {
            if let Some(query) = var["definition"].as_str() {
                for name in metric_names(query) {
                    if !exported.contains(&name) {
                        unknown.push(format!("{file}: variable {}: {name}", var["name"]));
                    }
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "names not exported by the demo at {now} ({truth:?}):\n{}",
        unknown.join("\n")
    );

    // 2. A real Prometheus scraping the demo with the rules loaded.
    let Ok(prometheus_version) = run(Command::new("prometheus").arg("--version")) else {
        panic!("cannot run `prometheus`: install the Debian package `prometheus` (.ci/run does)");
    };
    assert!(prometheus_version.status.success());
    let dir = tempfile::tempdir().unwrap();
    let rules: Vec<String> = files("prometheus/rules", "yml")
        .iter()
        .map(|p| format!("  - {:?}\n", p.to_str().unwrap()))
        .collect();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n{}\
         scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: [\"127.0.0.1:{port}\"]\n",
        rules.concat()
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let prom_port = free_port();
    let prometheus = Process::spawn(
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .unwrap();
    let client = reqwest::blocking::Client::new();
    let query = |expr: &str| -> Result<Value, String> {
        let response = client
            .get(format!("http://127.0.0.1:{prom_port}/api/v1/query"))
            .query(&[("query", expr)])
            .send()
            .map_err(|e| e.to_string())?;
        let body: Value = response.json().map_err(|e| e.to_string())?;
        if body["status"] == "success" {
            Ok(body["data"]["result"].clone())
        } else {
            Err(format!("{}: {}", body["errorType"], body["error"]))
        }
    };
    let has_data = |expr: &str| {
        query(expr)
            .ok()
            .filter(|r| r.as_array().is_some_and(|a| !a.is_empty()))
    };
    wait_until(
        "prometheus scraping the demo",
        Duration::from_secs(60),
        || has_data("feishu_vc_meetings_total"),
    );
    // Enough scrapes for rate() and increase() over 1m windows, and rule evaluations.
    wait_until("two minutes of scrapes", Duration::from_secs(60), || {
        has_data("count_over_time(feishu_vc_meetings_total[1m]) >= 10")
    });
    wait_until("recording rules", Duration::from_secs(30), || {
        has_data("media_direction:feishu_vc_quality_jitter_seconds:p95_rate30m")
    });

    let rules_by_name = recording_rules();
    let mut failures = Vec::new();
    for (place, expr) in dashboard_exprs() {
        let concrete = substitute(&expr);
        assert!(
            !concrete.contains('$'),
            "{place}: unsubstituted variable in {concrete}"
        );
        match query(&concrete) {
            Err(e) => failures.push(format!("{place}: {concrete}\n    {e}")),
            Ok(result) => {
                let empty = result.as_array().is_none_or(|a| a.is_empty());
                let may_be_empty = MAY_BE_EMPTY.iter().any(|m| expr.contains(m))
                    || no_rooms && ROOM_FAMILIES.iter().any(|f| expr.contains(f))
                    || !check_ins_needed(&expr, &rules_by_name)
                        .iter()
                        .all(|status| truth.certain.check_ins.contains(status.as_str()));
                if empty && !may_be_empty {
                    failures.push(format!("{place}: {concrete}\n    returned nothing"));
                }
            }
        }
    }
    // Alert expressions are mostly empty on healthy data: they only have to run.
    for (place, expr) in rule_exprs() {
        if let Err(e) = query(&expr) {
            failures.push(format!("{place}: {expr}\n    {e}"));
        }
    }
    // The rule files are loaded and healthy in the running Prometheus.
    let rules: Value = client
        .get(format!("http://127.0.0.1:{prom_port}/api/v1/rules"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    for group in rules["data"]["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            if rule["health"] == "err" {
                failures.push(format!("rule {}: {}", rule["name"], rule["lastError"]));
            }
        }
    }
    assert_eq!(
        rules["data"]["groups"].as_array().map(Vec::len),
        Some(4),
        "rule groups not loaded: {rules}"
    );
    assert!(
        failures.is_empty(),
        "{} expressions failed at {now} ({truth:?}):\n{}",
        failures.len(),
        failures.join("\n")
    );
    drop(prometheus);
    drop(exporter);
}

/// No Docker engine here: the compose file parses, has the four services, every bind mount's
/// source exists, and the paths the configs refer to are the ones mounted.
#[test]
fn compose_stack_and_dockerfile_fit_together() {
    let compose: Value = serde_norway::from_str(
        &std::fs::read_to_string(root().join("docker-compose.yml")).unwrap(),
    )
    .expect("docker-compose.yml is not YAML");
    let services = compose["services"].as_object().expect("no services");
    for name in [
        "feishu-vc-exporter",
        "prometheus",
        "alertmanager",
        "grafana",
    ] {
        assert!(
            services.contains_key(name),
            "docker-compose.yml: no service {name}"
        );
    }
    let exporter = &services["feishu-vc-exporter"];
    assert_eq!(
        exporter["build"], ".",
        "the exporter is built from the Dockerfile"
    );
    let command: Vec<&str> = exporter["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        command.contains(&"--demo"),
        "the exporter runs in demo mode"
    );

    let mut targets = BTreeSet::new();
    for (name, service) in services {
        for volume in service["volumes"].as_array().into_iter().flatten() {
            let spec = volume.as_str().unwrap();
            let mut parts = spec.split(':');
            let (source, target) = (parts.next().unwrap(), parts.next().unwrap());
            targets.insert(format!("{name}:{target}"));
            if source.starts_with("./") {
                assert!(
                    root().join(source).exists(),
                    "{name}: mounted {source} does not exist"
                );
            } else {
                assert!(
                    compose["volumes"].get(source).is_some(),
                    "{name}: volume {source} not declared"
                );
            }
        }
    }
    // Prometheus finds its rules where prometheus.yml says, relative to its config file.
    let prometheus: Value = serde_norway::from_str(
        &std::fs::read_to_string(root().join("prometheus/prometheus.yml")).unwrap(),
    )
    .unwrap();
    assert!(targets.contains("prometheus:/etc/prometheus/prometheus.yml"));
    for rule_file in prometheus["rule_files"].as_array().unwrap() {
        let rule_file = rule_file.as_str().unwrap();
        assert!(
            root().join("prometheus").join(rule_file).exists(),
            "{rule_file}"
        );
        let dir = Path::new(rule_file).parent().unwrap().to_str().unwrap();
        assert!(
            targets.contains(&format!("prometheus:/etc/prometheus/{dir}")),
            "prometheus: {dir} not mounted"
        );
    }
    // Scrape and alerting targets are compose services.
    let text = serde_json::to_string(&prometheus).unwrap();
    assert!(text.contains("feishu-vc-exporter:9874") && text.contains("alertmanager:9093"));
    assert!(targets.contains("alertmanager:/etc/alertmanager/alertmanager.yml"));
    // Grafana loads the dashboards from where the provider looks.
    let provider: Value = serde_norway::from_str(
        &std::fs::read_to_string(root().join("grafana/provisioning/dashboards/dashboards.yml"))
            .unwrap(),
    )
    .unwrap();
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    assert!(
        targets.contains(&format!("grafana:{path}")),
        "grafana: {path} not mounted"
    );
    for dir in ["datasources", "dashboards"] {
        assert!(targets.contains(&format!("grafana:/etc/grafana/provisioning/{dir}")));
    }
    let datasource =
        std::fs::read_to_string(root().join("grafana/provisioning/datasources/prometheus.yml"))
            .unwrap();
    assert!(datasource.contains("http://prometheus:9090"));

    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    for needed in [
        "FROM rust:1 AS builder",
        "FROM debian:bookworm-slim",
        "ca-certificates",
        "USER 10001",
        "EXPOSE 9874",
        r#"HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/feishu-vc-exporter", "healthcheck"]"#,
        r#"ENTRYPOINT ["/usr/local/bin/feishu-vc-exporter"]"#,
        "--locked",
    ] {
        assert!(dockerfile.contains(needed), "Dockerfile: no {needed:?}");
    }
}
