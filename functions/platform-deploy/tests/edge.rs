//! The client's way in at the end of a deploy, through the state machine on the in-memory world
//! and a real TLS stand-in: the target group attached and the alias written once, the endpoint
//! checked as a client reaches it and recorded; each way an endpoint fails rolls the release back.

use std::sync::Arc;

use asl::Status;
use platform_deploy::edge::{AliasTarget, EndpointError, EndpointProbe, EndpointTarget, PlatformExports, TlsProbe};
use platform_deploy::fakes::{Fixed, StandIn, StandInOptions, StandInResolver};
use platform_deploy::handler::{Request, handle};
use serde_json::json;

#[path = "support/deploy_world.rs"]
#[allow(dead_code)]
mod deploy_world;
use deploy_world::*;

const ACCOUNT: &str = "222233334444";

fn host(w: &World) -> String {
    let domain = w.deps.tree.environment("dev").expect("dev").domain_name.clone();
    format!("{}.{domain}", client_of(ACCOUNT).0)
}

#[tokio::test]
async fn a_deploy_ends_with_the_clients_https_endpoint_checked_and_recorded() {
    let w = world();
    let e = run(&w, "first", request("2026.11.3", json!({}))).await;
    assert_eq!(e.status, Status::Succeeded, "{:?} {:?}", e.error, e.cause);
    let actions = w.actions.lock().expect("lock").clone();
    let at = |a: &str| actions.iter().position(|x| x == a).unwrap_or_else(|| panic!("{a} ran"));
    assert!(at("verify") < at("ensure-edge") && at("ensure-edge") < at("record"), "{actions:?}");
    let endpoint = w.ledger.endpoints().remove(&("dev".to_string(), ACCOUNT.to_string())).expect("recorded");
    assert_eq!(endpoint.url, format!("https://{}/", host(&w)));
    assert!((88..=90).contains(&endpoint.certificate_days), "{endpoint:?}");
    assert!(["TLSv1_2", "TLSv1_3"].contains(&endpoint.tls_version.as_str()), "{endpoint:?}");
    assert!(endpoint.alias_written && endpoint.attached.len() == 1, "{endpoint:?}");
    let (_, message) = w.notified.lock().expect("lock").last().cloned().expect("notified");
    assert!(message.contains(&endpoint.url), "{message}");
    assert_eq!(w.edge.writes().len(), 2, "{:?}", w.edge.writes());

    // The same release again: the group has the target group and the record points right.
    let again = run_after(&w, "again", request("2026.11.3", json!({})), &e).await;
    assert_eq!(again.status, Status::Succeeded, "{:?} {:?}", again.error, again.cause);
    assert_eq!(w.edge.writes().len(), 2, "nothing written twice: {:?}", w.edge.writes());
    let endpoint = w.ledger.endpoints().remove(&("dev".to_string(), ACCOUNT.to_string())).expect("recorded");
    assert!(!endpoint.alias_written && endpoint.attached.is_empty(), "{endpoint:?}");
}

/// A deploy whose stand-in is made with `options` fails its endpoint check with a cause holding
/// `reason`, records nothing, and takes no tier forward.
async fn refused(options: impl FnOnce(StandInOptions) -> StandInOptions, reason: &str) {
    let w = world_edge(0, chrono::Duration::seconds(20), options);
    let e = run(&w, "refused", request("2026.11.3", json!({}))).await;
    assert_eq!((e.status, e.error.as_deref()), (Status::Failed, Some("EndpointFailed")), "{:?}", e.cause);
    assert!(e.cause.as_deref().is_some_and(|c| c.contains(reason)), "{reason}: {:?}", e.cause);
    let checks = w.actions.lock().expect("lock").iter().filter(|a| *a == "ensure-edge").count();
    assert_eq!(checks, 5, "asked again four times before giving up");
    assert!(w.ledger.recorded().is_empty() && w.ledger.endpoints().is_empty(), "nothing recorded");
    assert!(w.actions.lock().expect("lock").contains(&"rollback".to_string()), "rolled back");
}

#[tokio::test]
async fn an_expired_certificate_fails_the_endpoint() {
    refused(|o| StandInOptions { valid_days: -1, ..o }, "TLS handshake").await;
}

#[tokio::test]
async fn a_certificate_close_to_expiry_fails_the_endpoint() {
    refused(|o| StandInOptions { valid_days: 10, ..o }, "fewer than the 30 days required").await;
}

#[tokio::test]
async fn a_certificate_for_another_name_fails_the_endpoint() {
    refused(|o| StandInOptions { names: vec!["*.abc-trading-other.com".into()], ..o }, "TLS handshake").await;
}

#[tokio::test]
async fn plain_http_without_a_redirect_fails_the_endpoint() {
    refused(|o| StandInOptions { redirect: false, ..o }, "not a redirect to https").await;
}

