//! Runs a state machine: data flow, retries and catches, Parallel, Map and callbacks, on a virtual clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::definition::StateMachine;

mod execution;
mod failure;
mod map;
mod redrive;
mod retry;
mod state;
mod task;
mod tokens;

pub use execution::{Event, Execution, Start, Status};
pub use failure::Failure;
pub use redrive::{ABORTED, Redrive, RedriveError};
pub use task::{NoTasks, Resolver, TaskContext, TaskOutput, TaskRequest};
pub use tokens::{CallbackError, PendingTask, TaskTokens};

use failure::check_size;
use state::run_machine;

/// Step Functions refuses state input and output above 256 KiB.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// The predefined error names.
pub mod errors {
    pub const ALL: &str = "States.ALL";
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const TIMEOUT: &str = "States.Timeout";
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    pub const RUNTIME: &str = "States.Runtime";
    pub const DATA_LIMIT: &str = "States.DataLimitExceeded";
    pub const INTRINSIC: &str = "States.IntrinsicFailure";
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    pub const NO_CHOICE: &str = "States.NoChoiceMatched";
    pub const PARAMETER_PATH: &str = "States.ParameterPathFailure";
    pub const RESULT_PATH: &str = "States.ResultPathMatchFailure";
    pub const TOLERATED_FAILURE: &str = "States.ExceedToleratedFailureThreshold";
    pub const PERMISSIONS: &str = "States.Permissions";
}

#[derive(Debug)]
struct Run {
    resolver: Arc<dyn Resolver>,
    start: Start,
    input: Value,
    history: Mutex<Vec<Event>>,
    transitions: AtomicU64,
    deadline: Option<Duration>,
    /// States that finished in the attempt being redriven: taken, not run again.
    finished: HashMap<String, redrive::Exit>,
    /// States that finished in this attempt, for a redrive of it.
    exits: Mutex<HashMap<String, redrive::Exit>>,
    /// Set once the execution has stopped at `start.stop_after`.
    stopped: AtomicBool,
    redrive_count: u32,
}

/// Where a state machine (or a branch, or a Map iteration) left off.
type Flow = Result<(Value, Duration), (Failure, Duration)>;

/// Runs `machine` on `input` to the end. Failures of the machine are an `Execution` with status
/// FAILED, not an `Err`: the caller reads status, error and cause as Step Functions reports them.
pub async fn execute(machine: &StateMachine, input: Value, start: Start, resolver: Arc<dyn Resolver>) -> Execution {
    let run = Run::new(resolver, machine, input.clone(), start, Redrive::default(), Vec::new());
    run.event("ExecutionStarted", Duration::ZERO, None, json!({"input": input.to_string()}));
    finish_execution(run, machine, input, Duration::ZERO).await
}

/// Redrives `previous` as RedriveExecution does: the same name and input, its history continued;
/// the states that finished keep their results and are not run again (`start.stop_after` may
/// stop the redrive too). A succeeded execution is refused.
pub async fn redrive(
    machine: &StateMachine,
    previous: Execution,
    start: Start,
    resolver: Arc<dyn Resolver>,
) -> Result<Execution, RedriveError> {
    let Some(mut state) = previous.redrive.filter(|_| previous.status != Status::Succeeded) else {
        return Err(RedriveError::NotRedrivable(previous.name));
    };
    state.count += 1;
    let (input, at) = (state.input.clone(), state.ended);
    let start = Start { name: previous.name, started: previous.started, ..start };
    let run = Run::new(resolver, machine, input.clone(), start, state, previous.history);
    run.event("ExecutionRedriven", at, None, json!({"redriveCount": run.redrive_count}));
    Ok(finish_execution(run, machine, input, at).await)
}

