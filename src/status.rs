//! What the status page shows: per export kind, how the last tasks went. Written by the loop,
//! read by the server; holds no personal data (errors are the client's scrubbed messages).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

use crate::sheet::Kind;

#[derive(Debug, Clone, Default, Serialize)]
pub struct KindStatus {
    pub last_success: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    pub rows: u64,
    pub tasks_ok: u64,
    pub tasks_failed: u64,
    pub in_flight: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    pub kinds: BTreeMap<&'static str, KindStatus>,
    pub quality_backlog: usize,
    pub pending_participant_lists: usize,
    /// (remaining, monthly) when a budget is set.
    pub budget: Option<(u64, u64)>,
    /// What the budget held back in the last cycle, if anything.
    pub paced: Vec<&'static str>,
    pub cycles: u64,
    pub last_cycle: Option<i64>,
    pub up: bool,
}

#[derive(Default)]
pub struct StatusBoard {
    inner: Mutex<Snapshot>,
}

/// Counts a task as in flight until dropped.
pub struct InFlight<'a> {
    board: &'a StatusBoard,
    kind: Kind,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut s = self.board.lock();
        let status = s.kinds.entry(self.kind.as_str()).or_default();
        status.in_flight = status.in_flight.saturating_sub(1);
    }
}

impl StatusBoard {
    pub fn new() -> Self {
        let board = Self::default();
        for kind in Kind::ALL {
            board
                .lock()
                .kinds
                .insert(kind.as_str(), KindStatus::default());
        }
        board
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Snapshot> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn snapshot(&self) -> Snapshot {
        self.lock().clone()
    }

    /// Whether a first cycle has finished (for `/-/ready`).
    pub fn ready(&self) -> bool {
        self.lock().cycles > 0
    }

    pub fn task_started(&self, kind: Kind) -> InFlight<'_> {
        self.lock()
            .kinds
            .entry(kind.as_str())
            .or_default()
            .in_flight += 1;
        InFlight { board: self, kind }
    }

    pub fn task_succeeded(&self, kind: Kind, now: i64, rows: u64) {
        let mut s = self.lock();
        let status = s.kinds.entry(kind.as_str()).or_default();
        status.last_success = Some(now);
        status.rows += rows;
        status.tasks_ok += 1;
    }

    pub fn task_failed(&self, kind: Kind, now: i64, error: String) {
        let mut s = self.lock();
        let status = s.kinds.entry(kind.as_str()).or_default();
        status.last_error = Some(error);
        status.last_error_at = Some(now);
        status.tasks_failed += 1;
    }

    /// Notes that the budget held back `what` (e.g. "quality exports") this cycle.
    pub fn note_paced(&self, what: &'static str) {
        let mut s = self.lock();
        if !s.paced.contains(&what) {
            s.paced.push(what);
        }
    }

    pub fn set_queues(&self, backlog: usize, pending: usize, budget: Option<(u64, u64)>) {
        let mut s = self.lock();
        s.quality_backlog = backlog;
        s.pending_participant_lists = pending;
        s.budget = budget;
    }

    pub fn cycle_done(&self, now: i64, up: bool) {
        let mut s = self.lock();
        s.cycles += 1;
        s.last_cycle = Some(now);
        s.up = up;
    }

    /// Called when a cycle starts: pacing notes are per cycle.
    pub fn cycle_started(&self) {
        self.lock().paced.clear();
    }
}
