//! Sends series to one receiver: validation, batching, the HTTP request, and what to do with each answer.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, StatusCode};
use url::Url;

use super::config::{display_url, RemoteWriteOptions, RetryOptions};
use super::proto::{encode, Label, TimeSeries, WriteRequest};
use super::{tls, RemoteWriteError};

/// How much of a receiver's answer goes into an error.
const MAX_MESSAGE_BYTES: usize = 512;

/// What one [`RemoteWriter::send`] (or the part of it before an error) got accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendReport {
    /// HTTP requests accepted (2xx).
    pub requests: u64,
    pub samples: u64,
    /// Series with at least one accepted sample.
    pub series: u64,
    /// Attempts beyond the first, over all requests.
    pub retries: u64,
}

/// A remote write 1.0 client for one receiver. Cheap to share by reference; `send` may be
/// called from several tasks for *different* series (the spec allows that). The secret files
/// are read once, by [`RemoteWriter::new`].
#[derive(Clone)]
pub struct RemoteWriter {
    http: reqwest::Client,
    url: Url,
    shown_url: String,
    timeout: Duration,
    max_samples: usize,
    retry: RetryOptions,
}

impl fmt::Debug for RemoteWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteWriter")
            .field("url", &self.shown_url)
            .field("max_samples_per_request", &self.max_samples)
            .finish_non_exhaustive()
    }
}

fn config_error(message: impl Into<String>) -> RemoteWriteError {
    RemoteWriteError::Config(message.into())
}

