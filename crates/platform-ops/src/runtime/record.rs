//! Every execution the runtime ran, nested ones included, kept (when asked) for the execution report.

// Recording is off unless a caller asks for it (`--report`): a fleet of a few hundred accounts
// holds every history event's input and output, which a plain run or a benchmark has no use for.
// A definition is parsed once per state machine here and shared by all its executions.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use asl::StateMachine;
use serde_json::Value;

/// The execution and state that started a nested execution (a `states:startExecution` task).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    pub execution: String,
    pub state: String,
}

/// One finished execution with what it ran.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The state machine's name (the end of its ARN).
    pub machine: String,
    pub arn: String,
    pub definition: Arc<StateMachine>,
    pub input: Value,
    pub execution: asl::Execution,
    pub parent: Option<Parent>,
}

/// The runtime's record of executions, empty until enabled.
#[derive(Debug, Default)]
pub struct Recorder {
    enabled: AtomicBool,
    executions: Mutex<Vec<Recorded>>,
    definitions: Mutex<BTreeMap<String, Arc<StateMachine>>>,
}

impl Recorder {
    pub fn enable(&self) {
        self.enabled.store(true, Ordering::Relaxed);
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Keeps `execution` of `machine` (at `arn`) when recording is on.
    pub fn record(
        &self,
        arn: &str,
        machine: &StateMachine,
        input: &Value,
        execution: &asl::Execution,
        parent: Option<Parent>,
    ) {
        if !self.is_enabled() {
            return;
        }
        let definition = self
            .definitions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(arn.to_string())
            .or_insert_with(|| Arc::new(machine.clone()))
            .clone();
        let recorded = Recorded {
            machine: arn.rsplit(':').next().unwrap_or(arn).to_string(),
            arn: arn.to_string(),
            definition,
            input: input.clone(),
            execution: execution.clone(),
            parent,
        };
        self.executions.lock().unwrap_or_else(|p| p.into_inner()).push(recorded);
    }

    /// Every execution recorded so far, in the order they ended.
    pub fn executions(&self) -> Vec<Recorded> {
        self.executions.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
