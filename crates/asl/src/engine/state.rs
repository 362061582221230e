//! One state at a time: data flow through paths and templates, and catchers on failure.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::failure::{check_size, fill_failure, runtime};
use super::map::{Limits, MapRun, run_map};
use super::retry::with_retries;
use super::task::{TaskCall, is_callback, issue_token, run_task, task_request};
use super::{Failure, Flow, Run, errors, redrive};
use crate::definition::{Catcher, Kind, Next, Nullable, State, StateMachine, Text, Timeout, WaitFor};

/// Runs from `StartAt` to an end. Boxed: Parallel and Map recurse into it. `scope` names where
/// this run sits in the execution (empty at the top), so a redrive finds what finished here.
pub(super) fn run_machine(
    run: Arc<Run>,
    machine: StateMachine,
    input: Value,
    now: Duration,
    item: Option<(usize, Value)>,
    scope: String,
) -> BoxFuture<'static, Flow> {
    Box::pin(async move {
        let mut name = machine.start_at.clone();
        let mut data = input;
        let mut now = now;
        let mut visits: HashMap<String, u32> = HashMap::new();
        loop {
            // Stopped elsewhere (another branch or iteration): nothing more starts here.
            if run.is_stopped() {
                return Err((redrive::stopped(&name), now));
            }
            let Some(state) = machine.states.get(&name) else {
                return Err((runtime(format!("state `{name}` does not exist")), now));
            };
            let visit = visits.entry(name.clone()).or_default();
            let key = redrive::key(&scope, &name, *visit);
            *visit += 1;
            let step = match run.finished(&key) {
                // Finished before a redrive: its result is taken, the state is not run again.
                Some(exit) => Step::Next { output: exit.output, next: exit.next, at: exit.at.max(now) },
                None => {
                    run.transitions.fetch_add(1, Ordering::Relaxed);
                    run_state(&run, state, data, now, item.as_ref(), &key).await
                }
            };
            match step {
                Step::Next { output, next, at } => {
                    if let Some(deadline) = run.deadline
                        && at > deadline
                    {
                        return Err((Failure::new(errors::TIMEOUT, "the execution timed out"), deadline));
                    }
                    now = at;
                    match next {
                        Some(n) => {
                            name = n;
                            data = output;
                        }
                        None => return Ok((output, now)),
                    }
                }
                Step::Fail { failure, at } => return Err((failure, at)),
            }
        }
    })
}

enum Step {
    Next { output: Value, next: Option<String>, at: Duration },
    Fail { failure: Failure, at: Duration },
}

fn next_of(state: &State) -> Option<String> {
    match &state.next {
        Some(Next::State(n)) => Some(n.clone()),
        _ => None,
    }
}

fn apply_path(
    path: &Nullable<crate::path::Path>,
    data: &Value,
    context: &Value,
    field: &str,
) -> Result<Value, Failure> {
    match path {
        Nullable::Default => Ok(data.clone()),
        Nullable::Null => Ok(json!({})),
        Nullable::Set(p) => p.select(data, context).ok_or_else(|| {
            runtime(format!(
                "an error occurred while executing the state: invalid path `{}` in {field}: it references nothing in the input",
                p.as_str()
            ))
        }),
    }
}

fn place_result(
    result_path: &Nullable<crate::path::ReferencePath>,
    raw: &Value,
    result: Value,
) -> Result<Value, Failure> {
    match result_path {
        Nullable::Default => Ok(result),
        Nullable::Null => Ok(raw.clone()),
        Nullable::Set(p) => p
            .set(raw.clone(), result)
            .map_err(|e| Failure::new(errors::RESULT_PATH, format!("unable to apply ResultPath: {e}"))),
    }
}

