//! Replaying a scenario: each step's action, a step that waits on a callback parked until a later step answers it, then its expectations.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use platform_core::approvals::Decision;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::check::{check, fill, unaccounted, unrouted};
use super::{Action, Check, Expectation, Report, Scenario, Seen, Step, read_json};
use crate::approval::{LocalAnswers, decide};
use crate::runtime::admission::Refusal;
use crate::runtime::{Dispatch, Runtime, RuntimeError};

type StepTask = JoinHandle<Result<Vec<Dispatch>, RuntimeError>>;

/// A step whose dispatch waits on a callback: checked (`then`) when it ends.
struct Parked<'s> {
    step: &'s Step,
    task: StepTask,
    published_before: usize,
    refused_before: usize,
}

/// How a step's task left off.
enum Settled {
    Done(Result<Vec<Dispatch>, RuntimeError>),
    /// Something it started waits on a callback (more tasks wait than `baseline`).
    Waiting(StepTask),
}

/// Runs `task` until it ends or more than `baseline` callback tasks wait in the runtime.
async fn settle(runtime: &Runtime, mut task: StepTask, baseline: usize) -> Settled {
    tokio::select! {
        biased;
        joined = &mut task => Settled::Done(
            joined.unwrap_or_else(|e| Err(RuntimeError::Invalid(format!("a step's task ended abnormally: {e}")))),
        ),
        _ = runtime.tokens.wait_for(baseline + 1) => Settled::Waiting(task),
    }
}

/// Replays every step and checks its expectations; progress goes to stderr.
pub async fn replay(
    runtime: &Arc<Runtime>,
    name: &str,
    dir: &Path,
    scenario: &Scenario,
    facts: &BTreeMap<String, String>,
) -> Result<Report, RuntimeError> {
    let mut checks = Vec::new();
    let mut parked: Option<Parked<'_>> = None;
    for (i, step) in scenario.steps.iter().enumerate() {
        eprintln!("  .. step {}/{}: {}", i + 1, scenario.steps.len(), step.name);
        let published_before = runtime.published().len();
        let refused_before = runtime.refusals().len();
        let mut decision = None;
        let dispatches = match &step.action {
            Action::Decide { id, verdict, by, reason, at } => {
                let before = runtime.tokens.pending().len();
                let outcome = decide_now(runtime, id.as_deref(), *verdict, by, reason.clone(), *at, facts).await;
                if outcome.is_ok() {
                    resume(runtime, &mut parked, before - 1, &mut checks, facts).await?;
                }
                decision = Some(outcome);
                Vec::new()
            }
            Action::Advance { at } => {
                let pending = runtime.tokens.pending();
                let due =
                    pending.iter().filter(|p| p.timeout_at <= *at || p.heartbeat_at.is_some_and(|h| h <= *at)).count();
                runtime.tokens.advance(*at);
                if due > 0 {
                    resume(runtime, &mut parked, pending.len() - due, &mut checks, facts).await?;
                }
                Vec::new()
            }
            action => {
                let baseline = runtime.tokens.pending().len();
                let task = start(runtime, action, dir, facts)?;
                match settle(runtime, task, baseline).await {
                    Settled::Done(dispatches) => dispatches?,
                    Settled::Waiting(task) => {
                        if parked.is_some() {
                            return Err(RuntimeError::Invalid(format!(
                                "step `{}` waits on a callback while another step still does: answer that one first",
                                step.name
                            )));
                        }
                        parked = Some(Parked { step, task, published_before, refused_before });
                        Vec::new()
                    }
                }
            }
        };
        let published: Vec<Value> = runtime.published().into_iter().skip(published_before).map(|(_, e)| e).collect();
        let refused: Vec<Refusal> = runtime.refusals().into_iter().skip(refused_before).collect();
        let seen = Seen {
            dispatches: &dispatches,
            published: &published,
            refused: &refused,
            facts,
            decision: decision.as_ref(),
        };
        for expectation in &step.expect {
            checks.push(check(runtime, &step.name, expectation, &seen).await);
        }
        checks.extend(unrouted(&step.name, &step.expect, &refused));
        checks.extend(unaccounted(&|a, b| runtime.same_resource(a, b), &step.name, &step.expect, &dispatches));
    }
    // Nothing answers what still waits: its timeouts run out, as they would on AWS.
    if let Some(p) = parked.take() {
        runtime.tokens.advance_to_end();
        let dispatches = p.task.await.unwrap_or_else(|e| Err(RuntimeError::Invalid(format!("a step's task: {e}"))))?;
        checks.extend(
            ended(runtime, &p.step.name, &p.step.then, &dispatches, p.published_before, p.refused_before, facts).await,
        );
    }
    Ok(Report { scenario: name.to_string(), checks })
}

/// After an answer (`baseline`: the tasks still waiting without the answered ones), the parked
/// step runs on until it ends (its `then` checked) or waits again.
async fn resume(
    runtime: &Arc<Runtime>,
    parked: &mut Option<Parked<'_>>,
    baseline: usize,
    checks: &mut Vec<Check>,
    facts: &BTreeMap<String, String>,
) -> Result<(), RuntimeError> {
    let Some(p) = parked.take() else { return Ok(()) };
    match settle(runtime, p.task, baseline).await {
        Settled::Waiting(task) => *parked = Some(Parked { task, ..p }),
        Settled::Done(dispatches) => {
            let dispatches = dispatches?;
            let (step, published, refused) = (p.step, p.published_before, p.refused_before);
            checks.extend(ended(runtime, &step.name, &step.then, &dispatches, published, refused, facts).await);
        }
    }
    Ok(())
}

