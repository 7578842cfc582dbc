//! The remote write 1.0 wire format: the four protobuf messages and the snappy-compressed body.
//!
//! The messages are written by hand with `prost`'s derive (no `.proto` file, no `protoc`), with
//! the field numbers of the spec's schema; Prometheus's later fields (exemplars, histograms)
//! are not part of 1.0 and are left out.

use prost::Message;

/// The body of one remote write request.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// One series: its full label set (with `__name__`) and its samples, oldest first.
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

impl Label {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

impl Sample {
    pub fn new(timestamp_ms: i64, value: f64) -> Self {
        Self {
            value,
            timestamp: timestamp_ms,
        }
    }
}

/// The HTTP body for `request`: protobuf, then the snappy **block** format (the spec forbids
/// the framed one). Fails only for a body of 4 GiB or more, which snappy cannot hold.
pub fn encode(request: &WriteRequest) -> Result<Vec<u8>, snap::Error> {
    snap::raw::Encoder::new().compress_vec(&request.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_round_trips_through_snappy_and_protobuf() {
        let request = WriteRequest {
            timeseries: vec![
                TimeSeries {
                    labels: vec![Label::new("__name__", "up"), Label::new("job", "a")],
                    samples: vec![Sample::new(1_000, 1.0), Sample::new(16_000, f64::INFINITY)],
                },
                TimeSeries {
                    labels: vec![Label::new("__name__", "x"), Label::new("k", "值")],
                    samples: vec![Sample::new(-5, -0.25)],
                },
            ],
        };
        let body = encode(&request).expect("encode");
        // Block format: no stream identifier chunk (0xff 0x06 0x00 0x00 "sNaPpY").
        assert_ne!(body.first(), Some(&0xff));
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&body)
            .expect("snappy");
        assert_eq!(
            WriteRequest::decode(raw.as_slice()).expect("protobuf"),
            request
        );
    }
}
