//! What `serve --demo` started at a pinned instant must show after its first cycle, from the
//! simulator's ground truth.
//!
//! The demo's clock runs on from the pinned instant `t0`, so its first cycle runs at some
//! `t0 + δ`. Bounds hold for any δ up to [`DemoTruth::MARGIN`]: `certain` counts what every
//! such cycle counts (start in `[t0 + MARGIN - lookback, t0]`, ended by `t0`), `possible` what
//! some could (start in `[t0 - lookback, t0 + MARGIN]`, ended by `t0 + MARGIN`).

use std::collections::BTreeSet;

use feishu_vc_exporter::cli::demo_overrides;
use feishu_vc_exporter::config::{Config, Overrides};
use feishu_vc_exporter::simulator::{SimulatorOptions, Tenant};

/// Meetings, participant sessions and ended bookings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub meetings: u64,
    pub sessions: u64,
    pub bookings: u64,
    /// The check-in statuses (label values) of those bookings.
    pub check_ins: BTreeSet<&'static str>,
}

#[derive(Debug)]
pub struct DemoTruth {
    pub certain: Counts,
    pub possible: Counts,
}

impl DemoTruth {
    /// How long after `t0` the first cycle may run: more than any test waits for it.
    pub const MARGIN: i64 = 600;

    pub fn at(t0: i64) -> Self {
        let config = Config::load(None, &demo_overrides(Overrides::default()), &|_| None)
            .expect("the demo's configuration is valid");
        let lookback = config.collect.lookback.as_secs() as i64;
        let level = config
            .collect
            .rooms
            .expect("the demo exports rooms")
            .room_level_id;
        let tenant = Tenant::new(SimulatorOptions::default().seed);
        let counts = |from: i64, to: i64, ended_by: i64| {
            let meetings: Vec<_> = tenant
                .meetings_started_between(from, to)
                .into_iter()
                .filter(|m| m.end <= ended_by)
                .collect();
            let bookings: Vec<_> = tenant
                .bookings_between(&level, from, to)
                .into_iter()
                .filter(|b| b.end <= ended_by)
                .collect();
            Counts {
                meetings: meetings.len() as u64,
                sessions: meetings.iter().map(|m| m.participants.len() as u64).sum(),
                bookings: bookings.len() as u64,
                check_ins: bookings.iter().map(|b| b.check_in_status.label()).collect(),
            }
        };
        Self {
            certain: counts(t0 + Self::MARGIN - lookback, t0, t0),
            possible: counts(t0 - lookback, t0 + Self::MARGIN, t0 + Self::MARGIN),
        }
    }

    /// Whether the families with a `room` label must be there (`Some(true)`), cannot be
    /// (`Some(false)`), or may or may not, by when the first cycle ran (`None`).
    pub fn room_families(&self) -> Option<bool> {
        if self.certain.bookings > 0 {
            Some(true)
        } else if self.possible.bookings == 0 {
            Some(false)
        } else {
            None
        }
    }
}

/// The families with a `room` label: there once a booking has ended in the lookback.
pub const ROOM_FAMILIES: &[&str] = &[
    "feishu_vc_room_reservations_total",
    "feishu_vc_room_check_ins_total",
    "feishu_vc_room_reserved_seconds_total",
    "feishu_vc_room_invitees_total",
    "feishu_vc_room_acceptances_total",
];
