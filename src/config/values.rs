//! Value parsers shared by the file and the command line, and the wording of the server's
//! telemetry-path rule.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use chrono::FixedOffset;

use crate::server::{check_telemetry_path, BadTelemetryPath};

/// A listen address: `host:port`, `:port` (all IPv4 interfaces), `[ipv6]:port` or
/// `localhost:port`.
pub fn parse_listen_address(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Some(port) = s.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| format!("invalid port in {s:?}"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Some((host, port)) = s.rsplit_once(':') {
        if host.eq_ignore_ascii_case("localhost") {
            let port: u16 = port.parse().map_err(|_| format!("invalid port in {s:?}"))?;
            return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
        }
    }
    Err(format!(
        "invalid listen address {s:?}: expected IP:PORT, :PORT or [IPv6]:PORT"
    ))
}

/// A duration in humantime form: `300ms`, `30s`, `5m`, `24h`, `1h 30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|_| format!("invalid duration {s:?}: expected e.g. 300ms, 30s, 5m, 24h"))
}

/// A ratio in 0..=1.
pub fn parse_ratio(s: &str) -> Result<f64, String> {
    let value: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("invalid number {s:?}"))?;
    check_ratio(value)
}

pub(super) fn check_ratio(value: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be a ratio between 0 and 1, got {value}"))
    }
}

/// A fixed UTC offset: `+08:00`, `+0800`, `+8`, `-05:30`, `UTC`, `Z`, `GMT`, `UTC+8`,
/// `GMT+08:00`. IANA names (`Asia/Shanghai`) are not supported.
pub fn parse_timezone(s: &str) -> Result<FixedOffset, String> {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return Err("empty time zone: expected an offset such as +08:00, or UTC".to_owned());
    }
    let upper = trimmed.to_ascii_uppercase();
    let rest = upper
        .strip_prefix("UTC")
        .or_else(|| upper.strip_prefix("GMT"))
        .unwrap_or(&upper);
    if rest.is_empty() || rest == "Z" {
        return Ok(FixedOffset::east_opt(0).expect("zero offset"));
    }
    let bad = || {
        if trimmed.contains('/') {
            format!(
                "unsupported time zone {trimmed:?}: IANA names are not supported, use a fixed offset such as +08:00"
            )
        } else {
            format!(
                "invalid time zone {trimmed:?}: expected an offset such as +08:00, -05:30, or UTC"
            )
        }
    };
    let (sign, digits) = match rest.as_bytes()[0] {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return Err(bad()),
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None if digits.len() == 4 => digits.split_at(2),
        None => (digits, "0"),
    };
    let all_digits =
        |p: &str| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) {
        return Err(bad());
    }
    let hours: i32 = hours.parse().map_err(|_| bad())?;
    let minutes: i32 = minutes.parse().map_err(|_| bad())?;
    if hours > 14 || minutes > 59 || (hours == 14 && minutes > 0) {
        return Err(format!(
            "invalid time zone {trimmed:?}: offsets range from -14:00 to +14:00"
        ));
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).ok_or_else(bad)
}

/// A duration as the file would spell it: the largest whole unit (`24h`, `5m`, `300ms`).
pub(super) fn format_duration(d: Duration) -> String {
    let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
    if nanos == 0 {
        if secs > 0 && secs % 3600 == 0 {
            format!("{}h", secs / 3600)
        } else if secs > 0 && secs % 60 == 0 {
            format!("{}m", secs / 60)
        } else {
            format!("{secs}s")
        }
    } else if nanos % 1_000_000 == 0 {
        format!("{}ms", d.as_millis())
    } else {
        humantime::format_duration(d).to_string()
    }
}

/// The server's rule ([`check_telemetry_path`]), worded for the config.
pub(super) fn telemetry_path(path: &str) -> Result<(), String> {
    check_telemetry_path(path).map_err(|bad| match bad {
        BadTelemetryPath::NotAbsolute => format!("must start with /, got {path:?}"),
        BadTelemetryPath::Reserved => format!("{path:?} is reserved"),
        BadTelemetryPath::NotPlain => format!("must be a plain URL path, got {path:?}"),
    })
}
