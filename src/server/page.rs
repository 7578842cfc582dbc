//! `/`: a small HTML status page. It prints only what the status board and the exporter's own
//! metrics hold (counts, times, the client's scrubbed error messages), every value escaped.
//! No script, no external asset.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use prometheus::proto::MetricFamily;

use crate::status::{KindStatus, Snapshot};

/// What the page shows besides the snapshot, read from the registry.
#[derive(Debug, Default, Clone)]
pub(super) struct RegistryFacts {
    /// (endpoint, code, calls), sorted.
    pub api_calls: Vec<(String, String, u64)>,
    /// kind → unix time of the newest record ingested.
    pub newest: BTreeMap<String, f64>,
}

impl RegistryFacts {
    pub(super) fn from_families(families: &[MetricFamily]) -> Self {
        let mut facts = Self::default();
        let label = |m: &prometheus::proto::Metric, name: &str| {
            m.get_label()
                .iter()
                .find(|l| l.name() == name)
                .map(|l| l.value().to_owned())
                .unwrap_or_default()
        };
        for family in families {
            match family.name() {
                "feishu_vc_api_requests_total" => {
                    for m in family.get_metric() {
                        let calls = m.get_counter().get_value();
                        if calls > 0.0 {
                            facts.api_calls.push((
                                label(m, "endpoint"),
                                label(m, "code"),
                                calls as u64,
                            ));
                        }
                    }
                }
                "feishu_vc_data_newest_timestamp_seconds" => {
                    for m in family.get_metric() {
                        let value = m.get_gauge().get_value();
                        if value > 0.0 {
                            facts.newest.insert(label(m, "kind"), value);
                        }
                    }
                }
                _ => {}
            }
        }
        facts.api_calls.sort();
        facts
    }
}

pub(super) struct Page<'a> {
    pub snapshot: &'a Snapshot,
    pub facts: &'a RegistryFacts,
    pub telemetry_path: &'a str,
    pub demo: bool,
    pub ready: bool,
    pub now: i64,
}

/// Escapes text for HTML element content and quoted attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn kind_title(kind: &str) -> &'static str {
    match kind {
        "meeting_list" => "Meetings",
        "participant_list" => "Participants",
        "participant_quality_list" => "Call quality",
        "resource_reservation_list" => "Room bookings",
        _ => "Export",
    }
}

/// What a Feishu code means, for the codes DESIGN.md names.
fn code_meaning(code: &str) -> &'static str {
    match code {
        "0" => "ok",
        "99991400" => "rate limited",
        "99991401" => "IP not in the app's allow-list",
        "99991543" | "10014" => "bad app_id or app_secret",
        "99991661" => "no token",
        "99991663" | "99991664" | "99991671" => "bad or expired token",
        "99991668" | "99991677" => "bad or expired user token",
        "99991672" | "99991676" | "99991679" => "missing scope",
        "121001" => "Feishu internal error",
        "121002" => "not supported",
        "121003" => "bad parameter",
        "121004" => "data does not exist",
        "121005" => "no permission",
        "transport" => "no connection",
        "timeout" => "timed out",
        c if c.starts_with("http_") => "HTTP error without a Feishu code",
        _ => "",
    }
}

/// `2024-05-01 08:30:00 UTC (3 min ago)`.
fn when(unix: Option<i64>, now: i64) -> String {
    let Some(unix) = unix else {
        return "<span class=\"muted\">never</span>".to_owned();
    };
    let absolute = chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| unix.to_string());
    format!(
        "<time datetime=\"{}\">{}</time> <span class=\"muted\">({})</span>",
        escape(&absolute),
        escape(&absolute),
        ago(now - unix)
    )
}

