//! A per-minute audio MOS estimate: the ITU-T G.107 E-model, simplified.
//!
//! `R = (R0 − Is) − Id − Ie,eff + A` with `R0 − Is = 93.2` (the G.107 default), `A = 0`.
//!
//! - `Id` from the one-way mouth-to-ear delay `Ta` in ms with the common simplification
//!   `Id = 0.024·Ta + 0.11·(Ta − 177.3)·H(Ta − 177.3)`. The export's latency is taken as the
//!   one-way network delay (Feishu does not say; treating it as one-way errs towards a
//!   pessimistic score if it is a round trip). `Ta` adds a jitter buffer of twice the jitter and
//!   [`CODEC_DELAY_MS`] for codec and packetisation.
//! - `Ie,eff = Ie + (95 − Ie)·Ppl / (Ppl / BurstR + Bpl)` with `Ie = 0`, `Bpl = 4.3` (G.711
//!   with packet-loss concealment, G.113 Appendix I) and `BurstR = 1` (random loss); `Ppl` is
//!   the minute's average loss in percent.
//! - `MOS = 1` for `R < 0`, `4.5` for `R > 100`, else `1 + 0.035·R + R·(R − 60)·(100 − R)·7e−6`.

/// `R0 − Is`: the G.107 default basic signal-to-noise ratio less simultaneous impairments.
pub const R0_MINUS_IS: f64 = 93.2;
/// Codec plus packetisation delay added to the network delay, in ms (one 20 ms frame).
pub const CODEC_DELAY_MS: f64 = 20.0;
/// Packet-loss robustness of G.711 with PLC (G.113 Appendix I).
pub const BPL: f64 = 4.3;
/// Burst ratio: 1 for random loss.
pub const BURST_R: f64 = 1.0;

/// Delay impairment for a one-way mouth-to-ear delay in ms.
pub fn delay_impairment(ta_ms: f64) -> f64 {
    let ta = ta_ms.max(0.0);
    0.024 * ta + if ta > 177.3 { 0.11 * (ta - 177.3) } else { 0.0 }
}

/// Effective equipment impairment for a loss in percent (Ie = 0).
pub fn loss_impairment(loss_percent: f64) -> f64 {
    let ppl = loss_percent.clamp(0.0, 100.0);
    95.0 * ppl / (ppl / BURST_R + BPL)
}

/// The rating factor R from network delay and jitter in seconds and loss as a ratio 0–1.
pub fn r_factor(latency_seconds: f64, jitter_seconds: f64, loss_ratio: f64) -> f64 {
    let ta_ms =
        (latency_seconds.max(0.0) + 2.0 * jitter_seconds.max(0.0)) * 1000.0 + CODEC_DELAY_MS;
    R0_MINUS_IS - delay_impairment(ta_ms) - loss_impairment(loss_ratio * 100.0)
}

/// G.107's R → MOS mapping, clamped to 1–4.5. The cubic dips just below 1 for R under about
/// 6.5; the floor at 1 keeps the mapping monotonic.
pub fn mos_from_r(r: f64) -> f64 {
    if r.is_nan() || r < 0.0 {
        1.0
    } else if r > 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6).max(1.0)
    }
}

/// The MOS estimate for one minute of audio.
pub fn audio_mos(latency_seconds: f64, jitter_seconds: f64, loss_ratio: f64) -> f64 {
    mos_from_r(r_factor(latency_seconds, jitter_seconds, loss_ratio))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) {
        assert!((a - b).abs() <= tolerance, "{a} vs {b}");
    }

    #[test]
    fn default_r_is_4_41() {
        close(mos_from_r(93.2), 4.409, 0.001);
        assert!(mos_from_r(93.2) > 4.409 && mos_from_r(93.2) < 4.41);
    }

    #[test]
    fn published_r_to_mos_points() {
        // G.107 Annex B / G.109 band edges: R 90/80/70/60/50 → MOS 4.34/4.03/3.60/3.10/2.58.
        for (r, mos) in [
            (90.0, 4.34),
            (80.0, 4.03),
            (70.0, 3.60),
            (60.0, 3.10),
            (50.0, 2.58),
        ] {
            close(mos_from_r(r), mos, 0.01);
        }
    }

    #[test]
    fn clamps_at_both_ends() {
        assert_eq!(mos_from_r(-5.0), 1.0);
        assert_eq!(mos_from_r(f64::NAN), 1.0);
        assert_eq!(mos_from_r(100.5), 4.5);
        assert_eq!(mos_from_r(1000.0), 4.5);
        close(mos_from_r(0.0), 1.0, 1e-12);
        close(mos_from_r(100.0), 4.5, 1e-12);
        assert_eq!(mos_from_r(3.0), 1.0, "the cubic's dip below 1 is floored");
        let mut last = 0.0;
        for tenth in 0..=1000 {
            let mos = mos_from_r(f64::from(tenth) / 10.0);
            assert!(mos >= last && (1.0..=4.5).contains(&mos), "R {tenth}/10");
            last = mos;
        }
        // Terrible conditions bottom out at 1, never below.
        assert_eq!(audio_mos(5.0, 1.0, 1.0), 1.0);
        assert!(audio_mos(0.0, 0.0, 0.0) <= 4.5);
    }

    #[test]
    fn impairment_reference_points() {
        close(delay_impairment(0.0), 0.0, 1e-12);
        close(delay_impairment(100.0), 2.4, 1e-9);
        close(delay_impairment(177.3), 4.2552, 1e-9);
        close(delay_impairment(400.0), 9.6 + 0.11 * 222.7, 1e-9);
        close(loss_impairment(0.0), 0.0, 1e-12);
        // G.711 with PLC, random loss: 1 % → 17.9, 5 % → 51.1.
        close(loss_impairment(1.0), 17.92, 0.01);
        close(loss_impairment(5.0), 51.08, 0.01);
        // A clean 50 ms one-way path: Ta = 70 ms, R = 93.2 − 1.68 = 91.52 → MOS ≈ 4.38.
        close(r_factor(0.05, 0.0, 0.0), 91.52, 1e-9);
        close(audio_mos(0.05, 0.0, 0.0), 4.38, 0.01);
    }

    #[test]
    fn monotonic_in_delay_jitter_and_loss() {
        let mut last = f64::INFINITY;
        for ms in (0..=2000).step_by(5) {
            let mos = audio_mos(f64::from(ms) / 1000.0, 0.005, 0.001);
            assert!(mos <= last, "delay {ms} ms");
            last = mos;
        }
        let mut last = f64::INFINITY;
        for ms in 0..=500 {
            let mos = audio_mos(0.05, f64::from(ms) / 1000.0, 0.001);
            assert!(mos <= last, "jitter {ms} ms");
            last = mos;
        }
        let mut last = f64::INFINITY;
        for permille in 0..=1000 {
            let mos = audio_mos(0.05, 0.005, f64::from(permille) / 1000.0);
            assert!(mos <= last, "loss {permille} ‰");
            last = mos;
        }
        // Strictly worse across the interesting ranges.
        assert!(audio_mos(0.3, 0.01, 0.01) < audio_mos(0.1, 0.01, 0.01));
        assert!(audio_mos(0.1, 0.05, 0.01) < audio_mos(0.1, 0.01, 0.01));
        assert!(audio_mos(0.1, 0.01, 0.05) < audio_mos(0.1, 0.01, 0.01));
    }
}
