//! Drift detection on the StackSets platform-ops owns: detected, followed, reported, and re-applied if asked.

// Detection is started on each StackSet and followed to its end; the drifted instances and their
// resources are reported, and (where the environment says so) each drifted instance is re-applied
// from its template.

use std::collections::BTreeMap;

use platform_core::config::ConfigTree;
use platform_core::error::AwsError;
use platform_core::stacksets::{OperationStatus, Preferences, ResourceDrift, StackSetDrift, StackSets};
use serde::{Deserialize, Serialize};

use crate::ports::Account;

/// One StackSet's detection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detection {
    pub stack_set: String,
    pub operation_id: String,
}

/// The StackSets drift detection covers: the member baseline and the platform.
pub fn stack_sets(tree: &ConfigTree) -> Vec<String> {
    vec![tree.organization.vending.baseline_stack_set.clone(), tree.organization.deploy.platform_stack_set.clone()]
}

/// An operation id per execution: a retried call is the same detection.
pub fn operation_id(kind: &str, execution: &str, stack_set: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect()
    };
    let id = format!("{kind}-{}-{}", clean(stack_set), clean(execution));
    id.chars().take(128).collect()
}

/// What `drift-start` answers: the detections the state machine polls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub detections: Vec<Detection>,
}

pub async fn start(drift: &dyn StackSetDrift, sets: &[String], execution: &str) -> Result<Vec<Detection>, AwsError> {
    let mut out = Vec::new();
    for set in sets {
        let op = drift.detect_drift(set, &operation_id("drift", execution, set)).await?;
        out.push(Detection { stack_set: set.clone(), operation_id: op });
    }
    Ok(out)
}

/// `running` while any detection runs; `done` when all ended (a failed detection is reported,
/// not hidden: its instances could not be checked).
pub async fn status(drift: &dyn StackSetDrift, detections: &[Detection]) -> Result<DetectionStatus, AwsError> {
    let (mut failed, mut running) = (Vec::new(), false);
    for d in detections {
        match drift.operation(&d.stack_set, &d.operation_id).await? {
            s if !s.finished() => running = true,
            OperationStatus::Succeeded => {}
            other => failed.push(format!("{} ({other:?})", d.stack_set)),
        }
    }
    let status = if running { DetectionState::Running } else { DetectionState::Done };
    Ok(DetectionStatus { status, failed })
}

/// Where the detections are; the state machine polls until `done`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum DetectionState {
    Running,
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectionStatus {
    pub status: DetectionState,
    /// Detections that did not succeed.
    pub failed: Vec<String>,
}

/// A drifted instance, its resources, and what was done about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub stack_set: String,
    pub account: String,
    pub region: String,
    /// The environment whose OU holds the account (`None`: an account outside them).
    pub environment: Option<String>,
    pub resources: Vec<ResourceDrift>,
    /// The re-apply's operation id, when the environment remediates drift.
    pub remediation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftReport {
    pub drifted: usize,
    pub remediated: usize,
    pub findings: Vec<Finding>,
    /// `<stack set>: N` for the notification and the metric.
    pub by_stack_set: BTreeMap<String, usize>,
}

/// The drifted instances of each detection, their resources, and the re-applies the
/// environments ask for.
pub async fn report(
    drift: &dyn StackSetDrift,
    stack_sets: &dyn StackSets,
    tree: &ConfigTree,
    accounts: &[Account],
    detections: &[Detection],
    execution: &str,
) -> Result<DriftReport, AwsError> {
    let env_of = |account: &str| -> Option<String> {
        let ou = accounts.iter().find(|a| a.id == account)?.ou.clone()?;
        tree.environments.values().find(|e| e.organizational_unit == ou).map(|e| e.name.clone())
    };
    let mut findings = Vec::new();
    let mut by_stack_set = BTreeMap::new();
    for d in detections {
        let drifted = drift.drifted_instances(&d.stack_set).await?;
        by_stack_set.insert(d.stack_set.clone(), drifted.len());
        for instance in drifted {
            let resources =
                drift.resource_drifts(&d.stack_set, &instance.account, &instance.region, &d.operation_id).await?;
            let environment = env_of(&instance.account);
            let remediate =
                environment.as_deref().and_then(|e| tree.environment(e)).is_some_and(|e| e.schedules.remediate_drift);
            let remediation = if remediate {
                // No parameter overrides: the instance keeps its own; only the template is re-applied.
                let op = operation_id(&format!("remediate-{}", instance.region), execution, &instance.account);
                let preferences = Preferences { failure_tolerance_count: 0, max_concurrent_count: 1 };
                Some(
                    stack_sets
                        .update_instances(
                            &d.stack_set,
                            &instance.account,
                            std::slice::from_ref(&instance.region),
                            &BTreeMap::new(),
                            preferences,
                            &op,
                        )
                        .await?,
                )
            } else {
                None
            };
            findings.push(Finding {
                stack_set: d.stack_set.clone(),
                account: instance.account,
                region: instance.region,
                environment,
                resources,
                remediation,
            });
        }
    }
    Ok(DriftReport {
        drifted: findings.len(),
        remediated: findings.iter().filter(|f| f.remediation.is_some()).count(),
        findings,
        by_stack_set,
    })
}

/// `running` while any re-apply of `findings` runs; `done` when all ended, with the re-applies
/// that did not succeed (the instance still drifted: people are told, not reassured).
pub async fn remediation_status(stack_sets: &dyn StackSets, findings: &[Finding]) -> Result<DetectionStatus, AwsError> {
    let (mut failed, mut running) = (Vec::new(), false);
    for f in findings {
        let Some(op) = &f.remediation else { continue };
        match stack_sets.operation(&f.stack_set, op).await? {
            s if !s.finished() => running = true,
            OperationStatus::Succeeded => {}
            other => failed.push(format!("{} {}/{} ({other:?})", f.stack_set, f.account, f.region)),
        }
    }
    let status = if running { DetectionState::Running } else { DetectionState::Done };
    Ok(DetectionStatus { status, failed })
}

/// One EMF document per StackSet: `DriftedInstances` (dimension `StackSet`, low cardinality).
pub fn metrics(report: &DriftReport, at: chrono::DateTime<chrono::Utc>) -> Vec<serde_json::Value> {
    report
        .by_stack_set
        .iter()
        .map(|(set, n)| {
            emf::Document::new(at.timestamp_millis())
                .dimension("StackSet", set)
                .metric("DriftedInstances", "Count", *n)
                .to_value()
        })
        .collect()
}
