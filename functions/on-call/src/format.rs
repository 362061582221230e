//! What an incident says to each channel: PagerDuty Events API v2 and Opsgenie Alert API messages, and the OpsItem's fields, within each one's documented limits.

use std::collections::BTreeMap;

use platform_core::config::{AlarmSeverity, PageProvider};
use serde::{Deserialize, Serialize};

use crate::alarm::AlarmState;
use crate::ports::{TicketOpen, TicketUpdate};

/// PagerDuty: `payload.summary` is at most 1024 characters, `dedup_key` at most 255.
pub const SUMMARY_MAX: usize = 1024;
pub const DEDUP_KEY_MAX: usize = 255;
/// Opsgenie: `message` at most 130 characters, `alias` 512, `description` 15000, `source`
/// 100, `note` 25000, at most 20 `tags` of 50 characters, `details` 8000 characters in all.
pub const MESSAGE_MAX: usize = 130;
pub const ALIAS_MAX: usize = 512;
pub const DESCRIPTION_MAX: usize = 15_000;
pub const SOURCE_MAX: usize = 100;
pub const NOTE_MAX: usize = 25_000;
pub const TAGS_MAX: usize = 20;
pub const TAG_MAX: usize = 50;
pub const DETAILS_MAX: usize = 8_000;
/// OpsItems: `Title` at most 1024 characters, `Description` 2048.
pub const TITLE_MAX: usize = 1024;
pub const TICKET_DESCRIPTION_MAX: usize = 2048;
/// Who the messages say they come from.
pub const SOURCE: &str = "abc-trading";

/// The provider's routing key (PagerDuty) or API key (Opsgenie): never printed, not even by `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct PagingKey(String);

impl PagingKey {
    pub fn new(key: impl Into<String>) -> Self {
        PagingKey(key.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PagingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PagingKey(redacted)")
    }
}

/// Where an incident is in its life, for the message that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Open,
    Update,
    Resolve,
}

/// Everything a message says about one incident, whichever the channel.
#[derive(Debug, Clone)]
pub struct Incident<'a> {
    pub dedup_key: &'a str,
    pub environment: &'a str,
    pub account: &'a str,
    pub alarm: &'a str,
    pub description: &'a str,
    pub severity: AlarmSeverity,
    pub state: AlarmState,
    pub reason: &'a str,
    /// The runbook anchor (`alarm-lb-5xx`).
    pub anchor: &'a str,
    /// Where the runbook's section is read: a URL when the deployment has one, else `docs/runbook.md#<anchor>`.
    pub runbook_href: &'a str,
    /// How many updates the incident had before this message.
    pub updates: u32,
}

/// `docs/runbook.md#<anchor>`, as every notification of the platform names a runbook section.
pub fn runbook(anchor: &str) -> String {
    format!("docs/runbook.md#{anchor}")
}

/// `text` cut to at most `max` characters, the cut marked with `…`.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `<account>/<alarm or burn pair>/<episode>`: one per incident, the same on every retry. A
/// key too long for PagerDuty keeps its start and gets a hash of the whole, so it stays unique.
pub fn dedup_key(account: &str, key: &str, episode: u32) -> String {
    let full = format!("{account}/{key}/{episode}");
    if full.len() <= DEDUP_KEY_MAX {
        return full;
    }
    // FNV-1a: stable across builds and platforms, which std's hasher does not promise.
    let hash = full.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let tail = format!("#{hash:016x}/{episode}");
    let head: String = full.chars().take(DEDUP_KEY_MAX - tail.len()).collect();
    format!("{head}{tail}")
}

/// PagerDuty's severities; a page is critical, a ticket a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum PagerDutySeverity {
    Critical,
    Error,
    Warning,
    Info,
}

