//! On-call on fakes: the boundary checks, each step of an incident's life, duplicates and races, pages against tickets, and burn pairs.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use on_call::alarm::AlarmState;
use on_call::decide::Kind;
use on_call::fakes::{MemoryAlarmStates, MemoryIncidents, MemoryPager, MemoryTickets};
use on_call::format::PagingKey;
use on_call::handler::{Deps, Handled, HandlerError, Request, handle};
use on_call::ports::{AlarmStatus, Channel, IncidentStatus};
use platform_core::config::{self, ConfigTree, PageProvider, TicketSystem};
use platform_core::fakes::{CapturedMetrics, FakeParameterStore};
use platform_core::trust::Boundary;
use serde_json::{Value, json};

const AUTOMATION: &str = "123456789012";
/// A vended dev account.
const MEMBER: &str = "222233334444";
/// An account nobody vended.
const STRANGER: &str = "333344445555";
const KEY: &str = "R0UTINGKEY0000000000000000000000";

/// A member page alarm, a member ticket alarm and the monitoring account's burn pair.
const LB_5XX: &str = "abc-trading-dev-health-lb-5xx";
const RDS_CPU: &str = "abc-trading-dev-health-rds-cpu-high";
const FAST_LONG: &str = "abc-trading-dev-222233334444-slo-core-availability-fast-long";
const FAST_SHORT: &str = "abc-trading-dev-222233334444-slo-core-availability-fast-short";

struct World {
    deps: Deps,
    pager: Arc<MemoryPager>,
    tickets: Arc<MemoryTickets>,
    incidents: Arc<MemoryIncidents>,
    alarms: Arc<MemoryAlarmStates>,
    metrics: Arc<CapturedMetrics>,
}

fn tree() -> ConfigTree {
    config::load(&config::repository_config_dir()).expect("config")
}

fn world_with(tree: ConfigTree) -> World {
    let params = FakeParameterStore::default();
    params.insert(&format!("/abc-trading/accounts/dev/{MEMBER}/id"), MEMBER);
    let pager = Arc::new(MemoryPager::default());
    let tickets = Arc::new(MemoryTickets::default());
    let incidents = Arc::new(MemoryIncidents::default());
    let alarms = Arc::new(MemoryAlarmStates::default());
    let metrics = Arc::new(CapturedMetrics::default());
    let deps = Deps {
        boundary: Boundary {
            environment: "dev".into(),
            automation_account_id: AUTOMATION.into(),
            management_account_id: "111111111111".into(),
        },
        tree,
        parameters: Arc::new(params),
        parameter_prefix: "/abc-trading".into(),
        incidents: incidents.clone(),
        pager: pager.clone(),
        tickets: tickets.clone(),
        alarms: alarms.clone(),
        paging_key: PagingKey::new(KEY),
        runbook_base_url: None,
        metrics: metrics.clone(),
        vended: Default::default(),
    };
    World { deps, pager, tickets, incidents, alarms, metrics }
}

fn world() -> World {
    world_with(tree())
}

fn at(minutes: i64) -> DateTime<Utc> {
    "2026-11-24T22:00:00Z".parse::<DateTime<Utc>>().expect("time") + Duration::minutes(minutes)
}

/// The event EventBridge delivers for `alarm` entering `state` at minute `minute`, sent by `sender`.
fn event(alarm: &str, sender: &str, state: &str, minute: i64) -> Value {
    let ts = at(minute).format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
    json!({
        "version": "0", "id": format!("e-{minute}"), "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": sender, "time": ts, "region": "us-east-1",
        "resources": [format!("arn:aws:cloudwatch:us-east-1:{sender}:alarm:{alarm}")],
        "detail": {"alarmName": alarm,
                   "state": {"value": state, "reason": format!("Threshold Crossed at minute {minute}"), "timestamp": ts},
                   "previousState": {"value": "OK", "reason": "", "timestamp": "2026-11-24T21:00:00.000+0000"}}
    })
}

