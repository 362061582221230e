//! The adapters against the emulator and local stand-ins: pages through SNS to the local PagerDuty, incident records in the guard table, alarm states in CloudWatch, OpsItems against an awsJson1_1 stub.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use emulator::Emulator;
use emulator::pager::{PagerReceiver, Status};
use on_call::alarm::AlarmState;
use on_call::aws::{CloudWatchAlarmStates, GuardIncidents, OpsItemTickets, SnsPager};
use on_call::decide::Kind;
use on_call::fakes::{MemoryAlarmStates, MemoryIncidents, MemoryPager, MemoryTickets};
use on_call::format::PagingKey;
use on_call::handler::{Deps, Request, handle};
use on_call::ports::{
    AlarmStates, Channel, Claim, IncidentKey, IncidentRecord, IncidentStatus, Incidents, TicketOpen, TicketUpdate,
    Tickets,
};
use platform_core::config;
use platform_core::error::ErrorClass;
use platform_core::fakes::{CapturedMetrics, FakeParameterStore};
use platform_core::guard::GuardTable;
use platform_core::trust::Boundary;
use serde_json::{Value, json};

const AUTOMATION: &str = "123456789012";
const MEMBER: &str = "222233334444";
const KEY: &str = "R0UTINGKEY0000000000000000000000";

fn deps(pager: Arc<dyn on_call::ports::Pager>, tickets: Arc<dyn Tickets>, incidents: Arc<dyn Incidents>) -> Deps {
    let params = FakeParameterStore::default();
    params.insert(&format!("/abc-trading/accounts/dev/{MEMBER}/id"), MEMBER);
    Deps {
        boundary: Boundary {
            environment: "dev".into(),
            automation_account_id: AUTOMATION.into(),
            management_account_id: "111111111111".into(),
        },
        tree: config::load(&config::repository_config_dir()).expect("config"),
        parameters: Arc::new(params),
        parameter_prefix: "/abc-trading".into(),
        incidents,
        pager,
        tickets,
        alarms: Arc::new(MemoryAlarmStates::default()),
        paging_key: PagingKey::new(KEY),
        runbook_base_url: None,
        metrics: Arc::new(CapturedMetrics::default()),
        vended: Default::default(),
    }
}

fn event(alarm: &str, state: &str, minute: u32) -> Value {
    let ts = format!("2026-11-24T22:{minute:02}:00.000+0000");
    json!({
        "version": "0", "id": format!("e-{minute}"), "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": MEMBER, "time": ts, "region": "us-east-1", "resources": [],
        "detail": {"alarmName": alarm, "state": {"value": state, "reason": "Threshold Crossed", "timestamp": ts}}
    })
}

async fn deliver(deps: &Deps, event: Value) -> Kind {
    handle(Request::Alarm { event, now: None }, deps).await.expect("handled").kind
}

/// GIVEN the paging topic with an http subscription to the local PagerDuty THEN ALARM, ALARM, OK
/// through the real SNS adapter and the guard table make ONE incident: triggered, appended once,
/// resolved. moto posts during Publish (synchronously) and wraps even raw deliveries in its
/// envelope, which the receiver unwraps; it sends no SubscriptionConfirmation.
#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_pages_through_sns_once_appends_and_resolves() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let receiver = PagerReceiver::start(Some(KEY)).expect("receiver");
    let sns = aws_sdk_sns::Client::new(&emulator.sdk_config());
    let topic = sns.create_topic().name("abc-trading-dev-paging").send().await.expect("topic");
    let topic_arn = topic.topic_arn().expect("arn").to_string();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("http")
        .endpoint(receiver.pagerduty_url())
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .expect("subscribe");
    let dynamo = aws_sdk_dynamodb::Client::new(&emulator.sdk_config());
    GuardTable::create(dynamo.clone(), "guard").await.expect("table");
    let d = deps(
        Arc::new(SnsPager::new(sns, topic_arn)),
        Arc::new(MemoryTickets::default()),
        Arc::new(GuardIncidents::new(dynamo, "guard")),
    );
    let alarm = "abc-trading-dev-health-lb-5xx";
    assert_eq!(deliver(&d, event(alarm, "ALARM", 0)).await, Kind::Opened);
    assert_eq!(deliver(&d, event(alarm, "ALARM", 0)).await, Kind::Duplicate);
    assert_eq!(deliver(&d, event(alarm, "ALARM", 5)).await, Kind::Updated);
    assert_eq!(deliver(&d, event(alarm, "OK", 9)).await, Kind::Resolved);
    assert!(receiver.wait_for_requests(3, Duration::from_secs(10)), "{:?}", receiver.snapshot().requests);
    let seen = receiver.snapshot();
    assert!(seen.rejections.is_empty(), "{:?}", seen.rejections);
    assert_eq!(seen.requests.len(), 3, "the duplicate sent nothing");
    assert!(seen.requests.iter().all(|r| r.enveloped && r.status == 202));
    assert_eq!(seen.incidents.len(), 1, "{:?}", seen.incidents);
    let i = &seen.incidents[0];
    assert_eq!(i.key, format!("{MEMBER}/{alarm}/1"));
    assert_eq!((i.status, i.appended), (Status::Resolved, 1));
    assert_eq!(i.actions, vec!["trigger", "trigger", "resolve"]);
    assert!(seen.unmatched.is_empty());
}

