//! Logging set-up: `tracing` events to stderr, as logfmt-like text or JSON.
//!
//! `--log.level` and `--log.format` follow the Prometheus exporters; `RUST_LOG`, when set,
//! replaces the level filter entirely (any `tracing-subscriber` `EnvFilter` directive works).

use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::{SubscriberInitExt, TryInitError};
use tracing_subscriber::EnvFilter;

/// `--log.level`: the least severe level that is logged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }

    /// The `EnvFilter` directives for this level. At `debug`, only this crate logs at debug:
    /// the HTTP and TLS stacks stay at info (use `RUST_LOG` to open them up too).
    pub fn directives(self) -> String {
        match self {
            LogLevel::Debug => format!("info,{}=debug", env!("CARGO_CRATE_NAME")),
            other => other.as_str().to_owned(),
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `--log.format`: `logfmt` (`ts=… level=info msg="…" key=value`) or `json` (one object a line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Logfmt,
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Logfmt => "logfmt",
            LogFormat::Json => "json",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Installs the global subscriber, logging to stderr. `RUST_LOG`, when set and valid, overrides
/// `level`; an invalid `RUST_LOG` is reported on stderr and `level` is used instead. Fails only
/// when a global subscriber is already installed.
pub fn init(level: LogLevel, format: LogFormat) -> Result<(), TryInitError> {
    let rust_log = std::env::var("RUST_LOG").ok();
    let (filter, bad) = filter(level, rust_log.as_deref());
    let result = match format {
        LogFormat::Logfmt => tracing_subscriber::registry()
            .with(filter)
            .with(logfmt_layer(io::stderr))
            .try_init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(filter)
            .with(json_layer(io::stderr))
            .try_init(),
    };
    if let Some(err) = bad {
        tracing::warn!(error = %err, "ignoring invalid RUST_LOG; using --log.level");
    }
    result
}

/// The level filter: `rust_log` when given (non-empty) and valid, else `level`. The second
/// value is the parse error of an invalid `rust_log`.
pub fn filter(level: LogLevel, rust_log: Option<&str>) -> (EnvFilter, Option<String>) {
    match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        Some(directives) => match EnvFilter::try_new(directives) {
            Ok(filter) => (filter, None),
            Err(err) => (EnvFilter::new(level.directives()), Some(err.to_string())),
        },
        None => (EnvFilter::new(level.directives()), None),
    }
}

/// The logfmt-like text layer writing to `writer` (no ANSI colours).
pub fn logfmt_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(writer)
        .fmt_fields(LogfmtFields)
        .event_format(Logfmt)
}

/// The JSON layer writing to `writer`: event fields at the top level, next to `timestamp`,
/// `level` and `target`.
pub fn json_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(writer)
        .json()
        .flatten_event(true)
}

/// Event formatter: `ts=<RFC 3339 UTC> level=<level> target=<module> msg="<message>" k=v…`,
/// then the fields of the enclosing spans, outermost first.
#[derive(Debug, Clone, Copy, Default)]
pub struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut fields = LogfmtVisitor::default();
        event.record(&mut fields);

        let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let level = meta.level().as_str().to_ascii_lowercase();
        let target = fields.log_target.as_deref().unwrap_or(meta.target());
        write!(writer, "ts={ts} level={level} target=")?;
        write_value(&mut writer, target)?;
        writer.write_str(" msg=")?;
        write_value(&mut writer, fields.message.as_deref().unwrap_or(""))?;
        if !fields.out.is_empty() {
            write!(writer, " {}", fields.out)?;
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let ext = span.extensions();
                if let Some(span_fields) = ext.get::<FormattedFields<N>>() {
                    if !span_fields.is_empty() {
                        write!(writer, " {span_fields}")?;
                    }
                }
            }
        }
        writeln!(writer)
    }
}

/// Span field formatter for [`Logfmt`]: `k=v k2=v2`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogfmtFields;

impl<'writer> FormatFields<'writer> for LogfmtFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut visitor = LogfmtVisitor::default();
        fields.record(&mut visitor);
        if let Some(message) = visitor.message {
            // A span rarely has a `message` field; keep it rather than drop it.
            writer.write_str("message=")?;
            write_value(&mut writer, &message)?;
            if !visitor.out.is_empty() {
                writer.write_char(' ')?;
            }
        }
        writer.write_str(&visitor.out)
    }
}

/// Collects an event's fields: `message` apart, `log.target` (events bridged from the `log`
/// crate) as the target, other `log.*` bookkeeping dropped, the rest as logfmt pairs.
#[derive(Default)]
struct LogfmtVisitor {
    message: Option<String>,
    log_target: Option<String>,
    out: String,
}

