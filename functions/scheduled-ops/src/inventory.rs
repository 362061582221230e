//! The daily inventory of the member accounts, as JSON and as a Markdown report a person reads.

// Every member account with its OU and environment, the baseline and platform StackSet instances per
// region, the release it runs, its nodegroup's size and what is left of each tier's error budget.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use platform_core::capacity::Capacity;
use platform_core::capacity::Groups;
use platform_core::capacity::Target;
use platform_core::config::ConfigTree;
use platform_core::error::AwsError;
use platform_core::monitoring::{Budget, IndicatorSums, error_budgets};
use platform_core::organization::AccountState;
use platform_core::ports::ParameterStore;
use platform_core::stacksets::{DetailedStatus, InstanceStatus, StackSets};
use serde::{Deserialize, Serialize};

use crate::ports::{Account, ReportStore};

/// Where the reports go in the report bucket: `inventory/<date>/` and `inventory/latest.*`.
pub const PREFIX: &str = "inventory";

/// One StackSet instance as the inventory shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceEntry {
    pub region: String,
    pub status: InstanceStatus,
    pub detailed: Option<DetailedStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountEntry {
    pub id: String,
    pub name: String,
    pub state: AccountState,
    pub ou: Option<String>,
    pub environment: Option<String>,
    pub baseline: Vec<InstanceEntry>,
    pub platform: Vec<InstanceEntry>,
    pub release: Option<String>,
    pub nodegroup: Option<Capacity>,
    /// Each tier's SLO indicators over the window, where the platform runs.
    #[serde(default)]
    pub error_budget: Vec<Budget>,
    /// What could not be read, by what (the rest of the entry still stands).
    pub unreadable: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentEntry {
    pub name: String,
    pub organizational_unit: String,
    /// The release last deployed in the environment.
    pub current_release: Option<String>,
    pub accounts: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub generated_at: DateTime<Utc>,
    pub environments: Vec<EnvironmentEntry>,
    pub accounts: Vec<AccountEntry>,
}

fn entries(
    instances: Result<Vec<platform_core::stacksets::Instance>, AwsError>,
    what: &str,
    unreadable: &mut Vec<String>,
) -> Vec<InstanceEntry> {
    match instances {
        Ok(list) => list
            .into_iter()
            .map(|i| InstanceEntry { region: i.region, status: i.status, detailed: i.detailed })
            .collect(),
        Err(e) => {
            unreadable.push(format!("{what}: {e}"));
            Vec::new()
        }
    }
}

/// Reads everything the inventory shows; one account's unreadable part does not stop the rest.
pub async fn collect(
    tree: &ConfigTree,
    accounts: &[Account],
    stack_sets: &dyn StackSets,
    groups: &dyn Groups,
    parameters: &dyn ParameterStore,
    indicators: &dyn IndicatorSums,
    at: DateTime<Utc>,
) -> Result<Inventory, AwsError> {
    let prefix = &tree.organization.parameter_prefix;
    let mut environments = Vec::new();
    let mut releases: BTreeMap<String, String> = BTreeMap::new();
    for env in tree.environments.values() {
        let current_name = format!("{prefix}/{}/current-release", env.name);
        let current = parameters.get_many(std::slice::from_ref(&current_name)).await?.remove(&current_name);
        // Each account's release: `<prefix>/accounts/<env>/<id>/release`, a JSON document.
        let root = format!("{prefix}/accounts/{}/", env.name);
        for (name, value) in parameters.get_by_path(root.trim_end_matches('/')).await? {
            if let Some(id) = name.strip_prefix(&root).and_then(|r| r.strip_suffix("/release")) {
                let release = serde_json::from_str::<serde_json::Value>(&value)
                    .ok()
                    .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_string));
                if let Some(r) = release {
                    releases.insert(id.to_string(), r);
                }
            }
        }
        environments.push(EnvironmentEntry {
            name: env.name.clone(),
            organizational_unit: env.organizational_unit.clone(),
            current_release: current,
            accounts: accounts.iter().filter(|a| a.ou.as_deref() == Some(env.organizational_unit.as_str())).count(),
        });
    }
    let mut out = Vec::new();
    for a in accounts {
        let env = a.ou.as_deref().and_then(|ou| tree.environments.values().find(|e| e.organizational_unit == ou));
        let mut unreadable = Vec::new();
        let baseline = entries(
            stack_sets.instances(&tree.organization.vending.baseline_stack_set, &a.id).await,
            "baseline instances",
            &mut unreadable,
        );
        let platform = entries(
            stack_sets.instances(&tree.organization.deploy.platform_stack_set, &a.id).await,
            "platform instances",
            &mut unreadable,
        );
        // A nodegroup only where the platform runs: an account with no platform instance has none.
        let nodegroup = match env {
            Some(e) if a.state == AccountState::Active && !platform.is_empty() => {
                let target = Target::Nodegroup {
                    cluster: tree.resource_prefix(&e.name),
                    nodegroup: tree.organization.nodegroup_name(&e.name),
                };
                match groups.describe(&a.id, &target).await {
                    Ok(s) => Some(s.capacity),
                    Err(e) => {
                        unreadable.push(format!("nodegroup: {e}"));
                        None
                    }
                }
            }
            _ => None,
        };
        // Budgets where the platform runs: the log processor counts nothing elsewhere.
        let error_budget = match env {
            Some(e) if a.state == AccountState::Active && !platform.is_empty() => {
                error_budgets(indicators, tree, &e.name, &a.id, at).await.unwrap_or_else(|e| {
                    unreadable.push(format!("error budget: {e}"));
                    Vec::new()
                })
            }
            _ => Vec::new(),
        };
        out.push(AccountEntry {
            id: a.id.clone(),
            name: a.name.clone(),
            state: a.state.clone(),
            ou: a.ou.clone(),
            environment: env.map(|e| e.name.clone()),
            baseline,
            platform,
            release: releases.get(&a.id).cloned(),
            nodegroup,
            error_budget,
            unreadable,
        });
    }
    out.sort_by(|x, y| (&x.environment, &x.name).cmp(&(&y.environment, &y.name)));
    Ok(Inventory { generated_at: at, environments, accounts: out })
}

