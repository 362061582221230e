//! Signal triage's one action: a detection checked, de-duplicated and decided, answered with what the state machine does next.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use platform_core::capacity::in_trading_hours;
use platform_core::config::ConfigTree;
use platform_core::error::AwsError;
use platform_core::trust::{Boundary, Sender, Untrusted, VendedCache};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::decide::{self, Kind, Situation};
use crate::detection::{self, DETAIL_TYPE, NotADetection};
use crate::ports::{MetricsSink, ParameterStore, ReleaseRecords, ResourceOverride, SignalLedger};

/// Where people are sent for a signature the config does not know.
const UNKNOWN_RUNBOOK: &str = "failure-signatures-signal-triage";

/// One request per `action` the state machine sends (`platform-ops validate` checks them).
#[derive(Debug, Clone, Deserialize, strum::VariantNames)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
#[strum(serialize_all = "kebab-case")]
pub enum Request {
    /// A `FailureSignatureDetected` event as the rule delivers it (the whole event: its sender
    /// is checked).
    Triage {
        event: Value,
        /// The state machine's clock (`$$.State.EnteredTime`); the system clock when absent.
        #[serde(default)]
        now: Option<DateTime<Utc>>,
        /// The execution triaging (`$$.Execution.Id`): its retry (an answer lost) is answered as
        /// before, another delivery's execution is counted once. The event's id when absent.
        #[serde(default)]
        execution: Option<String>,
    },
}

/// What platform deploy is started with (its `DeployRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployRequest {
    pub environment: String,
    pub account_id: String,
    pub release: String,
    /// Per-workload overrides this deploy sets (raise-memory's limit).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, ResourceOverride>,
}

/// The decision, with everything the notification says; the state machine routes on `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triaged {
    pub kind: Kind,
    pub environment: String,
    pub account: String,
    pub service: String,
    pub signature: String,
    pub severity: String,
    /// `docs/runbook.md#<anchor>`.
    pub runbook: String,
    pub sample: String,
    pub reason: String,
    /// For `suppressed`: how many were counted in the window so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<u64>,
    /// For `rollback` and `raise-memory`: the deploy to start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeployRequest>,
}

pub type Response = Triaged;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    NotADetection(#[from] NotADetection),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("environment `{0}` is not in the published config")]
    UnknownEnvironment(String),
    #[error(transparent)]
    Untrusted(#[from] Untrusted),
}

/// The names [`HandlerError::error_type`] reports besides the AWS error classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantNames)]
pub enum ErrorName {
    InvalidRequest,
    ConfigMissing,
    /// A sender, environment or account outside this deployment's boundary: never retried.
    Untrusted,
}

impl HandlerError {
    /// The stable error names the state machine's Retry and Catch use.
    pub fn error_type(&self) -> &'static str {
        let name = match self {
            HandlerError::Aws(e) => return e.error_type(),
            HandlerError::NotADetection(_) => ErrorName::InvalidRequest,
            HandlerError::UnknownEnvironment(_) => ErrorName::ConfigMissing,
            HandlerError::Untrusted(_) => ErrorName::Untrusted,
        };
        name.into()
    }
}

/// Built once at init.
#[derive(Debug)]
pub struct Deps {
    pub boundary: Boundary,
    /// The published config: signatures' routes, the catalogue (memory limits), trading hours.
    pub tree: ConfigTree,
    pub parameters: Arc<dyn ParameterStore>,
    pub parameter_prefix: String,
    pub signals: Arc<dyn SignalLedger>,
    pub releases: Arc<dyn ReleaseRecords>,
    pub metrics: Arc<dyn MetricsSink>,
    /// The environment's accounts found vended, per container.
    pub vended: VendedCache,
}

impl Deps {
    /// The detection's account must be vended for the environment (as the scaler checks), or
    /// the automation account itself: the control plane's own log groups.
    async fn known_account(&self, environment: &str, account: &str) -> Result<bool, HandlerError> {
        if account == self.boundary.automation_account_id {
            return Ok(true);
        }
        self.vended.check(self.parameters.as_ref(), &self.parameter_prefix, environment, account).await??;
        Ok(false)
    }
}

