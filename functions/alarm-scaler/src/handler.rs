//! The alarm scaler's typed actions, one per state of `alarm-remediation`: decide, act, verify, record.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use platform_core::capacity::{AuditDecision, GroupStatus};
use platform_core::config::{Environment, Organization, PublishedConfig, PublishedError};
use platform_core::error::AwsError;
use platform_core::ports::ParameterStore;
use platform_core::trust::{Boundary, Untrusted, VendedCache};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alarm::{AlarmChange, AlarmError, Direction, Target};
use crate::demand;
use crate::guardrails::{self, Capacity, Decision, Outcome, Situation};
use crate::ports::{AuditRecord, Claim, Groups, Guard, MetricsSink, PodDemand};

/// How long a target stays locked while it is resized and verified.
const LOCK_SECONDS: i64 = 15 * 60;

/// One request per `action` the state machine (or `platform-ops scaling explain`) sends; the action
/// names are derived from the variants (`platform-ops validate` checks the definitions against them).
#[derive(Debug, Clone, Deserialize, strum::VariantNames)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
#[strum(serialize_all = "kebab-case")]
pub enum Request {
    /// Resolve, claim, gather, decide; lock the target when the decision is to act.
    Decide {
        event: Value,
        /// The state machine's clock (`$$.State.EnteredTime`); the system clock when absent.
        #[serde(default)]
        now: Option<DateTime<Utc>>,
        /// Set on a deferred decision's second look: the transition is already claimed by it.
        #[serde(default)]
        retry_of: Option<String>,
        /// The execution deciding (`$$.Execution.Id`): the owner of its claim and lock, so a
        /// retry of the same execution (its first answer lost) finds them its own, and a second
        /// delivery of the same alarm (another execution) does not.
        #[serde(default)]
        execution: Option<String>,
    },
    /// The same decision, without claiming, locking or acting: for people.
    Explain {
        event: Value,
        now: Option<DateTime<Utc>>,
    },
    Act {
        plan: Plan,
    },
    Verify {
        plan: Plan,
    },
    Record {
        plan: Plan,
    },
}

/// What a plan says to do; the state machine routes on it (`$.plan.kind`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::IntoStaticStr, strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum PlanKind {
    /// Resize the group (the target is locked for it).
    Scale,
    /// It would be resized, but the environment or the group is in dry run.
    DryRun,
    /// A guardrail says no.
    Refuse,
    /// Not yet: decide again at `until`.
    Defer,
    /// This transition was already handled by an earlier delivery.
    Duplicate,
    /// Another alarm holds the target's lock.
    Busy,
}

impl PlanKind {
    /// What the audit trail records for a plan of this kind; `None` for the plans the state
    /// machine ends (or decides again) without recording.
    pub fn audit_decision(self) -> Option<AuditDecision> {
        match self {
            PlanKind::Scale => Some(AuditDecision::Scale),
            PlanKind::DryRun => Some(AuditDecision::DryRun),
            PlanKind::Refuse => Some(AuditDecision::Refuse),
            PlanKind::Defer | PlanKind::Duplicate | PlanKind::Busy => None,
        }
    }
}

/// What `decide` settled on, carried through the state machine to the later actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub kind: PlanKind,
    pub transition: String,
    pub owner: String,
    pub account: String,
    pub alarm: String,
    pub environment: String,
    pub target: Target,
    pub target_key: String,
    pub before: Capacity,
    pub after: Option<Capacity>,
    pub decision: Option<Decision>,
    pub decided_at: DateTime<Utc>,
    /// When the alarm entered its state: time to action counts from here.
    pub alarm_since: DateTime<Utc>,
    /// For `defer`: when to look again.
    pub until: Option<DateTime<Utc>>,
    pub summary: String,
}

/// The result of `act`: the state machine keeps `update_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Acted {
    /// The service's update id, when it gives one (`null` for an Auto Scaling group).
    pub update_id: Option<String>,
    pub requested: Capacity,
}

/// What each action answers; untagged, so each serialises as its own shape (the state machine
/// reads `$.Payload.kind`, `$.Payload.update_id`, `$.Payload.settled`, `$.Payload.decision`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Response {
    /// `decide` and `explain` (boxed: a plan carries the decision's verdicts).
    Plan(Box<Plan>),
    Acted(Acted),
    Verified(Verification),
    Recorded(AuditRecord),
}

