//! Pure parsing: .xlsx bytes in, typed records out. No I/O, no HTTP, no metrics.

pub mod writer;
