//! One HTTP request: send it, classify the answer, scrub what Feishu says of our secrets.

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;
use url::Url;

use super::client::Client;
use super::error::{codes, FeishuError};
use super::Endpoint;
use crate::secret::Secret;

/// The largest JSON answer the client reads (real answers are a few hundred bytes).
const MAX_JSON_BYTES: usize = 1 << 20;
/// Feishu's `msg` is cut to this many characters in errors.
const MAX_MSG_CHARS: usize = 300;
/// The header telling a throttled caller how many seconds to wait.
const RATELIMIT_RESET: &str = "x-ogw-ratelimit-reset";

/// What one HTTP request came to: the observer's code and the outcome.
pub(super) type Attempt<T> = (String, Result<T, FeishuError>);

impl Client {
    /// Sends one request: bearer token, JSON body with the documented content type.
    async fn send(
        &self,
        endpoint: Endpoint,
        method: Method,
        url: Url,
        token: Option<&Secret>,
        body: Option<&Value>,
    ) -> Result<reqwest::Response, (String, FeishuError)> {
        let mut request = self.inner.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json; charset=utf-8")
                .body(body.to_string());
        }
        request
            .send()
            .await
            .map_err(|e| self.transport_error(endpoint, e))
    }

    /// One request answered by Feishu JSON: the whole answer when `code` is 0.
    pub(super) async fn json_attempt(
        &self,
        endpoint: Endpoint,
        method: Method,
        url: Url,
        token: Option<Secret>,
        body: Option<&Value>,
    ) -> Attempt<Value> {
        let response = match self.send(endpoint, method, url, token.as_ref(), body).await {
            Ok(response) => response,
            Err((code, error)) => return (code, Err(error)),
        };
        self.read_json_answer(endpoint, response, token.as_ref())
            .await
    }

    /// One download request: the file bytes, or the error the JSON answer names.
    pub(super) async fn download_attempt(&self, url: Url, token: Option<Secret>) -> Attempt<Bytes> {
        let endpoint = Endpoint::Download;
        let mut response = match self
            .send(endpoint, Method::GET, url, token.as_ref(), None)
            .await
        {
            Ok(response) => response,
            Err((code, error)) => return (code, Err(error)),
        };
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.to_ascii_lowercase().contains("json"));
        if is_json || !response.status().is_success() {
            let (code, result) = self
                .read_json_answer(endpoint, response, token.as_ref())
                .await;
            let result = result.and_then(|_| {
                Err(FeishuError::BadResponse {
                    endpoint,
                    detail: "a JSON answer instead of the file".into(),
                })
            });
            return (code, result);
        }
        // Feishu answered with the file: the call succeeded, whatever we make of the bytes.
        let ok = || "0".to_owned();
        let limit = self.inner.max_download_bytes;
        let too_large = FeishuError::TooLarge {
            endpoint,
            what: "download",
            limit,
        };
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return (ok(), Err(too_large));
        }
        let mut buffer = BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if (buffer.len() + chunk.len()) as u64 > limit {
                        return (ok(), Err(too_large));
                    }
                    buffer.extend_from_slice(&chunk);
                }
                Ok(None) => return (ok(), Ok(buffer.freeze())),
                Err(error) => {
                    let (code, error) = self.transport_error(endpoint, error);
                    return (code, Err(error));
                }
            }
        }
    }

    /// Reads a (small) JSON answer and classifies it by Feishu `code`, else by HTTP status.
    async fn read_json_answer(
        &self,
        endpoint: Endpoint,
        mut response: reqwest::Response,
        token: Option<&Secret>,
    ) -> Attempt<Value> {
        let status = response.status();
        let retry_after = self.throttle_delay(response.headers());
        let mut body = BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_JSON_BYTES {
                        let detail = format!("JSON answer larger than {MAX_JSON_BYTES} bytes");
                        let code = format!("http_{}", status.as_u16());
                        return (code, Err(FeishuError::BadResponse { endpoint, detail }));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(error) => {
                    let (code, error) = self.transport_error(endpoint, error);
                    return (code, Err(error));
                }
            }
        }
        let answer = serde_json::from_slice::<Value>(&body)
            .ok()
            .filter(Value::is_object);
        let feishu_code = answer.as_ref().and_then(|v| v.get("code")).and_then(as_i64);
        let Some(code) = feishu_code else {
            let observed = format!("http_{}", status.as_u16());
            let error = if status == StatusCode::TOO_MANY_REQUESTS {
                FeishuError::RateLimited {
                    endpoint,
                    retry_after,
                }
            } else if status.is_success() {
                FeishuError::BadResponse {
                    endpoint,
                    detail: "answer is not Feishu JSON with a code".into(),
                }
            } else {
                FeishuError::Http {
                    endpoint,
                    status: status.as_u16(),
                }
            };
            return (observed, Err(error));
        };
        let observed = code.to_string();
        let answer = answer.expect("a code implies an answer");
        let result = match code {
            0 if status.is_success() => Ok(answer),
            0 => Err(FeishuError::Http {
                endpoint,
                status: status.as_u16(),
            }),
            codes::RATE_LIMITED => Err(FeishuError::RateLimited {
                endpoint,
                retry_after,
            }),
            code => Err(FeishuError::Api {
                endpoint,
                code,
                msg: self.scrub(
                    answer.get("msg").and_then(Value::as_str).unwrap_or(""),
                    token,
                ),
                http_status: status.as_u16(),
            }),
        };
        (observed, result)
    }

    /// How long to wait after a throttled answer: `x-ogw-ratelimit-reset` seconds, bounded.
    fn throttle_delay(&self, headers: &HeaderMap) -> Duration {
        let reset = headers
            .get(RATELIMIT_RESET)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<f64>().ok());
        self.inner.retry.throttle_wait(reset)
    }

    fn transport_error(&self, endpoint: Endpoint, error: reqwest::Error) -> (String, FeishuError) {
        if error.is_timeout() {
            let timeout = self.inner.request_timeout;
            return ("timeout".into(), FeishuError::Timeout { endpoint, timeout });
        }
        // The URL may carry a file_token: leave it out, keep the chain of causes.
        let error = error.without_url();
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        (
            "transport".into(),
            FeishuError::Transport { endpoint, message },
        )
    }

    /// Feishu's `msg`, cut short and with any credential we hold blanked out.
    fn scrub(&self, msg: &str, token: Option<&Secret>) -> String {
        let mut text = msg.to_owned();
        let held = self.inner.tokens.held_secret();
        for secret in [Some(held), token].into_iter().flatten() {
            if !secret.is_empty() {
                text = text.replace(secret.expose(), "<redacted>");
            }
        }
        truncate(&text)
    }
}

pub(super) fn truncate(text: &str) -> String {
    text.chars().take(MAX_MSG_CHARS).collect()
}

/// A JSON integer, also when sent as a string (`"1"`).
pub(super) fn as_i64(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}