async fn deliver(w: &World, event: Value) -> Result<Handled, HandlerError> {
    handle(Request::Alarm { event, now: Some(at(0)) }, &w.deps).await
}

fn actions(w: &World) -> Vec<(String, String)> {
    w.pager
        .messages()
        .iter()
        .map(|m| {
            (m["event_action"].as_str().unwrap_or("?").to_string(), m["dedup_key"].as_str().unwrap_or("?").to_string())
        })
        .collect()
}

/// GIVEN a page alarm THEN ALARM opens one incident, a later ALARM appends to it (counted), OK resolves it,
/// each a PagerDuty event on the same dedup key.
#[tokio::test]
async fn a_page_is_opened_once_updated_and_resolved() {
    let w = world();
    let opened = deliver(&w, event(LB_5XX, MEMBER, "ALARM", 0)).await.expect("opened");
    let incident = format!("{MEMBER}/{LB_5XX}/1");
    assert_eq!(opened.kind, Kind::Opened);
    assert_eq!((opened.channel, opened.updates), (Channel::Page, 0));
    assert_eq!(opened.incident.as_deref(), Some(incident.as_str()));
    assert_eq!(opened.runbook, "docs/runbook.md#alarm-lb-5xx");
    assert_eq!(serde_json::to_value(&opened).expect("json")["severity"], "critical");
    let first = &w.pager.messages()[0];
    assert_eq!(first["routing_key"], KEY);
    assert_eq!(first["payload"]["custom_details"]["account"], MEMBER);
    assert_eq!(first["payload"]["custom_details"]["runbook"], "docs/runbook.md#alarm-lb-5xx");
    assert_eq!(first["payload"]["severity"], "critical", "from the config, not the payload");

    let updated = deliver(&w, event(LB_5XX, MEMBER, "ALARM", 5)).await.expect("updated");
    assert_eq!((updated.kind, updated.updates), (Kind::Updated, 1));
    let again = deliver(&w, event(LB_5XX, MEMBER, "ALARM", 7)).await.expect("updated again");
    assert_eq!((again.kind, again.updates), (Kind::Updated, 2));
    let resolved = deliver(&w, event(LB_5XX, MEMBER, "OK", 9)).await.expect("resolved");
    assert_eq!(resolved.kind, Kind::Resolved);
    assert_eq!(
        actions(&w),
        vec![
            ("trigger".to_string(), incident.clone()),
            ("trigger".to_string(), incident.clone()),
            ("trigger".to_string(), incident.clone()),
            ("resolve".to_string(), incident.clone()),
        ]
    );
    let records = w.incidents.all();
    let record = records.values().next().expect("one record");
    assert_eq!((record.status, record.updates, record.resolved_at), (IncidentStatus::Resolved, 2, Some(at(9))));

    // The next ALARM is the next incident, with its own key.
    let next = deliver(&w, event(LB_5XX, MEMBER, "ALARM", 30)).await.expect("reopened");
    assert_eq!(next.kind, Kind::Opened);
    assert_eq!(next.incident, Some(format!("{MEMBER}/{LB_5XX}/2")));
    assert_eq!(next.updates, 0);
}

/// GIVEN one transition delivered twice (or an older one late) THEN the second changes nothing.
#[tokio::test]
async fn a_redelivered_transition_is_a_duplicate() {
    let w = world();
    let e = event(LB_5XX, MEMBER, "ALARM", 0);
    assert_eq!(deliver(&w, e.clone()).await.expect("first").kind, Kind::Opened);
    let dup = deliver(&w, e.clone()).await.expect("second");
    assert_eq!((dup.kind, dup.updates), (Kind::Duplicate, 0));
    let ok = event(LB_5XX, MEMBER, "OK", 4);
    assert_eq!(deliver(&w, ok.clone()).await.expect("resolved").kind, Kind::Resolved);
    assert_eq!(deliver(&w, ok).await.expect("again").kind, Kind::Duplicate);
    assert_eq!(deliver(&w, e).await.expect("late").kind, Kind::Duplicate, "older than the last applied");
    assert_eq!(w.pager.messages().len(), 2, "one trigger, one resolve");
}

