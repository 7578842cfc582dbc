//! Parsers for the text values of Feishu export cells (DESIGN.md section 2).
//!
//! Every parser takes the trimmed cell text and answers `Ok(None)` for a missing-value marker
//! (empty, `-`, `--`, `N/A`), `Ok(Some(..))` for a value, or `Err` with the reason the row is
//! rejected. None of them allocates or panics.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, TimeZone};

/// Why a value could not be read; becomes the `reason` label of
/// `feishu_vc_export_rows_rejected_total`, so the set is small and fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Invalid {
    Time,
    Duration,
    Number,
    Bitrate,
    Delay,
    Percent,
    Boolean,
    /// A required value was empty.
    Missing,
    /// The cell holds an Excel error such as `#N/A`.
    CellError,
}

impl Invalid {
    pub fn label(self) -> &'static str {
        match self {
            Invalid::Time => "invalid_time",
            Invalid::Duration => "invalid_duration",
            Invalid::Number => "invalid_number",
            Invalid::Bitrate => "invalid_bitrate",
            Invalid::Delay => "invalid_delay",
            Invalid::Percent => "invalid_percent",
            Invalid::Boolean => "invalid_boolean",
            Invalid::Missing => "missing_value",
            Invalid::CellError => "cell_error",
        }
    }

    pub const ALL: [Invalid; 9] = [
        Invalid::Time,
        Invalid::Duration,
        Invalid::Number,
        Invalid::Bitrate,
        Invalid::Delay,
        Invalid::Percent,
        Invalid::Boolean,
        Invalid::Missing,
        Invalid::CellError,
    ];
}

pub type Parsed<T> = Result<Option<T>, Invalid>;

/// Empty, `-`, `--`, `N/A` (any case), and their full-width forms mean "no value".
pub fn is_missing(text: &str) -> bool {
    is_missing_trimmed(trim(text))
}

/// `str::trim`, but free for the usual cell that has no surrounding space.
fn trim(text: &str) -> &str {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

fn is_missing_trimmed(text: &str) -> bool {
    text.is_empty()
        || matches!(text, "-" | "--" | "—" | "——" | "－" | "－－" | "/")
        || text.eq_ignore_ascii_case("n/a")
        || text.eq_ignore_ascii_case("na")
        || text.eq_ignore_ascii_case("null")
}

/// A point in time as unix seconds.
///
/// Accepts `2022.07.21 11:01:40 (GMT+08:00)`, `2022-07-21 11:01:40`, `2022/07/21 11:01`,
/// `2022-07-21T11:01:40+08:00`, `... (UTC)`, `... GMT+8`; a missing offset means `default_offset`.
pub fn parse_time(text: &str, default_offset: FixedOffset) -> Parsed<i64> {
    let text = trim(text);
    if is_missing_trimmed(text) {
        return Ok(None);
    }
    let mut scan = Scanner::new(text);
    let year = scan.number(4).ok_or(Invalid::Time)?;
    scan.separator(b"-./").ok_or(Invalid::Time)?;
    let month = scan.number(2).ok_or(Invalid::Time)?;
    scan.separator(b"-./").ok_or(Invalid::Time)?;
    let day = scan.number(2).ok_or(Invalid::Time)?;
    let date = NaiveDate::from_ymd_opt(year as i32, month, day).ok_or(Invalid::Time)?;
    let (mut hour, mut minute, mut second) = (0, 0, 0);
    if scan.separator(b" T").is_some() {
        scan.skip_spaces();
        hour = scan.number(2).ok_or(Invalid::Time)?;
        scan.separator(b":").ok_or(Invalid::Time)?;
        minute = scan.number(2).ok_or(Invalid::Time)?;
        if scan.separator(b":").is_some() {
            second = scan.number(2).ok_or(Invalid::Time)?;
            scan.fraction();
        }
    }
    let naive = date
        .and_hms_opt(hour, minute, second)
        .ok_or(Invalid::Time)?;
    let offset = match parse_offset(scan.rest())? {
        Some(offset) => offset,
        None => default_offset,
    };
    local_to_unix(naive, offset).map(Some)
}

/// A wall-clock time in `offset` as unix seconds (also used for Excel date cells).
pub fn local_to_unix(naive: NaiveDateTime, offset: FixedOffset) -> Result<i64, Invalid> {
    offset
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.timestamp())
        .ok_or(Invalid::Time)
}

