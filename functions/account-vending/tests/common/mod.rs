//! The handler's dependencies on the in-memory fakes of its ports, wired as the function wires AWS.

#![allow(dead_code)]

use std::sync::Arc;

use account_vending::fakes::{MemoryMemberParameters, MemoryZones};
use account_vending::handler::{Central, Deps};
use platform_core::config::{self, config_parameters};
use platform_core::fakes::{FakeParameterStore, MemoryStackSets};
use platform_core::ports::ParameterStore;

// Each test binary uses a different part of the shared fakes.
#[allow(unused_imports)]
pub use platform_core::fakes::{Ledger, MemoryLedger, MemoryOrganization, Org, ROOT, throttled};

/// The handler's dependencies, with a handle on each fake to script and inspect it.
pub struct Fakes {
    pub deps: Deps,
    pub directory: Arc<MemoryOrganization>,
    pub stack_sets: Arc<MemoryStackSets>,
    /// The baseline's StackSet, as the configuration names it.
    pub baseline: String,
    pub member: Arc<MemoryMemberParameters>,
    pub parameters: Arc<FakeParameterStore>,
    pub ledger: Arc<MemoryLedger>,
    pub zones: Arc<MemoryZones>,
}

pub async fn fakes() -> Fakes {
    fakes_with(|_| {}).await
}

/// The fakes on the repository's config as `edit` changes it before it is published.
pub async fn fakes_with(edit: impl FnOnce(&mut config::ConfigTree)) -> Fakes {
    let mut tree = config::load(&config::repository_config_dir()).expect("config");
    edit(&mut tree);
    let parameters = Arc::new(FakeParameterStore::default());
    for (name, value) in config_parameters(&tree) {
        parameters.put(&name, &value, true).await.expect("put");
    }
    let directory = Arc::new(MemoryOrganization::new());
    // Operations end at their first status poll, as the state machine tests' timings assume.
    let stack_sets = Arc::new(MemoryStackSets::new(0));
    let baseline = tree.organization.vending.baseline_stack_set.clone();
    let dev = tree.environment("dev").expect("the dev environment");
    let member = Arc::new(MemoryMemberParameters::new(dev.primary_region()));
    let ledger = Arc::new(MemoryLedger::default());
    let zones = Arc::new(MemoryZones::default().with_parent(&dev.domain_name));
    let deps = Deps {
        directory: directory.clone(),
        stack_sets: stack_sets.clone(),
        member_parameters: member.clone(),
        zones: zones.clone(),
        ledger: ledger.clone(),
        parameters: parameters.clone(),
        parameter_prefix: "/abc-trading".into(),
        boundary: platform_core::trust::Boundary {
            environment: "dev".into(),
            automation_account_id: "123456789012".into(),
            management_account_id: "111111111111".into(),
        },
        central: Central {
            automation_account_id: "123456789012".into(),
            organization_id: "o-abcdefghij".into(),
            event_bus_arn: "arn:aws:events:us-east-1:123456789012:event-bus/abc-trading-dev".into(),
            log_destination_name: "abc-trading-dev-logs".into(),
            monitoring_sink_arn: String::new(),
        },
        config: Default::default(),
    };
    Fakes { deps, directory, stack_sets, baseline, member, parameters, ledger, zones }
}

pub fn request(client: &str) -> serde_json::Value {
    serde_json::json!({"source": "abc.platform", "detail-type": "AccountRequested", "account": "123456789012", "detail": {
        "accountName": format!("{client}-dev"), "email": format!("aws+{client}-dev@abc-trading.com"),
        "environment": "dev", "client": client, "costCenter": "cc-1042", "owner": "platform-team"}})
}
