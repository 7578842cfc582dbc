//! Structured input (see `cells.rs`): a header row of one export kind and arbitrary data rows,
//! so every execution reaches the row and value parsers.
#![no_main]

use feishu_vc_exporter_fuzz::{cells, check};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: cells::Input| {
    check(&cells::render(&input));
});
