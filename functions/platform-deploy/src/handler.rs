//! The deploy's typed actions, one per state of `platform-deploy`: plan, apply a tier, judge it,
//! move on, verify, record; on failure, roll the touched tiers back.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::config::ConfigTree;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cluster::{ApplyError, WorkloadApplier};
use crate::release::{Release, ReleaseError, ResolvedRelease};
use crate::render::{Manifest, Registry, RenderError, namespace_of, render, workload_kind};
use crate::rollout::{Health, tier_health};

/// The `action` names the state machine may send.
pub const ACTIONS: &[&str] =
    &["plan", "apply-tier", "tier-health", "advance", "verify", "record", "rollback", "rollback-health"];

/// Where releases are published (by CI) and an account's current release is recorded (SSM on AWS).
#[async_trait]
pub trait ReleaseLedger: Send + Sync + std::fmt::Debug {
    /// The release CI published for the environment under `name`, if any.
    async fn published(&self, environment: &str, name: &str) -> Result<Option<Release>, ApplyError>;
    async fn current(&self, environment: &str, account: &str) -> Result<Option<ResolvedRelease>, ApplyError>;
    async fn record(&self, environment: &str, account: &str, release: &ResolvedRelease) -> Result<(), ApplyError>;
}

/// The cluster of an account's environment.
#[async_trait]
pub trait Clusters: Send + Sync + std::fmt::Debug {
    async fn cluster(&self, account: &str, environment: &str) -> Result<Arc<dyn WorkloadApplier>, ApplyError>;
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    Plan { request: DeployRequest },
    ApplyTier { deployment: Deployment, now: DateTime<Utc> },
    TierHealth { deployment: Deployment, now: DateTime<Utc> },
    Advance { deployment: Deployment },
    Verify { deployment: Deployment },
    Record { deployment: Deployment },
    Rollback { deployment: Deployment, now: DateTime<Utc> },
    RollbackHealth { deployment: Deployment, now: DateTime<Utc> },
}

/// `abc.platform` `ReleaseRequested` (its detail), or what vending or the CLI starts a deploy with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployRequest {
    pub environment: String,
    pub account_id: String,
    /// The release's name (its tag when nothing pins versions).
    pub release: String,
    /// Tags by workload, overriding the published release's.
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
}

/// A deploy as it moves through the state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub environment: String,
    pub account_id: String,
    pub release: ResolvedRelease,
    /// What ran before: the rollback target (none on a first deploy).
    pub previous: Option<ResolvedRelease>,
    pub tiers: Vec<String>,
    /// Index into `tiers` of the tier being rolled out.
    pub tier: usize,
    /// Tiers applied so far, in order: what a rollback restores.
    pub touched: Vec<String>,
    pub done: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Release(#[from] ReleaseError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Cluster(#[from] ApplyError),
    #[error("services missing after the rollout: {}", .0.join(", "))]
    ServicesMissing(Vec<String>),
}

impl DeployError {
    pub fn error_type(&self) -> &'static str {
        match self {
            DeployError::Release(_) => "InvalidRelease",
            DeployError::Render(_) => "ConfigMissing",
            DeployError::Cluster(e) => e.error_type(),
            DeployError::ServicesMissing(_) => "VerifyFailed",
        }
    }
}

pub struct Deps {
    pub tree: ConfigTree,
    pub clusters: Arc<dyn Clusters>,
    pub ledger: Arc<dyn ReleaseLedger>,
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps").finish_non_exhaustive()
    }
}

impl Deps {
    fn manifests(&self, d: &Deployment, release: &ResolvedRelease) -> Result<Vec<Manifest>, DeployError> {
        let region = self
            .tree
            .environment(&d.environment)
            .map(|e| e.primary_region().to_string())
            .ok_or_else(|| RenderError::NoEnvironment(d.environment.clone()))?;
        Ok(render(&self.tree, &d.environment, release, &Registry { account: d.account_id.clone(), region })?)
    }
}

