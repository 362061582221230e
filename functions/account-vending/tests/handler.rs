//! The handler's actions on in-memory AWS: adoption of accounts made elsewhere, unhealthy
//! instances named per region, facts written once.

mod common;

use account_vending::fakes::MemoryZones;
use account_vending::handler::{
    Claimed, Delegation, PublishedFacts, Quarantine, Released, Request, Response, Slot, Vending, VendingError, handle,
};
use account_vending::ports::{Account, AccountState, Creation, DetailedStatus, Finish, Instance, InstanceStatus};
use common::{ROOT, fakes, request};
use platform_core::ports::ParameterStore;
use serde_json::json;

/// The vending an action moved on; anything else fails the test, naming what came back.
fn vending(out: Response) -> Vending {
    match out {
        Response::Vending(v) => v,
        other => panic!("not a vending: {other:?}"),
    }
}

fn facts(out: Response) -> PublishedFacts {
    match out {
        Response::Facts(f) => f,
        other => panic!("not facts: {other:?}"),
    }
}

fn created_elsewhere(account: &str) -> serde_json::Value {
    json!({"source": "aws.organizations", "detail-type": "AWS Service Event via CloudTrail", "account": "111111111111",
        "detail": {"eventName": "CreateAccountResult", "serviceEventDetails": {"createAccountStatus": {
            "id": "car-9", "state": "SUCCEEDED", "accountName": "made-by-hand", "accountId": account}}}})
}

#[tokio::test]
async fn an_account_made_elsewhere_is_adopted_only_with_our_tags() {
    let f = fakes().await;
    {
        let mut org = f.directory.0.lock().expect("lock");
        for id in ["222233334444", "555566667777"] {
            org.accounts.push(Account {
                id: id.into(),
                name: "made-by-hand".into(),
                email: format!("{id}@abc-trading.com"),
                state: AccountState::Active,
                ou: None,
            });
            org.parents.insert(id.into(), ROOT.into());
        }
        let ours =
            serde_json::from_value::<account_vending::request::AccountRequest>(request("made")["detail"].clone())
                .expect("request")
                .tags();
        org.tags.insert("222233334444".into(), ours);
    }
    let v = vending(
        handle(Request::Validate { event: created_elsewhere("222233334444") }, &f.deps).await.expect("adopted"),
    );
    assert_eq!((v.account_id.as_deref(), v.reused, v.done), (Some("222233334444"), true, true));
    assert_eq!(v.request.email, "222233334444@abc-trading.com", "the e-mail Organizations holds");
    let foreign = handle(Request::Validate { event: created_elsewhere("555566667777") }, &f.deps).await;
    assert!(matches!(foreign, Err(VendingError::NotOurs { .. })), "{foreign:?}");
    assert_eq!(foreign.expect_err("refused").error_type(), "InvalidRequest");
}

#[tokio::test]
async fn a_baseline_not_current_everywhere_names_each_region() {
    let f = fakes().await;
    let mut v = vending(handle(Request::Validate { event: request("acme") }, &f.deps).await.expect("v"));
    v.account_id = Some("100000000001".into());
    let seeded = [
        Instance {
            region: "us-east-1".into(),
            status: InstanceStatus::Current,
            detailed: Some(DetailedStatus::Succeeded),
            reason: None,
            stack_id: None,
        },
        Instance {
            region: "us-west-2".into(),
            status: InstanceStatus::Inoperable,
            detailed: Some(DetailedStatus::Inoperable),
            reason: Some("stack deleted outside CloudFormation".into()),
            stack_id: None,
        },
    ];
    for instance in seeded {
        f.stack_sets.seed_instance(&f.baseline, "100000000001", instance);
    }
    let err = handle(Request::AwaitBaseline { vending: v }, &f.deps).await.expect_err("not current");
    assert_eq!(err.error_type(), "BaselineFailed");
    let text = err.to_string();
    assert!(text.contains("us-west-2 INOPERABLE (INOPERABLE): stack deleted outside CloudFormation"), "{text}");
    assert!(text.contains("us-east-1 CURRENT (SUCCEEDED)"), "{text}");
}