/// The zone suffix of a time: empty, `(GMT+08:00)`, `GMT+8`, `+0800`, `Z`, `UTC`, `(UTC+05:30)`.
fn parse_offset(rest: &str) -> Result<Option<FixedOffset>, Invalid> {
    let rest = rest
        .trim()
        .trim_start_matches(['(', '（'])
        .trim_end_matches([')', '）'])
        .trim();
    if rest.is_empty() {
        return Ok(None);
    }
    let rest = rest
        .strip_prefix("GMT")
        .or_else(|| rest.strip_prefix("UTC"))
        .unwrap_or(rest)
        .trim();
    if rest.is_empty() || rest == "Z" {
        return Ok(Some(FixedOffset::east_opt(0).ok_or(Invalid::Time)?));
    }
    parse_utc_offset(rest).map(Some).ok_or(Invalid::Time)
}

/// `+08:00`, `+0800`, `+8`, `-03:30`.
pub fn parse_utc_offset(text: &str) -> Option<FixedOffset> {
    let (sign, digits) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        // Checked: four bytes need not be four characters (`+1é1`).
        None if digits.len() == 4 => digits.split_at_checked(2)?,
        None => (digits, "0"),
    };
    let hours: i32 = small_number(hours)?;
    let minutes: i32 = small_number(minutes)?;
    if hours > 14 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

fn small_number<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || text.len() > 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A duration in seconds: `01:00:00` (hours may pass 24), `05:30` (minutes:seconds), or a
/// plain number of seconds.
pub fn parse_duration(text: &str) -> Parsed<u64> {
    let text = trim(text);
    if is_missing_trimmed(text) {
        return Ok(None);
    }
    let mut total: u64 = 0;
    let mut parts = 0;
    for (index, part) in text.split(':').enumerate() {
        let value: u64 =
            if part.is_empty() || part.len() > 9 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Invalid::Duration);
            } else {
                part.parse().map_err(|_| Invalid::Duration)?
            };
        // Minutes and seconds stay below 60; only the leading field may be large.
        if index > 0 && value >= 60 {
            return Err(Invalid::Duration);
        }
        total = total.checked_mul(60).ok_or(Invalid::Duration)? + value;
        parts += 1;
    }
    if parts > 3 {
        return Err(Invalid::Duration);
    }
    Ok(Some(total))
}

/// A non-negative whole count such as `2`, also `2.0` as some writers store it.
pub fn parse_count(text: &str) -> Parsed<u64> {
    let text = trim(text);
    if is_missing_trimmed(text) {
        return Ok(None);
    }
    let value = parse_decimal(text).ok_or(Invalid::Number)?;
    if value < 0.0 || value.fract() != 0.0 || value > u32::MAX as f64 {
        return Err(Invalid::Number);
    }
    Ok(Some(value as u64))
}

/// A bitrate in bytes per second from `50kbps`, `1.2Mbps`, `800bps`, `50 kb/s`; a bare number
/// is kbps, the unit the export uses.
pub fn parse_bitrate(text: &str) -> Parsed<f64> {
    let text = trim(text);
    if is_missing_trimmed(text) {
        return Ok(None);
    }
    let (number, unit) = split_unit(text);
    let value = parse_decimal(number).ok_or(Invalid::Bitrate)?;
    let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(unit));
    let bits_per_second = if is(&["", "kbps", "kb/s", "kbit/s", "k"]) {
        value * 1e3
    } else if is(&["bps", "b/s", "bit/s"]) {
        value
    } else if is(&["mbps", "mb/s", "mbit/s", "m"]) {
        value * 1e6
    } else if is(&["gbps", "gb/s", "gbit/s"]) {
        value * 1e9
    } else {
        return Err(Invalid::Bitrate);
    };
    Ok(Some(bits_per_second / 8.0))
}

