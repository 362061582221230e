//! The scheduled restore test: the newest recovery point of each account's database restored into a scratch instance, probed, timed, deleted.

// Each step is one action of `state-machines/restore-test.asl.json`; the probe itself runs in the
// client's cluster (platform-deploy's `probe-database`), the only place that reaches the database.

pub mod aws;
pub mod report;

use chrono::{DateTime, Utc};
use platform_core::config::{ConfigTree, Environment};
use platform_core::error::{AwsError, ErrorClass};
use platform_core::ports::ParameterStore;
use serde::{Deserialize, Serialize};

use crate::ports::{RecoveryPoints, RestoreRequest, ScratchInstances, Snapshot};

/// The tag every scratch instance carries: the execution that made it. Delete acts on nothing else.
pub const TAG: &str = "abc-trading:restore-test";
/// The backup selection's tag: a scratch instance must never carry it (AWS Backup would keep it).
pub const BACKUP_TAG: &str = "abc-trading:backup";
/// The smallest class RDS restores PostgreSQL 17 into: the test measures the restore, not load.
pub const SCRATCH_CLASS: &str = "db.t4g.micro";
/// Where the reports go in the report bucket: `restore-tests/<env>/<account>/<date>.json`.
pub const PREFIX: &str = "restore-tests";

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("environment `{0}` is not this stack's, or has no restore test")]
    UnknownEnvironment(String),
    /// A name the test would use belongs to an instance it did not make: never touched.
    #[error("instance {name} in account {account} is not a scratch instance of restore test {execution}")]
    NotOurs { account: String, name: String, execution: String },
    #[error("account {account} has no database {instance} to restore next to")]
    NoSource { account: String, instance: String },
    /// The payload named an account vending did not publish for the environment: nothing is
    /// restored, read or deleted there.
    #[error("account {account} is not one vending published for environment `{environment}`")]
    NotVended { account: String, environment: String },
}

/// The names [`RestoreError::error_type`] reports besides the AWS error classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantNames)]
pub enum ErrorName {
    /// An account or environment outside this stack's: never retried.
    Untrusted,
    /// The scratch name is taken by an instance this execution did not make: never touched.
    NotOurs,
}

impl RestoreError {
    /// The stable names the state machine's Retry and Catch use.
    pub fn error_type(&self) -> &'static str {
        match self {
            RestoreError::Aws(e) => e.error_type(),
            RestoreError::UnknownEnvironment(_) | RestoreError::NotVended { .. } => ErrorName::Untrusted.into(),
            RestoreError::NotOurs { .. } => ErrorName::NotOurs.into(),
            RestoreError::NoSource { .. } => ErrorClass::NotFound.as_str(),
        }
    }
}

/// One account to test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub account: String,
    pub environment: String,
}

/// `restore-targets`' answer: what the state machine's Map runs over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    pub targets: Vec<Target>,
}

/// `restore-targets`: every account vending published for each environment with a restore test.
pub async fn targets(tree: &ConfigTree, parameters: &dyn ParameterStore) -> Result<Vec<Target>, AwsError> {
    let prefix = &tree.organization.parameter_prefix;
    let mut out = Vec::new();
    for env in tree.environments.values().filter(|e| e.backup.restore_test) {
        for account in platform_core::trust::vended_accounts(parameters, prefix, &env.name).await? {
            out.push(Target { account, environment: env.name.clone() });
        }
    }
    Ok(out)
}

/// `target` as given, once vending's published facts (`<prefix>/accounts/<env>/<id>/id`) hold it
/// for an environment of this stack with a restore test: a payload never chooses the account.
pub async fn vended(
    tree: &ConfigTree,
    parameters: &dyn ParameterStore,
    target: Target,
) -> Result<Target, RestoreError> {
    let env = environment(tree, &target.environment)?;
    let name = format!("{}/accounts/{}/{}/id", tree.organization.parameter_prefix, env.name, target.account);
    let found = parameters.get_many(std::slice::from_ref(&name)).await?;
    if found.get(&name) == Some(&target.account) {
        return Ok(target);
    }
    Err(RestoreError::NotVended { account: target.account, environment: target.environment })
}

