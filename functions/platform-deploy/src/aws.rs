//! Adapters: the EKS cluster of a member account, reached through the automation role with a
//! bearer token made from that role's credentials.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use platform_core::error::{AwsError, ClassifyExt, ErrorClass};
use platform_core::sessions::MemberSessions;

use crate::cluster::{ApplyError, WorkloadApplier};
use crate::handler::Clusters;
use crate::kube::KubeApplier;
use crate::token::eks_token;

/// `<name_prefix>-<env>` in each member account, as the platform StackSet names it.
#[derive(Debug, Clone)]
pub struct EksClusters {
    base: SdkConfig,
    sessions: Arc<MemberSessions>,
    name_prefix: String,
}

impl EksClusters {
    pub fn new(base: SdkConfig, sessions: Arc<MemberSessions>, name_prefix: impl Into<String>) -> Self {
        EksClusters { base, sessions, name_prefix: name_prefix.into() }
    }
}

/// An AWS error in the deploy's terms, its class kept (denied is not worth retrying).
pub(crate) fn from_aws(e: AwsError) -> ApplyError {
    match e.class {
        ErrorClass::AccessDenied => ApplyError::Forbidden(e.to_string()),
        ErrorClass::NotFound => {
            ApplyError::NotFound { kind: "Cluster".into(), namespace: String::new(), name: e.message }
        }
        ErrorClass::InvalidRequest | ErrorClass::Unclassified => {
            ApplyError::Invalid { kind: "Cluster".into(), name: e.operation.into(), message: e.to_string() }
        }
        _ => ApplyError::Transient(e.to_string()),
    }
}

#[async_trait]
impl Clusters for EksClusters {
    async fn cluster(&self, account: &str, environment: &str) -> Result<Arc<dyn WorkloadApplier>, ApplyError> {
        let name = format!("{}-{environment}", self.name_prefix);
        let config = self.sessions.sdk_config(&self.base, account);
        let out = aws_sdk_eks::Client::new(&config)
            .describe_cluster()
            .name(&name)
            .send()
            .await
            .classify("DescribeCluster")
            .map_err(from_aws)?;
        let cluster = out.cluster().ok_or_else(|| ApplyError::NotFound {
            kind: "Cluster".into(),
            namespace: account.into(),
            name: name.clone(),
        })?;
        let endpoint =
            cluster.endpoint().ok_or_else(|| ApplyError::Transient(format!("cluster {name} has no endpoint yet")))?;
        let ca = cluster.certificate_authority().and_then(|c| c.data());
        // The token is the automation role's: its access entry is what the cluster authorises.
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| ApplyError::Forbidden(format!("no credentials for account {account}")))?
            .provide_credentials()
            .await
            .map_err(|e| ApplyError::Forbidden(format!("credentials for account {account}: {e}")))?;
        let region = config.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
        let token = eks_token(&credentials, &region, &name, SystemTime::now()).map_err(|e| ApplyError::Invalid {
            kind: "Token".into(),
            name: name.clone(),
            message: e.to_string(),
        })?;
        Ok(Arc::new(KubeApplier::for_eks(endpoint, ca, token)?))
    }
}
