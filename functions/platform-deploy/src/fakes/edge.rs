//! The platform stack's exports and the nodegroup's Auto Scaling groups in memory, refusing what AWS refuses.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use platform_core::error::{AwsError, ErrorClass};
use platform_core::stacksets::{InstanceStatus, StackSets};

use crate::edge::{AliasTarget, EdgeError, EdgeRouting, PlatformExportSource, PlatformExports};

/// The load balancers' canonical hosted zones (what an alias to an ALB names), by region.
const ALB_ZONES: &[(&str, &str)] = &[
    ("us-east-1", "Z35SXDOTRQ7X7K"),
    ("us-east-2", "Z3AADJGX6KTTL2"),
    ("us-west-2", "Z1H1FL5HABSF5"),
    ("eu-west-1", "Z32O12XQLNTSW2"),
    ("eu-west-2", "ZHURV8PSTC4K8"),
];

#[derive(Debug, Default)]
struct State {
    /// By (account, Auto Scaling group): the target groups attached to it.
    attached: BTreeMap<(String, String), Vec<String>>,
    /// By (account, zone id): the zone's name, as the baseline created it.
    zones: BTreeMap<(String, String), String>,
    /// By (account, zone id, record name): alias A records.
    records: BTreeMap<(String, String, String), AliasTarget>,
    /// Every write, in order (`AttachLoadBalancerTargetGroups <group>`, `UpsertAlias <name>`).
    writes: Vec<String>,
    /// By record name: the account whose zone holds it (whose load balancer a client reaches).
    routes: BTreeMap<String, String>,
}

/// What the platform stack makes for the edge, as its StackSet instance says it exists: the
/// exports appear once the account's instance is current, and so does the nodegroup's Auto
/// Scaling group (EKS makes it with the nodegroup). Alias records go to `zones` when given (the
/// emulator's Route 53 in the local runtime), else stay here, in zones added with [`Self::add_zone`].
#[derive(Debug)]
pub struct MemoryEdge {
    stack_sets: Arc<dyn StackSets>,
    stack_set: String,
    name_prefix: String,
    zones: Option<Arc<dyn EdgeRouting>>,
    state: Mutex<State>,
}

impl MemoryEdge {
    pub fn new(stack_sets: Arc<dyn StackSets>, stack_set: impl Into<String>, name_prefix: impl Into<String>) -> Self {
        MemoryEdge {
            stack_sets,
            stack_set: stack_set.into(),
            name_prefix: name_prefix.into(),
            zones: None,
            state: Mutex::new(State::default()),
        }
    }