/// GIVEN an incident written whose answer was lost (the SDK's retry refused by its own write)
/// THEN the invocation answers what it did (opened, updated), not a duplicate, and nothing is
/// sent twice.
#[tokio::test]
async fn a_write_whose_answer_was_lost_is_recognised_as_its_own() {
    let w = world();
    w.incidents.lose_next_answer(1);
    assert_eq!(deliver(&w, event(LB_5XX, MEMBER, "ALARM", 0)).await.expect("opened").kind, Kind::Opened);
    w.incidents.lose_next_answer(1);
    let updated = deliver(&w, event(LB_5XX, MEMBER, "ALARM", 5)).await.expect("updated");
    assert_eq!((updated.kind, updated.updates), (Kind::Updated, 1));
    assert_eq!(w.pager.messages().len(), 2, "one trigger each");
}

/// GIVEN two deliveries of one transition that both read before either writes THEN one opens,
/// the other is a duplicate, and every message carries the same dedup key (PagerDuty merges them).
#[tokio::test(flavor = "multi_thread")]
async fn racing_deliveries_open_one_incident() {
    let w = world();
    w.incidents.race(2);
    let e = event(LB_5XX, MEMBER, "ALARM", 0);
    let (a, b) = tokio::join!(deliver(&w, e.clone()), deliver(&w, e.clone()));
    let mut kinds = vec![a.expect("a").kind, b.expect("b").kind];
    kinds.sort_by_key(|k| k.to_string());
    assert_eq!(kinds, vec![Kind::Duplicate, Kind::Opened]);
    assert_eq!(w.incidents.all().len(), 1);
    let keys: std::collections::BTreeSet<_> = actions(&w).into_iter().collect();
    assert_eq!(keys.len(), 1, "one dedup key: {keys:?}");

    // The same race on a ticket: one OpsItem.
    let t = world();
    t.incidents.race(2);
    let e = event(RDS_CPU, MEMBER, "ALARM", 0);
    let (a, b) = tokio::join!(deliver(&t, e.clone()), deliver(&t, e.clone()));
    let (a, b) = (a.expect("a"), b.expect("b"));
    assert_eq!(t.tickets.all().len(), 1);
    assert_eq!(a.ops_item, b.ops_item);
}

/// GIVEN OK (or INSUFFICIENT_DATA) with nothing open THEN nothing is sent.
#[tokio::test]
async fn ok_with_nothing_open_does_nothing() {
    let w = world();
    let h = deliver(&w, event(LB_5XX, MEMBER, "OK", 0)).await.expect("ok");
    assert_eq!((h.kind, h.incident), (Kind::NoIncident, None));
    let h = deliver(&w, event(LB_5XX, MEMBER, "INSUFFICIENT_DATA", 1)).await.expect("no data");
    assert_eq!(h.kind, Kind::NoIncident);
    assert!(w.pager.messages().is_empty() && w.tickets.all().is_empty() && w.incidents.all().is_empty());
}

fn refused(r: Result<Handled, HandlerError>) -> (String, &'static str) {
    let e = r.expect_err("refused");
    (e.to_string(), e.error_type())
}

