//! The command line's tests: what parses, what is refused, the defaults.

use super::*;
use clap::error::ErrorKind;
use clap::CommandFactory;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_args_from(std::iter::once("feishu-vc-exporter").chain(args.iter().copied()))
}

fn command(args: &[&str]) -> Command {
    parse(args)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
        .command_or_serve()
}

fn error_kind(args: &[&str]) -> ErrorKind {
    match parse(args) {
        Ok(cli) => panic!("{args:?} should fail, got {cli:?}"),
        Err(e) => e.kind(),
    }
}

#[test]
fn clap_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn serve_is_the_default_subcommand() {
    assert_eq!(command(&[]), Command::Serve(ServeArgs::default()));
    let expected = ServeArgs {
        config: Some("c.yml".into()),
        demo: true,
        listen_address: Some("0.0.0.0:9100".parse().unwrap()),
        telemetry_path: Some("/m".into()),
        web_config_file: Some("web.yml".into()),
    };
    let flags = [
        "--config",
        "c.yml",
        "--demo",
        "--web.listen-address",
        ":9100",
        "--web.telemetry-path=/m",
        "--web.config.file",
        "web.yml",
    ];
    assert_eq!(command(&flags), Command::Serve(expected.clone()));
    let with_serve: Vec<&str> = std::iter::once("serve").chain(flags).collect();
    assert_eq!(command(&with_serve), Command::Serve(expected));
}

#[test]
fn serve_flags_are_checked() {
    let refused: &[(&[&str], ErrorKind)] = &[
        (
            &["--web.listen-address", "nowhere"],
            ErrorKind::ValueValidation,
        ),
        (
            &["serve", "--web.listen-address", "9874"],
            ErrorKind::ValueValidation,
        ),
        // Prometheus names only: no underscores, no undotted variants.
        (&["--web.listen_address", ":1"], ErrorKind::UnknownArgument),
        // Serve flags do not mix with another subcommand.
        (&["--demo", "ingest", "a.xlsx"], ErrorKind::ArgumentConflict),
        (
            &["--config", "a.yml", "check-config", "--config", "b.yml"],
            ErrorKind::ArgumentConflict,
        ),
    ];
    for (args, kind) in refused {
        assert_eq!(error_kind(args), *kind, "{args:?}");
    }
}

