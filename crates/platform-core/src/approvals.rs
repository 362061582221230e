//! Release approvals and account leases: the plan a person approves once, and the one release an account runs at a time.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AwsError;

/// A plan waiting for a person: what `platform-ops release approve|reject <id>` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingApproval {
    /// The fleet release's execution name: what the approver types.
    pub id: String,
    pub environment: String,
    pub release: String,
    /// The callback's task token: the newest attempt's (a retried task mints a new one).
    pub token: String,
    /// Where the whole plan is (the reports bucket's key).
    pub plan_key: String,
    /// One line of the plan, for the notification and the approver's prompt.
    pub summary: String,
    /// Who asked for the release, when the request said: they may not approve it themselves.
    pub requested_by: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub answer_by: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Verdict {
    Approved,
    Rejected,
}

/// A person's answer, kept on the approval (and through the table's stream, in the audit archive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    /// The approver's identity as STS gives it (an assumed role's session ARN).
    pub by: String,
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub pending: PendingApproval,
    pub decision: Option<Decision>,
}

/// What opening an approval found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// New, or an undecided one given the newest token.
    Waiting,
    /// Someone already answered (a redelivered task): the answer stands.
    Decided(Decision),
}

/// What recording a decision found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    Recorded,
    /// Another decision got there first.
    Already(Decision),
    Unknown,
}

/// Where approvals are kept (the guard table on AWS).
#[async_trait]
pub trait Approvals: Send + Sync + std::fmt::Debug {
    async fn open(&self, approval: &PendingApproval) -> Result<Opened, AwsError>;
    async fn get(&self, id: &str) -> Result<Option<ApprovalRecord>, AwsError>;
    /// Records `decision` only if the approval exists and nobody decided it yet.
    async fn decide(&self, id: &str, decision: &Decision) -> Result<Recorded, AwsError>;
}

/// Why a decision is refused. Each names the bad value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionRefused {
    #[error("no release waits for approval under `{0}`")]
    Unknown(String),
    #[error("approval `{id}` had to be answered by {answer_by}: the release was rejected by its timeout")]
    Expired { id: String, answer_by: DateTime<Utc> },
    #[error("`{by}` asked for release {release} and may not decide on it: someone else must")]
    OwnRelease { by: String, release: String },
    #[error("approval `{id}` was already {} by {} at {}", .decision.verdict, .decision.by, .decision.at)]
    AlreadyDecided { id: String, decision: Decision },
    #[error("a rejection needs a reason")]
    NoReason,
}

/// The checks a decision passes before it is recorded: the approval exists and is open, and the
/// person deciding did not ask for the release (four eyes).
pub fn check(record: Option<&ApprovalRecord>, id: &str, decision: &Decision) -> Result<(), DecisionRefused> {
    let record = record.ok_or_else(|| DecisionRefused::Unknown(id.to_string()))?;
    if let Some(done) = &record.decision {
        return Err(DecisionRefused::AlreadyDecided { id: id.to_string(), decision: done.clone() });
    }
    if decision.at >= record.pending.answer_by {
        return Err(DecisionRefused::Expired { id: id.to_string(), answer_by: record.pending.answer_by });
    }
    if record.pending.requested_by.as_deref().is_some_and(|r| same_person(r, &decision.by)) {
        return Err(DecisionRefused::OwnRelease { by: decision.by.clone(), release: record.pending.release.clone() });
    }
    if decision.verdict == Verdict::Rejected && decision.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(DecisionRefused::NoReason);
    }
    Ok(())
}

/// Two identities are one person when their session names match: an assumed role's ARN is
/// `arn:aws:sts::<account>:assumed-role/<role>/<session>`, and the session is the person.
fn same_person(a: &str, b: &str) -> bool {
    let person = |arn: &str| arn.rsplit('/').next().unwrap_or(arn).to_ascii_lowercase();
    a == b || person(a) == person(b)
}

/// An account held by one release: a second waits or is refused, with the holder named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub environment: String,
    pub account: String,
    /// The execution holding it.
    pub holder: String,
    pub release: String,
    pub since: DateTime<Utc>,
    /// The holder's execution timeout: a lease outlives no execution.
    pub until: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// Taken (or already this holder's: a retried acquire).
    Held,
    /// Another release holds it.
    Busy(Lease),
}

/// Leases on accounts (the guard table on AWS).
#[async_trait]
pub trait Leases: Send + Sync + std::fmt::Debug {
    /// Takes the lease if it is free, expired, or already `lease.holder`'s.
    async fn acquire(&self, lease: &Lease, now: DateTime<Utc>) -> Result<Acquired, AwsError>;
    /// Gives it back if `holder` holds it; someone else's lease is left alone.
    async fn release(&self, environment: &str, account: &str, holder: &str) -> Result<bool, AwsError>;
}
