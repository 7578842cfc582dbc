//! Configuration errors: one line naming the key, environment variable or flag at fault.

use std::path::PathBuf;

/// A configuration error: one line naming the key, environment variable or flag at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {error}", path.display())]
    ReadFile {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The YAML does not parse or does not fit the schema (unknown key, wrong type, …).
    #[error("{origin}: {}", key_message(.key.as_deref(), .message))]
    Parse {
        origin: String,
        key: Option<String>,
        message: String,
    },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
    #[error("{key}: cannot read secret file {}: {error}", path.display())]
    SecretFile {
        key: String,
        path: PathBuf,
        error: std::io::Error,
    },
}

pub(super) fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::invalid(key, message)
}

fn key_message(key: Option<&str>, message: &str) -> String {
    match key {
        Some(key) => format!("{key}: {message}"),
        None => message.to_owned(),
    }
}

impl ConfigError {
    /// The exit status for a bad configuration.
    pub const EXIT_CODE: i32 = 2;

    /// The key, environment variable or flag at fault, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::ReadFile { .. } => None,
            ConfigError::Parse { key, .. } => key.as_deref(),
            ConfigError::Invalid { key, .. } | ConfigError::SecretFile { key, .. } => Some(key),
        }
    }

    pub fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// One line from a YAML error: `origin: key: message (line L, column C)`, where an unknown
/// field becomes the dotted path of the unknown key (`collect.intervall`).
pub(super) fn yaml_error(err: &serde_norway::Error, origin: &str) -> ConfigError {
    let mut text = err.to_string();
    if let Some(loc) = err.location() {
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(stripped) = text.strip_suffix(&suffix) {
            text = stripped.to_owned();
        }
    }
    // serde_norway prefixes the path of the value at fault: `collect.rooms: unknown field …`.
    let (path, message) = match text.split_once(": ") {
        Some((path, rest))
            if !path.is_empty() && !path.contains(char::is_whitespace) && !path.contains('`') =>
        {
            (Some(path.to_owned()), rest.to_owned())
        }
        _ => (None, text),
    };
    let (key, message) = match message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
    {
        Some((field, rest)) => {
            let key = match &path {
                Some(path) => format!("{path}.{field}"),
                None => field.to_owned(),
            };
            let expected = rest.trim_start_matches(',').trim();
            let message = if expected.is_empty() {
                "unknown key".to_owned()
            } else {
                format!("unknown key ({expected})")
            };
            (Some(key), message)
        }
        None => (path, message),
    };
    let message = match err.location() {
        Some(loc) => format!("{message} (line {}, column {})", loc.line(), loc.column()),
        None => message,
    };
    ConfigError::Parse {
        origin: origin.to_owned(),
        key,
        message,
    }
}
