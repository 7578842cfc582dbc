//! Records → Prometheus metrics (DESIGN.md section 4). Knows nothing of HTTP or xlsx.
//!
//! [`Metrics`] registers every family that comes from file contents; [`ExporterMetrics`] the
//! exporter's own (serve registers both, plus the `process_*` metrics, on one registry).
//! [`Metrics`] registers every family once; [`FileBatch`] is the sink one export file is read
//! into. A batch lands in the registry only on [`FileBatch::commit`], so a file that fails half
//! way (corrupt, truncated) counts nothing.

mod batch;
pub mod buckets;
mod exporter;
pub mod labels;
pub mod mos;
pub mod openmetrics;
/// The text format writer `ingest` and `/metrics` share (byte-identical to `TextEncoder`).
pub mod text;

use std::time::Duration;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

pub use batch::{FileBatch, QualityContext};
pub use exporter::ExporterMetrics;
use labels::LabelCap;

/// Every HELP text ends with this: the values are only as fresh as the last export.
const DELAYED: &str = "From periodic Feishu exports: delayed, not live.";

/// The optional labels of the quality histograms (`metrics.quality_labels`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum QualityLabel {
    Device,
    NetworkType,
    Location,
}

impl QualityLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            QualityLabel::Device => "device",
            QualityLabel::NetworkType => "network_type",
            QualityLabel::Location => "location",
        }
    }
}

/// Distinct values per free-form label before `other` (`metrics.max_label_values`).
pub const DEFAULT_MAX_LABEL_VALUES: usize = 100;

/// A quality minute is poor for a reason when its value exceeds that threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoorThresholds {
    pub latency: Duration,
    pub jitter: Duration,
    /// A ratio, 0..=1.
    pub packet_loss: f64,
}

impl Default for PoorThresholds {
    /// 300 ms one-way latency, 30 ms jitter, 5 % loss (see the README).
    fn default() -> Self {
        Self {
            latency: Duration::from_millis(300),
            jitter: Duration::from_millis(30),
            packet_loss: 0.05,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricsOptions {
    /// Extra labels on the quality histograms, in this order.
    pub quality_labels: Vec<QualityLabel>,
    /// Distinct values per free-form label before `other`.
    pub max_label_values: usize,
    /// When a quality minute counts as poor (`feishu_vc_quality_poor_minute_samples_total`).
    pub poor_thresholds: PoorThresholds,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        Self {
            quality_labels: Vec::new(),
            max_label_values: DEFAULT_MAX_LABEL_VALUES,
            poor_thresholds: PoorThresholds::default(),
        }
    }
}

pub struct Metrics {
    registry: Registry,
    options: MetricsOptions,
    caps: LabelCap,

    meetings: IntCounter,
    meeting_duration: Histogram,
    meeting_participants: Histogram,
    meeting_features: IntCounterVec,
    meetings_in_progress: IntGauge,
    meeting_participants_in_progress: IntGauge,

    sessions: IntCounterVec,
    session_duration: Histogram,
    leaves: IntCounterVec,
    rtc_proxy_sessions: IntCounter,
    client_versions: IntCounterVec,

    /// `[metric]`: latency, jitter, loss, loss peak, bitrate; labels media, direction, extra.
    quality_streams: [HistogramVec; 5],
    /// Client CPU average, client CPU peak, system CPU peak; labels extra.
    quality_cpu: [HistogramVec; 3],
    /// Labels media, reason (`POOR_REASONS`).
    quality_poor_minutes: IntCounterVec,
    quality_minutes: IntCounterVec,
    /// Labels direction, extra.
    quality_audio_mos: HistogramVec,

    room_reservations: IntCounterVec,
    room_check_ins: IntCounterVec,
    room_check_in_devices: IntCounterVec,
    room_check_in_delay: Histogram,
    room_reserved_seconds: IntCounterVec,
    room_invitees: IntCounterVec,
    room_acceptances: IntCounterVec,

    rows: IntCounterVec,
    rows_rejected: IntCounterVec,
}

/// The registration helpers: a name, a HELP text that says where the data comes from.
struct Families<'r>(&'r Registry);

impl Families<'_> {
    fn help(text: &str) -> String {
        format!("{text} {DELAYED}")
    }

    fn counter(&self, name: &str, help: &str) -> IntCounter {
        let metric = IntCounter::new(name, Self::help(help)).expect("valid metric name");
        self.0
            .register(Box::new(metric.clone()))
            .expect("registered once");
        metric
    }

    fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        let metric = IntCounterVec::new(Opts::new(name, Self::help(help)), labels)
            .expect("valid metric name");
        self.0
            .register(Box::new(metric.clone()))
            .expect("registered once");
        metric
    }

    fn gauge(&self, name: &str, help: &str) -> IntGauge {
        let metric = IntGauge::new(name, Self::help(help)).expect("valid metric name");
        self.0
            .register(Box::new(metric.clone()))
            .expect("registered once");
        metric
    }

    fn histogram(&self, name: &str, help: &str, buckets: &[f64]) -> Histogram {
        let opts = HistogramOpts::new(name, Self::help(help)).buckets(buckets.to_vec());
        let metric = Histogram::with_opts(opts).expect("valid histogram");
        self.0
            .register(Box::new(metric.clone()))
            .expect("registered once");
        metric
    }

    fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        buckets: &[f64],
        labels: &[&str],
    ) -> HistogramVec {
        let opts = HistogramOpts::new(name, Self::help(help)).buckets(buckets.to_vec());
        let metric = HistogramVec::new(opts, labels).expect("valid histogram");
        self.0
            .register(Box::new(metric.clone()))
            .expect("registered once");
        metric
    }
}

impl Metrics {
    pub fn new(options: MetricsOptions) -> Self {
        Self::with_registry(Registry::new(), options)
    }