fn record(version: u64, status: IncidentStatus) -> IncidentRecord {
    let at: DateTime<Utc> = "2026-11-24T22:00:00Z".parse().expect("time");
    IncidentRecord {
        episode: 1,
        dedup_key: "222233334444/abc-trading-dev-health-lb-5xx/1".into(),
        status,
        channel: Channel::Page,
        opened_at: at,
        resolved_at: (status == IncidentStatus::Resolved).then_some(at),
        updates: 2,
        ops_item: Some("oi-1".into()),
        applied: BTreeMap::from([("abc-trading-dev-health-lb-5xx".to_string(), at)]),
        version,
        writer: "invocation-1".into(),
    }
}

/// GIVEN the guard table THEN a record reads back as written, and a write expecting a version
/// that is not stored loses (racing creates: one wins).
#[tokio::test(flavor = "multi_thread")]
async fn incident_records_are_written_conditionally() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let dynamo = aws_sdk_dynamodb::Client::new(&emulator.sdk_config());
    GuardTable::create(dynamo.clone(), "guard").await.expect("table");
    let table = Arc::new(GuardIncidents::new(dynamo, "guard"));
    let key =
        IncidentKey { environment: "dev".into(), account: MEMBER.into(), name: "abc-trading-dev-health-lb-5xx".into() };
    assert_eq!(table.get(&key).await.expect("get"), None);
    let mut handles = Vec::new();
    for _ in 0..4 {
        let (table, key) = (table.clone(), key.clone());
        handles.push(tokio::spawn(async move { table.put(&key, &record(1, IncidentStatus::Open), None).await }));
    }
    let mut won = 0;
    for h in handles {
        won += usize::from(h.await.expect("task").expect("put") == Claim::Won);
    }
    assert_eq!(won, 1, "one create wins");
    assert_eq!(table.get(&key).await.expect("get"), Some(record(1, IncidentStatus::Open)));
    assert_eq!(table.put(&key, &record(2, IncidentStatus::Resolved), Some(7)).await.expect("stale"), Claim::Taken);
    assert_eq!(table.put(&key, &record(2, IncidentStatus::Resolved), Some(1)).await.expect("next"), Claim::Won);
    assert_eq!(table.get(&key).await.expect("get"), Some(record(2, IncidentStatus::Resolved)));
}

/// GIVEN metric alarms in CloudWatch THEN their states read back by name; a missing one is `None`.
#[tokio::test(flavor = "multi_thread")]
async fn alarm_states_are_read_from_cloudwatch() {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let cw = aws_sdk_cloudwatch::Client::new(&emulator.sdk_config());
    let name = "abc-trading-dev-222233334444-slo-core-availability-fast-short";
    cw.put_metric_alarm()
        .alarm_name(name)
        .namespace("ABC/Trading")
        .metric_name("Errors")
        .statistic(Statistic::Sum)
        .period(300)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .expect("alarm");
    let alarms = CloudWatchAlarmStates::new(cw.clone());
    let state = |s: Option<on_call::ports::AlarmStatus>| s.map(|s| s.state);
    cw.set_alarm_state().alarm_name(name).state_value(StateValue::Ok).state_reason("test").send().await.expect("set");
    assert_eq!(state(alarms.status(name).await.expect("status")), Some(AlarmState::Ok));
    cw.set_alarm_state()
        .alarm_name(name)
        .state_value(StateValue::Alarm)
        .state_reason("test")
        .send()
        .await
        .expect("set");
    let status = alarms.status(name).await.expect("status").expect("exists");
    assert_eq!(status.state, AlarmState::Alarm);
    assert!(status.since.is_some(), "moto reports when the state changed");
    assert_eq!(alarms.status("abc-trading-dev-nothing").await.expect("status"), None);
}

/// A stand-in for OpsCenter speaking awsJson1_1 (moto has no OpsItems): CreateOpsItem
/// de-duplicates open items by `/aws/dedup` (answering OpsItemAlreadyExistsException with the
/// id), UpdateOpsItem refuses an unknown id. Every request is kept as (target, body).
#[derive(Debug, Default)]
struct OpsCenter {
    calls: Vec<(String, Value)>,
    /// id, dedup string, status
    items: Vec<(String, String, String)>,
}

fn ops_center() -> (String, Arc<Mutex<OpsCenter>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let state = Arc::new(Mutex::new(OpsCenter::default()));
    let shared = state.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let _ = answer(conn, &shared);
        }
    });
    (url, state)
}

