//! Signal triage: every FailureSignatureDetected checked, de-duplicated and routed to people or to a bounded remediation through platform deploy.

// The detection and its checks (`detection`), the decision as a pure function (`decide`), the
// ports (`ports`) and their adapters (`aws`), and the one typed action (`handler`: triage).

pub mod aws;
pub mod decide;
pub mod detection;
#[cfg(feature = "fakes")]
pub mod fakes;
pub mod function;
pub mod handler;
pub mod ports;