async fn run_state(
    run: &Arc<Run>,
    state: &State,
    raw: Value,
    entered: Duration,
    item: Option<&(usize, Value)>,
    key: &str,
) -> Step {
    let type_name = state.kind.type_name();
    let name = state.name.as_str();
    run.event(&format!("{type_name}StateEntered"), entered, Some(name), json!({"input": raw.to_string()}));
    let outcome = state_body(run, state, &raw, entered, item, key).await;
    match outcome {
        // The state ran (its task's effects stand) and the execution stops before recording it.
        Ok((_, _, at)) if run.stops_after(name) => Step::Fail { failure: redrive::stopped(name), at },
        Ok((output, next, at)) => {
            if let Err(f) = check_size(&output, &format!("output of state `{name}`")) {
                return Step::Fail { failure: f, at };
            }
            run.event(&format!("{type_name}StateExited"), at, Some(name), json!({"output": output.to_string()}));
            run.exited(key.to_string(), redrive::Exit { output: output.clone(), next: next.clone(), at });
            Step::Next { output, next, at }
        }
        Err((failure, at)) => {
            // A catcher sends the error, placed on the state's raw input, to its Next state; but
            // a timeout at the execution's deadline ends the execution, catchers or not, and a
            // stopped execution is not a failure anything catches.
            let expired =
                (failure.error == errors::TIMEOUT && run.deadline.is_some_and(|d| at >= d)) || run.is_stopped();
            let catchers: &[Catcher] = match &state.kind {
                Kind::Task { catch, .. } | Kind::Parallel { catch, .. } | Kind::Map { catch, .. } if !expired => catch,
                _ => &[],
            };
            if let Some(c) = catchers.iter().find(|c| failure.matches(&c.errors)) {
                match place_result(&c.result_path, &raw, failure.as_output()) {
                    Ok(output) => {
                        run.event(
                            &format!("{type_name}StateExited"),
                            at,
                            Some(name),
                            json!({"output": output.to_string(), "caught": failure.error}),
                        );
                        let next = Some(c.next.clone());
                        run.exited(key.to_string(), redrive::Exit { output: output.clone(), next: next.clone(), at });
                        return Step::Next { output, next, at };
                    }
                    Err(f) => return Step::Fail { failure: f, at },
                }
            }
            Step::Fail { failure, at }
        }
    }
}

type Body = Result<(Value, Option<String>, Duration), (Failure, Duration)>;

