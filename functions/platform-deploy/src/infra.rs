//! The platform's infrastructure: an account's `platform` StackSet instance, re-applied only when it differs.

use platform_core::config::{ConfigTree, Environment};
use platform_core::platform_stack;
use platform_core::stacksets::{InstanceStatus, OperationStatus, Preferences, StackSets};
use serde::{Deserialize, Serialize};

use crate::aws::from_aws;
use crate::cluster::ApplyError;

pub use platform_core::platform_stack::platform_parameters;

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
            let differing: Vec<String> =
                platform_stack::differences(&wanted, &current).into_iter().map(|c| c.name).collect();
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
