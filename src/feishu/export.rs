//! Export tasks: create, poll (learning when to poll first), download and the workbook guard.

use std::io::Cursor;
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use serde_json::Value;
use tokio::time::Instant;

use super::client::Client;
use super::error::FeishuError;
use super::http::{as_i64, truncate};
use super::request::ExportRequest;
use super::Endpoint;

/// [`PollOptions::default`]: first poll after 2 s, backing off to 30 s, giving up after 10 min.
pub const DEFAULT_POLL_INITIAL_DELAY: Duration = Duration::from_secs(2);
pub const DEFAULT_POLL_MAX_DELAY: Duration = Duration::from_secs(30);
pub const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(600);

/// How [`Client::run_export`] polls a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollOptions {
    /// Wait before the first poll.
    pub initial_delay: Duration,
    /// The wait doubles after each "processing" answer, up to this.
    pub max_delay: Duration,
    /// Give up (with [`FeishuError::TaskTimeout`]) this long after the task was created.
    pub timeout: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self {
            initial_delay: DEFAULT_POLL_INITIAL_DELAY,
            max_delay: DEFAULT_POLL_MAX_DELAY,
            timeout: DEFAULT_POLL_TIMEOUT,
        }
    }
}

/// The state of an export task (`data.status` of the poll answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskStatus {
    /// 1: still running.
    Processing,
    /// 2: failed, with Feishu's `fail_msg`.
    Failed { message: String },
    /// 3: done; download the file with this token.
    Done { file_token: String },
}

/// The first poll aims at the 97th percentile of task durations, so nearly every task needs
/// one poll (polls are the scarce call when a backlog drains): a poll that finds the task done
/// shortens the next first delay by 1 %, one that finds it still processing lengthens it by
/// 32 %, which balances where 97 in 100 are done.
const FIRST_POLL_SHORTEN: f64 = 0.99;
const FIRST_POLL_LENGTHEN: f64 = 1.32;

