//! The deploy's typed actions, one per state of `platform-deploy`: tier by tier, and rolled back on failure.

mod error;
mod receive;
mod response;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::config::{ConfigTree, Environment};
use platform_core::monitoring::{AlarmStore, sync_account_alarms};
use platform_core::stacksets::StackSets;
use platform_core::trust::{Boundary, Untrusted};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cluster::{ApplyError, ClusterAccess, Clusters, WorkloadApplier};
use crate::edge::{self, ClientZone, Edge, EdgeError, Endpoint, PlatformExports};
use crate::images::{self, ImageRegistry};
use crate::infra::{self, Infrastructure};
use crate::release::{Release, ResolvedRelease, ResourceOverride};
use crate::render::{Manifest, Registry, Target, namespace_of, render, workload_kind, workload_name};
use crate::rollout::{Health, tier_health};

pub use self::error::{DeployError, ErrorName};
pub use self::receive::ReleaseRequested;
use self::receive::receive;
pub use self::response::{Response, Rollback, SmokeResult, Verified};

/// Where releases are published (by CI) and an account's current release is recorded (SSM on AWS).
#[async_trait]
pub trait ReleaseLedger: Send + Sync + std::fmt::Debug {
    /// The release CI published for the environment under `name`, if any.
    async fn published(&self, environment: &str, name: &str) -> Result<Option<Release>, ApplyError>;
    async fn current(&self, environment: &str, account: &str) -> Result<Option<ResolvedRelease>, ApplyError>;
    /// Records the release as the account's current one (deployed `at`, with the release it
    /// replaced: what signal triage rolls back to), and as the environment's latest.
    /// `endpoint`: the client's endpoint as the deploy checked it, kept with the release.
    async fn record(
        &self,
        environment: &str,
        account: &str,
        release: &ResolvedRelease,
        at: DateTime<Utc>,
        endpoint: Option<&Endpoint>,
    ) -> Result<(), ApplyError>;
    /// The name of the release last deployed in the environment (what a new account gets).
    async fn environment_release(&self, environment: &str) -> Result<Option<String>, ApplyError>;
    /// The environment's accounts, as vending published them (`<prefix>/accounts/<env>/<id>/...`).
    async fn accounts(&self, environment: &str) -> Result<Vec<String>, ApplyError>;
    /// Whether vending published `account` for the environment: one read, not the whole list
    /// (every child of a fleet release asks).
    async fn vended(&self, environment: &str, account: &str) -> Result<bool, ApplyError>;
    /// The account's client and hosted zone as vending published them (`.../<id>/client`,
    /// `.../<id>/hosted-zone-id`): the client's name is `<client>.<domain>` in that zone.
    async fn client(&self, environment: &str, account: &str) -> Result<Option<ClientZone>, ApplyError>;
}

/// One request per `action` the state machine sends; the action names are derived from the
/// variants (`platform-ops validate` checks the definitions against them).
#[derive(Debug, Clone, Deserialize, strum::VariantNames)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
#[strum(serialize_all = "kebab-case")]
pub enum Request {
    /// A `ReleaseRequested` event as the rule delivers it: its sender and environment checked.
    Receive {
        event: Value,
    },
    /// The account's lease, before anything is planned: one deploy per account at a time.
    Lease {
        request: DeployRequest,
        execution: String,
        now: DateTime<Utc>,
        #[serde(default)]
        retries: u32,
    },
    /// The lease given back, at every end.
    ReleaseLease {
        environment: String,
        account_id: String,
        execution: String,
    },
    Plan {
        request: DeployRequest,
    },
    EnsureInfrastructure {
        deployment: Deployment,
        execution: String,
    },
    InfrastructureStatus {
        deployment: Deployment,
    },
    EnsureAccess {
        deployment: Deployment,
    },
    /// The account's alarms in the monitoring account (error rates, SLO burn), as config makes them.
    EnsureMonitoring {
        deployment: Deployment,
    },
    ApplyTier {
        deployment: Deployment,
        now: DateTime<Utc>,
    },
    TierHealth {
        deployment: Deployment,
        now: DateTime<Utc>,
    },
    Advance {
        deployment: Deployment,
    },
    Verify {
        deployment: Deployment,
    },
    /// The load balancer's target group on the nodegroup, the client's alias record, and the
    /// public HTTPS check of `<client>.<domain>`.
    EnsureEdge {
        deployment: Deployment,
    },
    Record {
        deployment: Deployment,
        /// The state machine's clock: when the account's release is recorded as deployed.
        #[serde(default)]
        now: Option<DateTime<Utc>>,
    },
    Rollback {
        deployment: Deployment,
        now: DateTime<Utc>,
    },
    RollbackHealth {
        deployment: Deployment,
        now: DateTime<Utc>,
    },
    /// The restore test's check that a restored database answers (`database_probe`).
    ProbeDatabase {
        account_id: String,
        environment: String,
        host: String,
        port: u16,
        now: DateTime<Utc>,
    },
}

