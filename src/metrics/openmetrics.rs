//! OpenMetrics with each record's own timestamp, for
//! `promtool tsdb create-blocks-from openmetrics` (`ingest --format openmetrics`, `backfill`).
//!
//! [`Replay`] orders records by the time they count at and feeds them, a step at a time, through
//! the same [`FileBatch`](super::FileBatch) code as `/metrics` into one [`Metrics`];
//! [`StepWriter`] writes every series after each step, as a scrape at that moment would have
//! seen it. Steps are written while records arrive and for an hour after the last one (so
//! `rate()` falls back to zero as it would live), not through long quiet spells: a series is
//! absent at night instead of repeating itself thousands of times.
//!
//! OpenMetrics wants a family's samples together, so each family's lines go to an anonymous
//! temporary file, concatenated at the end: memory holds the records still to be ordered, not
//! series × steps of output.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Seek, Write};
use std::sync::Arc;

use prometheus::proto::MetricType;

use super::text::escaped;
use super::{Metrics, MetricsOptions, QualityContext};
use crate::sheet::{ExportSink, Kind, Record, Rejected};

/// How long series keep being written after the last record.
const HOLD_SECONDS: i64 = 3600;

/// The label names the exporter's own families use; extra labels must not collide with them.
pub const OWN_LABELS: &[&str] = &[
    "code",
    "device",
    "direction",
    "endpoint",
    "feature",
    "kind",
    "label",
    "le",
    "location",
    "media",
    "network_type",
    "quantile",
    "reason",
    "result",
    "room",
    "status",
    "version",
];

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

/// Checks `name=value` labels to add to every sample.
pub fn check_labels(labels: &[(String, String)]) -> Result<(), String> {
    for (index, (name, _)) in labels.iter().enumerate() {
        let valid = name
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        if name.is_empty() || !valid || name.starts_with("__") {
            return Err(format!("{name:?} is not a label name"));
        }
        if OWN_LABELS.contains(&name.as_str()) {
            return Err(format!("{name:?} is a label of the exporter's own metrics"));
        }
        if labels[..index].iter().any(|(other, _)| other == name) {
            return Err(format!("{name:?} is given twice"));
        }
    }
    Ok(())
}

/// Records of files in any order, written in time order. Records may arrive late until a
/// [`Replay::watermark`] promises that none earlier will come.
pub struct Replay {
    writer: StepWriter,
    pending: Vec<Pending>,
    files: u64,
    /// Records outside it are dropped (and counted in [`Replay::outside`]).
    range: Option<(i64, i64)>,
    /// Rejected rows have no time of their own: they count at the file's first record, or
    /// at the last watermark.
    floor: i64,
    outside: u64,
}

struct Pending {
    time: i64,
    file: u64,
    kind: Kind,
    context: Arc<QualityContext>,
    item: Item,
}

// Nearly every item is a record: boxing them would allocate once per row.
#[allow(clippy::large_enum_variant)]
enum Item {
    Record(Record),
    Rejected(Rejected),
}

impl Replay {
    /// `range`: `[from, to)` in unix seconds, or everything. No sample is written at or
    /// after `to` either: that time belongs to the live exporter.
    pub fn new(mut writer: StepWriter, range: Option<(i64, i64)>) -> Self {
        writer.end = range.map_or(i64::MAX, |(_, to)| to);
        Self {
            writer,
            pending: Vec::new(),
            files: 0,
            range,
            floor: range.map_or(i64::MIN, |(from, _)| from),
            outside: 0,
        }
    }

    /// Records dropped for being outside the range.
    pub fn outside(&self) -> u64 {
        self.outside
    }

    pub fn file(
        &mut self,
        kind: Kind,
        context: QualityContext,
        records: Vec<Record>,
        rejected: Vec<Rejected>,
    ) {
        let file = self.files;
        self.files += 1;
        let context = Arc::new(context);
        let first = records.iter().map(record_time).min();
        let mut push = |time: i64, item: Item| {
            if self
                .range
                .is_some_and(|(from, to)| time < from || time >= to)
            {
                self.outside += 1;
                return;
            }
            self.pending.push(Pending {
                time,
                file,
                kind,
                context: context.clone(),
                item,
            });
        };
        for record in records {
            push(record_time(&record), Item::Record(record));
        }
        let rejected_at = first.unwrap_or(self.floor).max(self.floor);
        for row in rejected {
            push(rejected_at, Item::Rejected(row));
        }
    }

