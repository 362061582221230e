//! The handler's actions on in-memory AWS: adoption of accounts made elsewhere, unhealthy
//! instances named per region, facts written once.

mod common;

use account_vending::handler::{Request, Vending, VendingError, handle};
use account_vending::ports::{Account, Instance};
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
