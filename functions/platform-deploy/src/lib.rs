//! Platform deploy: a release of the platform's workloads rolled out tier by tier, health-gated.

// Built so far: the release and its validation (`release`), the Kubernetes manifests a deploy
// applies (`render`), rollout health (`rollout`), the cluster port with its in-memory cluster
// (`cluster`) and Kubernetes adapter (`kube`), the EKS bearer token (`token`), and the deploy's
// typed actions (`handler`) that `platform-deploy.asl.json` runs.

pub mod aws;
pub mod cluster;
pub mod database_probe;
pub mod ecr;
pub mod edge;
#[cfg(feature = "fakes")]
pub mod fakes;
pub mod function;
pub mod handler;
pub mod images;
pub mod infra;
pub mod kube;
pub mod lease;
pub mod ledger;
pub mod release;
pub mod render;
pub mod rollout;
pub mod token;
