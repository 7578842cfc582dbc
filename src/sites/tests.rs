use std::net::IpAddr;

use super::*;

fn map(csv: &str) -> SiteMap {
    match SiteMap::from_csv(csv.as_bytes(), "sites.csv") {
        Ok(map) => map,
        Err(e) => panic!("{e}"),
    }
}

/// The error a bad file gives: its line and its message.
fn error(csv: &str) -> (Option<u64>, String) {
    match SiteMap::from_csv(csv.as_bytes(), "sites.csv") {
        Ok(map) => panic!("accepted, {} networks", map.len()),
        Err(e) => {
            assert_eq!(e.file, "sites.csv");
            (e.line, e.message)
        }
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn site(map: &SiteMap, internal: &str, public: &str) -> String {
    map.lookup(Some(internal), Some(public)).name().to_owned()
}

const OFFICES: &str = "network,site,region\n\
    10.1.0.0/16,Shanghai,APAC\n\
    10.1.8.0/24,Shanghai Wi-Fi,APAC\n\
    203.0.113.0/24,Beijing,APAC\n\
    2001:db8:1::/48,Shanghai,APAC\n\
    2001:db8:1:8::/64,Shanghai Wi-Fi,APAC\n";

#[test]
fn longest_prefix_wins_and_internal_comes_before_public() {
    let m = map(OFFICES);
    assert_eq!(m.len(), 5);
    assert_eq!(site(&m, "10.1.2.3", ""), "Shanghai");
    assert_eq!(site(&m, "10.1.8.3", ""), "Shanghai Wi-Fi");
    assert_eq!(site(&m, "10.1.8.3", "203.0.113.9"), "Shanghai Wi-Fi");
    assert_eq!(site(&m, "192.168.1.2", "203.0.113.9"), "Beijing");
    assert_eq!(site(&m, "-", "203.0.113.9"), "Beijing");
    assert_eq!(site(&m, "192.168.1.2", "198.51.100.1"), UNMAPPED);
    assert_eq!(m.lookup(None, None), Site::Unmapped);
    assert_eq!(m.lookup(Some("10.1.2.3"), None).region(), Some("APAC"));
    assert!(m.lookup(Some("10.9.0.1"), None).is_unmapped());
}

#[test]
fn ipv6_zones_and_mapped_addresses() {
    let m = map(OFFICES);
    assert_eq!(site(&m, "2001:db8:1:2::5", ""), "Shanghai");
    assert_eq!(site(&m, "2001:db8:1:8::5", ""), "Shanghai Wi-Fi");
    assert_eq!(site(&m, " 2001:db8:1:8::5%eth0 ", ""), "Shanghai Wi-Fi");
    assert_eq!(site(&m, "::ffff:10.1.8.3", ""), "Shanghai Wi-Fi");
    assert_eq!(site(&m, "fe80::1%eth0", "::ffff:203.0.113.1"), "Beijing");
}

#[test]
fn ip_cells_that_are_not_addresses_are_no_address() {
    for cell in [
        "",
        " ",
        "-",
        "--",
        "N/A",
        "n/a",
        "garbage",
        "10.1.2",
        "10.1.2.3/24",
        "%",
        "%eth0",
    ] {
        assert_eq!(parse_ip(cell), None, "{cell:?}");
    }
    assert_eq!(parse_ip(" 10.1.2.3\t"), Some(ip("10.1.2.3")));
    assert_eq!(parse_ip("fe80::1%eth0"), Some(ip("fe80::1")));
    assert_eq!(parse_ip("::ffff:10.1.2.3"), Some(ip("10.1.2.3")));
    assert_eq!(parse_ip("2001:DB8::1"), Some(ip("2001:db8::1")));
}

#[test]
fn sites_and_regions() {
    let m = map(OFFICES);
    assert_eq!(
        m.sites().collect::<Vec<_>>(),
        ["Shanghai", "Shanghai Wi-Fi", "Beijing"]
    );
    assert_eq!(m.region_of("Beijing"), Some("APAC"));
    assert_eq!(m.region_of("Paris"), None);
    // No region column: no regions.
    let m = map("site,network\nParis,10.2.0.0/16\n");
    assert_eq!(m.region_of("Paris"), None);
    assert_eq!(m.lookup(Some("10.2.3.4"), None).region(), None);
    // The first non-empty region is the site's.
    let m = map("network,site,region\n10.2.0.0/16,Paris,\n10.3.0.0/16,Paris,EMEA\n");
    assert_eq!(m.region_of("Paris"), Some("EMEA"));
}

#[test]
fn header_in_any_order_and_case_with_extra_columns() {
    let m = map(" Site ,comment, NETWORK \nLyon,first floor,10.4.0.0/16\n");
    assert_eq!(site(&m, "10.4.1.1", ""), "Lyon");
}

#[test]
fn missing_or_twice_named_columns_are_errors() {
    assert_eq!(
        error("network,region\n10.0.0.0/8,APAC\n"),
        (
            Some(1),
            "header row has no `site` column (need network,site)".into()
        )
    );
    assert!(error("cidr,site\n").1.contains("no `network` column"));
    assert!(error("").1.contains("no `network` column"));
    assert!(error("network,site,Site\n")
        .1
        .contains("`site` appears twice"));
}

#[test]
fn bom_crlf_blank_lines_and_comments() {
    let m = map(
        "\u{feff}network,site\r\n\r\n# offices\r\n10.1.0.0/16,Shanghai\r\n \r\n,\r\n10.2.0.0/16,Paris\r\n",
    );
    assert_eq!(m.len(), 2);
    assert_eq!(site(&m, "10.2.0.1", ""), "Paris");
    // Lines are still counted as an editor does, whatever csv skipped before them.
    let cases = [
        (
            "\u{feff}network,site\r\n\r\n# x\r\n10.1.0.0/16,Shanghai\r\nbad,Paris\r\n",
            5,
        ),
        ("network,site\n\n\nbad,A\n", 4),
        ("\n# x\nnetwork,site\n# y\n#z\nbad,A", 6),
        (
            "network,site\n10.0.0.0/8,A,\"two\nlines\"\n\n  \nbad,A\n",
            6,
        ),
        ("network,site\rbad,A\r", 2),
        ("\n\nnetwork\n", 3),
    ];
    for (text, expected) in cases {
        assert_eq!(error(text).0, Some(expected), "{text:?}");
    }
}

#[test]
fn header_only_is_an_empty_map() {
    let m = map("network,site\n");
    assert!(m.is_empty());
    assert_eq!(m.sites().count(), 0);
    assert_eq!(site(&m, "10.0.0.1", "203.0.113.1"), UNMAPPED);
}

#[test]
fn malformed_networks_name_their_line() {
    for bad in [
        "10.0.0.0/33",
        "garbage",
        "10.0.0/8",
        "2001:db8::/129",
        "10.0.0.0/-1",
        "/8",
        "fe80::%eth0/64",
    ] {
        let (line, message) = error(&format!("network,site\n10.9.0.0/16,A\n{bad},B\n"));
        assert_eq!(line, Some(3), "{bad}");
        assert!(message.starts_with("malformed network"), "{bad}: {message}");
    }
    let (line, message) = error("network,site\n,A\n");
    assert_eq!((line, message.as_str()), (Some(2), "empty network"));
    let (_, message) = error("network,site\n10.1.0.0,A\n");
    assert!(message.contains("has no prefix length"), "{message}");
}

#[test]
fn host_bits_are_refused_with_the_network_meant() {
    assert_eq!(
        error("network,site\n10.0.0.1/24,A\n"),
        (
            Some(2),
            "host bits set in 10.0.0.1/24; did you mean 10.0.0.0/24?".into()
        )
    );
    let (_, message) = error("network,site\n2001:db8::1/48,A\n");
    assert!(
        message.ends_with("did you mean 2001:db8::/48?"),
        "{message}"
    );
}

#[test]
fn ipv4_mapped_networks_are_refused() {
    let (line, message) = error("network,site\n::ffff:10.0.0.0/104,A\n");
    assert_eq!(line, Some(2));
    assert!(message.contains("IPv4-mapped"), "{message}");
}

#[test]
fn duplicate_networks() {
    // Same site: accepted, once.
    let m = map("network,site\n10.0.0.0/8,A\n10.0.0.0/8,A\n");
    assert_eq!(m.len(), 1);
    // Different sites: both lines named.
    let (line, message) = error("network,site\n10.0.0.0/8,A\n172.16.0.0/12,C\n10.0.0.0/8,B\n");
    assert_eq!(line, Some(4));
    assert_eq!(
        message,
        "network 10.0.0.0/8 is already mapped to site \"A\" on line 2; here it is \"B\""
    );
}

#[test]
fn a_site_has_one_region() {
    let (line, message) = error("network,site,region\n10.1.0.0/16,A,APAC\n10.2.0.0/16,A,EMEA\n");
    assert_eq!(line, Some(3));
    assert!(message.contains("region \"APAC\" on line 2"), "{message}");
}

#[test]
fn bad_site_and_region_names() {
    let cases = [
        ("10.0.0.0/8,,X", "empty site name"),
        ("10.0.0.0/8,   ,X", "empty site name"),
        ("10.0.0.0/8,unmapped,X", "reserved"),
        ("10.0.0.0/8,Unmapped,X", "reserved"),
        ("10.0.0.0/8,\"A\u{7}B\",X", "control character"),
        ("10.0.0.0/8,\"A\nB\",X", "control character"),
        (
            "10.0.0.0/8,A,\"X\tY\"",
            "region name \"X\\tY\" contains a control character",
        ),
    ];
    for (row, expected) in cases {
        let (line, message) = error(&format!("network,site,region\n{row}\n"));
        assert_eq!(line, Some(2), "{row}");
        assert!(message.contains(expected), "{row}: {message}");
    }
    // Any other UTF-8 is a fine label value.
    let m = map("network,site\n10.0.0.0/8,上海 \"总部\" 🏢\n");
    assert_eq!(site(&m, "10.0.0.1", ""), "上海 \"总部\" 🏢");
}

#[test]
fn names_over_the_limit_are_refused() {
    let at_limit = "é".repeat(DEFAULT_MAX_NAME_CHARS);
    assert_eq!(
        map(&format!("network,site\n10.0.0.0/8,{at_limit}\n")).len(),
        1
    );
    let (line, message) = error(&format!("network,site\n10.0.0.0/8,{at_limit}x\n"));
    assert_eq!(line, Some(2));
    assert!(
        message.ends_with("is 65 characters long; the limit is 64"),
        "{message}"
    );
    let (_, message) = error(&format!("network,site,region\n10.0.0.0/8,A,{at_limit}x\n"));
    assert!(message.starts_with("region name"), "{message}");
    // The limit is a parameter.
    let short = SiteMap::from_csv_with_limit(&b"network,site\n10.0.0.0/8,Paris\n"[..], "s", 4);
    assert_eq!(short.map(|m| m.len()).map_err(|e| e.line), Err(Some(2)));
}

#[test]
fn invalid_utf8_and_odd_input_are_errors_not_panics() {
    let mut bytes = b"network,site\n10.0.0.0/8,A".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
    let e = SiteMap::from_csv(&bytes[..], "s")
        .map(|m| m.len())
        .unwrap_err();
    assert_eq!(e.line, Some(2));
    for odd in [
        "\"",
        "network,site\n\"10.0.0.0/8,A\n",
        "\u{feff}",
        "network,site\n,,,,,,\n",
        "\0\0\0",
    ] {
        let _ = SiteMap::from_csv(odd.as_bytes(), "s");
    }
    // A short row: the missing site cell is empty.
    assert_eq!(error("network,site\n10.0.0.0/8\n").1, "empty site name");
}

#[test]
fn errors_display_file_and_line() {
    let e = SiteMap::from_csv(&b"network,site\n10.0.0.0/33,A\n"[..], "/etc/sites.csv").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/etc/sites.csv line 2: malformed network"),
        "{e}"
    );
    let e = SiteMap::load(Path::new("/nonexistent/sites.csv")).unwrap_err();
    assert_eq!(e.line, None);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/sites.csv: cannot open"),
        "{e}"
    );
}

