//! On-call: health and SLO alarm state changes turned into incidents, paged through the provider's topic or ticketed as OpsItems, each opened once, updated and resolved.

// The event and its checks (`alarm`), the lifecycle as a pure function (`decide`), the messages
// (`format`), the ports (`ports`) and their adapters (`aws`), and the one typed action (`handler`).

pub mod alarm;
pub mod aws;
pub mod decide;
#[cfg(feature = "fakes")]
pub mod fakes;
pub mod format;
pub mod function;
pub mod handler;
pub mod ports;