fn answer(stream: TcpStream, state: &Mutex<OpsCenter>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let (mut target, mut length, mut line) = (String::new(), 0, String::new());
    reader.read_line(&mut line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or_default();
        match name.trim().to_ascii_lowercase().as_str() {
            "x-amz-target" => target = value.trim().to_string(),
            "content-length" => length = value.trim().parse().unwrap_or(0),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.calls.push((target.clone(), body.clone()));
    let (status, reply) = match target.as_str() {
        "AmazonSSM.CreateOpsItem" => {
            let raw = body["OperationalData"]["/aws/dedup"]["Value"].as_str().unwrap_or_default();
            let dedup = serde_json::from_str::<Value>(raw).unwrap_or_default()["dedupString"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            match s.items.iter().find(|(_, d, st)| *d == dedup && st == "Open") {
                Some((id, _, _)) => (
                    400,
                    json!({"__type": "OpsItemAlreadyExistsException", "message": "The OpsItem already exists.", "OpsItemId": id}),
                ),
                None => {
                    let id = format!("oi-{:012x}", s.items.len() + 1);
                    s.items.push((id.clone(), dedup, "Open".into()));
                    (200, json!({"OpsItemId": id}))
                }
            }
        }
        "AmazonSSM.UpdateOpsItem" => {
            let id = body["OpsItemId"].as_str().unwrap_or_default();
            match s.items.iter_mut().find(|(i, _, _)| i == id) {
                Some(item) => {
                    if let Some(st) = body["Status"].as_str() {
                        item.2 = st.to_string();
                    }
                    (200, json!({}))
                }
                None => {
                    (400, json!({"__type": "OpsItemNotFoundException", "Message": format!("OpsItem {id} not found")}))
                }
            }
        }
        _ => (400, json!({"__type": "InvalidAction", "message": target})),
    };
    let reply = reply.to_string();
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    )?;
    out.flush()
}

/// GIVEN the OpsItems adapter against the stub THEN a create carries the dedup string, source,
/// severity and priority; a retried create answers the same item; an unknown id is NotFound;
/// and the handler's ticket lifecycle ends in one Resolved item.
#[tokio::test(flavor = "multi_thread")]
async fn ops_items_are_created_once_updated_and_resolved() {
    let (url, center) = ops_center();
    let ssm = aws_sdk_ssm::Client::new(&emulator::Remote::new(&url).expect("loopback").sdk_config());
    let tickets = OpsItemTickets::new(ssm.clone());
    let ticket = TicketOpen {
        dedup: "222233334444/abc-trading-dev-health-rds-cpu-high/1".into(),
        title: "[dev] abc-trading-dev-health-rds-cpu-high in account 222233334444".into(),
        description: "PostgreSQL CPU above 80% for 15 minutes".into(),
        source: "abc-trading".into(),
        severity: "3".into(),
        priority: 3,
        category: "Availability".into(),
        data: BTreeMap::from([("account".to_string(), MEMBER.to_string())]),
    };
    let id = tickets.open(&ticket).await.expect("open");
    assert_eq!(tickets.open(&ticket).await.expect("again"), id, "the dedup string finds the open item");
    let update = TicketUpdate { data: BTreeMap::from([("updates".to_string(), "1".to_string())]) };
    tickets.update(&id, &update).await.expect("update");
    let e = tickets.update("oi-999999999999", &update).await.expect_err("unknown");
    assert_eq!(e.class, ErrorClass::NotFound, "{e}");
    tickets.resolve(&id, &update).await.expect("resolve");
    {
        let c = center.lock().unwrap_or_else(|p| p.into_inner());
        let create = &c.calls[0].1;
        assert_eq!(create["OperationalData"]["/aws/dedup"]["Type"], "SearchableString");
        assert_eq!(create["OperationalData"]["/aws/dedup"]["Value"], json!({"dedupString": ticket.dedup}).to_string());
        assert_eq!((create["Source"].as_str(), create["Severity"].as_str()), (Some("abc-trading"), Some("3")));
        assert_eq!(create["Priority"], 3);
        assert_eq!(create["OperationalData"]["account"]["Value"], MEMBER);
        assert_eq!(c.calls[2].1["OperationalData"]["updates"]["Type"], "String");
        assert_eq!(c.items, vec![(id.clone(), ticket.dedup.clone(), "Resolved".to_string())]);
    }

    // The handler on the adapter: ALARM, ALARM, OK on a ticket alarm.
    let d = deps(
        Arc::new(MemoryPager::default()),
        Arc::new(OpsItemTickets::new(ssm)),
        Arc::new(MemoryIncidents::default()),
    );
    let alarm = "abc-trading-dev-health-rds-cpu-high";
    assert_eq!(deliver(&d, event(alarm, "ALARM", 0)).await, Kind::Opened);
    assert_eq!(deliver(&d, event(alarm, "ALARM", 4)).await, Kind::Updated);
    assert_eq!(deliver(&d, event(alarm, "OK", 8)).await, Kind::Resolved);
    let c = center.lock().unwrap_or_else(|p| p.into_inner());
    assert_eq!(c.items.len(), 2);
    assert_eq!(c.items[1].1, format!("{MEMBER}/{alarm}/1"));
    assert_eq!(c.items[1].2, "Resolved");
    let last = &c.calls.last().expect("calls").1;
    assert!(last["Description"].is_null() && last["Status"] == "Resolved", "{last}");
}