/// One account's deploy: a `ReleaseRequested` for an account, or what vending's hand-over or the
/// CLI starts a deploy with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployRequest {
    pub environment: String,
    pub account_id: String,
    /// The release's name (its tag when nothing pins versions); absent: the environment's latest.
    #[serde(default)]
    pub release: Option<String>,
    /// Tags by workload, overriding the published release's.
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
    /// Resources by workload, overriding the catalogue's (and kept with the account's release).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, ResourceOverride>,
    /// The fleet release this deploy is part of (its execution name), when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<String>,
}

/// A deploy as it moves through the state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub environment: String,
    pub account_id: String,
    /// `None`: nothing named and nothing ever deployed in the environment (a new account handed
    /// over by vending before the first release): infrastructure and access only.
    pub release: Option<ResolvedRelease>,
    /// What notifications call this deploy: the release's name, or `infrastructure only`.
    #[serde(default)]
    pub label: String,
    /// What ran before: the rollback target (none on a first deploy).
    pub previous: Option<ResolvedRelease>,
    pub tiers: Vec<String>,
    /// Index into `tiers` of the tier being rolled out.
    pub tier: usize,
    /// Tiers applied so far, in order: what a rollback restores.
    pub touched: Vec<String>,
    pub done: bool,
    /// The platform StackSet instance, once ensured.
    #[serde(default)]
    pub infrastructure: Option<Infrastructure>,
    /// How the cluster is reached, once access is ensured.
    #[serde(default)]
    pub cluster: Option<ClusterAccess>,
    /// What keeping the account's monitoring-account alarms in step did, once ensured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<MonitoringSummary>,
    /// The platform stack's exports in the account, read by `ensure-access` (the database
    /// secret's ARN is checked to be the account's before it reaches a manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformExports>,
    /// The client's endpoint, once `ensure-edge` checked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Endpoint>,
}

/// Counts only: a first deploy writes a hundred alarms, whose names would crowd the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitoringSummary {
    pub written: usize,
    pub deleted: usize,
    pub unchanged: usize,
}

pub struct Deps {
    /// The environment and accounts this deployment owns: every request is checked against it.
    pub boundary: Boundary,
    pub tree: ConfigTree,
    pub clusters: Arc<dyn Clusters>,
    pub ledger: Arc<dyn ReleaseLedger>,
    pub stack_sets: Arc<dyn StackSets>,
    /// The monitoring account's alarms (this account's CloudWatch).
    pub alarms: Arc<dyn AlarmStore>,
    /// The central registry every release's images come from.
    pub images: Arc<dyn ImageRegistry>,
    /// Where manifests pull those images from (the registry's account and the home region).
    pub registry: Registry,
    /// The client's way in: the platform's exports, the load balancer's routing, the HTTPS check.
    pub edge: Edge,
    /// The restore test's probe of a restored database.
    pub database_probe: Arc<dyn crate::database_probe::DatabaseProbe>,
    /// One deploy per account at a time (the guard table on AWS).
    pub leases: Arc<dyn platform_core::approvals::Leases>,
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps").finish_non_exhaustive()
    }
}

impl Deps {
    /// The environment, which must be this deployment's own (a dev stack never touches prod).
    pub(crate) fn environment(&self, name: &str) -> Result<&Environment, DeployError> {
        self.boundary.environment(name)?;
        self.tree.environment(name).ok_or_else(|| DeployError::UnknownEnvironment(name.to_string()))
    }

    /// `account` must be one vending published for `environment`: a payload naming any other
    /// account deploys nothing there.
    pub(crate) async fn vended(&self, environment: &str, account: &str) -> Result<(), DeployError> {
        if self.ledger.vended(environment, account).await? {
            return Ok(());
        }
        Err(Untrusted::NotVended { account: account.to_string(), environment: environment.to_string() }.into())
    }

