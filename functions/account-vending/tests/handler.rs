//! The handler's actions on in-memory AWS: adoption of accounts made elsewhere, unhealthy
//! instances named per region, facts written once.

mod common;

use account_vending::handler::{Request, Vending, VendingError, handle};
use account_vending::ports::{Account, Creation, Instance};
use common::{ROOT, fakes, request};
use serde_json::json;

fn created_elsewhere(account: &str) -> serde_json::Value {
    json!({"source": "aws.organizations", "detail-type": "AWS Service Event via CloudTrail",
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
                status: "ACTIVE".into(),
            });
            org.parents.insert(id.into(), ROOT.into());
        }
        let ours =
            serde_json::from_value::<account_vending::request::AccountRequest>(request("made")["detail"].clone())
                .expect("request")
                .tags();
        org.tags.insert("222233334444".into(), ours);
    }
    let v: Vending = serde_json::from_value(
        handle(Request::Validate { event: created_elsewhere("222233334444") }, &f.deps).await.expect("adopted"),
    )
    .expect("vending");
    assert_eq!((v.account_id.as_deref(), v.reused, v.done), (Some("222233334444"), true, true));
    assert_eq!(v.request.email, "222233334444@abc-trading.com", "the e-mail Organizations holds");
    let foreign = handle(Request::Validate { event: created_elsewhere("555566667777") }, &f.deps).await;
    assert!(matches!(foreign, Err(VendingError::NotOurs { .. })), "{foreign:?}");
    assert_eq!(foreign.expect_err("refused").error_type(), "InvalidRequest");
}

#[tokio::test]
async fn a_baseline_not_current_everywhere_names_each_region() {
    let f = fakes().await;
    let v: Vending =
        serde_json::from_value(handle(Request::Validate { event: request("acme") }, &f.deps).await.expect("v"))
            .expect("v");
    let mut v = v;
    v.account_id = Some("100000000001".into());
    f.stack_sets.0.lock().expect("lock").instances.insert(
        "100000000001".into(),
        vec![
            Instance {
                region: "us-east-1".into(),
                status: "CURRENT".into(),
                detailed: Some("SUCCEEDED".into()),
                reason: None,
                stack_id: None,
            },
            Instance {
                region: "us-west-2".into(),
                status: "INOPERABLE".into(),
                detailed: Some("INOPERABLE".into()),
                reason: Some("stack deleted outside CloudFormation".into()),
                stack_id: None,
            },
        ],
    );
    let err = handle(Request::AwaitBaseline { vending: v }, &f.deps).await.expect_err("not current");
    assert_eq!(err.error_type(), "BaselineFailed");
    let text = err.to_string();
    assert!(text.contains("us-west-2 INOPERABLE (INOPERABLE): stack deleted outside CloudFormation"), "{text}");
    assert!(text.contains("us-east-1 CURRENT (SUCCEEDED)"), "{text}");
}

#[tokio::test]
async fn facts_are_written_once_and_read_once_per_region() {
    let f = fakes().await;
    let mut v: Vending =
        serde_json::from_value(handle(Request::Validate { event: request("acme") }, &f.deps).await.expect("v"))
            .expect("v");
    v.account_id = Some("100000000001".into());
    v.ou_id = Some("ou-development".into());
    let first = handle(Request::PublishFacts { vending: v.clone() }, &f.deps).await.expect("facts");
    let root = "/abc-trading/accounts/dev/100000000001";
    assert_eq!(first["facts"][format!("{root}/hosted-zone-id")], "Z123", "global facts once, from the home region");
    assert_eq!(first["facts"][format!("{root}/us-west-2/vpc-id")], "vpc-100000000001-us-west-2");
    assert_eq!(first["written"], 10, "id, name, client, regions, ou; two per region; the hosted zone");
    let again = handle(Request::PublishFacts { vending: v }, &f.deps).await.expect("facts");
    assert_eq!(again["written"], 0, "a re-run writes nothing");
    assert_eq!(*f.member.reads.lock().expect("lock"), 4, "one read per region per run");
}

