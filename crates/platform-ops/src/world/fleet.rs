//! A fleet of client accounts in the seeded environment: each an account in the environment's OU, its zone, its vended facts.

use std::collections::BTreeMap;

use platform_core::aws::{AwsContext, SsmParameterStore};
use platform_core::config::{ConfigTree, Environment};

use super::member::ensure_automation_role;
use super::organisation::Org;
use super::{BOOTSTRAP_ROLE, SeedReport, Vended, WorldError, register_vended, zone};

/// What the world seeds: the environment the local runtime stands in for, and how many client
/// accounts it has besides ABC's own (`client-001` ...): a fleet for releases to go to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorldOptions {
    pub environment: String,
    pub clients: u32,
}

impl Default for WorldOptions {
    fn default() -> Self {
        WorldOptions { environment: super::SEEDED_ENVIRONMENT.to_string(), clients: 0 }
    }
}

/// The client name of fleet account `i` (1-based).
pub fn client_name(i: u32) -> String {
    format!("client-{i:03}")
}

/// Seeds `count` client accounts in `env`'s OU (each looked up before it is created), with the
/// automation role, the client's zone `<client>.<domain>` and the facts vending would publish.
#[allow(clippy::too_many_arguments)]
pub(super) async fn seed_clients(
    ctx: &AwsContext,
    tree: &ConfigTree,
    env: &Environment,
    org: &Org,
    root: &str,
    ou: &str,
    management_account: &str,
    count: u32,
    report: &mut SeedReport,
) -> Result<(), WorldError> {
    let store = SsmParameterStore::new(ctx.client());
    let tags = BTreeMap::from([
        ("environment".to_string(), env.name.clone()),
        ("managed-by".to_string(), "platform-ops".to_string()),
    ]);
    let automation = ctx.sessions(tree.organization.automation_role.clone(), "world-seed");
    for i in 1..=count {
        let client = client_name(i);
        let name = format!("{}-{client}", tree.resource_prefix(&env.name));
        let email = format!("{name}@accounts.abc-limited.example");
        let account = org.ensure_account(&name, &email, &tags, report).await?;
        org.ensure_parent(&account, root, ou, report).await?;
        let admin = ctx.in_account(&ctx.sessions(BOOTSTRAP_ROLE, "world-seed"), &account);
        ensure_automation_role(&admin, tree, management_account, report).await?;
        let member = ctx.in_account(&automation, &account);
        let zone_name = format!("{client}.{}", env.domain_name.trim_end_matches('.'));
        let zone_id = zone::ensure_client_zone(&member, &zone_name, report).await?;
        let facts = Vended { account_id: &account, account_name: &name, client: &client, zone_id: &zone_id };
        register_vended(&store, tree, &env.name, &facts, report).await?;
    }
    Ok(())
}