/// GIVEN a sender, environment, account or name outside the boundary THEN it is refused, naming it.
#[tokio::test]
async fn what_is_outside_the_boundary_is_refused() {
    let w = world();
    let (m, t) = refused(deliver(&w, event(LB_5XX, STRANGER, "ALARM", 0)).await);
    assert_eq!(t, "Untrusted");
    assert!(m.contains(STRANGER), "{m}");
    let (m, t) = refused(deliver(&w, event(LB_5XX, AUTOMATION, "ALARM", 0)).await);
    assert_eq!(t, "Untrusted", "a member's alarm from the automation account: {m}");
    let (m, t) = refused(deliver(&w, event(FAST_LONG, MEMBER, "ALARM", 0)).await);
    assert_eq!(t, "Untrusted", "a monitoring alarm sent by a member: {m}");
    assert!(m.contains(MEMBER), "{m}");
    let unvended = FAST_LONG.replace(MEMBER, STRANGER);
    let (m, t) = refused(deliver(&w, event(&unvended, AUTOMATION, "ALARM", 0)).await);
    assert_eq!(t, "Untrusted");
    assert!(m.contains(STRANGER) && m.contains("not a vended account"), "{m}");
    let (m, t) = refused(deliver(&w, event("abc-trading-prod-health-lb-5xx", MEMBER, "ALARM", 0)).await);
    assert_eq!(t, "Untrusted");
    assert!(m.contains("`prod`"), "{m}");
    let (m, t) = refused(deliver(&w, event("abc-trading-dev-health-kernel-panic", MEMBER, "ALARM", 0)).await);
    assert_eq!(t, "InvalidRequest");
    assert!(m.contains("`abc-trading-dev-health-kernel-panic`"), "{m}");
    let mut other = event(LB_5XX, MEMBER, "ALARM", 0);
    other["source"] = json!("abc.platform");
    let (m, t) = refused(deliver(&w, other).await);
    assert_eq!(t, "InvalidRequest");
    assert!(m.contains("`abc.platform`"), "{m}");
    assert!(w.pager.messages().is_empty() && w.incidents.all().is_empty(), "nothing acted on");
}

/// GIVEN a ticket alarm THEN an OpsItem is opened (de-duplicated by the incident key), updated
/// while the alarm stays and resolved on OK; nothing is paged.
#[tokio::test]
async fn a_ticket_alarm_goes_to_ops_items() {
    let w = world();
    let opened = deliver(&w, event(RDS_CPU, MEMBER, "ALARM", 0)).await.expect("opened");
    assert_eq!((opened.kind, opened.channel), (Kind::Opened, Channel::Ticket));
    assert_eq!(serde_json::to_value(&opened).expect("json")["severity"], "warning");
    let id = opened.ops_item.clone().expect("ops item");
    let item = w.tickets.get(&id).expect("item");
    assert_eq!(item.opened.dedup, format!("{MEMBER}/{RDS_CPU}/1"));
    assert_eq!((item.opened.severity.as_str(), item.opened.priority), ("3", 3));
    assert_eq!(item.opened.source, "abc-trading");
    assert!(item.opened.description.contains("docs/runbook.md#alarm-rds-cpu-high"), "{}", item.opened.description);
    assert_eq!(item.data["account"], MEMBER);
    assert_eq!(item.data["alarm"], RDS_CPU);
    let updated = deliver(&w, event(RDS_CPU, MEMBER, "ALARM", 5)).await.expect("updated");
    assert_eq!((updated.kind, updated.updates, updated.ops_item.as_deref()), (Kind::Updated, 1, Some(id.as_str())));
    assert_eq!(w.tickets.get(&id).expect("item").data["updates"], "1");
    let resolved = deliver(&w, event(RDS_CPU, MEMBER, "OK", 9)).await.expect("resolved");
    assert_eq!(resolved.kind, Kind::Resolved);
    assert_eq!(w.tickets.get(&id).expect("item").status, "Resolved");
    assert!(w.pager.messages().is_empty(), "a ticket pages nobody");
    // The monitoring account's error-rate alarm is a ticket about the account in its name.
    let errors = format!("abc-trading-dev-{MEMBER}-health-errors-audit");
    let h = deliver(&w, event(&errors, AUTOMATION, "ALARM", 0)).await.expect("errors");
    assert_eq!((h.kind, h.channel, h.account.as_str()), (Kind::Opened, Channel::Ticket, MEMBER));
    assert_eq!(h.runbook, "docs/runbook.md#alarm-service-errors");
}

