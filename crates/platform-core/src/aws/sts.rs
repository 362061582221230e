//! STS adapter: AssumeRole into member accounts.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_sts::Client;

use crate::aws::Lazy;
use crate::error::{AwsError, ClassifyExt, ErrorClass};
use crate::ports::{AssumeRoleRequest, RoleAssumer, SessionCredentials};

#[derive(Debug, Clone)]
pub struct StsRoleAssumer {
    client: Lazy<Client>,
}

impl StsRoleAssumer {
    pub fn new(client: Lazy<Client>) -> Self {
        StsRoleAssumer { client }
    }
}

#[async_trait]
impl RoleAssumer for StsRoleAssumer {
    async fn assume_role(&self, request: &AssumeRoleRequest) -> Result<SessionCredentials, AwsError> {
        let out = self
            .client
            .assume_role()
            .role_arn(&request.role_arn)
            .role_session_name(&request.session_name)
            .set_external_id(request.external_id.clone())
            .duration_seconds(request.duration_seconds)
            .send()
            .await
            .classify("AssumeRole")?;
        let creds = out.credentials.ok_or_else(|| {
            AwsError::new(
                ErrorClass::Unclassified,
                "AssumeRole",
                format!("no credentials returned for {}", request.role_arn),
            )
        })?;
        let expires_at = SystemTime::try_from(creds.expiration).map_err(|e| {
            AwsError::new(
                ErrorClass::Unclassified,
                "AssumeRole",
                format!("expiration {} out of range: {e}", creds.expiration),
            )
        })?;
        Ok(SessionCredentials {
            access_key_id: creds.access_key_id,
            secret_access_key: creds.secret_access_key,
            session_token: creds.session_token,
            expires_at,
        })
    }
}
