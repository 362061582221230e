//! Vending against the emulator with the real adapters: create, find by e-mail, place and tag,
//! the baseline StackSet in two accounts x two regions, facts in SSM, quarantine.

use std::sync::Arc;

use account_vending::aws::{CloudFormationStackSets, MemberSsm, Organizations, Route53Delegation};
use account_vending::handler::{Central, Deps, Request, Vending, VendingError};
use aws_sdk_cloudformation::types::{Capability, Parameter};
use emulator::Emulator;
use platform_core::aws::{AwsContext, SsmParameterStore};
use platform_core::config::{self, config_parameters};
use platform_core::guard::GuardTable;
use platform_core::ports::ParameterStore;
use serde_json::{Value, json};

/// The action's answer as the state machine gets it: JSON.
async fn handle(request: Request, deps: &Deps) -> Result<Value, VendingError> {
    Ok(serde_json::to_value(account_vending::handler::handle(request, deps).await?).expect("serialises"))
}

struct World {
    _emulator: Emulator,
    deps: Deps,
    org: aws_sdk_organizations::Client,
    root: String,
    route53: aws_sdk_route53::Client,
}

async fn world() -> World {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let sdk = emulator.sdk_config();
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let ssm = SsmParameterStore::new(aws_sdk_ssm::Client::new(&sdk).into());
    for (name, value) in config_parameters(&tree) {
        ssm.put(&name, &value, true).await.expect("publish config");
    }
    let org = aws_sdk_organizations::Client::new(&sdk);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("org");
    let root = org.list_roots().send().await.expect("roots").roots()[0].id().expect("id").to_string();
    for ou in ["Development", "Staging", "Production", "Quarantine"] {
        org.create_organizational_unit().parent_id(&root).name(ou).send().await.expect("ou");
    }
    let template = std::fs::read_to_string(config::repository_config_dir().join("../stacksets/member-baseline.yaml"))
        .expect("baseline template");
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    // Parameters come per instance from the vending; the stack set's own values are placeholders.
    let mut create = cfn
        .create_stack_set()
        .stack_set_name(&tree.organization.vending.baseline_stack_set)
        .template_body(template)
        .capabilities(Capability::CapabilityNamedIam);
    for (k, v) in
        account_vending::handler::baseline_parameters(&tree.environments["dev"], &central(), "client1").expect("params")
    {
        create = create.parameters(Parameter::builder().parameter_key(k).parameter_value(v).build());
    }
    create.send().await.expect("stack set");
    // The environment's parent zone, as template.yaml makes it in the automation account.
    let route53 = aws_sdk_route53::Client::new(&sdk);
    route53
        .create_hosted_zone()
        .name(&tree.environments["dev"].domain_name)
        .caller_reference("parent-zone")
        .send()
        .await
        .expect("parent zone");
    let ctx = AwsContext::from_config(sdk.clone()).expect("region");
    let members = ctx.members(ctx.sessions("abc-trading-automation", "account-vending"));
    let ledger = guard_ledger(&sdk).await;
    let deps = Deps {
        directory: Arc::new(Organizations::new(org.clone())),
        stack_sets: Arc::new(CloudFormationStackSets::new(cfn)),
        member_parameters: Arc::new(MemberSsm::new(members.clone())),
        zones: Arc::new(Route53Delegation::new(members, route53.clone())),
        ledger: Arc::new(ledger),
        parameters: Arc::new(ssm),
        parameter_prefix: "/abc-trading".into(),
        boundary: platform_core::trust::Boundary {
            environment: "dev".into(),
            automation_account_id: "123456789012".into(),
            management_account_id: "111111111111".into(),
        },
        central: central(),
        config: Default::default(),
    };
    World { _emulator: emulator, deps, org, root, route53 }
}

async fn guard_ledger(sdk: &aws_config::SdkConfig) -> GuardTable {
    GuardTable::create(aws_sdk_dynamodb::Client::new(sdk), "guard").await.expect("table")
}

/// The ledger's conditional writes against the emulator: one claim per vending (taken over when
/// failed or when its lease ran out), at most `max` slots however many race (expired holds freed).
#[tokio::test(flavor = "multi_thread")]
async fn the_ledger_claims_once_and_never_hands_out_more_slots_than_max() {
    use account_vending::ports::{Claim, Finish, VendingLedger};
    use chrono::{Duration, Utc};
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let ledger = Arc::new(guard_ledger(&emulator.sdk_config()).await);
    let now = Utc::now();
    let lease = now + Duration::hours(6);
    assert_eq!(ledger.claim("v1", "exec-a", now, lease).await.expect("claim"), Claim::Won);
    assert_eq!(ledger.claim("v1", "exec-a", now, lease).await.expect("claim"), Claim::Won, "a retried task");
    assert_eq!(ledger.claim("v1", "exec-b", now, lease).await.expect("claim"), Claim::Taken, "a duplicate joins");
    ledger.finish("v1", "exec-b", &Finish::Done { account_id: "1".into() }).await.expect("not the owner: ignored");
    ledger.finish("v1", "exec-a", &Finish::Failed { step: "Baseline".into() }).await.expect("finish");
    assert_eq!(ledger.claim("v1", "exec-c", now, lease).await.expect("claim"), Claim::Won, "a re-run takes over");
    // exec-c died: after its lease, a re-run takes over even though the claim says running.
    let later = lease + Duration::minutes(1);
    assert_eq!(ledger.claim("v1", "exec-d", now, lease).await.expect("claim"), Claim::Taken);
    assert_eq!(ledger.claim("v1", "exec-d", later, later + Duration::hours(6)).await.expect("claim"), Claim::Won);

    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let ledger = ledger.clone();
            tokio::spawn(async move { ledger.acquire_slot(&format!("s{i}"), 2, now, lease).await.expect("slot") })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        if t.await.expect("task") == Claim::Won {
            won += 1;
        }
    }
    assert!((1..=2).contains(&won), "{won} slots handed out of 2");
    // Holds whose lease ran out are freed for the next vending.
    assert_eq!(ledger.acquire_slot("late", 2, later, later + Duration::hours(6)).await.expect("slot"), Claim::Won);
    ledger.release_slot("late").await.expect("release");
    ledger.release_slot("never-held").await.expect("releasing nothing is fine");
}

