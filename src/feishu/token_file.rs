//! The user token file: one user's OAuth token pair on disk, loaded with checks and saved atomically.
//!
//! JSON, mode 0600, written by `login` and rewritten after every refresh. [`TokenFile::save`]
//! writes a temporary file in the same directory (created 0600), fsyncs it, renames it over the
//! old file and fsyncs the directory, so a reader (or a restart after SIGKILL) sees either the
//! old pair or the new one, never half a file. [`TokenFile::load`] refuses a file that others
//! can read, that is corrupt, of an unknown version or for another app, with a message naming
//! the path and never a token. [`fingerprint`] tells a watcher that the file was replaced (a new
//! `login` while `serve` runs).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::oauth::TokenPair;
use crate::secret::Secret;

/// The format version written (and the only one read).
pub const VERSION: u32 = 1;
/// The docs: 365 days after the user authorised, the app must send the user through
/// authorisation again, whatever the refresh tokens say.
pub const AUTHORIZATION_MAX_SECS: i64 = 365 * 86_400;
/// A real file is about 5 KB (two tokens of up to ~4 KB in the worst case are still far below).
const MAX_FILE_BYTES: u64 = 64 << 10;

/// The file's contents. `Debug` shows no token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFile {
    pub version: u32,
    /// The app the tokens were issued to (`client_id`).
    pub app_id: String,
    #[serde(with = "secret_string")]
    pub access_token: Secret,
    /// Unix seconds.
    pub access_expires_at: i64,
    #[serde(with = "secret_string")]
    pub refresh_token: Secret,
    /// Unix seconds. When the token endpoint gave no lifetime: the authorisation's end.
    pub refresh_expires_at: i64,
    /// Unix seconds of the `login`; carried over by every refresh.
    pub authorized_at: i64,
    /// Unix seconds at which this pair was obtained (the `login` or the last refresh); with
    /// `access_expires_at` it gives the access token's lifetime.
    pub issued_at: i64,
    /// The granted scopes, space-separated.
    pub scope: String,
}

impl TokenFile {
    /// The file a `login` at `now` writes.
    pub fn from_login(app_id: &str, pair: &TokenPair, now: i64) -> Self {
        let authorization_end = now.saturating_add(AUTHORIZATION_MAX_SECS);
        Self {
            version: VERSION,
            app_id: app_id.to_owned(),
            access_token: pair.access_token.clone(),
            access_expires_at: pair.access_expires_at,
            refresh_token: pair.refresh_token.clone(),
            refresh_expires_at: pair.refresh_expires_at.unwrap_or(authorization_end),
            authorized_at: now,
            issued_at: pair.issued_at,
            scope: pair.scope.clone(),
        }
    }

    /// The file after a refresh answered `pair`: same app, same authorisation start; the
    /// scope is kept when the answer had none.
    pub fn refreshed(&self, pair: &TokenPair) -> Self {
        Self {
            version: VERSION,
            app_id: self.app_id.clone(),
            access_token: pair.access_token.clone(),
            access_expires_at: pair.access_expires_at,
            refresh_token: pair.refresh_token.clone(),
            refresh_expires_at: pair
                .refresh_expires_at
                .unwrap_or_else(|| self.authorization_ends_at()),
            authorized_at: self.authorized_at,
            issued_at: pair.issued_at,
            scope: if pair.scope.is_empty() {
                self.scope.clone()
            } else {
                pair.scope.clone()
            },
        }
    }

    /// The 365-day end of the authorisation.
    pub fn authorization_ends_at(&self) -> i64 {
        self.authorized_at.saturating_add(AUTHORIZATION_MAX_SECS)
    }

    /// Until when the authorisation holds if nobody refreshes: the earlier of the refresh
    /// token's expiry and the 365-day end.
    pub fn authorised_until(&self) -> i64 {
        self.refresh_expires_at.min(self.authorization_ends_at())
    }

