//! On-call's one action: an alarm state change checked against the boundary and the config, then its incident opened, updated or resolved exactly once.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use platform_core::config::{AlarmSeverity, ConfigTree, TicketSystem};
use platform_core::error::{AwsError, ErrorClass};
use platform_core::monitoring::{self, AlarmRoute};
use platform_core::trust::{Boundary, Sender, Untrusted, VendedCache};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alarm::{AlarmChange, AlarmState, DETAIL_TYPE, NotAnAlarm};
use crate::decide::{self, Kind, Partner, Plan};
use crate::format::{self, Incident, PagerDutySeverity, PagingKey, Step};
use crate::ports::{
    AlarmStates, Channel, Claim, IncidentKey, IncidentRecord, IncidentStatus, Incidents, MetricsSink, Pager,
    ParameterStore, Tickets,
};

/// A record that keeps changing under us is re-read this many times.
const TRIES: usize = 3;

/// One request per `action` (`platform-ops validate` checks them against the state machine).
#[derive(Debug, Clone, Deserialize, strum::VariantNames)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
#[strum(serialize_all = "kebab-case")]
pub enum Request {
    /// A CloudWatch Alarm State Change as the rule delivers it (the whole event: its sender is checked).
    Alarm {
        event: Value,
        /// The state machine's clock (`$$.State.EnteredTime`), for the metrics; the system clock when absent.
        #[serde(default)]
        now: Option<DateTime<Utc>>,
    },
}

/// What was done, and to which incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handled {
    pub kind: Kind,
    /// PagerDuty's word for it: `critical` (a page) or `warning` (a ticket).
    pub severity: PagerDutySeverity,
    pub channel: Channel,
    /// The incident's dedup key (`<account>/<alarm or pair>/<episode>`); `None` when there is no
    /// incident to name (waiting for a partner, nothing open and none before).
    pub incident: Option<String>,
    pub environment: String,
    pub account: String,
    pub alarm: String,
    pub state: AlarmState,
    /// `docs/runbook.md#<anchor>`.
    pub runbook: String,
    pub updates: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops_item: Option<String>,
    /// One line for people (logs, the local runtime's timeline).
    #[serde(default)]
    pub summary: String,
}

