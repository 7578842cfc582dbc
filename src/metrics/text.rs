//! The Prometheus text format (0.0.4), written byte for byte as `prometheus::TextEncoder`
//! writes it, about twice as fast: each series' labels are rendered once for all its
//! histogram lines, bucket bounds once per family, integral values without float formatting,
//! and everything goes straight into one buffer.

use std::io::Write as _;

use prometheus::proto::{MetricFamily, MetricType};

/// Appends `families` to `out`; fails like `TextEncoder` on an empty or nameless family.
pub fn encode(families: &[MetricFamily], out: &mut Vec<u8>) -> prometheus::Result<()> {
    let mut labels = Vec::with_capacity(256);
    let mut bounds: Vec<(u64, String)> = Vec::new();
    for family in families {
        if family.get_metric().is_empty() {
            return Err(prometheus::Error::Msg(format!(
                "MetricFamily has no metrics: {}",
                family.name()
            )));
        }
        if family.name().is_empty() {
            return Err(prometheus::Error::Msg("MetricFamily has no name".into()));
        }
        let name = family.name().as_bytes();
        let help = family.help();
        if !help.is_empty() {
            out.extend_from_slice(b"# HELP ");
            out.extend_from_slice(name);
            out.push(b' ');
            escape(out, help, false);
            out.push(b'\n');
        }
        let kind = family.get_field_type();
        out.extend_from_slice(b"# TYPE ");
        out.extend_from_slice(name);
        out.push(b' ');
        out.extend_from_slice(match kind {
            MetricType::COUNTER => b"counter",
            MetricType::GAUGE => b"gauge",
            MetricType::HISTOGRAM => b"histogram",
            MetricType::SUMMARY => b"summary",
            MetricType::UNTYPED => b"untyped",
        });
        out.push(b'\n');
        bounds.clear();

        for metric in family.get_metric() {
            labels.clear();
            for (i, pair) in metric.get_label().iter().enumerate() {
                labels.push(if i == 0 { b'{' } else { b',' });
                labels.extend_from_slice(pair.name().as_bytes());
                labels.extend_from_slice(b"=\"");
                escape(&mut labels, pair.value(), true);
                labels.push(b'"');
            }
            let time = metric.timestamp_ms();
            let line = |out: &mut Vec<u8>, suffix: &[u8], extra: Option<(&str, &str)>, value| {
                sample(out, name, suffix, &labels, extra, value, time)
            };
            match kind {
                MetricType::COUNTER => line(out, b"", None, metric.get_counter().get_value()),
                MetricType::GAUGE => line(out, b"", None, metric.get_gauge().get_value()),
                // TextEncoder panics on these; no collector of this crate makes them.
                MetricType::UNTYPED => {
                    return Err(prometheus::Error::Msg(format!(
                        "untyped metric family {} is not supported",
                        family.name()
                    )))
                }
                MetricType::HISTOGRAM => {
                    let histogram = metric.get_histogram();
                    let mut inf_seen = false;
                    for (i, bucket) in histogram.get_bucket().iter().enumerate() {
                        let bound = bucket.upper_bound();
                        // Every series of a family has the same bounds: format them once.
                        if bounds
                            .get(i)
                            .is_none_or(|(bits, _)| *bits != bound.to_bits())
                        {
                            bounds.truncate(i);
                            let mut text = String::new();
                            escape_into_string(&mut text, &bound.to_string());
                            bounds.push((bound.to_bits(), text));
                        }
                        line(
                            out,
                            b"_bucket",
                            Some(("le", &bounds[i].1)),
                            bucket.cumulative_count() as f64,
                        );
                        if bound.is_sign_positive() && bound.is_infinite() {
                            inf_seen = true;
                        }
                    }
                    if !inf_seen {
                        line(
                            out,
                            b"_bucket",
                            Some(("le", "+Inf")),
                            histogram.get_sample_count() as f64,
                        );
                    }
                    line(out, b"_sum", None, histogram.get_sample_sum());
                    line(out, b"_count", None, histogram.get_sample_count() as f64);
                }
                MetricType::SUMMARY => {
                    let summary = metric.get_summary();
                    for quantile in summary.get_quantile() {
                        let mut text = String::new();
                        escape_into_string(&mut text, &quantile.quantile().to_string());
                        line(out, b"", Some(("quantile", &text)), quantile.value());
                    }
                    line(out, b"_sum", None, summary.sample_sum());
                    line(out, b"_count", None, summary.sample_count() as f64);
                }
            }
        }
    }
    Ok(())
}

fn sample(
    out: &mut Vec<u8>,
    name: &[u8],
    suffix: &[u8],
    labels: &[u8],
    extra: Option<(&str, &str)>,
    value: f64,
    time: i64,
) {
    out.extend_from_slice(name);
    out.extend_from_slice(suffix);
    match extra {
        None if labels.is_empty() => {}
        None => {
            out.extend_from_slice(labels);
            out.push(b'}');
        }
        Some((key, text)) => {
            if labels.is_empty() {
                out.push(b'{');
            } else {
                out.extend_from_slice(labels);
                out.push(b',');
            }
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"=\"");
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(b"\"}");
        }
    }
    out.push(b' ');
    number(out, value);
    if time != 0 {
        out.push(b' ');
        integer(out, time.unsigned_abs(), time < 0);
    }
    out.push(b'\n');
}