fn hand_built(f: &common::Fakes, id: &str, email: &str, tags: &[(&str, &str)]) {
    let mut org = f.directory.0.lock().expect("lock");
    org.accounts.push(Account {
        id: id.into(),
        name: "hand-built".into(),
        email: email.into(),
        status: "ACTIVE".into(),
    });
    org.parents.insert(id.into(), ROOT.into());
    org.tags.insert(id.into(), tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
}

async fn validated(f: &common::Fakes, client: &str) -> Vending {
    serde_json::from_value(handle(Request::Validate { event: request(client) }, &f.deps).await.expect("v")).expect("v")
}

/// Reuse by e-mail never takes someone else's account: an untagged (hand-built) account is
/// adopted, one tagged for this environment and client is resumed, anything else is refused.
#[tokio::test]
async fn an_account_found_by_email_is_reused_only_when_it_is_ours() {
    for (tags, ours) in [
        (vec![], true),
        (vec![("managed-by", "platform-ops"), ("environment", "dev"), ("client", "acme")], true),
        (vec![("managed-by", "platform-ops"), ("environment", "prod"), ("client", "acme")], false),
        (vec![("managed-by", "platform-ops"), ("environment", "dev"), ("client", "globex")], false),
        (vec![("managed-by", "control-tower")], false),
    ] {
        let f = fakes().await;
        hand_built(&f, "222233334444", "aws+acme-dev@abc-trading.com", &tags);
        let v = validated(&f, "acme").await;
        let out = handle(Request::FindOrCreate { vending: v }, &f.deps).await;
        match ours {
            true => {
                let v: Vending = serde_json::from_value(out.expect("reused")).expect("v");
                assert_eq!((v.account_id.as_deref(), v.reused), (Some("222233334444"), true), "{tags:?}");
            }
            false => {
                let err = out.expect_err("not ours");
                assert!(matches!(err, VendingError::NotOurs { .. }), "{tags:?}: {err}");
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
    let first: Vending =
        serde_json::from_value(handle(Request::FindOrCreate { vending: v.clone() }, &f.deps).await.expect("create"))
            .expect("v");
    // The task is retried (its response lost): the request in progress is followed.
    let _ = handle(Request::AwaitAccount { vending: first.clone() }, &f.deps).await.expect("poll");
    let again: Vending =
        serde_json::from_value(handle(Request::FindOrCreate { vending: v }, &f.deps).await.expect("retry")).expect("v");
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
    let v: Vending =
        serde_json::from_value(handle(Request::AwaitAccount { vending: v }, &f.deps).await.expect("reused"))
            .expect("v");
    assert_eq!((v.account_id.as_deref(), v.done), (Some("222233334444"), true));

    // INTERNAL_FAILURE: CreateAccount again, three requests in all, then the named failure.
    let f = fakes().await;
    f.directory.0.lock().expect("lock").creation_script =
        [Creation::Failed { reason: "INTERNAL_FAILURE".into() }].into();
    let v = validated(&f, "acme").await;
    let mut v: Vending =
        serde_json::from_value(handle(Request::FindOrCreate { vending: v }, &f.deps).await.expect("create"))
            .expect("v");
    for _ in 0..2 {
        v = serde_json::from_value(handle(Request::AwaitAccount { vending: v }, &f.deps).await.expect("asked again"))
            .expect("v");
        assert!(!v.done);
    }
    let err = handle(Request::AwaitAccount { vending: v }, &f.deps).await.expect_err("gave up");
    assert_eq!(err.error_type(), "Transient");
    assert_eq!(f.directory.calls().iter().filter(|c| *c == "CreateAccount").count(), 3);
}

#[tokio::test]
async fn a_resumed_account_loses_its_quarantine_tag() {
    let f = fakes().await;
    hand_built(&f, "222233334444", "aws+acme-dev@abc-trading.com", &[("quarantined-at-step", "Baseline")]);
    let v = validated(&f, "acme").await;
    let v: Vending =
        serde_json::from_value(handle(Request::FindOrCreate { vending: v }, &f.deps).await.expect("found")).expect("v");
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
