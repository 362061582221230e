//! Adapters: a member account's EKS cluster through the automation role (access entry, bearer token).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use aws_credential_types::provider::ProvideCredentials;
use platform_core::aws::MemberClients;
use platform_core::error::{AwsError, ClassifyExt, ErrorClass};

use crate::cluster::{AccessChange, ApplyError, ClusterAccess, Clusters, WorkloadApplier};
use crate::kube::KubeApplier;
use crate::token::eks_token;

/// A cluster by (account, name, region).
type ClusterKey = (String, String, String);

/// `<name_prefix>-<env>` in each member account, as the platform StackSet names it, reached as the
/// automation role.
#[derive(Debug, Clone)]
pub struct EksClusters {
    members: MemberClients,
    name_prefix: String,
    /// DescribeCluster's answers by (account, cluster, region): an endpoint does not move while
    /// the cluster lives, and each state of a deploy needs it.
    described: Arc<Mutex<HashMap<ClusterKey, ClusterFacts>>>,
}

impl EksClusters {
    pub fn new(members: MemberClients, name_prefix: impl Into<String>) -> Self {
        EksClusters { members, name_prefix: name_prefix.into(), described: Arc::default() }
    }

    async fn facts(&self, account: &str, name: &str, region: &str) -> Result<ClusterFacts, ApplyError> {
        let key = (account.to_string(), name.to_string(), region.to_string());
        if let Some(f) = self.described.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(f.clone());
        }
        let facts = describe_cluster(&self.members.client_in(account, region), name).await?;
        self.described.lock().unwrap_or_else(|p| p.into_inner()).insert(key, facts.clone());
        Ok(facts)
    }
}

/// The EKS access policy the deployer gets: the deploy creates namespaces (cluster-scoped) and
/// network policies, which the namespaced policies do not allow.
pub const DEPLOYER_POLICY: &str = "AmazonEKSClusterAdminPolicy";

/// What DescribeCluster tells the deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterFacts {
    pub arn: String,
    pub endpoint: String,
    pub certificate_authority: Option<String>,
}

/// The cluster's endpoint and CA, once it is ACTIVE and takes access entries.
pub async fn describe_cluster(eks: &aws_sdk_eks::Client, name: &str) -> Result<ClusterFacts, ApplyError> {
    use aws_sdk_eks::types::{AuthenticationMode, ClusterStatus};
    let out = eks.describe_cluster().name(name).send().await.classify("DescribeCluster").map_err(from_aws)?;
    let cluster = out.cluster().ok_or_else(|| ApplyError::NotFound {
        kind: "Cluster".into(),
        namespace: String::new(),
        name: name.into(),
    })?;
    match cluster.status() {
        Some(ClusterStatus::Active | ClusterStatus::Updating) => {}
        // Still being built (the infrastructure step just finished): worth waiting for.
        Some(ClusterStatus::Creating | ClusterStatus::Pending) | None => {
            return Err(ApplyError::Transient(format!("cluster {name} is not active yet")));
        }
        Some(other) => {
            return Err(ApplyError::Invalid {
                kind: "Cluster".into(),
                name: name.into(),
                message: format!("the cluster is {}", other.as_str()),
            });
        }
    }
    let mode = cluster.access_config().and_then(|a| a.authentication_mode());
    if !matches!(mode, Some(AuthenticationMode::Api | AuthenticationMode::ApiAndConfigMap)) {
        return Err(ApplyError::Invalid {
            kind: "Cluster".into(),
            name: name.into(),
            message: format!(
                "authentication mode {} takes no access entries (API or API_AND_CONFIG_MAP needed)",
                mode.map(|m| m.as_str()).unwrap_or("unknown")
            ),
        });
    }
    let endpoint =
        cluster.endpoint().ok_or_else(|| ApplyError::Transient(format!("cluster {name} has no endpoint yet")))?;
    Ok(ClusterFacts {
        arn: cluster.arn().unwrap_or_default().to_string(),
        endpoint: endpoint.to_string(),
        certificate_authority: cluster.certificate_authority().and_then(|c| c.data()).map(str::to_string),
    })
}