    pub fn with_registry(registry: Registry, mut options: MetricsOptions) -> Self {
        options.quality_labels.sort();
        options.quality_labels.dedup();
        let f = Families(&registry);
        let extra: Vec<&str> = options.quality_labels.iter().map(|l| l.as_str()).collect();
        let mut stream_labels = vec!["media", "direction"];
        stream_labels.extend(&extra);

        let overflow = f.counter_vec(
            "feishu_vc_label_overflow_total",
            "Label values replaced by \"other\" because the label reached metrics.max_label_values distinct values.",
            &["label"],
        );
        let meeting_features = f.counter_vec(
            "feishu_vc_meeting_feature_usage_total",
            "Ended meetings in which a feature (audio, video, screen_share, recording, telephone) was used.",
            &["feature"],
        );
        let leaves = f.counter_vec(
            "feishu_vc_participant_leaves_total",
            "Participant sessions by why they ended, sorted into fixed reasons.",
            &["reason"],
        );
        let rows = f.counter_vec(
            "feishu_vc_export_rows_total",
            "Data rows read from export files, rejected rows included.",
            &["kind"],
        );
        for label in ["device", "network_type", "version", "room", "location"] {
            overflow.with_label_values(&[label]);
        }
        for feature in batch::FEATURES {
            meeting_features.with_label_values(&[feature]);
        }
        for reason in crate::sheet::LeaveReason::ALL {
            leaves.with_label_values(&[reason.as_str()]);
        }
        let rows_rejected = f.counter_vec(
            "feishu_vc_export_rows_rejected_total",
            "Data rows of export files that could not be read, by reason; the rest of the file still counts.",
            &["kind", "reason"],
        );
        for kind in crate::sheet::Kind::ALL {
            rows.with_label_values(&[kind.as_str()]);
            for reason in crate::sheet::Invalid::ALL {
                rows_rejected.with_label_values(&[kind.as_str(), reason.label()]);
            }
        }
        // Every label value known in advance is there from the start, at zero, so the family
        // exists before its first event and increase() sees that first event. Families with a
        // room label cannot be: rooms are the tenant's. The quality histograms are not either:
        // their media and direction series come with the first quality file, and zero-count
        // histograms would bloat every ingest and backfill output that has no quality rows.
        let room_check_in_devices = f.counter_vec(
            "feishu_vc_room_check_in_devices_total",
            "Meeting-room check-ins by the device used to check in.",
            &["device"],
        );
        for device in crate::sheet::CheckInDevice::ALL {
            room_check_in_devices.with_label_values(&[device.as_str()]);
        }
        let quality_poor_minutes = f.counter_vec(
            "feishu_vc_quality_poor_minute_samples_total",
            "Participant minutes in which either direction of a media exceeded a metrics.poor_thresholds threshold, by reason (latency, jitter, packet_loss).",
            &["media", "reason"],
        );
        for media in crate::sheet::Media::ALL {
            for reason in batch::POOR_REASONS {
                quality_poor_minutes.with_label_values(&[media.as_str(), reason]);
            }
        }
        let quality_minutes = f.counter_vec(
            "feishu_vc_quality_minute_samples_total",
            "Participant minutes in which a media had a value in either direction: the denominator of the poor-minute share.",
            &["media"],
        );
        for media in crate::sheet::Media::ALL {
            quality_minutes.with_label_values(&[media.as_str()]);
        }
        let mut mos_labels = vec!["direction"];
        mos_labels.extend(&extra);

        Self {
            caps: LabelCap::new(options.max_label_values, overflow),
            meetings: f.counter("feishu_vc_meetings_total", "Ended meetings."),
            meeting_duration: f.histogram(
                "feishu_vc_meeting_duration_seconds",
                "Length of ended meetings.",
                buckets::MEETING_SECONDS,
            ),
            meeting_participants: f.histogram(
                "feishu_vc_meeting_participants",
                "Participants per ended meeting.",
                buckets::MEETING_SIZE,
            ),
            meeting_features,
            meetings_in_progress: f.gauge(
                "feishu_vc_meetings_in_progress",
                "Meetings in progress at the last collection.",
            ),
            meeting_participants_in_progress: f.gauge(
                "feishu_vc_meeting_participants_in_progress",
                "Participants of the meetings in progress at the last collection.",
            ),
            sessions: f.counter_vec(
                "feishu_vc_participant_sessions_total",
                "Participant sessions of ended meetings, by client device and network type.",
                &["device", "network_type"],
            ),
            session_duration: f.histogram(
                "feishu_vc_participant_session_duration_seconds",
                "Time each participant spent in an ended meeting.",
                buckets::SESSION_SECONDS,
            ),
            leaves,
            rtc_proxy_sessions: f.counter(
                "feishu_vc_participant_rtc_proxy_sessions_total",
                "Participant sessions that went through an RTC proxy service.",
            ),
            client_versions: f.counter_vec(
                "feishu_vc_participant_client_versions_total",
                "Participant sessions by client device and app version.",
                &["device", "version"],
            ),
            quality_streams: [
                f.histogram_vec(
                    "feishu_vc_quality_latency_seconds",
                    "Per-minute media latency of call participants.",
                    buckets::LATENCY_SECONDS,
                    &stream_labels,
                ),
                f.histogram_vec(
                    "feishu_vc_quality_jitter_seconds",
                    "Per-minute media jitter of call participants.",
                    buckets::JITTER_SECONDS,
                    &stream_labels,
                ),
                f.histogram_vec(
                    "feishu_vc_quality_packet_loss_ratio",
                    "Per-minute average packet loss (0-1) of call participants.",
                    buckets::LOSS_RATIO,
                    &stream_labels,
                ),
                f.histogram_vec(
                    "feishu_vc_quality_packet_loss_peak_ratio",
                    "Per-minute maximum packet loss (0-1) of call participants.",
                    buckets::LOSS_RATIO,
                    &stream_labels,
                ),
                f.histogram_vec(
                    "feishu_vc_quality_bitrate_bytes_per_second",
                    "Per-minute media bitrate of call participants in bytes per second.",
                    buckets::BITRATE_BYTES_PER_SECOND,
                    &stream_labels,
                ),
            ],
            quality_cpu: [
                f.histogram_vec(
                    "feishu_vc_quality_client_cpu_ratio",
                    "Per-minute average CPU use (0-1) of the Feishu client.",
                    buckets::CPU_RATIO,
                    &extra,
                ),
                f.histogram_vec(
                    "feishu_vc_quality_client_cpu_peak_ratio",
                    "Per-minute maximum CPU use (0-1) of the Feishu client.",
                    buckets::CPU_RATIO,
                    &extra,
                ),
                f.histogram_vec(
                    "feishu_vc_quality_system_cpu_peak_ratio",
                    "Per-minute maximum CPU use (0-1) of the participant's whole system.",
                    buckets::CPU_RATIO,
                    &extra,
                ),
            ],
            quality_poor_minutes,
            quality_minutes,
            quality_audio_mos: f.histogram_vec(
                "feishu_vc_quality_audio_mos",
                "Per-minute audio MOS estimate (1-4.5) from latency, jitter and packet loss by a simplified ITU-T G.107 E-model.",
                buckets::MOS,
                &mos_labels,
            ),
            room_reservations: f.counter_vec(
                "feishu_vc_room_reservations_total",
                "Meeting-room bookings that have ended, by room and booking status.",
                &["room", "status"],
            ),
            room_check_ins: f.counter_vec(
                "feishu_vc_room_check_ins_total",
                "Meeting-room bookings by room and check-in status (missed = no-show).",
                &["room", "status"],
            ),
            room_check_in_devices,
            room_check_in_delay: f.histogram(
                "feishu_vc_room_check_in_delay_seconds",
                "Check-in time minus booked start (early check-ins count as 0).",
                buckets::CHECK_IN_DELAY_SECONDS,
            ),
            room_reserved_seconds: f.counter_vec(
                "feishu_vc_room_reserved_seconds_total",
                "Seconds meeting rooms were booked, from start to end or to an early release.",
                &["room"],
            ),
            room_invitees: f.counter_vec(
                "feishu_vc_room_invitees_total",
                "People invited to meetings booked in a room.",
                &["room"],
            ),
            room_acceptances: f.counter_vec(
                "feishu_vc_room_acceptances_total",
                "Invitations accepted for meetings booked in a room.",
                &["room"],
            ),
            rows,
            rows_rejected,
            registry,
            options,
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn options(&self) -> &MetricsOptions {
        &self.options
    }

    /// The meetings in progress at the last collection and their participants.
    pub fn set_in_progress(&self, meetings: u64, participants: u64) {
        self.meetings_in_progress.set(meetings as i64);
        self.meeting_participants_in_progress
            .set(participants as i64);
    }

    /// A sink for one export file; nothing of it counts until [`FileBatch::commit`].
    pub fn batch(&self, context: QualityContext) -> FileBatch<'_> {
        FileBatch::new(self, context)
    }

    /// The Prometheus text exposition of everything registered, families sorted by name.
    pub fn encode_text(&self) -> String {
        let mut buffer = Vec::with_capacity(64 * 1024);
        let families = self.registry.gather();
        // Encoding into a Vec cannot fail for well-formed families.
        if text::encode(&families, &mut buffer).is_err() {
            buffer.clear();
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}
