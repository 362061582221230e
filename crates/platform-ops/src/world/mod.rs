//! The local world: the organisation and the dev environment as they exist before automation, seeded into the emulator.

mod alarms;
mod database;
mod fleet;
mod images;
mod member;
mod organisation;
mod snapshot;
mod zone;

use std::collections::BTreeMap;

use platform_core::aws::{AwsContext, SsmParameterStore};
use platform_core::config::{self, ConfigTree, PublishReport};
use platform_core::error::{AwsError, ClassifyExt, ErrorClass};
use serde::Serialize;

pub use member::member_roles;
use member::{Member, ensure_automation_role};
use organisation::Org;

pub use alarms::{SeededAlarm, health_alarms, seeded_alarms};
pub use fleet::{WorldOptions, client_name};
pub use images::{EXTRA_IMAGES, RELEASE_TAGS, seeded_images};
pub use snapshot::{AccountFacts, MemberResources, World, snapshot};

/// Role Organizations creates in every new account, trusted by the management account.
const BOOTSTRAP_ROLE: &str = "OrganizationAccountAccessRole";
/// The environment whose member account exists before automation (the seed's hand-built dev).
pub const SEEDED_ENVIRONMENT: &str = "dev";
/// The client the seeded account serves: ABC's own copy, `abc.<domain>` once taken over.
pub const SEEDED_CLIENT: &str = "abc";

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(
        "world seeding only runs against a local emulator; endpoint is {0:?} (set AWS_ENDPOINT_URL to a loopback address)"
    )]
    NotLocal(Option<String>),
    #[error("config has no environment `{0}`")]
    MissingEnvironment(String),
    #[error("unexpected emulator response: {0}")]
    Unexpected(String),
}

/// What seeding did to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    Exists,
    Updated,
}

/// One line of the seeding log: a resource and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub resource: String,
    pub outcome: Outcome,
}

#[derive(Debug, Default, Serialize)]
pub struct SeedReport {
    pub steps: Vec<Step>,
    pub config: PublishReport,
}

impl SeedReport {
    fn record(&mut self, resource: impl Into<String>, outcome: Outcome) {
        let resource = resource.into();
        tracing::info!(%resource, ?outcome, "seed");
        self.steps.push(Step { resource, outcome });
    }

    pub fn created(&self) -> usize {
        self.steps.iter().filter(|s| s.outcome == Outcome::Created).count()
    }
}

/// The email the seeded member account of `env` is registered with.
pub fn member_email(tree: &ConfigTree, env: &str) -> String {
    format!("{}-{env}@accounts.{}", tree.organization.name_prefix, "abc-limited.example")
}

/// Refuses anything but a loopback endpoint: seeding must never touch a real organisation.
/// Per-service endpoint variables (`AWS_ENDPOINT_URL_IAM`, ...) would redirect single clients
/// past this check, so their presence is refused too.
pub fn ensure_local(endpoint: Option<&str>) -> Result<(), WorldError> {
    let endpoint = endpoint.map(str::to_string);
    if let Some((var, _)) = std::env::vars().find(|(k, _)| k.starts_with("AWS_ENDPOINT_URL_")) {
        return Err(WorldError::NotLocal(Some(format!("{endpoint:?}, but {var} is set"))));
    }
    if endpoint.as_deref().is_some_and(is_loopback_url) { Ok(()) } else { Err(WorldError::NotLocal(endpoint)) }
}

/// `http://127.0.0.1:5000`, `http://localhost:5000/`, `http://[::1]:5000`; not `http://127.0.0.1@host/`.
fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Seeds the world from `tree`. Every step looks before it creates, so seeding twice changes nothing.
pub async fn seed(ctx: &AwsContext, tree: &ConfigTree) -> Result<SeedReport, WorldError> {
    seed_with(ctx, tree, &WorldOptions::default()).await
}

/// [`seed`] for `options`' environment, with its fleet of client accounts.
pub async fn seed_with(ctx: &AwsContext, tree: &ConfigTree, options: &WorldOptions) -> Result<SeedReport, WorldError> {
    ensure_local(ctx.endpoint_url())?;
    let env = tree
        .environment(&options.environment)
        .ok_or_else(|| WorldError::MissingEnvironment(options.environment.clone()))?;
    let mut report = SeedReport::default();
    let org = Org::new(ctx);

    org.ensure_organization(&mut report).await?;
    let root = org.root_id().await?;
    let mut ous = BTreeMap::new();
    let ou_names = tree
        .environments
        .values()
        .map(|e| e.organizational_unit.clone())
        .chain([tree.organization.quarantine_ou.clone()]);
    for name in ou_names {
        let id = org.ensure_ou(&root, &name, &mut report).await?;
        ous.insert(name, id);
    }
    let email = member_email(tree, &env.name);
    let account_name = tree.resource_prefix(&env.name);
    let tags = BTreeMap::from([
        ("environment".to_string(), env.name.clone()),
        ("managed-by".to_string(), "platform-ops".to_string()),
    ]);
    let account_id = org.ensure_account(&account_name, &email, &tags, &mut report).await?;
    org.ensure_parent(&account_id, &root, &ous[&env.organizational_unit], &mut report).await?;
    // Every organisation has accounts platform-ops must never touch: the security account, under
    // the root and untagged, is what a forged request would try to adopt.
    org.ensure_account(SECURITY_ACCOUNT, &security_email(), &BTreeMap::new(), &mut report).await?;

    let member_admin = ctx.in_account(&ctx.sessions(BOOTSTRAP_ROLE, "world-seed"), &account_id);
    let management_account = caller_account(ctx).await?;
    ensure_automation_role(&member_admin, tree, &management_account, &mut report).await?;

    // From here on the seed uses the automation role, as every flow will.
    let automation = ctx.sessions(tree.organization.automation_role.clone(), "world-seed");
    let member_ctx = ctx.in_account(&automation, &account_id);
    let member = Member { ctx: member_ctx.clone(), tree, env, report: &mut report };
    member.seed().await?;
    let zone_name = format!("{SEEDED_CLIENT}.{}", env.domain_name.trim_end_matches('.'));
    let zone_id = zone::ensure_client_zone(&member_ctx, &zone_name, &mut report).await?;

    let store = SsmParameterStore::new(ctx.client());
    report.config = config::publish(tree, &store, false).await?;
    let facts =
        Vended { account_id: &account_id, account_name: &account_name, client: SEEDED_CLIENT, zone_id: &zone_id };
    register_vended(&store, tree, &env.name, &facts, &mut report).await?;
    ensure_paging_key(ctx, tree, &env.name, &mut report).await?;
    // The central registry is the automation account's (here the management account's).
    images::seed(ctx, tree, &mut report).await?;
    let ou = &ous[&env.organizational_unit];
    fleet::seed_clients(ctx, tree, env, &org, &root, ou, &management_account, options.clients, &mut report).await?;
    Ok(report)
}

