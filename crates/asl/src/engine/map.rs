//! Map states: iterations run with bounded concurrency and a tolerated failure threshold.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::failure::fill_failure;
use super::state::run_machine;
use super::{Failure, Flow, Run, errors};
use crate::definition::{State, StateMachine};

pub(super) struct MapRun<'a> {
    pub(super) items: Vec<Value>,
    pub(super) input: Value,
    pub(super) item_selector: Option<&'a crate::template::Template>,
    pub(super) processor: &'a StateMachine,
    pub(super) max_concurrency: usize,
    pub(super) tolerated_count: Option<u64>,
    pub(super) tolerated_percentage: Option<f64>,
}

pub(super) async fn run_map(
    run: &Arc<Run>,
    state: &State,
    map: MapRun<'_>,
    now: Duration,
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
    let concurrency = if map.max_concurrency == 0 { total.max(1) } else { map.max_concurrency };
    // Each iteration starts when one of `concurrency` workers is free on the virtual clock, the
    // earliest free first, which is how Step Functions starts them in order. An iteration takes
    // its worker's free time when it starts and gives back its end when done; `buffered` starts
    // a new iteration only after one is done, so a worker is always free then. A callback
    // iteration's token is thus issued at its true start, not the Map's.
    let workers = Mutex::new(vec![now; concurrency.min(total).max(1)]);
    let lock = || workers.lock().unwrap_or_else(|e| e.into_inner());
    let tolerated = map.tolerated_count.is_some() || map.tolerated_percentage.is_some();
    let mut stream = futures_util::stream::iter(inputs.into_iter().map(|(entry, value)| {
        let run = run.clone();
        let processor = map.processor.clone();
        async move {
            let start = {
                let mut free = lock();
                let earliest = free.iter().enumerate().min_by_key(|(_, t)| **t).map(|(i, _)| i);
                earliest.map_or(now, |i| free.swap_remove(i))
            };
            run.event("MapIterationStarted", start, Some(name), json!({"index": entry.0}));
            let flow = run_machine(run.clone(), processor, value, start, Some(entry.clone())).await;
            let (Ok((_, end)) | Err((_, end))) = &flow;
            lock().push(*end);
            let kind = if flow.is_ok() { "MapIterationSucceeded" } else { "MapIterationFailed" };
            run.event(kind, *end, Some(name), json!({"index": entry.0}));
            flow
        }
    }))
    .buffered(concurrency);
    // An untolerated failure fails the Map: Step Functions starts no further iterations (and
    // stops those in flight, which dropping the stream does here).
    let mut flows: Vec<Flow> = Vec::with_capacity(total);
    while let Some(flow) = stream.next().await {
        let failed = flow.is_err();
        flows.push(flow);
        if failed && !tolerated {
            break;
        }
    }
    drop(stream);
    let ends: Vec<Duration> = flows.iter().map(|(Ok((_, t)) | Err((_, t)))| *t).collect();
    let end = ends.iter().copied().max().unwrap_or(now);
    let failures = flows.iter().filter(|f| f.is_err()).count();
    let within = |n: usize| {
        map.tolerated_count.is_some_and(|c| n as u64 <= c)
            || map.tolerated_percentage.is_some_and(|p| total > 0 && (n as f64 / total as f64) * 100.0 <= p)
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