/// GIVEN the side effect done but the record's write lost THEN the retry repeats it on the same
/// dedup key (PagerDuty appends, OpsCenter answers the same item) and records one incident.
#[tokio::test]
async fn a_retry_after_a_lost_write_repeats_nothing_visible() {
    let w = world();
    w.incidents.fail_next_put(1);
    let e = event(LB_5XX, MEMBER, "ALARM", 0);
    assert_eq!(refused(deliver(&w, e.clone()).await).1, "Transient");
    assert_eq!(deliver(&w, e).await.expect("retry").kind, Kind::Opened);
    let keys: std::collections::BTreeSet<_> = actions(&w).into_iter().collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let t = world();
    t.incidents.fail_next_put(1);
    let e = event(RDS_CPU, MEMBER, "ALARM", 0);
    assert!(deliver(&t, e.clone()).await.is_err());
    assert_eq!(deliver(&t, e).await.expect("retry").kind, Kind::Opened);
    assert_eq!(t.tickets.all().len(), 1, "the dedup string found the first");
    // A failed page records nothing: the retry opens.
    let p = world();
    p.pager.fail_next(1);
    let e = event(LB_5XX, MEMBER, "ALARM", 0);
    assert!(deliver(&p, e.clone()).await.is_err());
    assert!(p.incidents.all().is_empty());
    assert_eq!(deliver(&p, e).await.expect("retry").kind, Kind::Opened);
}

fn status(state: AlarmState, minute: i64) -> AlarmStatus {
    AlarmStatus { state, since: Some(at(minute)) }
}

/// GIVEN a burn window in ALARM THEN it waits for its partner; the partner's ALARM opens one
/// incident for the pair, and the first window's own delivery is then a duplicate.
#[tokio::test]
async fn a_burn_pair_pages_when_both_windows_alarm_and_resolves_on_either_ok() {
    let w = world();
    w.alarms.set(FAST_SHORT, status(AlarmState::Ok, -30));
    let waiting = deliver(&w, event(FAST_LONG, AUTOMATION, "ALARM", 0)).await.expect("waiting");
    assert_eq!((waiting.kind, waiting.incident.as_deref()), (Kind::WaitingForPartner, None));
    assert_eq!(w.alarms.asked(), vec![FAST_SHORT.to_string()]);
    assert!(w.pager.messages().is_empty());

    w.alarms.set(FAST_LONG, status(AlarmState::Alarm, 0));
    let opened = deliver(&w, event(FAST_SHORT, AUTOMATION, "ALARM", 2)).await.expect("opened");
    let stem = "abc-trading-dev-222233334444-slo-core-availability-fast";
    assert_eq!(opened.kind, Kind::Opened);
    assert_eq!(opened.incident, Some(format!("{MEMBER}/{stem}/1")));
    assert_eq!((opened.channel, opened.account.as_str()), (Channel::Page, MEMBER));
    assert_eq!(opened.runbook, "docs/runbook.md#slo-burn");
    let dup = deliver(&w, event(FAST_LONG, AUTOMATION, "ALARM", 0)).await.expect("redelivered");
    assert_eq!(dup.kind, Kind::Duplicate, "the long window's ALARM was part of the opening");
    let update = deliver(&w, event(FAST_LONG, AUTOMATION, "ALARM", 4)).await.expect("update");
    assert_eq!((update.kind, update.updates), (Kind::Updated, 1));

    let resolved = deliver(&w, event(FAST_SHORT, AUTOMATION, "OK", 6)).await.expect("short ok");
    assert_eq!(resolved.kind, Kind::Resolved);
    let after = deliver(&w, event(FAST_LONG, AUTOMATION, "OK", 20)).await.expect("long ok");
    assert_eq!(after.kind, Kind::NoIncident, "the pair's incident is already resolved");
    let keys: Vec<_> = actions(&w).into_iter().map(|(a, k)| format!("{a} {k}")).collect();
    let k = format!("{MEMBER}/{stem}/1");
    assert_eq!(keys, vec![format!("trigger {k}"), format!("trigger {k}"), format!("resolve {k}")]);

    // The long window's OK resolves as well.
    let v = world();
    v.alarms.set(FAST_LONG, status(AlarmState::Alarm, 0));
    assert_eq!(deliver(&v, event(FAST_SHORT, AUTOMATION, "ALARM", 1)).await.expect("open").kind, Kind::Opened);
    assert_eq!(deliver(&v, event(FAST_LONG, AUTOMATION, "OK", 3)).await.expect("long ok").kind, Kind::Resolved);
    // A missing partner alarm never opens.
    let m = world();
    assert_eq!(
        deliver(&m, event(FAST_SHORT, AUTOMATION, "ALARM", 1)).await.expect("alone").kind,
        Kind::WaitingForPartner
    );
}

