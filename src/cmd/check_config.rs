//! `check-config`: validate a configuration file and print the effective configuration.

use std::process::ExitCode;

use crate::cli::CheckConfigArgs;
use crate::config::{self, Config};

/// Prints the effective configuration (secrets redacted); the flags do not apply.
pub(super) fn run(args: &CheckConfigArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(
        Some(&args.config),
        &Default::default(),
        &config::process_env,
    )?;
    print!("{}", config.to_yaml());
    Ok(ExitCode::SUCCESS)
}
