//! The fleet release's typed actions, one per task of `fleet-release.asl.json`.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use platform_core::approvals::{Approvals, Opened, PendingApproval, Verdict};
use platform_core::config::{ConfigTree, Environment, FreezeAction};
use platform_core::platform_stack;
use platform_core::release::Release;
use platform_core::stacksets::StackSets;
use platform_core::trust::Boundary;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use crate::error::{ErrorName, FleetError};
use crate::gate::{self, FleetOutcome, Freeze, Promotion};
use crate::plan::{self, AccountFacts, Infrastructure, WavePlan};
use crate::ports::{AlarmStates, FleetLedger, PlanReports};

/// Where plans are published in the reports bucket: `fleet-plans/<env>/<release>/<execution>.json`.
pub const PLAN_PREFIX: &str = "fleet-plans";

/// A release for every account of the environment, as platform deploy received and checked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FleetRequest {
    pub environment: String,
    /// One account of the fleet only (a release for one account in an environment with gates):
    /// the gates, plan and approval are the same, and the outcome is not the environment's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// How platform deploy routed a one-account request here; nothing reads it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gated: bool,
    /// Absent: the environment's latest.
    #[serde(default)]
    pub release: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub versions: BTreeMap<String, String>,
    /// Who asked (their identity as the pipeline or CLI knows it): never their own approver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// Why this release may start inside a trading session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<String>,
    /// Why this release may skip the promotion rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<String>,
}

/// What the plan step returns: the waves travel in the execution's state, the rest is published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub release: String,
    pub plan_key: String,
    pub waves: Vec<WavePlan>,
    pub accounts: usize,
    pub skipped: usize,
    pub needs_approval: bool,
    pub approval_timeout_seconds: u32,
    pub estimate_minutes: u32,
    pub summary: String,
}