fn central() -> Central {
    Central {
        automation_account_id: "123456789012".into(),
        organization_id: "o-abcdefghij".into(),
        event_bus_arn: "arn:aws:events:us-east-1:123456789012:event-bus/abc-trading-dev-platform".into(),
        log_destination_name: "abc-trading-dev-logs".into(),
        monitoring_sink_arn: String::new(),
    }
}

fn request(client: &str) -> Value {
    json!({"source": "abc.platform", "detail-type": "AccountRequested", "account": "123456789012", "detail": {
        "accountName": format!("{client}-dev"), "email": format!("aws+{client}-dev@abc-trading.com"),
        "environment": "dev", "client": client, "costCenter": "cc-1042", "owner": "platform-team"}})
}

/// Each vend() is one execution: its baseline operations get their own ids.
static EXECUTIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

async fn step(deps: &Deps, action: &str, vending: &Vending) -> Vending {
    let mut payload = json!({"action": action, "vending": vending});
    if action == "baseline" {
        payload["execution"] = json!(format!("exec-{}", EXECUTIONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)));
    }
    let request: Request = serde_json::from_value(payload).expect("request");
    serde_json::from_value(handle(request, deps).await.unwrap_or_else(|e| panic!("{action}: {e}"))).expect("vending")
}

/// The state machine's happy path, action by action.
async fn vend(deps: &Deps, event: Value) -> (Vending, Value) {
    let v: Vending =
        serde_json::from_value(handle(Request::Validate { event }, deps).await.expect("validate")).expect("vending");
    let mut v = step(deps, "find-or-create", &v).await;
    for _ in 0..3 {
        if v.done {
            break;
        }
        v = step(deps, "await-account", &v).await;
    }
    assert!(v.done && v.account_id.is_some(), "{v:?}");
    let v = step(deps, "place", &v).await;
    let v = step(deps, "baseline", &v).await;
    let v = step(deps, "await-baseline", &v).await;
    let request: Request = serde_json::from_value(json!({"action": "publish-facts", "vending": v})).expect("req");
    let facts = handle(request, deps).await.expect("facts");
    (v, facts)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_accounts_are_vended_into_the_dev_ou_with_the_baseline_in_both_regions() {
    let w = world().await;
    let mut accounts = Vec::new();
    for client in ["acme", "globex"] {
        let (v, facts) = vend(&w.deps, request(client)).await;
        let account = v.account_id.clone().expect("account");
        // Placed and tagged.
        let parent = w.org.list_parents().child_id(&account).send().await.expect("parents").parents()[0].clone();
        let dev_ou = w.deps.directory.ou_id("Development").await.expect("ou").expect("dev ou");
        assert_eq!(parent.id(), Some(dev_ou.as_str()));
        let tags = w.deps.directory.tags(&account).await.expect("tags");
        assert_eq!(tags.get("client").map(String::as_str), Some(client));
        assert_eq!(tags.get("managed-by").map(String::as_str), Some("platform-ops"));
        // Baseline CURRENT in both of dev's regions.
        let regions: Vec<(&str, &str)> = v.instances.iter().map(|i| (i.region.as_str(), i.status.as_str())).collect();
        assert_eq!(regions, [("us-east-1", "CURRENT"), ("us-west-2", "CURRENT")]);
        // Facts from the stacks' outputs, per region and global.
        let root = format!("/abc-trading/accounts/dev/{account}");
        let published = w.deps.parameters.get_by_path(&root).await.expect("facts");
        assert_eq!(published.get(&format!("{root}/id")), Some(&account));
        for region in ["us-east-1", "us-west-2"] {
            assert!(
                published.get(&format!("{root}/{region}/vpc-id")).is_some_and(|v| v.starts_with("vpc-")),
                "{published:?}"
            );
            let subnets = &published[&format!("{root}/{region}/private-subnet-ids")];
            assert_eq!(subnets.split(',').count(), 3, "{subnets}");
        }
        assert!(published.contains_key(&format!("{root}/hosted-zone-id")), "home region only: {published:?}");
        assert!(facts["written"].as_u64().expect("written") >= 10, "{facts}");
        // The client's zone, made by the baseline under its own name, delegated from dev's zone
        // to the very name servers Route 53 gave it.
        let name = format!("{client}.abc-trading-dev.com");
        assert_eq!(facts["delegation"]["name"], json!(name), "{facts}");
        assert_eq!(facts["delegation"]["changed"], json!(true), "{facts}");
        let servers: Vec<String> =
            serde_json::from_value(facts["delegation"]["name_servers"].clone()).expect("name servers");
        assert!(!servers.is_empty(), "{facts}");
        let parent =
            w.route53.list_hosted_zones_by_name().dns_name("abc-trading-dev.com.").send().await.expect("zones");
        let parent = parent.hosted_zones()[0].id().to_string();
        let sets = w.route53.list_resource_record_sets().hosted_zone_id(&parent).send().await.expect("records");
        let ns = sets
            .resource_record_sets()
            .iter()
            .find(|r| r.name() == format!("{name}.") && *r.r#type() == aws_sdk_route53::types::RrType::Ns)
            .expect("the delegation");
        let mut written: Vec<String> = ns.resource_records().iter().map(|r| r.value().to_string()).collect();
        written.sort();
        assert_eq!(written, servers);
        accounts.push(account);
    }
    assert_ne!(accounts[0], accounts[1]);

    // The same request delivered again: the account is found by e-mail, nothing is created, the
    // baseline adds nothing and the facts are already there. Not "reused": our own CreateAccount
    // made it (as after a lost answer), which Organizations' request history tells.
    let (again, facts) = vend(&w.deps, request("acme")).await;
    assert_eq!(again.account_id.as_ref(), Some(&accounts[0]));
    assert!(!again.reused && again.creation_request_id.is_some(), "{again:?}");
    assert!(again.operation_id.is_none(), "{again:?}");
    assert_eq!(facts["written"], 0);
    assert_eq!(facts["delegation"]["changed"], json!(false), "the delegation is left as it is");
    // Re-applying the baseline to existing instances (what a re-run does for OUTDATED regions).
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let params = account_vending::handler::baseline_parameters(&tree.environments["dev"], &central(), "client1")
        .expect("params");
    let prefs = account_vending::ports::Preferences { failure_tolerance_count: 0, max_concurrent_count: 2 };
    let regions = ["us-east-1".to_string(), "us-west-2".to_string()];
    let stack_set = &tree.organization.vending.baseline_stack_set;
    let op = w
        .deps
        .stack_sets
        .update_instances(stack_set, &accounts[0], &regions, &params, prefs, "reapply-1")
        .await
        .expect("update");
    let status = w.deps.stack_sets.operation(stack_set, &op).await.expect("operation");
    assert_eq!(status, account_vending::ports::OperationStatus::Succeeded);
    let all = w.org.list_accounts().send().await.expect("accounts");
    assert_eq!(all.accounts().iter().filter(|a| a.email() == Some("aws+acme-dev@abc-trading.com")).count(), 1);
    let _ = &w.root;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_vending_quarantines_the_account_and_never_deletes_it() {
    let w = world().await;
    let v: Vending =
        serde_json::from_value(handle(Request::Validate { event: request("initech") }, &w.deps).await.expect("v"))
            .expect("vending");
    let v = step(&w.deps, "find-or-create", &v).await;
    let v = step(&w.deps, "await-account", &v).await;
    let account = v.account_id.clone().expect("account");
    let out = handle(
        Request::Quarantine { vending: v.clone(), step: "Baseline".into(), cause: "region us-west-2 FAILED".into() },
        &w.deps,
    )
    .await
    .expect("quarantine");
    assert_eq!(out["quarantined"], true, "{out}");
    let quarantine = w.deps.directory.ou_id("Quarantine").await.expect("ou").expect("quarantine ou");
    assert_eq!(w.deps.directory.parent(&account).await.expect("parent"), quarantine);
    let tags = w.deps.directory.tags(&account).await.expect("tags");
    assert_eq!(tags.get("quarantined-at-step").map(String::as_str), Some("Baseline"));
    let listed = w.deps.directory.account(&account).await.expect("still there");
    assert_eq!(listed.state, account_vending::ports::AccountState::Active);

    // Re-running the same request resumes with the same account and places it back.
    let (resumed, _) = vend(&w.deps, request("initech")).await;
    assert_eq!(resumed.account_id.as_ref(), Some(&account));
    let dev = w.deps.directory.ou_id("Development").await.expect("ou").expect("dev");
    assert_eq!(w.deps.directory.parent(&account).await.expect("parent"), dev);

    // No account yet: nothing to quarantine, said so.
    let fresh: Vending =
        serde_json::from_value(handle(Request::Validate { event: request("hooli") }, &w.deps).await.expect("v"))
            .expect("vending");
    let out = handle(Request::Quarantine { vending: fresh, step: "Validate".into(), cause: "x".into() }, &w.deps)
        .await
        .expect("quarantine");
    assert_eq!(out["quarantined"], false);
}
