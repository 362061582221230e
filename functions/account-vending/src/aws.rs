//! Adapters: member Parameter Store through the role and the vending ledger (Organizations and StackSets are platform-core's).

use std::collections::BTreeMap;

use async_trait::async_trait;
use platform_core::aws::MemberClients;
use platform_core::error::{AwsError, ClassifyExt, ErrorClass};

use crate::ports::MemberParameters;

pub use platform_core::aws::CloudFormationStackSets;
pub use platform_core::organization::Organizations;

/// Parameter Store in member accounts, through the automation role.
#[derive(Debug, Clone)]
pub struct MemberSsm {
    members: MemberClients,
}

impl MemberSsm {
    pub fn new(members: MemberClients) -> Self {
        MemberSsm { members }
    }
}

#[async_trait]
impl MemberParameters for MemberSsm {
    async fn get_by_path(&self, account: &str, region: &str, path: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let store = platform_core::aws::SsmParameterStore::new(self.members.client_in(account, region));
        platform_core::ports::ParameterStore::get_by_path(&store, path).await
    }
}

/// The vending ledger in the guard table (`pk`, `sk`): `vending#<id>`/`claim` items, and one
/// `vending#slots`/`slots` item holding the slots as a map of vending id to lease, versioned.
#[derive(Debug, Clone)]
pub struct GuardLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl GuardLedger {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        GuardLedger { client, table: table.into() }
    }

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
        let Some(item) = out.item() else { return Ok((BTreeMap::new(), 0)) };
        let version = item.get("version").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0);
        let holders = item
            .get("holders")
            .and_then(|v| v.as_m().ok())
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone()))).collect())
            .unwrap_or_default();
        Ok((holders, version))
    }

    /// Writes the slots if nobody wrote since `version`; false when someone did.
    async fn put_slots(&self, holders: &BTreeMap<String, String>, version: i64) -> Result<bool, AwsError> {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let map = holders.iter().map(|(k, v)| (k.clone(), A::S(v.clone()))).collect();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", A::S("vending#slots".into()))
            .item("sk", A::S("slots".into()))
            .item("holders", A::M(map))
            .item("version", A::N((version + 1).to_string()))
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

fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    // One fixed format, so leases compare as strings in conditions as they do as times here.
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[async_trait]
impl crate::ports::VendingLedger for GuardLedger {
    async fn claim(
        &self,
        vending: &str,
        execution: &str,
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::ports::Claim, AwsError> {
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
            Ok(_) => Ok(crate::ports::Claim::Won),
            Err(e) if e.class == ErrorClass::ConditionFailed => Ok(crate::ports::Claim::Taken),
            Err(e) => Err(e),
        }
    }

    async fn finish(&self, vending: &str, execution: &str, finish: &crate::ports::Finish) -> Result<(), AwsError> {
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
            .expression_attribute_values(":now", A::S(stamp(chrono::Utc::now())));
        let request = match finish {
            crate::ports::Finish::Done { account_id } => request
                .update_expression("SET #status = :done, account_id = :account, finished_at = :now")
                .expression_attribute_values(":done", A::S("done".into()))
                .expression_attribute_values(":account", A::S(account_id.clone())),
            crate::ports::Finish::Failed { step } => request
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
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::ports::Claim, AwsError> {
        for _ in 0..SLOT_WRITE_TRIES {
            let (holders, version) = self.slots().await?;
            let now = stamp(now);
            let mut live: BTreeMap<String, String> = holders.into_iter().filter(|(_, lease)| *lease >= now).collect();
            if !live.contains_key(vending) && live.len() >= max as usize {
                return Ok(crate::ports::Claim::Taken);
            }
            live.insert(vending.to_string(), stamp(lease_until));
            if self.put_slots(&live, version).await? {
                return Ok(crate::ports::Claim::Won);
            }
        }
        Ok(crate::ports::Claim::Taken)
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
