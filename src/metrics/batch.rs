//! One export file's worth of observations, applied to the registry all at once.

use std::collections::HashMap;

use prometheus::local::LocalHistogram;

use super::labels;
use super::{Metrics, QualityLabel};
use crate::sheet::{
    CheckInDevice, CheckInStatus, ExportSink, Invalid, Kind, Meeting, ParticipantSession,
    QualityMinute, Record, Rejected, Reservation, ReservationStatus,
};

/// The `feature` values of `feishu_vc_meeting_feature_usage_total`.
pub(super) const FEATURES: [&str; 5] = ["audio", "video", "screen_share", "recording", "telephone"];

/// The `reason` values of `feishu_vc_quality_poor_minute_samples_total`.
pub(super) const POOR_REASONS: [&str; 3] = ["latency", "jitter", "packet_loss"];

/// Who the quality minutes of a file belong to, for the optional quality labels. A quality
/// export covers one participant; the loop knows their device and network from the
/// participant list, a file ingested by hand does not (`unknown`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QualityContext {
    pub device: Option<String>,
    pub network_type: Option<String>,
    pub location: Option<String>,
}

pub struct FileBatch<'m> {
    metrics: &'m Metrics,
    context: QualityContext,
    kind: Option<Kind>,
    rows: u64,
    rejected: [u64; Invalid::ALL.len()],
    totals: Totals,
    committed: bool,
}

/// Per-kind accumulators. Histograms are local (unsynchronised) copies that are flushed on
/// commit; counters with free-form labels are plain maps so their values pass the label cap
/// only when the file is known to be good.
enum Totals {
    None,
    Meetings {
        count: u64,
        duration: LocalHistogram,
        size: LocalHistogram,
        features: [u64; 5],
    },
    Participants {
        sessions: HashMap<(String, String), u64>,
        versions: HashMap<(String, String), u64>,
        duration: LocalHistogram,
        leaves: HashMap<&'static str, u64>,
        proxied: u64,
    },
    Quality {
        /// `[media][direction][metric]`, flattened.
        streams: Vec<LocalHistogram>,
        cpu: [LocalHistogram; 3],
        /// `[media][reason]` minute counts.
        poor: [[u64; 3]; 3],
        /// `[media]` minutes in which the media was used.
        used: [u64; 3],
        /// Audio MOS by `[direction]`.
        mos: [LocalHistogram; 2],
    },
    Rooms {
        rooms: HashMap<String, RoomTotals>,
        devices: HashMap<CheckInDevice, u64>,
        delay: LocalHistogram,
    },
}

#[derive(Default)]
struct RoomTotals {
    reservations: HashMap<ReservationStatus, u64>,
    check_ins: HashMap<CheckInStatus, u64>,
    reserved_seconds: u64,
    invitees: u64,
    acceptances: u64,
}

impl<'m> FileBatch<'m> {
    pub(super) fn new(metrics: &'m Metrics, context: QualityContext) -> Self {
        Self {
            metrics,
            context,
            kind: None,
            rows: 0,
            rejected: [0; Invalid::ALL.len()],
            totals: Totals::None,
            committed: false,
        }
    }

    pub fn kind(&self) -> Option<Kind> {
        self.kind
    }

