//! How a vending ends: its account's facts published, or after a failure the account quarantined.

use std::collections::BTreeMap;

use super::{Delegation, Deps, PublishedFacts, QUARANTINE_TAG, Quarantine, Vending, VendingError};

/// Baseline exports that describe global resources (one per account, not per region).
const GLOBAL_FACTS: &[&str] = &["hosted-zone-id", "automation-role-arn"];

/// The account's facts under `/abc-trading/accounts/<env>/<account-id>/`, from the baseline
/// stacks' outputs as they export them. Returns what was published.
pub(super) async fn publish_facts(v: Vending, deps: &Deps) -> Result<PublishedFacts, VendingError> {
    let account = v.account_id.clone().ok_or(VendingError::NoAccountYet("publish-facts"))?;
    let (_, env) = deps.environment(&v.request.environment).await?;
    let root = format!("{}/accounts/{}/{account}", deps.parameter_prefix, env.name);
    let mut facts = BTreeMap::from([
        (format!("{root}/id"), account.clone()),
        (format!("{root}/name"), v.request.account_name.clone()),
        (format!("{root}/client"), v.request.client.clone()),
        (format!("{root}/regions"), v.regions.join(",")),
    ]);
    if let Some(ou) = &v.ou_id {
        facts.insert(format!("{root}/ou"), ou.clone());
    }
    // The baseline exports its outputs to the member's Parameter Store, per region: one read each.
    let exported = format!("{}/{}/baseline", deps.parameter_prefix, env.name);
    for region in &v.regions {
        let outputs = deps.member_parameters.get_by_path(&account, region, &exported).await?;
        for (name, value) in outputs {
            let Some(key) = name.strip_prefix(&format!("{exported}/")) else { continue };
            // Global resources (hosted zone, role) exist in the home region's stack only.
            let fact =
                if GLOBAL_FACTS.contains(&key) { format!("{root}/{key}") } else { format!("{root}/{region}/{key}") };
            facts.insert(fact, value);
        }
    }
    // Only what changed is written: a re-run publishes nothing new.
    let current = deps.parameters.get_by_path(&root).await?;
    let mut written = 0;
    for (name, value) in &facts {
        if current.get(name) != Some(value) {
            deps.parameters.put(name, value, true).await?;
            written += 1;
        }
    }
    let delegation = delegate(&v, &env, &facts, &root, deps).await?;
    Ok(PublishedFacts { vending: v, facts, written, delegation })
}

/// The client's zone (`<client>.<domain>`) delegated from the environment's parent zone: written
/// only when the parent's NS record differs, refused when another of the environment's accounts
/// has the same client (its zone would be taken over), never removed.
async fn delegate(
    v: &Vending,
    env: &platform_core::config::Environment,
    facts: &BTreeMap<String, String>,
    root: &str,
    deps: &Deps,
) -> Result<Delegation, VendingError> {
    let name = client_domain(&v.request.client, &env.domain_name);
    let Some(zone) = facts.get(&format!("{root}/hosted-zone-id")) else {
        return Err(VendingError::Config(format!("the baseline of {root} exported no hosted-zone-id")));
    };
    let account = v.account_id.clone().unwrap_or_default();
    let servers = deps.zones.member_name_servers(&account, zone).await?;
    let parent = deps
        .zones
        .parent_zone(&env.domain_name)
        .await?
        .ok_or_else(|| VendingError::NoParentZone(env.domain_name.clone()))?;
    let current = deps.zones.delegation(&parent, &name).await?;
    if current.as_ref() == Some(&servers) {
        return Ok(Delegation { name, name_servers: servers, changed: false });
    }
    if current.is_some() {
        // Someone's zone is delegated under this name: ours only if no other account of the
        // environment is this client's (a recreated zone of this account gets new servers).
        let ledger = format!("{}/accounts/{}", deps.parameter_prefix, env.name);
        let others = deps.parameters.get_by_path(&ledger).await?;
        if let Some((key, _)) = others.iter().find(|(k, value)| {
            k.ends_with("/client") && **value == v.request.client && !k.starts_with(&format!("{root}/"))
        }) {
            let other = key.trim_start_matches(&format!("{ledger}/")).split('/').next().unwrap_or_default();
            return Err(VendingError::DelegationConflict { name, other: other.to_string() });
        }
        tracing::warn!(name, before = ?current, after = ?servers, "replacing the delegation of a recreated client zone");
    }
    deps.zones.delegate(&parent, &name, &servers).await?;
    Ok(Delegation { name, name_servers: servers, changed: true })
}

pub use platform_core::platform_stack::client_domain;

pub(super) async fn quarantine(v: &Vending, step: &str, cause: &str, deps: &Deps) -> Result<Quarantine, VendingError> {
    if v.account_id.is_none() {
        return Ok(Quarantine::no_account(step, cause));
    }
    let account = &super::account::target(v, deps).await?.0;
    let (org, _) = deps.config().await?;
    let ou = deps
        .directory
        .ou_id(&org.quarantine_ou)
        .await?
        .ok_or_else(|| VendingError::NoSuchOu(org.quarantine_ou.clone()))?;
    let parent = deps.directory.parent(account).await?;
    if parent != ou {
        deps.directory.move_account(account, &parent, &ou).await?;
    }
    // Never deleted: the account waits in Quarantine for people, and a re-run resumes with it.
    let mut tags = v.request.tags();
    tags.insert(QUARANTINE_TAG.into(), step.chars().take(256).collect());
    deps.directory.tag(account, &tags).await?;
    Ok(Quarantine::moved(account, &ou, step, cause))
}