impl RemoteWriter {
    /// Checks the options, reads the secret files and the TLS files, and builds the client.
    /// Nothing is sent yet.
    pub fn new(options: RemoteWriteOptions) -> Result<Self, RemoteWriteError> {
        options.validate()?;
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("snappy"));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static(concat!("feishu-vc-exporter/", env!("CARGO_PKG_VERSION"))),
        );
        headers.insert(
            "x-prometheus-remote-write-version",
            HeaderValue::from_static("0.1.0"),
        );
        for (name, value) in &options.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| config_error(format!("header {name:?} is not a valid name")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| config_error(format!("header {name:?} has an invalid value")))?;
            headers.insert(name, value);
        }
        if let Some(secret) = options.authorization()? {
            let mut value = HeaderValue::from_str(secret.expose()).map_err(|_| {
                config_error("the password or token file holds characters a header cannot carry")
            })?;
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            // A POST redirected by 301/302 would arrive as a GET without its body.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(config) = tls::client_config(&options.tls)? {
            builder = builder.use_preconfigured_tls(config);
        }
        let http = builder
            .build()
            .map_err(|e| config_error(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            shown_url: display_url(&options.url),
            url: options.url,
            timeout: options.timeout,
            max_samples: options.max_samples_per_request,
            retry: options.retry,
        })
    }

    /// Sends `series`, in requests of at most `max_samples_per_request` samples, one request
    /// at a time. Every series is checked first (nothing is sent if one is invalid): its labels
    /// are sorted by name and must include `__name__`, with no empty or repeated name and no
    /// empty value; its samples are sorted by time and must not share a timestamp; a label set
    /// must not come twice. Series without samples are skipped.
    ///
    /// Requests follow the input order, so on an error [`RemoteWriteError::accepted`] counts a
    /// prefix: the first `samples` samples of the series in input order, each oldest first.
    pub async fn send(&self, series: Vec<TimeSeries>) -> Result<SendReport, RemoteWriteError> {
        let batches = batches(prepare(series)?, self.max_samples);
        let mut report = SendReport::default();
        for batch in batches {
            let body =
                encode(&batch.request).map_err(|e| RemoteWriteError::Encode(e.to_string()))?;
            report.retries += self.post(Bytes::from(body), &report).await?;
            report.requests += 1;
            report.samples += batch.samples;
            report.series += batch.new_series;
        }
        Ok(report)
    }

    /// Posts one body until it is accepted, refused for good, or the attempts run out;
    /// returns the number of retries.
    async fn post(&self, body: Bytes, accepted: &SendReport) -> Result<u64, RemoteWriteError> {
        let mut attempt: u32 = 1;
        loop {
            let (last, message, retry_after) = match self
                .http
                .post(self.url.clone())
                .body(body.clone())
                .send()
                .await
            {
                Ok(response) if response.status().is_success() => {
                    return Ok(u64::from(attempt - 1))
                }
                Ok(response) => {
                    let status = response.status();
                    let retry_after = retry_after(response.headers());
                    let mut message = read_message(response).await;
                    if status.is_redirection() {
                        message = format!("not followed, set url to the final address ({message})");
                    }
                    if !retryable(status, &message) {
                        return Err(RemoteWriteError::Rejected {
                            url: self.shown_url.clone(),
                            status: status.as_u16(),
                            message,
                            accepted: *accepted,
                        });
                    }
                    (
                        format!("HTTP {status}: {message}"),
                        Some(message),
                        retry_after,
                    )
                }
                Err(error) => (describe(error, self.timeout), None, None),
            };
            if attempt >= self.retry.max_attempts {
                return Err(RemoteWriteError::GaveUp {
                    url: self.shown_url.clone(),
                    attempts: attempt,
                    last,
                    message,
                    accepted: *accepted,
                });
            }
            let wait = match retry_after {
                Some(wait) => wait.min(self.retry.max_backoff),
                None => backoff(&self.retry, attempt),
            };
            tracing::warn!(
                url = %self.shown_url, attempt, wait = ?wait, error = %last,
                "remote write failed; retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// 429 and 5xx may pass later, except Prometheus < 2.50's 500 for a sample outside what its
/// TSDB accepts ("too old sample", "out of bounds"): that answer never changes.
fn retryable(status: StatusCode, message: &str) -> bool {
    match status.as_u16() {
        429 => true,
        500 => {
            let message = message.to_ascii_lowercase();
            !message.contains("too old sample") && !message.contains("out of bounds")
        }
        501..=599 => true,
        _ => false,
    }
}

/// `min_backoff` doubled per attempt up to `max_backoff`, then a random point in its upper half
/// so that writers that failed together do not retry together.
fn backoff(retry: &RetryOptions, attempt: u32) -> Duration {
    let doubling = 2u32.saturating_pow(attempt.saturating_sub(1));
    let full = retry
        .min_backoff
        .saturating_mul(doubling)
        .min(retry.max_backoff);
    let half = full / 2;
    half.saturating_add(half.mul_f64(rand::random::<f64>()))
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// The first [`MAX_MESSAGE_BYTES`] of the answer's body on one line, without control
/// characters, for an error message; the status's reason when the body is empty.
async fn read_message(mut response: Response) -> String {
    let status = response.status();
    let mut body = Vec::new();
    while body.len() <= MAX_MESSAGE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let cut = body.len() > MAX_MESSAGE_BYTES;
    body.truncate(MAX_MESSAGE_BYTES);
    let text = String::from_utf8_lossy(&body);
    let mut message = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if message.is_empty() {
        message = format!(
            "{} (empty body)",
            status.canonical_reason().unwrap_or("no reason")
        );
    } else if cut {
        message.push_str(" …");
    }
    message
}

/// A network failure in a few words, without the URL (reqwest's own text names it, with any
/// userinfo): `timed out after 30s`, `connection failed: Connection refused (os error 111)`.
fn describe(error: reqwest::Error, timeout: Duration) -> String {
    let error = error.without_url();
    if error.is_timeout() {
        return format!("timed out after {}", humantime::format_duration(timeout));
    }
    let kind = if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut cause: &dyn std::error::Error = &error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    format!("{kind}: {cause}")
}

/// `name{label="value",...}` for an error message, cut at 200 characters.
fn series_name(labels: &[Label]) -> String {
    let name = labels
        .iter()
        .find(|l| l.name == "__name__")
        .map_or("", |l| l.value.as_str());
    let rest: Vec<String> = labels
        .iter()
        .filter(|l| l.name != "__name__")
        .map(|l| format!("{}={:?}", l.name, l.value))
        .collect();
    let mut text = format!("{name}{{{}}}", rest.join(","));
    if let Some((cut, _)) = text.char_indices().nth(200) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

fn is_name(text: &str, extra: &[char]) -> bool {
    let ok = |c: char, first: bool| {
        c.is_ascii_alphabetic() || c == '_' || extra.contains(&c) || (!first && c.is_ascii_digit())
    };
    let mut chars = text.chars();
    chars.next().is_some_and(|c| ok(c, true)) && chars.all(|c| ok(c, false))
}

/// Sorts labels and samples and checks what the spec requires (see [`RemoteWriter::send`]).
fn prepare(series: Vec<TimeSeries>) -> Result<Vec<TimeSeries>, RemoteWriteError> {
    let mut seen = HashSet::new();
    let mut prepared = Vec::with_capacity(series.len());
    for mut one in series {
        one.labels.sort_by(|a, b| a.name.cmp(&b.name));
        let invalid = |reason: String| RemoteWriteError::InvalidSeries {
            series: series_name(&one.labels),
            reason,
        };
        for (i, label) in one.labels.iter().enumerate() {
            if !is_name(&label.name, &[]) {
                return Err(invalid(format!("invalid label name {:?}", label.name)));
            }
            if label.value.is_empty() {
                return Err(invalid(format!("label {} has an empty value", label.name)));
            }
            if i > 0 && one.labels[i - 1].name == label.name {
                return Err(invalid(format!("label {} is repeated", label.name)));
            }
        }
        match one.labels.iter().find(|l| l.name == "__name__") {
            None => return Err(invalid("no __name__ label".into())),
            Some(name) if !is_name(&name.value, &[':']) => {
                return Err(invalid(format!("invalid metric name {:?}", name.value)))
            }
            Some(_) => {}
        }
        if one.samples.is_empty() {
            continue;
        }
        one.samples.sort_by_key(|s| s.timestamp);
        if let Some(pair) = one
            .samples
            .windows(2)
            .find(|w| w[0].timestamp == w[1].timestamp)
        {
            return Err(invalid(format!("two samples at {} ms", pair[0].timestamp)));
        }
        if !seen.insert(one.labels.clone()) {
            return Err(invalid("the same label set comes twice".into()));
        }
        prepared.push(one);
    }
    Ok(prepared)
}

#[derive(Default)]
struct Batch {
    request: WriteRequest,
    samples: u64,
    /// Series whose first samples are in this batch.
    new_series: u64,
}

/// Fills requests of at most `max` samples in input order; a long series continues in the
/// next request, so each series' samples stay in time order across requests.
fn batches(series: Vec<TimeSeries>, max: usize) -> Vec<Batch> {
    let mut batches = Vec::new();
    let mut current = Batch::default();
    for one in series {
        let mut samples = one.samples.into_iter();
        let mut first = true;
        while samples.len() > 0 {
            let room = max - current.samples as usize;
            let chunk: Vec<_> = samples.by_ref().take(room).collect();
            current.samples += chunk.len() as u64;
            current.new_series += u64::from(first);
            first = false;
            current.request.timeseries.push(TimeSeries {
                labels: one.labels.clone(),
                samples: chunk,
            });
            if current.samples as usize == max {
                batches.push(std::mem::take(&mut current));
            }
        }
    }
    if current.samples > 0 {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_bounds_with_jitter() {
        let retry = RetryOptions {
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_attempts: 10,
        };
        for _ in 0..100 {
            let first = backoff(&retry, 1);
            assert!((Duration::from_millis(250)..=Duration::from_millis(500)).contains(&first));
            let third = backoff(&retry, 3);
            assert!((Duration::from_secs(1)..=Duration::from_secs(2)).contains(&third));
            let late = backoff(&retry, 40);
            assert!((Duration::from_secs(15)..=Duration::from_secs(30)).contains(&late));
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::RETRY_AFTER, HeaderValue::from_str(value).unwrap());
            retry_after(&headers)
        };
        assert_eq!(with("7"), Some(Duration::from_secs(7)));
        let soon = chrono::Utc::now() + chrono::TimeDelta::seconds(60);
        let wait = with(&soon.format("%a, %d %b %Y %H:%M:%S GMT").to_string()).unwrap();
        assert!(
            wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert_eq!(with("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(with("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
