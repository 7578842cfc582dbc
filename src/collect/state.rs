//! What the loop remembers across cycles and restarts: the records already counted, the work
//! still to do, and the month's API calls. Written atomically (temp file + rename).

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Bumped when the file's meaning changes; an unknown version is refused, not guessed at.
const VERSION: u32 = 1;

/// `state.path` unless told otherwise: in the working directory.
pub const DEFAULT_STATE_PATH: &str = "feishu-vc-exporter.state.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub version: u32,
    /// Keys of counted records (meetings, bookings, rejected rows) → the record's time, so keys
    /// older than the lookback can be forgotten.
    pub seen: BTreeMap<String, i64>,
    /// Ended meetings whose participant list is still to be fetched, oldest first.
    pub pending_participants: VecDeque<MeetingRef>,
    /// Participant sessions whose quality export is still to be fetched, oldest first.
    pub quality_backlog: VecDeque<QualityJob>,
    /// Calls made in the current budget month.
    pub budget: BudgetState,
    /// Newest record time seen per kind (for `feishu_vc_data_newest_timestamp_seconds`).
    pub newest: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingRef {
    pub meeting_no: String,
    pub start: i64,
    pub end: i64,
}

/// One participant's quality export. Holds the user id the API needs: the state file is as
/// private as the exports themselves (mode 0600).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityJob {
    pub meeting: MeetingRef,
    pub user_id: String,
    pub join: i64,
    pub device: Option<String>,
    pub network_type: Option<String>,
    pub location: Option<String>,
    /// Failed attempts so far; the job is dropped after a few.
    #[serde(default)]
    pub attempts: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetState {
    /// `YYYY-MM` in the configured time zone.
    pub month: String,
    pub calls: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path} is corrupt ({detail}); move it away to start afresh (every record in the lookback will be counted again)")]
    Corrupt { path: PathBuf, detail: String },
    #[error("state file {path} has version {found}, this exporter reads version {VERSION}")]
    Version { path: PathBuf, found: u32 },
    #[error("state file {path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl State {
    pub fn new() -> Self {
        Self {
            version: VERSION,
            ..Self::default()
        }
    }

    /// Loads the state, or a new one when the file does not exist. A file that exists but
    /// cannot be read or understood is an error: silently starting afresh would count every
    /// record of the lookback again.
    pub fn load(path: &Path) -> Result<Self, StateError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::new()),
            Err(source) => {
                return Err(StateError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let state: State = serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        if state.version != VERSION {
            return Err(StateError::Version {
                path: path.to_owned(),
                found: state.version,
            });
        }
        Ok(state)
    }

    /// Writes to a temporary file beside `path`, syncs it and renames it over `path`, so a
    /// crash leaves either the old or the new state, never half of one.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let write = |source| StateError::Write {
            path: path.to_owned(),
            source,
        };
        let json = serde_json::to_vec(self).map_err(|e| write(std::io::Error::other(e)))?;
        write_atomically(path, &json).map_err(write)
    }

    /// Whether `key` was counted; marks it counted at `time` if not.
    pub fn first_time(&mut self, key: String, time: i64) -> bool {
        use std::collections::btree_map::Entry;
        match self.seen.entry(key) {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                slot.insert(time);
                true
            }
        }
    }

    /// Forgets keys of records older than `cutoff`: the exports no longer return them.
    pub fn forget_before(&mut self, cutoff: i64) {
        self.seen.retain(|_, time| *time >= cutoff);
    }

    pub fn note_newest(&mut self, kind: &str, time: i64) {
        let newest = self.newest.entry(kind.to_owned()).or_insert(time);
        *newest = (*newest).max(time);
    }
}

/// Writes `bytes` to a temporary file beside `path` (mode 0600), syncs it and renames it over
/// `path`.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut temp, bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_atomic_save() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(State::load(&path).unwrap(), State::new());
        let mut state = State::new();
        assert!(state.first_time("m:1:100".into(), 100));
        assert!(!state.first_time("m:1:100".into(), 100));
        state.quality_backlog.push_back(QualityJob {
            meeting: MeetingRef {
                meeting_no: "1".into(),
                start: 100,
                end: 200,
            },
            user_id: "ou_x".into(),
            join: 110,
            device: Some("mac".into()),
            network_type: None,
            location: None,
            attempts: 0,
        });
        state.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), state);
        // No temporary files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn corrupt_or_foreign_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{not json").unwrap();
        let error = State::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("is corrupt") && error.contains("state.json"),
            "{error}"
        );
        std::fs::write(&path, r#"{"version":99,"seen":{},"pending_participants":[],"quality_backlog":[],"budget":{"month":"","calls":0},"newest":{}}"#).unwrap();
        assert!(State::load(&path)
            .unwrap_err()
            .to_string()
            .contains("version 99"));
    }

    #[test]
    fn forgets_old_keys() {
        let mut state = State::new();
        state.first_time("old".into(), 10);
        state.first_time("new".into(), 20);
        state.forget_before(15);
        assert_eq!(state.seen.keys().collect::<Vec<_>>(), ["new"]);
    }
}
