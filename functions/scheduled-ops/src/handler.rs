//! The scheduled operations' typed actions: drift (start, status, report, remediation), off-hours, inventory, the restore test.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use platform_core::capacity::{Groups, Guard};
use platform_core::config::ConfigTree;
use platform_core::error::AwsError;
use platform_core::monitoring::IndicatorSums;
use platform_core::ports::ParameterStore;
use platform_core::stacksets::{StackSetDrift, StackSets};
use platform_core::telemetry::MetricsSink;
use serde::{Deserialize, Serialize};

use crate::drift::{self, Detection, DetectionStatus, DriftReport};
use crate::inventory;
use crate::off_hours;
use crate::ports::{MemberDirectory, RecoveryPoints, ReportStore, ScratchInstances};
use crate::restore::{self, RestoreError, Target, report::Run};

/// One request per `action` the state machine sends; the action names are derived from the
/// variants (`platform-ops validate` checks the definitions against them).
#[derive(Debug, Clone, Deserialize, strum::VariantNames)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
#[strum(serialize_all = "kebab-case")]
pub enum Request {
    DriftStart {
        execution: String,
    },
    DriftStatus {
        detections: Vec<Detection>,
    },
    DriftReport {
        detections: Vec<Detection>,
        execution: String,
        now: DateTime<Utc>,
    },
    /// The re-applies a drift report started, followed to their end.
    RemediationStatus {
        findings: Vec<drift::Finding>,
    },
    /// `now`: the schedule's time (`<aws.scheduler.scheduled-time>`), so a late or repeated run
    /// decides as the intended one.
    OffHours {
        now: DateTime<Utc>,
    },
    Inventory {
        now: DateTime<Utc>,
    },
    /// The restore test (`restore-test.asl.json`); `now` is the state's entry time and
    /// `execution` the execution's id, never the payload's choice of either.
    RestoreTargets {},
    RestoreFind {
        target: Target,
        now: DateTime<Utc>,
    },
    RestoreStart {
        target: Target,
        snapshot: String,
        execution: String,
        now: DateTime<Utc>,
    },
    RestoreStatus {
        target: Target,
        execution: String,
        started_at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    RestoreDelete {
        target: Target,
        execution: String,
    },
    RestoreReport {
        run: Box<Run>,
        execution: String,
        now: DateTime<Utc>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Restore(#[from] RestoreError),
}

impl ScheduleError {
    /// The stable names the state machine's Retry and Catch use.
    pub fn error_type(&self) -> &'static str {
        match self {
            ScheduleError::Aws(e) => e.error_type(),
            ScheduleError::Restore(e) => e.error_type(),
        }
    }
}

pub struct Deps {
    pub tree: ConfigTree,
    pub directory: Arc<dyn MemberDirectory>,
    pub stack_sets: Arc<dyn StackSets>,
    pub drift: Arc<dyn StackSetDrift>,
    pub groups: Arc<dyn Groups>,
    pub guard: Arc<dyn Guard>,
    pub parameters: Arc<dyn ParameterStore>,
    pub reports: Arc<dyn ReportStore>,
    /// The log processor's metrics in this (the monitoring) account: the error budgets.
    pub indicators: Arc<dyn IndicatorSums>,
    pub metrics: Arc<dyn MetricsSink>,
    /// Key prefix of the inventory in the report bucket.
    pub inventory_prefix: String,
    /// The member accounts' database snapshots (RDS, through the schedules' role).
    pub recovery_points: Arc<dyn RecoveryPoints>,
    /// The member accounts' database instances the restore test makes and deletes.
    pub databases: Arc<dyn ScratchInstances>,
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps").finish_non_exhaustive()
    }
}

/// What each action answers; untagged, so each serialises as its own shape (the state machine
/// reads `detections`, `status` and `failed`, and the report's `drifted` and `by_stack_set`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Response {
    DriftStart(drift::Started),
    DriftStatus(DetectionStatus),
    DriftReport(DriftReport),
    OffHours(off_hours::Run),
    Inventory(inventory::Written),
    RestoreTargets(restore::Targets),
    RestoreFind(restore::Found),
    RestoreStart(restore::Started),
    RestoreStatus(restore::Status),
    RestoreDelete(restore::Deleted),
    RestoreReport(Box<restore::report::Written>),
}

