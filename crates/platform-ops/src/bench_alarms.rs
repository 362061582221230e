//! `bench alarms`: alarm transitions delivered at once, with duplicates, through the scaler's decide on the guard table.

// Each transition is a distinct CloudWatch alarm state change (its own alarm time and event id)
// for one of `targets` nodegroups (one per member account, in memory); each is delivered
// `deliveries` times, every delivery a separate execution, with at most `concurrency` in flight.
// A delivery runs the alarm scaler's own `decide` (claim the transition, read the group and its
// history, decide, lock the target) and, when the plan is to scale, `act`, `verify` and `record`
// (which writes the audit item and releases the lock), as the state machine would. The guard
// table is the real DynamoDB adapter on moto, its calls counted by an SDK interceptor.

mod atomic;
mod writes;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use alarm_scaler::demand::Reservation;
use alarm_scaler::guardrails::{Capacity, Outcome};
use alarm_scaler::handler::{Deps, Plan, PlanKind, Request, Response, handle};
use alarm_scaler::ports::{Guard, PodDemand};
use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use emulator::Emulator;
use platform_core::capacity::{GroupState, GroupStatus};
use platform_core::config::{self, ConfigTree, config_parameters};
use platform_core::error::AwsError;
use platform_core::fakes::{CapturedMetrics, FakeParameterStore, MemoryGroups};
use platform_core::guard::GuardTable;
use platform_core::trust::Boundary;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub use atomic::ItemAtomic;
pub use writes::{OperationCount, WriteCounter};

/// The environment the alarms belong to.
pub const ENVIRONMENT: &str = "dev";
/// Decide retried on `Throttled`/`Transient`, as the state machine's Retry does (its waits shortened).
const DECIDE_RETRIES: u32 = 4;

/// How much load, and how it is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AlarmLoad {
    /// Distinct alarm transitions, spread evenly over the targets.
    pub transitions: u32,
    pub targets: u32,
    /// Deliveries of each transition (2 and more: duplicates).
    pub deliveries: u32,
    /// Deliveries in flight at once.
    pub concurrency: u32,
}

impl Default for AlarmLoad {
    fn default() -> Self {
        AlarmLoad { transitions: 1000, targets: 10, deliveries: 2, concurrency: 64 }
    }
}

/// Decision times, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// What a load did.
#[derive(Debug, Clone, Serialize)]
pub struct AlarmFigures {
    pub load: AlarmLoad,
    /// Whether conditional writes to one item were serialised ([`ItemAtomic`]), as DynamoDB
    /// applies them; moto's alone are not atomic.
    pub atomic_items: bool,
    /// Deliveries by the plan decide answered (`scale`, `busy`, `refuse`, `duplicate`, ...), and
    /// `error` for those that ended in an error.
    pub outcomes: BTreeMap<String, u64>,
    /// Refusals by guardrail.
    pub refusals: BTreeMap<String, u64>,
    /// Transitions whose deliveries did not get exactly one claim, with the claims they got.
    pub misclaimed: BTreeMap<String, u32>,
    /// Deliveries refused or joined without a reason.
    pub unexplained: u64,
    /// The first errors, as they read.
    pub errors: Vec<String>,
    /// Decide calls retried after a throttle or a transient error.
    pub decide_retries: u64,
    /// Resizes per target account.
    pub scales: BTreeMap<String, u32>,
    /// Resizes decided inside the scale-out cooldown of the target's previous one.
    pub scales_in_cooldown: u32,
    /// Most resizes of one target in flight at once (its lock allows one).
    pub max_concurrent_scales: u32,
    /// The guard table's calls by operation (empty when the guard was not the table).
    pub table: BTreeMap<String, OperationCount>,
    pub conditional_writes: u64,
    /// Conditional writes the table refused (`ConditionalCheckFailedException`).
    pub conflicts: u64,
    /// What the plans say were refused: one per duplicate (its claim) and one per busy (its lock).
    pub expected_conflicts: u64,
    pub operations: u64,
    pub attempts: u64,
    /// Attempts the SDK made beyond the first of each operation.
    pub retries: u64,
    /// Each decide call, claim to plan.
    pub decide: Latency,
    pub wall_seconds: f64,
    pub deliveries_per_second: f64,
}