fn ago(seconds: i64) -> String {
    match seconds {
        s if s < 0 => "in the future".to_owned(),
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 2 * 86400 => format!("{} h {} min ago", s / 3600, s / 60 % 60),
        s => format!("{} days ago", s / 86400),
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Health of one export kind: `(css class, words)`.
fn kind_state(status: &KindStatus) -> (&'static str, &'static str) {
    let failed_last = match (status.last_error_at, status.last_success) {
        (Some(error), Some(success)) => error > success,
        (Some(_), None) => true,
        _ => false,
    };
    if failed_last {
        ("bad", "failing")
    } else if status.last_success.is_some() {
        ("good", "ok")
    } else if status.in_flight > 0 {
        ("wait", "running")
    } else {
        ("wait", "no data yet")
    }
}

const STYLE: &str = r#"
:root { color-scheme: light; --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #f6f8fa;
  --good: #1a7f37; --bad: #cf222e; --wait: #9a6700; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
  color: var(--fg); background: #fff; }
header { background: #24292f; color: #fff; padding: 14px 28px; display: flex; align-items: center; gap: 14px; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; font-weight: 600; }
header .version { color: #c9d1d9; font-size: 13px; }
header nav { margin-left: auto; display: flex; gap: 16px; }
header nav a { color: #fff; }
main { max-width: 1160px; margin: 0 auto; padding: 20px 28px 40px; }
h2 { font-size: 16px; margin: 28px 0 10px; }
a { color: #0969da; text-decoration: none; }
a:hover { text-decoration: underline; }
.muted { color: var(--muted); }
time { white-space: nowrap; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 10px; font-size: 12px; font-weight: 600;
  border: 1px solid currentColor; white-space: nowrap; }
.good { color: var(--good); } .bad { color: var(--bad); } .wait { color: var(--wait); }
.demo { background: #ddf4ff; border: 1px solid #54aeff; padding: 8px 14px; border-radius: 6px; margin-bottom: 14px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; background: var(--bg); }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 20px; font-weight: 600; }
.card .note { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td code { font-size: 12px; color: var(--muted); }
.error { color: var(--bad); word-break: break-word; max-width: 380px; }
footer { color: var(--muted); font-size: 12px; margin-top: 28px; }
"#;

/// The whole page.
pub(super) fn render(page: &Page<'_>) -> String {
    let s = page.snapshot;
    let now = page.now;
    let metrics_href = format!(".{}", page.telemetry_path);
    let mut html = String::with_capacity(16 * 1024);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>feishu-vc-exporter</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header><h1>feishu-vc-exporter</h1>\
         <span class=\"version\">version {} &middot; revision {}</span>\
         <nav><a href=\"{}\">Metrics</a><a href=\"./-/healthy\">Health</a><a href=\"./-/ready\">Readiness</a></nav>\
         </header>\n<main>\n",
        escape(env!("CARGO_PKG_VERSION")),
        escape(crate::REVISION),
        escape(&metrics_href),
    );
    if page.demo {
        html.push_str(
            "<p class=\"demo\">Demo mode: the data comes from the built-in Feishu simulator, not from a real tenant.</p>\n",
        );
    }

    // Summary cards.
    let (up_class, up_words) = match (s.cycles, s.up) {
        (0, _) => ("wait", "starting"),
        (_, true) => ("good", "up"),
        (_, false) => ("bad", "down"),
    };
    let budget = match s.budget {
        Some((remaining, monthly)) => (
            thousands(remaining),
            format!("of {} calls this month", thousands(monthly)),
        ),
        None => ("&infin;".to_owned(), "no monthly budget set".to_owned()),
    };
    let paced = if s.paced.is_empty() {
        "nothing held back".to_owned()
    } else {
        format!("held back: {}", s.paced.join(", "))
    };
    let cards = [
        (
            "Collection",
            format!("<span class=\"badge {up_class}\">{up_words}</span>"),
            format!(
                "{} {}; last {}",
                thousands(s.cycles),
                if s.cycles == 1 { "cycle" } else { "cycles" },
                when(s.last_cycle, now)
            ),
        ),
        (
            "Ready",
            if page.ready {
                "<span class=\"badge good\">ready</span>".to_owned()
            } else {
                "<span class=\"badge wait\">not yet</span>".to_owned()
            },
            "first cycle done or demo running".to_owned(),
        ),
        (
            "Quality backlog",
            thousands(s.quality_backlog as u64),
            "participant sessions waiting for their quality export".to_owned(),
        ),
        (
            "Participant lists pending",
            thousands(s.pending_participant_lists as u64),
            "ended meetings waiting for their participant list".to_owned(),
        ),
        (
            "API budget left",
            budget.0,
            format!("{}; {}", budget.1, escape(&paced)),
        ),
    ];
    html.push_str("<section class=\"cards\">\n");
    for (label, value, note) in cards {
        let _ = writeln!(
            html,
            "<div class=\"card\"><div class=\"label\">{label}</div><div class=\"value\">{value}</div><div class=\"note\">{note}</div></div>"
        );
    }
    html.push_str("</section>\n");

    // Per export kind.
    html.push_str(
        "<h2>Exports</h2>\n<table id=\"exports\">\n<thead><tr><th>Export</th><th>State</th>\
         <th>Last success</th><th class=\"num\">Rows ingested</th><th class=\"num\">Tasks ok</th>\
         <th class=\"num\">Tasks failed</th><th class=\"num\">In flight</th><th>Newest data</th>\
         <th>Last error</th></tr></thead>\n<tbody>\n",
    );
    for (kind, status) in &s.kinds {
        let (class, words) = kind_state(status);
        let error = match &status.last_error {
            Some(error) => format!(
                "<div class=\"error\">{}</div><div class=\"muted\">{}</div>",
                escape(error),
                when(status.last_error_at, now)
            ),
            None => "<span class=\"muted\">none</span>".to_owned(),
        };
        let newest = page
            .facts
            .newest
            .get(*kind)
            .map(|t| when(Some(*t as i64), now))
            .unwrap_or_else(|| "<span class=\"muted\">none</span>".to_owned());
        let _ = writeln!(
            html,
            "<tr data-kind=\"{kind_attr}\"><td>{title}<br><code>{kind_text}</code></td>\
             <td><span class=\"badge {class}\">{words}</span></td><td>{success}</td>\
             <td class=\"num\">{rows}</td><td class=\"num\">{ok}</td><td class=\"num\">{failed}</td>\
             <td class=\"num\">{in_flight}</td><td>{newest}</td><td>{error}</td></tr>",
            kind_attr = escape(kind),
            title = kind_title(kind),
            kind_text = escape(kind),
            success = when(status.last_success, now),
            rows = thousands(status.rows),
            ok = thousands(status.tasks_ok),
            failed = thousands(status.tasks_failed),
            in_flight = thousands(status.in_flight),
        );
    }
    html.push_str("</tbody>\n</table>\n");

    // API calls by endpoint and code.
    html.push_str("<h2>Feishu API calls</h2>\n");
    if page.facts.api_calls.is_empty() {
        html.push_str("<p class=\"muted\">No API call yet.</p>\n");
    } else {
        html.push_str(
            "<table id=\"api\">\n<thead><tr><th>Endpoint</th><th>Code</th><th>Meaning</th>\
             <th class=\"num\">Calls</th></tr></thead>\n<tbody>\n",
        );
        for (endpoint, code, calls) in &page.facts.api_calls {
            let class = if code == "0" { "good" } else { "bad" };
            let _ = writeln!(
                html,
                "<tr><td><code>{}</code></td><td class=\"{class}\">{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                escape(endpoint),
                escape(code),
                code_meaning(code),
                thousands(*calls)
            );
        }
        html.push_str("</tbody>\n</table>\n");
    }

    let _ = write!(
        html,
        "<footer>Page generated {}. Values since the exporter started; \
         the metrics at <a href=\"{}\">{}</a> are the source of truth.</footer>\n</main>\n</body>\n</html>\n",
        when(Some(now), now),
        escape(&metrics_href),
        escape(page.telemetry_path),
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        let mut s = Snapshot::default();
        for kind in crate::sheet::Kind::ALL {
            s.kinds.insert(kind.as_str(), KindStatus::default());
        }
        s
    }

    #[test]
    fn escapes_everything_it_prints() {
        let mut s = snapshot();
        let status = s.kinds.get_mut("meeting_list").unwrap();
        status.last_error =
            Some("<script>alert('x')</script> & \"quoted\" <img src=x onerror=alert(1)>".into());
        status.last_error_at = Some(1_714_000_000);
        let facts = RegistryFacts {
            api_calls: vec![("<b>create</b>".into(), "\"><script>".into(), 3)],
            newest: BTreeMap::new(),
        };
        let html = render(&Page {
            snapshot: &s,
            facts: &facts,
            telemetry_path: "/m\"><script>x</script>",
            demo: false,
            ready: true,
            now: 1_714_000_100,
        });
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>create"), "{html}");
        assert!(html.contains(
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot; &lt;img src=x onerror=alert(1)&gt;"
        ));
        assert!(html.contains("&lt;b&gt;create&lt;/b&gt;"));
        assert!(html.contains("href=\"./m&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""));
    }

    #[test]
    fn shows_every_kind_and_the_queues() {
        let mut s = snapshot();
        s.cycles = 3;
        s.up = true;
        s.last_cycle = Some(1_000);
        s.quality_backlog = 1234;
        s.budget = Some((9_876, 10_000));
        s.paced = vec!["quality exports"];
        let status = s.kinds.get_mut("participant_quality_list").unwrap();
        status.last_success = Some(900);
        status.rows = 1_234_567;
        status.in_flight = 2;
        let facts = RegistryFacts {
            api_calls: vec![
                ("create".into(), "0".into(), 12),
                ("poll".into(), "99991400".into(), 1),
            ],
            newest: BTreeMap::from([("participant_quality_list".to_owned(), 800.0)]),
        };
        let html = render(&Page {
            snapshot: &s,
            facts: &facts,
            telemetry_path: "/metrics",
            demo: true,
            ready: true,
            now: 1_060,
        });
        for kind in crate::sheet::Kind::ALL {
            assert!(html.contains(&format!("data-kind=\"{}\"", kind.as_str())));
        }
        for needle in [
            "1,234,567",
            "1,234",
            "9,876",
            "of 10,000 calls",
            "held back: quality exports",
            "rate limited",
            "Demo mode",
            "href=\"./metrics\"",
            "1970-01-01 00:15:00 UTC",
            "2 min ago",
            ">up<",
        ] {
            assert!(html.contains(needle), "{needle} in {html}");
        }
    }

    #[test]
    fn times_and_numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
        assert_eq!(ago(5), "5 s ago");
        assert_eq!(ago(125), "2 min ago");
        assert_eq!(ago(3 * 3600 + 120), "3 h 2 min ago");
        assert_eq!(ago(5 * 86400), "5 days ago");
        assert_eq!(ago(-3), "in the future");
        assert!(when(None, 0).contains("never"));
    }

    #[test]
    fn kind_states() {
        let mut status = KindStatus::default();
        assert_eq!(kind_state(&status).1, "no data yet");
        status.in_flight = 1;
        assert_eq!(kind_state(&status).1, "running");
        status.last_success = Some(10);
        assert_eq!(kind_state(&status).1, "ok");
        status.last_error_at = Some(5);
        assert_eq!(
            kind_state(&status).1,
            "ok",
            "an error before the last success"
        );
        status.last_error_at = Some(15);
        assert_eq!(kind_state(&status).1, "failing");
    }
}
