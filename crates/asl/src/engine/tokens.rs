//! Task tokens of callback tasks (`.waitForTaskToken`): issued by the engine, answered by callers.

// Step Functions keeps a callback task waiting until someone calls SendTaskSuccess,
// SendTaskFailure or SendTaskHeartbeat with its token, or one of its deadlines passes. Here the
// caller plays that someone: it answers through a shared `TaskTokens`, saying when (on the
// virtual clock) each answer happens, and moves the clock with `advance` so deadlines can pass.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Notify, oneshot};

use super::MAX_PAYLOAD_BYTES;

/// The registry of waiting callback tasks, shared by the executions that issue tokens and the
/// callers that answer them.
pub struct TaskTokens {
    state: Mutex<Tokens>,
    issued: Notify,
}

#[derive(Default)]
struct Tokens {
    /// How far `advance` has moved the virtual clock.
    clock: Option<DateTime<Utc>>,
    /// Set by `advance_to_end`: no answer will come, so every token times out as it is issued.
    ended: bool,
    waiting: HashMap<String, Waiting>,
    /// Answered, timed out or abandoned: Step Functions tells a late caller TaskTimedOut.
    closed: HashSet<String>,
}

struct Waiting {
    task: PendingTask,
    heartbeat_every: Option<chrono::Duration>,
    execution_deadline: Option<DateTime<Utc>>,
    answer: oneshot::Sender<Answer>,
}

/// A callback task waiting for its answer, as [`TaskTokens::pending`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingTask {
    pub token: String,
    pub execution: String,
    pub state: String,
    /// The retry this token belongs to (0 for the first attempt); each attempt has its own token.
    pub attempt: u32,
    pub issued: DateTime<Utc>,
    /// When the task times out (`TimeoutSeconds`, by default 99999999 s after `issued`).
    pub timeout_at: DateTime<Utc>,
    /// When the task times out unless a heartbeat comes first (`HeartbeatSeconds`).
    pub heartbeat_at: Option<DateTime<Utc>>,
}

/// Why an answer was refused, as the Step Functions API names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("task token `{token}` is not a token this engine issues")]
    InvalidToken { token: String },
    #[error("task token `{token}` names no task")]
    TaskDoesNotExist { token: String },
    #[error("task token `{token}` is no longer waiting: {why}")]
    TaskTimedOut { token: String, why: String },
    #[error("output for task token `{token}` is invalid: {why}")]
    InvalidOutput { token: String, why: String },
}

/// How a wait ended, handed to the execution that issued the token.
#[derive(Debug)]
pub(super) enum Answer {
    Success { output: Value, at: DateTime<Utc> },
    Failure { error: String, cause: String, at: DateTime<Utc> },
    TimedOut { why: Expiry, at: DateTime<Utc> },
}

/// Which deadline ended a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expiry {
    Task,
    Heartbeat,
    Execution,
}

/// What the engine knows of a callback task when it issues the token.
pub(super) struct Issue {
    pub(super) execution: String,
    pub(super) state: String,
    pub(super) attempt: u32,
    pub(super) issued: DateTime<Utc>,
    pub(super) timeout: Duration,
    pub(super) heartbeat: Option<Duration>,
    pub(super) execution_deadline: Option<DateTime<Utc>>,
}

/// The engine's side of one token: the answer to await. Dropping it (an execution that stops
/// waiting, a Map whose other iteration failed) closes the token.
#[derive(Debug)]
pub(super) struct Ticket {
    token: String,
    tokens: Arc<TaskTokens>,
    answer: oneshot::Receiver<Answer>,
}

impl Ticket {
    pub(super) fn token(&self) -> &str {
        &self.token
    }

    pub(super) async fn answer(mut self) -> Option<Answer> {
        (&mut self.answer).await.ok()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.tokens.lock();
        if state.waiting.remove(&self.token).is_some() {
            state.closed.insert(self.token.clone());
        }
    }
}

impl std::fmt::Debug for TaskTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("TaskTokens")
            .field("clock", &state.clock)
            .field("ended", &state.ended)
            .field("waiting", &state.waiting.len())
            .field("closed", &state.closed.len())
            .finish()
    }
}

impl Default for TaskTokens {
    fn default() -> Self {
        TaskTokens { state: Mutex::new(Tokens::default()), issued: Notify::new() }
    }
}

