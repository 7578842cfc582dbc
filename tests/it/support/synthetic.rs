//! Shared by the server tests and `benches/scrape.rs`: a registry filled through the real
//! metrics code, a populated status board, and `serve` on 127.0.0.1:0.

use std::net::SocketAddr;
use std::sync::Arc;

use feishu_vc_exporter::collect::budget::Priority;
use feishu_vc_exporter::metrics::{
    ExporterMetrics, Metrics, MetricsOptions, QualityContext, QualityLabel,
};
use feishu_vc_exporter::server::{serve, ServerError, ServerState, WebConfig};
use feishu_vc_exporter::sheet::{
    CheckInDevice, CheckInStatus, ExportSink, Invalid, Kind, LeaveReason, Meeting,
    ParticipantSession, QualityMinute, Record, Rejected, Reservation, ReservationStatus,
    StreamSample,
};
use feishu_vc_exporter::status::StatusBoard;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The shape of a synthetic tenant.
pub struct Tenant<'a> {
    pub devices: &'a [&'a str],
    pub networks: &'a [&'a str],
    pub rooms: usize,
    /// Quality minutes per device × network combination.
    pub minutes: usize,
}

pub const SMALL: Tenant<'static> = Tenant {
    devices: &["windows", "mac"],
    networks: &["wifi", "ethernet"],
    rooms: 3,
    minutes: 5,
};

/// A deterministic pseudo-random stream.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// Metrics with the quality labels device and network_type, every family registered on one
/// registry with the exporter's own metrics (and `process_*`), fed with `tenant`.
pub fn metrics(tenant: &Tenant<'_>) -> (Metrics, Arc<ExporterMetrics>) {
    let metrics = Metrics::new(MetricsOptions {
        quality_labels: vec![QualityLabel::Device, QualityLabel::NetworkType],
        max_label_values: 200,
        ..MetricsOptions::default()
    });
    let exporter = Arc::new(ExporterMetrics::new(metrics.registry(), true));
    feed(&metrics, tenant);
    exporter.up.set(1);
    exporter.quality_backlog.set(42);
    if let Some(budget) = &exporter.budget_remaining {
        budget.set(9_000);
    }
    for (endpoint, code, calls) in [
        ("create_meeting_list", "0", 12),
        ("poll", "0", 40),
        ("poll", "99991400", 2),
        ("download", "0", 12),
    ] {
        exporter
            .api_requests
            .with_label_values(&[endpoint, code])
            .inc_by(calls);
    }
    for kind in Kind::ALL {
        exporter
            .last_success
            .with_label_values(&[kind.as_str()])
            .set(1_714_000_000.0);
        exporter
            .data_newest
            .with_label_values(&[kind.as_str()])
            .set(1_713_990_000.0);
        exporter
            .tasks
            .with_label_values(&[kind.as_str(), "success"])
            .inc_by(3);
        exporter
            .task_duration
            .with_label_values(&[kind.as_str()])
            .observe(4.2);
    }
    (metrics, exporter)
}

fn file(metrics: &Metrics, context: QualityContext, kind: Kind, records: Vec<Record>) {
    let mut batch = metrics.batch(context);
    batch.begin(kind);
    for record in records {
        batch.record(record);
    }
    if kind == Kind::MeetingList {
        // Real files have the odd unreadable row.
        batch.rejected(Rejected {
            row: 7,
            column: "会议开始时间".into(),
            reason: Invalid::Time,
            fingerprint: 1,
        });
    }
    batch.commit();
}

fn sample(rng: &mut Lcg) -> StreamSample {
    StreamSample {
        bitrate_bytes_per_second: Some(1_000.0 + rng.next(2_000_000) as f64),
        latency_seconds: Some(0.005 + rng.next(800) as f64 / 1000.0),
        jitter_seconds: Some(rng.next(120) as f64 / 1000.0),
        packet_loss_ratio: Some(rng.next(100) as f64 / 1000.0),
        packet_loss_peak_ratio: Some(rng.next(300) as f64 / 1000.0),
    }
}

