//! The baseline: the member-baseline StackSet's instances in the vending's regions, and its parameters.

use std::collections::BTreeMap;

use ipnet::Ipv4Net;
use platform_core::config::Environment;

use super::{Central, Deps, Vending, VendingError};
use crate::ports::{DetailedStatus, Instance, InstanceStatus, OperationStatus, Preferences};

/// What an operation does to the instances. Its name goes into the operation id, so it spells
/// the same as when it was a string: a retry keeps the id of the operation it retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
enum OperationKind {
    Create,
    Update,
}

/// `<vending>-<hash of execution, kind, regions>`: at most 128 characters of `[a-zA-Z0-9-]`.
fn operation_id(vending: &str, execution: &str, kind: OperationKind, regions: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let kind: &str = kind.into();
    let digest = Sha256::digest(format!("{execution}\n{kind}\n{}", regions.join(",")));
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let prefix: String = vending.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(100).collect();
    format!("{prefix}-{hex}")
}

/// Six subnets cut from the VPC range: three public, then three private, one per AZ each.
pub fn subnet_cidrs(vpc: Ipv4Net) -> Option<(Vec<String>, Vec<String>)> {
    let subnets: Vec<String> =
        vpc.subnets(vpc.prefix_len().checked_add(3)?).ok()?.take(6).map(|n| n.to_string()).collect();
    (subnets.len() == 6).then(|| (subnets[..3].to_vec(), subnets[3..].to_vec()))
}

/// The baseline's parameters for an environment.
/// The client's zone is `<client>.<domain>`: each client's name is its own, delegated from the
/// environment's zone.
pub fn baseline_parameters(
    env: &Environment,
    central: &Central,
    client: &str,
) -> Result<BTreeMap<String, String>, VendingError> {
    let (public, private) = subnet_cidrs(env.network.vpc_cidr)
        .ok_or_else(|| VendingError::Config(format!("vpc_cidr {} cannot hold six subnets", env.network.vpc_cidr)))?;
    Ok(BTreeMap::from([
        ("Environment".to_string(), env.name.clone()),
        ("HomeRegion".to_string(), env.primary_region().to_string()),
        ("VpcCidr".to_string(), env.network.vpc_cidr.to_string()),
        ("PublicSubnetCidrs".to_string(), public.join(",")),
        ("PrivateSubnetCidrs".to_string(), private.join(",")),
        ("DomainName".to_string(), super::outcome::client_domain(client, &env.domain_name)),
        ("AutomationAccountId".to_string(), central.automation_account_id.clone()),
        ("OrganizationId".to_string(), central.organization_id.clone()),
        ("CentralEventBusArn".to_string(), central.event_bus_arn.clone()),
        ("CentralLogDestinationName".to_string(), central.log_destination_name.clone()),
        ("MonitoringSinkArn".to_string(), central.monitoring_sink_arn.clone()),
    ]))
}

pub(super) async fn baseline(mut v: Vending, execution: &str, deps: &Deps) -> Result<Vending, VendingError> {
    let account = v.account_id.clone().ok_or(VendingError::NoAccountYet("baseline"))?;
    let (org, env) = deps.environment(&v.request.environment).await?;
    let stack_set = &org.vending.baseline_stack_set;
    let existing = deps.stack_sets.instances(stack_set, &account).await?;
    let instance = |r: &String| existing.iter().find(|i| &i.region == r);
    let missing: Vec<String> = v.regions.iter().filter(|r| instance(r).is_none()).cloned().collect();
    // OUTDATED: a previous run's operation failed there; re-applied, not created again.
    let outdated: Vec<String> = v
        .regions
        .iter()
        .filter(|r| instance(r).is_some_and(|i| i.status == InstanceStatus::Outdated))
        .cloned()
        .collect();
    v.again = false;
    v.done = false;
    let (kind, regions) = match (missing.is_empty(), outdated.is_empty()) {
        // A re-run after the baseline went in: nothing to do, the await reports the instances.
        (true, true) => {
            v.operation_id = None;
            return Ok(v);
        }
        (false, _) => (OperationKind::Create, missing),
        (true, false) => (OperationKind::Update, outdated),
    };
    let preferences = Preferences {
        failure_tolerance_count: org.vending.failure_tolerance_count,
        max_concurrent_count: org.vending.max_concurrent_count,
    };
    // An operation id is an idempotency token: a retried call within this execution is the same
    // operation (StackSets answers OperationIdAlreadyExists), while a re-run of the vending is a
    // new execution and so a new operation (AWS retries OUTDATED instances with a new id).
    let operation_id = operation_id(&v.id, execution, kind, &regions);
    let parameters = baseline_parameters(&env, &deps.central, &v.request.client)?;
    let op = match kind {
        OperationKind::Create => {
            deps.stack_sets
                .add_instances(stack_set, &account, &regions, &parameters, preferences, &operation_id)
                .await?
        }
        OperationKind::Update => {
            deps.stack_sets
                .update_instances(stack_set, &account, &regions, &parameters, preferences, &operation_id)
                .await?
        }
    };
    v.operation_id = Some(op);
    v.operation_regions = regions;
    Ok(v)
}

pub(super) async fn await_baseline(mut v: Vending, deps: &Deps) -> Result<Vending, VendingError> {
    let account = v.account_id.clone().ok_or(VendingError::NoAccountYet("await-baseline"))?;
    let (org, _) = deps.config().await?;
    let stack_set = &org.vending.baseline_stack_set;
    if let Some(op) = &v.operation_id {
        let status = deps.stack_sets.operation(stack_set, op).await?;
        if !status.finished() {
            v.done = false;
            return Ok(v);
        }
        if status != OperationStatus::Succeeded {
            v.instances = deps.stack_sets.instances(stack_set, &account).await?;
            return Err(baseline_failed(&account, &format!("operation {op} {status:?}").to_lowercase(), &v.instances));
        }
    }
    v.instances = deps.stack_sets.instances(stack_set, &account).await?;
    let healthy = |i: &Instance| {
        i.status == InstanceStatus::Current && matches!(i.detailed, None | Some(DetailedStatus::Succeeded))
    };
    let region_of = |r: &String| v.instances.iter().find(|i| &i.region == r);
    if v.regions.iter().all(|r| region_of(r).is_some_and(healthy)) {
        v.done = true;
        v.again = false;
        return Ok(v);
    }
    // Regions the last operation did not touch, missing or OUTDATED from an earlier run: one
    // more round for them. A region the operation did touch and left unhealthy is a failure.
    let another_round = v.operation_id.is_some()
        && v.regions.iter().all(|r| match region_of(r) {
            Some(i) if healthy(i) => true,
            Some(i) => i.status == InstanceStatus::Outdated && !v.operation_regions.contains(r),
            None => !v.operation_regions.contains(r),
        });
    if another_round {
        v.operation_id = None;
        v.again = true;
        v.done = false;
        return Ok(v);
    }
    Err(baseline_failed(&account, "is not CURRENT in every region", &v.instances))
}

fn baseline_failed(account: &str, outcome: &str, instances: &[Instance]) -> VendingError {
    VendingError::BaselineFailed {
        account: account.to_string(),
        outcome: outcome.to_string(),
        regions: instances
            .iter()
            .map(|i| {
                let detail = i.detailed.as_ref().map_or("-", DetailedStatus::as_str);
                match &i.reason {
                    Some(r) => format!("{} {} ({detail}): {r}", i.region, i.status),
                    None => format!("{} {} ({detail})", i.region, i.status),
                }
            })
            .collect(),
    }
}