/// The result of `verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub settled: bool,
    pub status: GroupStatus,
    pub capacity: Capacity,
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Alarm(#[from] AlarmError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("config: {0}")]
    Config(String),
    #[error("the published config cannot be used")]
    Published(#[source] PublishedError),
    #[error("the plan is `{0}`: there is nothing to act on")]
    NothingToDo(PlanKind),
    #[error(transparent)]
    Untrusted(#[from] Untrusted),
}

/// The names [`HandlerError::error_type`] reports besides the AWS error classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantNames)]
pub enum ErrorName {
    InvalidAlarm,
    ConfigMissing,
    NothingToDo,
    /// An alarm from outside this deployment's environment or its vended accounts: never retried.
    Untrusted,
}

impl HandlerError {
    /// The stable error names the state machine's Retry and Catch use.
    pub fn error_type(&self) -> &'static str {
        let name = match self {
            HandlerError::Aws(e) => return e.error_type(),
            HandlerError::Alarm(_) => ErrorName::InvalidAlarm,
            HandlerError::Config(_) | HandlerError::Published(_) => ErrorName::ConfigMissing,
            HandlerError::NothingToDo(_) => ErrorName::NothingToDo,
            HandlerError::Untrusted(_) => ErrorName::Untrusted,
        };
        name.into()
    }
}

/// Built once at init.
#[derive(Debug)]
pub struct Deps {
    /// The environment this deployment serves: alarms of any other are refused.
    pub boundary: Boundary,
    pub groups: Arc<dyn Groups>,
    pub guard: Arc<dyn Guard>,
    /// The pods' reservation of a nodegroup's cluster (read only when a scale-in is decided).
    pub demand: Arc<dyn PodDemand>,
    pub parameters: Arc<dyn ParameterStore>,
    pub parameter_prefix: String,
    pub metrics: Arc<dyn MetricsSink>,
    /// Published config, read once per container.
    pub config: PublishedConfig,
    /// The environment's accounts found vended, per container.
    pub vended: VendedCache,
}

impl Deps {
    async fn config(&self) -> Result<(Organization, BTreeMap<String, Environment>), HandlerError> {
        let p = self.config.get(self.parameters.as_ref(), &self.parameter_prefix).await.map_err(|e| match e {
            PublishedError::Aws(e) => HandlerError::Aws(e),
            other => HandlerError::Published(other),
        })?;
        Ok((p.organization, p.environments))
    }

    /// The alarm's account must be one vending published for the environment
    /// (`<prefix>/accounts/<env>/<account>/id`): an account of the organisation that merely
    /// names our alarm convention scales nothing.
    async fn vended(&self, environment: &str, account: &str) -> Result<(), HandlerError> {
        Ok(self.vended.check(self.parameters.as_ref(), &self.parameter_prefix, environment, account).await??)
    }
}

/// The environment an alarm belongs to, by the naming convention (`<prefix><env>-remediate-...`).
fn environment_of(alarm: &str, organization: &Organization) -> Option<String> {
    let rest = alarm.strip_prefix(&organization.remediation.alarm_name_prefix)?;
    let (env, _) = rest.split_once(&organization.remediation.alarm_name_marker)?;
    Some(env.to_string())
}

pub async fn handle(request: Request, deps: &Deps) -> Result<Response, HandlerError> {
    Ok(match request {
        Request::Decide { event, now, retry_of, execution } => {
            let owner = retry_of.clone().or(execution);
            Response::Plan(Box::new(
                decide(&event, now.unwrap_or_else(Utc::now), owner, retry_of.is_some(), deps, true).await?,
            ))
        }
        Request::Explain { event, now } => {
            Response::Plan(Box::new(decide(&event, now.unwrap_or_else(Utc::now), None, false, deps, false).await?))
        }
        Request::Act { plan } => Response::Acted(act(&plan, deps).await?),
        Request::Verify { plan } => Response::Verified(verify(&plan, deps).await?),
        Request::Record { plan } => Response::Recorded(record(&plan, deps).await?),
    })
}

async fn decide(
    event: &Value,
    now: DateTime<Utc>,
    owner: Option<String>,
    second_look: bool,
    deps: &Deps,
    claim: bool,
) -> Result<Plan, HandlerError> {
    let alarm = AlarmChange::from_event(event)?;
    let direction = alarm.direction()?;
    let (organization, environments) = deps.config().await?;
    let env_name = environment_of(&alarm.alarm, &organization).ok_or_else(|| {
        HandlerError::Config(format!("alarm `{}` does not follow the remediation naming convention", alarm.alarm))
    })?;
    deps.boundary.environment(&env_name)?;
    deps.vended(&env_name, &alarm.account).await?;
    let env = environments.get(&env_name).ok_or_else(|| {
        HandlerError::Config(format!("environment `{env_name}` of alarm `{}` is not published", alarm.alarm))
    })?;
    let (cluster, nodegroup) = (organization.resource_prefix(&env_name), organization.nodegroup_name(&env_name));
    let target = alarm.target(Some((&cluster, &nodegroup)))?;
    let transition = format!("{}#{}#{:?}#{}", alarm.account, alarm.alarm, alarm.state, alarm.since.to_rfc3339());
    let owner = owner.unwrap_or_else(|| format!("{}@{}", alarm.event_id, now.timestamp_millis()));
    let target_key = target.key(&alarm.account);
    // A plan is built once its kind is known; what is not known by then stays empty.
    let plan = |kind, before, summary| Plan {
        kind,
        transition: transition.clone(),
        owner: owner.clone(),
        account: alarm.account.clone(),
        alarm: alarm.alarm.clone(),
        environment: env_name.clone(),
        target: target.clone(),
        target_key: target_key.clone(),
        before,
        after: None,
        decision: None,
        decided_at: now,
        alarm_since: alarm.since,
        until: None,
        summary,
    };
    // The same transition delivered twice acts once (a deferred decision's second look is the
    // same delivery, already holding the claim).
    if claim && !second_look && deps.guard.claim_transition(&transition, &owner, now).await? == Claim::Taken {
        let summary = format!("{} {:?} at {} was already handled", alarm.alarm, alarm.state, alarm.since);
        return Ok(plan(PlanKind::Duplicate, Capacity { min: 0, desired: 0, max: 0 }, summary));
    }
    let mut group = deps.groups.describe(&alarm.account, &target).await?;
    let mut situation = Situation {
        now,
        state: alarm.state,
        since: alarm.since,
        direction,
        current: group.capacity,
        baseline: env.nodegroup.desired_size,
        policy: {
            let mut policy = env.scaling.clone();
            // Dry run for the environment, or for this group alone.
            policy.dry_run |= policy.dry_run_targets.iter().any(|t| t == target.name());
            policy
        },
        trading_hours: env.trading_hours.clone(),
        history: deps.guard.history(&target_key).await?,
        group_tags: std::mem::take(&mut group.tags),
        pods_need: None,
    };
    let mut decision = decide_gathered(deps, &mut situation, &alarm.account, &target).await?;
    // Two alarms for the same target at once: the lock makes one of them act (a dry run and an
    // explanation take no lock). Only a lock holder records an action, so the history read
    // before the lock may miss one recorded (its lock released) since: read again under the
    // lock, and decide again on what changed (a cooldown then refuses, and the lock goes back).
    let mut busy = false;
    if claim && matches!(decision.outcome, Outcome::Scale { dry_run: false, .. }) {
        if deps.guard.lock_target(&target_key, &owner, now, LOCK_SECONDS).await? == Claim::Taken {
            busy = true;
        } else {
            let history = deps.guard.history(&target_key).await?;
            if history != situation.history {
                group = deps.groups.describe(&alarm.account, &target).await?;
                situation.current = group.capacity;
                situation.group_tags = std::mem::take(&mut group.tags);
                situation.history = history;
                situation.pods_need = None;
                decision = decide_gathered(deps, &mut situation, &alarm.account, &target).await?;
                if !matches!(decision.outcome, Outcome::Scale { .. }) {
                    deps.guard.unlock_target(&target_key, &owner).await?;
                }
            }
        }
    }
    let (kind, after, until, summary) = match &decision.outcome {
        Outcome::Scale { from, to, dry_run, direction } => {
            let after = Capacity { min: group.capacity.min.min(*to), desired: *to, max: group.capacity.max.max(*to) };
            let kind = if *dry_run {
                PlanKind::DryRun
            } else if busy {
                PlanKind::Busy
            } else {
                PlanKind::Scale
            };
            let summary = match kind {
                PlanKind::Busy => format!("{target} is being resized by another alarm: not acting twice"),
                _ => format!("{target}: {from} -> {to} ({direction:?})").to_lowercase(),
            };
            (kind, Some(after), None, summary)
        }
        Outcome::Refuse { reason, .. } => (PlanKind::Refuse, None, None, reason.clone()),
        Outcome::Defer { reason, until, .. } => (PlanKind::Defer, None, Some(*until), reason.clone()),
    };
    Ok(Plan { after, until, decision: Some(decision), ..plan(kind, group.capacity, summary) })
}

/// The decision on what was gathered; the pods' needs only matter to a scale-in that every other
/// guardrail allows: read them then, and decide again with them (the decision is pure; the read
/// is the cost).
async fn decide_gathered(
    deps: &Deps,
    situation: &mut Situation,
    account: &str,
    target: &Target,
) -> Result<guardrails::Decision, HandlerError> {
    let decision = guardrails::decide(situation);
    if let (Outcome::Scale { direction: Direction::In, .. }, Target::Nodegroup { cluster, .. }) =
        (&decision.outcome, target)
    {
        situation.pods_need = pods_need(deps, account, cluster, situation.current.desired, situation.now).await?;
        return Ok(guardrails::decide(situation));
    }
    Ok(decision)
}

/// Nodes the pods need in a nodegroup of `desired` nodes, when Container Insights reports it.
async fn pods_need(
    deps: &Deps,
    account: &str,
    cluster: &str,
    desired: u32,
    now: DateTime<Utc>,
) -> Result<Option<u32>, HandlerError> {
    let Some(reading) = deps.demand.reservation(account, cluster, now).await? else {
        tracing::info!(account, cluster, "no container insights reservation in the window: pods' needs unknown");
        return Ok(None);
    };
    match demand::nodes_needed(&reading, desired) {
        Ok(need) => Ok(Some(need)),
        Err(e) => {
            // An unusable reading is treated as no reading, loudly: scale-in still obeys every
            // other guardrail, and people can see why this one did not weigh in.
            tracing::warn!(account, cluster, error = %e, "unusable container insights reading: pods' needs unknown");
            Ok(None)
        }
    }
}

async fn act(plan: &Plan, deps: &Deps) -> Result<Acted, HandlerError> {
    let after = match (plan.kind, plan.after) {
        (PlanKind::Scale, Some(after)) => after,
        (kind, _) => return Err(HandlerError::NothingToDo(kind)),
    };
    // The owner (the deciding execution) makes a retried call the same call (EKS
    // clientRequestToken, at most 64 characters): its end, where an execution ARN is unique.
    let kept: Vec<char> = plan.owner.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let token: String = kept[kept.len().saturating_sub(64)..].iter().collect();
    let update_id = deps.groups.resize(&plan.account, &plan.target, after, &token).await?;
    Ok(Acted { update_id, requested: after })
}

async fn verify(plan: &Plan, deps: &Deps) -> Result<Verification, HandlerError> {
    let after = plan.after.ok_or(HandlerError::NothingToDo(plan.kind))?;
    let state = deps.groups.describe(&plan.account, &plan.target).await?;
    Ok(Verification {
        settled: state.status == GroupStatus::Active && state.capacity.desired == after.desired,
        status: state.status,
        capacity: state.capacity,
    })
}

async fn record(plan: &Plan, deps: &Deps) -> Result<AuditRecord, HandlerError> {
    // The state machine never records a deferral, a duplicate or a busy plan; the audit trail
    // has no place for them either.
    let decision = plan.kind.audit_decision().ok_or(HandlerError::NothingToDo(plan.kind))?;
    let (direction, guardrail) = match plan.decision.as_ref().map(|d| &d.outcome) {
        Some(Outcome::Scale { direction, .. }) => (Some(*direction), None),
        Some(Outcome::Refuse { guardrail, .. } | Outcome::Defer { guardrail, .. }) => {
            (None, serde_json::to_value(guardrail).ok().and_then(|v| v.as_str().map(str::to_string)))
        }
        None => (None, None),
    };
    let audit = AuditRecord {
        // The decision's clock, not the wall clock: cooldowns and flapping compare against the
        // decision times of later alarms (the state machine's clock, virtual in the local runtime).
        at: plan.decided_at,
        alarm: plan.alarm.clone(),
        account: plan.account.clone(),
        target: plan.target.clone(),
        decision,
        direction,
        from: plan.before.desired,
        to: plan.after.map_or(plan.before.desired, |a| a.desired),
        guardrail,
        reason: plan.summary.clone(),
    };
    deps.guard.record(&plan.target_key, &audit).await?;
    if decision == AuditDecision::Scale {
        deps.guard.unlock_target(&plan.target_key, &plan.owner).await?;
    }
    for doc in metrics(plan, audit.guardrail.as_deref()) {
        deps.metrics.emit(&doc.to_string());
    }
    Ok(audit)
}

/// EMF for one finished remediation: outcomes per environment, refusals per guardrail (both
/// low-cardinality dimensions), and the time from the alarm to the action.
pub fn metrics(plan: &Plan, guardrail: Option<&str>) -> Vec<Value> {
    let timestamp = plan.decided_at.timestamp_millis();
    let mut outcome = emf::Document::new(timestamp)
        .dimension("Environment", &plan.environment)
        .dimension("Outcome", <&'static str>::from(plan.kind))
        .metric("Remediations", "Count", 1)
        .property("Alarm", plan.alarm.as_str())
        .property("Target", plan.target.to_string());
    if plan.kind == PlanKind::Scale {
        let seconds = (plan.decided_at - plan.alarm_since).num_milliseconds() as f64 / 1000.0;
        outcome = outcome.metric("TimeToActionSeconds", "Seconds", seconds.max(0.0));
    }
    let mut docs = vec![outcome.to_value()];
    if let Some(g) = guardrail.filter(|_| plan.kind == PlanKind::Refuse) {
        let refusal = emf::Document::new(timestamp)
            .dimension("Environment", &plan.environment)
            .dimension("Guardrail", g)
            .metric("Refusals", "Count", 1);
        docs.push(refusal.to_value());
    }
    docs
}
