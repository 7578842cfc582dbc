//! `cargo bench --bench sites`: site lookups per second with a 10,000-network sites file.
//!
//! Writes a deterministic pseudo-random sites file (IPv4 /16–/30 inside 10.0.0.0/8, IPv6
//! /48–/64 inside 2001:db8::/32, 200 sites), times loading it, then times 1,000,000 lookups of
//! export-like cells: internal hits (IPv4 and IPv6), misses rescued by the public address, and
//! misses on both. Prints lookups/s from text cells (`lookup`, what ingest does) and from parsed
//! addresses (`lookup_addr`), each the best of several runs.
//! Set `BENCH_NETWORKS`, `BENCH_LOOKUPS` and `BENCH_RUNS` to change the sizes.

use std::collections::HashSet;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use feishu_vc_exporter::sites::{parse_ip, SiteMap};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// xorshift64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A network: 70 % IPv4 /16–/30 in 10.0.0.0/8, 30 % IPv6 /48–/64 in 2001:db8::/32.
fn random_network(rng: &mut Rng) -> IpNet {
    if rng.below(10) < 7 {
        let addr = Ipv4Addr::from(0x0a00_0000 | (rng.next() as u32 & 0x00ff_ffff));
        let len = 16 + rng.below(15) as u8;
        IpNet::V4(Ipv4Net::new(addr, len).unwrap().trunc())
    } else {
        let low = (rng.next() as u128) << 64 | rng.next() as u128;
        let addr = Ipv6Addr::from(0x2001_0db8_u128 << 96 | (low & ((1 << 96) - 1)));
        let len = 48 + rng.below(17) as u8;
        IpNet::V6(Ipv6Net::new(addr, len).unwrap().trunc())
    }
}

/// An address inside `network`.
fn inside(network: &IpNet, rng: &mut Rng) -> IpAddr {
    let hosts = network.hosts().take(1 + rng.below(64) as usize);
    hosts.last().unwrap_or_else(|| network.network())
}

fn main() {
    let networks = env("BENCH_NETWORKS", 10_000);
    let lookups = env("BENCH_LOOKUPS", 1_000_000);
    let runs = env("BENCH_RUNS", 5);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    let mut seen = HashSet::new();
    let mut table = Vec::with_capacity(networks);
    let mut csv = String::from("network,site,region\n");
    while table.len() < networks {
        let network = random_network(&mut rng);
        if seen.insert(network) {
            let site = rng.below(200);
            csv.push_str(&format!("{network},site-{site},region-{}\n", site % 7));
            table.push(network);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sites.csv");
    std::fs::write(&path, &csv).unwrap();

    let mut load = Duration::MAX;
    let mut map = None;
    for _ in 0..runs {
        let start = Instant::now();
        let loaded = SiteMap::load(&path).unwrap();
        load = load.min(start.elapsed());
        map = Some(loaded);
    }
    let map = map.unwrap();

    // Export-like cells: 45 % IPv4 hits, 20 % IPv6 hits, 20 % internal misses whose public
    // address hits, 15 % misses on both (192.168/16 and 2001:db9::/32 are never mapped).
    let cells: Vec<(String, String)> = (0..lookups)
        .map(|_| {
            let roll = rng.below(100);
            let network = table[rng.below(table.len() as u64) as usize];
            let hit = inside(&network, &mut rng).to_string();
            let miss_v4 = Ipv4Addr::from(0xc0a8_0000 | (rng.next() as u32 & 0xffff)).to_string();
            let miss_v6 = format!("2001:db9::{:x}%eth0", rng.below(0xffff));
            match roll {
                0..=64 => (hit, "-".to_owned()),
                65..=84 => (miss_v4, hit),
                85..=92 => (miss_v4, String::new()),
                _ => (miss_v6, "N/A".to_owned()),
            }
        })
        .collect();
    let addrs: Vec<(Option<IpAddr>, Option<IpAddr>)> = cells
        .iter()
        .map(|(internal, public)| (parse_ip(internal), parse_ip(public)))
        .collect();

    let unmapped = cells
        .iter()
        .filter(|(i, p)| map.lookup(Some(i), Some(p)).is_unmapped())
        .count();

    let mut text = Duration::MAX;
    let mut parsed = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        for (internal, public) in &cells {
            black_box(map.lookup(Some(internal), Some(public)));
        }
        text = text.min(start.elapsed());
        let start = Instant::now();
        for &(internal, public) in &addrs {
            black_box(map.lookup_addr(internal, public));
        }
        parsed = parsed.min(start.elapsed());
    }

    let per_second = |d: Duration| lookups as f64 / d.as_secs_f64();
    println!(
        "{} networks ({} bytes), {} sites; {lookups} lookups, {:.1} % unmapped; best of {runs} runs",
        map.len(),
        csv.len(),
        map.sites().count(),
        100.0 * unmapped as f64 / lookups as f64,
    );
    println!("load:               {:>8.2} ms", load.as_secs_f64() * 1e3);
    println!(
        "lookup (text):      {:>8.2} M lookups/s ({:.0} ns each)",
        per_second(text) / 1e6,
        text.as_nanos() as f64 / lookups as f64
    );
    println!(
        "lookup_addr:        {:>8.2} M lookups/s ({:.0} ns each)",
        per_second(parsed) / 1e6,
        parsed.as_nanos() as f64 / lookups as f64
    );
}