impl AlarmFigures {
    /// Everything that breaks a guarantee; empty when the load was handled as it must be.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.misclaimed.is_empty() {
            let first: Vec<String> = self.misclaimed.iter().take(5).map(|(t, n)| format!("{t}: {n}")).collect();
            out.push(format!(
                "{} transition(s) without exactly one claim ({})",
                self.misclaimed.len(),
                first.join(", ")
            ));
        }
        if self.unexplained > 0 {
            out.push(format!("{} delivery(ies) refused or joined without a reason", self.unexplained));
        }
        if let Some(n) = self.outcomes.get("error") {
            out.push(format!("{n} delivery(ies) failed: {}", self.errors.join("; ")));
        }
        if self.max_concurrent_scales > 1 {
            out.push(format!("{} resizes of one target at once", self.max_concurrent_scales));
        }
        if self.scales_in_cooldown > 0 {
            out.push(format!("{} resize(s) inside the cooldown of the one before", self.scales_in_cooldown));
        }
        out
    }
}

/// Starts moto, creates the guard table as the template makes it, and delivers `load` through it;
/// `atomic_items` serialises the conditional writes to one item, as DynamoDB does and moto does not.
pub async fn alarms(root: &Path, load: &AlarmLoad, atomic_items: bool) -> anyhow::Result<AlarmFigures> {
    let tree = config::load(&root.join("config"))?;
    let at = root.to_path_buf();
    let emulator = tokio::task::spawn_blocking(move || Emulator::start(&at)).await??;
    let counter = WriteCounter::default();
    let conf = aws_sdk_dynamodb::config::Builder::from(&emulator.sdk_config()).interceptor(counter.clone()).build();
    let table = format!("{}-guard", tree.resource_prefix(ENVIRONMENT));
    let guard = GuardTable::create(aws_sdk_dynamodb::Client::from_conf(conf), &table).await?;
    counter.clear();
    let guard: Arc<dyn Guard> = if atomic_items { Arc::new(ItemAtomic::new(Arc::new(guard))) } else { Arc::new(guard) };
    let figures = deliver(&tree, guard, load, Some(&counter)).await;
    drop(emulator);
    Ok(AlarmFigures { atomic_items, ..figures? })
}

/// The member account of target `t`.
pub fn account(t: u32) -> String {
    format!("{:012}", 222_222_220_000u64 + u64::from(t))
}

/// Delivers `load` to the scaler with `guard` as its guard table; `counter` is the interceptor
/// on the table's client, when it has one.
pub async fn deliver(
    tree: &ConfigTree,
    guard: Arc<dyn Guard>,
    load: &AlarmLoad,
    counter: Option<&WriteCounter>,
) -> anyhow::Result<AlarmFigures> {
    anyhow::ensure!(
        load.transitions > 0 && load.targets > 0 && load.deliveries > 0 && load.concurrency > 0,
        "transitions, targets, deliveries and concurrency must be at least 1"
    );
    let env = tree.environment(ENVIRONMENT).with_context(|| format!("no `{ENVIRONMENT}` environment in the config"))?;
    let params = FakeParameterStore::default();
    for (name, value) in config_parameters(tree) {
        params.insert(&name, &value);
    }
    let prefix = &tree.organization.parameter_prefix;
    let groups = MemoryGroups::default();
    let n = &env.nodegroup;
    for t in 0..load.targets {
        let account = account(t);
        // Each target's account, as vending published it.
        params.insert(&format!("{prefix}/accounts/{ENVIRONMENT}/{account}/id"), &account);
        let capacity = Capacity { min: n.min_size, desired: n.desired_size, max: n.max_size };
        groups.set(&account, GroupState { capacity, tags: BTreeMap::new(), status: GroupStatus::Active });
    }
    let deps = Deps {
        boundary: Boundary {
            environment: ENVIRONMENT.into(),
            automation_account_id: "123456789012".into(),
            management_account_id: "111111111111".into(),
        },
        groups: Arc::new(groups),
        guard,
        demand: Arc::new(NoInsights),
        parameters: Arc::new(params),
        parameter_prefix: prefix.clone(),
        metrics: Arc::new(CapturedMetrics::default()),
        config: Default::default(),
        vended: Default::default(),
    };
    let ctx = Arc::new(Run {
        deps,
        events: (0..load.transitions).map(|i| event(tree, load.targets, i)).collect(),
        targets: load.targets,
        clock: time("2026-11-24T20:00:00Z"),
        started: Instant::now(),
        in_flight: (0..load.targets).map(|_| AtomicU32::new(0)).collect(),
        peak: AtomicU32::new(0),
    });
    let permits = Arc::new(Semaphore::new(load.concurrency as usize));
    let mut tasks = JoinSet::new();
    // A transition's deliveries go out one after the other, so they race each other.
    for i in 0..load.transitions {
        for d in 0..load.deliveries {
            let permit = permits.clone().acquire_owned().await?;
            let ctx = ctx.clone();
            tasks.spawn(async move {
                let delivery = ctx.deliver(i, d).await;
                drop(permit);
                delivery
            });
        }
    }
    let mut deliveries = Vec::new();
    while let Some(d) = tasks.join_next().await {
        deliveries.push(d?);
    }
    let wall = ctx.started.elapsed();
    let cooldown = i64::from(env.scaling.scale_out_cooldown_seconds);
    let table = counter.map(WriteCounter::snapshot).unwrap_or_default();
    Ok(tally(*load, &deliveries, wall, table, cooldown, ctx.peak.load(Ordering::SeqCst)))
}

