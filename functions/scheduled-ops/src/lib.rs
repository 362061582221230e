//! Scheduled operations: StackSet drift, off-hours scaling of non-production nodegroups, the daily inventory.

// Typed actions (`handler`) that EventBridge Scheduler and `state-machines/drift-detection.asl.json` run.

pub mod aws;
pub mod drift;
#[cfg(feature = "fakes")]
pub mod fakes;
pub mod function;
pub mod handler;
pub mod inventory;
pub mod off_hours;
pub mod ports;
pub mod restore;