pub async fn handle(request: Request, deps: &Deps) -> Result<Response, HandlerError> {
    match request {
        Request::Triage { event, now, execution } => {
            let owner =
                execution.or_else(|| event.get("id").and_then(Value::as_str).map(str::to_string)).unwrap_or_default();
            triage(&event, &owner, now.unwrap_or_else(Utc::now), deps).await
        }
    }
}

async fn triage(event: &Value, owner: &str, now: DateTime<Utc>, deps: &Deps) -> Result<Triaged, HandlerError> {
    let d = detection::parse(event)?;
    // Only the log processor, in this account, raises detections (its policy, the bus policy
    // and the rule say so too).
    deps.boundary.sent_by(event, DETAIL_TYPE, Sender::Automation)?;
    deps.boundary.environment(&d.environment)?;
    let own_logs = deps.known_account(&d.environment, &d.account).await?;
    let env =
        deps.tree.environment(&d.environment).ok_or_else(|| HandlerError::UnknownEnvironment(d.environment.clone()))?;
    let route = deps.tree.signals.signature(&d.signature);
    let settings = &deps.tree.signals.triage;
    let key = format!("{}#{}#{}", d.account, d.service, d.signature);
    let sighting = deps.signals.sight(&key, owner, now, i64::from(settings.dedupe_window_seconds)).await?;
    // Only what a remediation needs is read: a notification costs the ledger nothing.
    let remediating = route.is_some_and(|r| r.remediation.is_some()) && !own_logs;
    let release = match (remediating, sighting) {
        (true, platform_core::signals::Sighting::First) => deps.releases.current(&d.environment, &d.account).await?,
        _ => None,
    };
    let memory_limit = release
        .as_ref()
        .and_then(|r| r.resources.get(&d.service))
        .and_then(|o| o.memory.clone())
        .or_else(|| deps.tree.catalog.services.get(&d.service).map(|s| s.resources.memory_limit.clone()));
    let situation = Situation {
        now,
        signature: &d.signature,
        service: &d.service,
        route,
        settings,
        sighting,
        own_logs,
        release: release.as_ref(),
        memory_limit: memory_limit.as_deref(),
        trading_hours: in_trading_hours(&env.trading_hours, now),
    };
    let decision = decide::decide(&situation);
    let deploy = match (decision.kind, decision.release.clone()) {
        (Kind::Rollback | Kind::RaiseMemory, Some(release)) => Some(DeployRequest {
            environment: d.environment.clone(),
            account_id: d.account.clone(),
            release,
            resources: decision
                .memory
                .clone()
                .map(|m| BTreeMap::from([(d.service.clone(), ResourceOverride { memory: Some(m) })]))
                .unwrap_or_default(),
        }),
        _ => None,
    };
    let triaged = Triaged {
        kind: decision.kind,
        environment: d.environment.clone(),
        account: d.account.clone(),
        service: d.service.clone(),
        signature: d.signature.clone(),
        severity: route.map_or(d.severity.clone(), |r| r.severity.to_string()),
        runbook: format!("docs/runbook.md#{}", route.and_then(|r| r.runbook.as_deref()).unwrap_or(UNKNOWN_RUNBOOK)),
        sample: d.sample.clone(),
        reason: decision.reason,
        suppressed: match sighting {
            platform_core::signals::Sighting::Suppressed { count, .. } => Some(count),
            platform_core::signals::Sighting::First => None,
        },
        deploy,
    };
    deps.metrics.emit(&metric(&triaged, now).to_string());
    Ok(triaged)
}

/// EMF for one triage: outcomes per environment and signature (both bounded by the config).
fn metric(t: &Triaged, now: DateTime<Utc>) -> Value {
    emf::Document::new(now.timestamp_millis())
        .dimension("Environment", &t.environment)
        .dimension("Outcome", <&'static str>::from(t.kind))
        .metric("Signals", "Count", 1)
        .property("Signature", t.signature.as_str())
        .property("Service", t.service.as_str())
        .to_value()
}
