//! What a transition does to its incident, as a pure function of the transition, the incident's record and (for a burn pair) the partner's state.

use serde::{Deserialize, Serialize};

use crate::alarm::{AlarmChange, AlarmState};
use crate::ports::{AlarmStatus, IncidentRecord, IncidentStatus};

/// What happened (`$.kind` of the response).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::IntoStaticStr, strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Kind {
    /// ALARM with nothing open: paged or ticketed.
    Opened,
    /// ALARM (or INSUFFICIENT_DATA) while open: appended to the open incident.
    Updated,
    /// OK while open: resolved.
    Resolved,
    /// A transition already applied (or older than the last one applied): nothing done.
    Duplicate,
    /// OK or INSUFFICIENT_DATA with nothing open: nothing to do.
    NoIncident,
    /// One window of a burn pair in ALARM, the other not: nobody is told yet.
    WaitingForPartner,
}

/// The step to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Open episode `episode` of the key.
    Open {
        episode: u32,
    },
    Update,
    Resolve,
    /// Nothing to do, for the reason `Kind` gives.
    Nothing(Kind),
}

/// Whether the transition's alarm belongs to a burn pair and, when opening needs it, the partner's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partner {
    /// Not a burn window: the alarm alone decides.
    None,
    /// A burn window whose partner was not asked (nothing needs it yet).
    NotAsked,
    /// A burn window and its partner's state now (`None`: the partner alarm does not exist).
    Known(Option<AlarmStatus>),
}

/// Whether a pair's opening needs the partner's state: the transition is to ALARM and nothing is open.
pub fn needs_partner(change: &AlarmChange, record: Option<&IncidentRecord>, paired: bool) -> bool {
    paired && change.state == AlarmState::Alarm && !is_open(record) && !already_applied(change, record)
}

fn is_open(record: Option<&IncidentRecord>) -> bool {
    record.is_some_and(|r| r.status == IncidentStatus::Open)
}

/// The transition (or a later one of the same alarm) was applied already.
fn already_applied(change: &AlarmChange, record: Option<&IncidentRecord>) -> bool {
    record.and_then(|r| r.applied.get(&change.alarm)).is_some_and(|at| change.since <= *at)
}

pub fn plan(change: &AlarmChange, record: Option<&IncidentRecord>, partner: Partner) -> Plan {
    if already_applied(change, record) {
        return Plan::Nothing(Kind::Duplicate);
    }
    let open = is_open(record);
    match (change.state, open) {
        (AlarmState::Alarm, false) => {
            let partner_alarming = match partner {
                Partner::None => true,
                Partner::Known(status) => status.is_some_and(|s| s.state == AlarmState::Alarm),
                // Opening a pair is never decided without its partner.
                Partner::NotAsked => false,
            };
            if !partner_alarming {
                return Plan::Nothing(Kind::WaitingForPartner);
            }
            Plan::Open { episode: record.map_or(1, |r| r.episode + 1) }
        }
        (AlarmState::Alarm | AlarmState::InsufficientData, true) => Plan::Update,
        (AlarmState::Ok, true) => Plan::Resolve,
        (AlarmState::Ok | AlarmState::InsufficientData, false) => Plan::Nothing(Kind::NoIncident),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use crate::ports::Channel;

    const ALARM: &str = "abc-trading-dev-222233334444-slo-core-availability-fast-long";

    fn at(minutes: i64) -> DateTime<Utc> {
        "2026-11-24T22:00:00Z".parse::<DateTime<Utc>>().expect("time") + Duration::minutes(minutes)
    }

    fn change(state: AlarmState, minutes: i64) -> AlarmChange {
        AlarmChange {
            sender: "123456789012".into(),
            alarm: ALARM.into(),
            state,
            previous: None,
            since: at(minutes),
            reason: "r".into(),
        }
    }

    fn record(status: IncidentStatus, applied: i64) -> IncidentRecord {
        IncidentRecord {
            episode: 3,
            dedup_key: "k".into(),
            status,
            channel: Channel::Page,
            opened_at: at(0),
            resolved_at: None,
            updates: 0,
            ops_item: None,
            applied: BTreeMap::from([(ALARM.to_string(), at(applied))]),
            version: 1,
            writer: String::new(),
        }
    }

    fn alarming(state: AlarmState) -> Partner {
        Partner::Known(Some(AlarmStatus { state, since: None }))
    }

    #[test]
    fn each_state_against_each_record() {
        use AlarmState::*;
        let open = record(IncidentStatus::Open, 0);
        let resolved = record(IncidentStatus::Resolved, 0);
        assert_eq!(plan(&change(Alarm, 1), None, Partner::None), Plan::Open { episode: 1 });
        assert_eq!(plan(&change(Alarm, 1), Some(&resolved), Partner::None), Plan::Open { episode: 4 });
        assert_eq!(plan(&change(Alarm, 1), Some(&open), Partner::None), Plan::Update);
        assert_eq!(plan(&change(InsufficientData, 1), Some(&open), Partner::None), Plan::Update);
        assert_eq!(plan(&change(Ok, 1), Some(&open), Partner::None), Plan::Resolve);
        assert_eq!(plan(&change(Ok, 1), None, Partner::None), Plan::Nothing(Kind::NoIncident));
        assert_eq!(plan(&change(Ok, 1), Some(&resolved), Partner::None), Plan::Nothing(Kind::NoIncident));
        assert_eq!(plan(&change(InsufficientData, 1), None, Partner::None), Plan::Nothing(Kind::NoIncident));
    }

    #[test]
    fn an_applied_or_older_transition_is_a_duplicate() {
        let open = record(IncidentStatus::Open, 5);
        assert_eq!(plan(&change(AlarmState::Alarm, 5), Some(&open), Partner::None), Plan::Nothing(Kind::Duplicate));
        assert_eq!(plan(&change(AlarmState::Ok, 4), Some(&open), Partner::None), Plan::Nothing(Kind::Duplicate));
        assert_eq!(plan(&change(AlarmState::Ok, 6), Some(&open), Partner::None), Plan::Resolve);
    }

    #[test]
    fn a_burn_window_opens_only_with_its_partner_in_alarm() {
        use AlarmState::*;
        let c = change(Alarm, 1);
        assert!(needs_partner(&c, None, true));
        assert!(!needs_partner(&c, None, false));
        assert!(!needs_partner(&c, Some(&record(IncidentStatus::Open, 0)), true), "open: an update");
        assert_eq!(plan(&c, None, Partner::NotAsked), Plan::Nothing(Kind::WaitingForPartner));
        assert_eq!(plan(&c, None, alarming(Ok)), Plan::Nothing(Kind::WaitingForPartner));
        assert_eq!(plan(&c, None, alarming(InsufficientData)), Plan::Nothing(Kind::WaitingForPartner));
        assert_eq!(plan(&c, None, Partner::Known(None)), Plan::Nothing(Kind::WaitingForPartner));
        assert_eq!(plan(&c, None, alarming(Alarm)), Plan::Open { episode: 1 });
        // Either window's OK resolves the pair's incident.
        assert_eq!(plan(&change(Ok, 2), Some(&record(IncidentStatus::Open, 0)), Partner::NotAsked), Plan::Resolve);
    }
}