impl TaskTokens {
    pub fn new() -> Arc<TaskTokens> {
        Arc::new(TaskTokens::default())
    }

    /// SendTaskSuccess: the task succeeds at `at` with `output` as its result.
    pub fn send_success(&self, token: &str, output: Value, at: DateTime<Utc>) -> Result<(), CallbackError> {
        check_token(token)?;
        let size = output.to_string().len();
        if size > MAX_PAYLOAD_BYTES {
            return Err(CallbackError::InvalidOutput {
                token: short(token),
                why: format!("{size} bytes exceeds the maximum of {MAX_PAYLOAD_BYTES} bytes"),
            });
        }
        self.answer(token, at, |at| Answer::Success { output, at })
    }

    /// SendTaskSuccess with the output as the API carries it: JSON text.
    pub fn send_success_text(&self, token: &str, output: &str, at: DateTime<Utc>) -> Result<(), CallbackError> {
        check_token(token)?;
        let value = serde_json::from_str(output)
            .map_err(|e| CallbackError::InvalidOutput { token: short(token), why: format!("not JSON: {e}") })?;
        self.send_success(token, value, at)
    }

    /// SendTaskFailure: the task fails at `at` with `error` and `cause`, which its Retry and
    /// Catch then see as any task failure.
    pub fn send_failure(&self, token: &str, error: &str, cause: &str, at: DateTime<Utc>) -> Result<(), CallbackError> {
        check_token(token)?;
        let (error, cause) = (error.to_string(), cause.to_string());
        self.answer(token, at, |at| Answer::Failure { error, cause, at })
    }

    /// SendTaskHeartbeat: the task's heartbeat deadline moves to `at` plus its HeartbeatSeconds.
    /// Accepted, and without effect, for a task that has no HeartbeatSeconds.
    pub fn send_heartbeat(&self, token: &str, at: DateTime<Utc>) -> Result<(), CallbackError> {
        check_token(token)?;
        let mut state = self.lock();
        let at = state.check_alive(token, at)?;
        if let Some(w) = state.waiting.get_mut(token)
            && let Some(every) = w.heartbeat_every
        {
            let next = later(at, every);
            if w.task.heartbeat_at.is_none_or(|h| next > h) {
                w.task.heartbeat_at = Some(next);
            }
        }
        Ok(())
    }

    /// The virtual clock moved to `now`: every task whose deadline is at or before `now` times
    /// out, at its deadline.
    pub fn advance(&self, now: DateTime<Utc>) {
        let mut state = self.lock();
        state.clock = Some(state.clock.map_or(now, |c| c.max(now)));
        state.expire_due();
    }

    /// No answer will come any more: every waiting task times out at its deadline, and so does
    /// every task issued from now on (a retry, the next callback state).
    pub fn advance_to_end(&self) {
        let mut state = self.lock();
        state.ended = true;
        state.expire_due();
    }

    /// The tasks waiting for an answer, the earliest issued first.
    pub fn pending(&self) -> Vec<PendingTask> {
        let mut out: Vec<PendingTask> = self.lock().waiting.values().map(|w| w.task.clone()).collect();
        out.sort_by(|a, b| {
            (a.issued, &a.execution, &a.state, a.attempt, &a.token).cmp(&(
                b.issued,
                &b.execution,
                &b.state,
                b.attempt,
                &b.token,
            ))
        });
        out
    }

    /// Waits until at least `count` tasks wait for an answer, and lists them. Never returns if
    /// the executions never get that far: race it with the executions themselves.
    pub async fn wait_for(&self, count: usize) -> Vec<PendingTask> {
        loop {
            let issued = self.issued.notified();
            let mut issued = std::pin::pin!(issued);
            issued.as_mut().enable();
            let pending = self.pending();
            if pending.len() >= count {
                return pending;
            }
            issued.await;
        }
    }

