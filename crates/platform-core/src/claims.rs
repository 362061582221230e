//! Claims with leases in the guard table: who owns a transition, a vending, or one of a few slots.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AwsError;

/// The outcome of a claim in the guard table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Claim {
    /// This invocation owns it.
    Won,
    /// Someone already did (a duplicate delivery, or a concurrent alarm on the same target).
    Taken,
}

/// How a vending ended, for its claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Finish {
    Done { account_id: String },
    Failed { step: String },
}

/// The vendings' ledger in the guard table: one claim per request, and the organisation-wide
/// slots. Every hold has a lease, so an execution that died (timed out, aborted) cannot hold a
/// claim or a slot for longer than an execution may run.
#[async_trait]
pub trait VendingLedger: Send + Sync + std::fmt::Debug {
    /// Won when the vending is unclaimed, failed, already this execution's, or its lease ran out.
    async fn claim(
        &self,
        vending: &str,
        execution: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, AwsError>;
    /// Marks the claim done or failed, if `execution` still holds it.
    async fn finish(&self, vending: &str, execution: &str, finish: &Finish) -> Result<(), AwsError>;
    /// One of `max` slots: Won when the vending holds one already or one is free (holds whose
    /// lease ran out are freed first).
    async fn acquire_slot(
        &self,
        vending: &str,
        max: u32,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, AwsError>;
    async fn release_slot(&self, vending: &str) -> Result<(), AwsError>;
}