    /// The deployment's cluster, once `ensure-access` ran; its endpoint found again, not read
    /// from the payload.
    async fn cluster(&self, d: &Deployment, action: &'static str) -> Result<Arc<dyn WorkloadApplier>, DeployError> {
        d.cluster.as_ref().ok_or(DeployError::OutOfOrder { action, needs: "ensure-access" })?;
        let region = self.environment(&d.environment)?.primary_region().to_string();
        Ok(self.clusters.cluster(&d.account_id, &d.environment, &region).await?)
    }

    /// The account's client and zone as vending published them, never a payload's.
    async fn client(&self, d: &Deployment) -> Result<ClientZone, DeployError> {
        let found = self.ledger.client(&d.environment, &d.account_id).await?;
        Ok(found.ok_or_else(|| EdgeError::ClientUnknown {
            account: d.account_id.clone(),
            environment: d.environment.clone(),
        })?)
    }

    fn manifests(&self, d: &Deployment, release: &ResolvedRelease) -> Result<Vec<Manifest>, DeployError> {
        let region = self.environment(&d.environment)?.primary_region();
        let secret = d.platform.as_ref().map(|p| p.secret_in(&d.account_id, region)).transpose()?;
        let target = Target { account: d.account_id.clone(), database_secret_arn: secret.map(str::to_string) };
        Ok(render(&self.tree, &d.environment, release, &self.registry, &target)?)
    }
}