    pub(super) fn issue(self: &Arc<Self>, issue: Issue) -> Ticket {
        let token = mint();
        let (sender, receiver) = oneshot::channel();
        let span = |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        let heartbeat_every = issue.heartbeat.map(span);
        let waiting = Waiting {
            task: PendingTask {
                token: token.clone(),
                execution: issue.execution,
                state: issue.state,
                attempt: issue.attempt,
                issued: issue.issued,
                timeout_at: later(issue.issued, span(issue.timeout)),
                heartbeat_at: heartbeat_every.map(|every| later(issue.issued, every)),
            },
            heartbeat_every,
            execution_deadline: issue.execution_deadline,
            answer: sender,
        };
        {
            let mut state = self.lock();
            state.waiting.insert(token.clone(), waiting);
            // The clock may already be past this task's deadlines.
            state.expire_due();
        }
        self.issued.notify_waiters();
        Ticket { token, tokens: self.clone(), answer: receiver }
    }

    fn answer(
        &self,
        token: &str,
        at: DateTime<Utc>,
        make: impl FnOnce(DateTime<Utc>) -> Answer,
    ) -> Result<(), CallbackError> {
        let mut state = self.lock();
        let at = state.check_alive(token, at)?;
        state.close(token, make(at));
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Tokens> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Tokens {
    /// The instant an answer counts at (never before the task was issued), or why the task
    /// takes no answer. An answer after a deadline finds the task timed out at that deadline.
    fn check_alive(&mut self, token: &str, at: DateTime<Utc>) -> Result<DateTime<Utc>, CallbackError> {
        let Some(w) = self.waiting.get(token) else {
            return Err(if self.closed.contains(token) {
                CallbackError::TaskTimedOut { token: short(token), why: "the task already ended".into() }
            } else {
                CallbackError::TaskDoesNotExist { token: short(token) }
            });
        };
        let ((deadline, why), issued) = (w.deadline(), w.task.issued);
        if at > deadline {
            self.close(token, Answer::TimedOut { why, at: deadline });
            return Err(CallbackError::TaskTimedOut {
                token: short(token),
                why: format!("{} passed at {}", why.describe(), deadline.to_rfc3339()),
            });
        }
        Ok(at.max(issued))
    }

    fn close(&mut self, token: &str, answer: Answer) {
        if let Some(w) = self.waiting.remove(token) {
            // The execution may have stopped waiting already; then no one needs the answer.
            let _ = w.answer.send(answer);
            self.closed.insert(token.to_string());
        }
    }

    fn expire_due(&mut self) {
        let due: Vec<(String, DateTime<Utc>, Expiry)> = self
            .waiting
            .iter()
            .filter_map(|(token, w)| {
                let (deadline, why) = w.deadline();
                (self.ended || self.clock.is_some_and(|now| deadline <= now)).then(|| (token.clone(), deadline, why))
            })
            .collect();
        for (token, at, why) in due {
            self.close(&token, Answer::TimedOut { why, at });
        }
    }
}

impl Waiting {
    /// The earliest deadline; on a tie the task's own timeout wins, as it is the one named.
    fn deadline(&self) -> (DateTime<Utc>, Expiry) {
        let mut first = (self.task.timeout_at, Expiry::Task);
        if let Some(h) = self.task.heartbeat_at
            && h < first.0
        {
            first = (h, Expiry::Heartbeat);
        }
        if let Some(e) = self.execution_deadline
            && e < first.0
        {
            first = (e, Expiry::Execution);
        }
        first
    }
}

impl Expiry {
    fn describe(self) -> &'static str {
        match self {
            Expiry::Task => "its timeout",
            Expiry::Heartbeat => "its heartbeat deadline",
            Expiry::Execution => "the execution's timeout",
        }
    }
}

/// `span` after `t`; a span past the end of the calendar (a huge TimeoutSecondsPath) is forever.
fn later(t: DateTime<Utc>, span: chrono::Duration) -> DateTime<Utc> {
    t.checked_add_signed(span).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// 256 random bits (two v4 UUIDs, from the operating system's generator) as 64 hex digits.
fn mint() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

fn check_token(token: &str) -> Result<(), CallbackError> {
    // Step Functions tells a token it cannot decode (InvalidToken) from one it decodes but does
    // not know (TaskDoesNotExist); here the shape of the tokens minted is what decodes.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CallbackError::InvalidToken { token: short(token) });
    }
    Ok(())
}

/// Enough of a token to tell it apart in a message without repeating a secret in logs.
fn short(token: &str) -> String {
    match token.char_indices().nth(8) {
        Some((i, _)) => format!("{}…", &token[..i]),
        None => token.to_string(),
    }
}
