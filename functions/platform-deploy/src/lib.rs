//! Platform deploy: a release of the platform's workloads rolled out tier by tier, health-gated.
//!
//! Built so far: the release and its validation (`release`), and the Kubernetes manifests a
//! deploy applies (`render`), which `platform-ops render` writes for people and tests validate.

pub mod cluster;
pub mod kube;
pub mod release;
pub mod render;
pub mod rollout;
pub mod token;
