//! "Networks without a site": unmapped sessions counted by the /24 or /64 of their internal IP.
//!
//! Only prefixes are kept, never a whole address, and only internal addresses: the /24 of a
//! public (home) address is close to personal.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Default cap on the distinct prefixes an [`UnmappedNetworks`] tracks.
pub const DEFAULT_MAX_TRACKED_PREFIXES: usize = 10_000;

/// The /24 (IPv4) or /64 (IPv6) network of `ip`, e.g. `10.1.2.0/24`: what the status page may show
/// of an address. IPv4-mapped IPv6 addresses count as IPv4.
pub fn private_prefix(ip: IpAddr) -> String {
    prefix_of(ip).to_string()
}

fn prefix_of(ip: IpAddr) -> IpNet {
    // The lengths are constants within range, so `new_assert` cannot panic.
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpNet::V4(Ipv4Net::new_assert(v4, 24).trunc()),
        IpAddr::V6(v6) => IpNet::V6(Ipv6Net::new_assert(v6, 64).trunc()),
    }
}

/// Counts of unmapped sessions by internal prefix; thread-safe, with bounded memory.
#[derive(Debug)]
pub struct UnmappedNetworks {
    counts: Mutex<HashMap<IpNet, u64>>,
    max_prefixes: usize,
    /// Sessions not counted because `max_prefixes` distinct prefixes were already tracked.
    dropped: AtomicU64,
}

impl Default for UnmappedNetworks {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_TRACKED_PREFIXES)
    }
}

impl UnmappedNetworks {
    /// Tracks at most `max_prefixes` distinct prefixes; sessions in further ones are only counted
    /// in [`UnmappedNetworks::dropped`].
    pub fn new(max_prefixes: usize) -> Self {
        UnmappedNetworks {
            counts: Mutex::new(HashMap::new()),
            max_prefixes,
            dropped: AtomicU64::new(0),
        }
    }

    /// Counts one session whose site is `unmapped`, by its INTERNAL address (pass the internal IP
    /// only, never the public one); a session without one is not counted.
    pub fn note(&self, internal_ip: Option<IpAddr>) {
        let Some(ip) = internal_ip else { return };
        let prefix = prefix_of(ip);
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let tracked = counts.len();
        match counts.get_mut(&prefix) {
            Some(count) => *count += 1,
            None if tracked < self.max_prefixes => {
                counts.insert(prefix, 1);
            }
            None => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Up to `limit` prefixes with at least `min_sessions` sessions (the status page uses 10),
    /// busiest first, ties in address order.
    pub fn report(&self, min_sessions: u64, limit: usize) -> Vec<(String, u64)> {
        let mut busy: Vec<(IpNet, u64)> = {
            let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
            counts
                .iter()
                .filter(|(_, &n)| n >= min_sessions)
                .map(|(&prefix, &n)| (prefix, n))
                .collect()
        };
        busy.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        busy.into_iter()
            .take(limit)
            .map(|(prefix, n)| (prefix.to_string(), n))
            .collect()
    }

    /// Sessions left uncounted because the cap on distinct prefixes was reached.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Forgets everything, e.g. after a reload mapped some of the prefixes.
    pub fn clear(&self) {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.dropped.store(0, Ordering::Relaxed);
    }
}
