//! Every cell-value parser, header normalisation and enumeration mapping on arbitrary text,
//! without a workbook around it: orders of magnitude more executions per second than the
//! workbook targets, for the byte-level corners of the value formats.
#![no_main]

use feishu_vc_exporter::sheet::header::normalise;
use feishu_vc_exporter::sheet::value::{
    is_missing, parse_bitrate, parse_bool, parse_count, parse_delay, parse_duration, parse_percent,
    parse_time, parse_utc_offset,
};
use feishu_vc_exporter::sheet::{
    CheckInDevice, CheckInStatus, LeaveReason, ParseOptions, ReservationStatus,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let offset = ParseOptions::default().default_offset;
    let missing = is_missing(text);
    let time = parse_time(text, offset);
    let duration = parse_duration(text);
    let count = parse_count(text);
    if missing {
        assert_eq!(time, Ok(None));
        assert_eq!(duration, Ok(None));
        assert_eq!(count, Ok(None));
    }
    for measured in [parse_bitrate(text), parse_delay(text), parse_percent(text)] {
        if let Ok(Some(v)) = measured {
            assert!(v.is_finite() && v >= 0.0, "{text:?} gave {v}");
        }
    }
    let _ = parse_bool(text);
    let _ = parse_utc_offset(text);
    let _ = normalise(text);
    let _ = (
        ReservationStatus::from_text(text),
        CheckInDevice::from_text(text),
        CheckInStatus::from_text(text),
        LeaveReason::from_text(text),
    );
});
