//! Shared core of platform-ops: config model, ports, AWS adapters, error classes and sessions.

pub mod aws;
pub mod capacity;
pub mod claims;
pub mod config;
pub mod error;
#[cfg(feature = "fakes")]
pub mod fakes;
#[cfg(feature = "dynamodb")]
pub mod guard;
pub mod lambda;
pub mod organization;
pub mod ports;
pub mod sessions;
pub mod stacksets;
pub mod telemetry;
pub mod trust;

pub use error::{AwsError, ClassifyExt, ErrorClass};
