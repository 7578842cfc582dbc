//! Prometheus remote write 1.0 client: sends series to Prometheus, VictoriaMetrics, Mimir or Thanos Receive.
//!
//! A leaf module: [`RemoteWriteOptions`] (mirroring Prometheus's `remote_write` block) builds a
//! [`RemoteWriter`], whose [`RemoteWriter::send`] validates, batches, sends and retries.

mod client;
mod config;
mod proto;
#[cfg(test)]
mod tests;
mod tls;

pub use client::{RemoteWriter, SendReport};
pub use config::{RemoteWriteOptions, RetryOptions, TlsOptions};
pub use proto::{encode, Label, Sample, TimeSeries, WriteRequest};

/// Why a remote write did not happen. No variant holds a secret: URLs are shown without their
/// userinfo, files by their path, header names without their values.
#[derive(Debug, thiserror::Error)]
pub enum RemoteWriteError {
    /// The options cannot work (bad URL, unreadable secret file, reserved header, ...).
    #[error("remote write configuration: {0}")]
    Config(String),
    /// A series the spec forbids (no `__name__`, empty or repeated label, ...): nothing was sent.
    #[error("remote write: series {series}: {reason}")]
    InvalidSeries { series: String, reason: String },
    /// The body could not be encoded (it would be 4 GiB or more).
    #[error("remote write: encoding a request: {0}")]
    Encode(String),
    /// The receiver refused the request for good (4xx other than 429, or its 500 "too old
    /// sample" / "out of bounds"): retrying cannot help.
    #[error(
        "remote write to {url}: HTTP {status}: {message}{}",
        accepted_note(accepted)
    )]
    Rejected {
        url: String,
        status: u16,
        message: String,
        accepted: SendReport,
    },
    /// The receiver failed, throttled, hung or could not be reached on every attempt.
    #[error(
        "remote write to {url}: gave up after {attempts} attempts: {last}{}",
        accepted_note(accepted)
    )]
    GaveUp {
        url: String,
        attempts: u32,
        /// The last failure: `HTTP 503: <message>`, `timed out after 30s`, `connection failed: ...`.
        last: String,
        /// The receiver's message of the last attempt, when it answered.
        message: Option<String>,
        accepted: SendReport,
    },
}

fn accepted_note(accepted: &SendReport) -> String {
    if accepted.requests == 0 {
        String::new()
    } else {
        format!(
            " ({} samples in {} earlier requests were accepted)",
            accepted.samples, accepted.requests
        )
    }
}

impl RemoteWriteError {
    /// True when sending the same data again cannot succeed: only [`Self::GaveUp`] (the
    /// receiver failed, throttled or was unreachable) may go through later.
    pub fn is_permanent(&self) -> bool {
        !matches!(self, Self::GaveUp { .. })
    }

    /// The receiver's own words (first 512 bytes of its body, control characters removed).
    pub fn receiver_message(&self) -> Option<&str> {
        match self {
            Self::Rejected { message, .. } => Some(message),
            Self::GaveUp { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// What the receiver accepted before the failing request: requests are sent one at a time,
    /// in order, so these are the first `samples` samples of the (validated) input.
    pub fn accepted(&self) -> Option<&SendReport> {
        match self {
            Self::Rejected { accepted, .. } | Self::GaveUp { accepted, .. } => Some(accepted),
            _ => None,
        }
    }
}