async fn ended(
    runtime: &Runtime,
    step: &str,
    then: &[Expectation],
    dispatches: &[Dispatch],
    published_before: usize,
    refused_before: usize,
    facts: &BTreeMap<String, String>,
) -> Vec<Check> {
    let published: Vec<Value> = runtime.published().into_iter().skip(published_before).map(|(_, e)| e).collect();
    let refused: Vec<Refusal> = runtime.refusals().into_iter().skip(refused_before).collect();
    let seen = Seen { dispatches, published: &published, refused: &refused, facts, decision: None };
    let label = format!("{step} (when it ended)");
    let mut out = Vec::new();
    for expectation in then {
        out.push(check(runtime, &label, expectation, &seen).await);
    }
    out.extend(unaccounted(&|a, b| runtime.same_resource(a, b), &label, then, dispatches));
    out
}

/// A `decide` step, through the same code as `platform-ops release approve|reject`: the
/// approval in the emulator's guard table, the answer to the runtime's waiting task.
async fn decide_now(
    runtime: &Runtime,
    id: Option<&str>,
    verdict: platform_core::approvals::Verdict,
    by: &str,
    reason: Option<String>,
    at: chrono::DateTime<chrono::Utc>,
    facts: &BTreeMap<String, String>,
) -> Result<String, String> {
    let id = match id {
        Some(id) => fill(id, facts).map_err(|e| e.to_string())?,
        None => {
            let waiting: Vec<String> = runtime
                .tokens
                .pending()
                .into_iter()
                .filter(|p| p.state == "AwaitApproval")
                .map(|p| p.execution)
                .collect();
            match waiting.as_slice() {
                [one] => one.clone(),
                other => return Err(format!("{} releases wait for approval: name one", other.len())),
            }
        }
    };
    let approvals = runtime.guard_table();
    let answers = LocalAnswers { tokens: &runtime.tokens, at };
    let decision = Decision { verdict, by: fill(by, facts).map_err(|e| e.to_string())?, at, reason };
    match decide(&approvals, &answers, &id, decision).await {
        Ok(done) => Ok(format!("{done:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// The step's action started in its own task, so that it can wait on a callback while later
/// steps run.
fn start(
    runtime: &Arc<Runtime>,
    action: &Action,
    dir: &Path,
    facts: &BTreeMap<String, String>,
) -> Result<StepTask, RuntimeError> {
    let rt = runtime.clone();
    Ok(match action {
        Action::Logs { group, stream, file } => {
            let path = dir.join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|source| RuntimeError::Read { path: path.display().to_string(), source })?;
            let lines: Vec<String> = text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
            let (group, stream) = (group.clone(), stream.clone());
            tokio::spawn(async move { rt.write_logs(&group, &stream, &lines).await })
        }
        Action::Event { bus, file, from } => {
            let from = from.as_deref().map(|f| fill(f, facts)).transpose()?;
            let (bus, event) = (bus.clone(), read_json(dir, file, facts)?);
            tokio::spawn(async move { rt.send_event_from(&bus, event, from.as_deref()).await })
        }
        Action::Invoke { function, file } => {
            let (function, event) = (function.clone(), read_json(dir, file, facts)?);
            tokio::spawn(async move { rt.dispatch_with_follow(&format!("invoke {function}"), &function, event).await })
        }
        Action::Execution { machine, file } => {
            let input = read_json(dir, file, facts)?;
            // A definition file next to the scenario, or a state machine of the template.
            let local = dir.join(machine);
            let target = if local.exists() { local.display().to_string() } else { machine.clone() };
            let label = format!("execution {machine}");
            tokio::spawn(async move { rt.dispatch_with_follow(&label, &target, input).await })
        }
        Action::Schedule { name, at } => {
            let (name, at) = (name.clone(), *at);
            tokio::spawn(async move { rt.fire_schedule(&name, at).await })
        }
        Action::Alarm { account, name, state, reason, bus, at } => {
            let (account, name) = (fill(account, facts)?, fill(name, facts)?);
            let (state, reason, bus, at) = (state.clone(), reason.clone(), bus.clone(), *at);
            tokio::spawn(async move { rt.set_alarm(&account, &name, &state, &reason, &bus, at).await })
        }
        Action::Drift { stack_set, account, region, resources } => {
            let (stack_set, account, region, resources) =
                (stack_set.clone(), fill(account, facts)?, region.clone(), resources.clone());
            tokio::spawn(
                async move { rt.edit_by_hand(&stack_set, &account, &region, resources).await.map(|()| Vec::new()) },
            )
        }
        Action::Parameter { name, value } => {
            let (name, value) = (fill(name, facts)?, value.to_string());
            tokio::spawn(async move { rt.put_parameter(&name, &value).await.map(|()| Vec::new()) })
        }
        Action::Decide { .. } | Action::Advance { .. } => {
            return Err(RuntimeError::Invalid("decide and advance steps are not dispatched".into()));
        }
    })
}