/// A latency or jitter in seconds from `5ms`, `0.3s`, `120 ms`; a bare number is milliseconds.
pub fn parse_delay(text: &str) -> Parsed<f64> {
    let text = trim(text);
    if is_missing_trimmed(text) {
        return Ok(None);
    }
    let (number, unit) = split_unit(text);
    let value = parse_decimal(number).ok_or(Invalid::Delay)?;
    let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(unit));
    let seconds = if is(&["", "ms"]) {
        value / 1e3
    } else if is(&["s", "sec"]) {
        value
    } else if is(&["us", "µs", "μs"]) {
        value / 1e6
    } else {
        return Err(Invalid::Delay);
    };
    Ok(Some(seconds))
}

/// A percentage as a ratio 0–1 from `2%`, `0.8%`, `2％`; a bare number is a percentage.
pub fn parse_percent(text: &str) -> Parsed<f64> {
    let text = trim(text);
    if is_missing_trimmed(text) {
        return Ok(None);
    }
    let number = text
        .strip_suffix('%')
        .or_else(|| text.strip_suffix('％'))
        .unwrap_or(text)
        .trim_end();
    let value = parse_decimal(number).ok_or(Invalid::Percent)?;
    Ok(Some(value / 100.0))
}

/// `是`/`否`, `Yes`/`No`, `true`/`false`, `Y`/`N`, `1`/`0`, `开启`/`关闭`.
pub fn parse_bool(text: &str) -> Parsed<bool> {
    let text = trim(text);
    if is_missing_trimmed(text) {
        return Ok(None);
    }
    let truthy = ["是", "有", "开启", "已开启", "yes", "y", "true", "1", "on"];
    let falsy = ["否", "无", "关闭", "未开启", "no", "n", "false", "0", "off"];
    if truthy.iter().any(|t| t.eq_ignore_ascii_case(text)) {
        Ok(Some(true))
    } else if falsy.iter().any(|f| f.eq_ignore_ascii_case(text)) {
        Ok(Some(false))
    } else {
        Err(Invalid::Boolean)
    }
}

/// A finite, non-negative decimal: `12`, `0.8`, `.5`, `1,234.5` (already trimmed).
fn parse_decimal(text: &str) -> Option<f64> {
    if let Some(value) = short_decimal(text) {
        return Some(value);
    }
    if text.is_empty() || text.len() > 32 {
        return None;
    }
    let value: f64 = if text.contains(',') {
        text.replace(',', "").parse().ok()?
    } else {
        text.parse().ok()?
    };
    (value.is_finite() && value >= 0.0).then_some(value)
}

/// The common case, `digits[.digits]` with at most 15 digits, without the general parser:
/// both the digits and the power of ten are exact doubles, so one division is correctly
/// rounded and gives the same value as `str::parse` (Clinger's fast path).
fn short_decimal(text: &str) -> Option<f64> {
    const POWERS: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let (mut digits, mut mantissa, mut scale, mut point) = (0usize, 0u64, 0usize, false);
    for &byte in bytes {
        match byte {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                digits += 1;
                scale += usize::from(point);
            }
            b'.' if !point => point = true,
            _ => return None,
        }
    }
    (digits > 0 && digits <= 15).then(|| mantissa as f64 / POWERS[scale])
}

/// Splits `1.2 Mbps` into (`1.2`, `Mbps`).
fn split_unit(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(text.len());
    (trim(&text[..end]), trim(&text[end..]))
}

