//! What the fleet release needs from outside: the release ledger, the wave's alarms, a place to publish the plan.

use async_trait::async_trait;
use platform_core::error::AwsError;
use platform_core::release::Release;
use serde_json::Value;

use crate::gate::FleetOutcome;
use crate::plan::AccountFacts;

/// The releases CI published, the fleet's accounts as vending published them, what each runs,
/// and each environment's fleet outcomes (Parameter Store on AWS).
#[async_trait]
pub trait FleetLedger: Send + Sync + std::fmt::Debug {
    async fn published(&self, environment: &str, release: &str) -> Result<Option<Release>, AwsError>;
    /// The name of the release last deployed in the environment: what a request naming none gets.
    async fn environment_release(&self, environment: &str) -> Result<Option<String>, AwsError>;
    async fn accounts(&self, environment: &str) -> Result<Vec<String>, AwsError>;
    async fn facts(&self, environment: &str, account: &str) -> Result<AccountFacts, AwsError>;
    async fn outcome(&self, environment: &str, release: &str) -> Result<Option<FleetOutcome>, AwsError>;
    async fn record_outcome(&self, environment: &str, outcome: &FleetOutcome) -> Result<(), AwsError>;
}

/// The alarms of a client account that are in ALARM (the monitoring account's, by name prefix).
#[async_trait]
pub trait AlarmStates: Send + Sync + std::fmt::Debug {
    async fn alarming(&self, prefix: &str) -> Result<Vec<String>, AwsError>;
}

/// Where the whole plan is published for people to read (the reports bucket on AWS).
#[async_trait]
pub trait PlanReports: Send + Sync + std::fmt::Debug {
    async fn put(&self, key: &str, report: &Value) -> Result<(), AwsError>;
}
