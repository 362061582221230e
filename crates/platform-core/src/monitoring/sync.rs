//! A client account's monitoring-account alarms kept in step with the config: read by prefix, only what differs written, what config dropped deleted.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{AccountAlarm, MetricQuery, account_alarms};
use crate::config::ConfigTree;
use crate::error::AwsError;

/// What CloudWatch keeps of an alarm and a re-write would change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmDefinition {
    pub description: String,
    pub metrics: Vec<MetricQuery>,
    pub expression: String,
    pub period_seconds: u32,
    pub evaluation_periods: u32,
    pub threshold: f64,
    pub comparison: String,
}

/// An alarm as the store holds it; `definition` is `None` when it does not read as one of ours
/// (written by hand or by an older version): it is written again.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlarm {
    pub name: String,
    pub definition: Option<AlarmDefinition>,
}

impl AccountAlarm {
    /// The description CloudWatch shows people: what, how urgent, where the runbook is.
    pub fn full_description(&self) -> String {
        format!("{} [{}; docs/runbook.md#{}]", self.description, self.severity, self.runbook)
    }

    pub fn definition(&self) -> AlarmDefinition {
        AlarmDefinition {
            description: self.full_description(),
            metrics: self.metrics.clone(),
            expression: self.expression.clone(),
            period_seconds: self.period_seconds,
            evaluation_periods: self.evaluation_periods,
            threshold: self.threshold,
            comparison: self.comparison.clone(),
        }
    }
}

/// The monitoring account's alarms (CloudWatch there).
#[async_trait]
pub trait AlarmStore: Send + Sync + std::fmt::Debug {
    /// Every alarm whose name starts with `prefix`.
    async fn alarms(&self, prefix: &str) -> Result<Vec<StoredAlarm>, AwsError>;
    /// Creates or replaces `alarm` (PutMetricAlarm is an upsert), tagged with `tags` on creation.
    async fn put(&self, alarm: &AccountAlarm, tags: &[(String, String)]) -> Result<(), AwsError>;
    async fn delete(&self, names: &[String]) -> Result<(), AwsError>;
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Alarms created or rewritten because they differed.
    pub written: Vec<String>,
    /// Alarms of the account the config no longer makes.
    pub deleted: Vec<String>,
    pub unchanged: usize,
}

/// Brings `account`'s alarms in line with `tree`. PutMetricAlarm is throttled at a few calls a
/// second per region, so a fleet deploy must not rewrite a hundred alarms per account: only what
/// differs is written, and a second run writes nothing.
pub async fn sync_account_alarms(
    store: &dyn AlarmStore,
    tree: &ConfigTree,
    env: &str,
    account: &str,
) -> Result<SyncReport, AwsError> {
    let wanted = account_alarms(tree, env, account);
    // The trailing dash keeps account 1234… from matching the alarms of account 12345….
    let prefix = format!("{}-{account}-", tree.resource_prefix(env));
    let existing = store.alarms(&prefix).await?;
    let mut report = SyncReport::default();
    let tags = |a: &AccountAlarm| {
        vec![
            ("environment".to_string(), env.to_string()),
            ("account".to_string(), account.to_string()),
            ("severity".to_string(), a.severity.to_string()),
            ("runbook".to_string(), a.runbook.clone()),
        ]
    };
    for a in &wanted {
        let current = existing.iter().find(|e| e.name == a.name).and_then(|e| e.definition.as_ref());
        if current == Some(&a.definition()) {
            report.unchanged += 1;
        } else {
            store.put(a, &tags(a)).await?;
            report.written.push(a.name.clone());
        }
    }
    let stale: Vec<String> =
        existing.iter().filter(|e| !wanted.iter().any(|a| a.name == e.name)).map(|e| e.name.clone()).collect();
    if !stale.is_empty() {
        store.delete(&stale).await?;
        report.deleted = stale;
    }
    Ok(report)
}