pub async fn handle(request: Request, deps: &Deps) -> Result<Response, DeployError> {
    Ok(match request {
        Request::Receive { event } => Response::Received(receive(&event, deps)?),
        Request::Lease { request, execution, now, retries } => {
            Response::Leased(crate::lease::acquire(deps, &request, &execution, now, retries).await?)
        }
        Request::ReleaseLease { environment, account_id, execution } => {
            deps.environment(&environment)?;
            Response::LeaseReleased {
                released: crate::lease::release(deps, &environment, &account_id, &execution).await?,
            }
        }
        Request::Plan { request } => {
            let DeployRequest { environment, account_id, release, versions, resources, fleet: _ } = request;
            deps.environment(&environment)?;
            deps.vended(&environment, &account_id).await?;
            let previous = deps.ledger.current(&environment, &account_id).await?;
            let name = match release {
                Some(r) => Some(r),
                None => deps.ledger.environment_release(&environment).await?,
            };
            let release = match name {
                Some(name) => {
                    // The request's versions over the published release's, over one tag for all.
                    let mut plan =
                        deps.ledger.published(&environment, &name).await?.unwrap_or_else(|| Release::uniform(&name));
                    plan.versions.extend(versions);
                    // The account's overrides are kept, the request's laid over them.
                    let kept = previous.as_ref().map(|p| p.resources.clone()).unwrap_or_default();
                    Some(
                        plan.resolve(&deps.tree.catalog)?
                            .keeping(kept, &deps.tree.catalog)
                            .with_resources(resources, &deps.tree.catalog)?,
                    )
                }
                None if !versions.is_empty() || !resources.is_empty() => {
                    return Err(DeployError::NoRelease(environment));
                }
                None => None,
            };
            // Every image present, scanned and clean enough before anything is touched; the
            // digests found are what the manifests pin.
            let release = match release {
                Some(mut r) => match images::check(deps.images.as_ref(), &deps.tree, &r).await {
                    Ok(Ok(digests)) => {
                        r.digests = digests;
                        Some(r)
                    }
                    Ok(Err(problems)) => return Err(DeployError::ImagesRefused { release: r.name, problems }),
                    Err(e) => return Err(DeployError::Registry(e)),
                },
                None => None,
            };
            let tiers = match release {
                Some(_) => deps.tree.catalog.tiers.iter().map(|t| t.name.clone()).collect(),
                None => Vec::new(),
            };
            let tiers_empty = release.is_none();
            let label = release.as_ref().map(|r| r.name.clone()).unwrap_or_else(|| "infrastructure only".into());
            Response::from(Deployment {
                environment,
                account_id,
                label,
                release,
                previous,
                tiers,
                tier: 0,
                touched: Vec::new(),
                done: tiers_empty,
                infrastructure: None,
                cluster: None,
                monitoring: None,
                platform: None,
                endpoint: None,
            })
        }
        Request::EnsureInfrastructure { mut deployment, execution } => {
            let env = deps.environment(&deployment.environment)?;
            let domain = edge::client_domain(&deps.client(&deployment).await?.client, &env.domain_name);
            let account = &deployment.account_id;
            let infra = infra::ensure(deps.stack_sets.as_ref(), &deps.tree, env, account, &domain, &execution).await?;
            deployment.infrastructure = Some(infra);
            Response::from(deployment)
        }
        Request::InfrastructureStatus { deployment } => {
            let Some(infra) = &deployment.infrastructure else {
                return Err(DeployError::OutOfOrder {
                    action: "infrastructure-status",
                    needs: "ensure-infrastructure",
                });
            };
            Response::InfrastructureStatus(
                infra::status(deps.stack_sets.as_ref(), infra, &deployment.account_id).await?,
            )
        }
        Request::EnsureAccess { mut deployment } => {
            let region = deps.environment(&deployment.environment)?.primary_region().to_string();
            let access = deps.clusters.ensure_access(&deployment.account_id, &deployment.environment, &region).await?;
            deployment.cluster = Some(access);
            // Read once here, for every tier and a rollback; the edge reads them again itself.
            let exports = deps.edge.exports.exports(&deployment.account_id, &deployment.environment, &region).await?;
            deployment.platform = Some(exports);
            Response::from(deployment)
        }
        Request::EnsureMonitoring { mut deployment } => {
            deps.environment(&deployment.environment)?;
            let r =
                sync_account_alarms(deps.alarms.as_ref(), &deps.tree, &deployment.environment, &deployment.account_id)
                    .await
                    .map_err(ApplyError::from)?;
            let (written, deleted, unchanged) = (r.written.len(), r.deleted.len(), r.unchanged);
            deployment.monitoring = Some(MonitoringSummary { written, deleted, unchanged });
            Response::from(deployment)
        }
        Request::ApplyTier { mut deployment, now } => {
            let tier = current_tier(&deployment, "apply-tier")?.to_string();
            let cluster = deps.cluster(&deployment, "apply-tier").await?;
            let manifests = deps.manifests(&deployment, release_of(&deployment, "apply-tier")?)?;
            // Recorded before applying: a tier half applied is a tier to roll back.
            if !deployment.touched.contains(&tier) {
                deployment.touched.push(tier.clone());
            }
            for m in manifests.iter().filter(|m| m.tier == tier) {
                cluster.apply(m, now).await?;
            }
            Response::from(deployment)
        }
        Request::TierHealth { deployment, now } => {
            let tier = current_tier(&deployment, "tier-health")?.to_string();
            let release = release_of(&deployment, "tier-health")?;
            Response::Health(health_of(deps, &deployment, std::slice::from_ref(&tier), release, true, now).await?)
        }
        Request::Advance { mut deployment } => {
            deployment.tier += 1;
            deployment.done = deployment.tier >= deployment.tiers.len();
            Response::from(deployment)
        }
        Request::Verify { deployment } => {
            // Every Service the release should have (the seed counted them by hand).
            let cluster = deps.cluster(&deployment, "verify").await?;
            let expected = deps.manifests(&deployment, release_of(&deployment, "verify")?)?;
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
            let smoke = smoke_checks(deps, cluster.as_ref()).await?;
            let failed: Vec<String> = smoke.iter().filter(|c| !c.passed).map(SmokeResult::describe).collect();
            if !failed.is_empty() {
                return Err(DeployError::SmokeFailed(failed));
            }
            Response::Verified(Verified { services: expected.iter().filter(|m| m.kind == "Service").count(), smoke })
        }
        Request::EnsureEdge { mut deployment } => {
            release_of(&deployment, "ensure-edge")?;
            deployment
                .cluster
                .as_ref()
                .ok_or(DeployError::OutOfOrder { action: "ensure-edge", needs: "ensure-access" })?;
            let env = deps.environment(&deployment.environment)?;
            let client = deps.client(&deployment).await?;
            let endpoint = edge::ensure(&deps.edge, &deps.tree, env, &deployment.account_id, &client).await?;
            deployment.endpoint = Some(endpoint);
            Response::from(deployment)
        }
        Request::Record { deployment, now } => {
            let release = release_of(&deployment, "record")?;
            let at = now.unwrap_or_else(Utc::now);
            let endpoint = deployment.endpoint.as_ref();
            deps.ledger.record(&deployment.environment, &deployment.account_id, release, at, endpoint).await?;
            Response::from(deployment)
        }
        Request::Rollback { deployment, now } => {
            let Some(previous) = deployment.previous.clone() else {
                return Ok(Response::Rollback(Rollback::first_deploy()));
            };
            let cluster = deps.cluster(&deployment, "rollback").await?;
            let manifests = deps.manifests(&deployment, &previous)?;
            // Last touched first: dependents go back before what they depend on. Migrations only
            // go forward (the previous release runs on the migrated schema): no old Job re-runs.
            for tier in deployment.touched.iter().rev() {
                for m in manifests.iter().filter(|m| &m.tier == tier && m.kind != "Job") {
                    cluster.apply(m, now).await?;
                }
            }
            Response::Rollback(Rollback::to(&previous.name, deployment.touched))
        }
        Request::RollbackHealth { deployment, now } => {
            let release = match &deployment.previous {
                Some(previous) => previous,
                None => release_of(&deployment, "rollback-health")?,
            };
            Response::Health(health_of(deps, &deployment, &deployment.touched, release, false, now).await?)
        }
        Request::ProbeDatabase { account_id, environment, host, port, now } => {
            let region = deps.environment(&environment)?.primary_region().to_string();
            deps.vended(&environment, &account_id).await?;
            let probe = deps.database_probe.as_ref();
            Response::DatabaseProbed(crate::database_probe::probe(probe, &region, &host, port, now).await?)
        }
    })
}