pub type Response = Handled;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    NotAnAlarm(#[from] NotAnAlarm),
    #[error("alarm `{alarm}` is not a health or slo alarm of environment `{environment}`")]
    UnknownAlarm { alarm: String, environment: String },
    #[error(transparent)]
    Untrusted(#[from] Untrusted),
    #[error("ticket system `{0}` is not supported: tickets go to ops-items")]
    Unsupported(TicketSystem),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// The names [`HandlerError::error_type`] reports besides the AWS error classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantNames)]
pub enum ErrorName {
    InvalidRequest,
    /// A sender, environment or account outside this deployment's boundary: never retried.
    Untrusted,
    /// The config asks for something this function does not do.
    Unsupported,
}

impl HandlerError {
    /// The stable error names the state machine's Retry and Catch use.
    pub fn error_type(&self) -> &'static str {
        let name = match self {
            HandlerError::Aws(e) => return e.error_type(),
            HandlerError::NotAnAlarm(_) | HandlerError::UnknownAlarm { .. } => ErrorName::InvalidRequest,
            HandlerError::Untrusted(_) => ErrorName::Untrusted,
            HandlerError::Unsupported(_) => ErrorName::Unsupported,
        };
        name.into()
    }
}

/// Built once at init.
#[derive(Debug)]
pub struct Deps {
    pub boundary: Boundary,
    /// The published config: the alarms' routes, the paging provider and ticket system.
    pub tree: ConfigTree,
    pub parameters: Arc<dyn ParameterStore>,
    pub parameter_prefix: String,
    pub incidents: Arc<dyn Incidents>,
    pub pager: Arc<dyn Pager>,
    pub tickets: Arc<dyn Tickets>,
    pub alarms: Arc<dyn AlarmStates>,
    /// The provider's routing key, read once at init.
    pub paging_key: PagingKey,
    /// Where docs/runbook.md is read (links in pages and tickets); `None`: the relative path.
    pub runbook_base_url: Option<String>,
    pub metrics: Arc<dyn MetricsSink>,
    /// The environment's accounts found vended, per container.
    pub vended: VendedCache,
}

pub async fn handle(request: Request, deps: &Deps) -> Result<Response, HandlerError> {
    match request {
        Request::Alarm { event, now } => alarm(&event, now.unwrap_or_else(Utc::now), deps).await,
    }
}

/// What the alarm's name says it is, for this deployment's environment only.
fn routed(deps: &Deps, alarm: &str) -> Result<AlarmRoute, HandlerError> {
    let own = &deps.boundary.environment;
    if let Some(route) = monitoring::route(&deps.tree, own, alarm) {
        return Ok(route);
    }
    if let Some(other) =
        deps.tree.environments.keys().find(|e| *e != own && monitoring::route(&deps.tree, e, alarm).is_some())
    {
        deps.boundary.environment(other)?;
    }
    Err(HandlerError::UnknownAlarm { alarm: alarm.to_string(), environment: own.clone() })
}

/// The client account the incident is about, once the sender is the one such an alarm comes from.
async fn account(deps: &Deps, event: &Value, change: &AlarmChange, route: &AlarmRoute) -> Result<String, HandlerError> {
    let env = &deps.boundary.environment;
    let account = match &route.account {
        // A member's own alarm: the member account sends it (EventBridge sets `account`).
        None => change.sender.clone(),
        // The monitoring account's alarm about a client account: only this account sends it.
        Some(account) => {
            deps.boundary.sent_by(event, DETAIL_TYPE, Sender::Automation)?;
            account.clone()
        }
    };
    deps.vended.check(deps.parameters.as_ref(), &deps.parameter_prefix, env, &account).await??;
    Ok(account)
}

/// A burn window's incident is its pair's: the name without `-long` / `-short`.
fn incident_name(alarm: &str, paired: bool) -> &str {
    if paired { alarm.strip_suffix("-long").or_else(|| alarm.strip_suffix("-short")).unwrap_or(alarm) } else { alarm }
}

fn channel_of(severity: AlarmSeverity) -> Channel {
    match severity {
        AlarmSeverity::Page => Channel::Page,
        AlarmSeverity::Ticket => Channel::Ticket,
    }
}

async fn alarm(event: &Value, now: DateTime<Utc>, deps: &Deps) -> Result<Handled, HandlerError> {
    let change = AlarmChange::from_event(event)?;
    let route = routed(deps, &change.alarm)?;
    let account = account(deps, event, &change, &route).await?;
    let paired = route.partner.is_some();
    let key = IncidentKey {
        environment: deps.boundary.environment.clone(),
        account: account.clone(),
        name: incident_name(&change.alarm, paired).to_string(),
    };
    let ctx = Context { deps, change: &change, route: &route, key: &key };
    let mut partner = if paired { Partner::NotAsked } else { Partner::None };
    // What this invocation already did: after a lost race the same side effect is not repeated.
    let mut done: Option<Done> = None;
    // What this invocation last wrote, refused or not heard back: read back unchanged, it landed.
    let mut written: Option<(Kind, IncidentRecord)> = None;
    let writer = uuid::Uuid::new_v4().to_string();
    for _ in 0..TRIES {
        let record = deps.incidents.get(&key).await?;
        if let (Some((kind, mine)), Some(stored)) = (&written, &record)
            && mine == stored
        {
            return Ok(ctx.answer(*kind, Some(stored), now));
        }
        if let (Partner::NotAsked, Some(name)) = (partner, &route.partner)
            && decide::needs_partner(&change, record.as_ref(), paired)
        {
            partner = Partner::Known(deps.alarms.status(name).await?);
        }
        let plan = decide::plan(&change, record.as_ref(), partner);
        let (kind, next) = match plan {
            Plan::Nothing(kind) => return Ok(ctx.answer(kind, record.as_ref(), now)),
            Plan::Open { episode } => (Kind::Opened, ctx.open(episode, record.as_ref(), partner, &mut done).await?),
            Plan::Update | Plan::Resolve => {
                let Some(open) = record.as_ref() else { continue };
                let kind = if plan == Plan::Update { Kind::Updated } else { Kind::Resolved };
                (kind, ctx.progress(kind, open, &mut done).await?)
            }
        };
        let next = IncidentRecord { writer: writer.clone(), ..next };
        match deps.incidents.put(&key, &next, record.as_ref().map(|r| r.version)).await? {
            Claim::Won => return Ok(ctx.answer(kind, Some(&next), now)),
            // Another delivery wrote first (or this write landed and its answer was lost): read
            // again and decide again.
            Claim::Taken => written = Some((kind, next)),
        }
    }
    Err(AwsError::new(
        ErrorClass::ConcurrentModification,
        "PutItem",
        format!("the incident of `{}` in account {} kept changing", key.name, key.account),
    )
    .into())
}

/// The side effect already performed for an incident, by its dedup key.
#[derive(Debug, Clone)]
struct Done {
    dedup_key: String,
    ops_item: Option<String>,
}

struct Context<'a> {
    deps: &'a Deps,
    change: &'a AlarmChange,
    route: &'a AlarmRoute,
    key: &'a IncidentKey,
}

