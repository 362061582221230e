//! The restore test's report: what was restored, how fast, whether it answered, the verdict, and the notification it needs.

use chrono::{DateTime, Utc};
use platform_core::config::ConfigTree;
use platform_core::error::AwsError;
use serde::{Deserialize, Serialize};

use super::{Deleted, Found, Phase, RecoveryPoint, Started, Status, Target};
use crate::ports::ReportStore;

/// Where a notification sends a person (docs/runbook.md).
pub const RUNBOOK: &str = "docs/runbook.md#restore-test";

/// What the probe in the client's cluster found (platform-deploy's `probe-database`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// `answered`, `failed` or (never finished) `running`.
    pub state: String,
    /// The SSLRequest's one-byte answer, `S` or `N`, when it came.
    #[serde(default)]
    pub answer: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    /// When the state machine had the answer.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// A step's error as a Catch recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepError {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// One account's run as the state machine carried it (the Map iteration's whole state); a step
/// that did not run left its field absent, and what else the state holds is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub target: Target,
    #[serde(default)]
    pub found: Option<Found>,
    #[serde(default)]
    pub restore: Option<Started>,
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub probe: Option<Probe>,
    #[serde(default)]
    pub deleted: Option<Deleted>,
    #[serde(default)]
    pub error: Option<StepError>,
    #[serde(default)]
    pub delete_error: Option<StepError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Verdict {
    Passed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub account: String,
    pub environment: String,
    pub execution: String,
    pub generated_at: DateTime<Utc>,
    pub recovery_point: Option<RecoveryPoint>,
    pub rpo_minutes: Option<u32>,
    pub scratch_instance: Option<String>,
    pub restore_started_at: Option<DateTime<Utc>>,
    pub restore_available_at: Option<DateTime<Utc>>,
    /// From the restore call until the restored database answered (or was available, unprobed).
    pub restore_minutes: Option<i64>,
    pub rto_minutes: Option<u32>,
    pub probe: Option<Probe>,
    pub scratch_deleted: bool,
    pub verdict: Verdict,
    /// Why the verdict is `failed`.
    pub reasons: Vec<String>,
    /// Promises missed (RPO, RTO): notified, without failing a restore that worked.
    pub findings: Vec<String>,
}

/// `restore-report`'s answer: where the report went and what to tell people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub key: String,
    pub verdict: Verdict,
    pub notify: bool,
    pub subject: String,
    pub message: String,
    pub report: Report,
}

/// The report of a run: every missing step is a reason, every missed promise a finding.
pub fn build(tree: &ConfigTree, run: &Run, execution: &str, now: DateTime<Utc>) -> Report {
    let env = tree.environment(&run.target.environment);
    let rto = env.map(|e| e.backup.rto_minutes);
    let (mut reasons, mut findings) = (Vec::new(), Vec::new());
    let point = run.found.as_ref().and_then(|f| f.recovery_point.clone());
    match (&run.found, &point) {
        (None, _) => {}
        (Some(_), None) => reasons.push("no completed recovery point of the database".to_string()),
        (Some(f), Some(p)) if p.age_minutes > i64::from(f.rpo_minutes) => findings.push(format!(
            "RPO breached: the newest recovery point {} is {} min old (RPO {} min)",
            p.id, p.age_minutes, f.rpo_minutes
        )),
        _ => {}
    }
    let started = run.restore.as_ref().map(|r| r.started_at);
    let available = run.status.as_ref().and_then(|s| s.available_at);
    match run.status.as_ref().map(|s| s.phase) {
        Some(Phase::Available) => {}
        Some(phase) => reasons.push(format!(
            "the scratch instance did not become available ({phase}, status {})",
            run.status.as_ref().map_or("?", |s| s.status.as_str())
        )),
        None if run.restore.is_some() => reasons.push("the restore was not followed to its end".to_string()),
        None => {}
    }
    let answered = run.probe.as_ref().filter(|p| p.state == "answered");
    match (&run.probe, available) {
        (Some(p), _) if p.state != "answered" => reasons
            .push(format!("the restored database did not answer: {}", p.reason.as_deref().unwrap_or(p.state.as_str()))),
        (None, Some(_)) => reasons.push("the restored database was not probed".to_string()),
        _ => {}
    }
    let end = answered.and_then(|p| p.at).or(available);
    let restore_minutes = started.zip(end).map(|(s, e)| (e - s).num_minutes());
    if let (Some(m), Some(rto)) = (restore_minutes, rto)
        && m > i64::from(rto)
    {
        findings.push(format!("RTO breached: the restore took {m} min until the database answered (RTO {rto} min)"));
    }
    if let Some(e) = &run.error {
        reasons.push(format!("{}: {}", e.error, e.cause));
    }
    // Nothing made is nothing left, unless Delete found an instance by the name and refused it.
    let scratch_deleted = run.deleted.is_some() || (run.restore.is_none() && run.delete_error.is_none());
    if !scratch_deleted {
        let why = run.delete_error.as_ref().map_or_else(String::new, |e| format!(": {}: {}", e.error, e.cause));
        reasons.push(format!("the scratch instance was not deleted{why}"));
    }
    Report {
        account: run.target.account.clone(),
        environment: run.target.environment.clone(),
        execution: execution.to_string(),
        generated_at: now,
        recovery_point: point,
        rpo_minutes: run.found.as_ref().map(|f| f.rpo_minutes),
        scratch_instance: run.restore.as_ref().map(|r| r.scratch.clone()),
        restore_started_at: started,
        restore_available_at: available,
        restore_minutes,
        rto_minutes: rto,
        probe: run.probe.clone(),
        scratch_deleted,
        verdict: if reasons.is_empty() { Verdict::Passed } else { Verdict::Failed },
        reasons,
        findings,
    }
}

/// `restore-tests/<env>/<account>/<date>.json`: one a day per account (a re-run replaces it).
pub fn key(report: &Report) -> String {
    format!(
        "{}/{}/{}/{}.json",
        super::PREFIX,
        report.environment,
        report.account,
        report.generated_at.format("%Y-%m-%d")
    )
}

pub async fn write(store: &dyn ReportStore, report: Report) -> Result<Written, AwsError> {
    let key = key(&report);
    let body = serde_json::to_string_pretty(&report)
        .map_err(|e| AwsError::new(platform_core::ErrorClass::InvalidRequest, "PutObject", e.to_string()))?;
    store.put(&key, &body, "application/json").await?;
    let notify = report.verdict == Verdict::Failed || !report.findings.is_empty();
    let what = match (report.verdict, report.findings.len()) {
        (Verdict::Failed, _) => "FAILED".to_string(),
        (Verdict::Passed, n) => format!("passed with {n} finding(s)"),
    };
    let subject = format!("abc-trading restore test {what} in {} ({})", report.environment, report.account);
    let mut lines: Vec<String> = report.reasons.iter().chain(&report.findings).cloned().collect();
    lines.push(format!("report: {key}"));
    lines.push(format!("what to do: {RUNBOOK}"));
    Ok(Written { key, verdict: report.verdict, notify, subject, message: lines.join("\n"), report })
}