#[derive(Debug, Clone, Deserialize, strum::VariantNames)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
#[strum(serialize_all = "kebab-case")]
pub enum Request {
    /// Which release, and whether it may go here at all (promotion).
    Gate { request: FleetRequest, now: DateTime<Utc> },
    /// The per-account plan and its waves, published.
    Plan { request: FleetRequest, release: String, execution: String, now: DateTime<Utc> },
    /// The plan waits for a person: its token kept where `platform-ops release approve` finds it.
    AwaitApproval { request: FleetRequest, plan: PlanSummary, token: String, execution: String, now: DateTime<Utc> },
    /// The answer checked against what the approver recorded.
    Approval { execution: String, answer: Value },
    /// Whether a wave may start now (the trading-session freeze).
    WaveGate { request: FleetRequest, wave: WavePlan, now: DateTime<Utc> },
    /// The wave's accounts' alarms in ALARM.
    BakeCheck { environment: String, wave: WavePlan },
    /// The fleet's outcome kept: what the next environment's promotion asks.
    Finish { request: FleetRequest, release: String, execution: String, results: Value, now: DateTime<Utc> },
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Response {
    Gated { release: String, promotion: Promotion },
    Planned(PlanSummary),
    Waiting { id: String, answer_by: DateTime<Utc> },
    Approved { by: String, at: DateTime<Utc> },
    Freeze(Freeze),
    Bake { alarming: Vec<String>, healthy: bool },
    Finished(FleetOutcome),
}

/// Built once at init.
#[derive(Debug)]
pub struct Deps {
    pub boundary: Boundary,
    pub tree: ConfigTree,
    pub ledger: Arc<dyn FleetLedger>,
    pub approvals: Arc<dyn Approvals>,
    pub alarms: Arc<dyn AlarmStates>,
    pub reports: Arc<dyn PlanReports>,
    /// The platform StackSet (management account, read only): each account's instance parameters.
    pub stack_sets: Arc<dyn StackSets>,
}

impl Deps {
    fn environment(&self, name: &str) -> Result<&Environment, FleetError> {
        self.boundary.environment(name)?;
        self.tree.environment(name).ok_or_else(|| FleetError::UnknownEnvironment(name.to_string()))
    }
}

pub async fn handle(request: Request, deps: &Deps) -> Result<Response, FleetError> {
    match request {
        Request::Gate { request, now: _ } => {
            let env = deps.environment(&request.environment)?;
            let release = match &request.release {
                Some(r) => r.clone(),
                None => deps
                    .ledger
                    .environment_release(&env.name)
                    .await?
                    .ok_or_else(|| FleetError::NoRelease(env.name.clone()))?,
            };
            let from = env.release.promote_from.as_deref();
            let outcome = match from {
                Some(from) => deps.ledger.outcome(from, &release).await?,
                None => None,
            };
            let promotion = gate::promotion(&release, from, outcome.as_ref(), request.force.as_deref())?;
            Ok(Response::Gated { release, promotion })
        }
        Request::Plan { request, release, execution, now } => {
            Ok(Response::Planned(plan_fleet(deps, &request, &release, &execution, now).await?))
        }
        Request::AwaitApproval { request, plan, token, execution, now } => {
            deps.environment(&request.environment)?;
            let answer_by = now + Duration::seconds(i64::from(plan.approval_timeout_seconds));
            let pending = PendingApproval {
                id: execution.clone(),
                environment: request.environment.clone(),
                release: plan.release.clone(),
                token,
                plan_key: plan.plan_key.clone(),
                summary: plan.summary.clone(),
                requested_by: request.requested_by.clone(),
                opened_at: now,
                answer_by,
            };
            match deps.approvals.open(&pending).await? {
                Opened::Waiting => Ok(Response::Waiting { id: execution, answer_by }),
                // Redelivered after someone answered: the answer already went to the token they saw.
                Opened::Decided(d) => Ok(Response::Approved { by: d.by, at: d.at }),
            }
        }
        Request::Approval { execution, answer } => {
            let record = deps.approvals.get(&execution).await?.ok_or_else(|| FleetError::AnswerMismatch {
                id: execution.clone(),
                why: "no approval was opened".into(),
            })?;
            let decision = record.decision.ok_or_else(|| FleetError::AnswerMismatch {
                id: execution.clone(),
                why: "the token was answered but no decision recorded".into(),
            })?;
            let said = answer.get("verdict").and_then(Value::as_str);
            if said != Some(decision.verdict.to_string().as_str()) {
                return Err(FleetError::AnswerMismatch {
                    id: execution,
                    why: format!("answer says {said:?}, the record {}", decision.verdict),
                });
            }
            match decision.verdict {
                Verdict::Approved => Ok(Response::Approved { by: decision.by, at: decision.at }),
                Verdict::Rejected => Err(FleetError::Rejected {
                    release: record.pending.release,
                    verdict: decision.verdict,
                    by: decision.by,
                    reason: decision.reason.unwrap_or_default(),
                }),
            }
        }
        Request::WaveGate { request, wave, now } => {
            let env = deps.environment(&request.environment)?;
            let minutes = plan::estimate_minutes(&env.release, std::slice::from_ref(&wave));
            let release = request.release.as_deref().unwrap_or("(latest)");
            let freeze = gate::freeze(
                release,
                env.release.freeze,
                &env.trading_hours,
                now,
                minutes,
                request.emergency.as_deref(),
            )?;
            Ok(Response::Freeze(freeze))
        }
        Request::BakeCheck { environment, wave } => {
            deps.environment(&environment)?;
            let mut alarming = Vec::new();
            for account in &wave.accounts {
                let prefix = format!("{}-{}-", deps.tree.resource_prefix(&environment), account.account);
                alarming.extend(deps.alarms.alarming(&prefix).await?);
            }
            Ok(Response::Bake { healthy: alarming.is_empty(), alarming })
        }
        Request::Finish { request, release, execution, results, now } => {
            deps.environment(&request.environment)?;
            let (deployed, failed) = count(&results);
            let outcome = FleetOutcome { release, succeeded: true, execution, finished_at: now, deployed, failed };
            // One account's release says nothing of the environment: promotion asks the fleet's.
            if request.account_id.is_none() {
                deps.ledger.record_outcome(&request.environment, &outcome).await?;
            }
            Ok(Response::Finished(outcome))
        }
    }
}

async fn plan_fleet(
    deps: &Deps,
    request: &FleetRequest,
    release: &str,
    execution: &str,
    now: DateTime<Utc>,
) -> Result<PlanSummary, FleetError> {
    let env = deps.environment(&request.environment)?;
    // As platform deploy reads it: the published release, else one tag for every image (what
    // each child's plan then checks against the registry).
    let mut published = deps.ledger.published(&env.name, release).await?.unwrap_or_else(|| Release::uniform(release));
    published.versions.extend(request.versions.clone());
    let resolved = published.resolve(&deps.tree.catalog)?;
    let mut accounts = deps.ledger.accounts(&env.name).await?;
    if accounts.is_empty() {
        return Err(FleetError::NoAccounts(env.name.clone()));
    }
    if let Some(only) = &request.account_id {
        if !accounts.contains(only) {
            return Err(FleetError::NotInFleet { account: only.clone(), environment: env.name.clone() });
        }
        accounts.retain(|a| a == only);
    }
    let mut fleet = Vec::with_capacity(accounts.len());
    for account in &accounts {
        let mut facts = deps.ledger.facts(&env.name, account).await?;
        facts.infrastructure = infrastructure(deps, env, &facts).await?;
        fleet.push(facts);
    }
    let planned = plan::plan(&env.release, &resolved.tags, fleet);
    let estimate_minutes = plan::estimate_minutes(&env.release, &planned.waves);
    // Where the freeze refuses, it refuses here: before anyone is asked to approve a release
    // that could not start (where it waits, each wave waits for its own close).
    if env.release.freeze == FreezeAction::Refuse && !planned.waves.is_empty() {
        gate::freeze(
            release,
            FreezeAction::Refuse,
            &env.trading_hours,
            now,
            estimate_minutes,
            request.emergency.as_deref(),
        )?;
    }
    let images: usize = planned.changes.iter().map(|c| c.images.len()).sum();
    let infrastructure = planned.changes.iter().filter(|c| c.infrastructure.changes()).count();
    let summary = format!(
        "release {release} for {}: {} account(s) in {} wave(s) ({}), {} skipped, {images} image change(s), {infrastructure} account(s) with infrastructure changes, about {estimate_minutes} min",
        env.name,
        planned.changes.len(),
        planned.waves.len(),
        planned.waves.iter().map(|w| format!("{} {}", w.name, w.accounts.len())).collect::<Vec<_>>().join(", "),
        planned.skipped.len(),
    );
    let plan_key = format!("{PLAN_PREFIX}/{}/{release}/{execution}.json", env.name);
    let report = json!({
        "environment": env.name,
        "release": release,
        "execution": execution,
        "planned_at": now,
        "requested_by": request.requested_by,
        "summary": summary,
        "changes": planned.changes,
        "skipped": planned.skipped,
        "waves": planned.waves,
        "notes": planned.notes,
        "estimate_minutes": estimate_minutes,
    });
    deps.reports.put(&plan_key, &report).await?;
    Ok(PlanSummary {
        release: release.to_string(),
        plan_key,
        accounts: planned.changes.len(),
        skipped: planned.skipped.len(),
        // A plan that changes nothing needs nobody's approval.
        needs_approval: env.release.approval && !planned.changes.is_empty(),
        approval_timeout_seconds: env.release.approval_timeout_minutes * 60,
        estimate_minutes,
        waves: planned.waves,
        summary,
    })
}

/// The account's platform StackSet instance against config: what its deploy's infrastructure
/// step will find (the same parameters, compared the same way).
async fn infrastructure(deps: &Deps, env: &Environment, facts: &AccountFacts) -> Result<Infrastructure, FleetError> {
    let Some(client) = &facts.client else { return Ok(Infrastructure::Unknown) };
    let wanted =
        platform_stack::platform_parameters(&deps.tree, env, &platform_stack::client_domain(client, &env.domain_name));
    let stack_set = &deps.tree.organization.deploy.platform_stack_set;
    Ok(match deps.stack_sets.overrides(stack_set, &facts.account, env.primary_region()).await? {
        None => Infrastructure::Missing,
        Some(current) => match platform_stack::differences(&wanted, &current) {
            parameters if parameters.is_empty() => Infrastructure::Current,
            parameters => Infrastructure::Differs { parameters },
        },
    })
}

/// Accounts deployed and failed in the waves' results (a failed child is an error object).
fn count(results: &Value) -> (usize, usize) {
    match results {
        Value::Array(items) => items.iter().map(count).fold((0, 0), |(a, b), (c, d)| (a + c, b + d)),
        Value::Object(o) if o.contains_key("Error") => (0, 1),
        Value::Object(o) if o.contains_key("account_id") => (1, 0),
        Value::Object(o) => o.values().map(count).fold((0, 0), |(a, b), (c, d)| (a + c, b + d)),
        _ => (0, 0),
    }
}
