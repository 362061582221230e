//! What the schedules need beyond the shared ports: the organisation's accounts, and somewhere to put reports.

use async_trait::async_trait;
use platform_core::error::AwsError;

pub use platform_core::organization::{Account, MemberDirectory};

/// Where reports go (S3 on AWS).
#[async_trait]
pub trait ReportStore: Send + Sync + std::fmt::Debug {
    async fn put(&self, key: &str, body: &str, content_type: &str) -> Result<(), AwsError>;
}
