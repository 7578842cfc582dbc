//! Histogram buckets, chosen per quantity (the README's metric table repeats them).

/// One-way latency: 10 ms to 5 s. ITU-T G.114 calls < 150 ms good and > 400 ms unacceptable.
pub const LATENCY_SECONDS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 1.0, 2.0, 5.0,
];
/// Jitter: 1 ms to 500 ms; 30 ms is the usual "poor" line for voice.
pub const JITTER_SECONDS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5];
/// Packet loss ratio: 0.1 % to 50 %; voice degrades audibly from 1–3 %, 5 % is poor.
pub const LOSS_RATIO: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5];
/// Bitrate in bytes/s: 1 kB/s (8 kbps, a thin audio stream) to 2.5 MB/s (20 Mbps, HD video).
pub const BITRATE_BYTES_PER_SECOND: &[f64] = &[
    1e3, 2.5e3, 5e3, 1e4, 2.5e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 2.5e6,
];
/// CPU ratio 0–1 in tenths.
pub const CPU_RATIO: &[f64] = &[0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
/// Meeting length: 1 min to 8 h.
pub const MEETING_SECONDS: &[f64] = &[
    60.0, 300.0, 600.0, 900.0, 1800.0, 2700.0, 3600.0, 5400.0, 7200.0, 10800.0, 14400.0, 28800.0,
];
/// Time one participant spent in a meeting: 30 s to 8 h.
pub const SESSION_SECONDS: &[f64] = &[
    30.0, 60.0, 300.0, 600.0, 900.0, 1800.0, 2700.0, 3600.0, 5400.0, 7200.0, 14400.0, 28800.0,
];
/// Participants per meeting: 1:1 calls to all-hands.
pub const MEETING_SIZE: &[f64] = &[
    1.0, 2.0, 3.0, 5.0, 8.0, 10.0, 15.0, 20.0, 30.0, 50.0, 100.0, 200.0, 500.0, 1000.0,
];
/// Check-in delay after the booked start: on time to 30 min (rooms release unclaimed
/// bookings after 5–15 min by default).
pub const CHECK_IN_DELAY_SECONDS: &[f64] = &[0.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0];
/// Audio MOS estimate (1–4.5): the E-model's user-satisfaction bands sit near 3.1, 3.6, 4.0 and 4.3.
pub const MOS: &[f64] = &[1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 3.75, 4.0, 4.25, 4.5];
