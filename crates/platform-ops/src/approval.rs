//! A person's answer to a release waiting for approval: checked, recorded once, then given to the waiting task.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::approvals::{self, Approvals, Decision, DecisionRefused, Recorded, Verdict};
use platform_core::error::AwsError;
use serde_json::json;

/// The error the waiting task fails with on a rejection (the fleet's Catch takes it as such).
pub const REJECTED: &str = "Rejected";

/// Answers a waiting task: Step Functions' SendTaskSuccess/SendTaskFailure on AWS, the local
/// runtime's registry at a virtual instant here.
#[async_trait]
pub trait TaskAnswers: Send + Sync {
    async fn succeed(&self, token: &str, output: serde_json::Value) -> Result<(), AnswerError>;
    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), AnswerError>;
}

/// Why an answer did not reach the task.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The task is no longer waiting (answered, timed out, its execution ended).
    #[error("the task waiting on approval is gone: {0}")]
    Gone(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error(transparent)]
    Refused(#[from] DecisionRefused),
    #[error(transparent)]
    Store(#[from] AwsError),
    #[error("{verdict} for {id} is recorded but did not reach the release: {source}")]
    NotDelivered {
        id: String,
        verdict: Verdict,
        #[source]
        source: AnswerError,
    },
}

/// What became of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// Recorded and given to the waiting release.
    Delivered { release: String, environment: String },
    /// The same person's same decision again (a lost response): given to the release again.
    Repeated { release: String, environment: String },
}

/// Checks `decision` against approval `id` (open, not expired, not the requester's own, a
/// rejection with a reason), records it once and answers the waiting task with it.
pub async fn decide(
    approvals: &dyn Approvals,
    answers: &dyn TaskAnswers,
    id: &str,
    decision: Decision,
) -> Result<Decided, DecideError> {
    let record = approvals.get(id).await?;
    let repeated = match approvals::check(record.as_ref(), id, &decision) {
        Ok(()) => false,
        // A retry after a lost response: the recorded decision is this person's, the same one.
        Err(DecisionRefused::AlreadyDecided { decision: d, .. })
            if d.by == decision.by && d.verdict == decision.verdict =>
        {
            true
        }
        Err(refused) => return Err(refused.into()),
    };
    let record = record.ok_or_else(|| DecisionRefused::Unknown(id.to_string()))?;
    let decision = if repeated {
        record.decision.clone().unwrap_or(decision)
    } else {
        match approvals.decide(id, &decision).await? {
            Recorded::Recorded => decision,
            Recorded::Already(d) if d.by == decision.by && d.verdict == decision.verdict => d,
            Recorded::Already(d) => {
                return Err(DecisionRefused::AlreadyDecided { id: id.to_string(), decision: d }.into());
            }
            Recorded::Unknown => return Err(DecisionRefused::Unknown(id.to_string()).into()),
        }
    };
    let token = &record.pending.token;
    let sent = match decision.verdict {
        Verdict::Approved => answers.succeed(token, answer(&decision)).await,
        Verdict::Rejected => {
            let cause = format!(
                "release {} rejected by {} at {}: {}",
                record.pending.release,
                decision.by,
                decision.at,
                decision.reason.as_deref().unwrap_or_default()
            );
            answers.fail(token, REJECTED, &cause).await
        }
    };
    match sent {
        Ok(()) => {}
        // Repeated and already delivered the first time: nothing is waiting any more.
        Err(AnswerError::Gone(_)) if repeated => {}
        Err(source) => return Err(DecideError::NotDelivered { id: id.to_string(), verdict: decision.verdict, source }),
    }
    let (release, environment) = (record.pending.release, record.pending.environment);
    Ok(if repeated { Decided::Repeated { release, environment } } else { Decided::Delivered { release, environment } })
}

/// The task's output on approval: what the fleet's `approval` action checks against the record.
pub fn answer(decision: &Decision) -> serde_json::Value {
    json!({"verdict": decision.verdict, "by": decision.by, "at": decision.at})
}

/// The local runtime's answers: its token registry, at the scenario's virtual instant.
#[derive(Debug)]
pub struct LocalAnswers<'a> {
    pub tokens: &'a asl::TaskTokens,
    pub at: DateTime<Utc>,
}

#[async_trait]
impl TaskAnswers for LocalAnswers<'_> {
    async fn succeed(&self, token: &str, output: serde_json::Value) -> Result<(), AnswerError> {
        self.tokens.send_success(token, output, self.at).map_err(|e| AnswerError::Gone(e.to_string()))
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), AnswerError> {
        self.tokens.send_failure(token, error, cause, self.at).map_err(|e| AnswerError::Gone(e.to_string()))
    }
}

/// Step Functions' task answers, with the approver's own credentials.
#[derive(Debug, Clone)]
pub struct SfnAnswers {
    pub client: aws_sdk_sfn::Client,
}

#[async_trait]
impl TaskAnswers for SfnAnswers {
    async fn succeed(&self, token: &str, output: serde_json::Value) -> Result<(), AnswerError> {
        use platform_core::error::ClassifyExt;
        let sent = self.client.send_task_success().task_token(token).output(output.to_string()).send().await;
        gone_or(sent.classify("SendTaskSuccess").map(|_| ()))
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), AnswerError> {
        use platform_core::error::ClassifyExt;
        let sent = self.client.send_task_failure().task_token(token).error(error).cause(cause).send().await;
        gone_or(sent.classify("SendTaskFailure").map(|_| ()))
    }
}

/// TaskDoesNotExist and TaskTimedOut mean nobody waits any more; other errors are the call's.
fn gone_or(result: Result<(), AwsError>) -> Result<(), AnswerError> {
    match result {
        Err(e) if matches!(e.code.as_deref(), Some("TaskTimedOut" | "TaskDoesNotExist")) => {
            Err(AnswerError::Gone(e.to_string()))
        }
        other => other.map_err(AnswerError::Aws),
    }
}
