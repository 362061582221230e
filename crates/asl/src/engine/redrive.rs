//! Stopping an execution mid-way and redriving it: finished states keep their results, the rest run again.

// Step Functions' RedriveExecution continues an unsuccessful execution from the states that did
// not finish, with the same input, and does not run again what succeeded; inside a Parallel or an
// inline Map only the branches and iterations that did not finish run again. Here every state
// that exits records its output under its place in the execution (scope, name, visit), and a
// redrive replays the machine from the start taking those results instead of running the states.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use super::Failure;

/// The error an execution stopped mid-way is reported with; no retrier or catcher takes it.
pub const ABORTED: &str = "States.Aborted";

/// A state's place in an execution: its scope (the top, or a branch or iteration of a parent
/// state's attempt), its name, and how many times that scope entered it before.
pub(super) fn key(scope: &str, state: &str, visit: u32) -> String {
    format!("{scope}/{state}#{visit}")
}

/// The scope of iteration or branch `index` of the state at `key`, in its attempt `attempt`.
pub(super) fn nested(key: &str, attempt: u32, index: usize) -> String {
    format!("{key}@{attempt}[{index}]")
}

/// A state that exited: what it handed on, where, and when on the virtual clock.
#[derive(Debug, Clone)]
pub(super) struct Exit {
    pub(super) output: Value,
    pub(super) next: Option<String>,
    pub(super) at: Duration,
}

/// What a redrive of an unsuccessful execution needs: its input and the states that finished.
#[derive(Debug, Clone, Default)]
pub struct Redrive {
    pub(super) input: Value,
    pub(super) exits: HashMap<String, Exit>,
    /// Where the execution ended on the virtual clock.
    pub(super) ended: Duration,
    pub(super) count: u32,
}

impl Redrive {
    /// How many states finished and will not run again.
    pub fn finished_states(&self) -> usize {
        self.exits.len()
    }
}

/// Why an execution cannot be redriven, as RedriveExecution refuses it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedriveError {
    #[error("execution `{0}` succeeded: only failed, aborted or timed-out executions can be redriven")]
    NotRedrivable(String),
}

/// The failure a stop after `state` is carried up as.
pub(super) fn stopped(state: &str) -> Failure {
    Failure::new(ABORTED, format!("the execution stopped after state `{state}` ran, before its result was recorded"))
}