#[test]
fn private_prefix_is_a_prefix() {
    assert_eq!(private_prefix(ip("10.1.2.3")), "10.1.2.0/24");
    assert_eq!(private_prefix(ip("::ffff:10.1.2.3")), "10.1.2.0/24");
    assert_eq!(
        private_prefix(ip("2001:db8:1:2:3:4:5:6")),
        "2001:db8:1:2::/64"
    );
}

#[test]
fn unmapped_report_order_threshold_and_limit() {
    let unmapped = UnmappedNetworks::default();
    let note = |text: &str, times: usize| {
        for _ in 0..times {
            unmapped.note(parse_ip(text));
        }
    };
    note("10.9.1.1", 5);
    note("10.9.1.200", 7); // same /24: 12
    note("10.9.2.1", 12); // a tie, after 10.9.1.0/24
    note("192.168.0.7", 30);
    note("2001:db8:9:9::1", 10);
    note("2001:db8:9:9:ffff::1", 1); // same /64: 11
    note("172.16.0.1", 9); // under the threshold
    unmapped.note(None);
    assert_eq!(
        unmapped.report(10, 10),
        [
            ("192.168.0.0/24".to_owned(), 30),
            ("10.9.1.0/24".to_owned(), 12),
            ("10.9.2.0/24".to_owned(), 12),
            ("2001:db8:9:9::/64".to_owned(), 11),
        ]
    );
    assert_eq!(unmapped.report(10, 2).len(), 2);
    assert_eq!(unmapped.report(1, 10).len(), 5);
    assert_eq!(unmapped.dropped(), 0);
    unmapped.clear();
    assert!(unmapped.report(0, 10).is_empty());
}

