//! What the schedules need beyond the shared ports: the organisation's accounts, somewhere to put reports, the member databases.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::error::AwsError;
use serde::{Deserialize, Serialize};

pub use platform_core::organization::{Account, MemberDirectory};

/// Where reports go (S3 on AWS).
#[async_trait]
pub trait ReportStore: Send + Sync + std::fmt::Debug {
    async fn put(&self, key: &str, body: &str, content_type: &str) -> Result<(), AwsError>;
}

/// One snapshot of a database, as RDS lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: String,
    /// `automated`, `manual` or `awsbackup` (AWS Backup's recovery points).
    pub kind: String,
    /// `available` once complete.
    pub status: String,
    /// When RDS took it: absent while it is being created.
    pub created_at: Option<DateTime<Utc>>,
}

/// The recovery points of a member account's database.
#[async_trait]
pub trait RecoveryPoints: Send + Sync + std::fmt::Debug {
    /// Every snapshot of `instance` (automated, manual and AWS Backup's), in any state.
    async fn snapshots(&self, account: &str, region: &str, instance: &str) -> Result<Vec<Snapshot>, AwsError>;
}

/// A database instance as the restore test reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseInstance {
    pub name: String,
    /// `creating`, `available`, `deleting`, `failed`, ...
    pub status: String,
    pub subnet_group: Option<String>,
    pub security_groups: Vec<String>,
    pub parameter_group: Option<String>,
    /// Host and port, once RDS gave it one.
    pub endpoint: Option<(String, u16)>,
    pub tags: Vec<(String, String)>,
    pub publicly_accessible: bool,
    pub deletion_protection: bool,
    pub class: String,
}

impl DatabaseInstance {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// What a scratch instance is restored with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreRequest {
    pub name: String,
    pub snapshot: String,
    pub class: String,
    pub subnet_group: Option<String>,
    pub security_groups: Vec<String>,
    pub parameter_group: Option<String>,
    /// Exactly these: RDS copies the snapshot's tags (the backup selection's among them) only
    /// when a restore names none.
    pub tags: Vec<(String, String)>,
}

/// Database instances of a member account: read, restored from a snapshot, deleted.
#[async_trait]
pub trait ScratchInstances: Send + Sync + std::fmt::Debug {
    /// The instance, or `None` when RDS has none by that name.
    async fn instance(&self, account: &str, region: &str, name: &str) -> Result<Option<DatabaseInstance>, AwsError>;
    /// RestoreDBInstanceFromDBSnapshot: not publicly accessible, deletion protection off, one AZ.
    /// An existing name is refused (`AlreadyExists`), as RDS refuses it.
    async fn restore(&self, account: &str, region: &str, request: &RestoreRequest) -> Result<(), AwsError>;
    /// DeleteDBInstance without a final snapshot; a missing instance is refused (`NotFound`).
    async fn delete(&self, account: &str, region: &str, name: &str) -> Result<(), AwsError>;
}
