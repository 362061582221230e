//! Release records in memory, for tests of triage and the local runtime.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use platform_core::error::AwsError;

use crate::ports::{AccountRelease, ReleaseRecords};

/// Records by (environment, account).
#[derive(Debug, Default)]
pub struct MemoryReleaseRecords {
    records: Mutex<BTreeMap<(String, String), AccountRelease>>,
}

impl MemoryReleaseRecords {
    pub fn set(&self, environment: &str, account: &str, record: AccountRelease) {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        records.insert((environment.to_string(), account.to_string()), record);
    }
}

#[async_trait]
impl ReleaseRecords for MemoryReleaseRecords {
    async fn current(&self, environment: &str, account: &str) -> Result<Option<AccountRelease>, AwsError> {
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        Ok(records.get(&(environment.to_string(), account.to_string())).cloned())
    }
}
