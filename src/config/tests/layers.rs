//! Layering (file < environment < flags), credentials, secrets, rendering, loading.

use super::*;

#[test]
fn environment_overrides_the_file_and_flags_override_both() {
    let yaml = "feishu: {base_url: 'https://file.example', app_id: cli_file}\n\
                web: {listen_address: ':1111', telemetry_path: /file}\n\
                log: {level: warn, format: json}";
    let env = env_of(&[
        (ENV_APP_ID, "cli_env"),
        (ENV_APP_SECRET, SECRET),
        (ENV_BASE_URL, "https://env.example"),
    ]);
    let c = Config::from_yaml_str(yaml, "t", &Overrides::default(), &env).unwrap();
    assert_eq!(c.feishu.base_url.as_str(), "https://env.example/");
    assert_eq!(c.feishu.credentials.app_id(), Some("cli_env"));
    assert_eq!(c.web.listen_address.port(), 1111);
    assert_eq!(c.web.telemetry_path, "/file");
    assert_eq!(c.log.level, LogLevel::Warn);

    let flags = Overrides {
        listen_address: Some("127.0.0.1:2222".parse().unwrap()),
        telemetry_path: Some("/flag".into()),
        web_config_file: Some("/flag-web.yml".into()),
        log_level: Some(LogLevel::Debug),
        log_format: Some(LogFormat::Logfmt),
        credentials: None,
        default_room_level_id: None,
    };
    let c = Config::from_yaml_str(yaml, "t", &flags, &env).unwrap();
    assert_eq!(c.web.listen_address, "127.0.0.1:2222".parse().unwrap());
    assert_eq!(c.web.telemetry_path, "/flag");
    assert_eq!(c.web.config_file, Some(PathBuf::from("/flag-web.yml")));
    assert_eq!(
        c.log,
        LogConfig {
            level: LogLevel::Debug,
            format: LogFormat::Logfmt
        }
    );

    // Without the environment, the file's values stand.
    let file_env = env_of(&[(ENV_APP_SECRET, SECRET), (ENV_BASE_URL, "  ")]);
    let c = Config::from_yaml_str(yaml, "t", &Overrides::default(), &file_env).unwrap();
    assert_eq!(c.feishu.base_url.as_str(), "https://file.example/");
    assert_eq!(c.feishu.credentials.app_id(), Some("cli_file"));

    // A bad value names where it came from.
    let bad_env = env_of(&[
        (ENV_APP_ID, "a"),
        (ENV_APP_SECRET, SECRET),
        (ENV_BASE_URL, "file:///x"),
    ]);
    let err = Config::from_yaml_str("", "t", &Overrides::default(), &bad_env).unwrap_err();
    assert_eq!(err.key(), Some(ENV_BASE_URL));
    let bad_flag = Overrides {
        telemetry_path: Some("nope".into()),
        ..Overrides::default()
    };
    let err = Config::from_yaml_str("", "t", &bad_flag, &creds_env()).unwrap_err();
    assert_eq!(err.key(), Some("--web.telemetry-path"));
}

#[test]
fn secret_file_is_read_and_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, format!("  {SECRET}\n\n")).unwrap();
    let yaml = format!(
        "feishu: {{app_id: cli_file, app_secret_file: '{}'}}",
        file.display()
    );
    let c = Config::from_yaml_str(&yaml, "t", &Overrides::default(), &env_of(&[])).unwrap();
    match &c.feishu.credentials {
        Credentials::App { app_id, app_secret } => {
            assert_eq!(app_id, "cli_file");
            assert_eq!(app_secret.expose(), SECRET);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.feishu.app_secret_file.as_deref(), Some(file.as_path()));

    // FEISHU_APP_SECRET_FILE beats the file key; FEISHU_APP_SECRET beats both.
    let other = dir.path().join("other");
    std::fs::write(&other, "other-secret").unwrap();
    let env = env_of(&[(ENV_APP_SECRET_FILE, other.to_str().unwrap())]);
    let c = Config::from_yaml_str(&yaml, "t", &Overrides::default(), &env).unwrap();
    assert!(
        matches!(&c.feishu.credentials, Credentials::App { app_secret, .. } if app_secret.expose() == "other-secret")
    );
    let env = env_of(&[
        (ENV_APP_SECRET_FILE, other.to_str().unwrap()),
        (ENV_APP_SECRET, "direct"),
    ]);
    let c = Config::from_yaml_str(&yaml, "t", &Overrides::default(), &env).unwrap();
    assert!(
        matches!(&c.feishu.credentials, Credentials::App { app_secret, .. } if app_secret.expose() == "direct")
    );
    assert_eq!(c.feishu.app_secret_file, None);

    // Missing and empty files are errors naming the key that pointed at them.
    let missing = dir.path().join("missing");
    let env = env_of(&[
        (ENV_APP_ID, "a"),
        (ENV_APP_SECRET_FILE, missing.to_str().unwrap()),
    ]);
    let err = Config::from_yaml_str("", "t", &Overrides::default(), &env).unwrap_err();
    assert_eq!(err.key(), Some(ENV_APP_SECRET_FILE));
    assert!(err.to_string().contains("cannot read secret file"), "{err}");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let yaml = format!(
        "feishu: {{app_id: a, app_secret_file: '{}'}}",
        empty.display()
    );
    let err = Config::from_yaml_str(&yaml, "t", &Overrides::default(), &env_of(&[])).unwrap_err();
    assert_eq!(err.key(), Some("feishu.app_secret_file"));
    assert!(err.to_string().contains("empty"), "{err}");
}

