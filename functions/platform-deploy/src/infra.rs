//! The platform's infrastructure: an account's `platform` StackSet instance, re-applied only when it differs.

use std::collections::BTreeMap;

use platform_core::config::{ConfigTree, Environment};
use platform_core::stacksets::{InstanceStatus, OperationStatus, Preferences, StackSets};
use serde::{Deserialize, Serialize};

use crate::aws::from_aws;
use crate::cluster::ApplyError;

/// The parameters of `stacksets/platform.yaml` for an environment's account whose client zone is
/// `client_domain` (`<client>.<domain>`: the certificate's name, validated in that zone). The baseline's network, key
/// and zone are passed as the names of its SSM exports: CloudFormation resolves them in the
/// member account, so no id is ever copied.
pub fn platform_parameters(tree: &ConfigTree, env: &Environment, client_domain: &str) -> BTreeMap<String, String> {
    let exports = format!("{}/{}/baseline", tree.organization.parameter_prefix, env.name);
    let n = &env.nodegroup;
    BTreeMap::from([
        ("Environment".to_string(), env.name.clone()),
        ("KubernetesVersion".to_string(), env.kubernetes.version.clone()),
        ("NodeInstanceType".to_string(), n.instance_types.first().cloned().unwrap_or_default()),
        ("NodeMinSize".to_string(), n.min_size.to_string()),
        ("NodeDesiredSize".to_string(), n.desired_size.to_string()),
        ("NodeMaxSize".to_string(), n.max_size.to_string()),
        ("DatabaseInstanceClass".to_string(), env.database.instance_class.clone()),
        ("DatabaseStorageGiB".to_string(), env.database.allocated_storage_gib.to_string()),
        ("DatabaseMultiAz".to_string(), env.database.multi_az.to_string()),
        ("DomainName".to_string(), client_domain.to_string()),
        ("VpcId".to_string(), format!("{exports}/vpc-id")),
        ("PrivateSubnetIds".to_string(), format!("{exports}/private-subnet-ids")),
        ("PublicSubnetIds".to_string(), format!("{exports}/public-subnet-ids")),
        ("KmsKeyArn".to_string(), format!("{exports}/kms-key-arn")),
        ("HostedZoneId".to_string(), format!("{exports}/hosted-zone-id")),
        ("EdgeNodePort".to_string(), env.edge.node_port.to_string()),
        ("EdgeWaf".to_string(), env.edge.waf.to_string()),
        ("BackupRetentionDays".to_string(), env.backup.retention_days.to_string()),
        ("BackupCopyRegion".to_string(), env.backup.copy_region.clone().unwrap_or_default()),
        ("BackupSchedule".to_string(), env.backup.schedule_expression().to_string()),
    ])
}

/// What `ensure` did about the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Created,
    Updated,
    /// This execution's operation already exists (a retried call after the request went
    /// through): followed, not started again.
    Resumed,
    /// In place with the same parameters: no operation.
    Current,
}

/// The environment's platform instance as a deploy follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Infrastructure {
    pub stack_set: String,
    pub region: String,
    pub change: Change,
    pub operation_id: Option<String>,
    /// Parameters that differed (names only) when the instance was updated.
    #[serde(default)]
    pub differing: Vec<String>,
}

/// Where an instance's operation is, as the state machine's Choice reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OperationState {
    Running,
    Succeeded,
    Failed,
}

/// Where the instance's operation stands, for the state machine's loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfrastructureStatus {
    pub status: OperationState,
    pub reason: Option<String>,
}

/// The operation id of this execution: a retried call is the same operation, a new execution
/// (a resumed deploy) starts its own.
pub fn operation_id(execution: &str) -> String {
    let clean: String =
        execution.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).take(100).collect();
    format!("platform-{clean}")
}

/// Creates the instance when missing, re-applies it when OUTDATED or its parameters differ from
/// config, and otherwise leaves it alone.
pub async fn ensure(
    stack_sets: &dyn StackSets,
    tree: &ConfigTree,
    env: &Environment,
    account: &str,
    client_domain: &str,
    execution: &str,
) -> Result<Infrastructure, ApplyError> {
    let stack_set = tree.organization.deploy.platform_stack_set.clone();
    let region = env.primary_region().to_string();
    let wanted = platform_parameters(tree, env, client_domain);
    let regions = std::slice::from_ref(&region);
    // One region: nothing to run in parallel, and a failure is the operation's failure.
    let preferences = Preferences { failure_tolerance_count: 0, max_concurrent_count: 1 };
    let op = operation_id(execution);
    match stack_sets.operation(&stack_set, &op).await {
        Ok(_) => {
            return Ok(Infrastructure {
                stack_set,
                region,
                change: Change::Resumed,
                operation_id: Some(op),
                differing: Vec::new(),
            });
        }
        Err(e) if e.class == platform_core::error::ErrorClass::NotFound => {}
        Err(e) => return Err(from_aws(e)),
    }
    let instances = stack_sets.instances(&stack_set, account).await.map_err(from_aws)?;
    let existing = instances.iter().find(|i| i.region == region);
    let (change, differing) = match existing {
        None => {
            stack_sets
                .add_instances(&stack_set, account, regions, &wanted, preferences, &op)
                .await
                .map_err(from_aws)?;
            (Change::Created, Vec::new())
        }
        Some(instance) => {
            let current =
                stack_sets.overrides(&stack_set, account, &region).await.map_err(from_aws)?.unwrap_or_default();
            let differing: Vec<String> = wanted
                .iter()
                .filter(|(k, v)| current.get(*k) != Some(*v))
                .map(|(k, _)| k.clone())
                .chain(current.keys().filter(|k| !wanted.contains_key(*k)).cloned())
                .collect();
            if instance.status == InstanceStatus::Current && differing.is_empty() {
                return Ok(Infrastructure {
                    stack_set,
                    region,
                    change: Change::Current,
                    operation_id: None,
                    differing,
                });
            }
            stack_sets
                .update_instances(&stack_set, account, regions, &wanted, preferences, &op)
                .await
                .map_err(from_aws)?;
            (Change::Updated, differing)
        }
    };
    Ok(Infrastructure { stack_set, region, change, operation_id: Some(op), differing })
}

/// The operation's status; on failure, the instance's reason (what CloudFormation said).
pub async fn status(
    stack_sets: &dyn StackSets,
    infra: &Infrastructure,
    account: &str,
) -> Result<InfrastructureStatus, ApplyError> {
    let Some(op) = &infra.operation_id else {
        return Ok(InfrastructureStatus { status: OperationState::Succeeded, reason: None });
    };
    let status = stack_sets.operation(&infra.stack_set, op).await.map_err(from_aws)?;
    Ok(match status {
        OperationStatus::Succeeded => InfrastructureStatus { status: OperationState::Succeeded, reason: None },
        OperationStatus::Failed | OperationStatus::Stopped => {
            let instances = stack_sets.instances(&infra.stack_set, account).await.map_err(from_aws)?;
            let reason = instances
                .iter()
                .find(|i| i.region == infra.region)
                .and_then(|i| i.reason.clone())
                .unwrap_or_else(|| format!("operation {op} ended {status:?}"));
            InfrastructureStatus {
                status: OperationState::Failed,
                reason: Some(format!("{} in {}: {reason}", infra.stack_set, infra.region)),
            }
        }
        _ => InfrastructureStatus { status: OperationState::Running, reason: None },
    })
}
