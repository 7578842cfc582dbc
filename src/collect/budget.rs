//! Pacing a monthly API call budget so that it lasts to the end of the month.
//!
//! Free-plan tenants share 10,000 calls a month across all their apps; a 5-minute cycle alone
//! would spend about 26,000. The pace line runs from 0 calls at the start of the month to the
//! budget at its end; work is done in priority order and each priority may spend only while
//! the month's calls stay under the line plus its allowance:
//! meetings and rooms up to 1 % of the budget over the line, participant lists up to the
//! line, quality exports only 2 % under it. So when calls run short, quality waits first,
//! then participants, and the meeting and room counts keep going longest.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone};

/// Work in the order the budget protects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    MeetingsAndRooms,
    Participants,
    Quality,
}

impl Priority {
    /// What this priority holds back, as the status page words it.
    pub fn label(self) -> &'static str {
        match self {
            Priority::MeetingsAndRooms => "meetings and rooms",
            Priority::Participants => "participant lists",
            Priority::Quality => "quality exports",
        }
    }

    /// How far over (+) or under (-) the pace line this priority may go, as a share of the
    /// budget.
    fn allowance(self) -> f64 {
        match self {
            Priority::MeetingsAndRooms => 0.01,
            Priority::Participants => 0.0,
            Priority::Quality => -0.02,
        }
    }
}

/// One export task costs a create, a few polls and a download.
pub const CALLS_PER_EXPORT: u64 = 4;

#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub monthly_calls: u64,
    pub timezone: FixedOffset,
}

impl Budget {
    /// `YYYY-MM` of `now` in the budget's zone: when it changes, the count starts again.
    pub fn month_of(&self, now: i64) -> String {
        let local = self.local(now);
        format!("{:04}-{:02}", local.year(), local.month())
    }

    fn local(&self, now: i64) -> DateTime<FixedOffset> {
        self.timezone
            .timestamp_opt(now, 0)
            .single()
            .unwrap_or_else(|| {
                self.timezone
                    .timestamp_opt(0, 0)
                    .single()
                    .expect("the epoch exists in every fixed offset")
            })
    }

    /// The pace line at `now`: the calls that may have been spent by then.
    pub fn pace(&self, now: i64) -> f64 {
        let local = self.local(now);
        let start = month_start(self.timezone, local.year(), local.month());
        let (next_year, next_month) = if local.month() == 12 {
            (local.year() + 1, 1)
        } else {
            (local.year(), local.month() + 1)
        };
        let end = month_start(self.timezone, next_year, next_month);
        let fraction = (now - start) as f64 / (end - start).max(1) as f64;
        self.monthly_calls as f64 * fraction.clamp(0.0, 1.0)
    }

    /// Whether work of `priority` costing `cost` calls may start with `spent` calls used.
    pub fn allows(&self, priority: Priority, spent: u64, cost: u64, now: i64) -> bool {
        let line = self.pace(now) + priority.allowance() * self.monthly_calls as f64;
        let after = (spent + cost) as f64;
        after <= line.min(self.monthly_calls as f64)
    }

    pub fn remaining(&self, spent: u64) -> u64 {
        self.monthly_calls.saturating_sub(spent)
    }
}

fn month_start(zone: FixedOffset, year: i32, month: u32) -> i64 {
    NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| zone.from_local_datetime(&t).single())
        .map_or(0, |t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget {
            monthly_calls: 10_000,
            timezone: FixedOffset::east_opt(8 * 3600).unwrap(),
        }
    }

    // 2025-11-16 00:00:00 +08:00: half of November (30 days) has passed.
    const MID_NOVEMBER: i64 = 1_763_222_400;

    #[test]
    fn pace_line_runs_through_the_month() {
        let b = budget();
        assert_eq!(b.month_of(MID_NOVEMBER), "2025-11");
        assert!(
            (b.pace(MID_NOVEMBER) - 5_000.0).abs() < 1.0,
            "{}",
            b.pace(MID_NOVEMBER)
        );
        // 2025-11-01 00:00 +08:00 is 2025-10-31 16:00 UTC: still November in the tenant's zone.
        let start = MID_NOVEMBER - 15 * 86_400;
        assert_eq!(b.month_of(start), "2025-11");
        assert!(b.pace(start) < 1.0);
        assert_eq!(b.month_of(start - 1), "2025-10");
    }

    #[test]
    fn priorities_stop_in_order_as_spending_passes_the_line() {
        let b = budget();
        let allowed = |spent| {
            [
                Priority::MeetingsAndRooms,
                Priority::Participants,
                Priority::Quality,
            ]
            .map(|p| b.allows(p, spent, CALLS_PER_EXPORT, MID_NOVEMBER))
        };
        assert_eq!(allowed(4_000), [true, true, true]);
        assert_eq!(allowed(4_900), [true, true, false]);
        assert_eq!(allowed(5_050), [true, false, false]);
        assert_eq!(allowed(5_200), [false, false, false]);
        // Never past the budget itself, whatever the allowance.
        let end = MID_NOVEMBER + 15 * 86_400 - 1;
        assert!(!b.allows(Priority::MeetingsAndRooms, 9_998, CALLS_PER_EXPORT, end));
        assert_eq!(b.remaining(10_500), 0);
    }
}
