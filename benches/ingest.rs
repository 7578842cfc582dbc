//! `cargo bench --bench ingest`: ingest throughput and peak memory against a bare calamine read.
//!
//! Generates a 100,000-row participant_quality_list and a 100,000-row meeting_list workbook,
//! then runs each measurement in a fresh child process (so peak RSS is that run's alone):
//! - `walk`: open the workbook and visit every cell with calamine's cell reader, nothing else;
//! - `ingest`: what `feishu-vc-exporter ingest` does: parse, aggregate, encode the metrics.
//!
//! Prints rows/s, the median wall time of several runs, peak RSS (VmHWM), and ingest / walk.
//! Set `BENCH_ROWS` and `BENCH_RUNS` to change the size and the number of runs.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use calamine::{Reader, Xlsx};
use feishu_vc_exporter::ingest::ingest_file;
use feishu_vc_exporter::metrics::{Metrics, MetricsOptions};
use feishu_vc_exporter::sheet::writer::write_xlsx;
use feishu_vc_exporter::sheet::ParseOptions;
use feishu_vc_exporter::simulator::{
    format_time, MEETING_LIST_HEADERS, PARTICIPANT_QUALITY_LIST_HEADERS,
};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.as_slice() {
        [mode, path] if mode == "walk" || mode == "ingest" => child(mode, Path::new(path)),
        _ => parent(),
    }
}

/// One measurement; prints `seconds rows peak_kib`.
fn child(mode: &str, path: &Path) {
    let start = Instant::now();
    let rows = if mode == "walk" {
        let mut workbook: Xlsx<_> = Xlsx::new(BufReader::new(File::open(path).unwrap())).unwrap();
        let sheet = workbook.sheet_names()[0].clone();
        let mut cells = workbook.worksheet_cells_reader(&sheet).unwrap();
        let mut last_row = 0;
        while let Some(cell) = cells.next_cell().unwrap() {
            last_row = cell.get_position().0;
            std::hint::black_box(cell.get_value());
        }
        u64::from(last_row)
    } else {
        let metrics = Metrics::new(MetricsOptions::default());
        let summary = ingest_file(path, &metrics, &ParseOptions::default()).unwrap();
        std::hint::black_box(metrics.encode_text());
        summary.records + summary.rejected
    };
    let seconds = start.elapsed().as_secs_f64();
    println!("{seconds} {rows} {}", peak_rss_kib());
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn parent() {
    let rows: usize = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = std::env::temp_dir().join(format!("feishu-vc-bench-{rows}"));
    std::fs::create_dir_all(&dir).unwrap();
    let files = [
        (
            "participant_quality_list",
            dir.join("quality.xlsx"),
            quality_file as fn(usize) -> Vec<u8>,
        ),
        ("meeting_list", dir.join("meetings.xlsx"), meeting_file),
    ];
    println!("{rows} rows, median of {runs} runs, each in a fresh process");
    println!(
        "{:<26} {:>7} {:>10} {:>12} {:>10} {:>8}",
        "file", "mode", "seconds", "rows/s", "peak MiB", "ratio"
    );
    for (name, path, generate) in files {
        if !path.exists() {
            std::fs::write(&path, generate(rows)).unwrap();
        }
        let walk = measure("walk", &path, runs);
        let ingest = measure("ingest", &path, runs);
        for (mode, (seconds, peak)) in [("walk", walk), ("ingest", ingest)] {
            let ratio = if mode == "ingest" {
                format!("{:.2}x", seconds / walk.0)
            } else {
                String::new()
            };
            println!(
                "{name:<26} {mode:>7} {seconds:>10.3} {:>12.0} {:>10.1} {ratio:>8}",
                rows as f64 / seconds,
                peak as f64 / 1024.0
            );
        }
    }
}

/// Median wall seconds and the largest peak RSS (KiB) over `runs` child processes.
fn measure(mode: &str, path: &PathBuf, runs: usize) -> (f64, u64) {
    let exe = std::env::current_exe().unwrap();
    let mut times = Vec::new();
    let mut peak = 0;
    for _ in 0..runs {
        let out = Command::new(&exe).arg(mode).arg(path).output().unwrap();
        assert!(
            out.status.success(),
            "{mode} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<&str> = text.split_whitespace().collect();
        times.push(fields[0].parse::<f64>().unwrap());
        peak = peak.max(fields[2].parse::<u64>().unwrap());
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], peak)
}

/// A deterministic pseudo-random stream, so every run measures the same file.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn quality_file(rows: usize) -> Vec<u8> {
    let headers = PARTICIPANT_QUALITY_LIST_HEADERS;
    let mut rng = Lcg(7);
    let start = 1_700_000_000i64;
    let body = (0..rows).map(move |i| {
        let mut row = vec![format_time(start + 60 * i as i64)];
        for stream in 0..6 {
            // Screen share is mostly unused, as in real calls.
            if stream >= 4 && rng.next(4) != 0 {
                row.extend(std::iter::repeat_n("-".to_owned(), 5));
                continue;
            }
            row.push(format!("{}kbps", 30 + rng.next(2000)));
            row.push(format!("{}ms", 5 + rng.next(400)));
            row.push(format!("{}ms", rng.next(60)));
            row.push(format!("{}.{}%", rng.next(8), rng.next(10)));
            row.push(format!("{}%", rng.next(20)));
        }
        for _ in 0..4 {
            row.push(format!("{}%", rng.next(100)));
        }
        row
    });
    write_xlsx(&headers, body).unwrap()
}

fn meeting_file(rows: usize) -> Vec<u8> {
    let headers = MEETING_LIST_HEADERS;
    let mut rng = Lcg(11);
    let start = 1_700_000_000i64;
    let yes_no = |b: bool| if b { "是" } else { "否" }.to_owned();
    let body = (0..rows).map(move |i| {
        let begin = start + 37 * i as i64;
        let length = 300 + rng.next(7200) as i64;
        vec![
            format!("{:09}", 100_000_000 + i),
            format!("Meeting {}", rng.next(1000)),
            format!("User {}", rng.next(500)),
            format!("Dept {}", rng.next(20)),
            format!("ou_{:x}", rng.next(1 << 40)),
            format!("E{:05}", rng.next(99999)),
            format!("user{}@example.com", rng.next(500)),
            "+86123****8910".to_owned(),
            format_time(begin),
            format_time(begin + length),
            format!(
                "{:02}:{:02}:{:02}",
                length / 3600,
                length / 60 % 60,
                length % 60
            ),
            (2 + rng.next(30)).to_string(),
            yes_no(true),
            yes_no(rng.next(2) == 0),
            yes_no(rng.next(3) == 0),
            yes_no(rng.next(10) == 0),
            yes_no(rng.next(50) == 0),
        ]
    });
    write_xlsx(&headers, body).unwrap()
}
