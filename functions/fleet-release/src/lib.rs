//! Fleet release: a release rolled out to every account of an environment in waves, behind promotion, the freeze and an approved plan.

// The plan and its waves (`plan`), the gates (`gate`), the ports (`ports`) and their adapters
// (`aws`), the typed actions (`handler`) that `fleet-release.asl.json` runs.

pub mod aws;
pub mod error;
#[cfg(feature = "fakes")]
pub mod fakes;
pub mod function;
pub mod gate;
pub mod handler;
pub mod plan;
pub mod ports;
