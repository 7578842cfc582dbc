//! `cargo bench --bench scrape`: the cost of `/metrics` for a large tenant.
//!
//! Builds a registry of about 20,000 series through the real metrics code (quality histograms
//! labelled by device × network type, 100 rooms), then:
//! 1. times the encoding of one scrape (gather + text format) and its gzip, median and p99;
//! 2. starts `serve` on loopback in a child process (so its memory is its own) and has 10
//!    concurrent scrapers fetch `/metrics` back to back for 10 s, with and without gzip,
//!    reporting latency percentiles, errors and the child's RSS (VmRSS peak while sampled,
//!    VmHWM at the end).
//!
//! Environment: `BENCH_SECONDS` (per load phase, default 10), `BENCH_SCRAPERS` (10),
//! `BENCH_RUNS` (encodings timed, 300), `BENCH_DEVICES` (8) × `BENCH_NETWORKS` (5) quality
//! label combinations, `BENCH_ROOMS` (100).

#[path = "../tests/it/support/synthetic.rs"]
#[allow(dead_code)] // The tests use more of it than this bench.
mod common;

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use feishu_vc_exporter::server::{encode_text, gzip, serve, ServerState};
use feishu_vc_exporter::status::StatusBoard;
use tokio_util::sync::CancellationToken;

const DEVICES: [&str; 12] = [
    "windows",
    "mac",
    "ios",
    "android",
    "linux",
    "web",
    "room_system",
    "harmony",
    "ipad",
    "android_pad",
    "mini_program",
    "sip",
];
const NETWORKS: [&str; 8] = [
    "wifi", "ethernet", "4g", "5g", "3g", "unknown", "other", "vpn",
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn tenant() -> common::Tenant<'static> {
    common::Tenant {
        devices: &DEVICES[..env_usize("BENCH_DEVICES", 8).min(DEVICES.len())],
        networks: &NETWORKS[..env_usize("BENCH_NETWORKS", 5).min(NETWORKS.len())],
        rooms: env_usize("BENCH_ROOMS", 100),
        minutes: 30,
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("serve") {
        child();
    } else {
        parent();
    }
}

/// Serves the big registry on 127.0.0.1:0, prints `PORT n`, stops when stdin closes.
fn child() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (metrics, _exporter) = common::metrics(&tenant());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("PORT {}", listener.local_addr().unwrap().port());
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            stop.cancel();
        });
        let state = ServerState {
            registry: metrics.registry().clone(),
            status: Arc::new(StatusBoard::new()),
            telemetry_path: "/metrics".into(),
            demo: true,
        };
        serve(listener, None, state, shutdown).await.unwrap();
    });
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn millis(seconds: f64) -> String {
    format!("{:.2} ms", seconds * 1000.0)
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU seconds (user + system) the process has used, from /proc/<pid>/stat.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime 13th.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    // USER_HZ is 100 on Linux.
    ticks / 100.0
}

