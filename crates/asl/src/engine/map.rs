//! Map states: iterations run with bounded concurrency and a tolerated failure threshold.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::failure::{fill_failure, runtime};
use super::state::run_machine;
use super::{Failure, Flow, Run, errors, redrive};
use crate::definition::{Setting, State, StateMachine};
use crate::path::Root;

pub(super) struct MapRun<'a> {
    pub(super) items: Vec<Value>,
    pub(super) input: Value,
    pub(super) item_selector: Option<&'a crate::template::Template>,
    pub(super) processor: &'a StateMachine,
    pub(super) limits: Limits,
}

/// A Map's concurrency (0: no limit) and tolerated-failure thresholds, their `...Path` forms
/// resolved.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) max_concurrency: usize,
    pub(super) tolerated_count: Option<u64>,
    pub(super) tolerated_percentage: Option<f64>,
}

impl Limits {
    /// Reads the `...Path` forms from the Map's effective input (`$$` paths from the context
    /// object), as Step Functions does when the Map state starts. A path that selects nothing,
    /// or a value of the wrong kind, fails the state with `States.Runtime`.
    pub(super) fn resolve(
        max_concurrency: &Setting<usize>,
        tolerated_count: Option<&Setting<u64>>,
        tolerated_percentage: Option<&Setting<f64>>,
        input: &Value,
        context: &Value,
    ) -> Result<Limits, Failure> {
        let max_concurrency =
            resolve(max_concurrency, "MaxConcurrencyPath", "a non-negative integer", input, context, |v| {
                v.as_u64().map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            })?;
        let tolerated_count = tolerated_count
            .map(|s| resolve(s, "ToleratedFailureCountPath", "a non-negative integer", input, context, Value::as_u64))
            .transpose()?;
        let tolerated_percentage = tolerated_percentage
            .map(|s| {
                resolve(s, "ToleratedFailurePercentagePath", "a number from 0 to 100", input, context, |v| {
                    v.as_f64().filter(|p| (0.0..=100.0).contains(p))
                })
            })
            .transpose()?;
        Ok(Limits { max_concurrency, tolerated_count, tolerated_percentage })
    }
}

fn resolve<T: Copy>(
    setting: &Setting<T>,
    field: &str,
    expected: &str,
    input: &Value,
    context: &Value,
    read: impl Fn(&Value) -> Option<T>,
) -> Result<T, Failure> {
    let path = match setting {
        Setting::Value(v) => return Ok(*v),
        Setting::Path(p) => p,
    };
    let source = if path.root == Root::Context { context } else { input };
    let value = path
        .get(source)
        .ok_or_else(|| runtime(format!("invalid path `{}` in {field}: it references nothing", path.as_str())))?;
    read(value)
        .ok_or_else(|| runtime(format!("value {value} selected by {field} `{}` is not {expected}", path.as_str())))
}