pub async fn handle(request: Request, deps: &Deps) -> Result<Response, ScheduleError> {
    Ok(match request {
        Request::DriftStart { execution } => {
            let detections = drift::start(deps.drift.as_ref(), &drift::stack_sets(&deps.tree), &execution).await?;
            Response::DriftStart(drift::Started { detections })
        }
        Request::DriftStatus { detections } => {
            Response::DriftStatus(drift::status(deps.drift.as_ref(), &detections).await?)
        }
        Request::DriftReport { detections, execution, now } => {
            let accounts = deps.directory.members().await?;
            let report = drift::report(
                deps.drift.as_ref(),
                deps.stack_sets.as_ref(),
                &deps.tree,
                &accounts,
                &detections,
                &execution,
            )
            .await?;
            for doc in drift::metrics(&report, now) {
                deps.metrics.emit(&doc.to_string());
            }
            tracing::info!(drifted = report.drifted, remediated = report.remediated, "drift report");
            Response::DriftReport(report)
        }
        Request::RemediationStatus { findings } => {
            Response::DriftStatus(drift::remediation_status(deps.stack_sets.as_ref(), &findings).await?)
        }
        Request::OffHours { now } => {
            let accounts = deps.directory.members().await?;
            let owner = format!("off-hours@{}", now.timestamp_millis());
            let actions =
                off_hours::run(&deps.tree, &accounts, deps.groups.as_ref(), deps.guard.as_ref(), now, &owner).await;
            // Errors are per account and counted, never dropped; the run itself succeeds.
            for a in actions.iter().filter(|a| a.outcome == off_hours::Outcome::Error) {
                tracing::warn!(account = %a.account, environment = %a.environment, reason = %a.reason, "off-hours failed");
            }
            Response::OffHours(actions.into())
        }
        Request::Inventory { now } => {
            let accounts = deps.directory.members().await?;
            let inv = inventory::collect(
                &deps.tree,
                &accounts,
                deps.stack_sets.as_ref(),
                deps.groups.as_ref(),
                deps.parameters.as_ref(),
                deps.indicators.as_ref(),
                now,
            )
            .await?;
            let keys = inventory::write(deps.reports.as_ref(), &deps.inventory_prefix, &inv).await?;
            Response::Inventory(inventory::Written::new(&inv, keys))
        }
        Request::RestoreTargets {} => Response::RestoreTargets(restore::Targets {
            targets: restore::targets(&deps.tree, deps.parameters.as_ref()).await?,
        }),
        Request::RestoreFind { target, now } => {
            let target = vended(deps, target).await?;
            Response::RestoreFind(restore::find(&deps.tree, deps.recovery_points.as_ref(), &target, now).await?)
        }
        Request::RestoreStart { target, snapshot, execution, now } => {
            let target = vended(deps, target).await?;
            let started =
                restore::start(&deps.tree, deps.databases.as_ref(), &target, &snapshot, &execution, now).await?;
            tracing::info!(account = %target.account, scratch = %started.scratch, created = started.created, "restore started");
            Response::RestoreStart(started)
        }
        Request::RestoreStatus { target, execution, started_at, now } => {
            let target = vended(deps, target).await?;
            let db = deps.databases.as_ref();
            Response::RestoreStatus(restore::status(&deps.tree, db, &target, &execution, started_at, now).await?)
        }
        Request::RestoreDelete { target, execution } => {
            let target = vended(deps, target).await?;
            Response::RestoreDelete(restore::delete(&deps.tree, deps.databases.as_ref(), &target, &execution).await?)
        }
        Request::RestoreReport { run, execution, now } => {
            // The key is built from the account and environment: both must be the ledger's.
            vended(deps, run.target.clone()).await?;
            let report = restore::report::build(&deps.tree, &run, &execution, now);
            let written = restore::report::write(deps.reports.as_ref(), report).await?;
            tracing::info!(key = %written.key, verdict = %written.verdict, "restore test reported");
            Response::RestoreReport(Box::new(written))
        }
    })
}

/// The restore test's target, once vending's ledger holds it for this stack's environment.
async fn vended(deps: &Deps, target: Target) -> Result<Target, RestoreError> {
    restore::vended(&deps.tree, deps.parameters.as_ref(), target).await
}