/// `value` as Rust's `Display` writes it (what `TextEncoder` uses).
fn number(out: &mut Vec<u8>, value: f64) {
    // Integral values below 2^53 print as their digits; -0.0 prints "-0", so it is excluded.
    if value.is_sign_positive() && value < 9_007_199_254_740_992.0 && value.fract() == 0.0 {
        integer(out, value as u64, false);
    } else {
        let _ = write!(out, "{value}");
    }
}

fn integer(out: &mut Vec<u8>, mut n: u64, negative: bool) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if negative {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
}

/// Backslash and newline escaped, and the double quote in label values.
fn escape(out: &mut Vec<u8>, text: &str, quote: bool) {
    for &b in text.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'"' if quote => out.extend_from_slice(b"\\\""),
            b => out.push(b),
        }
    }
}

fn escape_into_string(out: &mut String, text: &str) {
    out.push_str(&escaped(text, true));
}

/// `text` as [`escape`] writes it (also OpenMetrics' escaping).
pub(super) fn escaped(text: &str, quote: bool) -> String {
    let mut bytes = Vec::with_capacity(text.len());
    escape(&mut bytes, text, quote);
    // Only ASCII bytes were replaced, so the bytes are still UTF-8.
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::core::Collector;
    use prometheus::{
        Encoder as _, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, Opts, Registry,
        TextEncoder,
    };

    fn reference(families: &[MetricFamily]) -> String {
        let mut out = Vec::new();
        TextEncoder::new().encode(families, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn ours(families: &[MetricFamily]) -> String {
        let mut out = Vec::new();
        encode(families, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn writes_what_the_text_encoder_writes() {
        let registry = Registry::new();
        let gauges = GaugeVec::new(
            Opts::new("g", "Help with a \\ backslash,\na newline and \"quotes\"."),
            &["v"],
        )
        .unwrap();
        for (label, value) in [
            ("zero", 0.0),
            ("negative zero", -0.0),
            ("one", 1.0),
            ("negative", -42.0),
            ("fraction", 0.1 + 0.2),
            ("tiny", 1e-300),
            ("huge", 1e300),
            ("2^53", 9_007_199_254_740_992.0),
            ("2^53-1", 9_007_199_254_740_991.0),
            ("unix time", 1_714_000_000.0),
            ("inf", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
            ("nan", f64::NAN),
            ("quote \" backslash \\ newline \n", 3.5),
            ("会议室 A", 2.0),
        ] {
            gauges.with_label_values(&[label]).set(value);
        }
        registry.register(Box::new(gauges)).unwrap();
        let histograms = HistogramVec::new(
            HistogramOpts::new("h_seconds", "A histogram.").buckets(vec![0.001, 0.25, 1.0, 1e6]),
            &["a", "b"],
        )
        .unwrap();
        for (i, labels) in [["x", "y"], ["x", "z\"q"], ["", ""]].iter().enumerate() {
            for v in [0.0005, 0.1, 0.7, 2.0, 1e9] {
                histograms
                    .with_label_values(labels)
                    .observe(v * (i + 1) as f64);
            }
        }
        registry.register(Box::new(histograms)).unwrap();
        let plain = prometheus::Histogram::with_opts(
            HistogramOpts::new("h_plain", "No labels.").buckets(vec![1.0, f64::INFINITY]),
        )
        .unwrap();
        plain.observe(0.5);
        registry.register(Box::new(plain)).unwrap();
        let counter = IntCounter::new("c_total", "A counter.").unwrap();
        counter.inc_by(123_456_789);
        registry.register(Box::new(counter)).unwrap();
        let no_help = Gauge::new("no_help", "x").unwrap();
        registry.register(Box::new(no_help.clone())).unwrap();
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .unwrap();

        let mut families = registry.gather();
        // With a timestamp and an empty HELP, which no collector here makes.
        let mut stamped = no_help.collect().remove(0);
        stamped.set_name("stamped".into());
        stamped.set_help(String::new());
        stamped.mut_metric()[0].set_timestamp_ms(-1_714_000_000_123);
        families.push(stamped);

        assert_eq!(ours(&families), reference(&families));
    }

    #[test]
    fn refuses_what_the_text_encoder_refuses() {
        let mut family = MetricFamily::default();
        family.set_name("empty".into());
        assert!(encode(&[family], &mut Vec::new()).is_err());
    }

    #[test]
    fn integers() {
        for n in [0u64, 7, 10, 99, 1_000_000, u64::MAX] {
            let mut out = Vec::new();
            integer(&mut out, n, false);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }
}
