//! The local paging receiver (`emulator::pager`) plays PagerDuty and Opsgenie faithfully enough to judge on-call's messages: incidents by dedup key, strict validation, SNS envelopes.

use std::io::{Read, Write};
use std::net::TcpStream;

use emulator::pager::{PagerReceiver, Provider, Status};
use on_call::alarm::AlarmState;
use on_call::format::{self, Incident, PagingKey, Step};
use platform_core::config::{AlarmSeverity, PageProvider};
use serde_json::{Value, json};

const KEY: &str = "R0UTINGKEY0000000000000000000000";

/// One POST as SNS makes it (text/plain, a JSON body); the status and the answer's body.
fn post(url: &str, body: &str) -> (u16, Value) {
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').expect("path");
    let mut s = TcpStream::connect(host).expect("connect");
    write!(
        s,
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out.get(9..12).and_then(|c| c.parse().ok()).expect("status");
    let answer = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    (status, serde_json::from_str(answer).unwrap_or(Value::Null))
}

fn trigger(dedup: &str, summary: &str) -> Value {
    json!({"routing_key": KEY, "event_action": "trigger", "dedup_key": dedup,
           "payload": {"summary": summary, "source": "dev/222233334444", "severity": "critical",
                       "custom_details": {"runbook": "docs/runbook.md#alarm-lb-5xx"}},
           "links": [{"href": "docs/runbook.md#alarm-lb-5xx", "text": "runbook"}]})
}

/// GIVEN trigger, trigger, resolve on one dedup key THEN one incident: opened, appended once, resolved.
#[test]
fn pagerduty_keeps_incidents_by_dedup_key() {
    let r = PagerReceiver::start(Some(KEY)).expect("receiver");
    let (status, answer) = post(&r.pagerduty_url(), &trigger("k-1", "first").to_string());
    assert_eq!(status, 202);
    assert_eq!(answer["dedup_key"], "k-1");
    assert_eq!(post(&r.pagerduty_url(), &trigger("k-1", "again").to_string()).0, 202);
    let resolve = json!({"routing_key": KEY, "event_action": "resolve", "dedup_key": "k-1"});
    assert_eq!(post(&r.pagerduty_url(), &resolve.to_string()).0, 202);
    let seen = r.snapshot();
    assert_eq!(seen.incidents.len(), 1);
    let i = &seen.incidents[0];
    assert_eq!(
        (i.provider, i.status, i.appended, i.summary.as_str()),
        (Provider::PagerDuty, Status::Resolved, 1, "first")
    );
    assert_eq!(i.actions, vec!["trigger", "trigger", "resolve"]);
    // After the resolve the same key opens a new incident; a resolve of a key never seen is accepted and kept.
    assert_eq!(post(&r.pagerduty_url(), &trigger("k-1", "later").to_string()).0, 202);
    let unknown = json!({"routing_key": KEY, "event_action": "resolve", "dedup_key": "nobody"});
    assert_eq!(post(&r.pagerduty_url(), &unknown.to_string()).0, 202);
    let seen = r.snapshot();
    assert_eq!(seen.incidents.len(), 2);
    assert_eq!(seen.incidents[1].status, Status::Triggered);
    assert_eq!(seen.unmatched, vec!["resolve nobody"]);
    assert!(seen.rejections.is_empty());
}

/// GIVEN malformed events THEN each is answered 400 and recorded as a rejection, naming the fault.
#[test]
fn pagerduty_rejects_bad_events() {
    let r = PagerReceiver::start(Some(KEY)).expect("receiver");
    let mut long = trigger("k", "s");
    long["payload"]["summary"] = json!("x".repeat(1025));
    let mut severity = trigger("k", "s");
    severity["payload"]["severity"] = json!("sev1");
    let mut unknown = trigger("k", "s");
    unknown["priority"] = json!("high");
    let mut key = trigger("k", "s");
    key["routing_key"] = json!("0".repeat(32));
    let mut no_payload = trigger("k", "s");
    no_payload.as_object_mut().expect("object").remove("payload");
    let mut no_href = trigger("k", "s");
    no_href["links"] = json!([{"text": "runbook"}]);
    let cases = [
        (long.to_string(), "`summary` is longer than 1024"),
        (severity.to_string(), "`severity` `sev1`"),
        (unknown.to_string(), "unknown field `priority`"),
        (key.to_string(), "`routing_key`"),
        (no_payload.to_string(), "`payload` is required"),
        (no_href.to_string(), "`href` is required"),
        (json!({"routing_key": KEY, "event_action": "resolve"}).to_string(), "`dedup_key` is required"),
        ("{\"routing_key\": ".to_string(), "not JSON"),
    ];
    for (body, why) in &cases {
        let (status, answer) = post(&r.pagerduty_url(), body);
        assert_eq!(status, 400, "{body}");
        assert!(answer["errors"][0].as_str().unwrap_or_default().contains(why), "{why}: {answer}");
    }
    let seen = r.snapshot();
    assert_eq!(seen.rejections.len(), cases.len());
    assert!(seen.incidents.is_empty());
}

/// GIVEN SNS's envelope (moto posts it even with raw delivery) THEN the message inside is the
/// event; a subscription confirmation is answered 200 and changes nothing.
#[test]
fn an_sns_envelope_is_unwrapped_and_a_confirmation_answered() {
    let r = PagerReceiver::start(None).expect("receiver");
    let envelope = json!({"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:paging",
                          "Message": trigger("k-2", "caf\u{e9} \u{1F600}").to_string(), "Timestamp": "2026-11-24T22:00:00.000Z"});
    assert_eq!(post(&r.pagerduty_url(), &envelope.to_string()).0, 202);
    let confirm = json!({"Type": "SubscriptionConfirmation", "TopicArn": "arn:aws:sns:us-east-1:123456789012:paging",
                         "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t"});
    assert_eq!(post(&r.pagerduty_url(), &confirm.to_string()).0, 200);
    let seen = r.snapshot();
    assert_eq!(seen.incidents.len(), 1);
    assert_eq!(seen.incidents[0].summary, "caf\u{e9} \u{1F600}", "escapes decoded");
    assert!(seen.requests[0].enveloped && !seen.requests[1].enveloped);
    assert_eq!(seen.confirmations.len(), 1);
    // Escaped by hand, surrogate pair included, as another JSON writer may send it.
    let escaped = r#"{"routing_key":"R0UTINGKEY0000000000000000000000","event_action":"trigger","dedup_key":"k-3","payload":{"summary":"caf\u00e9 \ud83d\ude00 \"q\"","source":"s","severity":"info"}}"#;
    assert_eq!(post(&r.pagerduty_url(), escaped).0, 202);
    assert_eq!(r.snapshot().incidents[1].summary, "caf\u{e9} \u{1F600} \"q\"");
}

/// GIVEN Opsgenie requests THEN alerts are kept by alias: a second create counts, a note is
/// added, close closes; a bad request is answered 422.
#[test]
fn opsgenie_keeps_alerts_by_alias() {
    let r = PagerReceiver::start(None).expect("receiver");
    let create = json!({"action": "create", "message": "lb 5xx", "alias": "a-1", "priority": "P1",
                        "details": {"account": "222233334444"}, "tags": ["dev"], "source": "abc-trading"});
    assert_eq!(post(&r.opsgenie_url(), &create.to_string()).0, 202);
    assert_eq!(post(&r.opsgenie_url(), &create.to_string()).0, 202);
    let note = json!({"action": "addNote", "alias": "a-1", "note": "still failing", "source": "abc-trading"});
    assert_eq!(post(&r.opsgenie_url(), &note.to_string()).0, 202);
    assert_eq!(post(&r.opsgenie_url(), &json!({"action": "close", "alias": "a-1"}).to_string()).0, 202);
    let seen = r.snapshot();
    assert_eq!(seen.incidents.len(), 1);
    let a = &seen.incidents[0];
    assert_eq!((a.provider, a.status, a.appended), (Provider::Opsgenie, Status::Resolved, 1));
    assert_eq!(a.notes, vec!["still failing"]);
    let mut long = create.clone();
    long["message"] = json!("m".repeat(131));
    let mut priority = create.clone();
    priority["priority"] = json!("P9");
    let mut tags = create.clone();
    tags["tags"] = json!((0..21).map(|i| i.to_string()).collect::<Vec<_>>());
    for bad in [long, priority, tags, json!({"action": "addNote", "alias": "a-1"}), json!({"action": "page"})] {
        assert_eq!(post(&r.opsgenie_url(), &bad.to_string()).0, 422, "{bad}");
    }
    assert_eq!(r.snapshot().rejections.len(), 5);
}

/// GIVEN on-call's own messages for each step, at the documented limits THEN the receiver takes every one.
#[test]
fn on_calls_messages_are_valid_for_both_providers() {
    let r = PagerReceiver::start(Some(KEY)).expect("receiver");
    let long = "x".repeat(30_000);
    let incident = Incident {
        dedup_key: "222233334444/abc-trading-dev-health-lb-5xx/1",
        environment: "dev",
        account: "222233334444",
        alarm: "abc-trading-dev-health-lb-5xx",
        description: &long,
        severity: AlarmSeverity::Page,
        state: AlarmState::Alarm,
        reason: &long,
        anchor: "alarm-lb-5xx",
        runbook_href: "docs/runbook.md#alarm-lb-5xx",
        updates: 0,
    };
    for (provider, url) in [(PageProvider::Pagerduty, r.pagerduty_url()), (PageProvider::Opsgenie, r.opsgenie_url())] {
        for step in [Step::Open, Step::Update, Step::Resolve] {
            let message = format::page_message(provider, &PagingKey::new(KEY), &incident, step);
            let (status, answer) = post(&url, &message);
            assert_eq!(status, 202, "{provider} {step:?}: {answer}");
        }
    }
    let seen = r.snapshot();
    assert!(seen.rejections.is_empty(), "{:?}", seen.rejections.first().map(|x| &x.reason));
    assert_eq!(seen.incidents.len(), 2);
    assert!(seen.incidents.iter().all(|i| i.status == Status::Resolved));
    // PagerDuty's update is a trigger appended to the incident; Opsgenie's is a note.
    assert_eq!(seen.incidents.iter().map(|i| (i.appended, i.notes.len())).collect::<Vec<_>>(), vec![(1, 0), (0, 2)]);
}
