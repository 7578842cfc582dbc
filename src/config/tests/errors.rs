//! Validation: each rule names its key; boundary values pass.

use super::*;

/// (yaml, key named in the error, a fragment of the message)
pub(super) const INVALID: &[(&str, &str, &str)] = &[
    (
        "feishu: {base_url: ftp://open.feishu.cn}",
        "feishu.base_url",
        "http",
    ),
    (
        "feishu: {base_url: not a url}",
        "feishu.base_url",
        "invalid URL",
    ),
    (
        "feishu: {base_url: 'https://x/?a=1'}",
        "feishu.base_url",
        "query",
    ),
    (
        "feishu: {requests_per_minute: 0}",
        "feishu.requests_per_minute",
        "between 1 and 100",
    ),
    (
        "feishu: {requests_per_minute: 101}",
        "feishu.requests_per_minute",
        "got 101",
    ),
    ("feishu: {timezone: '+25:00'}", "feishu.timezone", "+14:00"),
    (
        "feishu: {timezone: CST}",
        "feishu.timezone",
        "invalid time zone",
    ),
    (
        "collect: {interval: 29s}",
        "collect.interval",
        "at least 30s",
    ),
    (
        "collect: {interval: 1h, lookback: 30m}",
        "collect.lookback",
        "at least collect.interval",
    ),
    (
        "collect: {concurrency: 0}",
        "collect.concurrency",
        "at least 1",
    ),
    (
        "collect: {participants: false}",
        "collect.quality.enabled",
        "collect.participants",
    ),
    (
        "collect: {quality: {max_per_cycle: 0}}",
        "collect.quality.max_per_cycle",
        "at least 1",
    ),
    (
        "collect: {quality: {sample_ratio: 1.5}}",
        "collect.quality.sample_ratio",
        "between 0 and 1",
    ),
    (
        "collect: {quality: {sample_ratio: -0.1}}",
        "collect.quality.sample_ratio",
        "between 0 and 1",
    ),
    (
        "collect: {rooms: {enabled: true}}",
        "collect.rooms.room_level_id",
        "required",
    ),
    (
        "collect: {rooms: {enabled: true, room_level_id: ' '}}",
        "collect.rooms.room_level_id",
        "required",
    ),
    (
        "collect: {rooms: {room_level_id: omb_1, room_ids: [a, '']}}",
        "collect.rooms.room_ids[1]",
        "empty",
    ),
    (
        "collect: {poll: {initial_delay: 0s}}",
        "collect.poll.initial_delay",
        "more than 0s",
    ),
    (
        "collect: {poll: {initial_delay: 1m, max_delay: 30s}}",
        "collect.poll.initial_delay",
        "collect.poll.max_delay",
    ),
    (
        "collect: {poll: {max_delay: 20m, timeout: 10m}}",
        "collect.poll.max_delay",
        "collect.poll.timeout",
    ),
    (
        "metrics: {max_label_values: 0}",
        "metrics.max_label_values",
        "at least 1",
    ),
    (
        "metrics: {poor_thresholds: {latency: 0ms}}",
        "metrics.poor_thresholds.latency",
        "more than 0s",
    ),
    (
        "metrics: {poor_thresholds: {jitter: 0ms}}",
        "metrics.poor_thresholds.jitter",
        "more than 0s",
    ),
    (
        "metrics: {poor_thresholds: {packet_loss: 5}}",
        "metrics.poor_thresholds.packet_loss",
        "between 0 and 1",
    ),
    ("state: {path: ''}", "state.path", "empty"),
    (
        "web: {listen_address: 'localhost'}",
        "web.listen_address",
        "invalid listen address",
    ),
    (
        "web: {listen_address: ':99999'}",
        "web.listen_address",
        "port",
    ),
    (
        "web: {telemetry_path: metrics}",
        "web.telemetry_path",
        "start with /",
    ),
    (
        "web: {telemetry_path: /-/healthy}",
        "web.telemetry_path",
        "reserved",
    ),
    (
        "web: {telemetry_path: /m?x=1}",
        "web.telemetry_path",
        "plain URL path",
    ),
    // The server refuses these too, so the config does (check-config used to accept them).
    (
        r#"web: {telemetry_path: '/m"x'}"#,
        "web.telemetry_path",
        "plain URL path",
    ),
    (
        "web: {telemetry_path: '/<m>'}",
        "web.telemetry_path",
        "plain URL path",
    ),
    (
        "feishu: {app_secret: hunter2}",
        "feishu.app_secret",
        "FEISHU_APP_SECRET",
    ),
    (
        "feishu: {user_access_token: u-hunter2}",
        "feishu.user_access_token",
        "FEISHU_USER_ACCESS_TOKEN",
    ),
];

#[test]
fn each_validation_rule_names_its_key() {
    for (yaml, key, fragment) in INVALID {
        let err = load(yaml).unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.key(), Some(*key), "{yaml}: {msg}");
        let (origin_key, bare_key) = (format!("test.yml: {key}: "), format!("{key}: "));
        assert!(
            msg.starts_with(&origin_key) || msg.starts_with(&bare_key),
            "{yaml}: {msg}"
        );
        assert!(msg.contains(fragment), "{yaml}: {msg} lacks {fragment:?}");
        assert!(!msg.contains('\n'), "{yaml}: one line: {msg}");
        assert!(!msg.contains("hunter2"), "{yaml}: leaks a secret: {msg}");
    }
}

#[test]
fn boundary_values_are_accepted() {
    let c = load(
        "feishu: {requests_per_minute: 100}\n\
         collect: {interval: 30s, lookback: 30s, quality: {sample_ratio: 0}, \
         poll: {initial_delay: 10m, max_delay: 10m, timeout: 10m}}\n\
         metrics: {poor_thresholds: {packet_loss: 1}}",
    )
    .unwrap();
    assert_eq!(c.feishu.requests_per_minute, 100);
    assert_eq!(c.collect.interval, Duration::from_secs(30));
    assert_eq!(c.collect.quality.sample_ratio, 0.0);
    assert_eq!(c.metrics.poor_thresholds.packet_loss, 1.0);
    let c = load("collect: {participants: false, quality: {enabled: false}}").unwrap();
    assert!(!c.collect.quality.enabled);
    let c = load("collect: {rooms: {enabled: false, room_level_id: omb_1}}").unwrap();
    assert_eq!(c.collect.rooms, None);
    let c = load("collect: {rooms: {room_level_id: omb_1}}").unwrap();
    assert_eq!(c.collect.rooms.unwrap().room_level_id, "omb_1");
    let c = load("feishu: {base_url: 'http://127.0.0.1:8080/proxy'}").unwrap();
    assert_eq!(c.feishu.base_url.as_str(), "http://127.0.0.1:8080/proxy/");
    assert_eq!(
        c.feishu
            .base_url
            .join("open-apis/vc/v1/exports/x")
            .unwrap()
            .as_str(),
        "http://127.0.0.1:8080/proxy/open-apis/vc/v1/exports/x"
    );
}
