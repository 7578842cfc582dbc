//! `simulate`: the fake Feishu export API alone.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{LogArgs, SimulateArgs};
use crate::clock::Clock;
use crate::simulator::{Faults, Simulator, SimulatorHandle, SimulatorOptions};

use super::{demo, init_logging_from_flags, runtime, wait_for_signal};

/// Runs the simulator on the demo's clock until a signal.
pub(super) fn run(args: &SimulateArgs, log: &LogArgs) -> anyhow::Result<ExitCode> {
    let clock = demo::clock()?;
    init_logging_from_flags(log);
    runtime()?.block_on(simulate(args, clock))?;
    Ok(ExitCode::SUCCESS)
}

/// The simulator alone, until SIGTERM or Ctrl-C.
async fn simulate(args: &SimulateArgs, clock: Clock) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let options = SimulatorOptions {
        seed: args.seed,
        app_id: args.app_id.clone(),
        app_secret: args.app_secret.clone(),
        requests_per_minute: args.requests_per_minute,
        token_ttl: args.token_ttl,
        task_delay: (args.task_delay.min, args.task_delay.max),
        faults: Faults {
            error_rate: args.fault_error_rate,
            failed_task_rate: args.fault_failed_task_rate,
            truncated_download_rate: args.fault_truncated_download_rate,
            slow_task_rate: args.fault_slow_task_rate,
        },
        clock,
    };
    let handle: SimulatorHandle = Simulator::start(listener, options).await;
    tracing::info!(url = %handle.base_url(), "simulator listening");
    println!("{}", handle.base_url());
    wait_for_signal().await;
    handle.shutdown().await;
    Ok(())
}