    /// Alias records read and written through `zones` instead of in memory.
    pub fn with_zones(mut self, zones: Arc<dyn EdgeRouting>) -> Self {
        self.zones = Some(zones);
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A hosted zone of `account` named `name` (the baseline's client zone).
    pub fn add_zone(&self, account: &str, zone_id: &str, name: &str) {
        self.lock().zones.insert((account.into(), zone_id.into()), name.trim_end_matches('.').to_ascii_lowercase());
    }

    /// Points `name` at `target` by hand (a record someone else wrote).
    pub fn set_alias(&self, account: &str, zone_id: &str, name: &str, target: AliasTarget) {
        let mut s = self.lock();
        s.routes.insert(norm(name), account.to_string());
        s.records.insert((account.into(), zone_id.into(), norm(name)), target);
    }

    /// The account whose load balancer `host`'s alias was written for, if one was.
    pub fn account_for(&self, host: &str) -> Option<String> {
        self.lock().routes.get(&norm(host)).cloned()
    }

    /// Every write made, in order.
    pub fn writes(&self) -> Vec<String> {
        self.lock().writes.clone()
    }

    /// The load balancer's DNS name in `account`, as the platform stack would export it.
    pub fn load_balancer(&self, account: &str, environment: &str, region: &str) -> String {
        format!("{}-{environment}-edge-{account}.{region}.elb.amazonaws.com", self.name_prefix)
    }

    fn group_name(&self, account: &str, nodegroup: &str) -> String {
        // EKS names a managed nodegroup's group `eks-<nodegroup>-<uuid>`.
        let hash = account.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
        format!("eks-{nodegroup}-{hash:08x}")
    }

    /// Whether the platform stack stands in `account`'s `region`, current.
    async fn platform_in(&self, account: &str, region: &str) -> Result<bool, AwsError> {
        let instances = self.stack_sets.instances(&self.stack_set, account).await?;
        Ok(instances.iter().any(|i| i.region == region && i.status == InstanceStatus::Current))
    }

    fn exports_of(&self, account: &str, environment: &str, region: &str) -> PlatformExports {
        let zone = ALB_ZONES.iter().find(|(r, _)| *r == region).map_or("Z35SXDOTRQ7X7K", |(_, z)| z);
        let name = format!("{}-{environment}", self.name_prefix);
        PlatformExports {
            load_balancer_dns_name: self.load_balancer(account, environment, region),
            load_balancer_zone_id: zone.to_string(),
            target_group_arn: format!(
                "arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/{name}-edge/6d0ecf831eec9f09"
            ),
            database_secret_arn: format!("arn:aws:secretsmanager:{region}:{account}:secret:rds!db-{name}-a1B2c3"),
        }
    }
}

fn norm(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn refused(operation: &'static str, class: ErrorClass, message: String) -> EdgeError {
    EdgeError::Aws(AwsError::new(class, operation, message))
}

#[async_trait]
impl PlatformExportSource for MemoryEdge {
    async fn exports(&self, account: &str, environment: &str, region: &str) -> Result<PlatformExports, EdgeError> {
        if self.platform_in(account, region).await? {
            return Ok(self.exports_of(account, environment, region));
        }
        // Parameter Store has nothing under the path until the stack made it.
        let root = format!("/{}/{environment}/platform", self.name_prefix);
        PlatformExports::from_parameters(&root, &BTreeMap::new(), account)
    }
}

#[async_trait]
impl EdgeRouting for MemoryEdge {
    async fn nodegroup_groups(
        &self,
        account: &str,
        region: &str,
        cluster: &str,
        nodegroup: &str,
    ) -> Result<Vec<String>, EdgeError> {
        // The platform stack makes the cluster `<prefix>-<env>` and its nodegroup.
        let ours = cluster.starts_with(&format!("{}-", self.name_prefix));
        Ok(if ours && self.platform_in(account, region).await? {
            vec![self.group_name(account, nodegroup)]
        } else {
            Vec::new()
        })
    }

    async fn attached(&self, account: &str, _region: &str, group: &str) -> Result<Vec<String>, EdgeError> {
        Ok(self.lock().attached.get(&(account.to_string(), group.to_string())).cloned().unwrap_or_default())
    }

    async fn attach(&self, account: &str, region: &str, group: &str, target_group: &str) -> Result<(), EdgeError> {
        const OP: &str = "AttachLoadBalancerTargetGroups";
        if !group.starts_with("eks-") {
            return Err(refused(OP, ErrorClass::InvalidRequest, format!("auto scaling group {group} not found")));
        }
        // A target group of another account or region is one this account cannot attach.
        if !target_group.starts_with(&format!("arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/")) {
            return Err(refused(OP, ErrorClass::InvalidRequest, format!("target group {target_group} not found")));
        }
        let mut s = self.lock();
        s.writes.push(format!("{OP} {group}"));
        let list = s.attached.entry((account.to_string(), group.to_string())).or_default();
        // Attaching one already attached is accepted and changes nothing, as on AWS.
        if !list.iter().any(|t| t == target_group) {
            list.push(target_group.to_string());
        }
        Ok(())
    }

    async fn alias(&self, account: &str, zone_id: &str, name: &str) -> Result<Option<AliasTarget>, EdgeError> {
        if let Some(zones) = &self.zones {
            return zones.alias(account, zone_id, name).await;
        }
        let s = self.lock();
        if !s.zones.contains_key(&(account.to_string(), zone_id.to_string())) {
            return Err(refused("ListResourceRecordSets", ErrorClass::NotFound, format!("no hosted zone {zone_id}")));
        }
        Ok(s.records.get(&(account.to_string(), zone_id.to_string(), norm(name))).cloned())
    }

    async fn upsert_alias(
        &self,
        account: &str,
        zone_id: &str,
        name: &str,
        target: &AliasTarget,
    ) -> Result<(), EdgeError> {
        if let Some(zones) = &self.zones {
            zones.upsert_alias(account, zone_id, name, target).await?;
            let mut s = self.lock();
            s.writes.push(format!("UpsertAlias {}", norm(name)));
            s.routes.insert(norm(name), account.to_string());
            return Ok(());
        }
        const OP: &str = "ChangeResourceRecordSets";
        let mut s = self.lock();
        let Some(zone) = s.zones.get(&(account.to_string(), zone_id.to_string())).cloned() else {
            return Err(refused(OP, ErrorClass::NotFound, format!("no hosted zone {zone_id}")));
        };
        let record = norm(name);
        // Route 53: "RRSet with DNS name ... is not permitted in zone ...".
        if record != zone && !record.ends_with(&format!(".{zone}")) {
            return Err(refused(OP, ErrorClass::InvalidRequest, format!("{record} is not permitted in zone {zone}")));
        }
        s.writes.push(format!("UpsertAlias {record}"));
        s.routes.insert(record.clone(), account.to_string());
        s.records.insert((account.to_string(), zone_id.to_string(), record), target.clone());
        Ok(())
    }
}
