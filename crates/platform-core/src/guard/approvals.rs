//! Approvals and account leases in the guard table: an approval decided once, a lease held by one release until its execution's end.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AUDIT_TTL_SECONDS, GuardTable, item, s};
use crate::approvals::{
    Acquired, ApprovalRecord, Approvals, Decision, Lease, Leases, Opened, PendingApproval, Recorded, Verdict,
};
use crate::capacity::Claim;
use crate::error::{AwsError, ClassifyExt, ErrorClass};

/// A taken lease read back empty (its holder let go meanwhile) is tried again this many times.
const TRIES: usize = 3;

/// `approval#<id>` / `approval`: the plan's approval and, once given, its decision. Kept as long
/// as the audit trail: it is the record of who let a release into the environment.
#[derive(Debug, Serialize, Deserialize)]
struct ApprovalItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    pending: PendingApproval,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verdict: Option<Verdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decided_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// The table's TTL attribute: the audit trail's seven years.
    expires_at: i64,
}

impl ApprovalItem {
    fn record(self) -> ApprovalRecord {
        let decision = match (self.verdict, self.decided_by, self.decided_at) {
            (Some(verdict), Some(by), Some(at)) => Some(Decision { verdict, by, at, reason: self.reason }),
            _ => None,
        };
        ApprovalRecord { pending: self.pending, decision }
    }
}

/// `lease#<env>#<account>` / `lease`.
#[derive(Debug, Serialize, Deserialize)]
struct LeaseItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    lease: Lease,
    /// `until` as epoch seconds, for the condition; TTL a day later.
    until_epoch: i64,
    expires_at: i64,
}

fn approval_key(id: &str) -> String {
    format!("approval#{id}")
}

fn lease_key(environment: &str, account: &str) -> String {
    format!("lease#{environment}#{account}")
}

fn unreadable(operation: &'static str, what: &str) -> impl FnOnce(serde_dynamo::Error) -> AwsError {
    let message = format!("the {what} item does not read");
    move |e| AwsError::new(ErrorClass::Unclassified, operation, message).with_source(e)
}

impl GuardTable {
    async fn get_raw(&self, pk: String, sk: &str) -> Result<Option<HashMap<String, AttributeValue>>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .classify("GetItem")?;
        Ok(out.item)
    }

    async fn approval(&self, id: &str) -> Result<Option<ApprovalRecord>, AwsError> {
        let Some(raw) = self.get_raw(approval_key(id), "approval").await? else { return Ok(None) };
        let found: ApprovalItem = serde_dynamo::from_item(raw).map_err(unreadable("GetItem", "approval"))?;
        Ok(Some(found.record()))
    }
}

#[async_trait]
impl Approvals for GuardTable {
    async fn open(&self, approval: &PendingApproval) -> Result<Opened, AwsError> {
        let new = ApprovalItem {
            pk: approval_key(&approval.id),
            sk: "approval".into(),
            pending: approval.clone(),
            verdict: None,
            decided_by: None,
            decided_at: None,
            reason: None,
            expires_at: approval.opened_at.timestamp() + AUDIT_TTL_SECONDS,
        };
        if self.put_if(item(&new, "PutItem")?, "attribute_not_exists(pk)", None).await? == Claim::Won {
            return Ok(Opened::Waiting);
        }
        // A retried task: the approval stays, its token and answer-by become the new attempt's
        // (whose timeout starts again), so an approver is refused exactly when the token is.
        let renewed = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(approval_key(&approval.id)))
            .key("sk", s("approval"))
            .update_expression("SET #token = :token, answer_by = :answer_by")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(verdict)")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":token", s(&approval.token))
            .expression_attribute_values(":answer_by", s(approval.answer_by.to_rfc3339()))
            .send()
            .await
            .classify("UpdateItem");
        match renewed {
            Ok(_) => Ok(Opened::Waiting),
            Err(e) if e.class == ErrorClass::ConditionFailed => match self.approval(&approval.id).await? {
                Some(ApprovalRecord { decision: Some(d), .. }) => Ok(Opened::Decided(d)),
                _ => Err(AwsError::new(ErrorClass::Transient, "UpdateItem", "the approval changed while renewed")),
            },
            Err(e) => Err(e),
        }
    }

    async fn get(&self, id: &str) -> Result<Option<ApprovalRecord>, AwsError> {
        self.approval(id).await
    }

    async fn decide(&self, id: &str, decision: &Decision) -> Result<Recorded, AwsError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(approval_key(id)))
            .key("sk", s("approval"))
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(verdict)")
            .expression_attribute_values(":verdict", s(decision.verdict.to_string()))
            .expression_attribute_values(":by", s(&decision.by))
            .expression_attribute_values(":at", s(decision.at.to_rfc3339()));
        let mut set = "SET verdict = :verdict, decided_by = :by, decided_at = :at".to_string();
        if let Some(reason) = &decision.reason {
            set.push_str(", reason = :reason");
            update = update.expression_attribute_values(":reason", s(reason));
        }
        match update.update_expression(set).send().await.classify("UpdateItem") {
            Ok(_) => Ok(Recorded::Recorded),
            Err(e) if e.class == ErrorClass::ConditionFailed => Ok(match self.approval(id).await? {
                Some(ApprovalRecord { decision: Some(d), .. }) => Recorded::Already(d),
                _ => Recorded::Unknown,
            }),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Leases for GuardTable {
    async fn acquire(&self, lease: &Lease, now: DateTime<Utc>) -> Result<Acquired, AwsError> {
        let pk = lease_key(&lease.environment, &lease.account);
        let new = LeaseItem {
            pk: pk.clone(),
            sk: "lease".into(),
            lease: lease.clone(),
            until_epoch: lease.until.timestamp(),
            expires_at: lease.until.timestamp() + 24 * 3600,
        };
        let values = HashMap::from([(":now".to_string(), AttributeValue::N(now.timestamp().to_string()))]);
        for _ in 0..TRIES {
            let condition = "attribute_not_exists(pk) OR until_epoch <= :now";
            if self.put_if(item(&new, "PutItem")?, condition, Some(values.clone())).await? == Claim::Won {
                return Ok(Acquired::Held);
            }
            if let Some(raw) = self.get_raw(pk.clone(), "lease").await? {
                let held: LeaseItem = serde_dynamo::from_item(raw).map_err(unreadable("GetItem", "lease"))?;
                // Ours and live: a retry after a lost answer, held already (not written again).
                if held.lease.holder == lease.holder {
                    return Ok(Acquired::Held);
                }
                return Ok(Acquired::Busy(held.lease));
            }
        }
        Err(AwsError::new(ErrorClass::Transient, "PutItem", format!("the lease of {} kept changing", lease.account)))
    }

    async fn release(&self, environment: &str, account: &str, holder: &str) -> Result<bool, AwsError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(lease_key(environment, account)))
            .key("sk", s("lease"))
            .condition_expression("holder = :holder")
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await
            .classify("DeleteItem");
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.class == ErrorClass::ConditionFailed => Ok(false),
            Err(e) => Err(e),
        }
    }
}
