//! The telemetry path: encode the registry in the text format, gzip on request.
//!
//! Scrapes that arrive while an encoding is running wait for it to finish and then share
//! the next one, so ten scrapers at once cost about two encodings, not ten, and memory holds
//! one gathered copy of the registry at a time. A scrape never gets a body whose gathering
//! started before the scrape arrived: what it sees is at least as fresh as the request.

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::http::{header, HeaderMap};
use bytes::Bytes;
use prometheus::{Encoder as _, Registry, TextEncoder};
use tokio::sync::{Mutex, OnceCell};

/// The Content-Type of the Prometheus text format, version 0.0.4 (Prometheus 3 insists).
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Encodes every family of `registry` in the Prometheus text format.
pub fn encode_text(registry: &Registry) -> Result<Vec<u8>, prometheus::Error> {
    encode_with_capacity(registry, 64 * 1024)
}

fn encode_with_capacity(
    registry: &Registry,
    capacity: usize,
) -> Result<Vec<u8>, prometheus::Error> {
    let families = registry.gather();
    let mut buffer = Vec::with_capacity(capacity);
    TextEncoder::new().encode(&families, &mut buffer)?;
    Ok(buffer)
}

/// gzip at the fastest level: metrics text still shrinks about tenfold.
pub fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 8 + 64),
        flate2::Compression::fast(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

/// Whether `Accept-Encoding` allows gzip (a `q=0` refuses it, `*` allows it).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut star = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(q > 0.0);
            } else if coding == "*" {
                star = Some(q > 0.0);
            }
        }
    }
    gzip.or(star).unwrap_or(false)
}

/// One encoding of the registry, shared by the scrapes that asked for it.
pub(super) struct Encoded {
    started: Instant,
    pub(super) text: Bytes,
    gzip: OnceCell<Bytes>,
}

impl Encoded {
    /// The gzip body, compressed once on first demand.
    pub(super) async fn gzip(&self) -> Bytes {
        self.gzip
            .get_or_init(|| async {
                let text = self.text.clone();
                tokio::task::spawn_blocking(move || Bytes::from(gzip(&text)))
                    .await
                    .unwrap_or_default()
            })
            .await
            .clone()
    }
}

pub(super) struct Scraper {
    registry: Registry,
    latest: Mutex<Option<Arc<Encoded>>>,
    last_len: AtomicUsize,
}

impl Scraper {
    pub(super) fn new(registry: Registry) -> Self {
        Self {
            registry,
            latest: Mutex::new(None),
            last_len: AtomicUsize::new(64 * 1024),
        }
    }

    /// A body gathered no earlier than `arrived`.
    pub(super) async fn scrape(&self, arrived: Instant) -> Result<Arc<Encoded>, String> {
        let mut latest = self.latest.lock().await;
        if let Some(encoded) = latest.as_ref() {
            if encoded.started >= arrived {
                return Ok(encoded.clone());
            }
        }
        // Drop the old body before building the next: one copy in memory, not two.
        *latest = None;
        let started = Instant::now();
        let registry = self.registry.clone();
        let capacity = self.last_len.load(Ordering::Relaxed);
        let text = tokio::task::spawn_blocking(move || {
            encode_with_capacity(&registry, capacity + capacity / 8)
        })
        .await
        .map_err(|e| format!("encoding the metrics panicked: {e}"))?
        .map_err(|e| format!("encoding the metrics failed: {e}"))?;
        self.last_len.store(text.len(), Ordering::Relaxed);
        let encoded = Arc::new(Encoded {
            started,
            text: Bytes::from(text),
            gzip: OnceCell::new(),
        });
        *latest = Some(encoded.clone());
        Ok(encoded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(values: &[&str]) -> bool {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        accepts_gzip(&headers)
    }

    #[test]
    fn accept_encoding() {
        assert!(!accept(&[]));
        assert!(accept(&["gzip"]));
        assert!(accept(&["GZIP"]));
        assert!(accept(&["deflate, gzip;q=0.5"]));
        assert!(accept(&["br", "gzip"]));
        assert!(accept(&["*"]));
        assert!(accept(&["x-gzip"]));
        assert!(!accept(&["gzip;q=0"]));
        assert!(!accept(&["gzip; q=0.0, *"]));
        assert!(!accept(&["identity"]));
        assert!(!accept(&["*;q=0"]));
        assert!(!accept(&["br, deflate"]));
    }

    #[test]
    fn gzip_round_trips() {
        let text = b"feishu_vc_up 1\n".repeat(1000);
        let packed = gzip(&text);
        assert!(packed.len() < text.len() / 10);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&packed[..]), &mut out)
            .unwrap();
        assert_eq!(out, text);
    }

    #[tokio::test]
    async fn concurrent_scrapes_share_an_encoding_but_never_a_stale_one() {
        let registry = Registry::new();
        let counter = prometheus::IntCounter::new("c_total", "help").unwrap();
        registry.register(Box::new(counter.clone())).unwrap();
        let scraper = Scraper::new(registry);
        let first = scraper.scrape(Instant::now()).await.unwrap();
        assert!(String::from_utf8_lossy(&first.text).contains("c_total 0"));
        counter.inc();
        // A scrape that arrives after the last encoding started gets a new one.
        let second = scraper.scrape(Instant::now()).await.unwrap();
        assert!(String::from_utf8_lossy(&second.text).contains("c_total 1"));
        // One that arrived before it may share it.
        let arrived = second.started;
        let third = scraper.scrape(arrived).await.unwrap();
        assert!(Arc::ptr_eq(&second, &third));
    }
}