    /// Applies everything this file held to the registry.
    pub fn commit(mut self) {
        self.committed = true;
        let m = self.metrics;
        let Some(kind) = self.kind else { return };
        m.rows.with_label_values(&[kind.as_str()]).inc_by(self.rows);
        for (reason, &count) in Invalid::ALL.iter().zip(&self.rejected) {
            if count > 0 {
                m.rows_rejected
                    .with_label_values(&[kind.as_str(), reason.label()])
                    .inc_by(count);
            }
        }
        match std::mem::replace(&mut self.totals, Totals::None) {
            Totals::None => {}
            Totals::Meetings {
                count,
                duration,
                size,
                features,
            } => {
                m.meetings.inc_by(count);
                duration.flush();
                size.flush();
                for (feature, count) in FEATURES.iter().zip(features) {
                    m.meeting_features
                        .with_label_values(&[feature])
                        .inc_by(count);
                }
            }
            Totals::Participants {
                sessions,
                versions,
                duration,
                leaves,
                proxied,
            } => {
                for ((device, network), count) in sorted(sessions) {
                    let device = m.caps.admit("device", device);
                    let network = m.caps.admit("network_type", network);
                    m.sessions
                        .with_label_values(&[&device, &network])
                        .inc_by(count);
                }
                for ((device, version), count) in sorted(versions) {
                    let device = m.caps.admit("device", device);
                    let version = m.caps.admit("version", version);
                    m.client_versions
                        .with_label_values(&[&device, &version])
                        .inc_by(count);
                }
                duration.flush();
                for (reason, count) in leaves {
                    m.leaves.with_label_values(&[reason]).inc_by(count);
                }
                m.rtc_proxy_sessions.inc_by(proxied);
            }
            Totals::Quality {
                streams,
                cpu,
                poor,
                used,
                mos,
            } => {
                streams.iter().for_each(LocalHistogram::flush);
                cpu.iter().for_each(LocalHistogram::flush);
                mos.iter().for_each(LocalHistogram::flush);
                for ((media, counts), used) in crate::sheet::Media::ALL.iter().zip(poor).zip(used) {
                    for (reason, count) in POOR_REASONS.iter().zip(counts) {
                        m.quality_poor_minutes
                            .with_label_values(&[media.as_str(), reason])
                            .inc_by(count);
                    }
                    m.quality_minutes
                        .with_label_values(&[media.as_str()])
                        .inc_by(used);
                }
            }
            Totals::Rooms {
                rooms,
                devices,
                delay,
            } => {
                for (room, totals) in sorted(rooms) {
                    let room = m.caps.admit("room", room);
                    for (status, count) in totals.reservations {
                        m.room_reservations
                            .with_label_values(&[&room, status.as_str()])
                            .inc_by(count);
                    }
                    for (status, count) in totals.check_ins {
                        m.room_check_ins
                            .with_label_values(&[&room, status.as_str()])
                            .inc_by(count);
                    }
                    m.room_reserved_seconds
                        .with_label_values(&[&room])
                        .inc_by(totals.reserved_seconds);
                    m.room_invitees
                        .with_label_values(&[&room])
                        .inc_by(totals.invitees);
                    m.room_acceptances
                        .with_label_values(&[&room])
                        .inc_by(totals.acceptances);
                }
                for (device, count) in devices {
                    m.room_check_in_devices
                        .with_label_values(&[device.as_str()])
                        .inc_by(count);
                }
                delay.flush();
            }
        }
    }