pub(super) async fn run_map(
    run: &Arc<Run>,
    state: &State,
    map: MapRun<'_>,
    now: Duration,
    scope: &(dyn Fn(usize) -> String + Sync),
) -> Result<(Value, Duration), (Failure, Duration)> {
    let name = state.name.as_str();
    run.event("MapStateStarted", now, Some(name), json!({"length": map.items.len()}));
    let mut inputs = Vec::with_capacity(map.items.len());
    for (index, item) in map.items.iter().enumerate() {
        let entry = (index, item.clone());
        let value = match map.item_selector {
            Some(t) => {
                let context = run.context(name, now, 0, Some(&entry));
                t.fill(&map.input, &context).map_err(|e| (fill_failure(e), now))?
            }
            None => item.clone(),
        };
        inputs.push((entry, value));
    }
    let total = inputs.len();
    let limits = map.limits;
    let concurrency = if limits.max_concurrency == 0 { total.max(1) } else { limits.max_concurrency };
    // Each iteration starts when one of `concurrency` workers is free on the virtual clock, the
    // earliest free first, which is how Step Functions starts them in order. An iteration takes
    // its worker's free time when it starts and gives back its end when done; `buffered` starts
    // a new iteration only after one is done, so a worker is always free then. A callback
    // iteration's token is thus issued at its true start, not the Map's.
    let workers = Mutex::new(vec![now; concurrency.min(total).max(1)]);
    let lock = || workers.lock().unwrap_or_else(|e| e.into_inner());
    let tolerated = limits.tolerated_count.is_some() || limits.tolerated_percentage.is_some();
    // `buffered` hands the flows over in order, so an untolerated failure behind a still-running
    // iteration (a callback not answered yet) would wait for it; the failing iteration leaves its
    // flow here instead, and the Map fails at once.
    let (stopping, stop) = (&Mutex::new(None::<Flow>), &Notify::new());
    let mut stream = futures_util::stream::iter(inputs.into_iter().map(|(entry, value)| {
        let run = run.clone();
        let processor = map.processor.clone();
        let scope = scope(entry.0);
        async move {
            let start = {
                let mut free = lock();
                let earliest = free.iter().enumerate().min_by_key(|(_, t)| **t).map(|(i, _)| i);
                earliest.map_or(now, |i| free.swap_remove(i))
            };
            run.event("MapIterationStarted", start, Some(name), json!({"index": entry.0}));
            let flow = run_machine(run.clone(), processor, value, start, Some(entry.clone()), scope).await;
            let (Ok((_, end)) | Err((_, end))) = &flow;
            lock().push(*end);
            let kind = if flow.is_ok() { "MapIterationSucceeded" } else { "MapIterationFailed" };
            run.event(kind, *end, Some(name), json!({"index": entry.0}));
            if flow.is_err() && !tolerated {
                stopping.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(|| flow.clone());
                stop.notify_one();
            }
            flow
        }
    }))
    .buffered(concurrency);
    // An untolerated failure fails the Map: Step Functions starts no further iterations (and
    // stops those in flight, which dropping the stream does here).
    let mut flows: Vec<Flow> = Vec::with_capacity(total);
    loop {
        tokio::select! {
            // A flow handed over in order comes first: the failure it carries is then not
            // taken twice.
            biased;
            next = stream.next() => match next {
                Some(flow) => {
                    let failed = flow.is_err();
                    flows.push(flow);
                    if failed && !tolerated {
                        break;
                    }
                }
                None => break,
            },
            () = stop.notified() => {
                flows.extend(stopping.lock().unwrap_or_else(|e| e.into_inner()).take());
                break;
            }
        }
    }
    drop(stream);
    // A stopped execution stops the Map, tolerated failures or not; its iterations that finished
    // keep their results for a redrive.
    if run.is_stopped() {
        let end = flows.iter().map(|(Ok((_, t)) | Err((_, t)))| *t).max().unwrap_or(now);
        return Err((redrive::stopped(name), end));
    }
    let ends: Vec<Duration> = flows.iter().map(|(Ok((_, t)) | Err((_, t)))| *t).collect();
    let end = ends.iter().copied().max().unwrap_or(now);
    let failures = flows.iter().filter(|f| f.is_err()).count();
    // Step Functions fails the Map when its failures exceed either threshold it was given.
    let within = |n: usize| {
        limits.tolerated_count.is_none_or(|c| n as u64 <= c)
            && limits.tolerated_percentage.is_none_or(|p| total > 0 && (n as f64 / total as f64) * 100.0 <= p)
    };
    if failures > 0 && !(tolerated && within(failures)) {
        let (f, t) = flows
            .iter()
            .zip(&ends)
            .filter_map(|(flow, end)| flow.as_ref().err().map(|(f, _)| (f.clone(), *end)))
            .min_by_key(|(_, t)| *t)
            .unwrap_or_else(|| (Failure::new(errors::RUNTIME, "a Map iteration failed"), end));
        let failure = if tolerated {
            Failure::new(
                errors::TOLERATED_FAILURE,
                format!(
                    "{failures} of {total} iterations failed, beyond the tolerated threshold; the first: {}",
                    f.error
                ),
            )
        } else {
            f
        };
        run.event("MapStateFailed", t, Some(name), json!({"error": failure.error, "cause": failure.cause}));
        return Err((failure, t));
    }
    run.event("MapStateSucceeded", end, Some(name), Value::Null);
    let outputs = flows
        .into_iter()
        .map(|f| match f {
            Ok((v, _)) => v,
            Err((f, _)) => f.as_output(),
        })
        .collect();
    Ok((Value::Array(outputs), end))
}
