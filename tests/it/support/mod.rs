//! Shared by the integration tests.

pub mod clock;
pub mod demo;
pub mod process;
pub mod promtool;
pub mod synthetic;
