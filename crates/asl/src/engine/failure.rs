//! The failures an execution reports, and the ways the engine raises them.

use serde::Serialize;
use serde_json::{Value, json};

use super::{MAX_PAYLOAD_BYTES, errors};
use crate::template::FillError;

/// A failure as Step Functions reports it: an error name and a cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct Failure {
    pub error: String,
    pub cause: String,
    /// How long the task ran on the virtual clock before it failed (a `.sync` child's run):
    /// the failure lands that much later. Not part of what Step Functions reports.
    #[serde(skip)]
    pub took: std::time::Duration,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Failure {
        Failure { error: error.into(), cause: cause.into(), took: std::time::Duration::ZERO }
    }

    /// The same failure, reached after `took` on the virtual clock.
    pub fn after(self, took: std::time::Duration) -> Failure {
        Failure { took, ..self }
    }

    /// A Lambda function's error: its name is the `errorType`, its cause the error document.
    pub fn lambda(error_type: &str, message: &str) -> Failure {
        Failure::new(error_type, json!({"errorMessage": message, "errorType": error_type}).to_string())
    }

    pub(super) fn as_output(&self) -> Value {
        json!({"Error": self.error, "Cause": self.cause})
    }

    /// Whether a retrier or catcher naming `names` handles this failure. `States.ALL` takes every
    /// error but `States.Runtime` (never retried or caught) and `States.DataLimitExceeded` (only
    /// when named). `States.Timeout` also names heartbeat timeouts, which Step Functions defines
    /// it to cover; `States.TaskFailed` takes neither kind of timeout.
    pub(super) fn matches(&self, names: &[String]) -> bool {
        // A stopped execution is not a failure of the state: nothing retries or catches it.
        if self.error == errors::RUNTIME || self.error == super::redrive::ABORTED {
            return false;
        }
        let timeout = self.error == errors::TIMEOUT || self.error == errors::HEARTBEAT_TIMEOUT;
        names.iter().any(|n| {
            n == &self.error
                || (n == errors::ALL && self.error != errors::DATA_LIMIT)
                || (n == errors::TIMEOUT && timeout)
                || (n == errors::TASK_FAILED && !timeout && self.error != errors::DATA_LIMIT)
        })
    }
}

pub(super) fn check_size(value: &Value, what: &str) -> Result<(), Failure> {
    let size = value.to_string().len();
    if size > MAX_PAYLOAD_BYTES {
        return Err(Failure::new(
            errors::DATA_LIMIT,
            format!("the {what} of {size} bytes exceeds the maximum of {MAX_PAYLOAD_BYTES} bytes"),
        ));
    }
    Ok(())
}

pub(super) fn runtime(cause: impl Into<String>) -> Failure {
    Failure::new(errors::RUNTIME, cause)
}

pub(super) fn fill_failure(e: FillError) -> Failure {
    match e {
        FillError::Missing { .. } => Failure::new(errors::RUNTIME, e.to_string()),
        FillError::Intrinsic(i) => Failure::new(errors::INTRINSIC, i.to_string()),
    }
}