impl Client {
    /// Creates an export task and returns its `task_id`.
    pub async fn create_export(&self, request: &ExportRequest) -> Result<String, FeishuError> {
        let endpoint = request.endpoint();
        let mut url = self.url(&["open-apis", "vc", "v1", "exports", request.kind()]);
        if request.takes_user_id_type() {
            url.query_pairs_mut()
                .append_pair("user_id_type", self.inner.user_id_type.as_str());
        }
        let body = request.body();
        let answer = self
            .execute(endpoint, true, |token| {
                self.json_attempt(endpoint, Method::POST, url.clone(), token, Some(&body))
            })
            .await?;
        let task_id = match answer.pointer("/data/task_id") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            Some(Value::Number(id)) => id.to_string(),
            _ => {
                return Err(FeishuError::BadResponse {
                    endpoint,
                    detail: "answer without data.task_id".into(),
                })
            }
        };
        tracing::debug!(kind = request.kind(), task_id = %task_id, "feishu export task created");
        Ok(task_id)
    }

    /// Asks for the state of an export task.
    pub async fn get_task(&self, task_id: &str) -> Result<TaskStatus, FeishuError> {
        let endpoint = Endpoint::GetTask;
        let url = self.url(&["open-apis", "vc", "v1", "exports", task_id]);
        let answer = self
            .execute(endpoint, true, |token| {
                self.json_attempt(endpoint, Method::GET, url.clone(), token, None)
            })
            .await?;
        let bad = |detail: String| FeishuError::BadResponse { endpoint, detail };
        let data = answer
            .get("data")
            .ok_or_else(|| bad("answer without data".into()))?;
        match data.get("status").and_then(as_i64) {
            Some(1) => Ok(TaskStatus::Processing),
            Some(2) => Ok(TaskStatus::Failed {
                message: truncate(data.get("fail_msg").and_then(Value::as_str).unwrap_or("")),
            }),
            Some(3) => match data.get("file_token").and_then(Value::as_str) {
                // Never the `url` field: the download goes through the authenticated endpoint.
                Some(file_token) if !file_token.is_empty() => Ok(TaskStatus::Done {
                    file_token: file_token.to_owned(),
                }),
                _ => Err(bad("task done without a file_token".into())),
            },
            Some(other) => Err(bad(format!("unknown task status {other}"))),
            None => Err(bad("answer without data.status".into())),
        }
    }

    /// Downloads a finished export through `/exports/download` with the token. The bytes are
    /// a zip container (xlsx) whose declared uncompressed size is within the limit.
    pub async fn download(&self, file_token: &str) -> Result<Bytes, FeishuError> {
        let endpoint = Endpoint::Download;
        let mut url = self.url(&["open-apis", "vc", "v1", "exports", "download"]);
        url.query_pairs_mut().append_pair("file_token", file_token);
        let bytes = self
            .execute(endpoint, true, |token| {
                self.download_attempt(url.clone(), token)
            })
            .await?;
        check_workbook(&bytes, self.inner.max_uncompressed_bytes)?;
        Ok(bytes)
    }

    /// Creates the task, polls it (first after `initial_delay`, then doubling up to
    /// `max_delay`, giving up `timeout` after creation) and downloads the file.
    pub async fn run_export(
        &self,
        request: &ExportRequest,
        poll: &PollOptions,
    ) -> Result<Bytes, FeishuError> {
        let task_id = self.create_export(request).await?;
        let started = Instant::now();
        let deadline = started + poll.timeout;
        let max_delay = poll.max_delay.max(poll.initial_delay);
        let first = self.first_poll_delay(request.kind(), poll);
        let mut delay = first;
        let mut polls = 0u32;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(FeishuError::TaskTimeout {
                    task_id,
                    timeout: poll.timeout,
                });
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            polls += 1;
            let status = self.get_task(&task_id).await?;
            if polls == 1 {
                self.learn_first_poll(
                    request.kind(),
                    poll,
                    first,
                    matches!(status, TaskStatus::Processing),
                );
            }
            match status {
                TaskStatus::Processing if polls == 1 => {
                    // Just past the learned mark most tasks finish soon: look again shortly.
                    delay = (first / 4).max(Duration::from_millis(10)).min(max_delay);
                }
                TaskStatus::Processing => {
                    delay = (delay * 2).max(Duration::from_millis(10)).min(max_delay);
                }
                TaskStatus::Failed { message } => {
                    return Err(FeishuError::TaskFailed { task_id, message })
                }
                TaskStatus::Done { file_token } => {
                    tracing::debug!(
                        kind = request.kind(),
                        task_id = %task_id,
                        polls,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "feishu export task done"
                    );
                    return self.download(&file_token).await;
                }
            }
        }
    }

    pub(crate) fn first_poll_delay(&self, kind: &'static str, poll: &PollOptions) -> Duration {
        let learned = self
            .inner
            .first_poll
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(kind)
            .copied();
        learned.unwrap_or(poll.initial_delay)
    }

    fn learn_first_poll(
        &self,
        kind: &'static str,
        poll: &PollOptions,
        used: Duration,
        still_processing: bool,
    ) {
        let factor = if still_processing {
            FIRST_POLL_LENGTHEN
        } else {
            FIRST_POLL_SHORTEN
        };
        let floor = (poll.initial_delay / 8).max(Duration::from_millis(10));
        let next = used.mul_f64(factor).clamp(floor, poll.max_delay.max(floor));
        self.inner
            .first_poll
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(kind, next);
    }
}

/// Checks that `bytes` is a zip container (as .xlsx is) and that its entries' declared
/// uncompressed sizes sum to at most `max_uncompressed`. Reads the central directory only.
pub(crate) fn check_workbook(bytes: &[u8], max_uncompressed: u64) -> Result<(), FeishuError> {
    let endpoint = Endpoint::Download;
    let bad = |detail: String| FeishuError::BadResponse { endpoint, detail };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        bad(format!(
            "the download is not a complete xlsx (zip) file: {e}"
        ))
    })?;
    if archive.is_empty() {
        return Err(bad("the download is an empty zip file".into()));
    }
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| bad(format!("broken zip entry {index}: {e}")))?;
        total = total.saturating_add(entry.size());
        if total > max_uncompressed {
            return Err(FeishuError::TooLarge {
                endpoint,
                what: "uncompressed workbook",
                limit: max_uncompressed,
            });
        }
    }
    Ok(())
}
