//! The input is the first worksheet's XML (then, after a NUL byte, the shared strings), wrapped
//! in a valid workbook so every execution reaches the row and value parsing.
#![no_main]

use feishu_vc_exporter_fuzz::{check, split_xml_input, workbook};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (sheet, shared) = split_xml_input(data);
    check(&workbook(sheet, shared));
});