#[test]
fn credentials_are_required_unless_given() {
    let none = env_of(&[]);
    let err = Config::from_yaml_str("", "t", &Overrides::default(), &none).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.key(), Some("feishu.app_id"));
    assert!(msg.contains("FEISHU_APP_SECRET"), "{msg}");

    let err = Config::from_yaml_str("feishu: {app_id: cli_x}", "t", &Overrides::default(), &none)
        .unwrap_err();
    assert_eq!(err.key(), Some(ENV_APP_SECRET));

    let err = Config::from_yaml_str(
        "",
        "t",
        &Overrides::default(),
        &env_of(&[(ENV_APP_SECRET, SECRET)]),
    )
    .unwrap_err();
    assert_eq!(err.key(), Some("feishu.app_id"));
    assert!(!err.to_string().contains(SECRET));

    // A user access token alone is enough, and wins over app credentials.
    let env = env_of(&[
        (ENV_USER_ACCESS_TOKEN, TOKEN),
        (ENV_APP_ID, "a"),
        (ENV_APP_SECRET, SECRET),
    ]);
    let c = Config::from_yaml_str("", "t", &Overrides::default(), &env).unwrap();
    assert_eq!(
        c.feishu.credentials,
        Credentials::UserToken(Secret::new(TOKEN))
    );

    // Credentials given by the caller (--demo): these, whatever the file and environment
    // say; rooms default to the given level unless the file turns rooms on or off.
    let given = Credentials::App {
        app_id: "cli_given".into(),
        app_secret: Secret::new("given-secret"),
    };
    let demo = Overrides {
        credentials: Some(given.clone()),
        default_room_level_id: Some("omb_given".into()),
        ..Overrides::default()
    };
    let c = Config::from_yaml_str("feishu: {app_id: cli_x}", "t", &demo, &env).unwrap();
    assert_eq!(c.feishu.credentials, given);
    assert_eq!(c.feishu.app_secret_file, None);
    assert_eq!(c.collect.rooms.as_ref().unwrap().room_level_id, "omb_given");
    let c = Config::from_yaml_str("", "t", &demo, &none).unwrap();
    assert_eq!(c.feishu.credentials, given);
    let c = Config::from_yaml_str("collect: {rooms: {enabled: false}}", "t", &demo, &none).unwrap();
    assert_eq!(c.collect.rooms, None);
    let c = Config::from_yaml_str(
        "collect: {rooms: {room_level_id: omb_f}}",
        "t",
        &demo,
        &none,
    )
    .unwrap();
    assert_eq!(c.collect.rooms.unwrap().room_level_id, "omb_f");
    // The two are independent: a default level without given credentials.
    let rooms_only = Overrides {
        default_room_level_id: Some("omb_given".into()),
        ..Overrides::default()
    };
    let c = Config::from_yaml_str("", "t", &rooms_only, &env).unwrap();
    assert_eq!(
        c.feishu.credentials,
        Credentials::UserToken(Secret::new(TOKEN))
    );
    assert_eq!(c.collect.rooms.unwrap().room_level_id, "omb_given");
}

#[test]
fn the_defaults_are_the_parts_defaults() {
    let c = token_config();
    let settings = c.collect_settings();
    let defaults = CollectSettings::new(PathBuf::from(DEFAULT_STATE_PATH));
    assert_eq!(settings.state_path, defaults.state_path);
    assert_eq!(settings.interval, defaults.interval);
    assert_eq!(settings.lookback, defaults.lookback);
    assert_eq!(settings.concurrency, defaults.concurrency);
    assert_eq!(settings.meetings_in_progress, defaults.meetings_in_progress);
    assert_eq!(settings.participants, defaults.participants);
    assert_eq!(settings.quality, defaults.quality);
    assert_eq!(
        settings.quality_max_per_cycle,
        defaults.quality_max_per_cycle
    );
    assert_eq!(settings.quality_sample_ratio, defaults.quality_sample_ratio);
    assert_eq!(settings.rooms, defaults.rooms);
    assert_eq!(settings.poll, defaults.poll);
    assert_eq!(settings.parse.default_offset, defaults.parse.default_offset);
    assert!(settings.budget.is_none() && defaults.budget.is_none());
    assert_eq!(c.metrics_options(), MetricsOptions::default());
    let options = c.client_options();
    let defaults = ClientOptions::new(
        Url::parse(DEFAULT_BASE_URL).unwrap(),
        c.feishu.credentials.clone(),
    );
    assert_eq!(options.base_url, defaults.base_url);
    assert_eq!(options.user_id_type, defaults.user_id_type);
    assert_eq!(options.requests_per_minute, defaults.requests_per_minute);
}