fn instances_cell(list: &[InstanceEntry]) -> String {
    if list.is_empty() {
        return "none".into();
    }
    list.iter().map(|i| format!("{} {}", i.region, i.status)).collect::<Vec<_>>().join(", ")
}

/// The report a person reads.
pub fn markdown(inv: &Inventory) -> String {
    let mut md = String::new();
    // Writing into a String cannot fail.
    let _ = writeln!(md, "# abc-trading inventory, {}\n", inv.generated_at.format("%Y-%m-%d %H:%M UTC"));
    let _ = writeln!(md, "| environment | OU | current release | accounts |\n|---|---|---|---|");
    for e in &inv.environments {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            e.name,
            e.organizational_unit,
            e.current_release.as_deref().unwrap_or("none"),
            e.accounts
        );
    }
    let _ =
        writeln!(md, "\n| account | id | state | OU | baseline | platform | release | nodegroup (min/desired/max) |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    for a in &inv.accounts {
        let nodegroup = a.nodegroup.map(|c| format!("{}/{}/{}", c.min, c.desired, c.max)).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            a.name,
            a.id,
            a.state,
            a.ou.as_deref().unwrap_or("(root)"),
            instances_cell(&a.baseline),
            instances_cell(&a.platform),
            a.release.as_deref().unwrap_or("-"),
            nodegroup
        );
    }
    let budgets: Vec<&AccountEntry> = inv.accounts.iter().filter(|a| !a.error_budget.is_empty()).collect();
    if !budgets.is_empty() {
        let _ = writeln!(md, "\n## Error budget left (SLO window)\n");
        let _ = writeln!(
            md,
            "| account | tier | indicator | objective | bad / total | budget left |\n|---|---|---|---|---|---|"
        );
        for a in budgets {
            for b in &a.error_budget {
                let left = b.remaining_percent.map_or_else(|| "no traffic".to_string(), |r| format!("{r:.1}%"));
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {}% | {} / {} | {left} |",
                    a.name, b.tier, b.indicator, b.objective, b.bad, b.total
                );
            }
        }
    }
    let problems: Vec<&AccountEntry> = inv.accounts.iter().filter(|a| !a.unreadable.is_empty()).collect();
    if !problems.is_empty() {
        let _ = writeln!(md, "\n## Could not be read\n");
        for a in problems {
            for u in &a.unreadable {
                let _ = writeln!(md, "- {} ({}): {u}", a.name, a.id);
            }
        }
    }
    md
}

/// What `inventory` answers: how many accounts, how many parts could not be read, and where
/// the reports went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub accounts: usize,
    pub unreadable: usize,
    /// Tiers' indicators whose budget is spent (`<account>/<tier>/<indicator>`): people look first.
    #[serde(default)]
    pub overspent: Vec<String>,
    pub keys: Vec<String>,
}

impl Written {
    pub fn new(inv: &Inventory, keys: Vec<String>) -> Self {
        let unreadable = inv.accounts.iter().map(|a| a.unreadable.len()).sum();
        let overspent = inv
            .accounts
            .iter()
            .flat_map(|a| {
                a.error_budget
                    .iter()
                    .filter(|b| b.remaining_percent.is_some_and(|r| r < 0.0))
                    .map(move |b| format!("{}/{}/{}", a.id, b.tier, b.indicator))
            })
            .collect();
        Written { accounts: inv.accounts.len(), unreadable, overspent, keys }
    }
}

/// Writes the inventory as `<prefix>/<date>/inventory.{json,md}` and `<prefix>/latest.{json,md}`;
/// returns the keys. A re-run the same day overwrites that day's.
pub async fn write(store: &dyn ReportStore, prefix: &str, inv: &Inventory) -> Result<Vec<String>, AwsError> {
    let json = serde_json::to_string_pretty(inv).map_err(|e| {
        AwsError::new(platform_core::error::ErrorClass::InvalidRequest, "PutObject", format!("inventory: {e}"))
    })?;
    let md = markdown(inv);
    let day = inv.generated_at.format("%Y-%m-%d");
    let mut keys = Vec::new();
    for dir in [format!("{prefix}/{day}"), prefix.to_string()] {
        let name = if dir == prefix { "latest" } else { "inventory" };
        for (ext, body, kind) in [("json", &json, "application/json"), ("md", &md, "text/markdown; charset=utf-8")] {
            let key = format!("{dir}/{name}.{ext}");
            store.put(&key, body, kind).await?;
            keys.push(key);
        }
    }
    Ok(keys)
}