/// Feeds meetings, participant sessions, quality minutes and room bookings.
pub fn feed(metrics: &Metrics, tenant: &Tenant<'_>) {
    let mut rng = Lcg(7);
    let start = 1_714_000_000i64;
    let meetings = (0..20)
        .map(|i| {
            Record::Meeting(Meeting {
                meeting_no: format!("{:09}", 100_000_000 + i),
                start: start + i * 600,
                end: Some(start + i * 600 + 1800),
                duration_seconds: Some(300 + rng.next(7200)),
                participants: Some(1 + rng.next(40)),
                audio: Some(true),
                video: Some(rng.next(2) == 0),
                screen_share: Some(rng.next(3) == 0),
                recording: Some(rng.next(5) == 0),
                telephone: Some(false),
            })
        })
        .collect();
    file(
        metrics,
        QualityContext::default(),
        Kind::MeetingList,
        meetings,
    );

    let mut sessions = Vec::new();
    for device in tenant.devices {
        for network in tenant.networks {
            for version in 0..2 {
                sessions.push(Record::Participant(ParticipantSession {
                    user_id: Some("ou_synthetic".into()),
                    device: Some((*device).into()),
                    client_version: Some(format!("7.{}.0", 20 + version)),
                    rtc_proxy: Some(rng.next(10) == 0),
                    location: None,
                    network_type: Some((*network).into()),
                    audio: Some(true),
                    video: Some(true),
                    screen_share: Some(false),
                    join: start,
                    leave: Some(start + 1200),
                    duration_seconds: Some(60 + rng.next(3600)),
                    leave_reason: Some(LeaveReason::ALL[rng.next(6) as usize]),
                }));
            }
        }
    }
    file(
        metrics,
        QualityContext::default(),
        Kind::ParticipantList,
        sessions,
    );

    for device in tenant.devices {
        for network in tenant.networks {
            let minutes = (0..tenant.minutes)
                .map(|m| {
                    let streams = [
                        [sample(&mut rng), sample(&mut rng)],
                        [sample(&mut rng), sample(&mut rng)],
                        [sample(&mut rng), sample(&mut rng)],
                    ];
                    Record::Quality(QualityMinute {
                        time: start + 60 * m as i64,
                        streams,
                        client_cpu_min_ratio: Some(0.05),
                        client_cpu_ratio: Some(rng.next(100) as f64 / 100.0),
                        client_cpu_peak_ratio: Some(rng.next(100) as f64 / 100.0),
                        system_cpu_peak_ratio: Some(rng.next(100) as f64 / 100.0),
                    })
                })
                .collect();
            let context = QualityContext {
                device: Some((*device).into()),
                network_type: Some((*network).into()),
                location: None,
            };
            file(metrics, context, Kind::ParticipantQualityList, minutes);
        }
    }

    let mut bookings = Vec::new();
    for room in 0..tenant.rooms {
        for status in ReservationStatus::ALL {
            let check_in = CheckInStatus::ALL[rng.next(CheckInStatus::ALL.len() as u64) as usize];
            bookings.push(Record::Reservation(Reservation {
                room: format!("Room {room:03}"),
                invitees: Some(rng.next(12)),
                acceptances: Some(rng.next(8)),
                start,
                end: start + 3600,
                status: *status,
                check_in_device: Some(
                    CheckInDevice::ALL[rng.next(CheckInDevice::ALL.len() as u64) as usize],
                ),
                check_in_status: Some(check_in),
                check_in_time: Some(start + rng.next(900) as i64),
                release_time: None,
            }));
        }
        // Every check-in status once per room, as a busy room sees over a day.
        for status in CheckInStatus::ALL {
            bookings.push(Record::Reservation(Reservation {
                room: format!("Room {room:03}"),
                invitees: Some(2),
                acceptances: Some(1),
                start,
                end: start + 1800,
                status: ReservationStatus::Reserved,
                check_in_device: None,
                check_in_status: Some(*status),
                check_in_time: None,
                release_time: None,
            }));
        }
    }
    file(
        metrics,
        QualityContext::default(),
        Kind::ResourceReservationList,
        bookings,
    );
}

/// A status board as after a few cycles: every kind has run, one has failed since.
pub fn board() -> Arc<StatusBoard> {
    let board = Arc::new(StatusBoard::new());
    board.task_succeeded(Kind::MeetingList, 1_714_000_000, 1_234);
    board.task_succeeded(Kind::ParticipantList, 1_714_000_100, 20_345);
    board.task_succeeded(Kind::ParticipantQualityList, 1_714_000_200, 1_234_567);
    board.task_succeeded(Kind::ResourceReservationList, 1_713_990_000, 88);
    board.task_failed(
        Kind::ResourceReservationList,
        1_714_000_300,
        "Feishu code 121005: no permission <check the app's admin permission> & scope".into(),
    );
    // Two quality exports still running.
    std::mem::forget(board.task_started(Kind::ParticipantQualityList));
    std::mem::forget(board.task_started(Kind::ParticipantQualityList));
    board.note_paced(Priority::Quality.label());
    board.set_queues(321, 4, Some((9_000, 10_000)));
    board.cycle_done(1_714_000_400, false);
    board
}

pub struct Running {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub handle: JoinHandle<Result<(), ServerError>>,
    pub exporter: Arc<ExporterMetrics>,
}

impl Running {
    pub fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.addr)
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.handle.await.unwrap().unwrap();
    }
}

/// `serve` on 127.0.0.1:0 with the [`SMALL`] tenant.
pub async fn start(web: Option<WebConfig>, board: Arc<StatusBoard>, demo: bool) -> Running {
    let (metrics, exporter) = metrics(&SMALL);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let state = ServerState {
        registry: metrics.registry().clone(),
        status: board,
        telemetry_path: "/metrics".into(),
        demo,
    };
    let handle = tokio::spawn(serve(listener, web, state, shutdown.clone()));
    Running {
        addr,
        shutdown,
        handle,
        exporter,
    }
}
