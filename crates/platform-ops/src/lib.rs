//! The platform-ops CLI's logic: validation, config publishing, the local world, the local runtime and the demo.

pub mod account;
pub mod actions;
pub mod approval;
pub mod bench;
pub mod bench_alarms;
pub mod bench_init;
pub mod demo;
pub mod report;
pub mod runtime;
pub mod schedule;
pub mod templates;
pub mod validate;
pub mod world;