async fn state_body(
    run: &Arc<Run>,
    state: &State,
    raw: &Value,
    entered: Duration,
    item: Option<&(usize, Value)>,
    key: &str,
) -> Body {
    let at_entry = |f: Failure| (f, entered);
    let context = run.context(&state.name, entered, 0, item);
    let io = &state.io;
    match &state.kind {
        Kind::Pass { result } => {
            let input = apply_path(&io.input_path, raw, &context, "InputPath").map_err(at_entry)?;
            let effective = match &io.parameters {
                Some(t) => t.fill(&input, &context).map_err(|e| at_entry(fill_failure(e)))?,
                None => input,
            };
            let result = result.clone().unwrap_or(effective);
            let placed = place_result(&io.result_path, raw, result).map_err(at_entry)?;
            let output = apply_path(&io.output_path, &placed, &context, "OutputPath").map_err(at_entry)?;
            Ok((output, next_of(state), entered))
        }
        Kind::Succeed => {
            let input = apply_path(&io.input_path, raw, &context, "InputPath").map_err(at_entry)?;
            let output = apply_path(&io.output_path, &input, &context, "OutputPath").map_err(at_entry)?;
            Ok((output, None, entered))
        }
        Kind::Fail { error, cause } => {
            let text = |t: &Option<Text>| -> Result<Option<String>, Failure> {
                match t {
                    None => Ok(None),
                    Some(Text::Literal(s)) => Ok(Some(s.clone())),
                    Some(Text::Path(p)) => match p.select(raw, &context) {
                        Some(Value::String(s)) => Ok(Some(s)),
                        Some(other) => Err(runtime(format!("`{}` must select a string, not {other}", p.as_str()))),
                        None => Err(runtime(format!("invalid path `{}`: it references nothing", p.as_str()))),
                    },
                    Some(Text::Call(c)) => match c.evaluate(raw, &context) {
                        Ok(Value::String(s)) => Ok(Some(s)),
                        Ok(other) => Err(runtime(format!("`{}` must produce a string, not {other}", c.name))),
                        Err(e) => Err(Failure::new(errors::INTRINSIC, e.to_string())),
                    },
                }
            };
            let error = text(error).map_err(at_entry)?.unwrap_or_default();
            let cause = text(cause).map_err(at_entry)?.unwrap_or_default();
            Err((Failure::new(error, cause), entered))
        }
        Kind::Choice { choices, default } => {
            let input = apply_path(&io.input_path, raw, &context, "InputPath").map_err(at_entry)?;
            let mut chosen = None;
            for c in choices {
                if c.rule.evaluate(&input, &context).map_err(|e| at_entry(runtime(e.to_string())))? {
                    chosen = Some(c.next.clone());
                    break;
                }
            }
            let next = chosen.or_else(|| default.clone()).ok_or_else(|| {
                at_entry(Failure::new(
                    errors::NO_CHOICE,
                    format!("no choice rule matched and there is no Default in state `{}`", state.name),
                ))
            })?;
            let output = apply_path(&io.output_path, &input, &context, "OutputPath").map_err(at_entry)?;
            Ok((output, Some(next), entered))
        }
        Kind::Wait(wait) => {
            let input = apply_path(&io.input_path, raw, &context, "InputPath").map_err(at_entry)?;
            let seconds = |v: Option<&Value>, p: &str| -> Result<Duration, Failure> {
                v.and_then(Value::as_u64)
                    .map(Duration::from_secs)
                    .ok_or_else(|| runtime(format!("`{p}` must select a non-negative whole number of seconds")))
            };
            let until = |ts: &str| -> Result<Duration, Failure> {
                let t = crate::choice::timestamp(ts).ok_or_else(|| runtime(format!("`{ts}` is not a timestamp")))?;
                let now = run.at(entered);
                Ok((t.with_timezone(&Utc) - now).to_std().unwrap_or(Duration::ZERO))
            };
            let delay = match wait {
                WaitFor::Seconds(s) => Duration::from_secs(*s),
                WaitFor::SecondsPath(p) => seconds(p.get(&input), p.as_str()).map_err(at_entry)?,
                WaitFor::Timestamp(t) => until(t).map_err(at_entry)?,
                WaitFor::TimestampPath(p) => {
                    let ts = p
                        .get(&input)
                        .and_then(Value::as_str)
                        .ok_or_else(|| at_entry(runtime(format!("`{}` must select a timestamp string", p.as_str()))))?;
                    until(ts).map_err(at_entry)?
                }
            };
            let output = apply_path(&io.output_path, &input, &context, "OutputPath").map_err(at_entry)?;
            Ok((output, next_of(state), entered + delay))
        }
        Kind::Task { resource, timeout, heartbeat, retry, .. } => {
            let input = apply_path(&io.input_path, raw, &context, "InputPath").map_err(at_entry)?;
            let seconds = |limit: &Option<Timeout>| -> Result<Option<Duration>, Failure> {
                match limit {
                    None => Ok(None),
                    Some(Timeout::Seconds(s)) => Ok(Some(Duration::from_secs(*s))),
                    Some(Timeout::Path(p)) => p
                        .get(&input)
                        .and_then(Value::as_u64)
                        .filter(|s| *s > 0)
                        .map(|s| Some(Duration::from_secs(s)))
                        .ok_or_else(|| runtime(format!("`{}` must select a positive whole number", p.as_str()))),
                }
            };
            let timeout = seconds(timeout).map_err(at_entry)?;
            let heartbeat = seconds(heartbeat).map_err(at_entry)?;
            let callback = is_callback(resource);
            let attempt = |now: Duration, attempt: u32| {
                let run = run.clone();
                let input = input.clone();
                async move {
                    let ticket = if callback {
                        Some(issue_token(&run, state, attempt, now, timeout, heartbeat).map_err(|f| (f, now))?)
                    } else {
                        None
                    };
                    // Parameters are filled per attempt: a retry sees its own `$$.State.RetryCount`,
                    // and a callback its own `$$.Task.Token`.
                    let mut context = run.context(&state.name, entered, attempt, item);
                    if let Some(t) = &ticket {
                        context["Task"] = json!({"Token": t.token()});
                    }
                    let effective = match &io.parameters {
                        Some(t) => t.fill(&input, &context).map_err(|e| (fill_failure(e), now))?,
                        None => input,
                    };
                    let request = task_request(resource, &effective).map_err(|f| (f, now))?;
                    let call = TaskCall { request, timeout, heartbeat, ticket, now, attempt };
                    run_task(&run, state, resource, call).await
                }
            };
            let (result, at) = with_retries(retry, entered, run.deadline, attempt).await?;
            finish(state, raw, result, at, &context)
        }
        Kind::Parallel { branches, retry, .. } => {
            let input = apply_path(&io.input_path, raw, &context, "InputPath").map_err(at_entry)?;
            let effective = match &io.parameters {
                Some(t) => t.fill(&input, &context).map_err(|e| at_entry(fill_failure(e)))?,
                None => input,
            };
            let attempt = |now: Duration, attempt: u32| {
                let run = run.clone();
                let effective = effective.clone();
                async move {
                    run.event("ParallelStateStarted", now, Some(&state.name), Value::Null);
                    let flows = futures_util::future::join_all(branches.iter().enumerate().map(|(i, b)| {
                        let scope = redrive::nested(key, attempt, i);
                        run_machine(run.clone(), b.clone(), effective.clone(), now, None, scope)
                    }))
                    .await;
                    let end = flows.iter().map(|f| match f {
                        Ok((_, t)) | Err((_, t)) => *t,
                    });
                    let end = end.max().unwrap_or(now);
                    // The branch that failed first (on the virtual clock) fails the state; a
                    // stopped execution stops it, whatever the other branches did.
                    if run.is_stopped() {
                        return Err((redrive::stopped(&state.name), end));
                    }
                    let first_failure = flows
                        .iter()
                        .filter_map(|f| f.as_ref().err())
                        .min_by_key(|(_, t)| *t)
                        .map(|(f, t)| (f.clone(), *t));
                    if let Some((f, t)) = first_failure {
                        run.event(
                            "ParallelStateFailed",
                            t,
                            Some(&state.name),
                            json!({"error": f.error, "cause": f.cause}),
                        );
                        return Err((f, t));
                    }
                    run.event("ParallelStateSucceeded", end, Some(&state.name), Value::Null);
                    let outputs = flows.into_iter().filter_map(Result::ok).map(|(v, _)| v).collect();
                    Ok((Value::Array(outputs), end))
                }
            };
            let (result, at) = with_retries(retry, entered, run.deadline, attempt).await?;
            finish(state, raw, result, at, &context)
        }
        Kind::Map {
            items_path,
            item_selector,
            processor,
            max_concurrency,
            tolerated_failure_count,
            tolerated_failure_percentage,
            retry,
            ..
        } => {
            let input = apply_path(&io.input_path, raw, &context, "InputPath").map_err(at_entry)?;
            let items = match items_path {
                None => input.clone(),
                Some(p) => p.select(&input, &context).ok_or_else(|| {
                    at_entry(runtime(format!("invalid path `{}` in ItemsPath: it references nothing", p.as_str())))
                })?,
            };
            let Value::Array(items) = items else {
                return Err(at_entry(runtime(format!(
                    "ItemsPath must select an array, not {}",
                    crate::path::type_name(&items)
                ))));
            };
            let limits = Limits::resolve(
                max_concurrency,
                tolerated_failure_count.as_ref(),
                tolerated_failure_percentage.as_ref(),
                &input,
                &context,
            )
            .map_err(at_entry)?;
            let attempt = |now: Duration, attempt: u32| {
                let run = run.clone();
                let items = items.clone();
                let input = input.clone();
                async move {
                    let scope = |index| redrive::nested(key, attempt, index);
                    run_map(
                        &run,
                        state,
                        MapRun { items, input, item_selector: item_selector.as_ref(), processor, limits },
                        now,
                        &scope,
                    )
                    .await
                }
            };
            let (result, at) = with_retries(retry, entered, run.deadline, attempt).await?;
            finish(state, raw, result, at, &context)
        }
    }
}

/// ResultSelector, ResultPath and OutputPath, in that order, on a state's result.
fn finish(state: &State, raw: &Value, result: Value, at: Duration, context: &Value) -> Body {
    let io = &state.io;
    let result = match &io.result_selector {
        Some(t) => t.fill(&result, context).map_err(|e| (fill_failure(e), at))?,
        None => result,
    };
    let placed = place_result(&io.result_path, raw, result).map_err(|f| (f, at))?;
    let output = apply_path(&io.output_path, &placed, context, "OutputPath").map_err(|f| (f, at))?;
    Ok((output, next_of(state), at))
}
