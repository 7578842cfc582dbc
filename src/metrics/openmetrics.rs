//! `ingest --format openmetrics`: records replayed in time order, the registry written after
//! each minute with that minute as the sample timestamp, for
//! `promtool tsdb create-blocks-from openmetrics`.
//!
//! The record → metric logic is [`FileBatch`](super::FileBatch)'s: records are grouped by the
//! minute they count at, each group goes through a batch into one [`Metrics`], and the
//! registry is snapshotted after each group. OpenMetrics wants a family's samples together, so
//! each family's lines go to an anonymous temporary file, concatenated at the end: memory holds
//! the records, not series × minutes of output.

use std::fmt::Write as _;
use std::io::{BufWriter, Seek, Write};

use prometheus::proto::MetricType;

use super::{Metrics, MetricsOptions, QualityContext};
use crate::sheet::{ExportSink, Kind, Record, Rejected};

/// When a record counts: meetings and sessions when they end, quality at its minute, room
/// bookings at their end.
pub fn record_time(record: &Record) -> i64 {
    match record {
        Record::Meeting(m) => m.end.unwrap_or(m.start),
        Record::Participant(p) => p.leave.unwrap_or(p.join),
        Record::Quality(q) => q.time,
        Record::Reservation(r) => r.end,
    }
}

/// A sink that keeps the records of files, with their kind; rejected rows are dropped (they
/// have no time of their own).
#[derive(Default)]
pub struct Timeline {
    kind: Option<Kind>,
    records: Vec<(i64, Kind, Record)>,
}

impl Timeline {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Forgets what came after `len` records (a file that failed half way).
    pub fn truncate(&mut self, len: usize) {
        self.records.truncate(len);
    }

    /// Writes the OpenMetrics exposition, ending with `# EOF`.
    pub fn write(self, options: MetricsOptions, out: &mut dyn Write) -> std::io::Result<()> {
        let mut records = self.records;
        // Stable: records of one minute keep their file order.
        records.sort_by_key(|(time, kind, _)| (time.div_euclid(60), *kind));
        let metrics = Metrics::new(options);
        let mut families: Vec<Family> = Vec::new();
        let mut records = records.into_iter().peekable();
        while let Some((time, _, _)) = records.peek() {
            let minute = time.div_euclid(60) * 60;
            while let Some((_, kind, _)) = records.peek() {
                let kind = *kind;
                let mut batch = metrics.batch(QualityContext::default());
                batch.begin(kind);
                while let Some((_, _, record)) =
                    records.next_if(|(t, k, _)| t.div_euclid(60) * 60 == minute && *k == kind)
                {
                    batch.record(record);
                }
                batch.commit();
                if records
                    .peek()
                    .is_none_or(|(t, _, _)| t.div_euclid(60) * 60 != minute)
                {
                    break;
                }
            }
            snapshot(&metrics, minute, &mut families)?;
        }
        for family in families {
            out.write_all(family.header.as_bytes())?;
            let mut file = family.samples.into_inner().map_err(|e| e.into_error())?;
            file.rewind()?;
            std::io::copy(&mut file, out)?;
        }
        out.write_all(b"# EOF\n")
    }
}

impl ExportSink for Timeline {
    fn begin(&mut self, kind: Kind) {
        self.kind = Some(kind);
    }

    fn record(&mut self, record: Record) {
        if let Some(kind) = self.kind {
            self.records.push((record_time(&record), kind, record));
        }
    }

    fn rejected(&mut self, _: Rejected) {}
}

/// One family of the output: its TYPE and HELP lines, its samples so far.
struct Family {
    name: String,
    header: String,
    samples: BufWriter<std::fs::File>,
}

