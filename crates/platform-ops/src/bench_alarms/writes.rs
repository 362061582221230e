//! The guard table's calls counted by an SDK interceptor: operations, attempts (so retries), conditional-write conflicts.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use aws_sdk_dynamodb::operation::delete_item::{DeleteItemError, DeleteItemInput};
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemInput};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemInput};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef, Error,
    FinalizerInterceptorContextRef, Input,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;

/// One operation's figures (`PutItem`, `Query`, `DeleteItem`, ...).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OperationCount {
    /// Calls the code made.
    pub operations: u64,
    /// Of those, writes with a condition (claims, locks, unlocks).
    pub conditional: u64,
    /// Requests sent: one per operation, plus the SDK's retries.
    pub attempts: u64,
    /// Conditional writes the table refused (`ConditionalCheckFailedException`).
    pub conflicts: u64,
    /// Calls that ended in any other error.
    pub errors: u64,
}

impl OperationCount {
    /// Attempts beyond the first of each operation.
    pub fn retries(&self) -> u64 {
        self.attempts.saturating_sub(self.operations)
    }
}

/// The calls of every client it is installed on, by operation name.
#[derive(Debug, Clone, Default)]
pub struct WriteCounter(Arc<Mutex<BTreeMap<String, OperationCount>>>);

impl WriteCounter {
    fn counts(&self) -> MutexGuard<'_, BTreeMap<String, OperationCount>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bump(&self, cfg: &ConfigBag, f: impl FnOnce(&mut OperationCount)) {
        let name = cfg.load::<Metadata>().map_or_else(|| "?".to_string(), |m| m.name().to_string());
        f(self.counts().entry(name).or_default());
    }

    /// Forgets what was counted (the table's creation, before a run).
    pub fn clear(&self) {
        self.counts().clear();
    }

    /// The figures so far, by operation.
    pub fn snapshot(&self) -> BTreeMap<String, OperationCount> {
        self.counts().clone()
    }
}

/// Whether a DynamoDB write carries a condition.
fn conditional(input: &Input) -> bool {
    input.downcast_ref::<PutItemInput>().is_some_and(|i| i.condition_expression().is_some())
        || input.downcast_ref::<DeleteItemInput>().is_some_and(|i| i.condition_expression().is_some())
        || input.downcast_ref::<UpdateItemInput>().is_some_and(|i| i.condition_expression().is_some())
}

/// Whether a DynamoDB operation's error is a refused condition.
fn conflict(e: &Error) -> bool {
    e.downcast_ref::<PutItemError>().is_some_and(PutItemError::is_conditional_check_failed_exception)
        || e.downcast_ref::<DeleteItemError>().is_some_and(DeleteItemError::is_conditional_check_failed_exception)
        || e.downcast_ref::<UpdateItemError>().is_some_and(UpdateItemError::is_conditional_check_failed_exception)
}

impl Intercept for WriteCounter {
    fn name(&self) -> &'static str {
        "platform-ops-bench-write-counter"
    }

    // Not `read_before_execution`: a client's interceptors run that before the operation's
    // metadata is in the bag.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let conditional = conditional(context.input());
        self.bump(cfg, |c| {
            c.operations += 1;
            c.conditional += u64::from(conditional);
        });
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.bump(cfg, |c| c.attempts += 1);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Err(e)) = context.output_or_error() {
            let refused = e.as_operation_error().is_some_and(conflict);
            self.bump(cfg, |c| if refused { c.conflicts += 1 } else { c.errors += 1 });
        }
        Ok(())
    }
}
