//! Executions stopped at a crash point naming one of their states, then redriven as RedriveExecution does.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use asl::{Execution, Resolver, Start, StateMachine, Status};
use serde_json::Value;

use super::{Runtime, RuntimeError};

impl Runtime {
    /// Runs `machine`. Where a crash point names this machine (`MACHINE:State`), the execution
    /// stops the first time that state has run, before its result is recorded (the state's calls
    /// went through), and is redriven at once: the finished states keep their results, the
    /// stopped one runs again. A point whose state this execution never reaches stays armed.
    pub(super) async fn execute_stoppable(
        &self,
        machine_id: Option<&str>,
        machine: &StateMachine,
        input: Value,
        mut start: Start,
        resolver: Arc<dyn Resolver>,
    ) -> Result<Execution, RuntimeError> {
        let armed = machine_id.and_then(|id| self.counters.armed(id).into_iter().find(|s| machine.has_state(s)));
        start.stop_after = armed.clone();
        let again = Start { stop_after: None, ..start.clone() };
        let execution = asl::execute(machine, input, start, resolver.clone()).await;
        let (Some(id), Some(state)) = (machine_id, armed) else { return Ok(execution) };
        if execution.status != Status::Aborted {
            return Ok(execution);
        }
        self.counters.crash(id, &state);
        // The stopped attempt's transitions are billed too; the redrive counts only its own.
        self.transitions.fetch_add(execution.transitions, Ordering::Relaxed);
        asl::redrive(machine, execution, again, resolver)
            .await
            .map_err(|e| RuntimeError::Invalid(format!("crash point {id}:{state}: {e}")))
    }
}
