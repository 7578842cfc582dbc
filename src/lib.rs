//! feishu-vc-exporter: Feishu / Lark video-conferencing exports as Prometheus metrics.
//!
//! Data flows one way: [`collect`] asks [`feishu`] for export bytes, hands them to [`sheet`]
//! for typed records and feeds the records to [`metrics`]; [`server`] only reads [`metrics`].

pub mod cli;
pub mod clock;
pub mod cmd;
pub mod collect;
pub mod config;
pub mod feishu;
pub mod ingest;
pub mod logging;
pub mod login;
pub mod metrics;
pub mod remote_write;
pub mod secret;
pub mod server;
pub mod sheet;
pub mod simulator;
pub mod sites;
pub mod status;

/// The git revision the binary was built from (`unknown` outside a checkout).
pub const REVISION: &str = env!("FEISHU_VC_REVISION");