    /// No record still to come counts before `time`: everything before its step is final.
    pub fn watermark(&mut self, time: i64) -> io::Result<()> {
        self.floor = self.floor.max(time);
        let step = self.writer.step;
        self.flush(Some(time.div_euclid(step) * step))
    }

    /// Writes what is left and the whole exposition, ending with `# EOF`.
    pub fn finish(mut self, out: &mut dyn Write) -> io::Result<()> {
        self.flush(None)?;
        self.writer.finish(out)
    }

    /// Counts every pending record of a step before `before` (all of them if `None`).
    fn flush(&mut self, before: Option<i64>) -> io::Result<()> {
        let step = self.writer.step;
        // Stable: a file's records of one step stay in file order.
        self.pending
            .sort_by_key(|p| (p.time.div_euclid(step), p.file));
        let ready = match before {
            Some(before) => self
                .pending
                .partition_point(|p| p.time.div_euclid(step) * step < before),
            None => self.pending.len(),
        };
        let metrics = self.writer.metrics.clone();
        let mut group: Option<(i64, u64)> = None;
        let mut batch: Option<super::FileBatch<'_>> = None;
        for pending in self.pending.drain(..ready) {
            let at = pending.time.div_euclid(step) * step;
            if group != Some((at, pending.file)) {
                if let Some(batch) = batch.take() {
                    batch.commit();
                }
                self.writer.advance_to(at)?;
                let mut next = metrics.batch((*pending.context).clone());
                next.begin(pending.kind);
                batch = Some(next);
                group = Some((at, pending.file));
            }
            if let Some(batch) = batch.as_mut() {
                match pending.item {
                    Item::Record(record) => batch.record(record),
                    Item::Rejected(row) => batch.rejected(row),
                }
            }
        }
        if let Some(batch) = batch {
            batch.commit();
        }
        Ok(())
    }
}

/// The registry, written at steps.
pub struct StepWriter {
    metrics: Arc<Metrics>,
    step: i64,
    /// `name="value"` pairs added to every sample, already escaped.
    labels: Vec<String>,
    families: Vec<Family>,
    /// The step being counted: every step before it is written.
    current: Option<i64>,
    /// The start of the step of the newest record.
    last_activity: i64,
    /// No sample at or after this.
    end: i64,
}

/// One family of the output: its TYPE and HELP lines, its samples so far.
struct Family {
    name: String,
    header: String,
    samples: BufWriter<std::fs::File>,
}

impl StepWriter {
    /// `step_seconds` at least 1; `labels` checked by [`check_labels`].
    pub fn new(options: MetricsOptions, step_seconds: i64, labels: &[(String, String)]) -> Self {
        Self {
            metrics: Arc::new(Metrics::new(options)),
            step: step_seconds.max(1),
            labels: labels
                .iter()
                .map(|(name, value)| format!("{name}=\"{}\"", escaped(value, true)))
                .collect(),
            families: Vec::new(),
            current: None,
            last_activity: i64::MIN,
            end: i64::MAX,
        }
    }

    /// Moves on to the step starting at `at`, writing the steps in between (those within the
    /// hold after the last record).
    fn advance_to(&mut self, at: i64) -> io::Result<()> {
        if let Some(current) = self.current {
            let mut t = current;
            while t < at {
                if t - self.last_activity <= HOLD_SECONDS && t < self.end {
                    self.snapshot(t)?;
                } else {
                    break;
                }
                t += self.step;
            }
        }
        if self.current.is_none_or(|current| at > current) {
            self.current = Some(at);
        }
        self.last_activity = self.last_activity.max(at);
        Ok(())
    }

    fn finish(mut self, out: &mut dyn Write) -> io::Result<()> {
        if let Some(current) = self.current {
            // The last step, and the hold after it.
            self.advance_to(current.saturating_add(HOLD_SECONDS + self.step))?;
        }
        for family in self.families {
            out.write_all(family.header.as_bytes())?;
            let mut file = family.samples.into_inner().map_err(|e| e.into_error())?;
            file.rewind()?;
            io::copy(&mut file, out)?;
        }
        out.write_all(b"# EOF\n")
    }