#[tokio::test]
async fn a_name_with_no_record_or_pointing_elsewhere_does_not_resolve() {
    let w = world();
    vend(&w, "dev", ACCOUNT);
    let zone = client_of(ACCOUNT).1;
    let target = EndpointTarget { account: ACCOUNT.into(), zone_id: zone.clone(), host: host(&w), path: "/".into() };
    let unresolved = |e: EndpointError| match e {
        EndpointError::Unresolved { reason, .. } => reason,
        other => panic!("{other:?}"),
    };
    let reason = unresolved(w.deps.edge.probe.check(&target).await.expect_err("no record"));
    assert!(reason.contains("no record"), "{reason}");
    let elsewhere = AliasTarget { dns_name: "d111111abcdef8.cloudfront.net".into(), zone_id: "Z2FDTNDATAQYW2".into() };
    w.edge.set_alias(ACCOUNT, &zone, &host(&w), elsewhere);
    let reason = unresolved(w.deps.edge.probe.check(&target).await.expect_err("elsewhere"));
    assert!(reason.contains("cloudfront.net"), "{reason}");
}

#[tokio::test]
async fn an_account_without_the_platforms_exports_or_a_client_is_refused_before_any_tier() {
    // No client published: refused at ensure-infrastructure, nothing started.
    let w = world();
    w.ledger.add_account("dev", ACCOUNT);
    let start = asl::Start::named("no-client");
    let e = asl::execute(&machine(), request("2026.11.3", json!({})), start, Arc::new(Runner(w.clone()))).await;
    assert_eq!(e.error.as_deref(), Some("ClientUnknown"), "{:?}", e.cause);
    assert!(w.stack_sets.operations().is_empty(), "no StackSet operation");

    // The platform instance gone from the account: ensure-access finds no exports.
    let w = world();
    let first = run(&w, "first", request("2026.11.3", json!({}))).await;
    assert_eq!(first.status, Status::Succeeded, "{:?}", first.cause);
    w.stack_sets.remove_instance("abc-trading-platform", ACCOUNT, "us-east-1");
    let output = first.output.expect("output");
    let deployment = serde_json::from_value(output).expect("a deployment");
    let err = handle(Request::EnsureAccess { deployment }, &w.deps).await.expect_err("no exports");
    assert_eq!(err.error_type(), "ExportMissing", "{err}");
    assert!(err.to_string().contains("/platform/load-balancer-dns-name"), "{err}");
}

#[test]
fn a_database_secret_of_another_account_or_region_never_reaches_a_manifest() {
    let exports = |arn: &str| PlatformExports {
        load_balancer_dns_name: "lb".into(),
        load_balancer_zone_id: "Z".into(),
        target_group_arn: "tg".into(),
        database_secret_arn: arn.into(),
    };
    let ours = "arn:aws:secretsmanager:us-east-1:222233334444:secret:rds!db-1-a1B2c3";
    assert_eq!(exports(ours).secret_in(ACCOUNT, "us-east-1").expect("ours"), ours);
    for foreign in [
        "arn:aws:secretsmanager:us-east-1:999999999999:secret:rds!db-1-a1B2c3",
        "arn:aws:secretsmanager:eu-west-1:222233334444:secret:rds!db-1-a1B2c3",
        "arn:aws:ssm:us-east-1:222233334444:parameter/x",
        "not an arn",
    ] {
        assert!(exports(foreign).secret_in(ACCOUNT, "us-east-1").is_err(), "{foreign}");
    }
}

#[tokio::test]
async fn a_chain_the_probe_does_not_trust_fails_the_handshake() {
    let w = world();
    vend(&w, "dev", ACCOUNT);
    let zone = client_of(ACCOUNT).1;
    let balancer = "abc-trading-dev-edge.us-east-1.elb.amazonaws.com";
    w.edge.set_alias(
        ACCOUNT,
        &zone,
        &host(&w),
        AliasTarget { dns_name: balancer.into(), zone_id: "Z35SXDOTRQ7X7K".into() },
    );
    let names = vec![format!("*.{}", w.deps.tree.environment("dev").expect("dev").domain_name)];
    let trusted = StandIn::start(StandInOptions::new(names.clone()), Arc::new(Fixed(200))).expect("one stand-in");
    let other = StandIn::start(StandInOptions::new(names), Arc::new(Fixed(200))).expect("another");
    let target = EndpointTarget { account: ACCOUNT.into(), zone_id: zone, host: host(&w), path: "/".into() };
    let probe = |addresses| {
        let resolver =
            StandInResolver { zones: w.edge.clone(), addresses, load_balancer_suffix: ".elb.amazonaws.com".into() };
        TlsProbe::new(Arc::new(resolver), trusted.roots()).expect("probe")
    };
    let facts = probe(trusted.addresses).check(&target).await.expect("the trusted stand-in passes");
    assert_eq!(facts.status, 200);
    let err = probe(other.addresses).check(&target).await.expect_err("another CA's chain");
    assert!(matches!(err, EndpointError::Handshake { .. }), "{err:?}");
    // And a backend that is down behind a sound TLS front: the smoke path's status fails it.
    let down = StandIn::start(
        StandInOptions::new(vec![format!("*.{}", w.deps.tree.environment("dev").expect("dev").domain_name)]),
        Arc::new(Fixed(503)),
    )
    .expect("down");
    let resolver = StandInResolver {
        zones: w.edge.clone(),
        addresses: down.addresses,
        load_balancer_suffix: ".elb.amazonaws.com".into(),
    };
    let err = TlsProbe::new(Arc::new(resolver), down.roots()).expect("probe").check(&target).await.expect_err("503");
    assert!(matches!(err, EndpointError::Status { status: 503, .. }), "{err:?}");
}
