//! The vending ledger in the guard table: leased claims per vending and the organisation-wide slots.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{GuardTable, item};
use crate::claims::{Claim, Finish, VendingLedger};
use crate::error::{AwsError, ClassifyExt, ErrorClass};

/// `vending#slots` / `slots`: the slots as a map of vending id to lease, versioned for
/// optimistic writes.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Slots {
    pk: String,
    sk: String,
    #[serde(default)]
    holders: BTreeMap<String, String>,
    #[serde(default)]
    version: i64,
}

impl GuardTable {
    /// The slots and the version they were read at (0 when the item does not exist yet).
    async fn slots(&self) -> Result<(BTreeMap<String, String>, i64), AwsError> {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", A::S("vending#slots".into()))
            .key("sk", A::S("slots".into()))
            .consistent_read(true)
            .send()
            .await
            .classify("GetItem")?;
        let Some(raw) = out.item else { return Ok((BTreeMap::new(), 0)) };
        let slots: Slots = serde_dynamo::from_item(raw).map_err(|e| {
            AwsError::new(ErrorClass::Unclassified, "GetItem", "the slots item does not read").with_source(e)
        })?;
        Ok((slots.holders, slots.version))
    }

    /// Writes the slots if nobody wrote since `version`; false when someone did.
    async fn put_slots(&self, holders: &BTreeMap<String, String>, version: i64) -> Result<bool, AwsError> {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let slots =
            Slots { pk: "vending#slots".into(), sk: "slots".into(), holders: holders.clone(), version: version + 1 };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(&slots, "PutItem")?))
            .condition_expression("attribute_not_exists(pk) OR version = :v")
            .expression_attribute_values(":v", A::N(version.to_string()))
            .send()
            .await
            .classify("PutItem");
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.class == ErrorClass::ConditionFailed => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Optimistic writes of the slots item race other vendings; this many tries, then `Taken`/error.
const SLOT_WRITE_TRIES: usize = 5;

fn stamp(t: DateTime<Utc>) -> String {
    // One fixed format, so leases compare as strings in conditions as they do as times here.
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[async_trait]
impl VendingLedger for GuardTable {
    async fn claim(
        &self,
        vending: &str,
        execution: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, AwsError> {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", A::S(format!("vending#{vending}")))
            .key("sk", A::S("claim".into()))
            .update_expression("SET #status = :running, execution_id = :execution, started_at = :now, lease_until = :lease REMOVE failed_step")
            .condition_expression(
                "attribute_not_exists(pk) OR #status = :failed OR execution_id = :execution OR lease_until < :now",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", A::S("running".into()))
            .expression_attribute_values(":failed", A::S("failed".into()))
            .expression_attribute_values(":execution", A::S(execution.into()))
            .expression_attribute_values(":now", A::S(stamp(now)))
            .expression_attribute_values(":lease", A::S(stamp(lease_until)))
            .send()
            .await
            .classify("UpdateItem");
        match result {
            Ok(_) => Ok(Claim::Won),
            Err(e) if e.class == ErrorClass::ConditionFailed => Ok(Claim::Taken),
            Err(e) => Err(e),
        }
    }

    async fn finish(&self, vending: &str, execution: &str, finish: &Finish) -> Result<(), AwsError> {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", A::S(format!("vending#{vending}")))
            .key("sk", A::S("claim".into()))
            .condition_expression("execution_id = :execution")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":execution", A::S(execution.into()))
            .expression_attribute_values(":now", A::S(stamp(Utc::now())));
        let request = match finish {
            Finish::Done { account_id } => request
                .update_expression("SET #status = :done, account_id = :account, finished_at = :now")
                .expression_attribute_values(":done", A::S("done".into()))
                .expression_attribute_values(":account", A::S(account_id.clone())),
            Finish::Failed { step } => request
                .update_expression("SET #status = :failed, failed_step = :step, finished_at = :now")
                .expression_attribute_values(":failed", A::S("failed".into()))
                .expression_attribute_values(":step", A::S(step.clone())),
        };
        match request.send().await.classify("UpdateItem") {
            Ok(_) => Ok(()),
            // Another execution took the claim over (this one's lease ran out): its to finish.
            Err(e) if e.class == ErrorClass::ConditionFailed => {
                tracing::warn!(vending, execution, "the claim is no longer this execution's: not finishing it");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn acquire_slot(
        &self,
        vending: &str,
        max: u32,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, AwsError> {
        for _ in 0..SLOT_WRITE_TRIES {
            let (holders, version) = self.slots().await?;
            let now = stamp(now);
            let mut live: BTreeMap<String, String> = holders.into_iter().filter(|(_, lease)| *lease >= now).collect();
            // Held already: a retry after a lost answer. Writing again would only move the lease.
            if live.contains_key(vending) {
                return Ok(Claim::Won);
            }
            if live.len() >= max as usize {
                return Ok(Claim::Taken);
            }
            live.insert(vending.to_string(), stamp(lease_until));
            if self.put_slots(&live, version).await? {
                return Ok(Claim::Won);
            }
        }
        Ok(Claim::Taken)
    }

    async fn release_slot(&self, vending: &str) -> Result<(), AwsError> {
        for _ in 0..SLOT_WRITE_TRIES {
            let (mut holders, version) = self.slots().await?;
            if holders.remove(vending).is_none() {
                return Ok(());
            }
            if self.put_slots(&holders, version).await? {
                return Ok(());
            }
        }
        Err(AwsError::new(
            ErrorClass::ConcurrentModification,
            "PutItem",
            format!("the slots changed under every one of {SLOT_WRITE_TRIES} tries to release {vending}"),
        ))
    }
}
