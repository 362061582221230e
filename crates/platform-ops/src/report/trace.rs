//! What one execution did in its definition, read from its history: states entered, transitions taken, where it failed.

// State names are unique across a whole definition (nested Map and Parallel states included),
// and the engine names the state on every event, so the history maps onto the definition by
// name. The engine writes `<Type>StateEntered` and `<Type>StateExited` (with `caught` when a
// Catch took the failure); a state entered and never exited failed there, or was stopped when a
// sibling Map iteration failed first.

use std::collections::{BTreeMap, BTreeSet};

use asl::definition::{Kind, Next, State, StateMachine};
use serde_json::Value;

/// How a transition is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    Next,
    Choice,
    Default,
    Catch,
}

/// A transition the definition declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub to: String,
    pub kind: EdgeKind,
    /// The errors a catcher takes (empty for other kinds).
    pub errors: Vec<String>,
}

/// Every transition out of `state`, in the order the definition gives them.
pub fn edges(state: &State) -> Vec<Edge> {
    let edge = |to: &str, kind| Edge { to: to.to_string(), kind, errors: Vec::new() };
    let mut out = Vec::new();
    if let Some(Next::State(n)) = &state.next {
        out.push(edge(n, EdgeKind::Next));
    }
    match &state.kind {
        Kind::Choice { choices, default } => {
            out.extend(choices.iter().map(|c| edge(&c.next, EdgeKind::Choice)));
            out.extend(default.iter().map(|d| edge(d, EdgeKind::Default)));
        }
        Kind::Task { catch, .. } | Kind::Parallel { catch, .. } | Kind::Map { catch, .. } => {
            out.extend(catch.iter().map(|c| Edge {
                to: c.next.clone(),
                kind: EdgeKind::Catch,
                errors: c.errors.clone(),
            }));
        }
        _ => {}
    }
    out
}