#[tokio::test]
async fn facts_are_written_once_and_read_once_per_region() {
    let f = fakes().await;
    let mut v = vending(handle(Request::Validate { event: request("acme") }, &f.deps).await.expect("v"));
    v.account_id = Some("100000000001".into());
    v.ou_id = Some("ou-development".into());
    let first = facts(handle(Request::PublishFacts { vending: v.clone() }, &f.deps).await.expect("facts"));
    let root = "/abc-trading/accounts/dev/100000000001";
    assert_eq!(first.facts[&format!("{root}/hosted-zone-id")], "Z123", "global facts once, from the home region");
    assert_eq!(first.facts[&format!("{root}/us-west-2/vpc-id")], "vpc-100000000001-us-west-2");
    assert_eq!(first.written, 10, "id, name, client, regions, ou; two per region; the hosted zone");
    let again = facts(handle(Request::PublishFacts { vending: v }, &f.deps).await.expect("facts"));
    assert_eq!(again.written, 0, "a re-run writes nothing");
    assert_eq!(f.member.reads(), 4, "one read per region per run");
    let servers = MemoryZones::name_servers_of("100000000001");
    assert_eq!(first.delegation.name, "acme.abc-trading-dev.com", "the client's own name under the environment's");
    assert!(first.delegation.changed);
    assert_eq!(f.zones.record("abc-trading-dev.com", "acme.abc-trading-dev.com"), Some(servers));
    assert!(!again.delegation.changed, "a re-run leaves the delegation as it is");
    assert_eq!(f.zones.writes(), 1, "the NS record is written once");
}

/// Facts published for `account`, whose zone is to be delegated (the vending as it reaches publish-facts).
async fn at_publish(f: &common::Fakes, client: &str, account: &str) -> Vending {
    let mut v = vending(handle(Request::Validate { event: request(client) }, &f.deps).await.expect("v"));
    v.account_id = Some(account.into());
    v.ou_id = Some("ou-development".into());
    v
}

#[tokio::test]
async fn a_client_name_delegated_to_another_account_is_refused_and_left_alone() {
    let f = fakes().await;
    // Another account of dev is already acme's, its zone delegated.
    f.parameters.put("/abc-trading/accounts/dev/100000000002/client", "acme", true).await.expect("put");
    let theirs = MemoryZones::name_servers_of("100000000002");
    f.zones.preset("abc-trading-dev.com", "acme.abc-trading-dev.com", theirs.clone());
    let v = at_publish(&f, "acme", "100000000001").await;
    let err = handle(Request::PublishFacts { vending: v }, &f.deps).await.expect_err("conflict");
    assert_eq!(err.error_type(), "DelegationConflict");
    assert!(err.to_string().contains("acme.abc-trading-dev.com") && err.to_string().contains("100000000002"), "{err}");
    assert_eq!(f.zones.record("abc-trading-dev.com", "acme.abc-trading-dev.com"), Some(theirs), "untouched");
    assert_eq!(f.zones.writes(), 0);
}

#[tokio::test]
async fn a_recreated_zone_of_the_same_account_is_delegated_again() {
    let f = fakes().await;
    f.zones.preset("abc-trading-dev.com", "acme.abc-trading-dev.com", vec!["ns-old.awsdns.example.".into()]);
    let v = at_publish(&f, "acme", "100000000001").await;
    let out = facts(handle(Request::PublishFacts { vending: v }, &f.deps).await.expect("facts"));
    assert!(out.delegation.changed);
    assert_eq!(
        f.zones.record("abc-trading-dev.com", "acme.abc-trading-dev.com"),
        Some(MemoryZones::name_servers_of("100000000001"))
    );
}

#[tokio::test]
async fn no_parent_zone_or_two_of_them_is_a_config_error() {
    for zones in [
        MemoryZones::default(),
        MemoryZones::default().with_parent("abc-trading-dev.com").with_parent("abc-trading-dev.com"),
    ] {
        let mut f = fakes().await;
        f.deps.zones = std::sync::Arc::new(zones);
        let v = at_publish(&f, "acme", "100000000001").await;
        let err = handle(Request::PublishFacts { vending: v }, &f.deps).await.expect_err("no parent");
        assert_eq!(err.error_type(), "ConfigMissing");
        assert!(err.to_string().contains("abc-trading-dev.com"), "{err}");
    }
}

