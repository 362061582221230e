//! Loads the AWS configuration once and builds clients and adapters from it.

#[cfg(feature = "cloudformation")]
mod cloudformation;
#[cfg(feature = "ssm")]
mod ssm;
#[cfg(feature = "sts")]
mod sts;

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};

#[cfg(feature = "cloudformation")]
pub use cloudformation::CloudFormationStackSets;
#[cfg(feature = "ssm")]
pub use ssm::SsmParameterStore;
#[cfg(feature = "sts")]
pub use sts::StsRoleAssumer;

use crate::ports::{RoleAssumer, SystemClock};
use crate::sessions::{MemberSessions, SessionSettings};

/// The process's AWS configuration, loaded once at start-up (Lambda init or CLI start).
#[derive(Debug, Clone)]
pub struct AwsContext {
    config: SdkConfig,
}

impl AwsContext {
    /// The standard chain: `AWS_ENDPOINT_URL` (and per-service overrides), `AWS_REGION`,
    /// `AWS_PROFILE`, environment or role credentials.
    pub async fn load() -> Self {
        AwsContext { config: aws_config::defaults(BehaviorVersion::latest()).load().await }
    }

    pub fn from_config(config: SdkConfig) -> Self {
        AwsContext { config }
    }

    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    pub fn region(&self) -> Option<&str> {
        self.config.region().map(|r| r.as_ref())
    }

    pub fn endpoint_url(&self) -> Option<&str> {
        self.config.endpoint_url()
    }

    /// Any SDK client, from the shared configuration: `ctx.client(aws_sdk_eks::Client::new)`.
    pub fn client<C>(&self, new: fn(&SdkConfig) -> C) -> C {
        new(&self.config)
    }

    /// Sessions into member accounts through `assumer`, naming `caller`.
    pub fn member_sessions(&self, assumer: Arc<dyn RoleAssumer>, settings: SessionSettings) -> Arc<MemberSessions> {
        Arc::new(MemberSessions::new(assumer, Arc::new(SystemClock), settings))
    }
}