/// The machine and every machine nested in it (Map processors, Parallel branches), each with a
/// title saying where it sits, outermost first.
pub fn scopes(machine: &StateMachine) -> Vec<(String, &StateMachine)> {
    let mut out = vec![(String::new(), machine)];
    let mut i = 0;
    while i < out.len() {
        let (title, m) = (out[i].0.clone(), out[i].1);
        for (name, state) in &m.states {
            let place = if title.is_empty() { name.clone() } else { format!("{title} › {name}") };
            match &state.kind {
                Kind::Map { processor, .. } => out.push((format!("{place} (each item)"), processor)),
                Kind::Parallel { branches, .. } => {
                    for (b, branch) in branches.iter().enumerate() {
                        out.push((format!("{place} (branch {})", b + 1), branch));
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    out
}

/// Every state of the machine, nested ones included, by name.
pub fn all_states(machine: &StateMachine) -> BTreeMap<&str, &State> {
    scopes(machine).into_iter().flat_map(|(_, m)| m.states.iter().map(|(n, s)| (n.as_str(), s))).collect()
}

/// A state the execution failed at, with the error and cause it failed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub state: String,
    pub error: String,
    pub cause: String,
}

/// What one execution did, state by state.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub entered: BTreeMap<String, u32>,
    /// States whose failure a Catch took, with the error caught (the last one).
    pub caught: BTreeMap<String, String>,
    /// Where it failed, in the order the failures happened.
    pub failed: Vec<Failed>,
    /// States entered but never left, without a failure of their own (a sibling failed first).
    pub stopped: BTreeSet<String>,
    /// Transitions taken (from, to) and how often.
    pub taken: BTreeMap<(String, String), u32>,
}

const SEARCH_AHEAD: usize = 400;

impl Trace {
    pub fn of(machine: &StateMachine, execution: &asl::Execution) -> Trace {
        let states = all_states(machine);
        let history = &execution.history;
        let mut trace = Trace::default();
        let mut exited: BTreeMap<&str, u32> = BTreeMap::new();
        let mut last_entry: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, event) in history.iter().enumerate() {
            let Some(name) = event.state.as_deref() else { continue };
            if event.kind.ends_with("StateEntered") {
                *trace.entered.entry(name.to_string()).or_default() += 1;
                last_entry.insert(name, i);
            } else if event.kind.ends_with("StateExited") {
                *exited.entry(name).or_default() += 1;
                let caught = text(&event.details, "caught");
                if let Some(error) = &caught {
                    trace.caught.insert(name.to_string(), error.clone());
                }
                if let Some(state) = states.get(name)
                    && let Some(to) = next_state(state, caught.as_deref(), history, i)
                {
                    *trace.taken.entry((name.to_string(), to)).or_default() += 1;
                }
            }
        }
        let mut failed: Vec<(usize, Failed)> = Vec::new();
        for (name, entries) in &trace.entered {
            if exited.get(name.as_str()).copied().unwrap_or(0) >= *entries {
                continue;
            }
            let from = last_entry.get(name.as_str()).copied().unwrap_or(0);
            match failure_of(states.get(name.as_str()).copied(), name, history, from, execution) {
                Some((at, error, cause)) => failed.push((at, Failed { state: name.clone(), error, cause })),
                None => {
                    trace.stopped.insert(name.clone());
                }
            }
        }
        failed.sort_by_key(|(at, _)| *at);
        trace.failed = failed.into_iter().map(|(_, f)| f).collect();
        trace
    }

    /// What executions that went the same way share: status, states entered, where they failed
    /// and which failures were caught (not how often a loop ran, nor the causes' wording).
    pub fn signature(&self, status: asl::Status) -> String {
        let entered: Vec<&str> = self.entered.keys().map(String::as_str).collect();
        let failed: Vec<String> = self.failed.iter().map(|f| format!("{}={}", f.state, f.error)).collect();
        let caught: Vec<String> = self.caught.iter().map(|(s, e)| format!("{s}={e}")).collect();
        format!("{status}|{}|{}|{}|{}", entered.join(","), failed.join(","), caught.join(","), self.stopped.len())
    }
}

fn text(details: &Value, key: &str) -> Option<String> {
    details.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The state entered after `state` left at event `at`: the only candidate, else the first
/// candidate entered later with the output as its input (Map iterations interleave).
fn next_state(state: &State, caught: Option<&str>, history: &[asl::Event], at: usize) -> Option<String> {
    let all = edges(state);
    let candidates: Vec<&Edge> = match caught {
        Some(error) => {
            let catches: Vec<&Edge> = all.iter().filter(|e| e.kind == EdgeKind::Catch).collect();
            match catches.iter().find(|e| takes(&e.errors, error)) {
                Some(e) => vec![*e],
                None => catches,
            }
        }
        None => all.iter().filter(|e| e.kind != EdgeKind::Catch).collect(),
    };
    match candidates.as_slice() {
        [] => None,
        [only] => Some(only.to.clone()),
        _ => {
            let output = history[at].details.get("output");
            let entered = |e: &&asl::Event| {
                e.kind.ends_with("StateEntered")
                    && e.state.as_deref().is_some_and(|s| candidates.iter().any(|c| c.to == s))
            };
            let ahead = || history.iter().skip(at + 1).take(SEARCH_AHEAD).filter(entered);
            let same_input = ahead().find(|e| output.is_some() && e.details.get("input") == output);
            same_input.or_else(|| ahead().next()).and_then(|e| e.state.clone())
        }
    }
}

/// Whether a catcher naming `names` takes `error` (States.ALL takes all but States.Runtime).
fn takes(names: &[String], error: &str) -> bool {
    names.iter().any(|n| n == error || (n == "States.ALL" && error != "States.Runtime"))
}

/// The failure of `name`, entered last at event `from` and never left: its own failure event
/// (a task's, a Map's), or for a Fail state its error, with the cause the failure carried out
/// (the enclosing Map's or the execution's). `None` when nothing failed there.
fn failure_of(
    state: Option<&State>,
    name: &str,
    history: &[asl::Event],
    from: usize,
    execution: &asl::Execution,
) -> Option<(usize, String, String)> {
    let after = || history.iter().enumerate().skip(from + 1);
    // The last failure of its own: a retried task fails several times before it gives up.
    let own = after().rev().find(|(_, e)| e.state.as_deref() == Some(name) && e.details.get("error").is_some()).map(
        |(i, e)| (i, text(&e.details, "error").unwrap_or_default(), text(&e.details, "cause").unwrap_or_default()),
    );
    if own.is_some() {
        return own;
    }
    let Some(Kind::Fail { error, .. }) = state.map(|s| &s.kind) else { return None };
    let literal = match error {
        Some(asl::definition::Text::Literal(e)) => Some(e.clone()),
        _ => None,
    };
    // The failure a Fail state raised travels out: the first failure event after it names it.
    let carried = after().find(|(_, e)| {
        let error = text(&e.details, "error");
        error.is_some() && (literal.is_none() || error == literal)
    });
    match carried {
        Some((i, e)) => {
            Some((i, text(&e.details, "error").unwrap_or_default(), text(&e.details, "cause").unwrap_or_default()))
        }
        None => Some((
            history.len(),
            literal.or_else(|| execution.error.clone()).unwrap_or_default(),
            execution.cause.clone().unwrap_or_default(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;

    async fn run(definition: Value, input: Value) -> (StateMachine, asl::Execution) {
        let machine = StateMachine::from_value(&definition).expect("definition");
        let execution = asl::execute(&machine, input, asl::Start::named("t"), Arc::new(asl::NoTasks)).await;
        (machine, execution)
    }

    #[tokio::test]
    async fn a_loop_counts_entries_and_a_fail_state_carries_its_error() {
        let (machine, execution) = run(
            json!({"StartAt": "Count", "States": {
                "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Enough"},
                "Enough": {"Type": "Choice", "Default": "Count", "Choices": [
                    {"Variable": "$.n", "NumericGreaterThanEquals": 3, "Next": "Stop"},
                    {"Variable": "$.n", "NumericLessThan": 0, "Next": "Never"}]},
                "Stop": {"Type": "Fail", "Error": "Done", "Cause": "three <b>times</b>"},
                "Never": {"Type": "Succeed"}}}),
            json!({"n": 0}),
        )
        .await;
        let trace = Trace::of(&machine, &execution);
        assert_eq!(trace.entered.get("Count"), Some(&3));
        assert_eq!(trace.entered.get("Never"), None);
        assert_eq!(trace.taken.get(&("Enough".to_string(), "Count".to_string())), Some(&2));
        assert_eq!(trace.taken.get(&("Enough".to_string(), "Stop".to_string())), Some(&1));
        assert_eq!(
            trace.failed,
            vec![Failed { state: "Stop".into(), error: "Done".into(), cause: "three <b>times</b>".into() }]
        );
    }

    #[tokio::test]
    async fn a_caught_failure_takes_its_catch_edge() {
        let (machine, execution) = run(
            json!({"StartAt": "Call", "States": {
                "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                         "Parameters": {"FunctionName": "f"},
                         "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}], "Next": "Done"},
                "Handle": {"Type": "Pass", "End": true},
                "Done": {"Type": "Succeed"}}}),
            json!({}),
        )
        .await;
        let trace = Trace::of(&machine, &execution);
        assert!(trace.caught.contains_key("Call"), "{trace:?}");
        assert!(trace.taken.contains_key(&("Call".to_string(), "Handle".to_string())), "{trace:?}");
        assert!(!trace.taken.contains_key(&("Call".to_string(), "Done".to_string())), "{trace:?}");
        assert!(trace.failed.is_empty(), "{trace:?}");
    }
}
