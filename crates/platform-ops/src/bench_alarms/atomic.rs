//! One conditional write per guard-table item at a time: DynamoDB's per-item atomicity, which moto lacks.

// moto's PutItem reads the item, evaluates the condition and writes, without a lock, in a
// threaded server (moto/dynamodb/models/table.py, `Table.put_item`): two deliveries writing the
// same claim at the same moment can both pass `attribute_not_exists(pk)`, the second write
// silently replacing the first. DynamoDB applies the condition and the write atomically per item.
// Serialising the conditional writes to one item here restores that, and nothing else: writes to
// other items, reads and the audit trail stay as concurrent as the load makes them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::capacity::{AuditRecord, Claim, Guard, PastAction};
use platform_core::error::AwsError;

/// A guard whose conditional writes to the same item wait for each other.
#[derive(Debug)]
pub struct ItemAtomic {
    inner: Arc<dyn Guard>,
    items: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ItemAtomic {
    pub fn new(inner: Arc<dyn Guard>) -> Self {
        ItemAtomic { inner, items: Mutex::default() }
    }

    fn item(&self, key: String) -> Arc<tokio::sync::Mutex<()>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_default().clone()
    }
}

#[async_trait]
impl Guard for ItemAtomic {
    async fn claim_transition(&self, transition: &str, owner: &str, now: DateTime<Utc>) -> Result<Claim, AwsError> {
        let item = self.item(format!("transition#{transition}"));
        let _held = item.lock().await;
        self.inner.claim_transition(transition, owner, now).await
    }

    async fn lock_target(&self, key: &str, owner: &str, now: DateTime<Utc>, seconds: i64) -> Result<Claim, AwsError> {
        let item = self.item(format!("target#{key}"));
        let _held = item.lock().await;
        self.inner.lock_target(key, owner, now, seconds).await
    }

    async fn unlock_target(&self, key: &str, owner: &str) -> Result<(), AwsError> {
        let item = self.item(format!("target#{key}"));
        let _held = item.lock().await;
        self.inner.unlock_target(key, owner).await
    }

    async fn history(&self, key: &str) -> Result<Vec<PastAction>, AwsError> {
        self.inner.history(key).await
    }

    async fn record(&self, key: &str, record: &AuditRecord) -> Result<(), AwsError> {
        self.inner.record(key, record).await
    }
}
