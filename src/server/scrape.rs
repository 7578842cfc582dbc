//! The telemetry path: encode the registry in the text format, gzip on request.
//!
//! A scrape that arrives while an encoding is running joins it instead of starting its own,
//! so ten scrapers at once cost one encoding, not ten, and memory holds one gathered copy of
//! the registry at a time. A finished encoding is never served again: a scrape sees the
//! registry as it was at most one encoding time (milliseconds) before it arrived.

use std::future::Future;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{header, HeaderMap};
use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt as _, Shared};
use prometheus::Registry;
use tokio::sync::OnceCell;

/// The Content-Type of the Prometheus text format, version 0.0.4 (Prometheus 3 insists).
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Encodes every family of `registry` in the Prometheus text format, as
/// `prometheus::TextEncoder` would, faster.
pub fn encode_text(registry: &Registry) -> Result<Vec<u8>, prometheus::Error> {
    encode_with_capacity(registry, 64 * 1024)
}

fn encode_with_capacity(
    registry: &Registry,
    capacity: usize,
) -> Result<Vec<u8>, prometheus::Error> {
    let families = registry.gather();
    let mut buffer = Vec::with_capacity(capacity);
    crate::metrics::text::encode(&families, &mut buffer)?;
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

type Flight = Shared<BoxFuture<'static, Result<Arc<Encoded>, String>>>;

pub(super) struct Scraper {
    registry: Registry,
    /// The encoding in progress, or the last one once it is done.
    flight: Mutex<Option<Flight>>,
    last_len: Arc<AtomicUsize>,
}

impl Scraper {
    pub(super) fn new(registry: Registry) -> Self {
        Self {
            registry,
            flight: Mutex::new(None),
            last_len: Arc::new(AtomicUsize::new(64 * 1024)),
        }
    }

    /// Joins the encoding in progress, or starts one; never returns a finished older one.
    pub(super) async fn scrape(&self) -> Result<Arc<Encoded>, String> {
        let flight = {
            let mut slot = self
                .flight
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match slot.as_ref() {
                Some(flight) if flight.peek().is_none() => flight.clone(),
                _ => {
                    // Drop the old body before building the next: one copy in memory.
                    *slot = None;
                    let flight = self.encode().boxed().shared();
                    *slot = Some(flight.clone());
                    flight
                }
            }
        };
        flight.await
    }

    fn encode(&self) -> impl Future<Output = Result<Arc<Encoded>, String>> + Send + 'static {
        let registry = self.registry.clone();
        let last_len = self.last_len.clone();
        let task = tokio::task::spawn_blocking(move || {
            let capacity = last_len.load(Ordering::Relaxed);
            let text = encode_with_capacity(&registry, capacity + capacity / 8)?;
            last_len.store(text.len(), Ordering::Relaxed);
            Ok::<_, prometheus::Error>(text)
        });
        async move {
            let text = task
                .await
                .map_err(|e| format!("encoding the metrics panicked: {e}"))?
                .map_err(|e| format!("encoding the metrics failed: {e}"))?;
            Ok(Arc::new(Encoded {
                text: Bytes::from(text),
                gzip: OnceCell::new(),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use std::time::Duration;

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

    /// A gauge whose collection waits until the test opens the gate.
    struct Gated {
        gauge: prometheus::IntGauge,
        open: Arc<std::sync::atomic::AtomicBool>,
    }

    impl prometheus::core::Collector for Gated {
        fn desc(&self) -> Vec<&prometheus::core::Desc> {
            self.gauge.desc()
        }

        fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
            while !self.open.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            self.gauge.collect()
        }
    }

    #[tokio::test]
    async fn concurrent_scrapes_share_an_encoding_but_never_a_finished_one() {
        let registry = Registry::new();
        let gauge = prometheus::IntGauge::new("g", "help").unwrap();
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        registry
            .register(Box::new(Gated {
                gauge: gauge.clone(),
                open: open.clone(),
            }))
            .unwrap();
        let scraper = Arc::new(Scraper::new(registry));
        let first = scraper.scrape().await.unwrap();
        assert!(String::from_utf8_lossy(&first.text).contains("g 0"));
        gauge.set(1);
        // The last encoding is done: a new scrape gets a new one.
        let second = scraper.scrape().await.unwrap();
        assert!(!Arc::ptr_eq(&first, &second));
        assert!(String::from_utf8_lossy(&second.text).contains("g 1"));

        // Scrapes that arrive while an encoding runs share it.
        open.store(false, Ordering::SeqCst);
        let scrapes: Vec<_> = (0..3)
            .map(|_| {
                let scraper = scraper.clone();
                tokio::spawn(async move { scraper.scrape().await.unwrap() })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        gauge.set(2);
        open.store(true, Ordering::SeqCst);
        let mut bodies = Vec::new();
        for scrape in scrapes {
            bodies.push(scrape.await.unwrap());
        }
        assert!(Arc::ptr_eq(&bodies[0], &bodies[1]) && Arc::ptr_eq(&bodies[1], &bodies[2]));
        assert!(!Arc::ptr_eq(&bodies[0], &second));
        assert!(String::from_utf8_lossy(&bodies[0].text).contains("g 2"));
        assert_eq!(bodies[0].gzip().await, bodies[1].gzip().await);
    }
}
