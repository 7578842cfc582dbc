//! `serve --demo`: the built-in Feishu simulator in-process, its credentials and rooms, a throwaway state file.

use anyhow::Context as _;

use crate::clock::{self, Clock};
use crate::config::{Config, ConfigError, Overrides};
use crate::feishu::Credentials;
use crate::secret::Secret;
use crate::simulator::{
    Simulator, SimulatorHandle, SimulatorOptions, DEMO_APP_ID, DEMO_APP_SECRET, ROOT_LEVEL_ID,
};

/// `--demo`: the simulator's credentials, whatever the file or environment say, and its whole
/// room tree unless the file turns rooms on or off. The caller points `feishu.base_url` at the
/// simulator.
pub fn overrides(overrides: Overrides) -> Overrides {
    Overrides {
        credentials: Some(Credentials::App {
            app_id: DEMO_APP_ID.to_owned(),
            app_secret: Secret::new(DEMO_APP_SECRET),
        }),
        default_room_level_id: Some(ROOT_LEVEL_ID.to_owned()),
        ..overrides
    }
}

/// The simulator's clock: the system's, unless a test pins it with `FEISHU_VC_DEMO_NOW`.
pub fn clock() -> Result<Clock, ConfigError> {
    Clock::from_demo_env().map_err(|message| ConfigError::invalid(clock::DEMO_NOW_ENV, message))
}

/// The running simulator `serve --demo` collects from, and the directory of its state file.
pub struct Demo {
    handle: SimulatorHandle,
    clock: Clock,
    _state_dir: tempfile::TempDir,
}

/// Starts the simulator on a loopback port with `clock`, and points `config` at it: its base
/// URL, a throwaway state file, and more exports in flight than a cautious default.
pub async fn start(config: &mut Config, clock: Clock) -> anyhow::Result<Demo> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("starting the demo simulator")?;
    if !matches!(clock, Clock::System) {
        tracing::info!(
            now = clock.now(),
            "demo: the tenant's clock is pinned by {}",
            clock::DEMO_NOW_ENV
        );
    }
    let options = SimulatorOptions {
        clock: clock.clone(),
        ..SimulatorOptions::default()
    };
    let handle = Simulator::start(listener, options).await;
    config.feishu.base_url = url::Url::parse(&format!("{}/", handle.base_url()))?;
    let dir = tempfile::tempdir().context("creating the demo state directory")?;
    config.state.path = dir.path().join("demo.state.json");
    // Show a full picture within a minute: more exports in flight than a cautious default.
    config.collect.concurrency = config.collect.concurrency.max(8);
    tracing::info!(url = %handle.base_url(), "demo: collecting from the built-in Feishu simulator");
    Ok(Demo {
        handle,
        clock,
        _state_dir: dir,
    })
}

impl Demo {
    /// The tenant's clock, which the collection loop shares.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Stops the simulator; the state directory goes with it.
    pub async fn shutdown(self) {
        self.handle.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use crate::logging::LogLevel;

    #[test]
    fn demo_uses_the_simulators_credentials_and_rooms() {
        let cli =
            Cli::try_parse_args_from(["x", "serve", "--demo", "--log.level", "error"]).unwrap();
        let Command::Serve(serve) = cli.command_or_serve() else {
            panic!()
        };
        let flags = serve.overrides(&cli.log);
        let overrides = overrides(flags.clone());
        assert_eq!(overrides, super::overrides(overrides.clone()), "idempotent");
        let c = Config::load(None, &overrides, &|_| None).unwrap();
        assert_eq!(
            c.feishu.credentials,
            Credentials::App {
                app_id: DEMO_APP_ID.into(),
                app_secret: Secret::new(DEMO_APP_SECRET)
            }
        );
        assert_eq!(c.collect.rooms.unwrap().room_level_id, ROOT_LEVEL_ID);
        // The flags stand.
        assert_eq!(overrides.log_level, Some(LogLevel::Error));
        assert_eq!(
            Overrides {
                credentials: None,
                default_room_level_id: None,
                ..overrides
            },
            flags
        );
    }
}
