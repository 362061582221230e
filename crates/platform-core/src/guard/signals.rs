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
}

/// A claim racing an expiring window is tried this many times.
const TRIES: usize = 3;

#[async_trait]
impl SignalLedger for GuardTable {
    async fn sight(&self, key: &str, now: DateTime<Utc>, window_seconds: i64) -> Result<Sighting, AwsError> {
        let pk = format!("signal#{key}");
        for _ in 0..TRIES {
            let window = SignalWindow {
                pk: pk.clone(),
                sk: "window".into(),
                since: now,
                open_until: now.timestamp() + window_seconds,
                suppressed: 0,
                expires_at: now.timestamp() + window_seconds,
            };
            // TTL deletes late: a window that has passed is taken over, not counted against.
            let values = HashMap::from([(":now".to_string(), AttributeValue::N(now.timestamp().to_string()))]);
            let claim = self
                .put_if(item(&window, "PutItem")?, "attribute_not_exists(pk) OR open_until < :now", Some(values))
                .await?;
            if claim == Claim::Won {
                return Ok(Sighting::First);
            }
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(&pk))
                .key("sk", s("window"))
                .update_expression("ADD suppressed :one")
                .condition_expression("attribute_exists(pk) AND open_until >= :now")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
                .return_values(ReturnValue::AllNew)
                .send()
                .await
                .classify("UpdateItem");
            match result {
                Ok(out) => {
                    let raw = out.attributes.unwrap_or_default();
                    let w: SignalWindow = serde_dynamo::from_item(raw).map_err(|e| {
                        AwsError::new(
                            ErrorClass::Unclassified,
                            "UpdateItem",
                            format!("the window of `{key}` does not read"),
                        )
                        .with_source(e)
                    })?;
                    return Ok(Sighting::Suppressed { count: w.suppressed, since: w.since });
                }
                // The window passed (or was deleted) between the two calls: claim again.
                Err(e) if e.class == ErrorClass::ConditionFailed => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AwsError::new(ErrorClass::Transient, "PutItem", format!("the window of `{key}` kept changing")))
    }
}
