//! Vending's own checks (issue 16): who sent the request, for which environment, and which account a later step may change.

mod common;

use account_vending::handler::{Request, Response, Vending, handle};
use account_vending::ports::{Account, AccountState};
use common::{ROOT, fakes, request};
use serde_json::{Value, json};

fn refused(e: account_vending::handler::VendingError) -> (String, String) {
    (e.error_type().to_string(), e.to_string())
}

fn vending(r: Response) -> Vending {
    match r {
        Response::Vending(v) => v,
        other => panic!("a vending: {other:?}"),
    }
}

fn account(f: &common::Fakes, id: &str, email: &str, tags: &[(&str, &str)]) {
    let mut org = f.directory.0.lock().expect("lock");
    org.accounts.push(Account {
        id: id.into(),
        name: id.into(),
        email: email.into(),
        state: AccountState::Active,
        ou: None,
    });
    org.parents.insert(id.into(), ROOT.into());
    org.tags.insert(id.into(), tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
}

#[tokio::test]
async fn a_request_is_taken_only_from_the_automation_account_for_its_own_environment() {
    let f = fakes().await;
    assert!(handle(Request::Validate { event: request("acme") }, &f.deps).await.is_ok());

    let mut forged = request("acme");
    forged["account"] = json!("222233334444");
    let (name, message) = refused(handle(Request::Validate { event: forged }, &f.deps).await.expect_err("forged"));
    assert_eq!(name, "Untrusted");
    assert!(message.contains("`222233334444`") && message.contains("automation account (123456789012)"), "{message}");

    let mut unsigned = request("acme");
    unsigned.as_object_mut().expect("object").remove("account");
    assert_eq!(
        refused(handle(Request::Validate { event: unsigned }, &f.deps).await.expect_err("no sender")).0,
        "Untrusted"
    );

    let mut prod = request("acme");
    prod["detail"]["environment"] = json!("prod");
    prod["detail"]["accountName"] = json!("acme-prod");
    prod["detail"]["email"] = json!("aws+acme-prod@abc-trading.com");
    let (name, message) = refused(handle(Request::Validate { event: prod }, &f.deps).await.expect_err("prod"));
    assert_eq!((name.as_str(), message.as_str()), ("Untrusted", "environment `prod` is not this deployment's (`dev`)"));
    assert!(f.directory.calls().is_empty(), "nothing asked of Organizations: {:?}", f.directory.calls());
}

#[tokio::test]
async fn an_account_made_elsewhere_is_taken_only_from_the_management_account() {
    let f = fakes().await;
    let tags = [
        ("managed-by", "platform-ops"),
        ("environment", "dev"),
        ("client", "acme"),
        ("cost-center", "cc-1"),
        ("owner", "team"),
    ];
    account(&f, "333344445555", "made@abc-trading.com", &tags);
    let made = |sender: &str| -> Value {
        json!({"source": "aws.organizations", "detail-type": "AWS Service Event via CloudTrail", "account": sender,
            "detail": {"eventName": "CreateAccountResult", "serviceEventDetails": {"createAccountStatus": {
                "id": "car-1", "state": "SUCCEEDED", "accountName": "acme-dev", "accountId": "333344445555"}}}})
    };
    let e = handle(Request::Validate { event: made("123456789012") }, &f.deps).await.expect_err("wrong sender");
    assert_eq!(refused(e).0, "Untrusted", "only the management account reports accounts it created");
    let v = vending(handle(Request::Validate { event: made("111111111111") }, &f.deps).await.expect("taken"));
    assert_eq!(v.account_id.as_deref(), Some("333344445555"));
}

/// `place` and `quarantine` re-derive the account from the request's e-mail: a payload naming
/// another account (the security account, say) moves and tags nothing.
#[tokio::test]
async fn place_and_quarantine_act_only_on_the_requests_own_account() {
    let f = fakes().await;
    account(&f, "444455556666", "security@abc-limited.example", &[]);
    account(
        &f,
        "222233334444",
        "aws+acme-dev@abc-trading.com",
        &[("managed-by", "platform-ops"), ("environment", "dev"), ("client", "acme")],
    );
    let v = vending(handle(Request::Validate { event: request("acme") }, &f.deps).await.expect("v"));

    let mut tampered = v.clone();
    tampered.account_id = Some("444455556666".into());
    let e = handle(Request::Place { vending: tampered.clone() }, &f.deps).await.expect_err("not the request's account");
    let (name, message) = refused(e);
    assert_eq!(name, "Untrusted");
    assert!(message.contains("`444455556666`") && message.contains("`222233334444`"), "{message}");
    let step = Request::Quarantine { vending: tampered, step: "Baseline".into(), cause: "x".into() };
    assert_eq!(refused(handle(step, &f.deps).await.expect_err("refused")).0, "Untrusted");
    {
        let org = f.directory.0.lock().expect("lock");
        assert_eq!(org.parents["444455556666"], ROOT, "the security account stays where it is");
        assert!(org.tags["444455556666"].is_empty(), "and untagged");
    }

    // The request's own account is placed as before.
    let mut own = v;
    own.account_id = Some("222233334444".into());
    let placed = vending(handle(Request::Place { vending: own }, &f.deps).await.expect("placed"));
    assert_eq!(placed.ou_id.as_deref(), Some("ou-development"));
}
