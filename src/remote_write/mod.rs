//! Prometheus remote write 1.0 client: sends series to Prometheus, VictoriaMetrics, Mimir or Thanos Receive.

mod proto;

pub use proto::{encode, Label, Sample, TimeSeries, WriteRequest};