/// The seeded account as vending's ledger knows it (`<prefix>/accounts/<env>/<id>/...`): the
/// environment's account platform-ops took over, which the scaler and deploy act on. Vending
/// adds the rest of its facts when it runs for it.
async fn register_vended(
    store: &SsmParameterStore,
    tree: &ConfigTree,
    env: &str,
    vended: &Vended<'_>,
    report: &mut SeedReport,
) -> Result<(), AwsError> {
    use platform_core::ports::ParameterStore;
    let root = format!("{}/accounts/{env}/{}", tree.organization.parameter_prefix, vended.account_id);
    let facts = [
        (format!("{root}/id"), vended.account_id.to_string()),
        (format!("{root}/name"), vended.account_name.to_string()),
        (format!("{root}/client"), vended.client.to_string()),
        (format!("{root}/hosted-zone-id"), vended.zone_id.to_string()),
    ];
    let current = store.get_by_path(&root).await?;
    for (name, value) in facts {
        if current.get(&name) == Some(&value) {
            report.record(format!("parameter {name}"), Outcome::Exists);
        } else {
            store.put(&name, &value, true).await?;
            report.record(format!("parameter {name}"), Outcome::Created);
        }
    }
    Ok(())
}

/// What the ledger says of the seeded account.
struct Vended<'a> {
    account_id: &'a str,
    account_name: &'a str,
    client: &'a str,
    zone_id: &'a str,
}

/// The paging provider's key, a SecureString people create before the stack (docs/deploy-guide.md);
/// the local world's stands for it, and the local receiver takes any.
async fn ensure_paging_key(
    ctx: &AwsContext,
    tree: &ConfigTree,
    env: &str,
    report: &mut SeedReport,
) -> Result<(), AwsError> {
    let name = format!("{}/{env}/on-call/paging-key", tree.organization.parameter_prefix);
    let ssm = ctx.client::<aws_sdk_ssm::Client>();
    if ssm.get_parameter().name(&name).send().await.is_ok() {
        report.record(format!("parameter {name}"), Outcome::Exists);
        return Ok(());
    }
    ssm.put_parameter()
        .name(&name)
        .value("local0paging0key0000000000000000")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .classify("PutParameter")?;
    report.record(format!("parameter {name}"), Outcome::Created);
    Ok(())
}

/// The organisation's security account: untagged, never platform-ops'.
pub const SECURITY_ACCOUNT: &str = "abc-security";

pub fn security_email() -> String {
    format!("{SECURITY_ACCOUNT}@accounts.abc-limited.example")
}

/// The emulator behind `ctx`, for what only its own API configures (ECR scan results).
fn emulator_of(ctx: &AwsContext) -> Result<emulator::Remote, WorldError> {
    emulator::Remote::new(ctx.endpoint_url().unwrap_or_default())
        .map_err(|_| WorldError::NotLocal(ctx.endpoint_url().map(str::to_string)))
}

async fn caller_account(ctx: &AwsContext) -> Result<String, AwsError> {
    let sts = ctx.client::<aws_sdk_sts::Client>();
    let who = sts.get_caller_identity().send().await.classify("GetCallerIdentity")?;
    who.account.ok_or_else(|| AwsError::new(ErrorClass::Unclassified, "GetCallerIdentity", "no account in response"))
}

#[cfg(test)]
mod tests {
    use super::is_loopback_url;

    #[test]
    fn only_loopback_endpoints_pass() {
        for ok in ["http://127.0.0.1:5000", "http://localhost:4566/", "http://[::1]:5000", "http://127.1.2.3:80"] {
            assert!(is_loopback_url(ok), "{ok}");
        }
        for bad in [
            "http://127.0.0.1@evil.example/",
            "https://127.attacker.example",
            "https://organizations.us-east-1.amazonaws.com",
            "http://10.0.0.5:5000",
            "127.0.0.1:5000",
            "http://localhost.evil.example",
        ] {
            assert!(!is_loopback_url(bad), "{bad}");
        }
    }
}
