//! The guard table on DynamoDB: claims, leases, slots, target locks and the audit trail, as typed items.

mod approvals;
mod deliveries;
mod ledger;
mod schema;
mod signals;

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use deliveries::DeliveryTable;

use crate::capacity::{AuditDecision, AuditRecord, Claim, Direction, Guard, PastAction};
use crate::error::{AwsError, ClassifyExt, ErrorClass};

/// How long a transition claim is kept: far longer than any redelivery window.
const CLAIM_TTL_SECONDS: i64 = 7 * 24 * 3600;
/// How long the audit trail of a target is kept: the seven years a regulated firm keeps its
/// records (the archive copy, through the table's stream, is under Object Lock for as long).
pub(crate) const AUDIT_TTL_SECONDS: i64 = 7 * 366 * 24 * 3600;
/// Actions read back for cooldowns and flapping.
const HISTORY_LIMIT: i32 = 20;

/// `transition#<id>` / `claim`: the first delivery of an alarm transition.
#[derive(Debug, Serialize)]
struct TransitionClaim<'a> {
    pk: String,
    sk: &'static str,
    owner: &'a str,
    claimed_at: String,
    expires_at: i64,
}

/// `target#<key>` / `lock`: one resize of a target at a time.
#[derive(Debug, Serialize)]
struct TargetLock<'a> {
    pk: String,
    sk: &'static str,
    owner: &'a str,
    lock_until: i64,
    expires_at: i64,
}

/// `target#<key>` / `action#<at>` (an action) or `audit#<at>` (a refusal): the audit trail.
#[derive(Debug, Serialize, Deserialize)]
struct AuditItem {
    pk: String,
    sk: String,
    at: DateTime<Utc>,
    alarm: String,
    account: String,
    target: String,
    decision: AuditDecision,
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<Direction>,
    from: u32,
    to: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    guardrail: Option<String>,
    reason: String,
    expires_at: i64,
}

/// What the history reads back of an audit item.
#[derive(Debug, Deserialize)]
struct ActionItem {
    at: DateTime<Utc>,
    direction: Direction,
}

fn item<T: Serialize>(value: &T, operation: &'static str) -> Result<HashMap<String, AttributeValue>, AwsError> {
    serde_dynamo::to_item(value)
        .map_err(|e| AwsError::new(ErrorClass::InvalidRequest, operation, "the item does not map").with_source(e))
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// The guard table (`pk`, `sk`, TTL on `expires_at`), shared with the other flows.
#[derive(Debug, Clone)]
pub struct GuardTable {
    client: crate::aws::Lazy<aws_sdk_dynamodb::Client>,
    table: String,
}

impl GuardTable {
    pub fn new(client: crate::aws::Lazy<aws_sdk_dynamodb::Client>, table: impl Into<String>) -> Self {
        GuardTable { client, table: table.into() }
    }

    /// A conditional put: `Won` when the condition held, `Taken` when it did not.
    async fn put_if(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: &str,
        values: Option<HashMap<String, AttributeValue>>,
    ) -> Result<Claim, AwsError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(
                condition.contains("#owner").then(|| HashMap::from([("#owner".to_string(), "owner".to_string())])),
            )
            .set_expression_attribute_values(values)
            .send()
            .await
            .classify("PutItem");
        match result {
            Ok(_) => Ok(Claim::Won),
            Err(e) if e.class == ErrorClass::ConditionFailed => Ok(Claim::Taken),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Guard for GuardTable {
    async fn claim_transition(&self, transition: &str, owner: &str, now: DateTime<Utc>) -> Result<Claim, AwsError> {
        let claim = TransitionClaim {
            pk: format!("transition#{transition}"),
            sk: "claim",
            owner,
            claimed_at: now.to_rfc3339(),
            expires_at: now.timestamp() + CLAIM_TTL_SECONDS,
        };
        // The owner's own claim again (a retry whose first answer was lost) is still its own.
        let values = HashMap::from([(":owner".to_string(), s(owner))]);
        self.put_if(item(&claim, "PutItem")?, "attribute_not_exists(pk) OR #owner = :owner", Some(values)).await
    }

    async fn lock_target(
        &self,
        target_key: &str,
        owner: &str,
        now: DateTime<Utc>,
        seconds: i64,
    ) -> Result<Claim, AwsError> {
        let lock = TargetLock {
            pk: format!("target#{target_key}"),
            sk: "lock",
            owner,
            lock_until: now.timestamp() + seconds,
            expires_at: now.timestamp() + seconds + 3600,
        };
        let values = HashMap::from([
            (":now".to_string(), AttributeValue::N(now.timestamp().to_string())),
            (":owner".to_string(), s(owner)),
        ]);
        self.put_if(
            item(&lock, "PutItem")?,
            "attribute_not_exists(pk) OR lock_until < :now OR #owner = :owner",
            Some(values),
        )
        .await
    }

    async fn unlock_target(&self, target_key: &str, owner: &str) -> Result<(), AwsError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("target#{target_key}")))
            .key("sk", s("lock"))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await
            .classify("DeleteItem");
        match result {
            // Someone took over an expired lock: it is theirs now, nothing to release.
            Err(e) if e.class != ErrorClass::ConditionFailed => Err(e),
            _ => Ok(()),
        }
    }

    async fn history(&self, target_key: &str) -> Result<Vec<PastAction>, AwsError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :action)")
            .expression_attribute_values(":pk", s(format!("target#{target_key}")))
            .expression_attribute_values(":action", s("action#"))
            .scan_index_forward(false)
            .limit(HISTORY_LIMIT)
            .send()
            .await
            .classify("Query")?;
        let mut actions = Vec::new();
        for raw in out.items() {
            match serde_dynamo::from_item::<_, ActionItem>(raw.clone()) {
                Ok(a) => actions.push(PastAction { at: a.at, direction: a.direction }),
                // An unreadable entry cannot count towards a cooldown; it is logged, not fatal.
                Err(e) => tracing::warn!(target_key, error = %e, "skipped an unreadable audit item"),
            }
        }
        actions.reverse();
        Ok(actions)
    }

    async fn record(&self, target_key: &str, r: &AuditRecord) -> Result<(), AwsError> {
        // Refusals go to the audit trail too, but only actions count for cooldowns and flapping.
        let kind = match r.decision {
            AuditDecision::Scale => "action",
            AuditDecision::DryRun | AuditDecision::Refuse => "audit",
        };
        let audit = AuditItem {
            pk: format!("target#{target_key}"),
            sk: format!("{kind}#{}", r.at.to_rfc3339()),
            at: r.at,
            alarm: r.alarm.clone(),
            account: r.account.clone(),
            target: r.target.to_string(),
            decision: r.decision,
            direction: r.direction,
            from: r.from,
            to: r.to,
            guardrail: r.guardrail.clone(),
            reason: r.reason.clone(),
            expires_at: r.at.timestamp() + AUDIT_TTL_SECONDS,
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(&audit, "PutItem")?))
            .send()
            .await
            .classify("PutItem")?;
        Ok(())
    }
}