    fn quality_totals(&self) -> Totals {
        let m = self.metrics;
        let extra: Vec<String> = m
            .options
            .quality_labels
            .iter()
            .map(|label| {
                let context = &self.context;
                let cleaned = match label {
                    QualityLabel::Device => labels::token(context.device.as_deref()),
                    QualityLabel::NetworkType => labels::token(context.network_type.as_deref()),
                    QualityLabel::Location => labels::place(context.location.as_deref()),
                };
                m.caps.admit(label.as_str(), cleaned)
            })
            .collect();
        let mut streams = Vec::with_capacity(30);
        for media in crate::sheet::Media::ALL {
            for direction in crate::sheet::Direction::ALL {
                let mut values = vec![media.as_str(), direction.as_str()];
                values.extend(extra.iter().map(String::as_str));
                for family in &m.quality_streams {
                    streams.push(family.with_label_values(&values).local());
                }
            }
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let cpu = m
            .quality_cpu
            .each_ref()
            .map(|family| family.with_label_values(&extra).local());
        let mos = crate::sheet::Direction::ALL.map(|direction| {
            let mut values = vec![direction.as_str()];
            values.extend(&extra);
            m.quality_audio_mos.with_label_values(&values).local()
        });
        Totals::Quality {
            streams,
            cpu,
            poor: [[0; 3]; 3],
            used: [0; 3],
            mos,
        }
    }

    fn meeting(&mut self, meeting: &Meeting) {
        let Totals::Meetings {
            count,
            duration,
            size,
            features,
        } = &mut self.totals
        else {
            return;
        };
        *count += 1;
        if let Some(seconds) = meeting.duration_seconds {
            duration.observe(seconds as f64);
        }
        if let Some(participants) = meeting.participants {
            size.observe(participants as f64);
        }
        let used = [
            meeting.audio,
            meeting.video,
            meeting.screen_share,
            meeting.recording,
            meeting.telephone,
        ];
        for (total, used) in features.iter_mut().zip(used) {
            *total += u64::from(used == Some(true));
        }
    }

    fn participant(&mut self, session: &ParticipantSession) {
        let Totals::Participants {
            sessions,
            versions,
            duration,
            leaves,
            proxied,
        } = &mut self.totals
        else {
            return;
        };
        let device = labels::token(session.device.as_deref());
        let network = labels::token(session.network_type.as_deref());
        let version = labels::version(session.client_version.as_deref());
        *versions.entry((device.clone(), version)).or_default() += 1;
        *sessions.entry((device, network)).or_default() += 1;
        if let Some(seconds) = session.duration_seconds {
            duration.observe(seconds as f64);
        }
        if let Some(reason) = session.leave_reason {
            *leaves.entry(reason.as_str()).or_default() += 1;
        }
        *proxied += u64::from(session.rtc_proxy == Some(true));
    }

    fn quality(&mut self, minute: &QualityMinute) {
        let thresholds = self.metrics.options.poor_thresholds;
        let Totals::Quality {
            streams,
            cpu,
            poor,
            used,
            mos,
        } = &mut self.totals
        else {
            return;
        };
        // A minute is poor for a media and reason when either direction exceeds the threshold;
        // it is a minute of that media when either direction has a value.
        for ((media, counts), used) in minute.streams.iter().zip(poor.iter_mut()).zip(used) {
            *used += u64::from(
                media
                    .iter()
                    .any(|s| *s != crate::sheet::StreamSample::default()),
            );
            let exceeds = |value: fn(&crate::sheet::StreamSample) -> Option<f64>, limit: f64| {
                media.iter().any(|s| value(s).is_some_and(|v| v > limit))
            };
            let reasons = [
                exceeds(|s| s.latency_seconds, thresholds.latency.as_secs_f64()),
                exceeds(|s| s.jitter_seconds, thresholds.jitter.as_secs_f64()),
                exceeds(|s| s.packet_loss_ratio, thresholds.packet_loss),
            ];
            for (count, poor) in counts.iter_mut().zip(reasons) {
                *count += u64::from(poor);
            }
        }
        // One MOS estimate per audio direction with all three inputs.
        let audio = &minute.streams[crate::sheet::Media::Audio as usize];
        for (sample, histogram) in audio.iter().zip(mos.iter()) {
            if let (Some(latency), Some(jitter), Some(loss)) = (
                sample.latency_seconds,
                sample.jitter_seconds,
                sample.packet_loss_ratio,
            ) {
                histogram.observe(super::mos::audio_mos(latency, jitter, loss));
            }
        }
        let samples = minute.streams.iter().flatten();
        for (sample, histograms) in samples.zip(streams.chunks_exact(5)) {
            let values = [
                sample.latency_seconds,
                sample.jitter_seconds,
                sample.packet_loss_ratio,
                sample.packet_loss_peak_ratio,
                sample.bitrate_bytes_per_second,
            ];
            for (value, histogram) in values.into_iter().zip(histograms) {
                if let Some(value) = value {
                    histogram.observe(value);
                }
            }
        }
        let values = [
            minute.client_cpu_ratio,
            minute.client_cpu_peak_ratio,
            minute.system_cpu_peak_ratio,
        ];
        for (value, histogram) in values.into_iter().zip(cpu.iter()) {
            if let Some(value) = value {
                histogram.observe(value);
            }
        }
    }

    fn reservation(&mut self, booking: &Reservation) {
        let Totals::Rooms {
            rooms,
            devices,
            delay,
        } = &mut self.totals
        else {
            return;
        };
        let room = rooms.entry(labels::place(Some(&booking.room))).or_default();
        *room.reservations.entry(booking.status).or_default() += 1;
        if let Some(status) = booking.check_in_status {
            *room.check_ins.entry(status).or_default() += 1;
        }
        if let Some(device) = booking.check_in_device {
            *devices.entry(device).or_default() += 1;
        }
        if let Some(check_in) = booking.check_in_time {
            delay.observe((check_in - booking.start).max(0) as f64);
        }
        if booking.status != ReservationStatus::PendingApproval {
            // A booking released early held the room only until its release.
            let until = match booking.release_time {
                Some(release) if release > booking.start && release < booking.end => release,
                _ => booking.end,
            };
            room.reserved_seconds += u64::try_from(until - booking.start).unwrap_or(0);
        }
        room.invitees += booking.invitees.unwrap_or(0);
        room.acceptances += booking.acceptances.unwrap_or(0);
    }
}

impl ExportSink for FileBatch<'_> {
    fn begin(&mut self, kind: Kind) {
        let m = self.metrics;
        self.kind = Some(kind);
        self.totals = match kind {
            Kind::MeetingList => Totals::Meetings {
                count: 0,
                duration: m.meeting_duration.local(),
                size: m.meeting_participants.local(),
                features: [0; 5],
            },
            Kind::ParticipantList => Totals::Participants {
                sessions: HashMap::new(),
                versions: HashMap::new(),
                duration: m.session_duration.local(),
                leaves: HashMap::new(),
                proxied: 0,
            },
            Kind::ParticipantQualityList => self.quality_totals(),
            Kind::ResourceReservationList => Totals::Rooms {
                rooms: HashMap::new(),
                devices: HashMap::new(),
                delay: m.room_check_in_delay.local(),
            },
        };
    }

    fn record(&mut self, record: Record) {
        self.rows += 1;
        match &record {
            Record::Meeting(meeting) => self.meeting(meeting),
            Record::Participant(session) => self.participant(session),
            Record::Quality(minute) => self.quality(minute),
            Record::Reservation(booking) => self.reservation(booking),
        }
    }

