//! Requests: both triggers parse, every problem is named at once, failure reasons map to names.

use account_vending::handler::VendingError;
use account_vending::request::{AccountRequest, Origin, RequestError, account_name_problem, email_problem};
use platform_core::config;
use serde_json::json;

fn requested(detail: serde_json::Value) -> serde_json::Value {
    json!({"version": "0", "id": "e-1", "source": "abc.platform", "detail-type": "AccountRequested",
        "account": "111111111111", "time": "2026-11-24T10:00:00Z", "region": "us-east-1", "resources": [], "detail": detail})
}

fn acme() -> serde_json::Value {
    json!({"accountName": "acme-dev", "email": "aws+acme-dev@abc-trading.com", "environment": "dev",
        "client": "acme", "costCenter": "cc-1042", "owner": "platform-team"})
}

#[test]
fn both_triggers_parse() {
    let Origin::Requested(r) = Origin::from_event(&requested(acme())).expect("parses") else { panic!("requested") };
    assert_eq!((r.client.as_str(), r.environment.as_str()), ("acme", "dev"));
    let cloudtrail = json!({"source": "aws.organizations", "detail-type": "AWS Service Event via CloudTrail",
        "detail": {"eventName": "CreateAccountResult", "serviceEventDetails": {"createAccountStatus": {
            "id": "car-1", "state": "SUCCEEDED", "accountName": "made-by-hand", "accountId": "222233334444"}}}});
    assert_eq!(
        Origin::from_event(&cloudtrail),
        Ok(Origin::CreatedElsewhere { account_id: "222233334444".into(), account_name: "made-by-hand".into() })
    );
    let mut failed = cloudtrail.clone();
    failed["detail"]["serviceEventDetails"]["createAccountStatus"]["state"] = json!("FAILED");
    assert!(matches!(Origin::from_event(&failed), Err(RequestError::Invalid(_))));
    assert!(matches!(
        Origin::from_event(&json!({"source": "aws.ec2", "detail-type": "x"})),
        Err(RequestError::NotARequest { .. })
    ));
    let mut extra = acme();
    extra["surprise"] = json!(1);
    assert!(matches!(Origin::from_event(&requested(extra)), Err(RequestError::Malformed(_))), "unknown fields refused");
}

#[test]
fn every_problem_is_named_at_once() {
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let Origin::Requested(good) = Origin::from_event(&requested(acme())).expect("parses") else { panic!() };
    good.validate(&tree.environments).expect("a good request validates");

    let bad: AccountRequest = serde_json::from_value(json!({"accountName": " padded", "email": "not-an-email",
        "environment": "qa", "client": "Acme Corp", "costCenter": "", "owner": "<owner>"}))
    .expect("shape");
    let Err(RequestError::Invalid(problems)) = bad.validate(&tree.environments) else { panic!("invalid") };
    let text = problems.join("\n");
    for expected in [
        "account name ` padded`",
        "email `not-an-email` is not an e-mail address",
        "environment `qa` is not one of dev, prod, staging",
        "client `Acme Corp` must be a lowercase DNS label",
        "costCenter must not be empty",
        "owner `<owner>` still holds a placeholder",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

#[test]
fn organizations_constraints_on_email_and_name() {
    for ok in ["a@b.co", "aws+acme-dev@abc-trading.com"] {
        assert_eq!(email_problem(ok), None, "{ok}");
    }
    for bad in ["a@b.c", "ab@cde", "a b@c.de", "a@@b.co", "@bc.de", "abc@.d", &format!("{}@b.co", "a".repeat(60))] {
        assert!(email_problem(bad).is_some(), "{bad}");
    }
    assert_eq!(account_name_problem("acme dev"), None);
    for bad in ["", "é-accent", &"n".repeat(51), "trailing "] {
        assert!(account_name_problem(bad).is_some(), "{bad:?}");
    }
}

#[test]
fn the_same_request_is_the_same_vending() {
    let a: AccountRequest = serde_json::from_value(acme()).expect("shape");
    let mut b = a.clone();
    b.email = b.email.to_uppercase();
    b.owner = "someone-else".into();
    assert_eq!(a.vending_id(), b.vending_id(), "keyed on e-mail (case-insensitive) and environment");
    assert!(a.vending_id().starts_with("vend-dev-acme-") && a.vending_id().len() <= 80);
    let mut other = a.clone();
    other.environment = "staging".into();
    assert_ne!(a.vending_id(), other.vending_id());
    let tags = a.tags();
    assert_eq!(AccountRequest::from_tags(&a.account_name, &a.email, &tags), Some(a.clone()));
    let mut foreign = tags.clone();
    foreign.remove("managed-by");
    assert_eq!(AccountRequest::from_tags(&a.account_name, &a.email, &foreign), None);
}

#[test]
fn creation_failures_map_to_the_names_the_state_machine_catches() {
    let name = |reason: &str| {
        VendingError::CreationFailed { email: "a@b.co".into(), reason: reason.into() }.error_type().to_string()
    };
    assert_eq!(name("EMAIL_ALREADY_EXISTS"), "EmailAlreadyExists");
    assert_eq!(name("ACCOUNT_LIMIT_EXCEEDED"), "AccountLimitExceeded");
    assert_eq!(name("CONCURRENT_ACCOUNT_MODIFICATION"), "ConcurrentAccountModification");
    // Only once CreateAccount was asked again as often as allowed: terminal.
    assert_eq!(name("INTERNAL_FAILURE"), "AccountCreationFailed");
    assert_eq!(name("INVALID_EMAIL"), "AccountCreationFailed");
}