/// A tiny cursor over the ASCII bytes of a time string.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    /// Up to `max_digits` digits (at least one).
    fn number(&mut self, max_digits: usize) -> Option<u32> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut value = 0u32;
        while self.pos < bytes.len()
            && self.pos - start < max_digits
            && bytes[self.pos].is_ascii_digit()
        {
            value = value * 10 + u32::from(bytes[self.pos] - b'0');
            self.pos += 1;
        }
        (self.pos > start).then_some(value)
    }

    fn separator(&mut self, allowed: &[u8]) -> Option<()> {
        let byte = *self.text.as_bytes().get(self.pos)?;
        allowed.contains(&byte).then(|| self.pos += 1)
    }

    fn skip_spaces(&mut self) {
        while self.text.as_bytes().get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    /// Drops fractional seconds (`.123`), which the exports do not use but other tools write.
    fn fraction(&mut self) {
        if self.separator(b".").is_some() {
            while self
                .text
                .as_bytes()
                .get(self.pos)
                .is_some_and(u8::is_ascii_digit)
            {
                self.pos += 1;
            }
        }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cst() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    // 2022-07-21 03:01:40 UTC
    const T: i64 = 1_658_372_500;

    #[test]
    fn times_in_every_documented_form() {
        for text in [
            "2022.07.21 11:01:40 (GMT+08:00)",
            "2022.07.21 11:01:40 （GMT+08:00）",
            "2022.07.21 11:01:40 GMT+8",
            "2022-07-21 11:01:40",
            "2022/07/21 11:01:40",
            "2022-07-21T11:01:40+08:00",
            "2022-07-21T11:01:40.250+0800",
            " 2022.07.21  11:01:40 (GMT+08:00) ",
            "2022.7.21 11:01:40",
        ] {
            assert_eq!(parse_time(text, cst()), Ok(Some(T)), "{text}");
        }
        assert_eq!(
            parse_time("2022.07.21 03:01:40 (GMT+00:00)", cst()),
            Ok(Some(T))
        );
        assert_eq!(parse_time("2022-07-21 03:01:40Z", cst()), Ok(Some(T)));
        assert_eq!(parse_time("2022-07-21 03:01:40 (UTC)", cst()), Ok(Some(T)));
        assert_eq!(
            parse_time("2022.07.20 22:31:40 (GMT-04:30)", cst()),
            Ok(Some(T))
        );
        assert_eq!(parse_time("2022.07.21 11:01", cst()), Ok(Some(T - 40)));
        assert_eq!(
            parse_time("2022.07.21", cst()),
            Ok(Some(T - 11 * 3600 - 100))
        );
        // The default offset applies only when the text has none.
        let utc = FixedOffset::east_opt(0).unwrap();
        assert_eq!(parse_time("2022-07-21 03:01:40", utc), Ok(Some(T)));
    }

    #[test]
    fn bad_and_missing_times() {
        for missing in ["", " ", "-", "--", "N/A", "n/a"] {
            assert_eq!(parse_time(missing, cst()), Ok(None), "{missing:?}");
        }
        for bad in [
            "yesterday",
            "2022.13.01 00:00:00",
            "2022.02.30 00:00:00",
            "2022.07.21 25:00:00",
            "2022.07.21 11:01:40 (GMT+99:00)",
            "2022.07.21 11:01:40 (PST)",
            "2022.07.21 11:01:40 junk",
            "20220721",
            "2022.07.21 11",
            "９９９９",
        ] {
            assert_eq!(parse_time(bad, cst()), Err(Invalid::Time), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("01:00:00"), Ok(Some(3600)));
        assert_eq!(parse_duration("00:01:58"), Ok(Some(118)));
        assert_eq!(parse_duration("27:03:04"), Ok(Some(27 * 3600 + 184)));
        assert_eq!(parse_duration("120:00:00"), Ok(Some(120 * 3600)));
        assert_eq!(parse_duration("05:30"), Ok(Some(330)));
        assert_eq!(parse_duration("42"), Ok(Some(42)));
        assert_eq!(parse_duration("-"), Ok(None));
        for bad in [
            "1:60:00",
            "01:00:60",
            "1h",
            "01:00:00:00",
            "::",
            "01::00",
            "-5",
            "999999999999:00:00",
        ] {
            assert_eq!(parse_duration(bad), Err(Invalid::Duration), "{bad}");
        }
    }

    #[test]
    fn bitrates_become_bytes_per_second() {
        assert_eq!(parse_bitrate("50kbps"), Ok(Some(6250.0)));
        assert_eq!(parse_bitrate("50 Kbps"), Ok(Some(6250.0)));
        assert_eq!(parse_bitrate("1.2Mbps"), Ok(Some(150_000.0)));
        assert_eq!(parse_bitrate("800bps"), Ok(Some(100.0)));
        assert_eq!(parse_bitrate("64 kb/s"), Ok(Some(8000.0)));
        assert_eq!(parse_bitrate("40"), Ok(Some(5000.0)));
        assert_eq!(parse_bitrate("0kbps"), Ok(Some(0.0)));
        assert_eq!(parse_bitrate("--"), Ok(None));
        for bad in ["fast", "50furlongs", "-5kbps", "kbps", "1.2.3kbps"] {
            assert_eq!(parse_bitrate(bad), Err(Invalid::Bitrate), "{bad}");
        }
    }

    #[test]
    fn delays_become_seconds() {
        assert_eq!(parse_delay("5ms"), Ok(Some(0.005)));
        assert_eq!(parse_delay("120 ms"), Ok(Some(0.12)));
        assert_eq!(parse_delay("0.3s"), Ok(Some(0.3)));
        assert_eq!(parse_delay("1.5S"), Ok(Some(1.5)));
        assert_eq!(parse_delay("7"), Ok(Some(0.007)));
        assert_eq!(parse_delay("N/A"), Ok(None));
        for bad in ["5 minutes", "ms", "-1ms", "NaNms", "infs"] {
            assert_eq!(parse_delay(bad), Err(Invalid::Delay), "{bad}");
        }
    }

    #[test]
    fn percentages_become_ratios() {
        assert_eq!(parse_percent("2%"), Ok(Some(0.02)));
        assert_eq!(parse_percent("0.8%"), Ok(Some(0.008)));
        assert_eq!(parse_percent("100%"), Ok(Some(1.0)));
        assert_eq!(parse_percent("5 ％"), Ok(Some(0.05)));
        assert_eq!(parse_percent("12"), Ok(Some(0.12)));
        assert_eq!(parse_percent(""), Ok(None));
        for bad in ["lots", "%", "-3%", "2%%"] {
            assert_eq!(parse_percent(bad), Err(Invalid::Percent), "{bad}");
        }
    }

    #[test]
    fn booleans() {
        for yes in ["是", "Yes", "YES", "true", "Y", "1"] {
            assert_eq!(parse_bool(yes), Ok(Some(true)), "{yes}");
        }
        for no in ["否", "No", "false", "N", "0"] {
            assert_eq!(parse_bool(no), Ok(Some(false)), "{no}");
        }
        assert_eq!(parse_bool("-"), Ok(None));
        assert_eq!(parse_bool("maybe"), Err(Invalid::Boolean));
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("2"), Ok(Some(2)));
        assert_eq!(parse_count("12.0"), Ok(Some(12)));
        assert_eq!(parse_count("1,024"), Ok(Some(1024)));
        assert_eq!(parse_count("--"), Ok(None));
        for bad in ["2.5", "-1", "two", "1e99"] {
            assert_eq!(parse_count(bad), Err(Invalid::Number), "{bad}");
        }
    }

    #[test]
    fn the_fast_decimal_path_agrees_with_the_parser() {
        for text in [
            "0",
            "7",
            "12.5",
            ".5",
            "5.",
            "0.1",
            "0.3",
            "123456789012345",
            "99.99",
            "1.2",
            "0.008",
            "3.14159",
        ] {
            assert_eq!(short_decimal(text), text.parse().ok(), "{text}");
        }
        for text in ["1234567890123456", "1.2.3", "", ".", "1e3", "-1", "1,5"] {
            assert_eq!(short_decimal(text), None, "{text}");
        }
        // Values the fast path leaves to the general parser still parse.
        assert_eq!(parse_decimal("1,234.5"), Some(1234.5));
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_utc_offset("+08:00"), FixedOffset::east_opt(28800));
        assert_eq!(parse_utc_offset("+0800"), FixedOffset::east_opt(28800));
        assert_eq!(parse_utc_offset("+8"), FixedOffset::east_opt(28800));
        assert_eq!(parse_utc_offset("-03:30"), FixedOffset::west_opt(12600));
        assert_eq!(parse_utc_offset("08:00"), None);
        assert_eq!(parse_utc_offset("+15:00"), None);
        assert_eq!(parse_utc_offset("+"), None);
    }
}
