//! [`Sites`]: the sites file, reloadable while readers keep using the map they hold.
//!
//! Sync and runtime-free: the caller decides when to reload (SIGHUP, a poll timer).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use super::{SiteMap, SitesError, DEFAULT_MAX_NAME_CHARS, MAX_FILE_BYTES};

/// What a reload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The file was read and its map is now current.
    Loaded { networks: usize, sites: usize },
    /// The file is as it was at the last attempt; nothing was done.
    Unchanged,
}

/// A cheap-to-clone handle on the current [`SiteMap`] of one file.
#[derive(Debug, Clone)]
pub struct Sites {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    path: PathBuf,
    max_name_chars: usize,
    map: RwLock<Arc<SiteMap>>,
    /// Held for a whole reload, so that concurrent reloads run one after the other.
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Hash of the content of the last attempt, successful or not (`None`: unreadable), so that
    /// a poll neither reloads an unchanged file nor repeats the error of an unchanged bad one.
    attempted: Option<u64>,
    last_error: Option<String>,
}

impl Sites {
    /// Loads the file at `path`; an error here is a bad configuration (the caller exits).
    pub fn open(path: impl Into<PathBuf>) -> Result<Sites, SitesError> {
        Self::open_with_limit(path, DEFAULT_MAX_NAME_CHARS)
    }

    /// [`Sites::open`] with another cap on site and region names.
    pub fn open_with_limit(
        path: impl Into<PathBuf>,
        max_name_chars: usize,
    ) -> Result<Sites, SitesError> {
        let path = path.into();
        let bytes = read(&path)?;
        let map = parse(&path, &bytes, max_name_chars)?;
        Ok(Sites {
            shared: Arc::new(Shared {
                path,
                max_name_chars,
                map: RwLock::new(Arc::new(map)),
                state: Mutex::new(State {
                    attempted: Some(hash(&bytes)),
                    last_error: None,
                }),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The map in force; it stays valid however many reloads follow.
    pub fn current(&self) -> Arc<SiteMap> {
        let map = self
            .shared
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(&map)
    }

    /// Whether the file's content differs from the last load attempt (reads and hashes it).
    pub fn changed(&self) -> bool {
        let now = read(&self.shared.path).ok().map(|bytes| hash(&bytes));
        now != self.state().attempted
    }

    /// Re-reads the file (on SIGHUP). On error the current map stays in force and the error is
    /// kept for [`Sites::last_error`].
    pub fn reload(&self) -> Result<ReloadOutcome, SitesError> {
        self.reload_inner(false)
    }

    /// [`Sites::reload`] if the file changed since the last attempt, else
    /// [`ReloadOutcome::Unchanged`] (for a poll timer).
    pub fn reload_if_changed(&self) -> Result<ReloadOutcome, SitesError> {
        self.reload_inner(true)
    }

    /// The error of the last reload attempt, if it failed (with the file and line).
    pub fn last_error(&self) -> Option<String> {
        self.state().last_error.clone()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn reload_inner(&self, only_if_changed: bool) -> Result<ReloadOutcome, SitesError> {
        let mut state = self.state();
        let bytes = read(&self.shared.path);
        let fingerprint = bytes.as_ref().ok().map(|b| hash(b));
        if only_if_changed && fingerprint == state.attempted {
            return Ok(ReloadOutcome::Unchanged);
        }
        state.attempted = fingerprint;
        let parsed =
            bytes.and_then(|bytes| parse(&self.shared.path, &bytes, self.shared.max_name_chars));
        match parsed {
            Ok(map) => {
                let outcome = ReloadOutcome::Loaded {
                    networks: map.len(),
                    sites: map.sites().count(),
                };
                *self
                    .shared
                    .map
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Arc::new(map);
                state.last_error = None;
                Ok(outcome)
            }
            Err(e) => {
                state.last_error = Some(e.to_string());
                Err(e)
            }
        }
    }
}

/// The file's bytes, at most one past [`MAX_FILE_BYTES`] (the parser refuses that many).
fn read(path: &Path) -> Result<Vec<u8>, SitesError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| SitesError {
            file: path.display().to_string(),
            line: None,
            message: format!("cannot read: {e}"),
        })?;
    Ok(bytes)
}

fn parse(path: &Path, bytes: &[u8], max_name_chars: usize) -> Result<SiteMap, SitesError> {
    SiteMap::from_csv_with_limit(bytes, &path.display().to_string(), max_name_chars)
}

fn hash(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}
