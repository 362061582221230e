//! The AWS calls functions and integrations make, recorded by an SDK interceptor for the timeline.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Operations that change something, by the verbs AWS APIs use for them.
const CHANGING: &[&str] = &[
    "Put",
    "Create",
    "Update",
    "Delete",
    "Publish",
    "Send",
    "Start",
    "Set",
    "Tag",
    "Untag",
    "Attach",
    "Detach",
    "Modify",
    "Register",
    "Deregister",
    "Enable",
    "Disable",
    "Move",
    "Invite",
    "Associate",
    "Disassociate",
    "Add",
    "Remove",
    "Change",
    "Stop",
    "Cancel",
    "Terminate",
    "Reboot",
    "Authorize",
    "Revoke",
    "Copy",
    "Upload",
    "Complete",
    "Abort",
    "Redrive",
    // RDS makes a new instance from a snapshot.
    "Restore",
];

/// Whether `operation` changes something, by its verb.
pub fn changing(operation: &str) -> bool {
    CHANGING.iter().any(|verb| operation.starts_with(verb))
}

/// Shared by every client the runtime hands a function or an integration.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<(String, String)>>>);

/// The calls made since the last take, counted per operation (`firehose PutRecordBatch x1`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Calls {
    /// Operations that change something (billed, audited, the ones that must be idempotent).
    pub changes: Vec<String>,
    /// Everything else: describes, gets, queries, role assumptions.
    pub reads: Vec<String>,
}

impl CallLog {
    /// The calls recorded since the last take, split into changes and reads, counted.
    pub fn take(&self) -> Calls {
        let calls = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        let mut changes: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut reads: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (service, operation) in calls {
            let bucket = if changing(&operation) { &mut changes } else { &mut reads };
            *bucket.entry((service, operation)).or_default() += 1;
        }
        let list =
            |m: BTreeMap<(String, String), usize>| m.into_iter().map(|((s, o), n)| format!("{s} {o} x{n}")).collect();
        Calls { changes: list(changes), reads: list(reads) }
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "platform-ops-call-log"
    }

    // Not `read_before_execution`: client interceptors run that before the operation's metadata
    // is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push((m.service().to_lowercase(), m.name().to_string()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_and_reads_are_counted_apart() {
        let log = CallLog::default();
        for (s, o) in [
            ("firehose", "PutRecordBatch"),
            ("firehose", "PutRecordBatch"),
            ("dynamodb", "GetItem"),
            ("sns", "Publish"),
        ] {
            log.0.lock().expect("lock").push((s.into(), o.into()));
        }
        let calls = log.take();
        assert_eq!(calls.changes, ["firehose PutRecordBatch x2", "sns Publish x1"]);
        assert_eq!(calls.reads, ["dynamodb GetItem x1"]);
        assert_eq!(log.take(), Calls::default());
    }
}