#[test]
fn unmapped_tracking_is_capped() {
    let unmapped = UnmappedNetworks::new(2);
    for text in ["10.0.1.1", "10.0.2.1", "10.0.3.1", "10.0.3.2", "10.0.1.2"] {
        unmapped.note(parse_ip(text));
    }
    assert_eq!(
        unmapped.report(0, 10),
        [("10.0.1.0/24".to_owned(), 2), ("10.0.2.0/24".to_owned(), 1)]
    );
    assert_eq!(unmapped.dropped(), 2);
}

#[test]
fn no_full_address_ever_appears_in_the_report() {
    let unmapped = UnmappedNetworks::default();
    let mut noted = Vec::new();
    for i in 0..200u32 {
        let v4 = format!("10.{}.{}.{}", i % 3, i % 7, 1 + i % 250);
        let v6 = format!("2001:db8:{:x}:{:x}::{:x}", i % 3, i % 5, 1 + i);
        for text in [v4, v6] {
            unmapped.note(parse_ip(&text));
            noted.push(text);
        }
    }
    let report = unmapped.report(0, usize::MAX);
    assert!(!report.is_empty());
    for (prefix, _) in &report {
        assert!(
            prefix.ends_with("/24") || prefix.ends_with("/64"),
            "{prefix}"
        );
        let network: IpNet = prefix.parse().unwrap();
        assert_eq!(network.trunc(), network, "{prefix} has host bits");
        for address in &noted {
            assert!(!prefix.contains(address.as_str()), "{address} in {prefix}");
        }
    }
}

