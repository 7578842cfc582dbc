//! feishu-vc-exporter: Feishu / Lark video-conferencing exports as Prometheus metrics.
//!
//! Data flows one way: [`collect`] asks [`feishu`] for export bytes, hands them to [`sheet`]
//! for typed records and feeds the records to [`metrics`]; [`server`] only reads [`metrics`].

pub mod secret;
pub mod sheet;
pub mod simulator;