async fn finish_execution(run: Arc<Run>, machine: &StateMachine, input: Value, from: Duration) -> Execution {
    let outcome = if let Err(f) = check_size(&input, "execution input") {
        Err((f, from))
    } else {
        run_machine(run.clone(), machine.clone(), input.clone(), from, None, String::new()).await
    };
    let stopped = run.stopped.load(Ordering::Relaxed);
    let (status, output, error, cause, end) = match outcome {
        Ok((output, end)) => {
            run.event("ExecutionSucceeded", end, None, json!({"output": output.to_string()}));
            (Status::Succeeded, Some(output), None, None, end)
        }
        Err((f, end)) if stopped || f.error == redrive::ABORTED => {
            run.event("ExecutionAborted", end, None, json!({"cause": f.cause}));
            (Status::Aborted, None, None, Some(f.cause), end)
        }
        Err((f, end)) if f.error == errors::TIMEOUT && run.deadline.is_some_and(|d| end >= d) => {
            run.event("ExecutionTimedOut", end, None, json!({"error": f.error, "cause": f.cause}));
            (Status::TimedOut, None, Some(f.error), Some(f.cause), end)
        }
        Err((f, end)) => {
            run.event("ExecutionFailed", end, None, json!({"error": f.error, "cause": f.cause}));
            // A Fail state without Error or Cause leaves them out, as Step Functions does.
            let present = |s: String| (!s.is_empty()).then_some(s);
            (Status::Failed, None, present(f.error), present(f.cause), end)
        }
    };
    let history = std::mem::take(&mut *run.history.lock().unwrap_or_else(|e| e.into_inner()));
    // What finished before stays finished across redrives: the earlier attempt's results and this one's.
    let redrive = (status != Status::Succeeded).then(|| {
        let mut exits = run.finished.clone();
        exits.extend(std::mem::take(&mut *run.exits.lock().unwrap_or_else(|e| e.into_inner())));
        Redrive { input, exits, ended: end, count: run.redrive_count }
    });
    Execution {
        name: run.start.name.clone(),
        status,
        output,
        error,
        cause,
        started: run.start.started,
        duration: end,
        transitions: run.transitions.load(Ordering::Relaxed),
        history,
        redrive,
    }
}

impl Run {
    fn new(
        resolver: Arc<dyn Resolver>,
        machine: &StateMachine,
        input: Value,
        start: Start,
        previous: Redrive,
        history: Vec<Event>,
    ) -> Arc<Run> {
        Arc::new(Run {
            resolver,
            deadline: machine.timeout_seconds.map(Duration::from_secs),
            start,
            input,
            history: Mutex::new(history),
            transitions: AtomicU64::new(0),
            finished: previous.exits,
            exits: Mutex::new(HashMap::new()),
            stopped: AtomicBool::new(false),
            redrive_count: previous.count,
        })
    }

    /// The result `key` had when it finished in the attempt being redriven.
    fn finished(&self, key: &str) -> Option<redrive::Exit> {
        self.finished.get(key).cloned()
    }

    fn exited(&self, key: String, exit: redrive::Exit) {
        self.exits.lock().unwrap_or_else(|e| e.into_inner()).insert(key, exit);
    }

    /// Whether `state` is where this execution stops (the first time it has run); it stops now.
    fn stops_after(&self, state: &str) -> bool {
        self.start.stop_after.as_deref() == Some(state) && !self.stopped.swap(true, Ordering::Relaxed)
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    fn event(&self, kind: &str, at: Duration, state: Option<&str>, details: Value) {
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let id = history.len() as u64 + 1;
        history.push(Event {
            id,
            kind: kind.to_string(),
            timestamp: self.at(at),
            state: state.map(str::to_string),
            details,
        });
    }

    fn at(&self, offset: Duration) -> DateTime<Utc> {
        let offset = chrono::Duration::from_std(offset).unwrap_or(chrono::Duration::MAX);
        // An offset past the end of the calendar (a huge wait or timeout) stays there.
        self.start.started.checked_add_signed(offset).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    fn context(&self, state: &str, entered: Duration, retry: u32, item: Option<&(usize, Value)>) -> Value {
        let mut c = json!({
            "Execution": {
                "Id": format!("{}:{}", self.start.state_machine_arn.replace(":stateMachine:", ":execution:"), self.start.name),
                "Input": self.input,
                "Name": self.start.name,
                "RoleArn": "arn:aws:iam::123456789012:role/local-step-functions",
                "StartTime": self.start.started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "RedriveCount": self.redrive_count,
            },
            "State": {
                "EnteredTime": self.at(entered).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "Name": state,
                "RetryCount": retry,
            },
            "StateMachine": {
                "Id": self.start.state_machine_arn,
                "Name": self.start.state_machine_arn.rsplit(':').next().unwrap_or_default(),
            },
        });
        if let Some((index, value)) = item {
            c["Map"] = json!({"Item": {"Index": index, "Value": value}});
        }
        c
    }
}