    fn rejected(&mut self, rejected: Rejected) {
        self.rows += 1;
        if let Some(index) = Invalid::ALL.iter().position(|r| *r == rejected.reason) {
            self.rejected[index] += 1;
        }
        tracing::debug!(kind = ?self.kind, %rejected, "row rejected");
    }
}

impl Drop for FileBatch<'_> {
    /// An uncommitted batch is discarded: local histograms would otherwise flush on drop.
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let locals: Vec<&LocalHistogram> = match &self.totals {
            Totals::None => Vec::new(),
            Totals::Meetings { duration, size, .. } => vec![duration, size],
            Totals::Participants { duration, .. } => vec![duration],
            Totals::Quality {
                streams, cpu, mos, ..
            } => streams.iter().chain(cpu.iter()).chain(mos.iter()).collect(),
            Totals::Rooms { delay, .. } => vec![delay],
        };
        locals.into_iter().for_each(LocalHistogram::clear);
    }
}

/// Label values are admitted to the cap in a stable order, so a run is reproducible.
fn sorted<K: Ord, V>(map: HashMap<K, V>) -> Vec<(K, V)> {
    let mut entries: Vec<(K, V)> = map.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{Metrics, MetricsOptions, PoorThresholds};
    use crate::sheet::{Direction, ExportSink, Kind, Media, QualityMinute, Record, StreamSample};

    fn sample(latency_ms: f64, jitter_ms: f64, loss: f64) -> StreamSample {
        StreamSample {
            latency_seconds: Some(latency_ms / 1000.0),
            jitter_seconds: Some(jitter_ms / 1000.0),
            packet_loss_ratio: Some(loss),
            ..StreamSample::default()
        }
    }

    fn minute(streams: &[(Media, Direction, StreamSample)]) -> Record {
        let mut minute = QualityMinute {
            time: 0,
            streams: [[StreamSample::default(); 2]; 3],
            client_cpu_min_ratio: None,
            client_cpu_ratio: None,
            client_cpu_peak_ratio: None,
            system_cpu_peak_ratio: None,
        };
        for (media, direction, sample) in streams {
            minute.streams[*media as usize][*direction as usize] = *sample;
        }
        Record::Quality(minute)
    }

    fn poor(metrics: &Metrics, media: &str, reason: &str) -> u64 {
        metrics
            .quality_poor_minutes
            .with_label_values(&[media, reason])
            .get()
    }

    #[test]
    fn poor_minutes_count_either_direction_once() {
        let metrics = Metrics::new(MetricsOptions {
            poor_thresholds: PoorThresholds {
                latency: Duration::from_millis(200),
                jitter: Duration::from_millis(20),
                packet_loss: 0.02,
            },
            ..MetricsOptions::default()
        });
        let mut batch = metrics.batch(Default::default());
        batch.begin(Kind::ParticipantQualityList);
        use {Direction::*, Media::*};
        // Both directions bad on latency: one minute, not two.
        batch.record(minute(&[
            (Audio, Receive, sample(250.0, 5.0, 0.0)),
            (Audio, Send, sample(300.0, 5.0, 0.0)),
        ]));
        // Only send is bad on jitter and loss; exactly at a threshold is not poor.
        batch.record(minute(&[
            (Audio, Receive, sample(200.0, 20.0, 0.02)),
            (Audio, Send, sample(10.0, 25.0, 0.03)),
            (Video, Receive, sample(201.0, 1.0, 0.0)),
        ]));
        // Missing values are never poor.
        batch.record(minute(&[(Screen, Send, StreamSample::default())]));
        assert_eq!(poor(&metrics, "audio", "latency"), 0, "uncommitted");
        batch.commit();
        let expected = [
            ("audio", [1, 1, 1]),
            ("video", [1, 0, 0]),
            ("screen", [0, 0, 0]),
        ];
        for (media, counts) in expected {
            for (reason, count) in super::POOR_REASONS.iter().zip(counts) {
                assert_eq!(poor(&metrics, media, reason), count, "{media} {reason}");
            }
        }
        // The denominator: minutes in which the media had a value in either direction.
        for (media, used) in [("audio", 2), ("video", 1), ("screen", 0)] {
            let minutes = metrics.quality_minutes.with_label_values(&[media]).get();
            assert_eq!(minutes, used, "{media}");
        }
        // MOS: two audio directions in each of the first two minutes.
        for direction in ["receive", "send"] {
            let mos = metrics.quality_audio_mos.with_label_values(&[direction]);
            assert_eq!(mos.get_sample_count(), 2, "{direction}");
        }
    }
}