/// No Container Insights: the alarms only scale out, and a scale-out never reads it.
#[derive(Debug)]
struct NoInsights;

#[async_trait]
impl PodDemand for NoInsights {
    async fn reservation(&self, _: &str, _: &str, _: DateTime<Utc>) -> Result<Option<Reservation>, AwsError> {
        Ok(None)
    }
}

fn time(t: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

/// Transition `i`: the `i / targets`-th state change of its target's CPU or memory alarm.
fn event(tree: &ConfigTree, targets: u32, i: u32) -> Value {
    let (t, k) = (i % targets, i / targets);
    let convention = &tree.organization.remediation;
    let metric = if k % 2 == 0 { "cpu" } else { "memory" };
    let alarm =
        format!("{}{ENVIRONMENT}{}nodes-{metric}-high", convention.alarm_name_prefix, convention.alarm_name_marker);
    let since = (time("2026-11-24T19:00:00Z") + chrono::Duration::seconds(i64::from(k) * 30)).to_rfc3339();
    json!({
        "version": "0", "id": format!("bench-{t:03}-{k:05}"), "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": account(t), "time": since, "region": "us-east-1", "resources": [],
        "detail": {
            "alarmName": alarm,
            "state": {"value": "ALARM", "reason": "Threshold Crossed", "timestamp": since},
            "previousState": {"value": "OK", "reason": "", "timestamp": "2026-11-24T00:00:00.000+0000"},
            "configuration": {"metrics": [{"id": "m1", "metricStat": {"metric": {"namespace": "ContainerInsights",
                "name": format!("node_{metric}_utilization"),
                "dimensions": {"ClusterName": tree.cluster_name(ENVIRONMENT), "NodegroupName": tree.nodegroup_name(ENVIRONMENT)}},
                "period": 60, "stat": "Average"}}]}
        }
    })
}

/// What the deliveries share.
struct Run {
    deps: Deps,
    events: Vec<Value>,
    targets: u32,
    /// The state machine's clock at the start; each decision's `now` is this plus the time since.
    clock: DateTime<Utc>,
    started: Instant,
    /// Resizes in flight per target, between its plan and its record.
    in_flight: Vec<AtomicU32>,
    peak: AtomicU32,
}

/// One delivery, as it ended.
#[derive(Debug)]
struct Delivery {
    transition: u32,
    target: u32,
    /// `None` for an error.
    kind: Option<PlanKind>,
    reason: String,
    guardrail: Option<String>,
    decided_at: DateTime<Utc>,
    /// Each decide call's time.
    times: Vec<Duration>,
    retries: u32,
}

impl Run {
    async fn deliver(&self, i: u32, d: u32) -> Delivery {
        let target = i % self.targets;
        let execution = format!(
            "arn:aws:states:us-east-1:123456789012:execution:abc-trading-{ENVIRONMENT}-alarm-remediation:bench-{i}-{d}"
        );
        let mut delivery = Delivery {
            transition: i,
            target,
            kind: None,
            reason: String::new(),
            guardrail: None,
            decided_at: self.clock,
            times: Vec::new(),
            retries: 0,
        };
        let answer = loop {
            let now = self.clock + chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default();
            let request = Request::Decide {
                event: self.events[i as usize].clone(),
                now: Some(now),
                retry_of: None,
                execution: Some(execution.clone()),
            };
            let started = Instant::now();
            let answer = handle(request, &self.deps).await;
            delivery.times.push(started.elapsed());
            match answer {
                Err(e) if delivery.retries < DECIDE_RETRIES && matches!(e.error_type(), "Throttled" | "Transient") => {
                    delivery.retries += 1;
                    tokio::time::sleep(Duration::from_millis(10 << delivery.retries)).await;
                }
                other => break other,
            }
        };
        let plan = match answer {
            Ok(Response::Plan(plan)) => *plan,
            Ok(other) => {
                delivery.reason = format!("decide answered {other:?}");
                return delivery;
            }
            Err(e) => {
                delivery.reason = format!("decide: {} ({})", e, e.error_type());
                return delivery;
            }
        };
        delivery.decided_at = plan.decided_at;
        delivery.guardrail = plan.decision.as_ref().and_then(|d| match &d.outcome {
            Outcome::Refuse { guardrail, .. } | Outcome::Defer { guardrail, .. } => {
                serde_json::to_value(guardrail).ok()?.as_str().map(str::to_string)
            }
            Outcome::Scale { .. } => None,
        });
        delivery.reason = plan.summary.clone();
        if plan.kind == PlanKind::Scale
            && let Err(e) = self.scale(target as usize, &plan).await
        {
            delivery.reason = format!("{}: {e}", plan.summary);
            return delivery;
        }
        delivery.kind = Some(plan.kind);
        delivery
    }

    /// What the state machine does with a plan to scale: act, verify, record (and unlock).
    async fn scale(&self, target: usize, plan: &Plan) -> Result<(), alarm_scaler::handler::HandlerError> {
        let now = self.in_flight[target].fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let acted = async {
            handle(Request::Act { plan: plan.clone() }, &self.deps).await?;
            handle(Request::Verify { plan: plan.clone() }, &self.deps).await
        }
        .await;
        // Counted out before the lock is released, so two counted at once were two locked at once.
        self.in_flight[target].fetch_sub(1, Ordering::SeqCst);
        acted?;
        handle(Request::Record { plan: plan.clone() }, &self.deps).await?;
        Ok(())
    }
}

/// The `q` quantile of sorted `times` (nearest rank), in milliseconds.
fn quantile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

fn tally(
    load: AlarmLoad,
    deliveries: &[Delivery],
    wall: Duration,
    table: BTreeMap<String, OperationCount>,
    cooldown_seconds: i64,
    peak: u32,
) -> AlarmFigures {
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let mut refusals: BTreeMap<String, u64> = BTreeMap::new();
    let mut claims = vec![0u32; load.transitions as usize];
    let mut scale_times: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut unexplained = 0;
    for d in deliveries {
        let Some(kind) = d.kind else {
            *outcomes.entry("error".into()).or_default() += 1;
            if errors.len() < 5 {
                errors.push(d.reason.clone());
            }
            continue;
        };
        *outcomes.entry(kind.to_string()).or_default() += 1;
        if kind != PlanKind::Duplicate {
            claims[d.transition as usize] += 1;
        }
        if d.reason.trim().is_empty() {
            unexplained += 1;
        }
        match kind {
            PlanKind::Refuse => *refusals.entry(d.guardrail.clone().unwrap_or_else(|| "?".into())).or_default() += 1,
            PlanKind::Scale => scale_times.entry(account(d.target)).or_default().push(d.decided_at),
            _ => {}
        }
    }
    let misclaimed = claims
        .iter()
        .enumerate()
        .filter(|(_, n)| **n != 1)
        .map(|(i, n)| {
            let i = i as u32;
            (format!("target {} transition {}", i % load.targets, i / load.targets), *n)
        })
        .collect();
    let mut scales_in_cooldown = 0;
    for times in scale_times.values_mut() {
        times.sort();
        scales_in_cooldown += times.windows(2).filter(|w| (w[1] - w[0]).num_seconds() < cooldown_seconds).count();
    }
    let mut times: Vec<Duration> = deliveries.iter().flat_map(|d| d.times.iter().copied()).collect();
    times.sort();
    let total: f64 = times.iter().map(Duration::as_secs_f64).sum();
    let decide = Latency {
        p50_ms: quantile(&times, 0.50),
        p99_ms: quantile(&times, 0.99),
        max_ms: quantile(&times, 1.0),
        mean_ms: if times.is_empty() { 0.0 } else { total * 1000.0 / times.len() as f64 },
    };
    let sum = |f: fn(&OperationCount) -> u64| table.values().map(f).sum::<u64>();
    let count = |kind: PlanKind| outcomes.get(&kind.to_string()).copied().unwrap_or(0);
    AlarmFigures {
        load,
        atomic_items: false,
        expected_conflicts: count(PlanKind::Duplicate) + count(PlanKind::Busy),
        refusals,
        misclaimed,
        unexplained,
        errors,
        decide_retries: deliveries.iter().map(|d| u64::from(d.retries)).sum(),
        scales: scale_times.iter().map(|(a, t)| (a.clone(), t.len() as u32)).collect(),
        scales_in_cooldown: scales_in_cooldown as u32,
        max_concurrent_scales: peak,
        conditional_writes: sum(|c| c.conditional),
        conflicts: sum(|c| c.conflicts),
        operations: sum(|c| c.operations),
        attempts: sum(|c| c.attempts),
        retries: sum(OperationCount::retries),
        table,
        decide,
        wall_seconds: wall.as_secs_f64(),
        deliveries_per_second: deliveries.len() as f64 / wall.as_secs_f64().max(1e-9),
        outcomes,
    }
}