    /// Appends every series of the registry at `time` (seconds) to its family's samples.
    fn snapshot(&mut self, time: i64) -> io::Result<()> {
        let mut text = String::new();
        for family in self.metrics.registry().gather() {
            let name = family.name();
            let kind = family.get_field_type();
            let index = match self.families.iter().position(|f| f.name == name) {
                Some(index) => index,
                None => {
                    self.families.push(Family {
                        name: name.to_owned(),
                        header: header(name, kind, family.help()),
                        samples: BufWriter::new(tempfile::tempfile()?),
                    });
                    self.families.len() - 1
                }
            };
            text.clear();
            for metric in family.get_metric() {
                let mut labels: Vec<String> = metric
                    .get_label()
                    .iter()
                    .map(|pair| format!("{}=\"{}\"", pair.name(), escaped(pair.value(), true)))
                    .collect();
                labels.extend(self.labels.iter().cloned());
                let mut line = |suffix: &str, le: Option<&str>, value: f64| {
                    let _ = write!(text, "{name}{suffix}");
                    let mut all = labels.iter().map(String::as_str).chain(le);
                    if let Some(first) = all.next() {
                        let _ = write!(text, "{{{first}");
                        for label in all {
                            let _ = write!(text, ",{label}");
                        }
                        text.push('}');
                    }
                    let _ = writeln!(text, " {} {time}", number(value));
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
                            let le = format!("le=\"{}\"", number(bound));
                            line("_bucket", Some(&le), bucket.cumulative_count() as f64);
                        }
                        let count = histogram.get_sample_count() as f64;
                        line("_bucket", Some("le=\"+Inf\""), count);
                        line("_sum", None, histogram.get_sample_sum());
                        line("_count", None, count);
                    }
                    // No family of `Metrics` is a summary or untyped.
                    MetricType::SUMMARY | MetricType::UNTYPED => {}
                }
            }
            self.families[index].samples.write_all(text.as_bytes())?;
        }
        Ok(())
    }
}

/// The TYPE and HELP lines; a counter's family name has no `_total`.
fn header(name: &str, kind: MetricType, help: &str) -> String {
    let (name, type_text) = match kind {
        MetricType::COUNTER => (name.strip_suffix("_total").unwrap_or(name), "counter"),
        MetricType::GAUGE => (name, "gauge"),
        MetricType::HISTOGRAM => (name, "histogram"),
        MetricType::SUMMARY => (name, "summary"),
        MetricType::UNTYPED => (name, "unknown"),
    };
    format!(
        "# TYPE {name} {type_text}\n# HELP {name} {}\n",
        escaped(help, false)
    )
}

