//! Narrow traits for what the platform needs from AWS; adapters implement them, fakes test them.

use std::collections::BTreeMap;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::AwsError;

/// Parameter Store, as the config publisher and the flows use it.
#[async_trait]
pub trait ParameterStore: Send + Sync + std::fmt::Debug {
    /// Every parameter under `path` (recursively), name to value.
    async fn get_by_path(&self, path: &str) -> Result<BTreeMap<String, String>, AwsError>;
    /// The named parameters that exist, name to value (names that do not are left out).
    async fn get_many(&self, names: &[String]) -> Result<BTreeMap<String, String>, AwsError>;
    /// Writes one parameter; `overwrite = false` fails with `AlreadyExists` if it is there.
    async fn put(&self, name: &str, value: &str, overwrite: bool) -> Result<(), AwsError>;
    async fn delete(&self, names: &[String]) -> Result<(), AwsError>;
}

/// Temporary credentials for a member account.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expires_at: SystemTime,
}

impl std::fmt::Debug for SessionCredentials {
    // Secrets never reach a log line, even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What to ask STS for when entering a member account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRoleRequest {
    pub role_arn: String,
    pub session_name: String,
    pub external_id: Option<String>,
    pub duration_seconds: i32,
}

/// STS AssumeRole.
#[async_trait]
pub trait RoleAssumer: Send + Sync + std::fmt::Debug {
    async fn assume_role(&self, request: &AssumeRoleRequest) -> Result<SessionCredentials, AwsError>;
}

/// The time, injectable so that cooldowns and credential expiry are testable.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> SystemTime;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
