//! The exporter's own metrics: is it up, how its export tasks and API calls go.

use prometheus::{
    Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// Buckets of one export task, create to download: seconds to the 10 min default timeout.
const TASK_SECONDS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0];

pub struct ExporterMetrics {
    pub up: IntGauge,
    pub build_info: IntGaugeVec,
    pub tasks: IntCounterVec,
    pub task_duration: HistogramVec,
    pub last_success: GaugeVec,
    pub api_requests: IntCounterVec,
    /// Only registered when a monthly budget is set.
    pub budget_remaining: Option<IntGauge>,
    pub data_newest: GaugeVec,
    pub quality_backlog: IntGauge,
    pub cycle_duration: Gauge,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: T) -> T {
    registry
        .register(Box::new(metric.clone()))
        .expect("registered once");
    metric
}

impl ExporterMetrics {
    /// Registers the families on `registry`, with the `process_*` metrics.
    pub fn new(registry: &Registry, with_budget: bool) -> Self {
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("registered once");
        let kinds = crate::sheet::Kind::ALL;
        let this = Self {
            up: register(
                registry,
                IntGauge::new(
                    "feishu_vc_up",
                    "1 when the last collection cycle reached Feishu and every enabled export succeeded.",
                )
                .expect("valid"),
            ),
            build_info: register(
                registry,
                IntGaugeVec::new(
                    Opts::new("feishu_vc_exporter_build_info", "Always 1; the labels name the exporter build."),
                    &["version", "revision"],
                )
                .expect("valid"),
            ),
            tasks: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "feishu_vc_export_tasks_total",
                        "Export tasks run (create, poll, download, parse), by kind and result: success, failed (Feishu reported the task failed), timeout, error.",
                    ),
                    &["kind", "result"],
                )
                .expect("valid"),
            ),
            task_duration: register(
                registry,
                HistogramVec::new(
                    HistogramOpts::new(
                        "feishu_vc_export_task_duration_seconds",
                        "Time from creating an export task to having its file parsed.",
                    )
                    .buckets(TASK_SECONDS.to_vec()),
                    &["kind"],
                )
                .expect("valid"),
            ),
            last_success: register(
                registry,
                GaugeVec::new(
                    Opts::new(
                        "feishu_vc_export_last_success_timestamp_seconds",
                        "Unix time of the last export of this kind that was downloaded and parsed.",
                    ),
                    &["kind"],
                )
                .expect("valid"),
            ),
            api_requests: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "feishu_vc_api_requests_total",
                        "HTTP requests made to the Feishu API, by endpoint and Feishu code (0 = ok; http_<status>, transport or timeout when there was no code).",
                    ),
                    &["endpoint", "code"],
                )
                .expect("valid"),
            ),
            budget_remaining: with_budget.then(|| {
                register(
                    registry,
                    IntGauge::new(
                        "feishu_vc_api_budget_remaining_calls",
                        "API calls left this month under feishu.monthly_call_budget.",
                    )
                    .expect("valid"),
                )
            }),
            data_newest: register(
                registry,
                GaugeVec::new(
                    Opts::new(
                        "feishu_vc_data_newest_timestamp_seconds",
                        "Unix time of the newest record ingested, by export kind: how far behind the data is.",
                    ),
                    &["kind"],
                )
                .expect("valid"),
            ),
            quality_backlog: register(
                registry,
                IntGauge::new(
                    "feishu_vc_quality_backlog_participants",
                    "Participant sessions whose quality export is still to be fetched.",
                )
                .expect("valid"),
            ),
            cycle_duration: register(
                registry,
                Gauge::new(
                    "feishu_vc_collection_cycle_duration_seconds",
                    "How long the last collection cycle took.",
                )
                .expect("valid"),
            ),
        };
        this.build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), crate::REVISION])
            .set(1);
        // Every known series from the start, at zero, so rate() and absent() alerts work
        // before the first failure.
        for kind in kinds {
            this.task_duration.with_label_values(&[kind.as_str()]);
            for result in ["success", "failed", "timeout", "error"] {
                this.tasks.with_label_values(&[kind.as_str(), result]);
            }
        }
        this
    }
}