impl From<AlarmSeverity> for PagerDutySeverity {
    fn from(s: AlarmSeverity) -> Self {
        match s {
            AlarmSeverity::Page => PagerDutySeverity::Critical,
            AlarmSeverity::Ticket => PagerDutySeverity::Warning,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventAction {
    Trigger,
    Resolve,
}

/// A PagerDuty Events API v2 event. An update is a `trigger` with the incident's `dedup_key`:
/// PagerDuty appends it to the open alert instead of opening another.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct PagerDutyEvent {
    pub routing_key: String,
    pub event_action: EventAction,
    pub dedup_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<PagerDutyPayload>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

impl std::fmt::Debug for PagerDutyEvent {
    // The routing key is a credential: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagerDutyEvent")
            .field("event_action", &self.event_action)
            .field("dedup_key", &self.dedup_key)
            .field("payload", &self.payload)
            .field("links", &self.links)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PagerDutyPayload {
    pub summary: String,
    pub source: String,
    pub severity: PagerDutySeverity,
    pub component: String,
    pub group: String,
    pub class: String,
    pub custom_details: CustomDetails,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomDetails {
    pub account: String,
    pub environment: String,
    pub alarm: String,
    pub state: AlarmState,
    pub reason: String,
    pub runbook: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub href: String,
    pub text: String,
}

fn summary(i: &Incident<'_>) -> String {
    format!("[{}] {} {}: {} (account {})", i.environment, i.alarm, i.state, i.description, i.account)
}

pub fn pagerduty(key: &PagingKey, i: &Incident<'_>, step: Step) -> PagerDutyEvent {
    let payload = (step != Step::Resolve).then(|| PagerDutyPayload {
        summary: clip(&summary(i), SUMMARY_MAX),
        source: format!("{}/{}", i.environment, i.account),
        severity: i.severity.into(),
        component: i.alarm.to_string(),
        group: i.environment.to_string(),
        class: i.anchor.to_string(),
        custom_details: CustomDetails {
            account: i.account.to_string(),
            environment: i.environment.to_string(),
            alarm: i.alarm.to_string(),
            state: i.state,
            reason: i.reason.to_string(),
            runbook: runbook(i.anchor),
        },
    });
    PagerDutyEvent {
        routing_key: key.expose().to_string(),
        event_action: match step {
            Step::Open | Step::Update => EventAction::Trigger,
            Step::Resolve => EventAction::Resolve,
        },
        dedup_key: i.dedup_key.to_string(),
        payload,
        links: vec![Link { href: i.runbook_href.to_string(), text: format!("runbook: {}", i.anchor) }],
    }
}

/// Opsgenie's priorities; a page is P1, a ticket P3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Priority {
    P1,
    P3,
}

/// An Opsgenie Alert API request, `action` naming which: `create` (an alert, de-duplicated by
/// `alias`), `addNote` (an update of the open alert) or `close`. The API key is not part of it:
/// Opsgenie reads it from the subscription's endpoint (`?apiKey=`), never from the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum OpsgenieRequest {
    Create {
        message: String,
        alias: String,
        description: String,
        priority: Priority,
        details: BTreeMap<String, String>,
        source: String,
        tags: Vec<String>,
        entity: String,
    },
    AddNote {
        alias: String,
        note: String,
        source: String,
    },
    Close {
        alias: String,
        note: String,
        source: String,
    },
}

pub fn opsgenie(i: &Incident<'_>, step: Step) -> OpsgenieRequest {
    let alias = clip(i.dedup_key, ALIAS_MAX);
    let source = clip(SOURCE, SOURCE_MAX);
    let note = |what: &str| clip(&format!("{what} {} at {}: {}", i.alarm, i.state, i.reason), NOTE_MAX);
    match step {
        Step::Open => {
            let details = BTreeMap::from([
                ("account".to_string(), i.account.to_string()),
                ("environment".to_string(), i.environment.to_string()),
                ("alarm".to_string(), i.alarm.to_string()),
                ("runbook".to_string(), runbook(i.anchor)),
                ("reason".to_string(), i.reason.to_string()),
            ]);
            OpsgenieRequest::Create {
                message: clip(&format!("[{}] {} {}", i.environment, i.alarm, i.state), MESSAGE_MAX),
                alias,
                description: clip(
                    &format!("{}\n\n{}\n\nrunbook: {}", summary(i), i.reason, i.runbook_href),
                    DESCRIPTION_MAX,
                ),
                priority: match i.severity {
                    AlarmSeverity::Page => Priority::P1,
                    AlarmSeverity::Ticket => Priority::P3,
                },
                details: within_details_limit(details),
                source,
                tags: [i.environment, i.account, i.anchor, "abc-trading"]
                    .iter()
                    .take(TAGS_MAX)
                    .map(|t| clip(t, TAG_MAX))
                    .collect(),
                entity: i.account.to_string(),
            }
        }
        Step::Update => OpsgenieRequest::AddNote { alias, note: note("update:"), source },
        Step::Resolve => OpsgenieRequest::Close { alias, note: note("resolved:"), source },
    }
}

/// Details fit Opsgenie's 8000 characters in all: the longest value (the reason) gives way.
fn within_details_limit(mut details: BTreeMap<String, String>) -> BTreeMap<String, String> {
    let size =
        |d: &BTreeMap<String, String>| d.iter().map(|(k, v)| k.chars().count() + v.chars().count()).sum::<usize>();
    let total = size(&details);
    if total > DETAILS_MAX
        && let Some(reason) = details.get_mut("reason")
    {
        let keep = reason.chars().count().saturating_sub(total - DETAILS_MAX);
        *reason = clip(reason, keep);
    }
    details
}

/// The one JSON message the paging topic carries for `step` of the incident.
pub fn page_message(provider: PageProvider, key: &PagingKey, i: &Incident<'_>, step: Step) -> String {
    let value = match provider {
        PageProvider::Pagerduty => serde_json::to_string(&pagerduty(key, i, step)),
        PageProvider::Opsgenie => serde_json::to_string(&opsgenie(i, step)),
    };
    // Plain structs of strings: serialising them cannot fail.
    value.unwrap_or_default()
}

/// The OpsItem a ticket opens as: de-duplicated by the incident's key, so a retried create is the same item.
pub fn ticket_open(i: &Incident<'_>) -> TicketOpen {
    let (severity, priority) = match i.severity {
        AlarmSeverity::Page => ("1", 1),
        AlarmSeverity::Ticket => ("3", 3),
    };
    TicketOpen {
        dedup: i.dedup_key.to_string(),
        title: clip(&format!("[{}] {} in account {}", i.environment, i.alarm, i.account), TITLE_MAX),
        description: clip(
            &format!("{}\n\nrunbook: {}\n\n{}", i.description, i.runbook_href, i.reason),
            TICKET_DESCRIPTION_MAX,
        ),
        source: SOURCE.to_string(),
        severity: severity.to_string(),
        priority,
        category: "Availability".to_string(),
        data: BTreeMap::from([
            ("account".to_string(), i.account.to_string()),
            ("environment".to_string(), i.environment.to_string()),
            ("alarm".to_string(), i.alarm.to_string()),
            ("runbook".to_string(), runbook(i.anchor)),
        ]),
    }
}

/// What an update (or the resolution) of a ticket writes to its OperationalData.
pub fn ticket_update(i: &Incident<'_>, at: chrono::DateTime<chrono::Utc>) -> TicketUpdate {
    TicketUpdate {
        data: BTreeMap::from([
            (
                "last-update".to_string(),
                clip(&format!("{} {} {}: {}", at.to_rfc3339(), i.alarm, i.state, i.reason), 4096),
            ),
            ("updates".to_string(), (i.updates + 1).to_string()),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident<'a>(description: &'a str, reason: &'a str) -> Incident<'a> {
        Incident {
            dedup_key: "222233334444/abc-trading-dev-health-lb-5xx/1",
            environment: "dev",
            account: "222233334444",
            alarm: "abc-trading-dev-health-lb-5xx",
            description,
            severity: AlarmSeverity::Page,
            state: AlarmState::Alarm,
            reason,
            anchor: "alarm-lb-5xx",
            runbook_href: "docs/runbook.md#alarm-lb-5xx",
            updates: 0,
        }
    }

    fn key() -> PagingKey {
        PagingKey::new("R0UTINGKEY0000000000000000000000")
    }

    #[test]
    fn a_pagerduty_trigger_has_every_field_and_keeps_the_summary_within_1024() {
        let long = "x".repeat(5000);
        let e = pagerduty(&key(), &incident(&long, "Threshold Crossed"), Step::Open);
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(v["event_action"], "trigger");
        assert_eq!(v["routing_key"], "R0UTINGKEY0000000000000000000000");
        assert_eq!(v["dedup_key"], "222233334444/abc-trading-dev-health-lb-5xx/1");
        let summary = v["payload"]["summary"].as_str().expect("summary");
        assert_eq!(summary.chars().count(), SUMMARY_MAX);
        assert!(summary.ends_with('…'));
        assert_eq!(v["payload"]["severity"], "critical");
        assert_eq!(v["payload"]["custom_details"]["runbook"], "docs/runbook.md#alarm-lb-5xx");
        assert_eq!(v["payload"]["custom_details"]["state"], "ALARM");
        assert_eq!(v["links"][0]["href"], "docs/runbook.md#alarm-lb-5xx");
        // A short summary is left whole.
        let short = pagerduty(&key(), &incident("5xx above 50", "r"), Step::Update);
        let s = short.payload.expect("payload").summary;
        assert_eq!(s, "[dev] abc-trading-dev-health-lb-5xx ALARM: 5xx above 50 (account 222233334444)");
        assert_eq!(short.event_action, EventAction::Trigger, "an update appends to the same dedup_key");
    }

    #[test]
    fn a_pagerduty_resolve_carries_only_the_key_and_the_dedup_key() {
        let e = pagerduty(&key(), &incident("d", "r"), Step::Resolve);
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(v["event_action"], "resolve");
        assert!(v.get("payload").is_none());
        assert_eq!(v["dedup_key"], "222233334444/abc-trading-dev-health-lb-5xx/1");
    }

    #[test]
    fn the_routing_key_never_reaches_debug_output_or_other_fields() {
        let e = pagerduty(&key(), &incident("d", "r"), Step::Open);
        assert!(!format!("{e:?}").contains("R0UTINGKEY"), "{e:?}");
        assert!(!format!("{:?}", key()).contains("R0UTINGKEY"));
        let mut v = serde_json::to_value(&e).expect("json");
        v.as_object_mut().expect("object").remove("routing_key");
        assert!(!v.to_string().contains("R0UTINGKEY"), "{v}");
        let og = page_message(PageProvider::Opsgenie, &key(), &incident("d", "r"), Step::Open);
        assert!(!og.contains("R0UTINGKEY"), "{og}");
    }

    #[test]
    fn an_opsgenie_create_keeps_its_documented_limits() {
        let long = "y".repeat(20_000);
        let mut i = incident(&long, &long);
        let long_alarm = "z".repeat(300);
        i.alarm = &long_alarm;
        let v = serde_json::to_value(opsgenie(&i, Step::Open)).expect("json");
        assert_eq!(v["action"], "create");
        assert_eq!(v["priority"], "P1");
        assert!(v["message"].as_str().expect("message").chars().count() <= MESSAGE_MAX);
        assert!(v["description"].as_str().expect("description").chars().count() <= DESCRIPTION_MAX);
        assert!(v["alias"].as_str().expect("alias").chars().count() <= ALIAS_MAX);
        let tags = v["tags"].as_array().expect("tags");
        assert!(tags.len() <= TAGS_MAX && tags.iter().all(|t| t.as_str().expect("tag").chars().count() <= TAG_MAX));
        let details = v["details"].as_object().expect("details");
        let size: usize = details.iter().map(|(k, v)| k.chars().count() + v.as_str().expect("s").chars().count()).sum();
        assert!(size <= DETAILS_MAX, "{size}");
        assert_eq!(details["runbook"], "docs/runbook.md#alarm-lb-5xx");
        let mut t = incident("d", "r");
        t.severity = AlarmSeverity::Ticket;
        assert_eq!(serde_json::to_value(opsgenie(&t, Step::Open)).expect("json")["priority"], "P3");
    }

    #[test]
    fn opsgenie_updates_are_notes_and_resolutions_close_by_alias() {
        let note = serde_json::to_value(opsgenie(&incident("d", "r"), Step::Update)).expect("json");
        assert_eq!(note["action"], "addNote");
        assert_eq!(note["alias"], "222233334444/abc-trading-dev-health-lb-5xx/1");
        assert!(note["note"].as_str().expect("note").len() <= NOTE_MAX);
        let close = serde_json::to_value(opsgenie(&incident("d", "r"), Step::Resolve)).expect("json");
        assert_eq!(close["action"], "close");
    }

    #[test]
    fn dedup_keys_are_stable_and_at_most_255() {
        assert_eq!(
            dedup_key("222233334444", "abc-trading-dev-health-lb-5xx", 2),
            "222233334444/abc-trading-dev-health-lb-5xx/2"
        );
        let long = "a".repeat(400);
        let k = dedup_key("222233334444", &long, 1);
        assert_eq!(k.len(), DEDUP_KEY_MAX);
        assert_eq!(k, dedup_key("222233334444", &long, 1), "the same every time");
        assert_ne!(k, dedup_key("222233334444", &format!("{long}b"), 1), "another name, another key");
        assert!(k.ends_with("/1"));
    }

    #[test]
    fn an_ops_item_maps_severity_and_names_the_runbook() {
        let long = "d".repeat(3000);
        let mut i = incident(&long, "r");
        i.severity = AlarmSeverity::Ticket;
        let t = ticket_open(&i);
        assert_eq!((t.severity.as_str(), t.priority), ("3", 3));
        assert_eq!(t.dedup, "222233334444/abc-trading-dev-health-lb-5xx/1");
        assert!(t.description.chars().count() <= TICKET_DESCRIPTION_MAX);
        assert!(t.title.chars().count() <= TITLE_MAX);
        assert_eq!(t.data["runbook"], "docs/runbook.md#alarm-lb-5xx");
        let u = ticket_update(&incident("d", "r"), "2026-11-24T22:00:00Z".parse().expect("time"));
        assert_eq!(u.data["updates"], "1");
        assert!(u.data["last-update"].contains("ALARM"));
    }
}
