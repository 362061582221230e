//! The published config as the functions read it: the organisation and the environments, cached.

use std::collections::BTreeMap;

use tokio::sync::Mutex;

use super::{Environment, Organization};
use crate::error::AwsError;
use crate::ports::ParameterStore;

#[derive(Debug, thiserror::Error)]
pub enum PublishedError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("{0} is not published")]
    Missing(String),
    #[error("{name} is not readable")]
    Unreadable {
        name: String,
        #[source]
        source: serde_json::Error,
    },
}

/// What a function needs of the published config.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub organization: Organization,
    pub environments: BTreeMap<String, Environment>,
}

/// Read once per container: two calls, whatever else the config publishes (the organisation by
/// name, the environments in one page for up to ten).
#[derive(Debug, Default)]
pub struct PublishedConfig {
    cached: Mutex<Option<Published>>,
}

impl PublishedConfig {
    pub async fn get(&self, store: &dyn ParameterStore, prefix: &str) -> Result<Published, PublishedError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            return Ok(c.clone());
        }
        let root = format!("{prefix}/config");
        let org_name = format!("{root}/organization");
        let text = store
            .get_many(std::slice::from_ref(&org_name))
            .await?
            .remove(&org_name)
            .ok_or_else(|| PublishedError::Missing(org_name.clone()))?;
        let organization: Organization = serde_json::from_str(&text)
            .map_err(|e| PublishedError::Unreadable { name: org_name.clone(), source: e })?;
        let env_root = format!("{root}/environments/");
        let mut environments = BTreeMap::new();
        for (name, text) in store.get_by_path(env_root.trim_end_matches('/')).await? {
            if let Some(env) = name.strip_prefix(&env_root) {
                let parsed: Environment = serde_json::from_str(&text)
                    .map_err(|e| PublishedError::Unreadable { name: name.clone(), source: e })?;
                environments.insert(env.to_string(), parsed);
            }
        }
        let published = Published { organization, environments };
        *cached = Some(published.clone());
        Ok(published)
    }
}

/// The whole published tree (one paged read of `<prefix>/config`): what a function that renders
/// from the catalogue needs, exactly as `config publish` wrote it.
pub async fn published_tree(store: &dyn ParameterStore, prefix: &str) -> Result<super::ConfigTree, PublishedError> {
    let root = format!("{prefix}/config");
    let params = store.get_by_path(&root).await?;
    fn parse<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<T, PublishedError> {
        serde_json::from_str(text).map_err(|e| PublishedError::Unreadable { name: name.to_string(), source: e })
    }
    let get = |leaf: &str| {
        let name = format!("{root}/{leaf}");
        params.get(&name).map(|t| (name.clone(), t.clone())).ok_or(PublishedError::Missing(name))
    };
    let (name, text) = get("organization")?;
    let organization = parse(&name, &text)?;
    let (name, text) = get("tiers")?;
    let tiers = parse(&name, &text)?;
    let (name, text) = get("remediation-alarms")?;
    let alarms = parse(&name, &text)?;
    // Optional: a tree published before smoke checks existed has none.
    let smoke_checks = match get("smoke-checks") {
        Ok((name, text)) => parse(&name, &text)?,
        Err(_) => Vec::new(),
    };
    // Optional too: a tree published before signal routing existed routes every signature as
    // unknown (notified).
    let signals = match get("signals") {
        Ok((name, text)) => parse(&name, &text)?,
        Err(_) => super::SignalRouting::default(),
    };
    // Optional: a tree published before monitoring existed has no health alarms nor SLOs.
    let mut monitoring = super::Monitoring::default();
    if let Ok((name, text)) = get("monitoring/paging") {
        monitoring.paging = parse(&name, &text)?;
    }
    if let Ok((name, text)) = get("monitoring/slo") {
        monitoring.slo = parse(&name, &text)?;
    }
    let mut services = BTreeMap::new();
    let mut environments = BTreeMap::new();
    for (name, text) in &params {
        if name.starts_with(&format!("{root}/monitoring/health/")) {
            monitoring.health.push(parse(name, text)?);
        } else if let Some(service) = name.strip_prefix(&format!("{root}/services/")) {
            services.insert(service.to_string(), parse(name, text)?);
        } else if let Some(env) = name.strip_prefix(&format!("{root}/environments/")) {
            environments.insert(env.to_string(), parse(name, text)?);
        }
    }
    Ok(super::ConfigTree {
        organization,
        catalog: super::ServiceCatalog { tiers, services, smoke_checks },
        environments,
        alarms,
        signals,
        monitoring,
    })
}