mod reload {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn reload_swaps_the_map_and_keeps_the_old_one_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sites.csv");
        write(&path, "network,site\n10.1.0.0/16,Shanghai\n");
        let sites = Sites::open(&path).unwrap();
        let before = sites.current();
        assert_eq!(site(&before, "10.1.0.1", ""), "Shanghai");
        assert!(!sites.changed());
        assert_eq!(sites.reload_if_changed(), Ok(ReloadOutcome::Unchanged));

        write(
            &path,
            "network,site\n10.1.0.0/16,Pudong\n10.2.0.0/16,Paris\n",
        );
        assert!(sites.changed());
        assert_eq!(
            sites.reload_if_changed(),
            Ok(ReloadOutcome::Loaded {
                networks: 2,
                sites: 2
            })
        );
        assert_eq!(site(&sites.current(), "10.1.0.1", ""), "Pudong");
        // A reader holding the old map keeps it.
        assert_eq!(site(&before, "10.1.0.1", ""), "Shanghai");

        write(
            &path,
            "network,site\n10.1.0.0/16,Pudong\n10.2.0.1/16,Paris\n",
        );
        let e = sites.reload_if_changed().unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(site(&sites.current(), "10.2.0.1", ""), "Paris");
        let shown = sites.last_error().unwrap();
        assert!(shown.contains("sites.csv line 3: host bits set"), "{shown}");
        // The same bad file is not retried by a poll, and its error stays on show.
        assert!(!sites.changed());
        assert_eq!(sites.reload_if_changed(), Ok(ReloadOutcome::Unchanged));
        assert!(sites.last_error().is_some());
        // A forced reload (SIGHUP) does retry.
        assert!(sites.reload().is_err());

        // A missing file is an error too, and the map stays.
        std::fs::remove_file(&path).unwrap();
        assert!(sites.changed());
        let e = sites.reload_if_changed().unwrap_err();
        assert!(e.message.starts_with("cannot read"), "{e}");
        assert_eq!(site(&sites.current(), "10.2.0.1", ""), "Paris");

        write(&path, "network,site\n10.3.0.0/16,Lyon\n");
        let clone = sites.clone();
        assert_eq!(
            clone.reload(),
            Ok(ReloadOutcome::Loaded {
                networks: 1,
                sites: 1
            })
        );
        assert_eq!(sites.last_error(), None);
        assert_eq!(site(&sites.current(), "10.3.0.1", ""), "Lyon");
    }

    #[test]
    fn a_bad_file_at_open_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sites.csv");
        write(&path, "network,site\n10.1.0.0/16,unmapped\n");
        let e = Sites::open(&path).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(Sites::open(dir.path().join("missing.csv")).is_err());
    }
}

#[test]
fn never_panics_on_scrambled_files() {
    let pieces = [
        "network",
        "site",
        "region",
        ",",
        "\n",
        "\r\n",
        "\r",
        "\"",
        "#",
        " ",
        "10.0.0.0/8",
        "::/0",
        "10.0.0.1/24",
        "/33",
        "\u{feff}",
        "\u{7}",
        "unmapped",
        "上海",
        "\0",
        "%",
    ];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..1_000 {
        let mut text = String::new();
        for _ in 0..(state % 24) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push_str(pieces[(state % pieces.len() as u64) as usize]);
        }
        if let Ok(m) = SiteMap::from_csv(text.as_bytes(), "s") {
            let _ = m.lookup(Some(&text), Some("10.1.2.3"));
        }
        let _ = parse_ip(&text);
    }
}