#[test]
fn no_secret_is_a_flag_of_serve_or_backfill() {
    for flag in [
        "--app-secret",
        "--app.secret",
        "--feishu.app-secret",
        "--user-access-token",
    ] {
        assert_eq!(
            error_kind(&[flag, "x"]),
            ErrorKind::UnknownArgument,
            "{flag}"
        );
        assert_eq!(
            error_kind(&["serve", flag, "x"]),
            ErrorKind::UnknownArgument,
            "{flag}"
        );
        let backfill = [
            "backfill",
            "--config",
            "c",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-02",
            "--output",
            "o",
            flag,
            "x",
        ];
        assert_eq!(error_kind(&backfill), ErrorKind::UnknownArgument, "{flag}");
    }
    let names: Vec<String> = ["serve", "backfill", "check-config"]
        .iter()
        .flat_map(|name| {
            let cmd = Cli::command();
            let sub = cmd.find_subcommand(name).unwrap().clone();
            sub.get_arguments()
                .filter_map(|a| a.get_long().map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.contains("secret") && !n.contains("token")),
        "{names:?}"
    );
}

#[test]
fn log_flags_are_global() {
    let cli = parse(&[
        "--log.level",
        "debug",
        "ingest",
        "--log.format",
        "json",
        "a.xlsx",
    ])
    .unwrap();
    assert_eq!(cli.log.level, Some(LogLevel::Debug));
    assert_eq!(cli.log.format, Some(LogFormat::Json));
    assert_eq!(cli.log_settings(), (LogLevel::Debug, LogFormat::Json));
    let cli = parse(&["simulate", "--log.level=warn"]).unwrap();
    assert_eq!(cli.log_settings(), (LogLevel::Warn, LogFormat::Logfmt));
    let cli = parse(&[]).unwrap();
    assert_eq!(cli.log_settings(), (LogLevel::Info, LogFormat::Logfmt));
    assert_eq!(cli.log, LogArgs::default());
    assert_eq!(
        error_kind(&["--log.level", "trace"]),
        ErrorKind::InvalidValue
    );
    assert_eq!(
        error_kind(&["--log.format", "text"]),
        ErrorKind::InvalidValue
    );

    let cli = parse(&["serve", "--demo", "--log.level", "error"]).unwrap();
    let Command::Serve(serve) = cli.command_or_serve() else {
        panic!()
    };
    let overrides = serve.overrides(&cli.log);
    assert_eq!(
        (
            overrides.credentials.clone(),
            overrides.default_room_level_id.clone()
        ),
        (None, None),
        "--demo's settings are cmd::demo's to add"
    );
    assert_eq!(overrides.log_level, Some(LogLevel::Error));
    assert_eq!(
        overrides.log_format, None,
        "unset flags leave the file's value"
    );
}

#[test]
fn ingest_needs_a_file() {
    assert_eq!(error_kind(&["ingest"]), ErrorKind::MissingRequiredArgument);
    assert_eq!(
        error_kind(&["ingest", "--format", "openmetrics"]),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        error_kind(&["ingest", "--format", "csv", "a.xlsx"]),
        ErrorKind::InvalidValue
    );
    assert_eq!(
        command(&["ingest", "a.xlsx", "b.xlsx"]),
        Command::Ingest(IngestArgs {
            format: IngestFormat::Prometheus,
            files: vec!["a.xlsx".into(), "b.xlsx".into()]
        })
    );
    let Command::Ingest(args) = command(&["ingest", "--format", "openmetrics", "a.xlsx"]) else {
        panic!()
    };
    assert_eq!(args.format, IngestFormat::Openmetrics);
}

#[test]
fn backfill_parses_times() {
    let Command::Backfill(args) = command(&[
        "backfill",
        "--config",
        "c.yml",
        "--from",
        "2024-05-01",
        "--to",
        "2024-05-31",
        "--output",
        "out.om",
        "--resume",
    ]) else {
        panic!()
    };
    assert_eq!(args.config, PathBuf::from("c.yml"));
    assert_eq!(args.output, PathBuf::from("out.om"));
    assert!(args.resume);
    let tz = FixedOffset::east_opt(8 * 3600).unwrap();
    let (from, to) = args.range(tz).unwrap();
    assert_eq!(from.to_rfc3339(), "2024-05-01T00:00:00+08:00");
    assert_eq!(
        to.to_rfc3339(),
        "2024-06-01T00:00:00+08:00",
        "a --to date covers its day"
    );
    assert_eq!(from.timestamp(), 1714492800);

    let Command::Backfill(args) = command(&[
        "backfill",
        "--config",
        "c",
        "--from",
        "2024-05-01T00:00:00Z",
        "--to",
        "2024-05-01 08:30",
        "--output",
        "o",
    ]) else {
        panic!()
    };
    assert_eq!(
        args.from,
        TimeArg::Instant("2024-05-01T00:00:00Z".parse().unwrap())
    );
    assert!(!args.resume);
    let (from, to) = args.range(tz).unwrap();
    assert_eq!(
        to.timestamp() - from.timestamp(),
        30 * 60,
        "local --to read in +08:00"
    );
    let utc = FixedOffset::east_opt(0).unwrap();
    assert!(args.range(utc).is_ok(), "08:30 UTC is after midnight UTC");

    let Command::Backfill(args) = command(&[
        "backfill",
        "--config",
        "c",
        "--from",
        "2024-05-02",
        "--to",
        "2024-05-01T12:00:00+08:00",
        "--output",
        "o",
    ]) else {
        panic!()
    };
    let err = args.range(tz).unwrap_err();
    assert_eq!(err.key(), Some("--to"));

    assert_eq!(
        error_kind(&[
            "backfill",
            "--config",
            "c",
            "--from",
            "yesterday",
            "--to",
            "2024-01-01",
            "--output",
            "o"
        ]),
        ErrorKind::ValueValidation
    );
    assert_eq!(
        error_kind(&[
            "backfill",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-02",
            "--output",
            "o"
        ]),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        error_kind(&[
            "backfill",
            "--config",
            "c",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-02"
        ]),
        ErrorKind::MissingRequiredArgument
    );
}

#[test]
fn time_forms() {
    assert!(matches!(
        parse_time("2024-05-01T08:00:00+08:00"),
        Ok(TimeArg::Instant(_))
    ));
    assert!(matches!(
        parse_time("2024-05-01T08:00:00.5Z"),
        Ok(TimeArg::Instant(_))
    ));
    assert!(matches!(
        parse_time("2024-05-01T08:00:00"),
        Ok(TimeArg::Local(_))
    ));
    assert!(matches!(parse_time("2024-05-01"), Ok(TimeArg::Date(_))));
    for bad in [
        "",
        "2024-13-01",
        "2024-05-01T25:00:00Z",
        "1714492800",
        "May 1",
    ] {
        assert!(parse_time(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn simulate_defaults_and_ratios() {
    let Command::Simulate(args) = command(&["simulate"]) else {
        panic!()
    };
    assert_eq!(args, SimulateArgs::default());
    assert_eq!(args.listen, "127.0.0.1:9875".parse().unwrap());
    assert_eq!(args.app_id, DEMO_APP_ID);
    assert_eq!(args.app_secret, DEMO_APP_SECRET);
    assert_eq!(args.requests_per_minute, 100);
    assert_eq!(args.token_ttl, Duration::from_secs(7200));
    assert_eq!(
        args.task_delay,
        DurationRange {
            min: Duration::from_secs(1),
            max: Duration::from_secs(4)
        }
    );
    assert_eq!(args.fault_error_rate, 0.0);
    // The simulator's own defaults, spelled as flags and read back.
    let simulator = SimulatorOptions::default();
    assert_eq!(
        (
            args.requests_per_minute,
            args.token_ttl,
            (args.task_delay.min, args.task_delay.max)
        ),
        (
            simulator.requests_per_minute,
            simulator.token_ttl,
            simulator.task_delay
        )
    );

    let Command::Simulate(args) = command(&[
        "simulate",
        "--listen",
        ":18080",
        "--seed",
        "7",
        "--app-id",
        "cli_x",
        "--app-secret",
        "s",
        "--requests-per-minute",
        "10",
        "--token-ttl",
        "30s",
        "--task-delay",
        "0s..500ms",
        "--fault.error-rate",
        "0.1",
        "--fault.failed-task-rate",
        "1",
        "--fault.truncated-download-rate",
        "0",
        "--fault.slow-task-rate",
        "0.5",
    ]) else {
        panic!()
    };
    assert_eq!(args.listen.port(), 18080);
    assert_eq!(args.seed, 7);
    assert_eq!(args.requests_per_minute, 10);
    assert_eq!(args.token_ttl, Duration::from_secs(30));
    assert_eq!(args.task_delay.max, Duration::from_millis(500));
    assert_eq!(args.fault_error_rate, 0.1);
    assert_eq!(args.fault_failed_task_rate, 1.0);
    assert_eq!(args.fault_slow_task_rate, 0.5);

    for flag in [
        "--fault.error-rate",
        "--fault.failed-task-rate",
        "--fault.truncated-download-rate",
        "--fault.slow-task-rate",
    ] {
        for bad in ["1.5", "-0.1", "abc", "NaN"] {
            assert_eq!(
                error_kind(&["simulate", flag, bad]),
                ErrorKind::ValueValidation,
                "{flag} {bad}"
            );
        }
    }
    assert_eq!(
        error_kind(&["simulate", "--requests-per-minute", "0"]),
        ErrorKind::ValueValidation
    );
    assert_eq!(
        error_kind(&["simulate", "--token-ttl", "0s"]),
        ErrorKind::ValueValidation
    );
    assert_eq!(
        error_kind(&["simulate", "--task-delay", "4s..1s"]),
        ErrorKind::ValueValidation
    );
    assert_eq!(
        parse_duration_range("2s").unwrap(),
        DurationRange {
            min: Duration::from_secs(2),
            max: Duration::from_secs(2)
        }
    );
}

#[test]
fn check_config_and_healthcheck() {
    assert_eq!(
        error_kind(&["check-config"]),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        command(&["check-config", "--config", "c.yml"]),
        Command::CheckConfig(CheckConfigArgs {
            config: "c.yml".into()
        })
    );
    let Command::Healthcheck(args) = command(&["healthcheck"]) else {
        panic!()
    };
    assert_eq!(args.url.as_str(), "http://127.0.0.1:9874/-/healthy");
    let default_port = parse_listen_address(crate::server::DEFAULT_LISTEN_ADDRESS)
        .unwrap()
        .port();
    assert_eq!(args.url.port(), Some(default_port));
    let Command::Healthcheck(args) = command(&["healthcheck", "--url", "https://h:1/-/healthy"])
    else {
        panic!()
    };
    assert_eq!(args.url.scheme(), "https");
    assert_eq!(
        error_kind(&["healthcheck", "--url", "ftp://h/"]),
        ErrorKind::ValueValidation
    );
}

#[test]
fn help_and_version() {
    assert_eq!(error_kind(&["--help"]), ErrorKind::DisplayHelp);
    assert_eq!(error_kind(&["--version"]), ErrorKind::DisplayVersion);
    let help = Cli::command().render_long_help().to_string();
    for needle in [
        "serve",
        "ingest",
        "backfill",
        "simulate",
        "check-config",
        "healthcheck",
        "--log.level",
        "--web.listen-address",
    ] {
        assert!(help.contains(needle), "{needle} in {help}");
    }
}

#[test]
fn the_readme_states_the_flag_defaults() {
    let readme = include_str!("../../README.md")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let step = Cli::command()
        .find_subcommand("backfill")
        .and_then(|backfill| {
            let step = backfill.get_arguments().find(|a| a.get_id() == "step")?;
            Some(step.get_default_values()[0].to_str()?.to_owned())
        })
        .unwrap();
    for stated in [
        format!("`--web.listen-address` (default `{DEFAULT_LISTEN_ADDRESS}`;"),
        format!("| `{DEFAULT_TELEMETRY_PATH}` (`--web.telemetry-path`) |"),
        format!("once per `--step` (default `{step}`)"),
    ] {
        assert!(readme.contains(&stated), "README.md lacks {stated:?}");
    }
}
