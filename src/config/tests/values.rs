//! The value parsers shared with the command line.

use super::*;

#[test]
fn timezone_forms() {
    let ok = [
        ("+08:00", 8 * 3600),
        ("+0800", 8 * 3600),
        ("+8", 8 * 3600),
        ("-05:30", -(5 * 3600 + 1800)),
        ("UTC", 0),
        ("utc", 0),
        ("Z", 0),
        ("GMT", 0),
        ("UTC+8", 8 * 3600),
        ("GMT+08:00", 8 * 3600),
        ("UTC-03:00", -3 * 3600),
        ("+14:00", 14 * 3600),
        (" +05:45 ", 5 * 3600 + 45 * 60),
    ];
    for (s, secs) in ok {
        assert_eq!(parse_timezone(s).unwrap().local_minus_utc(), secs, "{s}");
    }
    for s in [
        "",
        "+",
        "08:00",
        "+8:0:0",
        "+24:00",
        "+14:30",
        "+08:60",
        "CST",
        "Asia/Shanghai",
        "+0x",
    ] {
        assert!(parse_timezone(s).is_err(), "{s:?} should be rejected");
    }
    // In the file: quoted or bare, the YAML scalar is read as text.
    for yaml in [
        "feishu: {timezone: '+08:00'}",
        "feishu:\n  timezone: +08:00",
        "feishu: {timezone: Z}",
        "feishu: {timezone: UTC}",
    ] {
        let c = load(yaml).unwrap();
        assert!(
            [0, 8 * 3600].contains(&c.feishu.timezone.local_minus_utc()),
            "{yaml}"
        );
    }
    assert_eq!(
        load("feishu: {timezone: UTC}")
            .unwrap()
            .feishu
            .timezone
            .local_minus_utc(),
        0
    );
}

#[test]
fn listen_address_forms() {
    assert_eq!(
        parse_listen_address(":9874").unwrap(),
        "0.0.0.0:9874".parse().unwrap()
    );
    assert_eq!(
        parse_listen_address("127.0.0.1:1").unwrap(),
        "127.0.0.1:1".parse().unwrap()
    );
    assert_eq!(
        parse_listen_address("[::1]:9874").unwrap(),
        "[::1]:9874".parse().unwrap()
    );
    assert_eq!(
        parse_listen_address("localhost:80").unwrap(),
        "127.0.0.1:80".parse().unwrap()
    );
    for bad in [
        "9874",
        ":",
        ":x",
        "example.com:80",
        "1.2.3.4",
        "localhost:x",
    ] {
        assert!(parse_listen_address(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        parse_listen_address(DEFAULT_LISTEN_ADDRESS).unwrap().port(),
        9874
    );
}

#[test]
fn durations_render_in_their_largest_whole_unit() {
    assert_eq!(format_duration(Duration::from_secs(86400)), "24h");
    assert_eq!(format_duration(Duration::from_secs(300)), "5m");
    assert_eq!(format_duration(Duration::from_secs(90)), "90s");
    assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    assert_eq!(format_duration(Duration::ZERO), "0s");
    let odd = Duration::from_nanos(1_500);
    assert_eq!(parse_duration(&format_duration(odd)).unwrap(), odd);
}
