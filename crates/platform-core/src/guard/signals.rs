//! Signal de-duplication in the guard table: a conditional claim per (account, service, signature) with a TTL, and a counter of the suppressed ones.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{GuardTable, item, s};
use crate::capacity::Claim;
use crate::error::{AwsError, ClassifyExt, ErrorClass};
use crate::signals::{Sighting, SignalLedger};

/// `signal#<key>` / `window`: the detection that opened the window, and how many were
/// suppressed in it. The item expires with its window (TTL), so the table does not keep them.
#[derive(Debug, Serialize, Deserialize)]
struct SignalWindow {
    pk: String,
    sk: String,
    since: DateTime<Utc>,
    open_until: i64,
    suppressed: u64,
    expires_at: i64,
    /// The execution that opened the window (absent on windows older than owners).
    #[serde(default)]
    owner: String,
}

/// A claim racing an expiring window is tried this many times.
const TRIES: usize = 3;

#[async_trait]
impl SignalLedger for GuardTable {
    async fn sight(
        &self,
        key: &str,
        owner: &str,
        now: DateTime<Utc>,
        window_seconds: i64,
    ) -> Result<Sighting, AwsError> {
        let pk = format!("signal#{key}");
        let unreadable = |operation: &'static str| {
            move |e: serde_dynamo::Error| {
                AwsError::new(ErrorClass::Unclassified, operation, format!("the window of `{key}` does not read"))
                    .with_source(e)
            }
        };
        for _ in 0..TRIES {
            let window = SignalWindow {
                pk: pk.clone(),
                sk: "window".into(),
                since: now,
                open_until: now.timestamp() + window_seconds,
                suppressed: 0,
                expires_at: now.timestamp() + window_seconds,
                owner: owner.to_string(),
            };
            // TTL deletes late: a window that has passed is taken over, not counted against.
            let values = HashMap::from([(":now".to_string(), AttributeValue::N(now.timestamp().to_string()))]);
            let claim = self
                .put_if(item(&window, "PutItem")?, "attribute_not_exists(pk) OR open_until < :now", Some(values))
                .await?;
            if claim == Claim::Won {
                return Ok(Sighting::First);
            }
            // Counted once per owner: `counted` is the set of owners counted in this window.
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(&pk))
                .key("sk", s("window"))
                .update_expression("ADD suppressed :one, counted :owners")
                .condition_expression(
                    "attribute_exists(pk) AND open_until >= :now \
                     AND (attribute_not_exists(#owner) OR #owner <> :owner) AND NOT contains(counted, :owner)",
                )
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
                .expression_attribute_values(":owner", s(owner))
                .expression_attribute_values(":owners", AttributeValue::Ss(vec![owner.to_string()]))
                .return_values(ReturnValue::AllNew)
                .send()
                .await
                .classify("UpdateItem");
            match result {
                Ok(out) => {
                    let w: SignalWindow = serde_dynamo::from_item(out.attributes.unwrap_or_default())
                        .map_err(unreadable("UpdateItem"))?;
                    return Ok(Sighting::Suppressed { count: w.suppressed, since: w.since });
                }
                Err(e) if e.class == ErrorClass::ConditionFailed => {}
                Err(e) => return Err(e),
            }
            // Refused: this owner's own claim or count already (its earlier answer lost), or the
            // window passed between the two calls (claim again).
            let stored = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", s(&pk))
                .key("sk", s("window"))
                .consistent_read(true)
                .send()
                .await
                .classify("GetItem")?
                .item;
            let Some(stored) = stored else { continue };
            let counted =
                stored.get("counted").and_then(|v| v.as_ss().ok()).is_some_and(|c| c.iter().any(|o| o == owner));
            let w: SignalWindow = serde_dynamo::from_item(stored).map_err(unreadable("GetItem"))?;
            if w.open_until < now.timestamp() {
                continue;
            }
            if w.owner == owner {
                return Ok(Sighting::First);
            }
            if counted {
                return Ok(Sighting::Suppressed { count: w.suppressed, since: w.since });
            }
        }
        Err(AwsError::new(ErrorClass::Transient, "PutItem", format!("the window of `{key}` kept changing")))
    }
}
