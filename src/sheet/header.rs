//! Header names: normalisation and the per-kind alias tables.
//!
//! Real exports differ from the docs (`会议 ID`, full-width or ASCII parentheses, stray
//! whitespace, English names from Lark), so columns are matched by normalised name, never by
//! position.

/// Trims, drops all whitespace, folds full-width ASCII forms (`（）：－` …) to ASCII, maps dash
/// look-alikes to `-` and lower-cases ASCII letters.
pub fn normalise(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    for c in header.chars() {
        if c.is_whitespace() || c == '\u{feff}' || c == '_' {
            continue;
        }
        let c = match c {
            // Full-width forms of the printable ASCII range.
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '—' | '–' | '‐' | '‑' | '−' | '―' => '-',
            '【' | '〔' => '(',
            '】' | '〕' => ')',
            _ => c,
        };
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// One column a kind reads: its names, and whether a file without it is rejected.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    /// Names as they appear in exports; the first is the documented Chinese one, used in
    /// error messages for Chinese files; the first ASCII one is used for English files.
    pub names: &'static [&'static str],
    pub required: bool,
}

impl ColumnSpec {
    pub const fn required(names: &'static [&'static str]) -> Self {
        Self {
            names,
            required: true,
        }
    }

    pub const fn optional(names: &'static [&'static str]) -> Self {
        Self {
            names,
            required: false,
        }
    }

    pub fn matches(&self, normalised: &str) -> bool {
        self.names.iter().any(|name| normalise(name) == normalised)
    }

    /// The name to show a user whose file is in Chinese (`chinese`) or English.
    pub fn display_name(&self, chinese: bool) -> &'static str {
        let english = self.names.iter().find(|n| n.is_ascii());
        match (chinese, english) {
            (false, Some(name)) => name,
            _ => self.names[0],
        }
    }
}

/// Whether most header cells are Chinese, to name a missing column in the file's language.
pub fn is_chinese(headers: &[String]) -> bool {
    let chinese = headers
        .iter()
        .filter(|h| h.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)))
        .count();
    chinese * 2 >= headers.iter().filter(|h| !h.trim().is_empty()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_what_real_files_vary_in() {
        assert_eq!(normalise(" 会议 ID "), "会议id");
        assert_eq!(normalise("会议ID"), "会议id");
        assert_eq!(normalise("音频-码率（接收）"), "音频-码率(接收)");
        assert_eq!(normalise("音频 - 码率 (接收)"), "音频-码率(接收)");
        assert_eq!(normalise("音频—码率【接收】"), "音频-码率(接收)");
        assert_eq!(normalise("客户端最小 CPU 占用"), "客户端最小cpu占用");
        assert_eq!(normalise("\u{feff}Meeting\u{3000}ID"), "meetingid");
        assert_eq!(normalise("Start_Time"), "starttime");
    }

    #[test]
    fn display_name_follows_the_file_language() {
        let spec = ColumnSpec::required(&["会议ID", "Meeting ID"]);
        assert_eq!(spec.display_name(true), "会议ID");
        assert_eq!(spec.display_name(false), "Meeting ID");
        assert!(spec.matches("meetingid"));
        assert!(spec.matches("会议id"));
    }

    #[test]
    fn language_detection() {
        assert!(is_chinese(&[
            "会议ID".into(),
            "Topic".into(),
            "会议主题".into()
        ]));
        assert!(!is_chinese(&[
            "Meeting ID".into(),
            "Topic".into(),
            "会议".into()
        ]));
    }
}