impl Context<'_> {
    fn incident<'b>(
        &'b self,
        dedup_key: &'b str,
        href: &'b str,
        updates: u32,
        severity: AlarmSeverity,
    ) -> Incident<'b> {
        Incident {
            dedup_key,
            environment: &self.key.environment,
            account: &self.key.account,
            alarm: &self.change.alarm,
            description: &self.route.description,
            severity,
            state: self.change.state,
            reason: &self.change.reason,
            anchor: &self.route.runbook,
            runbook_href: href,
            updates,
        }
    }

    fn href(&self) -> String {
        let path = format::runbook(&self.route.runbook);
        match &self.deps.runbook_base_url {
            Some(base) => format!("{}/{path}", base.trim_end_matches('/')),
            None => path,
        }
    }

    fn tickets_supported(&self) -> Result<(), HandlerError> {
        match self.deps.tree.monitoring.paging.tickets {
            TicketSystem::OpsItems => Ok(()),
            other => Err(HandlerError::Unsupported(other)),
        }
    }

    async fn page(&self, incident: &Incident<'_>, step: Step) -> Result<(), HandlerError> {
        let provider = self.deps.tree.monitoring.paging.provider;
        let message = format::page_message(provider, &self.deps.paging_key, incident, step);
        self.deps.pager.publish(&message).await?;
        Ok(())
    }

    /// Pages or tickets a new incident, then the record it is written as.
    async fn open(
        &self,
        episode: u32,
        before: Option<&IncidentRecord>,
        partner: Partner,
        done: &mut Option<Done>,
    ) -> Result<IncidentRecord, HandlerError> {
        let dedup_key = format::dedup_key(&self.key.account, &self.key.name, episode);
        let channel = channel_of(self.route.severity);
        let href = self.href();
        let incident = self.incident(&dedup_key, &href, 0, self.route.severity);
        let ops_item = match done.as_ref().filter(|d| d.dedup_key == dedup_key) {
            Some(d) => d.ops_item.clone(),
            None => {
                let ops_item = match channel {
                    Channel::Page => self.page(&incident, Step::Open).await.map(|()| None)?,
                    Channel::Ticket => {
                        self.tickets_supported()?;
                        Some(self.deps.tickets.open(&format::ticket_open(&incident)).await?)
                    }
                };
                *done = Some(Done { dedup_key: dedup_key.clone(), ops_item: ops_item.clone() });
                ops_item
            }
        };
        let mut applied = before.map(|r| r.applied.clone()).unwrap_or_default();
        applied.insert(self.change.alarm.clone(), self.change.since);
        // The partner's ALARM is part of this opening: its own delivery is then a duplicate.
        if let (Partner::Known(Some(status)), Some(name)) = (partner, &self.route.partner)
            && let Some(since) = status.since
        {
            let at = applied.entry(name.clone()).or_insert(since);
            *at = (*at).max(since);
        }
        Ok(IncidentRecord {
            episode,
            dedup_key,
            status: IncidentStatus::Open,
            channel,
            opened_at: self.change.since,
            resolved_at: None,
            updates: 0,
            ops_item,
            applied,
            version: before.map_or(1, |r| r.version + 1),
            writer: String::new(),
        })
    }

    /// Updates or resolves the open incident through the channel it was opened in, then its next record.
    async fn progress(
        &self,
        kind: Kind,
        open: &IncidentRecord,
        done: &mut Option<Done>,
    ) -> Result<IncidentRecord, HandlerError> {
        let step = if kind == Kind::Resolved { Step::Resolve } else { Step::Update };
        let severity = match open.channel {
            Channel::Page => AlarmSeverity::Page,
            Channel::Ticket => AlarmSeverity::Ticket,
        };
        let href = self.href();
        let incident = self.incident(&open.dedup_key, &href, open.updates, severity);
        let mut ops_item = open.ops_item.clone();
        // Already told in this invocation (it opened the incident a racer recorded first).
        if !done.as_ref().is_some_and(|d| d.dedup_key == open.dedup_key && step == Step::Update) {
            match open.channel {
                Channel::Page => self.page(&incident, step).await?,
                Channel::Ticket => {
                    self.tickets_supported()?;
                    let id = match &ops_item {
                        Some(id) => id.clone(),
                        // A record without its OpsItem: the dedup string finds the open one.
                        None => self.deps.tickets.open(&format::ticket_open(&incident)).await?,
                    };
                    let update = format::ticket_update(&incident, self.change.since);
                    match step {
                        Step::Resolve => self.deps.tickets.resolve(&id, &update).await?,
                        _ => self.deps.tickets.update(&id, &update).await?,
                    }
                    ops_item = Some(id);
                }
            }
            *done = Some(Done { dedup_key: open.dedup_key.clone(), ops_item: ops_item.clone() });
        }
        let mut next = open.clone();
        next.applied.insert(self.change.alarm.clone(), self.change.since);
        next.ops_item = ops_item;
        next.version = open.version + 1;
        match step {
            Step::Resolve => {
                next.status = IncidentStatus::Resolved;
                next.resolved_at = Some(self.change.since);
            }
            _ => next.updates += 1,
        }
        Ok(next)
    }

    fn answer(&self, kind: Kind, record: Option<&IncidentRecord>, now: DateTime<Utc>) -> Handled {
        // Waiting names no incident: a resolved one before it is not what the pair waits for.
        let record = record.filter(|_| kind != Kind::WaitingForPartner);
        let channel = record.map_or(channel_of(self.route.severity), |r| r.channel);
        let handled = Handled {
            kind,
            severity: match channel {
                Channel::Page => PagerDutySeverity::Critical,
                Channel::Ticket => PagerDutySeverity::Warning,
            },
            channel,
            incident: record.map(|r| r.dedup_key.clone()),
            environment: self.key.environment.clone(),
            account: self.key.account.clone(),
            alarm: self.change.alarm.clone(),
            state: self.change.state,
            runbook: format::runbook(&self.route.runbook),
            updates: record.map_or(0, |r| r.updates),
            ops_item: record.and_then(|r| r.ops_item.clone()),
            summary: format!(
                "{channel}: {} {} in account {} ({})",
                self.change.alarm,
                self.change.state,
                self.key.account,
                format::runbook(&self.route.runbook)
            ),
        };
        self.deps.metrics.emit(&metric(&handled, now).to_string());
        handled
    }
}

/// EMF for one transition: outcomes per environment and channel (both bounded by the config).
fn metric(h: &Handled, now: DateTime<Utc>) -> Value {
    emf::Document::new(now.timestamp_millis())
        .dimension("Environment", &h.environment)
        .dimension("Outcome", <&'static str>::from(h.kind))
        .dimension("Channel", <&'static str>::from(h.channel))
        .metric("AlarmTransitions", "Count", 1)
        .property("Alarm", h.alarm.as_str())
        .property("Account", h.account.as_str())
        .to_value()
}
