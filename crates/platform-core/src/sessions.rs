//! Cross-account sessions: assume the automation role in a member account, cached until near expiry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};

use crate::error::{AwsError, ErrorClass};
use crate::ports::{AssumeRoleRequest, Clock, RoleAssumer, SessionCredentials};

/// How sessions are opened; one per caller (function or CLI command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    /// Role name in every member account (`abc-trading-automation`).
    pub role_name: String,
    /// Names the caller in CloudTrail: the session name is `platform-ops-<caller>`.
    pub caller: String,
    pub external_id: Option<String>,
    /// `aws`, `aws-cn` or `aws-us-gov`.
    pub partition: String,
    pub duration: Duration,
    /// Credentials this close to expiry are renewed, so no call starts with a dying session.
    pub refresh_margin: Duration,
}

impl SessionSettings {
    pub fn new(role_name: impl Into<String>, caller: impl Into<String>, region: &str) -> Self {
        SessionSettings {
            role_name: role_name.into(),
            caller: caller.into(),
            external_id: None,
            partition: partition_for_region(region).to_string(),
            duration: Duration::from_secs(3600),
            refresh_margin: Duration::from_secs(300),
        }
    }

    pub fn with_external_id(mut self, external_id: Option<String>) -> Self {
        self.external_id = external_id;
        self
    }

    /// `platform-ops-<caller>`, cut to what STS accepts (`[\w+=,.@-]{2,64}`).
    pub fn session_name(&self) -> String {
        let name: String = format!("platform-ops-{}", self.caller)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) { c } else { '-' })
            .take(64)
            .collect();
        name
    }
}

/// The partition an ARN must name for a region.
pub fn partition_for_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<SessionCredentials>>>;

/// Opens and caches member-account sessions. One slot per account, locked across the STS call,
/// so concurrent callers for the same account share one AssumeRole instead of racing.
#[derive(Debug)]
pub struct MemberSessions {
    assumer: Arc<dyn RoleAssumer>,
    clock: Arc<dyn Clock>,
    settings: SessionSettings,
    slots: Mutex<HashMap<String, Slot>>,
}

impl MemberSessions {
    pub fn new(assumer: Arc<dyn RoleAssumer>, clock: Arc<dyn Clock>, settings: SessionSettings) -> Self {
        MemberSessions { assumer, clock, settings, slots: Mutex::new(HashMap::new()) }
    }

    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    /// `arn:<partition>:iam::<account>:role/<role>`.
    pub fn role_arn(&self, account_id: &str) -> String {
        format!("arn:{}:iam::{account_id}:role/{}", self.settings.partition, self.settings.role_name)
    }

    /// Credentials for `account_id`: the cached ones while they have more than the refresh
    /// margin left, otherwise a fresh AssumeRole.
    pub async fn credentials(&self, account_id: &str) -> Result<SessionCredentials, AwsError> {
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AwsError::new(
                ErrorClass::InvalidRequest,
                "AssumeRole",
                format!("account id `{account_id}` is not 12 digits"),
            ));
        }
        let slot = {
            // A poisoned map only means another task panicked mid-insert; the map itself is intact.
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.entry(account_id.to_string()).or_default().clone()
        };
        let mut cached = slot.lock().await;
        let fresh_until = self.clock.now() + self.settings.refresh_margin;
        if let Some(creds) = cached.as_ref()
            && creds.expires_at > fresh_until
        {
            return Ok(creds.clone());
        }
        let request = AssumeRoleRequest {
            role_arn: self.role_arn(account_id),
            session_name: self.settings.session_name(),
            external_id: self.settings.external_id.clone(),
            duration_seconds: i32::try_from(self.settings.duration.as_secs()).unwrap_or(3600),
        };
        tracing::debug!(account_id, role_arn = %request.role_arn, "assuming member role");
        let creds = self.assumer.assume_role(&request).await?;
        *cached = Some(creds.clone());
        Ok(creds)
    }

    /// `base` with credentials for `account_id`: clients built from it enter the member account,
    /// renewing the session through this cache whenever the SDK asks for credentials.
    pub fn sdk_config(self: &Arc<Self>, base: &SdkConfig, account_id: &str) -> SdkConfig {
        let provider = MemberCredentials { sessions: Arc::clone(self), account_id: account_id.to_string() };
        base.to_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build()
    }
}

/// An SDK credentials provider backed by [`MemberSessions`].
#[derive(Debug)]
struct MemberCredentials {
    sessions: Arc<MemberSessions>,
    account_id: String,
}

impl ProvideCredentials for MemberCredentials {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            let c = self
                .sessions
                .credentials(&self.account_id)
                .await
                .map_err(provider::error::CredentialsError::provider_error)?;
            Ok(Credentials::new(
                c.access_key_id,
                c.secret_access_key,
                Some(c.session_token),
                Some(c.expires_at),
                "platform-ops-member-session",
            ))
        })
    }
}