/// GIVEN the provider is Opsgenie THEN the incident is an alert by alias: create, a note, close.
#[tokio::test]
async fn opsgenie_alerts_are_created_noted_and_closed() {
    let mut tree = tree();
    tree.monitoring.paging.provider = PageProvider::Opsgenie;
    let w = world_with(tree);
    for (state, minute) in [("ALARM", 0), ("ALARM", 5), ("OK", 9)] {
        deliver(&w, event(LB_5XX, MEMBER, state, minute)).await.expect("handled");
    }
    let messages = w.pager.messages();
    let actions: Vec<_> = messages.iter().map(|m| m["action"].as_str().unwrap_or("?")).collect();
    assert_eq!(actions, vec!["create", "addNote", "close"]);
    assert!(messages.iter().all(|m| m["alias"] == format!("{MEMBER}/{LB_5XX}/1")));
    assert_eq!(messages[0]["priority"], "P1");
    assert!(messages.iter().all(|m| !m.to_string().contains(KEY)), "the key is not in an Opsgenie body");
}

/// GIVEN tickets configured for Incident Manager THEN a ticket alarm is refused as unsupported; pages still work.
#[tokio::test]
async fn an_unsupported_ticket_system_is_refused() {
    let mut tree = tree();
    tree.monitoring.paging.tickets = TicketSystem::IncidentManager;
    let w = world_with(tree);
    let (m, t) = refused(deliver(&w, event(RDS_CPU, MEMBER, "ALARM", 0)).await);
    assert_eq!(t, "Unsupported");
    assert!(m.contains("`incident-manager`"), "{m}");
    assert_eq!(deliver(&w, event(LB_5XX, MEMBER, "ALARM", 0)).await.expect("page").kind, Kind::Opened);
}

/// GIVEN transitions THEN each is one EMF document with its outcome and channel.
#[tokio::test]
async fn each_transition_is_counted_by_outcome() {
    let w = world();
    deliver(&w, event(LB_5XX, MEMBER, "ALARM", 0)).await.expect("opened");
    deliver(&w, event(LB_5XX, MEMBER, "ALARM", 0)).await.expect("duplicate");
    let docs = w.metrics.documents();
    let outcomes: Vec<_> = docs.iter().map(|d| d["Outcome"].as_str().unwrap_or("?").to_string()).collect();
    assert_eq!(outcomes, vec!["opened", "duplicate"]);
    assert_eq!(docs[0]["Channel"], "page");
    assert_eq!(docs[0]["Environment"], "dev");
    assert_eq!(docs[0]["AlarmTransitions"], 1);
}

/// GIVEN a request THEN its action is `alarm`, and nothing else is accepted.
#[test]
fn the_action_is_alarm() {
    assert_eq!(<Request as strum::VariantNames>::VARIANTS, &["alarm"]);
    let r: Result<Request, _> = serde_json::from_value(json!({"action": "page", "event": {}}));
    assert!(r.is_err());
}
