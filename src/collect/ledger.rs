//! Every API call the client makes: counted in `feishu_vc_api_requests_total` and against the
//! month's budget.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use prometheus::IntCounterVec;

use super::state::BudgetState;
use crate::feishu::{CallObserver, Endpoint};

pub struct CallLedger {
    requests: IntCounterVec,
    /// Calls since the process started (for "did we reach Feishu").
    total: AtomicU64,
    /// Calls in the current budget month, and which month that is.
    month: Mutex<BudgetState>,
}

impl CallLedger {
    pub fn new(requests: IntCounterVec) -> Self {
        Self {
            requests,
            total: AtomicU64::new(0),
            month: Mutex::new(BudgetState::default()),
        }
    }

    fn month(&self) -> std::sync::MutexGuard<'_, BudgetState> {
        self.month
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn restore(&self, saved: &BudgetState) {
        *self.month() = saved.clone();
    }

    pub fn snapshot(&self) -> BudgetState {
        self.month().clone()
    }

    /// Starts counting afresh when the month changes.
    pub fn roll_month(&self, month: &str) {
        let mut current = self.month();
        if current.month != month {
            *current = BudgetState {
                month: month.to_owned(),
                calls: 0,
            };
        }
    }

    pub fn month_calls(&self) -> u64 {
        self.month().calls
    }

    pub fn total_calls(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

impl CallObserver for CallLedger {
    fn on_call(&self, endpoint: Endpoint, code: &str) {
        self.requests
            .with_label_values(&[endpoint.label(), code])
            .inc();
        self.total.fetch_add(1, Ordering::Relaxed);
        self.month().calls += 1;
    }
}
