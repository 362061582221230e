//! Brings the local runtime up: an emulator (started, or one already running), the seeded world, the template.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use emulator::{Emulator, Remote};
use platform_core::aws::AwsContext;
use platform_core::config::{self, ConfigTree};

use super::Runtime;
use super::effects::Effects;
use super::harness::Harness;
use crate::world::{self, World};

/// A running local runtime. Holds the emulator it started, if any: dropping this stops it.
#[derive(Debug)]
pub struct Local {
    pub runtime: Arc<Runtime>,
    pub world: World,
    pub tree: ConfigTree,
    pub endpoint: String,
    _emulator: Option<Emulator>,
}

/// Starts (or, with `endpoint`, reaches) the emulator, seeds the world and loads the template
/// with the world's parameters.
pub async fn start(root: &Path, endpoint: Option<&str>) -> anyhow::Result<Local> {
    start_with(root, endpoint, &world::WorldOptions::default()).await
}

/// [`start`] standing in for `options`' environment, with its fleet of client accounts.
pub async fn start_with(root: &Path, endpoint: Option<&str>, options: &world::WorldOptions) -> anyhow::Result<Local> {
    start_in(root, endpoint, options, &Harness::default()).await
}

/// [`start_with`] under `harness` (faults, deliveries made twice).
pub async fn start_in(
    root: &Path,
    endpoint: Option<&str>,
    options: &world::WorldOptions,
    harness: &Harness,
) -> anyhow::Result<Local> {
    let tree = config::load(&root.join("config"))?;
    let (emulator, remote) = match endpoint {
        Some(e) => (None, Remote::new(e)?),
        None => {
            let emulator = Emulator::start(root)?;
            let remote = emulator.remote();
            (Some(emulator), remote)
        }
    };
    eprintln!("  .. emulator at {}", remote.endpoint_url());
    let sdk = remote.sdk_config();
    let ctx = AwsContext::from_config(sdk.clone())?;
    eprintln!("  .. seeding the world from config/");
    world::seed_with(&ctx, &tree, options).await?;
    let world = world::snapshot(&ctx, &tree).await?;
    let name = &options.environment;
    let env = tree
        .environment(name)
        .ok_or_else(|| anyhow::anyhow!("config/ has no `{name}` environment for the local runtime"))?;
    let parameters: BTreeMap<String, String> = [
        ("Environment", name.clone()),
        ("OrganizationId", world.organization_id.clone()),
        ("ManagementAccountId", world.management_account_id.clone()),
        ("AutomationAccountId", world.management_account_id.clone()),
        // The world's images are in the automation account's registry (seeded by `world::seed`).
        ("ImageRegistry", world.management_account_id.clone()),
        ("MemberRegions", env.regions.join(",")),
        ("DomainName", env.domain_name.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    eprintln!("  .. loading template.yaml and provisioning what its functions call");
    let runtime = Arc::new(Runtime::new_with(root, sdk.clone(), parameters, harness).await?);
    ensure_baseline_stack_set(&sdk, root, &tree, env, &world).await?;
    Ok(Local { runtime, world, tree, endpoint: remote.endpoint_url().to_string(), _emulator: emulator })
}

/// What `work` takes effect with on a world of its own without faults or second deliveries:
/// what a harnessed run of the same work is compared with. `None` when `harness` is quiet (there
/// is nothing to compare). A harnessed run needs emulators of its own, so not with `endpoint`.
pub async fn fault_free_effects<F, Fut>(
    root: &Path,
    endpoint: Option<&str>,
    options: &world::WorldOptions,
    harness: &Harness,
    work: F,
) -> anyhow::Result<Option<Effects>>
where
    F: FnOnce(Arc<Runtime>, World) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    if harness.is_quiet() {
        return Ok(None);
    }
    if let Some(e) = endpoint {
        anyhow::bail!(
            "faults and second deliveries are compared with a fault-free run, each on an emulator of its own: run without --endpoint (given: {e})"
        );
    }
    eprintln!("  .. the fault-free run to compare with");
    let up = start_with(root, None, options).await?;
    work(up.runtime.clone(), up.world.clone()).await?;
    Ok(Some(Effects::of(&up.runtime.faults.journal())))
}

/// The member-baseline StackSet, as the deploy guide creates it in the management account:
/// from `stacksets/member-baseline.yaml`, its parameters' values those of the local environment
/// (each instance overrides them with its own environment's). Created once; a later template
/// change is applied with an update.
async fn ensure_baseline_stack_set(
    sdk: &aws_config::SdkConfig,
    root: &Path,
    tree: &ConfigTree,
    env: &config::Environment,
    world: &World,
) -> anyhow::Result<()> {
    use aws_sdk_cloudformation::types::{Capability, Parameter};
    let name = &tree.organization.vending.baseline_stack_set;
    let template = std::fs::read_to_string(root.join(crate::templates::BASELINE_TEMPLATE))?;
    let prefix = tree.resource_prefix(&env.name);
    let central = account_vending::handler::Central {
        automation_account_id: world.management_account_id.clone(),
        organization_id: world.organization_id.clone(),
        event_bus_arn: format!(
            "arn:aws:events:{}:{}:event-bus/{prefix}",
            env.primary_region(),
            world.management_account_id
        ),
        log_destination_name: format!("{prefix}-logs"),
        // The local world has no OAM (the emulator does not serve it): no link.
        monitoring_sink_arn: String::new(),
    };
    let parameters: Vec<Parameter> = account_vending::handler::baseline_parameters(env, &central, "unset")?
        .into_iter()
        .map(|(k, v)| Parameter::builder().parameter_key(k).parameter_value(v).build())
        .collect();
    let cfn = aws_sdk_cloudformation::Client::new(sdk);
    let exists = cfn.describe_stack_set().stack_set_name(name).send().await.is_ok();
    if exists {
        cfn.update_stack_set()
            .stack_set_name(name)
            .template_body(template)
            .set_parameters(Some(parameters))
            .capabilities(Capability::CapabilityNamedIam)
            .send()
            .await?;
    } else {
        // Self-managed from the management account: new accounts trust it through
        // OrganizationAccountAccessRole before anything else exists there; ManagedExecution lets
        // StackSets queue the operations of concurrent vendings instead of refusing them.
        cfn.create_stack_set()
            .stack_set_name(name)
            .description("abc-trading member baseline (stacksets/member-baseline.yaml)")
            .execution_role_name("OrganizationAccountAccessRole")
            .managed_execution(aws_sdk_cloudformation::types::ManagedExecution::builder().active(true).build())
            .template_body(template)
            .set_parameters(Some(parameters))
            .capabilities(Capability::CapabilityNamedIam)
            .send()
            .await?;
    }
    Ok(())
}