/// An access entry for `principal` with [`DEPLOYER_POLICY`] at cluster scope: read first, written
/// only what is missing (a repeat changes nothing). Returns what it changed.
pub async fn ensure_access_entry(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
    principal: &str,
    partition: &str,
) -> Result<Vec<AccessChange>, ApplyError> {
    use aws_sdk_eks::types::{AccessScope, AccessScopeType};
    let mut changed = Vec::new();
    let entry = eks
        .describe_access_entry()
        .cluster_name(cluster)
        .principal_arn(principal)
        .send()
        .await
        .classify("DescribeAccessEntry");
    match entry {
        Ok(_) => {}
        Err(e) if e.class == ErrorClass::NotFound => {
            let created = eks
                .create_access_entry()
                .cluster_name(cluster)
                .principal_arn(principal)
                .r#type("STANDARD")
                .send()
                .await
                .classify("CreateAccessEntry");
            match created {
                Ok(_) => changed.push(AccessChange::Created),
                // Another deploy made it between our read and write (EKS says "in use"): it is there.
                Err(e)
                    if e.code.as_deref() == Some("ResourceInUseException") || e.class == ErrorClass::AlreadyExists => {}
                Err(e) => return Err(from_aws(e)),
            }
        }
        Err(e) => return Err(from_aws(e)),
    }
    let policy = format!("arn:{partition}:eks::aws:cluster-access-policy/{DEPLOYER_POLICY}");
    let associated = eks
        .list_associated_access_policies()
        .cluster_name(cluster)
        .principal_arn(principal)
        .send()
        .await
        .classify("ListAssociatedAccessPolicies")
        .map_err(from_aws)?;
    let present = associated.associated_access_policies().iter().any(|p| {
        p.policy_arn() == Some(policy.as_str())
            && p.access_scope().and_then(|s| s.r#type()) == Some(&AccessScopeType::Cluster)
    });
    if !present {
        eks.associate_access_policy()
            .cluster_name(cluster)
            .principal_arn(principal)
            .policy_arn(&policy)
            .access_scope(AccessScope::builder().r#type(AccessScopeType::Cluster).build())
            .send()
            .await
            .classify("AssociateAccessPolicy")
            .map_err(from_aws)?;
        changed.push(AccessChange::Associated);
    }
    Ok(changed)
}

/// An AWS error in the deploy's terms: its class kept (denied is not worth retrying, throttled
/// and in-progress are), its source kept.
pub(crate) fn from_aws(e: AwsError) -> ApplyError {
    ApplyError::Aws(e)
}

#[async_trait]
impl Clusters for EksClusters {
    async fn ensure_access(&self, account: &str, environment: &str, region: &str) -> Result<ClusterAccess, ApplyError> {
        let name = format!("{}-{environment}", self.name_prefix);
        // The cluster lives in the environment's primary region, whatever region this runs in.
        let eks: aws_sdk_eks::Client = self.members.client_in(account, region);
        let facts = describe_cluster(&eks, &name).await?;
        self.described
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((account.to_string(), name.clone(), region.to_string()), facts.clone());
        let partition = facts.arn.split(':').nth(1).filter(|p| !p.is_empty()).unwrap_or("aws");
        // Sessions of an assumed role authenticate as the role itself: its ARN is the principal.
        let principal = format!("arn:{partition}:iam::{account}:role/{}", self.members.sessions().settings().role_name);
        let changed = ensure_access_entry(&eks, &name, &principal, partition).await?;
        Ok(ClusterAccess {
            name,
            region: region.to_string(),
            endpoint: facts.endpoint,
            certificate_authority: facts.certificate_authority,
            principal,
            changed,
        })
    }

    async fn cluster(
        &self,
        account: &str,
        environment: &str,
        region: &str,
    ) -> Result<Arc<dyn WorkloadApplier>, ApplyError> {
        let name = format!("{}-{environment}", self.name_prefix);
        let facts = self.facts(account, &name, region).await?;
        let member = self.members.context(account);
        // The token is the automation role's: its access entry is what the cluster authorises.
        let credentials = member
            .config()
            .credentials_provider()
            .ok_or_else(|| ApplyError::Forbidden(format!("no credentials for account {account}")))?
            .provide_credentials()
            .await
            .map_err(|e| ApplyError::Forbidden(format!("credentials for account {account}: {e}")))?;
        let token = eks_token(&credentials, region, &name, SystemTime::now()).map_err(|e| ApplyError::Invalid {
            kind: "Token".into(),
            name: name.clone(),
            message: e.to_string(),
        })?;
        Ok(Arc::new(KubeApplier::for_eks(&facts.endpoint, facts.certificate_authority.as_deref(), token)?))
    }
}
