//! The client's HTTPS endpoint: the load balancer's target group on the nodegroup, the alias record, and the public check.

mod adapters;
mod der;
mod probe;

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::config::{ConfigTree, Environment};
use platform_core::error::AwsError;
use serde::{Deserialize, Serialize};

pub use self::adapters::{AutoScalingRoute53Routing, SsmPlatformExports};
pub use self::der::not_after;
pub use self::probe::{DnsResolver, EndpointError, EndpointFacts, Resolve, TlsProbe};

/// The platform stack's exports in the member account, under `<prefix>/<env>/platform/`.
pub const EXPORT_NAMES: [&str; 4] =
    ["load-balancer-dns-name", "load-balancer-zone-id", "target-group-arn", "database-secret-arn"];

/// What the platform template exports for the deploy (`stacksets/platform.yaml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformExports {
    pub load_balancer_dns_name: String,
    /// The load balancer's canonical hosted zone (what an alias record targets).
    pub load_balancer_zone_id: String,
    pub target_group_arn: String,
    pub database_secret_arn: String,
}

impl PlatformExports {
    /// From the parameters found under `root` (`<prefix>/<env>/platform`): all four, or the first missing.
    pub fn from_parameters(
        root: &str,
        found: &std::collections::BTreeMap<String, String>,
        account: &str,
    ) -> Result<Self, EdgeError> {
        let get = |name: &str| {
            let full = format!("{root}/{name}");
            found
                .get(&full)
                .filter(|v| !v.trim().is_empty())
                .cloned()
                .ok_or(EdgeError::MissingExport { account: account.to_string(), name: full })
        };
        Ok(PlatformExports {
            load_balancer_dns_name: get(EXPORT_NAMES[0])?,
            load_balancer_zone_id: get(EXPORT_NAMES[1])?,
            target_group_arn: get(EXPORT_NAMES[2])?,
            database_secret_arn: get(EXPORT_NAMES[3])?,
        })
    }

    /// The secret is the account's own, in the cluster's region: a deployment carried through
    /// the state machine is a payload, and a secret elsewhere is no secret of this platform's.
    pub fn secret_in(&self, account: &str, region: &str) -> Result<&str, EdgeError> {
        let arn = &self.database_secret_arn;
        let parts: Vec<&str> = arn.splitn(7, ':').collect();
        let ok = parts.len() == 7
            && parts[0] == "arn"
            && parts[2] == "secretsmanager"
            && parts[3] == region
            && parts[4] == account
            && parts[5] == "secret"
            && !parts[6].is_empty();
        if ok { Ok(arn) } else { Err(EdgeError::ForeignSecret { arn: arn.clone(), account: account.into() }) }
    }
}

/// The platform's exports in a member account (its Parameter Store).
#[async_trait]
pub trait PlatformExportSource: Send + Sync + std::fmt::Debug {
    /// All four exports of `environment` in `account` (one read), or the first one missing.
    async fn exports(&self, account: &str, environment: &str, region: &str) -> Result<PlatformExports, EdgeError>;
}

/// An alias record's target: the load balancer's DNS name and canonical zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasTarget {
    pub dns_name: String,
    pub zone_id: String,
}

impl AliasTarget {
    /// Route 53 answers names with a trailing dot and may change their case.
    pub fn same_as(&self, other: &AliasTarget) -> bool {
        let norm = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
        norm(&self.dns_name) == norm(&other.dns_name) && self.zone_id == other.zone_id
    }
}

/// What sends the client's traffic to the edge: the nodegroup's Auto Scaling groups in the load
/// balancer's target group, and the client's alias record, in the member account.
#[async_trait]
pub trait EdgeRouting: Send + Sync + std::fmt::Debug {
    /// The Auto Scaling groups EKS made for `nodegroup` of `cluster` (tagged `eks:nodegroup-name`).
    async fn nodegroup_groups(
        &self,
        account: &str,
        region: &str,
        cluster: &str,
        nodegroup: &str,
    ) -> Result<Vec<String>, EdgeError>;
    /// The target groups attached to `group`.
    async fn attached(&self, account: &str, region: &str, group: &str) -> Result<Vec<String>, EdgeError>;
    async fn attach(&self, account: &str, region: &str, group: &str, target_group: &str) -> Result<(), EdgeError>;
    /// The alias A record `name` in the zone, if there is one.
    async fn alias(&self, account: &str, zone_id: &str, name: &str) -> Result<Option<AliasTarget>, EdgeError>;
    async fn upsert_alias(
        &self,
        account: &str,
        zone_id: &str,
        name: &str,
        target: &AliasTarget,
    ) -> Result<(), EdgeError>;
}

/// The endpoint to check: the client's name, and where its record lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointTarget {
    pub account: String,
    pub zone_id: String,
    pub host: String,
    /// The edge service's smoke path, GET over HTTPS.
    pub path: String,
}

/// Where a name's HTTPS and plain HTTP listeners are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses {
    pub https: SocketAddr,
    pub http: SocketAddr,
}

/// The public check of an endpoint, as a client reaches it.
#[async_trait]
pub trait EndpointProbe: Send + Sync + std::fmt::Debug {
    async fn check(&self, target: &EndpointTarget) -> Result<EndpointFacts, EndpointError>;
}

