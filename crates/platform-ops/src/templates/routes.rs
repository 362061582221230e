//! Where the templates send health and SLO alarm state changes, read as the local runtime reads the templates: member baseline to the bus, rules to on-call.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::runtime::template::{ACCOUNT, Template};

const MEMBER: &str = "333333333333";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load(file: &str, parameters: &[(&str, &str)]) -> Template {
    let parameters: BTreeMap<String, String> = parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Template::load(&root().join(file), &parameters).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn control_plane() -> Template {
    load(
        super::CONTROL_PLANE_TEMPLATE,
        &[
            ("Environment", "dev"),
            ("OrganizationId", "o-abcdefghij"),
            ("ManagementAccountId", "111111111111"),
            ("AutomationAccountId", ACCOUNT),
            ("ImageRegistry", ACCOUNT),
            ("MemberRegions", "us-east-1"),
            ("DomainName", "abc-trading-dev.com"),
        ],
    )
}

fn alarm_event(account: &str, alarm: &str, state: &str) -> Value {
    json!({
        "version": "0", "id": "4f3a", "source": "aws.cloudwatch", "account": account,
        "detail-type": "CloudWatch Alarm State Change", "time": "2026-11-24T10:00:00Z", "region": "us-east-1",
        "resources": [format!("arn:aws:cloudwatch:us-east-1:{account}:alarm:{alarm}")],
        "detail": {"alarmName": alarm, "state": {"value": state, "reason": "Threshold Crossed"}, "previousState": {"value": "OK"}},
    })
}

/// The targets (logical ids) `event` reaches on `bus`, each with the input it gets.
fn targets(t: &Template, bus: &str, event: &Value) -> Vec<(String, Value)> {
    t.route(bus, event).into_iter().map(|(_, target, input)| (target.resource.clone(), input)).collect()
}

/// GIVEN a member account's health alarm forwarded to the environment's bus, or one of this
/// account's per-account alarms on its default bus THEN on-call gets `{"action": "alarm",
/// "event": <the whole event>}`, in every state; another environment's alarm, a remediation
/// alarm, this account's own control-plane alarm, or a member-named alarm from the wrong side
/// reaches nobody on the on-call route.
#[test]
fn health_and_slo_alarm_state_changes_reach_on_call_with_the_whole_event() {
    let t = control_plane();
    let on_call = |bus: &str, event: &Value| {
        targets(&t, bus, event)
            .into_iter()
            .filter(|(id, _)| id == "OnCallFunction")
            .map(|(_, input)| input)
            .collect::<Vec<_>>()
    };
    for state in ["ALARM", "OK", "INSUFFICIENT_DATA"] {
        let member = alarm_event(MEMBER, "abc-trading-dev-health-pod-restarts-core", state);
        assert_eq!(on_call("abc-trading-dev", &member), vec![json!({"action": "alarm", "event": member})], "{state}");
    }
    for own in [
        "abc-trading-dev-333333333333-health-errors-order-management",
        "abc-trading-dev-333333333333-slo-core-availability-fast-long",
    ] {
        let event = alarm_event(ACCOUNT, own, "ALARM");
        assert_eq!(on_call("default", &event), vec![json!({"action": "alarm", "event": event})], "{own}");
        assert!(on_call("default", &alarm_event(MEMBER, own, "ALARM")).is_empty(), "{own} from another account");
    }
    let refused = [
        ("abc-trading-dev", alarm_event(MEMBER, "abc-trading-prod-health-rds-cpu-high", "ALARM")),
        ("abc-trading-dev", alarm_event(MEMBER, "abc-trading-dev-remediate-nodes-cpu-high", "ALARM")),
        ("abc-trading-dev", alarm_event(ACCOUNT, "abc-trading-dev-health-rds-cpu-high", "ALARM")),
        ("default", alarm_event(ACCOUNT, "abc-trading-dev-health-rds-cpu-high", "ALARM")),
        ("default", alarm_event(ACCOUNT, "abc-trading-dev-dlq-not-empty", "ALARM")),
        ("default", alarm_event(ACCOUNT, "abc-trading-staging-333333333333-slo-core-latency-slow-short", "ALARM")),
    ];
    for (bus, event) in refused {
        assert!(on_call(bus, &event).is_empty(), "{bus}: {}", event["detail"]["alarmName"]);
    }
}

/// GIVEN the member baseline THEN both its remediation and its health alarms' state changes go
/// to the environment's bus, and no other alarm does.
#[test]
fn the_member_baseline_forwards_health_alarms_too() {
    let t = load(
        super::BASELINE_TEMPLATE,
        &[
            ("Environment", "dev"),
            ("HomeRegion", "us-east-1"),
            ("VpcCidr", "10.0.0.0/16"),
            ("PublicSubnetCidrs", "10.0.0.0/20,10.0.16.0/20,10.0.32.0/20"),
            ("PrivateSubnetCidrs", "10.0.48.0/20,10.0.64.0/20,10.0.80.0/20"),
            ("DomainName", "dev.example.com"),
            ("AutomationAccountId", ACCOUNT),
            ("OrganizationId", "o-abcdefghij"),
            ("CentralEventBusArn", &format!("arn:aws:events:us-east-1:{ACCOUNT}:event-bus/abc-trading-dev")),
            ("CentralLogDestinationName", "abc-trading-dev-logs"),
        ],
    );
    let forwarded = |alarm: &str| !targets(&t, "default", &alarm_event(MEMBER, alarm, "ALARM")).is_empty();
    assert!(forwarded("abc-trading-dev-health-axon-not-ready"));
    assert!(forwarded("abc-trading-dev-remediate-nodes-cpu-high"));
    assert!(!forwarded("abc-trading-dev-something-else"));
    assert!(!forwarded("abc-trading-prod-health-axon-not-ready"));
}

/// GIVEN the fleet dashboard's alarm status table THEN the log group it reads is the one the
/// alarm-state rules write to.
#[test]
fn the_alarm_status_table_reads_the_rules_log_group() {
    let t = control_plane();
    let name = t.properties["AlarmStateLogGroup"]["LogGroupName"].as_str().expect("log group name").to_string();
    assert_eq!(name, super::alarm_state_log_group(&super::tree()).replace("${Environment}", "dev"));
    assert_eq!(t.resources.get("AlarmStateLogPolicy").map(String::as_str), Some("AWS::Logs::ResourcePolicy"));
}
