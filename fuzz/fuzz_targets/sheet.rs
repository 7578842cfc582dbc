//! Any bytes as an export file: the zip layer, the workbook parts, the sheet, the values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    feishu_vc_exporter_fuzz::check(data);
});