/// The edge's three ports, as the deploy holds them.
#[derive(Debug, Clone)]
pub struct Edge {
    pub exports: Arc<dyn PlatformExportSource>,
    pub routing: Arc<dyn EdgeRouting>,
    pub probe: Arc<dyn EndpointProbe>,
}

/// The client account as vending published it: its client name and hosted zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientZone {
    pub client: String,
    pub hosted_zone_id: String,
}

/// The client's endpoint as checked: what Record keeps with the release and people are shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub url: String,
    pub certificate_expires: DateTime<Utc>,
    /// Whole days from the check to the certificate's expiry.
    pub certificate_days: i64,
    pub tls_version: String,
    pub checked_at: DateTime<Utc>,
    /// Auto Scaling groups the target group was attached to by this check (none when all had it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attached: Vec<String>,
    /// Whether the alias record was written (it pointed elsewhere, or was missing).
    #[serde(default)]
    pub alias_written: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error("platform export {name} is missing in account {account}")]
    MissingExport { account: String, name: String },
    #[error("database secret {arn} is not a secret of account {account} in the cluster's region")]
    ForeignSecret { arn: String, account: String },
    #[error("vending published no client and hosted zone for account {account} in {environment}")]
    ClientUnknown { account: String, environment: String },
    #[error("nodegroup {nodegroup} of account {account} has no auto scaling group")]
    NoAutoScalingGroup { account: String, nodegroup: String },
    #[error("endpoint {url} failed its check")]
    Endpoint {
        url: String,
        #[source]
        source: EndpointError,
    },
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl EdgeError {
    pub fn error_type(&self) -> &'static str {
        use crate::handler::ErrorName;
        let name = match self {
            EdgeError::Aws(e) => return e.error_type(),
            EdgeError::MissingExport { .. } | EdgeError::ForeignSecret { .. } => ErrorName::ExportMissing,
            EdgeError::ClientUnknown { .. } => ErrorName::ClientUnknown,
            EdgeError::NoAutoScalingGroup { .. } | EdgeError::Endpoint { .. } => ErrorName::EndpointFailed,
        };
        name.into()
    }
}

pub use platform_core::platform_stack::client_domain;

/// The path the endpoint check GETs: the edge service's smoke check, else its health path.
fn smoke_path(tree: &ConfigTree, env: &Environment) -> String {
    let service = &env.edge.service;
    tree.catalog
        .smoke_checks
        .iter()
        .find(|c| &c.service == service)
        .map(|c| c.path.clone())
        .or_else(|| tree.catalog.services.get(service).map(|s| s.health_path.clone()))
        .unwrap_or_else(|| "/".to_string())
}

/// Attaches the target group where it is missing, points the client's name at the load balancer
/// when it points elsewhere, then checks the endpoint as a client would. Every write is read
/// first: a duplicate delivery writes nothing.
pub async fn ensure(
    edge: &Edge,
    tree: &ConfigTree,
    env: &Environment,
    account: &str,
    client: &ClientZone,
) -> Result<Endpoint, EdgeError> {
    let region = env.primary_region();
    let exports = edge.exports.exports(account, &env.name, region).await?;
    let nodegroup = tree.nodegroup_name(&env.name);
    let groups = edge.routing.nodegroup_groups(account, region, &tree.cluster_name(&env.name), &nodegroup).await?;
    if groups.is_empty() {
        return Err(EdgeError::NoAutoScalingGroup { account: account.into(), nodegroup });
    }
    let mut attached = Vec::new();
    for group in &groups {
        if !edge.routing.attached(account, region, group).await?.contains(&exports.target_group_arn) {
            edge.routing.attach(account, region, group, &exports.target_group_arn).await?;
            attached.push(group.clone());
        }
    }
    let host = client_domain(&client.client, &env.domain_name);
    let wanted = AliasTarget { dns_name: exports.load_balancer_dns_name, zone_id: exports.load_balancer_zone_id };
    let current = edge.routing.alias(account, &client.hosted_zone_id, &host).await?;
    let alias_written = !current.is_some_and(|c| c.same_as(&wanted));
    if alias_written {
        edge.routing.upsert_alias(account, &client.hosted_zone_id, &host, &wanted).await?;
    }
    let url = format!("https://{host}/");
    let target = EndpointTarget {
        account: account.into(),
        zone_id: client.hosted_zone_id.clone(),
        host: host.clone(),
        path: smoke_path(tree, env),
    };
    let failed = |source| EdgeError::Endpoint { url: url.clone(), source };
    let facts = edge.probe.check(&target).await.map_err(failed)?;
    let days = (facts.certificate_expires - facts.checked_at).num_days();
    if days < i64::from(env.edge.min_certificate_days) {
        return Err(failed(EndpointError::Expiring {
            host,
            expires: facts.certificate_expires,
            days,
            min: env.edge.min_certificate_days,
        }));
    }
    Ok(Endpoint {
        url,
        certificate_expires: facts.certificate_expires,
        certificate_days: days,
        tls_version: facts.tls_version,
        checked_at: facts.checked_at,
        attached,
        alias_written,
    })
}
