//! The report bucket and RDS in memory, for tests of the schedules.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use platform_core::error::AwsError;

use crate::ports::ReportStore;

/// One report as it was put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub body: String,
    pub content_type: String,
}

/// Reports by key; a put to an existing key replaces it, as S3's PutObject does.
#[derive(Debug, Default)]
pub struct MemoryReports(Mutex<BTreeMap<String, Report>>);

impl MemoryReports {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Report>> {
        // A poisoned lock only means another test thread panicked; the reports are intact.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The keys written so far, in key order.
    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// The report under `key`, if one was put.
    pub fn get(&self, key: &str) -> Option<Report> {
        self.lock().get(key).cloned()
    }
}

#[async_trait]
impl ReportStore for MemoryReports {
    async fn put(&self, key: &str, body: &str, content_type: &str) -> Result<(), AwsError> {
        let report = Report { body: body.to_string(), content_type: content_type.to_string() };
        self.lock().insert(key.to_string(), report);
        Ok(())
    }
}

mod rds;

pub use rds::MemoryRds;