fn parent() {
    let tenant = tenant();
    let runs = env_usize("BENCH_RUNS", 300);
    let seconds = env_usize("BENCH_SECONDS", 10) as u64;
    let scrapers = env_usize("BENCH_SCRAPERS", 10);

    // 1. Encoding, in this process.
    let (metrics, _exporter) = common::metrics(&tenant);
    let registry = metrics.registry();
    let text = encode_text(registry).unwrap();
    let body = String::from_utf8_lossy(&text);
    let series = body.lines().filter(|l| !l.starts_with('#')).count();
    let own = body.lines().filter(|l| l.starts_with("feishu_vc_")).count();
    let families = body.lines().filter(|l| l.starts_with("# TYPE")).count();
    println!(
        "registry: {series} series ({own} feishu_vc_*) in {families} families; {} device x {} network_type, {} rooms",
        tenant.devices.len(),
        tenant.networks.len(),
        tenant.rooms
    );
    let packed = gzip(&text);
    println!(
        "body: {:.2} MiB text, {:.0} KiB gzip (x{:.1})",
        text.len() as f64 / (1024.0 * 1024.0),
        packed.len() as f64 / 1024.0,
        text.len() as f64 / packed.len() as f64
    );
    for _ in 0..10 {
        std::hint::black_box(encode_text(registry).unwrap());
    }
    let mut encode_times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(encode_text(registry).unwrap());
            start.elapsed().as_secs_f64()
        })
        .collect();
    encode_times.sort_by(f64::total_cmp);
    let mut reference_times: Vec<f64> = (0..runs / 3)
        .map(|_| {
            use prometheus::Encoder as _;
            let start = Instant::now();
            let mut out = Vec::with_capacity(text.len());
            prometheus::TextEncoder::new()
                .encode(&registry.gather(), &mut out)
                .unwrap();
            std::hint::black_box(out);
            start.elapsed().as_secs_f64()
        })
        .collect();
    reference_times.sort_by(f64::total_cmp);
    let mut gather_times: Vec<f64> = (0..runs / 3)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(registry.gather());
            start.elapsed().as_secs_f64()
        })
        .collect();
    gather_times.sort_by(f64::total_cmp);
    let mut gzip_times: Vec<f64> = (0..runs / 3)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(gzip(&text));
            start.elapsed().as_secs_f64()
        })
        .collect();
    gzip_times.sort_by(f64::total_cmp);
    println!(
        "encode ({runs} runs): median {}, p99 {}, max {}",
        millis(percentile(&encode_times, 50.0)),
        millis(percentile(&encode_times, 99.0)),
        millis(*encode_times.last().unwrap())
    );
    println!(
        "  prometheus::TextEncoder for comparison ({} runs): median {}, p99 {}",
        reference_times.len(),
        millis(percentile(&reference_times, 50.0)),
        millis(percentile(&reference_times, 99.0))
    );
    println!(
        "  of which gather ({} runs): median {}",
        gather_times.len(),
        millis(percentile(&gather_times, 50.0))
    );
    println!(
        "gzip   ({} runs): median {}, p99 {}",
        gzip_times.len(),
        millis(percentile(&gzip_times, 50.0)),
        millis(percentile(&gzip_times, 99.0))
    );
    drop(metrics);

    // 2. Load against serve in a child process.
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("child said {line:?}"));
    println!(
        "serve: child pid {pid}, idle VmRSS {:.1} MiB",
        status_kib(pid, "VmRSS:") as f64 / 1024.0
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/metrics");
    for gzip_on in [true, false] {
        let cpu_before = cpu_seconds(pid);
        let report = runtime.block_on(load(&url, gzip_on, scrapers, seconds, pid));
        let cpu = cpu_seconds(pid) - cpu_before;
        println!(
            "load {}: {scrapers} scrapers x {seconds} s: {} scrapes ({:.0}/s), {} errors; latency p50 {}, p90 {}, p99 {}, max {}; VmRSS peak {:.1} MiB; server CPU {:.1} s ({:.2} ms/scrape)",
            if gzip_on { "gzip    " } else { "identity" },
            report.latencies.len(),
            report.latencies.len() as f64 / seconds as f64,
            report.errors,
            millis(percentile(&report.latencies, 50.0)),
            millis(percentile(&report.latencies, 90.0)),
            millis(percentile(&report.latencies, 99.0)),
            millis(report.latencies.last().copied().unwrap_or(f64::NAN)),
            report.peak_rss_kib as f64 / 1024.0,
            cpu,
            cpu * 1000.0 / report.latencies.len().max(1) as f64,
        );
    }
    println!(
        "serve: VmHWM {:.1} MiB, VmRSS now {:.1} MiB",
        status_kib(pid, "VmHWM:") as f64 / 1024.0,
        status_kib(pid, "VmRSS:") as f64 / 1024.0
    );
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exited with {status}");
}

struct Report {
    latencies: Vec<f64>,
    errors: u64,
    peak_rss_kib: u64,
}

async fn load(url: &str, gzip_on: bool, scrapers: usize, seconds: u64, pid: u32) -> Report {
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let stop = stop.clone();
        let peak = peak.clone();
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(status_kib(pid, "VmRSS:"), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let mut tasks = Vec::new();
    for _ in 0..scrapers {
        let url = url.to_owned();
        let stop = stop.clone();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                let mut request = client.get(&url);
                if gzip_on {
                    request = request.header("Accept-Encoding", "gzip");
                }
                let ok = match request.send().await {
                    // Read the body to the end without keeping it: measure the server.
                    Ok(mut response) if response.status().is_success() => {
                        let mut length = 0;
                        loop {
                            match response.chunk().await {
                                Ok(Some(chunk)) => length += chunk.len(),
                                Ok(None) => break length > 0,
                                Err(_) => break false,
                            }
                        }
                    }
                    _ => false,
                };
                if ok {
                    latencies.push(start.elapsed().as_secs_f64());
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    sampler.await.unwrap();
    latencies.sort_by(f64::total_cmp);
    Report {
        latencies,
        errors: errors.load(Ordering::Relaxed),
        peak_rss_kib: peak.load(Ordering::Relaxed),
    }
}
