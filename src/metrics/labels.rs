//! Free-form label values: cleaned up, then capped per label name.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use prometheus::IntCounterVec;

/// The value of every label whose cap is full, and of unreadable values.
pub const OTHER: &str = "other";
/// The value when the export left the column empty.
pub const UNKNOWN: &str = "unknown";

/// Admits at most `max` distinct values per label name; later ones become `other` and are
/// counted in `feishu_vc_label_overflow_total{label}`. The cap is shared by every family that
/// uses the label, so `room` means the same rooms everywhere.
pub struct LabelCap {
    max: usize,
    seen: Mutex<HashMap<&'static str, HashSet<String>>>,
    overflow: IntCounterVec,
}

impl LabelCap {
    pub fn new(max: usize, overflow: IntCounterVec) -> Self {
        Self {
            max,
            seen: Mutex::new(HashMap::new()),
            overflow,
        }
    }

    pub fn admit(&self, label: &'static str, value: String) -> String {
        if value == OTHER || value == UNKNOWN {
            return value;
        }
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let values = seen.entry(label).or_default();
        if values.contains(&value) {
            return value;
        }
        if values.len() < self.max {
            values.insert(value.clone());
            return value;
        }
        drop(seen);
        self.overflow.with_label_values(&[label]).inc();
        OTHER.to_owned()
    }
}

/// A device or network type as a label: `WINDOWS` → `windows`, `Wi-Fi` → `wi-fi`; anything
/// with characters outside `[a-z0-9._-]` or longer than 32 is `other`.
pub fn token(value: Option<&str>) -> String {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return UNKNOWN.to_owned();
    };
    let lower = value.to_ascii_lowercase().replace(' ', "_");
    if lower.len() <= 32
        && lower
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        lower
    } else {
        OTHER.to_owned()
    }
}

/// A client version such as `7.23.6`: digits, letters, dots and dashes, at most 32 characters.
pub fn version(value: Option<&str>) -> String {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return UNKNOWN.to_owned();
    };
    if value.len() <= 32
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        value.to_owned()
    } else {
        OTHER.to_owned()
    }
}

/// A room name or a location, kept as written (they name places, not people), trimmed and cut
/// to 64 characters; control characters make it `other`.
pub fn place(value: Option<&str>) -> String {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return UNKNOWN.to_owned();
    };
    if value.chars().any(char::is_control) {
        return OTHER.to_owned();
    }
    value.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::Opts;

    #[test]
    fn cap_admits_max_values_then_other() {
        let overflow = IntCounterVec::new(Opts::new("overflow", "h"), &["label"]).unwrap();
        let cap = LabelCap::new(2, overflow.clone());
        assert_eq!(cap.admit("room", "a".into()), "a");
        assert_eq!(cap.admit("room", "b".into()), "b");
        assert_eq!(cap.admit("room", "a".into()), "a");
        assert_eq!(cap.admit("room", "c".into()), "other");
        assert_eq!(cap.admit("room", "d".into()), "other");
        // Caps are per label name.
        assert_eq!(cap.admit("device", "c".into()), "c");
        assert_eq!(overflow.with_label_values(&["room"]).get(), 2);
        assert_eq!(overflow.with_label_values(&["device"]).get(), 0);
    }

    #[test]
    fn cleaning() {
        assert_eq!(token(Some(" WINDOWS ")), "windows");
        assert_eq!(token(Some("Wi-Fi")), "wi-fi");
        assert_eq!(token(Some("")), "unknown");
        assert_eq!(token(None), "unknown");
        assert_eq!(token(Some("张三的手机")), "other");
        assert_eq!(version(Some("7.23.6")), "7.23.6");
        assert_eq!(version(Some("7.23 beta (x)")), "other");
        assert_eq!(place(Some(" 会议室 A ")), "会议室 A");
        assert_eq!(place(Some("a\nb")), "other");
        assert_eq!(place(Some(&"x".repeat(100))).len(), 64);
    }
}
