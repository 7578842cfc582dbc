//! Reading files: defaults, every key, unknown keys and type errors.

use super::*;

#[test]
fn empty_file_gives_the_defaults() {
    for yaml in ["", "# only a comment\n", "{}"] {
        let c = load(yaml).unwrap();
        assert_eq!(c.feishu.base_url.as_str(), "https://open.feishu.cn/");
        assert_eq!(
            c.feishu.credentials,
            Credentials::App {
                app_id: "cli_env".into(),
                app_secret: Secret::new(SECRET)
            }
        );
        assert_eq!(c.feishu.user_id_type, UserIdType::OpenId);
        assert_eq!(c.feishu.requests_per_minute, 90);
        assert_eq!(c.feishu.monthly_call_budget, None);
        assert_eq!(c.feishu.timezone.local_minus_utc(), 8 * 3600);
        assert_eq!(c.collect.interval, Duration::from_secs(300));
        assert_eq!(c.collect.lookback, Duration::from_secs(24 * 3600));
        assert_eq!(c.collect.concurrency, 4);
        assert!(c.collect.meetings_in_progress);
        assert!(c.collect.participants);
        assert_eq!(
            c.collect.quality,
            QualityConfig {
                enabled: true,
                max_per_cycle: 100,
                sample_ratio: 1.0
            }
        );
        assert_eq!(
            c.collect.rooms, None,
            "rooms are off without a room_level_id"
        );
        assert_eq!(
            c.collect.poll,
            PollOptions {
                initial_delay: Duration::from_secs(2),
                max_delay: Duration::from_secs(30),
                timeout: Duration::from_secs(600)
            }
        );
        assert!(c.metrics.quality_labels.is_empty());
        assert_eq!(c.metrics.max_label_values, 100);
        assert_eq!(
            c.metrics.poor_thresholds,
            PoorThresholds {
                latency: Duration::from_millis(300),
                jitter: Duration::from_millis(30),
                packet_loss: 0.05
            }
        );
        assert_eq!(c.state.path, PathBuf::from("feishu-vc-exporter.state.json"));
        assert_eq!(c.web.listen_address, "0.0.0.0:9874".parse().unwrap());
        assert_eq!(c.web.telemetry_path, "/metrics");
        assert_eq!(c.web.config_file, None);
        assert_eq!(c.log, LogConfig::default());
    }
}

#[test]
fn full_file_sets_every_key() {
    // The secret comes from the environment: the file's app_secret_file is not read.
    let c = load(FULL).unwrap();
    assert_eq!(c.feishu.base_url.as_str(), "https://open.larksuite.com/");
    assert_eq!(c.feishu.credentials.app_id(), Some("cli_env"), "env wins");
    assert_eq!(c.feishu.user_id_type, UserIdType::UnionId);
    assert_eq!(c.feishu.requests_per_minute, 60);
    assert_eq!(c.feishu.monthly_call_budget, Some(10000));
    assert_eq!(c.feishu.timezone.local_minus_utc(), -(5 * 3600 + 30 * 60));
    assert_eq!(c.collect.interval, Duration::from_secs(600));
    assert_eq!(c.collect.lookback, Duration::from_secs(48 * 3600));
    assert_eq!(c.collect.concurrency, 2);
    assert!(!c.collect.meetings_in_progress);
    assert!(c.collect.participants);
    assert_eq!(c.collect.quality.max_per_cycle, 20);
    assert_eq!(c.collect.quality.sample_ratio, 0.25);
    assert_eq!(
        c.collect.rooms,
        Some(RoomsSettings {
            room_level_id: "omb_123".into(),
            room_ids: vec!["omm_a".into(), "omm_b".into()],
            exclude: true
        })
    );
    assert_eq!(c.collect.poll.initial_delay, Duration::from_millis(500));
    assert_eq!(c.collect.poll.max_delay, Duration::from_secs(60));
    assert_eq!(c.collect.poll.timeout, Duration::from_secs(1200));
    assert_eq!(
        c.metrics.quality_labels,
        vec![
            QualityLabel::Device,
            QualityLabel::NetworkType,
            QualityLabel::Location
        ],
        "deduplicated, in order"
    );
    assert_eq!(c.metrics.max_label_values, 50);
    assert_eq!(
        c.metrics.poor_thresholds.latency,
        Duration::from_millis(400)
    );
    assert_eq!(c.metrics.poor_thresholds.jitter, Duration::from_millis(40));
    assert_eq!(c.metrics.poor_thresholds.packet_loss, 0.1);
    assert_eq!(
        c.state.path,
        PathBuf::from("/var/lib/feishu-vc-exporter/state.json")
    );
    assert_eq!(c.web.listen_address, "127.0.0.1:9100".parse().unwrap());
    assert_eq!(c.web.telemetry_path, "/probe");
    assert_eq!(c.web.config_file, Some(PathBuf::from("/etc/web.yml")));
    assert_eq!(c.log.level, LogLevel::Warn);
    assert_eq!(c.log.format, LogFormat::Json);
}

#[test]
fn unknown_keys_are_named_with_their_path() {
    let err = load("collect:\n  intervall: 5m\n").unwrap_err();
    assert_eq!(err.key(), Some("collect.intervall"));
    let msg = err.to_string();
    assert!(
        msg.starts_with("test.yml: collect.intervall: unknown key"),
        "{msg}"
    );
    assert!(msg.contains("`interval`"), "suggests the known keys: {msg}");
    assert!(msg.contains("line 2"), "{msg}");

    let err = load("collect:\n  rooms:\n    room_level: x\n").unwrap_err();
    assert_eq!(err.key(), Some("collect.rooms.room_level"));
    let err = load("feishu_:\n  app_id: x\n").unwrap_err();
    assert_eq!(err.key(), Some("feishu_"));
    for msg in [load_err("a: 1\n"), load_err("collect:\n  x: 1\n")] {
        assert!(!msg.contains('\n'), "one line: {msg}");
    }
}

#[test]
fn type_errors_name_their_key() {
    let err = load("collect:\n  interval: 5x\n").unwrap_err();
    assert_eq!(err.key(), Some("collect.interval"));
    assert!(err.to_string().contains("invalid duration \"5x\""), "{err}");
    let err = load("collect:\n  interval: 300\n").unwrap_err();
    assert_eq!(err.key(), Some("collect.interval"), "{err}");
    let err = load("metrics:\n  quality_labels: [device, city]\n").unwrap_err();
    assert_eq!(err.key(), Some("metrics.quality_labels[1]"));
    assert!(err.to_string().contains("`city`"), "{err}");
    let err = load("feishu:\n  user_id_type: email\n").unwrap_err();
    assert_eq!(err.key(), Some("feishu.user_id_type"));
    let err = load("feishu:\n  requests_per_minute: -1\n").unwrap_err();
    assert_eq!(err.key(), Some("feishu.requests_per_minute"));
    let err = load("feishu:\n  timezone: Asia/Shanghai\n").unwrap_err();
    assert_eq!(err.key(), Some("feishu.timezone"));
    assert!(err.to_string().contains("IANA"), "{err}");
    let err = load("log:\n  level: trace\n").unwrap_err();
    assert_eq!(err.key(), Some("log.level"));
    let err = load("collect: [1, 2]\n").unwrap_err();
    assert_eq!(err.key(), Some("collect"), "{err}");
}

#[test]
fn syntax_errors_are_one_line() {
    let msg = load_err("collect:\n  interval: [5m\n");
    assert!(msg.starts_with("test.yml: "), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}
