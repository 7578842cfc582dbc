//! `simulate`: the fake Feishu export API alone.

use anyhow::Context as _;

use crate::cli::SimulateArgs;
use crate::clock::Clock;
use crate::simulator::{Faults, Simulator, SimulatorHandle, SimulatorOptions};

use super::wait_for_signal;

/// The simulator alone, until SIGTERM or Ctrl-C.
pub(super) async fn simulate(args: &SimulateArgs, clock: Clock) -> anyhow::Result<()> {
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