fn environment<'a>(tree: &'a ConfigTree, name: &str) -> Result<&'a Environment, RestoreError> {
    tree.environment(name)
        .filter(|e| e.backup.restore_test)
        .ok_or_else(|| RestoreError::UnknownEnvironment(name.into()))
}

/// The platform's database in an environment's member account (stacksets/platform.yaml).
pub fn source_instance(tree: &ConfigTree, environment: &str) -> String {
    format!("{}-{environment}", tree.organization.name_prefix)
}

/// `<prefix>-<env>-restore-<8 hex>`: the same for every retry of an execution, within RDS's
/// 63 characters, and inside the IAM policy's `abc-trading-*-restore-*`.
pub fn scratch_name(tree: &ConfigTree, environment: &str, execution: &str) -> String {
    let hash = execution.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    format!("{}-{environment}-restore-{hash:08x}", tree.organization.name_prefix)
}

/// The recovery point a restore starts from, and how old it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryPoint {
    pub id: String,
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub age_minutes: i64,
}

/// `restore-find`: the newest available recovery point (absent: nothing to restore), against the RPO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    pub recovery_point: Option<RecoveryPoint>,
    pub rpo_minutes: u32,
    pub rpo_breached: bool,
}

pub async fn find(
    tree: &ConfigTree,
    points: &dyn RecoveryPoints,
    target: &Target,
    now: DateTime<Utc>,
) -> Result<Found, RestoreError> {
    let env = environment(tree, &target.environment)?;
    let instance = source_instance(tree, &env.name);
    let snapshots = points.snapshots(&target.account, env.primary_region(), &instance).await?;
    let newest = newest(&snapshots).map(|(s, at)| RecoveryPoint {
        id: s.id.clone(),
        kind: s.kind.clone(),
        created_at: at,
        // A point taken after `now` (the state's entry time; a retried call reads later) is
        // as fresh as can be, not negatively old.
        age_minutes: (now - at).num_minutes().max(0),
    });
    let rpo_breached = newest.as_ref().is_none_or(|p| p.age_minutes > i64::from(env.backup.rpo_minutes));
    Ok(Found { recovery_point: newest, rpo_minutes: env.backup.rpo_minutes, rpo_breached })
}

/// The newest complete snapshot: one still being taken (or failed) cannot be restored.
fn newest(snapshots: &[Snapshot]) -> Option<(&Snapshot, DateTime<Utc>)> {
    snapshots
        .iter()
        .filter(|s| s.status == "available")
        .filter_map(|s| s.created_at.map(|at| (s, at)))
        .max_by_key(|(s, at)| (*at, s.id.clone()))
}

/// `restore-start`: the scratch instance's name and when its restore began.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub scratch: String,
    pub started_at: DateTime<Utc>,
    /// False when a retried call found the instance the first call made.
    pub created: bool,
}

pub async fn start(
    tree: &ConfigTree,
    db: &dyn ScratchInstances,
    target: &Target,
    snapshot: &str,
    execution: &str,
    now: DateTime<Utc>,
) -> Result<Started, RestoreError> {
    let env = environment(tree, &target.environment)?;
    let region = env.primary_region();
    let scratch = scratch_name(tree, &env.name, execution);
    // A retry after a lost response: the instance is there, and ours.
    if let Some(existing) = db.instance(&target.account, region, &scratch).await? {
        ours(&existing, target, execution)?;
        return Ok(Started { scratch, started_at: now, created: false });
    }
    let source_name = source_instance(tree, &env.name);
    let source = db
        .instance(&target.account, region, &source_name)
        .await?
        .ok_or_else(|| RestoreError::NoSource { account: target.account.clone(), instance: source_name.clone() })?;
    // Where the source is (its subnets and security group): reachable from the cluster as it is.
    let request = RestoreRequest {
        name: scratch.clone(),
        snapshot: snapshot.to_string(),
        class: SCRATCH_CLASS.into(),
        subnet_group: source.subnet_group,
        security_groups: source.security_groups,
        parameter_group: source.parameter_group,
        tags: vec![
            (TAG.into(), execution.into()),
            ("environment".into(), env.name.clone()),
            ("managed-by".into(), "platform-ops".into()),
        ],
    };
    match db.restore(&target.account, region, &request).await {
        Ok(()) => Ok(Started { scratch, started_at: now, created: true }),
        // Two deliveries racing: the other made it; it is ours only if it carries our tag.
        Err(e) if e.class == ErrorClass::AlreadyExists => {
            let existing = db.instance(&target.account, region, &scratch).await?.ok_or(e)?;
            ours(&existing, target, execution)?;
            Ok(Started { scratch, started_at: now, created: false })
        }
        Err(e) => Err(e.into()),
    }
}