/// Appends every series of the registry at `time` (seconds) to its family's samples.
fn snapshot(metrics: &Metrics, time: i64, families: &mut Vec<Family>) -> std::io::Result<()> {
    let mut text = String::new();
    for family in metrics.registry().gather() {
        let name = family.name();
        let kind = family.get_field_type();
        let index = match families.iter().position(|f| f.name == name) {
            Some(index) => index,
            None => {
                let (type_name, type_text) = match kind {
                    MetricType::COUNTER => (name.strip_suffix("_total").unwrap_or(name), "counter"),
                    MetricType::GAUGE => (name, "gauge"),
                    MetricType::HISTOGRAM => (name, "histogram"),
                    MetricType::SUMMARY => (name, "summary"),
                    MetricType::UNTYPED => (name, "unknown"),
                };
                let mut header = String::new();
                let _ = writeln!(header, "# TYPE {type_name} {type_text}");
                let _ = writeln!(
                    header,
                    "# HELP {type_name} {}",
                    escape(family.help(), false)
                );
                families.push(Family {
                    name: name.to_owned(),
                    header,
                    samples: BufWriter::new(tempfile::tempfile()?),
                });
                families.len() - 1
            }
        };
        text.clear();
        let out = &mut text;
        for metric in family.get_metric() {
            let labels: Vec<String> = metric
                .get_label()
                .iter()
                .map(|pair| format!("{}=\"{}\"", pair.name(), escape(pair.value(), true)))
                .collect();
            let mut line = |suffix: &str, extra: Option<String>, value: f64| {
                let mut all = labels.clone();
                all.extend(extra);
                let labels = if all.is_empty() {
                    String::new()
                } else {
                    format!("{{{}}}", all.join(","))
                };
                let _ = writeln!(out, "{name}{suffix}{labels} {} {time}", number(value));
            };
            match kind {
                MetricType::COUNTER => line("", None, metric.get_counter().get_value()),
                MetricType::GAUGE => line("", None, metric.get_gauge().get_value()),
                MetricType::HISTOGRAM => {
                    let histogram = metric.get_histogram();
                    for bucket in histogram.get_bucket() {
                        let bound = bucket.upper_bound();
                        if bound.is_infinite() {
                            continue;
                        }
                        line(
                            "_bucket",
                            Some(format!("le=\"{}\"", number(bound))),
                            bucket.cumulative_count() as f64,
                        );
                    }
                    let count = histogram.get_sample_count() as f64;
                    line("_bucket", Some("le=\"+Inf\"".to_owned()), count);
                    line("_sum", None, histogram.get_sample_sum());
                    line("_count", None, count);
                }
                // No family of `Metrics` is a summary or untyped.
                MetricType::SUMMARY | MetricType::UNTYPED => {}
            }
        }
        families[index].samples.write_all(text.as_bytes())?;
    }
    Ok(())
}

/// A float as OpenMetrics writes it: integral values with `.0` avoided, `+Inf`/`-Inf`/`NaN`.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        value.to_string()
    }
}

fn escape(text: &str, quote: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheet::{QualityMinute, StreamSample};

    fn quality(time: i64, latency: f64) -> Record {
        let mut streams = [[StreamSample::default(); 2]; 3];
        streams[0][0].latency_seconds = Some(latency);
        Record::Quality(QualityMinute {
            time,
            streams,
            client_cpu_min_ratio: None,
            client_cpu_ratio: None,
            client_cpu_peak_ratio: None,
            system_cpu_peak_ratio: None,
        })
    }

    #[test]
    fn accumulates_in_time_order_one_sample_per_minute() {
        let mut timeline = Timeline::default();
        timeline.begin(Kind::ParticipantQualityList);
        // Out of order; two records in the minute starting at 1_700_000_040.
        for (time, latency) in [
            (1_700_000_100, 0.5),
            (1_700_000_040, 0.1),
            (1_700_000_050, 0.2),
        ] {
            timeline.record(quality(time, latency));
        }
        let mut out = Vec::new();
        timeline.write(MetricsOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("# EOF\n"));
        let count =
            "feishu_vc_quality_latency_seconds_count{direction=\"receive\",media=\"audio\"}";
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with(count)).collect();
        assert_eq!(
            lines,
            [
                format!("{count} 2 1700000040"),
                format!("{count} 3 1700000100")
            ]
        );
        // Poor latency only in the later minute.
        let poor =
            "feishu_vc_quality_poor_minute_samples_total{media=\"audio\",reason=\"latency\"}";
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with(poor)).collect();
        assert_eq!(
            lines,
            [
                format!("{poor} 0 1700000040"),
                format!("{poor} 1 1700000100")
            ]
        );
        assert!(text.contains("# TYPE feishu_vc_quality_poor_minute_samples counter\n"));
        assert_eq!(
            text.matches("# TYPE feishu_vc_quality_latency_seconds ")
                .count(),
            1
        );
    }
}