/// The tier being rolled out; none left (or none at all: infrastructure only) is out of order.
fn current_tier<'a>(d: &'a Deployment, action: &'static str) -> Result<&'a str, DeployError> {
    d.tiers.get(d.tier).map(String::as_str).ok_or(DeployError::OutOfOrder { action, needs: "a tier left to roll out" })
}

fn release_of<'a>(d: &'a Deployment, action: &'static str) -> Result<&'a ResolvedRelease, DeployError> {
    d.release.as_ref().ok_or(DeployError::NoReleaseToApply(action))
}

/// The health of the workloads of `tiers`, as one verdict.
/// `jobs`: whether the tiers' Jobs count (not after a rollback, which re-runs no migration).
async fn health_of(
    deps: &Deps,
    d: &Deployment,
    tiers: &[String],
    release: &ResolvedRelease,
    jobs: bool,
    now: DateTime<Utc>,
) -> Result<Health, DeployError> {
    let cluster = deps.cluster(d, "tier-health").await?;
    let mut statuses = Vec::new();
    for tier in tiers {
        let Some(t) = deps.tree.catalog.tiers.iter().find(|t| &t.name == tier) else { continue };
        for s in t.services.iter().filter_map(|name| deps.tree.catalog.services.get(name)) {
            let kind = workload_kind(s);
            if kind == "Job" && !jobs {
                continue;
            }
            let name = workload_name(s, &release.name);
            statuses.push(cluster.rollout(kind, &namespace_of(tier), &name, now).await?);
        }
    }
    Ok(tier_health(&statuses))
}

/// The catalogue's smoke checks, each a GET through the API server's service proxy. A check
/// passes on 2xx, and when the body is an actuator health document, on `"status": "UP"`.
async fn smoke_checks(deps: &Deps, cluster: &dyn WorkloadApplier) -> Result<Vec<SmokeResult>, DeployError> {
    let mut out = Vec::new();
    for check in &deps.tree.catalog.smoke_checks {
        let tier = deps.tree.catalog.services.get(&check.service).map(|s| s.tier.clone()).unwrap_or_default();
        let namespace = namespace_of(&tier);
        let answer = cluster.proxy_get(&namespace, &check.service, check.port, &check.path).await?;
        let health = serde_json::from_str::<Value>(&answer.body)
            .ok()
            .and_then(|v| v.get("status").and_then(Value::as_str).map(str::to_string));
        let passed = (200..300).contains(&answer.status) && health.as_deref().is_none_or(|s| s == "UP");
        let mut body = answer.body;
        body.truncate((0..=200.min(body.len())).rev().find(|i| body.is_char_boundary(*i)).unwrap_or(0));
        out.push(SmokeResult {
            name: check.name.clone(),
            path: crate::kube::proxy_path(&namespace, &check.service, check.port, &check.path),
            status: answer.status,
            passed,
            answer: (!passed).then_some(body),
        });
    }
    Ok(out)
}
