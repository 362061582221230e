//! Releases in Parameter Store: what CI publishes for an environment, and each account's current one.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::ports::ParameterStore;
use serde::{Deserialize, Serialize};

use crate::aws::from_aws;
use crate::cluster::ApplyError;
use crate::edge::{ClientZone, Endpoint};
use crate::handler::ReleaseLedger;
use crate::release::{Release, ResolvedRelease};

/// `<prefix>/<env>/releases/<name>` (a release, as CI publishes it),
/// `<prefix>/accounts/<env>/<account>/release` (the release an account runs) and
/// `<prefix>/<env>/current-release` (the name of the environment's latest).
#[derive(Debug, Clone)]
pub struct SsmReleaseLedger {
    store: Arc<dyn ParameterStore>,
    prefix: String,
}

impl SsmReleaseLedger {
    pub fn new(store: Arc<dyn ParameterStore>, prefix: impl Into<String>) -> Self {
        SsmReleaseLedger { store, prefix: prefix.into() }
    }

    /// `<prefix>/<env>/current-release`: the name of the release last deployed in the environment.
    fn environment_release_name(&self, environment: &str) -> String {
        format!("{}/{environment}/current-release", self.prefix)
    }

    async fn read<T: serde::de::DeserializeOwned>(&self, name: String) -> Result<Option<T>, ApplyError> {
        let found = self.store.get_many(std::slice::from_ref(&name)).await.map_err(from_aws)?;
        found
            .get(&name)
            .map(|text| serde_json::from_str(text).map_err(|source| ApplyError::Ledger { name: name.clone(), source }))
            .transpose()
    }
}

#[async_trait]
impl ReleaseLedger for SsmReleaseLedger {
    async fn published(&self, environment: &str, name: &str) -> Result<Option<Release>, ApplyError> {
        self.read(format!("{}/{environment}/releases/{name}", self.prefix)).await
    }

    async fn current(&self, environment: &str, account: &str) -> Result<Option<ResolvedRelease>, ApplyError> {
        self.read(format!("{}/accounts/{environment}/{account}/release", self.prefix)).await
    }

    async fn record(
        &self,
        environment: &str,
        account: &str,
        release: &ResolvedRelease,
        at: DateTime<Utc>,
        endpoint: Option<&Endpoint>,
    ) -> Result<(), ApplyError> {
        let name = format!("{}/accounts/{environment}/{account}/release", self.prefix);
        let before: Option<Lineage> = self.read(name.clone()).await?;
        let record = Recorded { release, recorded_at: at, previous: previous(before, &release.name), endpoint };
        let text =
            serde_json::to_string(&record).map_err(|source| ApplyError::Ledger { name: name.clone(), source })?;
        self.store.put(&name, &text, true).await.map_err(from_aws)?;
        // Written after the account's: a new account gets a release some account runs.
        self.store.put(&self.environment_release_name(environment), &release.name, true).await.map_err(from_aws)
    }

    async fn environment_release(&self, environment: &str) -> Result<Option<String>, ApplyError> {
        let name = self.environment_release_name(environment);
        Ok(self.store.get_many(std::slice::from_ref(&name)).await.map_err(from_aws)?.remove(&name))
    }

    async fn vended(&self, environment: &str, account: &str) -> Result<bool, ApplyError> {
        let name = platform_core::trust::vended_parameter(&self.prefix, environment, account);
        let found = self.store.get_many(std::slice::from_ref(&name)).await.map_err(from_aws)?;
        Ok(found.get(&name).is_some_and(|id| id == account))
    }

    async fn client(&self, environment: &str, account: &str) -> Result<Option<ClientZone>, ApplyError> {
        let root = format!("{}/accounts/{environment}/{account}", self.prefix);
        let names = [format!("{root}/client"), format!("{root}/hosted-zone-id")];
        let mut found = self.store.get_many(&names).await.map_err(from_aws)?;
        Ok(found
            .remove(&names[0])
            .zip(found.remove(&names[1]))
            .map(|(client, hosted_zone_id)| ClientZone { client, hosted_zone_id }))
    }

    async fn accounts(&self, environment: &str) -> Result<Vec<String>, ApplyError> {
        platform_core::trust::vended_accounts(self.store.as_ref(), &self.prefix, environment).await.map_err(from_aws)
    }
}

/// An account's record as written: the release (read back as a [`ResolvedRelease`], which
/// ignores the rest), when it was deployed and the release it replaced.
#[derive(Debug, Serialize)]
struct Recorded<'a> {
    #[serde(flatten)]
    release: &'a ResolvedRelease,
    recorded_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous: Option<String>,
    /// The client's endpoint as the deploy checked it (URL, TLS version, certificate expiry).
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<&'a Endpoint>,
}

/// What a record says of the releases before it.
#[derive(Debug, Deserialize)]
struct Lineage {
    name: String,
    #[serde(default)]
    previous: Option<String>,
}

/// The release a newly recorded `name` replaced: the one recorded before it, the same release
/// again keeps its own; and a return to the release it replaced (a rollback) has none, so the
/// release rolled back from is never rolled back to.
fn previous(before: Option<Lineage>, name: &str) -> Option<String> {
    let before = before?;
    if before.name == name {
        before.previous
    } else if before.previous.as_deref() == Some(name) {
        None
    } else {
        Some(before.name)
    }
}