fn hand_built(f: &common::Fakes, id: &str, email: &str, tags: &[(&str, &str)]) {
    let mut org = f.directory.0.lock().expect("lock");
    org.accounts.push(Account {
        id: id.into(),
        name: "hand-built".into(),
        email: email.into(),
        state: AccountState::Active,
        ou: None,
    });
    org.parents.insert(id.into(), ROOT.into());
    org.tags.insert(id.into(), tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
}

async fn validated(f: &common::Fakes, client: &str) -> Vending {
    vending(handle(Request::Validate { event: request(client) }, &f.deps).await.expect("v"))
}

/// Reuse by e-mail never takes someone else's account: one tagged for this environment and
/// client is resumed, an untagged (hand-built) one is adopted only when the environment's
/// `adopt` lists it (issue 16: the security account named by its e-mail), anything else is refused.
#[tokio::test]
async fn an_account_found_by_email_is_reused_only_when_it_is_ours() {
    for (tags, listed, ours) in [
        (vec![], false, false),
        (vec![], true, true),
        (vec![("managed-by", "platform-ops"), ("environment", "dev"), ("client", "acme")], false, true),
        (vec![("managed-by", "platform-ops"), ("environment", "prod"), ("client", "acme")], true, false),
        (vec![("managed-by", "platform-ops"), ("environment", "dev"), ("client", "globex")], false, false),
        (vec![("managed-by", "control-tower")], true, false),
    ] {
        let f = common::fakes_with(|tree| {
            if listed {
                tree.environments.get_mut("dev").expect("dev").adopt = vec!["AWS+acme-dev@abc-trading.com".into()];
            }
        })
        .await;
        hand_built(&f, "222233334444", "aws+acme-dev@abc-trading.com", &tags);
        let v = validated(&f, "acme").await;
        let out = handle(Request::FindOrCreate { vending: v }, &f.deps).await;
        match ours {
            true => {
                let v = vending(out.expect("reused"));
                assert_eq!((v.account_id.as_deref(), v.reused), (Some("222233334444"), true), "{tags:?} {listed}");
            }
            false => {
                let err = out.expect_err("not ours");
                assert!(matches!(err, VendingError::NotOurs { .. }), "{tags:?} {listed}: {err}");
                assert!(!f.directory.calls().contains(&"CreateAccount".to_string()), "nothing created either");
            }
        }
    }
}

#[tokio::test]
async fn a_lost_create_account_response_is_followed_not_repeated() {
    let f = fakes().await;
    let v = validated(&f, "acme").await;
    f.directory.0.lock().expect("lock").creation_script = [Creation::InProgress].into();
    let first = vending(handle(Request::FindOrCreate { vending: v.clone() }, &f.deps).await.expect("create"));
    // The task is retried (its response lost): the request in progress is followed.
    let _ = handle(Request::AwaitAccount { vending: first.clone() }, &f.deps).await.expect("poll");
    let again = vending(handle(Request::FindOrCreate { vending: v }, &f.deps).await.expect("retry"));
    assert_eq!(again.creation_request_id, first.creation_request_id);
    assert_eq!(f.directory.calls().iter().filter(|c| *c == "CreateAccount").count(), 1);
}

#[tokio::test]
async fn email_already_exists_finds_the_account_and_internal_failure_asks_again() {
    // Our first request's account appeared under a racing second request: reuse it.
    let f = fakes().await;
    let mut v = validated(&f, "acme").await;
    v.creation_request_id = Some("car-other".into());
    f.directory.0.lock().expect("lock").requests.insert("car-other".into(), ("acme-dev".into(), "x".into()));
    f.directory.0.lock().expect("lock").creation_script =
        [Creation::Failed { reason: "EMAIL_ALREADY_EXISTS".into() }].into();
    hand_built(&f, "222233334444", "aws+acme-dev@abc-trading.com", &[("managed-by", "platform-ops")]);
    let v = vending(handle(Request::AwaitAccount { vending: v }, &f.deps).await.expect("reused"));
    assert_eq!((v.account_id.as_deref(), v.done), (Some("222233334444"), true));

    // INTERNAL_FAILURE: CreateAccount again, three requests in all, then the named failure: terminal,
    // not Transient (AwaitAccount's Retry would only poll the failed request again).
    let f = fakes().await;
    f.directory.0.lock().expect("lock").creation_script =
        [Creation::Failed { reason: "INTERNAL_FAILURE".into() }].into();
    let v = validated(&f, "acme").await;
    let mut v = vending(handle(Request::FindOrCreate { vending: v }, &f.deps).await.expect("create"));
    for _ in 0..2 {
        v = vending(handle(Request::AwaitAccount { vending: v }, &f.deps).await.expect("asked again"));
        assert!(!v.done);
    }
    let err = handle(Request::AwaitAccount { vending: v }, &f.deps).await.expect_err("gave up");
    assert_eq!(err.error_type(), "AccountCreationFailed");
    assert_eq!(f.directory.calls().iter().filter(|c| *c == "CreateAccount").count(), 3);
}

/// GIVEN the request's e-mail already names an account of ours that is suspended WHEN the
/// vending finds or creates its account THEN it is refused as `NotActive` (`InvalidRequest`: a
/// retry cannot help) and no second account is created with the e-mail.
#[tokio::test]
async fn a_suspended_account_found_by_email_is_refused_and_nothing_created() {
    let f = fakes().await;
    let tags = [("managed-by", "platform-ops"), ("environment", "dev"), ("client", "acme")];
    hand_built(&f, "222233334444", "aws+acme-dev@abc-trading.com", &tags);
    f.directory.0.lock().expect("lock").accounts.iter_mut().for_each(|a| a.state = AccountState::Suspended);
    let v = validated(&f, "acme").await;
    let err = handle(Request::FindOrCreate { vending: v }, &f.deps).await.expect_err("suspended");
    assert!(
        matches!(&err, VendingError::NotActive { account, status: AccountState::Suspended } if account == "222233334444"),
        "{err}"
    );
    assert_eq!(err.error_type(), "InvalidRequest");
    assert!(!f.directory.calls().iter().any(|c| c == "CreateAccount"), "{:?}", f.directory.calls());
}

#[tokio::test]
async fn a_resumed_account_loses_its_quarantine_tag() {
    let f = fakes().await;
    // Quarantine keeps the request's tags and adds its own, so a re-run finds the account ours.
    let tags = [
        ("managed-by", "platform-ops"),
        ("environment", "dev"),
        ("client", "acme"),
        ("quarantined-at-step", "Baseline"),
    ];
    hand_built(&f, "222233334444", "aws+acme-dev@abc-trading.com", &tags);
    let v = validated(&f, "acme").await;
    let v = vending(handle(Request::FindOrCreate { vending: v }, &f.deps).await.expect("found"));
    handle(Request::Place { vending: v }, &f.deps).await.expect("placed");
    let org = f.directory.0.lock().expect("lock");
    assert!(!org.tags["222233334444"].contains_key("quarantined-at-step"), "{:?}", org.tags);
    assert_eq!(org.parents["222233334444"], "ou-development");
}

#[test]
fn leases_cover_the_state_machines_timeout() {
    let path = emulator::workspace_root().join("state-machines/account-vending.asl.json");
    let definition: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    assert_eq!(definition["TimeoutSeconds"].as_i64(), Some(account_vending::handler::EXECUTION_TIMEOUT_SECONDS));
}

/// The typed responses are the JSON the actions answered before they were typed: the state
/// machine's `$.Payload.claimed`, `.written`, `.quarantined` and the vending's own fields.
#[tokio::test]
async fn responses_serialise_to_the_json_the_state_machine_reads() {
    let f = fakes().await;
    let v = validated(&f, "acme").await;
    let wire = |r: Response| serde_json::to_value(r).expect("serialises");
    assert_eq!(wire(Response::Vending(v.clone())), serde_json::to_value(&v).expect("vending"), "the vending, bare");
    assert_eq!(wire(Response::Claimed(Claimed { claimed: true })), json!({"claimed": true}));
    assert_eq!(wire(Response::Claimed(Claimed { claimed: false })), json!({"claimed": false}));
    assert_eq!(wire(Response::Slot(Slot { slot: true })), json!({"slot": true}));
    assert_eq!(wire(Response::Released(Released { released: true })), json!({"released": true}));
    assert_eq!(
        wire(Response::Finished(Finish::Done { account_id: "100000000001".into() })),
        json!({"outcome": "done", "account_id": "100000000001"})
    );
    assert_eq!(
        wire(Response::Finished(Finish::Failed { step: "Baseline".into() })),
        json!({"outcome": "failed", "step": "Baseline"})
    );
    assert_eq!(
        wire(Response::Quarantine(Quarantine::moved("100000000001", "ou-quarantine", "Baseline", "boom"))),
        json!({"quarantined": true, "account": "100000000001", "ou": "ou-quarantine", "step": "Baseline",
            "cause": "boom"})
    );
    assert_eq!(
        wire(Response::Quarantine(Quarantine::no_account("Validate", "bad"))),
        json!({"quarantined": false, "step": "Validate", "cause": "bad",
            "reason": "no account was created: nothing to quarantine"})
    );
    let published = PublishedFacts {
        vending: v.clone(),
        facts: [("/abc-trading/accounts/dev/1/id".to_string(), "1".to_string())].into(),
        written: 1,
        delegation: Delegation {
            name: "acme.abc-trading-dev.com".into(),
            name_servers: vec!["ns-1.".into()],
            changed: true,
        },
    };
    assert_eq!(
        wire(Response::Facts(published)),
        json!({"vending": v, "facts": {"/abc-trading/accounts/dev/1/id": "1"}, "written": 1,
            "delegation": {"name": "acme.abc-trading-dev.com", "name_servers": ["ns-1."], "changed": true}})
    );

    // And as the handler answers them.
    let claimed = handle(Request::Claim { vending: v.clone(), execution: "e-1".into() }, &f.deps).await.expect("claim");
    assert_eq!(wire(claimed), json!({"claimed": true}));
    let slot = handle(Request::AcquireSlot { vending: v.clone() }, &f.deps).await.expect("slot");
    assert_eq!(wire(slot), json!({"slot": true}));
    let quarantine = Request::Quarantine { vending: v, step: "Claim".into(), cause: "x".into() };
    assert_eq!(wire(handle(quarantine, &f.deps).await.expect("quarantine"))["quarantined"], false);
}