#[test]
fn secrets_never_print() {
    let app = load(FULL).unwrap();
    let token = token_config();
    for c in [&app, &token] {
        let debug = format!("{c:?} {c:#?}");
        let yaml = c.to_yaml();
        for text in [&debug, &yaml] {
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains(TOKEN), "{text}");
        }
        assert!(yaml.contains("<redacted>"), "{yaml}");
    }
    assert!(
        app.to_yaml().contains("app_secret: <redacted>"),
        "{}",
        app.to_yaml()
    );
    assert!(
        token.to_yaml().contains("user_access_token: <redacted>"),
        "{}",
        token.to_yaml()
    );

    // Errors raised while secrets are in hand do not carry them.
    let env = env_of(&[(ENV_APP_SECRET, SECRET), (ENV_USER_ACCESS_TOKEN, TOKEN)]);
    for yaml in INVALID
        .iter()
        .map(|(y, _, _)| *y)
        .chain(["collect:\n  intervall: 1"])
    {
        if let Err(e) = Config::from_yaml_str(yaml, "t", &Overrides::default(), &env) {
            let text = format!("{e} {e:?}");
            assert!(!text.contains(SECRET) && !text.contains(TOKEN), "{text}");
        }
    }
}

/// `check-config` of the defaults, as it printed before the configuration was split up.
const DEFAULTS_RENDERED: &str = r#"feishu:
  base_url: https://open.feishu.cn/
  app_id: cli_env
  user_id_type: open_id
  requests_per_minute: 90
  monthly_call_budget: 0
  timezone: +08:00
  app_secret: <redacted>
collect:
  interval: 5m
  lookback: 24h
  concurrency: 4
  meetings_in_progress: true
  participants: true
  quality:
    enabled: true
    max_per_cycle: 100
    sample_ratio: 1.0
  rooms:
    enabled: false
  poll:
    initial_delay: 2s
    max_delay: 30s
    timeout: 10m
metrics:
  quality_labels: []
  max_label_values: 100
  poor_thresholds:
    latency: 300ms
    jitter: 30ms
    packet_loss: 0.05
state:
  path: feishu-vc-exporter.state.json
web:
  listen_address: 0.0.0.0:9874
  telemetry_path: /metrics
log:
  level: info
  format: logfmt
"#;

#[test]
fn the_defaults_render_as_they_always_have() {
    assert_eq!(load("").unwrap().to_yaml(), DEFAULTS_RENDERED);
}

#[test]
fn rendering_loads_back_into_the_same_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, SECRET).unwrap();
    let yaml = FULL.replace("/run/secrets/feishu_app_secret", file.to_str().unwrap());
    let env = env_of(&[]);
    for original in [
        Config::from_yaml_str(&yaml, "t", &Overrides::default(), &env).unwrap(),
        load("").unwrap(),
        load("collect: {interval: 90s, lookback: 2h, poll: {initial_delay: 1500ms}}").unwrap(),
        token_config(),
    ] {
        let rendered = original.to_yaml();
        // Drop the redacted lines.
        let stripped: String = rendered
            .lines()
            .filter(|l| !l.contains("<redacted>"))
            .map(|l| format!("{l}\n"))
            .collect();
        // Hand the secret back: through the rendered app_secret_file, else the environment.
        let pair = match &original.feishu.credentials {
            _ if original.feishu.app_secret_file.is_some() => None,
            Credentials::App { app_secret, .. } => Some((ENV_APP_SECRET, app_secret.expose())),
            Credentials::UserToken(t) => Some((ENV_USER_ACCESS_TOKEN, t.expose())),
        };
        let env = env_of(pair.as_slice());
        let reloaded = Config::from_yaml_str(&stripped, "rendered", &Overrides::default(), &env)
            .unwrap_or_else(|e| panic!("{e}\n{rendered}"));
        let expected = original.clone();
        assert_eq!(reloaded, expected, "{rendered}");
    }
    let rendered = load("").unwrap().to_yaml();
    for key in [
        "interval: 5m",
        "lookback: 24h",
        "latency: 300ms",
        "timezone: +08:00",
        "enabled: false",
    ] {
        assert!(rendered.contains(key), "{key} in {rendered}");
    }
}

#[test]
fn missing_config_file_is_an_error() {
    let err = Config::load(
        Some(Path::new("/nonexistent/c.yml")),
        &Overrides::default(),
        &creds_env(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("cannot read config file /nonexistent/c.yml: "),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
}

#[test]
fn load_reads_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.yml");
    std::fs::write(&file, "collect:\n  interval: 1m\n  bogus: 1\n").unwrap();
    let err = Config::load(Some(&file), &Overrides::default(), &creds_env()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}: collect.bogus: ", file.display())),
        "{err}"
    );
    std::fs::write(&file, "collect:\n  interval: 1m\n").unwrap();
    let c = Config::load(Some(&file), &Overrides::default(), &creds_env()).unwrap();
    assert_eq!(c.collect.interval, Duration::from_secs(60));
}