pub async fn handle(request: Request, deps: &Deps) -> Result<Value, DeployError> {
    let value = match request {
        Request::Plan { request } => {
            let DeployRequest { environment, account_id, release, versions } = request;
            // The request's versions over the published release's, over one tag for all.
            let mut plan =
                deps.ledger.published(&environment, &release).await?.unwrap_or_else(|| Release::uniform(&release));
            plan.versions.extend(versions);
            let release = plan.resolve(&deps.tree.catalog)?;
            let previous = deps.ledger.current(&environment, &account_id).await?;
            let tiers = deps.tree.catalog.tiers.iter().map(|t| t.name.clone()).collect();
            serde_json::to_value(Deployment {
                environment,
                account_id,
                release,
                previous,
                tiers,
                tier: 0,
                touched: Vec::new(),
                done: false,
            })
        }
        Request::ApplyTier { mut deployment, now } => {
            let tier = deployment.tiers[deployment.tier].clone();
            let cluster = deps.clusters.cluster(&deployment.account_id, &deployment.environment).await?;
            let manifests = deps.manifests(&deployment, &deployment.release)?;
            // Recorded before applying: a tier half applied is a tier to roll back.
            if !deployment.touched.contains(&tier) {
                deployment.touched.push(tier.clone());
            }
            for m in manifests.iter().filter(|m| m.tier == tier) {
                cluster.apply(m, now).await?;
            }
            serde_json::to_value(deployment)
        }
        Request::TierHealth { deployment, now } => {
            let tier = &deployment.tiers[deployment.tier];
            serde_json::to_value(health_of(deps, &deployment, std::slice::from_ref(tier), now).await?)
        }
        Request::Advance { mut deployment } => {
            deployment.tier += 1;
            deployment.done = deployment.tier >= deployment.tiers.len();
            serde_json::to_value(deployment)
        }
        Request::Verify { deployment } => {
            // Every Service the release should have (the seed counted them by hand).
            let cluster = deps.clusters.cluster(&deployment.account_id, &deployment.environment).await?;
            let expected = deps.manifests(&deployment, &deployment.release)?;
            let mut present: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut missing = Vec::new();
            for m in expected.iter().filter(|m| m.kind == "Service") {
                let ns = m.namespace.clone().unwrap_or_default();
                if !present.contains_key(&ns) {
                    present.insert(ns.clone(), cluster.services(&ns).await?);
                }
                if !present[&ns].contains(&m.name) {
                    missing.push(format!("{ns}/{}", m.name));
                }
            }
            if !missing.is_empty() {
                return Err(DeployError::ServicesMissing(missing));
            }
            Ok(serde_json::json!({"services": expected.iter().filter(|m| m.kind == "Service").count()}))
        }
        Request::Record { deployment } => {
            deps.ledger.record(&deployment.environment, &deployment.account_id, &deployment.release).await?;
            serde_json::to_value(deployment)
        }
        Request::Rollback { deployment, now } => {
            let Some(previous) = deployment.previous.clone() else {
                return Ok(
                    serde_json::json!({"rolled_back": false, "reason": "a first deploy: nothing ran before it"}),
                );
            };
            let cluster = deps.clusters.cluster(&deployment.account_id, &deployment.environment).await?;
            let manifests = deps.manifests(&deployment, &previous)?;
            // Last touched first: dependents go back before what they depend on.
            for tier in deployment.touched.iter().rev() {
                for m in manifests.iter().filter(|m| &m.tier == tier) {
                    cluster.apply(m, now).await?;
                }
            }
            Ok(serde_json::json!({"rolled_back": true, "to": previous.name, "tiers": deployment.touched}))
        }
        Request::RollbackHealth { deployment, now } => {
            serde_json::to_value(health_of(deps, &deployment, &deployment.touched, now).await?)
        }
    };
    Ok(value.unwrap_or(Value::Null))
}

/// The health of the workloads of `tiers`, as one verdict.
async fn health_of(deps: &Deps, d: &Deployment, tiers: &[String], now: DateTime<Utc>) -> Result<Health, DeployError> {
    let cluster = deps.clusters.cluster(&d.account_id, &d.environment).await?;
    let mut statuses = Vec::new();
    for tier in tiers {
        let Some(t) = deps.tree.catalog.tiers.iter().find(|t| &t.name == tier) else { continue };
        for name in &t.services {
            statuses.push(cluster.rollout(workload_kind(name), &namespace_of(tier), name, now).await?);
        }
    }
    Ok(tier_health(&statuses))
}
