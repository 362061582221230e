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
];

/// Shared by every client the runtime hands a function or an integration.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<(String, String)>>>);

impl CallLog {
    /// The calls recorded since the last take, changing ones only, counted:
    /// `firehose PutRecordBatch x1`.
    pub fn take_changes(&self) -> Vec<String> {
        let calls = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        let mut counted: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (service, operation) in calls {
            if CHANGING.iter().any(|verb| operation.starts_with(verb)) {
                *counted.entry((service, operation)).or_default() += 1;
            }
        }
        counted.into_iter().map(|((s, o), n)| format!("{s} {o} x{n}")).collect()
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
    fn only_changes_are_counted() {
        let log = CallLog::default();
        for (s, o) in [
            ("firehose", "PutRecordBatch"),
            ("firehose", "PutRecordBatch"),
            ("dynamodb", "GetItem"),
            ("sns", "Publish"),
        ] {
            log.0.lock().expect("lock").push((s.into(), o.into()));
        }
        assert_eq!(log.take_changes(), ["firehose PutRecordBatch x2", "sns Publish x1"]);
        assert!(log.take_changes().is_empty());
    }
}
