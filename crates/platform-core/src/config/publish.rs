//! Publishes the config tree to Parameter Store, rewriting only what changed.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::ConfigTree;
use crate::error::AwsError;
use crate::ports::ParameterStore;

/// The parameters that represent `tree`: one JSON document per entity, under
/// `<prefix>/config/`, so each flow reads only what it needs and stays under the 4 KiB tier.
pub fn config_parameters(tree: &ConfigTree) -> BTreeMap<String, String> {
    let root = format!("{}/config", tree.organization.parameter_prefix);
    let mut params = BTreeMap::new();
    params.insert(format!("{root}/organization"), json(&tree.organization));
    params.insert(format!("{root}/tiers"), json(&tree.catalog.tiers));
    params.insert(format!("{root}/remediation-alarms"), json(&tree.alarms));
    params.insert(format!("{root}/smoke-checks"), json(&tree.catalog.smoke_checks));
    params.insert(format!("{root}/signals"), json(&tree.signals));
    // One parameter per health alarm: the whole file is past the standard tier's 4 KiB.
    let m = &tree.monitoring;
    params.insert(format!("{root}/monitoring/paging"), json(&m.paging));
    params.insert(format!("{root}/monitoring/slo"), json(&m.slo));
    for h in &m.health {
        params.insert(format!("{root}/monitoring/health/{}", h.name), json(h));
    }
    for (name, service) in &tree.catalog.services {
        params.insert(format!("{root}/services/{name}"), json(service));
    }
    for (name, env) in &tree.environments {
        params.insert(format!("{root}/environments/{name}"), json(env));
    }
    params
}

fn json<T: Serialize>(value: &T) -> String {
    // Config types are plain data with string keys, which serde_json always serialises.
    serde_json::to_string(value).expect("config types serialise to JSON")
}

/// What one publish did, parameter by parameter.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct PublishReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub deleted: Vec<String>,
    pub unchanged: usize,
    pub dry_run: bool,
}

impl PublishReport {
    pub fn changed(&self) -> bool {
        !(self.created.is_empty() && self.updated.is_empty() && self.deleted.is_empty())
    }
}

impl fmt::Display for PublishReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run { "would " } else { "" };
        for name in &self.created {
            writeln!(f, "  + {name} ({verb}create)")?;
        }
        for name in &self.updated {
            writeln!(f, "  ~ {name} ({verb}update)")?;
        }
        for name in &self.deleted {
            writeln!(f, "  - {name} ({verb}delete: no longer in config/)")?;
        }
        write!(
            f,
            "{} created, {} updated, {} deleted, {} unchanged{}",
            self.created.len(),
            self.updated.len(),
            self.deleted.len(),
            self.unchanged,
            if self.dry_run { " (dry run: nothing written)" } else { "" }
        )
    }
}

/// Makes Parameter Store under `<prefix>/config/` equal `tree`: creates, updates and deletes only
/// the differences, so a second run writes nothing and parameter versions stay meaningful.
pub async fn publish(tree: &ConfigTree, store: &dyn ParameterStore, dry_run: bool) -> Result<PublishReport, AwsError> {
    let root = format!("{}/config/", tree.organization.parameter_prefix);
    let desired = config_parameters(tree);
    let existing = store.get_by_path(&root).await?;
    let mut report = PublishReport { dry_run, ..PublishReport::default() };

    for (name, value) in &desired {
        match existing.get(name) {
            Some(current) if current == value => report.unchanged += 1,
            Some(_) => {
                if !dry_run {
                    store.put(name, value, true).await?;
                }
                report.updated.push(name.clone());
            }
            None => {
                if !dry_run {
                    store.put(name, value, false).await?;
                }
                report.created.push(name.clone());
            }
        }
    }
    let stale: Vec<String> = existing.keys().filter(|k| !desired.contains_key(*k)).cloned().collect();
    if !stale.is_empty() && !dry_run {
        store.delete(&stale).await?;
    }
    report.deleted = stale;
    Ok(report)
}