impl LogfmtVisitor {
    fn pair(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = Some(value.to_owned()),
            "log.target" => self.log_target = Some(value.to_owned()),
            name if name.starts_with("log.") => {}
            name => {
                if !self.out.is_empty() {
                    self.out.push(' ');
                }
                self.out.push_str(name);
                self.out.push('=');
                let _ = write_value(&mut self.out, value);
            }
        }
    }
}

impl Visit for LogfmtVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.pair(field, value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.pair(field, &value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.pair(field, &format!("{value:?}"));
    }
}

/// Writes `value` bare when it is a plain token, quoted otherwise.
fn write_value(out: &mut impl fmt::Write, value: &str) -> fmt::Result {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '"' && c != '=' && c != '\\');
    if plain {
        out.write_str(value)
    } else {
        write_quoted(out, value)
    }
}

/// Writes `value` in double quotes, escaping quotes, backslashes and control characters.
fn write_quoted(out: &mut impl fmt::Write, value: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in value.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c if c.is_control() => write!(out, "\\u{{{:x}}}", c as u32)?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A `MakeWriter` collecting everything written into one buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn capture(format: LogFormat, level: LogLevel, f: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let (filter, _) = super::filter(level, None);
        match format {
            LogFormat::Logfmt => {
                let subscriber = tracing_subscriber::registry()
                    .with(filter)
                    .with(logfmt_layer(buffer.clone()));
                tracing::subscriber::with_default(subscriber, f);
            }
            LogFormat::Json => {
                let subscriber = tracing_subscriber::registry()
                    .with(filter)
                    .with(json_layer(buffer.clone()));
                tracing::subscriber::with_default(subscriber, f);
            }
        }
        buffer.text()
    }

    #[test]
    fn logfmt_line_has_ts_level_msg_and_fields() {
        let out = capture(LogFormat::Logfmt, LogLevel::Info, || {
            let span = tracing::info_span!("cycle", kind = "meeting_list");
            let _guard = span.enter();
            tracing::info!(
                rows = 12,
                file = "a b.xlsx",
                note = "say \"hi\"",
                "export done"
            );
        });
        let line = out.lines().next().expect("one line");
        assert!(line.starts_with("ts=20"), "{line}");
        assert!(line.contains(" level=info "), "{line}");
        assert!(line.contains(" msg=\"export done\""), "{line}");
        assert!(line.contains(" rows=12"), "{line}");
        assert!(line.contains(" file=\"a b.xlsx\""), "{line}");
        assert!(line.contains(r#" note="say \"hi\"""#), "{line}");
        assert!(line.ends_with(" kind=meeting_list"), "{line}");
        assert!(!line.contains('\u{1b}'), "no ANSI escapes: {line}");
    }

    #[test]
    fn level_filters_events() {
        let out = capture(LogFormat::Logfmt, LogLevel::Warn, || {
            tracing::info!("hidden");
            tracing::warn!("shown");
        });
        assert!(!out.contains("hidden"), "{out}");
        assert!(out.contains("level=warn"), "{out}");
    }

    #[test]
    fn debug_level_opens_only_this_crate() {
        let directives = LogLevel::Debug.directives();
        assert_eq!(directives, "info,feishu_vc_exporter=debug");
        let out = capture(LogFormat::Logfmt, LogLevel::Debug, || {
            tracing::debug!("ours");
            tracing::debug!(target: "hyper::proto", "theirs");
        });
        assert!(out.contains("msg=ours"), "{out}");
        assert!(!out.contains("theirs"), "{out}");
    }

    #[test]
    fn json_lines_parse_with_fields_flattened() {
        let out = capture(LogFormat::Json, LogLevel::Info, || {
            tracing::info!(rows = 3, "hello");
        });
        let line = out.lines().next().expect("one line");
        let value: serde_json::Value = serde_json::from_str(line).expect("json");
        assert_eq!(value["level"], "INFO");
        assert_eq!(value["message"], "hello");
        assert_eq!(value["rows"], 3);
    }

    #[test]
    fn rust_log_overrides_level_and_bad_rust_log_falls_back() {
        let (filter, bad) = super::filter(LogLevel::Info, Some("warn"));
        assert!(bad.is_none());
        assert_eq!(filter.to_string(), "warn");
        let (filter, bad) = super::filter(LogLevel::Error, Some("=[bad"));
        assert!(bad.is_some());
        assert_eq!(filter.to_string(), "error");
        let (filter, _) = super::filter(LogLevel::Error, Some("  "));
        assert_eq!(filter.to_string(), "error");
    }

    #[test]
    fn quoting() {
        let mut s = String::new();
        write_value(&mut s, "plain").unwrap();
        s.push(' ');
        write_value(&mut s, "").unwrap();
        s.push(' ');
        write_value(&mut s, "a=b").unwrap();
        s.push(' ');
        write_value(&mut s, "line\nbreak").unwrap();
        assert_eq!(s, r#"plain "" "a=b" "line\nbreak""#);
    }
}