    /// Reads and checks the file at `path` for app `expected_app_id`.
    pub fn load(path: &Path, expected_app_id: &str) -> Result<Self, TokenFileError> {
        let owned = || path.to_path_buf();
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(TokenFileError::Missing { path: owned() })
            }
            Err(source) => {
                return Err(TokenFileError::Unreadable {
                    path: owned(),
                    source,
                })
            }
        };
        // Checked on the open file, so a swap between the check and the read cannot matter.
        let meta = file
            .metadata()
            .map_err(|source| TokenFileError::Unreadable {
                path: owned(),
                source,
            })?;
        if !meta.is_file() {
            return Err(TokenFileError::NotAFile { path: owned() });
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(TokenFileError::TooOpen {
                    path: owned(),
                    mode,
                });
            }
        }
        let corrupt = |detail: String| TokenFileError::Corrupt {
            path: owned(),
            detail,
        };
        let mut bytes = Vec::new();
        (&mut file)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| TokenFileError::Unreadable {
                path: owned(),
                source,
            })?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(corrupt(format!("larger than {MAX_FILE_BYTES} bytes")));
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| corrupt(describe(&e)))?;
        match value.get("version") {
            Some(Value::Number(n)) if n.as_u64() == Some(u64::from(VERSION)) => {}
            Some(Value::Number(n)) => {
                return Err(TokenFileError::UnknownVersion {
                    path: owned(),
                    found: n.to_string(),
                })
            }
            Some(_) => return Err(corrupt("version is not a number".into())),
            None => return Err(corrupt("no version field".into())),
        }
        let parsed: TokenFile = serde_json::from_value(value).map_err(|e| corrupt(describe(&e)))?;
        if parsed.app_id != expected_app_id {
            return Err(TokenFileError::OtherApp {
                path: owned(),
                found: parsed.app_id,
                expected: expected_app_id.to_owned(),
            });
        }
        if parsed.access_token.is_empty() || parsed.refresh_token.is_empty() {
            return Err(corrupt("an empty token".into()));
        }
        Ok(parsed)
    }

    /// Writes the file atomically: a temporary file in the same directory created 0600,
    /// written, fsynced, renamed over `path`, then the directory fsynced.
    pub fn save(&self, path: &Path) -> Result<(), TokenFileError> {
        let failed = |source: io::Error| TokenFileError::Write {
            path: path.to_path_buf(),
            source,
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| failed(io::Error::new(io::ErrorKind::InvalidInput, "no file name")))?;
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| failed(io::Error::other(e)))?;
        json.push(b'\n');
        let mut builder = tempfile::Builder::new();
        let prefix = format!(".{}.", name.to_string_lossy());
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o600));
        }
        let mut temp = builder.tempfile_in(dir).map_err(failed)?;
        temp.write_all(&json).map_err(failed)?;
        temp.as_file().sync_all().map_err(failed)?;
        temp.persist(path).map_err(|e| failed(e.error))?;
        sync_dir(dir).map_err(failed)
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// A serde error without the values it may quote (a misplaced token would be quoted): the
/// double-quoted parts are blanked, field names (in backticks) and positions stay.
fn describe(error: &serde_json::Error) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in error.to_string().chars() {
        if c == '"' {
            quoted = !quoted;
            if quoted {
                out.push_str("\"…\"");
            }
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

mod secret_string {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::secret::Secret;

    pub fn serialize<S: Serializer>(secret: &Secret, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(secret.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

/// Why the token file cannot be used. Each message names the path and the way out; none
/// contains a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenFileError {
    #[error("user token file {} does not exist: run feishu-vc-exporter login", .path.display())]
    Missing { path: PathBuf },
    #[error("user token file {} cannot be read: {source}", .path.display())]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("user token file {} is not a regular file", .path.display())]
    NotAFile { path: PathBuf },
    #[error("user token file {} can be read by others (mode {mode:03o}): run chmod 600 {}",
        .path.display(), .path.display())]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("user token file {} is corrupt ({detail}): run feishu-vc-exporter login", .path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error("user token file {} has version {found}, this build reads version {VERSION}: run feishu-vc-exporter login",
        .path.display())]
    UnknownVersion { path: PathBuf, found: String },
    #[error("user token file {} is for app {found}, not the configured {expected}: run feishu-vc-exporter login",
        .path.display())]
    OtherApp {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("cannot write user token file {}: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// What identifies one version of the file: a new `login` or a refresh replaces it (a new
/// inode by the rename, a new mtime and usually a new length); `chmod` changes its mode and
/// ctime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
    device: u64,
    mode: u32,
    changed_ns: i128,
}

/// The file's fingerprint; `None` when it does not exist.
pub fn fingerprint(path: &Path) -> io::Result<Option<Fingerprint>> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    #[cfg(unix)]
    let (inode, device, mode, changed_ns) = {
        use std::os::unix::fs::MetadataExt;
        (
            meta.ino(),
            meta.dev(),
            meta.mode(),
            i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        )
    };
    #[cfg(not(unix))]
    let (inode, device, mode, changed_ns) = (0, 0, 0, 0);
    Ok(Some(Fingerprint {
        len: meta.len(),
        modified: meta.modified().ok(),
        inode,
        device,
        mode,
        changed_ns,
    }))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    const ACCESS: &str = "eyJhbGciOiJFUzI1NiIsACCESSxyz";
    const REFRESH: &str = "eyJhbGciOiJFUzI1NiIsREFRESHxyz";

    fn pair(now: i64) -> TokenPair {
        TokenPair {
            access_token: Secret::new(ACCESS),
            access_expires_at: now + 7200,
            refresh_token: Secret::new(REFRESH),
            refresh_expires_at: Some(now + 604_800),
            scope: "offline_access vc:export".into(),
            issued_at: now,
        }
    }

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn no_token(text: &str) {
        assert!(!text.contains(ACCESS) && !text.contains(REFRESH), "{text}");
    }

    #[test]
    fn a_saved_file_loads_back_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("user-token.json");
        let file = TokenFile::from_login("cli_a", &pair(1_000), 1_000);
        assert_eq!(file.authorization_ends_at(), 1_000 + AUTHORIZATION_MAX_SECS);
        assert_eq!(file.authorised_until(), 1_000 + 604_800);
        no_token(&format!("{file:?}"));
        file.save(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(TokenFile::load(&path, "cli_a").unwrap(), file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(ACCESS) && text.contains("\"version\": 1"),
            "{text}"
        );
        // Nothing but the file is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A refresh keeps the authorisation start; a missing refresh lifetime is the end.
        let mut next = pair(5_000);
        next.refresh_expires_at = None;
        next.scope = String::new();
        let refreshed = file.refreshed(&next);
        assert_eq!(refreshed.authorized_at, 1_000);
        assert_eq!(refreshed.refresh_expires_at, file.authorization_ends_at());
        assert_eq!(refreshed.scope, file.scope);
        assert_eq!(refreshed.issued_at, 5_000);
    }

    #[test]
    fn saving_replaces_an_open_file_with_a_private_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        std::fs::write(&path, "old").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        TokenFile::from_login("cli_a", &pair(1), 1)
            .save(&path)
            .unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn bad_files_are_refused_naming_the_path_and_no_token() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let shown = path.display().to_string();
        let check = |error: TokenFileError, words: &str| {
            let text = error.to_string();
            assert!(text.contains(&shown) && text.contains(words), "{text}");
            no_token(&text);
            no_token(&format!("{error:?}"));
        };
        check(
            TokenFile::load(&path, "cli_a").unwrap_err(),
            "does not exist",
        );

        let good = TokenFile::from_login("cli_a", &pair(1), 1);
        good.save(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let error = TokenFile::load(&path, "cli_a").unwrap_err();
        assert!(matches!(error, TokenFileError::TooOpen { mode: 0o640, .. }));
        check(error, "chmod 600");

        let write = |text: &str| {
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        };
        write("{\"version\": 1, \"access_tok");
        check(TokenFile::load(&path, "cli_a").unwrap_err(), "corrupt");
        let mut value = serde_json::to_value(&good).unwrap();
        value["access_expires_at"] = Value::String(ACCESS.into());
        write(&value.to_string());
        check(TokenFile::load(&path, "cli_a").unwrap_err(), "corrupt");
        let mut value = serde_json::to_value(&good).unwrap();
        value["version"] = 7.into();
        write(&value.to_string());
        check(TokenFile::load(&path, "cli_a").unwrap_err(), "version 7");
        let mut value = serde_json::to_value(&good).unwrap();
        value["refresh_token"] = "".into();
        write(&value.to_string());
        check(TokenFile::load(&path, "cli_a").unwrap_err(), "empty token");
        good.save(&path).unwrap();
        check(
            TokenFile::load(&path, "cli_b").unwrap_err(),
            "for app cli_a, not the configured cli_b",
        );
        let directory = dir.path().join("sub");
        std::fs::create_dir(&directory).unwrap();
        let error = TokenFile::load(&directory, "cli_a").unwrap_err();
        assert!(matches!(
            error,
            TokenFileError::NotAFile { .. } | TokenFileError::Unreadable { .. }
        ));
    }

    #[test]
    fn the_fingerprint_changes_with_every_save_and_chmod() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        assert_eq!(fingerprint(&path).unwrap(), None);
        let file = TokenFile::from_login("cli_a", &pair(1), 1);
        file.save(&path).unwrap();
        let first = fingerprint(&path).unwrap().unwrap();
        assert_eq!(fingerprint(&path).unwrap(), Some(first));
        // The same contents saved again: a new inode by the rename.
        file.save(&path).unwrap();
        let second = fingerprint(&path).unwrap().unwrap();
        assert_ne!(first, second);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_ne!(fingerprint(&path).unwrap().unwrap(), second);
    }

    #[test]
    fn saving_into_a_missing_directory_fails_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope/t.json");
        let error = TokenFile::from_login("cli_a", &pair(1), 1)
            .save(&path)
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot write user token file"),
            "{error}"
        );
    }
}