/// A float as OpenMetrics writes it: `+Inf`/`-Inf`/`NaN` spelled out.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        value.to_string()
    }
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

    fn replay(range: Option<(i64, i64)>, labels: &[(String, String)]) -> Replay {
        Replay::new(
            StepWriter::new(MetricsOptions::default(), 60, labels),
            range,
        )
    }

    fn output(replay: Replay) -> String {
        let mut out = Vec::new();
        replay.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn series<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.lines()
            .filter(|l| l.starts_with(prefix) && l[prefix.len()..].starts_with(' '))
            .collect()
    }

    const T0: i64 = 1_700_000_040; // a minute boundary

    #[test]
    fn accumulates_in_time_order_and_holds_an_hour_after_the_last_record() {
        let mut replay = replay(None, &[]);
        // Out of order, across two files; two records in the first minute.
        replay.file(
            Kind::ParticipantQualityList,
            QualityContext::default(),
            vec![quality(T0 + 60, 0.5), quality(T0, 0.1)],
            Vec::new(),
        );
        replay.file(
            Kind::ParticipantQualityList,
            QualityContext::default(),
            vec![quality(T0 + 10, 0.2)],
            Vec::new(),
        );
        let text = output(replay);
        assert!(text.ends_with("# EOF\n"));
        let count =
            "feishu_vc_quality_latency_seconds_count{direction=\"receive\",media=\"audio\"}";
        let lines = series(&text, count);
        assert_eq!(lines[0], format!("{count} 2 {T0}"));
        assert_eq!(lines[1], format!("{count} 3 {}", T0 + 60));
        // Then unchanged every minute for the hour after the last record, and no longer.
        assert_eq!(lines.len(), 2 + 60);
        assert_eq!(
            lines.last().copied(),
            Some(format!("{count} 3 {}", T0 + 60 + 3600).as_str())
        );
        let poor =
            "feishu_vc_quality_poor_minute_samples_total{media=\"audio\",reason=\"latency\"}";
        assert_eq!(
            series(&text, poor)[..2],
            [format!("{poor} 0 {T0}"), format!("{poor} 1 {}", T0 + 60)]
        );
        assert!(text.contains("# TYPE feishu_vc_quality_poor_minute_samples counter\n"));
        assert_eq!(
            text.matches("# TYPE feishu_vc_quality_latency_seconds ")
                .count(),
            1
        );
    }

    #[test]
    fn a_quiet_spell_is_a_gap_not_a_repeat() {
        let mut replay = replay(None, &[]);
        for time in [T0, T0 + 86_400] {
            replay.file(
                Kind::ParticipantQualityList,
                QualityContext::default(),
                vec![quality(time, 0.1)],
                Vec::new(),
            );
        }
        let text = output(replay);
        let count =
            "feishu_vc_quality_latency_seconds_count{direction=\"receive\",media=\"audio\"}";
        let lines = series(&text, count);
        assert_eq!(lines.len(), 2 * 61, "{lines:?}");
        assert!(lines.contains(&format!("{count} 2 {}", T0 + 86_400).as_str()));
    }

    #[test]
    fn watermarks_release_records_and_the_range_drops_the_rest() {
        let mut replay = replay(Some((T0, T0 + 600)), &[("job".into(), "feishu".into())]);
        replay.file(
            Kind::ParticipantQualityList,
            QualityContext::default(),
            vec![quality(T0 - 60, 0.1), quality(T0 + 120, 0.1)],
            Vec::new(),
        );
        replay.watermark(T0 + 300).unwrap();
        assert!(replay.pending.is_empty());
        // Later than the watermark's step may still come; this one is outside the range.
        replay.file(
            Kind::ParticipantQualityList,
            QualityContext::default(),
            vec![quality(T0 + 300, 0.1), quality(T0 + 600, 0.1)],
            Vec::new(),
        );
        assert_eq!(replay.outside(), 2);
        let text = output(replay);
        let count = "feishu_vc_quality_latency_seconds_count{direction=\"receive\",media=\"audio\",job=\"feishu\"}";
        let lines = series(&text, count);
        assert_eq!(lines[0], format!("{count} 1 {}", T0 + 120));
        assert!(lines.contains(&format!("{count} 2 {}", T0 + 300).as_str()));
        // The hold stops at the end of the range.
        assert_eq!(
            lines.last().copied(),
            Some(format!("{count} 2 {}", T0 + 540).as_str())
        );
    }

    #[test]
    fn extra_labels_are_checked() {
        let label = |name: &str| vec![(name.to_owned(), "x".to_owned())];
        assert!(check_labels(&label("instance")).is_ok());
        for bad in ["", "1a", "a-b", "__name__", "media", "le"] {
            assert!(check_labels(&label(bad)).is_err(), "{bad}");
        }
        let twice = [label("job"), label("job")].concat();
        assert!(check_labels(&twice).is_err());
    }

    #[test]
    fn own_labels_cover_every_label_the_exporter_writes() {
        let snapshot = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/snapshots/it__ingest__all_kinds.snap"
        ))
        .unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for line in snapshot.lines().filter(|l| l.starts_with("feishu_vc_")) {
            let Some((_, labels)) = line.split_once('{') else {
                continue;
            };
            for pair in labels.split("\",") {
                if let Some((name, _)) = pair.split_once("=\"") {
                    seen.insert(name.trim_start_matches(',').to_owned());
                }
            }
        }
        assert!(seen.len() > 5, "{seen:?}");
        for name in &seen {
            assert!(OWN_LABELS.contains(&name.as_str()), "{name}");
        }
    }
}
