//! What the schedules need beyond the shared ports: the organisation's accounts, and somewhere to
//! put reports.

use async_trait::async_trait;
use platform_core::error::AwsError;
use serde::{Deserialize, Serialize};

/// A member account with the OU it sits in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberAccount {
    pub id: String,
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`.
    pub state: String,
    /// The OU's name; `None` directly under the root.
    pub ou: Option<String>,
}

/// AWS Organizations, read-only, from the management account.
#[async_trait]
pub trait Directory: Send + Sync + std::fmt::Debug {
    /// Every account of the organisation but the management account, with its OU.
    async fn accounts(&self) -> Result<Vec<MemberAccount>, AwsError>;
}

/// Where reports go (S3 on AWS).
#[async_trait]
pub trait ReportStore: Send + Sync + std::fmt::Debug {
    async fn put(&self, key: &str, body: &str, content_type: &str) -> Result<(), AwsError>;
}
