//! Shared by the integration tests.

pub mod process;
pub mod promtool;
pub mod synthetic;