fn ours(instance: &crate::ports::DatabaseInstance, target: &Target, execution: &str) -> Result<(), RestoreError> {
    if instance.tag(TAG) == Some(execution) {
        return Ok(());
    }
    Err(RestoreError::NotOurs {
        account: target.account.clone(),
        name: instance.name.clone(),
        execution: execution.to_string(),
    })
}

/// Where a restore is, for the state machine's wait loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Phase {
    Restoring,
    Available,
    /// RDS gave up on it (`failed`, `incompatible-restore`, ...) or it went away.
    Failed,
    /// Still not available after twice the RTO: the state machine stops waiting.
    Overdue,
}

/// `restore-status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub phase: Phase,
    pub status: String,
    /// When it was seen available (to the poll's minute).
    pub available_at: Option<DateTime<Utc>>,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// How long the state machine waits before asking again: a sixtieth of the RTO, at least a
    /// minute. Restore time is measured to one poll, so to under 2 % of the promise; and a
    /// restore followed to 2x RTO takes at most 120 polls, whatever the RTO, which keeps the
    /// execution's history bounded.
    pub poll_seconds: u32,
}

/// Statuses RDS does not come back from by itself.
const FAILED: &[&str] = &[
    "failed",
    "incompatible-restore",
    "incompatible-parameters",
    "incompatible-network",
    "storage-full",
    "inaccessible-encryption-credentials",
    "deleting",
    "stopped",
];

pub async fn status(
    tree: &ConfigTree,
    db: &dyn ScratchInstances,
    target: &Target,
    execution: &str,
    started_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Status, RestoreError> {
    let env = environment(tree, &target.environment)?;
    let scratch = scratch_name(tree, &env.name, execution);
    let found = db.instance(&target.account, env.primary_region(), &scratch).await?;
    let (status, endpoint) = match &found {
        Some(i) => {
            ours(i, target, execution)?;
            (i.status.clone(), i.endpoint.clone())
        }
        None => ("gone".to_string(), None),
    };
    let overdue = now - started_at > chrono::Duration::minutes(2 * i64::from(env.backup.rto_minutes));
    let phase = match status.as_str() {
        "available" if endpoint.is_some() => Phase::Available,
        s if found.is_none() || FAILED.contains(&s) => Phase::Failed,
        _ if overdue => Phase::Overdue,
        _ => Phase::Restoring,
    };
    let (host, port) = endpoint.map_or((None, None), |(h, p)| (Some(h), Some(p)));
    let poll_seconds = env.backup.rto_minutes.max(60);
    Ok(Status { phase, status, available_at: (phase == Phase::Available).then_some(now), host, port, poll_seconds })
}

/// `restore-delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    pub scratch: String,
    /// `deleting` (asked now), `already-deleting`, or `gone`.
    pub outcome: String,
}

/// Deletes this execution's scratch instance, and only it: the name comes from the execution,
/// never from the payload, and an instance without this execution's tag is refused.
pub async fn delete(
    tree: &ConfigTree,
    db: &dyn ScratchInstances,
    target: &Target,
    execution: &str,
) -> Result<Deleted, RestoreError> {
    let env = environment(tree, &target.environment)?;
    let region = env.primary_region();
    let scratch = scratch_name(tree, &env.name, execution);
    let done = |outcome: &str| Ok(Deleted { scratch: scratch.clone(), outcome: outcome.into() });
    let Some(instance) = db.instance(&target.account, region, &scratch).await? else { return done("gone") };
    ours(&instance, target, execution)?;
    if instance.status == "deleting" {
        return done("already-deleting");
    }
    match db.delete(&target.account, region, &scratch).await {
        Ok(()) => done("deleting"),
        // Deleted between the read and the call (a duplicate delivery): the outcome wanted.
        Err(e) if e.class == ErrorClass::NotFound => done("gone"),
        Err(e) => Err(e.into()),
    }
}
