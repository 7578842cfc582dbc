//! `healthcheck`: probe a running exporter's health endpoint (the Docker HEALTHCHECK).

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::HealthcheckArgs;

use super::runtime;

/// Probes `--url`.
pub(super) fn run(args: &HealthcheckArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(healthcheck(args.url.as_str()))
}

/// Exit 0 when the exporter's health endpoint answers (the Docker HEALTHCHECK): 200, or 401
/// when basic auth guards every endpoint (the process is alive and answering).
async fn healthcheck(url: &str) -> anyhow::Result<ExitCode> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    match client.get(url).send().await {
        Ok(response)
            if response.status().is_success()
                || response.status() == reqwest::StatusCode::UNAUTHORIZED =>
        {
            Ok(ExitCode::SUCCESS)
        }
        Ok(response) => {
            eprintln!("{url}: HTTP {}", response.status());
            Ok(ExitCode::FAILURE)
        }
        Err(error) => {
            eprintln!("{url}: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}
