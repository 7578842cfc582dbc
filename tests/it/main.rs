//! The integration tests: one binary (`cargo test --test it`), one support module.
//!
//! Everything that drives the simulator or the demo pins its clock through
//! [`support::clock::test_now`], and every child process goes through
//! [`support::process::Process`], which kills and reaps it however the test ends.

mod support;

mod backfill;
mod collect;
mod ingest;
mod serve;
mod server;
mod sheet_fixtures;
mod simulate;
mod stack;
mod status_page;
