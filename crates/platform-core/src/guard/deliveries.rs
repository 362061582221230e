//! Deliveries begun and completed, as conditional writes in the guard table.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::s;
use crate::deliveries::{Begun, Deliveries, REMEMBERED_SECONDS};
use crate::error::{AwsError, ClassifyExt, ErrorClass};

/// `delivery#<function>#<key>` / `claim` in the guard table.
#[derive(Debug, Clone)]
pub struct DeliveryTable {
    client: crate::aws::Lazy<aws_sdk_dynamodb::Client>,
    table: String,
    function: String,
}

impl DeliveryTable {
    pub fn new(
        client: crate::aws::Lazy<aws_sdk_dynamodb::Client>,
        table: impl Into<String>,
        function: impl Into<String>,
    ) -> Self {
        DeliveryTable { client, table: table.into(), function: function.into() }
    }

    fn pk(&self, key: &str) -> String {
        format!("delivery#{}#{key}", self.function)
    }
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

#[async_trait]
impl Deliveries for DeliveryTable {
    async fn begin(&self, key: &str, now: i64, lease_seconds: i64) -> Result<Begun, AwsError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(self.pk(key)))
            .item("sk", s("claim"))
            .item("status", s("in-progress"))
            .item("lease_until", n(now + lease_seconds))
            .item("expires_at", n(now + REMEMBERED_SECONDS))
            // Fresh, or held by an invocation whose lease ran out.
            .condition_expression("attribute_not_exists(pk) OR (#status = :in_progress AND lease_until < :now)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":in_progress", s("in-progress"))
            .expression_attribute_values(":now", n(now))
            .send()
            .await
            .classify("PutItem");
        match put {
            Ok(_) => return Ok(Begun::Fresh),
            Err(e) if e.class == ErrorClass::ConditionFailed => {}
            Err(e) => return Err(e),
        }
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(self.pk(key)))
            .key("sk", s("claim"))
            .consistent_read(true)
            .send()
            .await
            .classify("GetItem")?
            .item
            .unwrap_or_default();
        let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
        let number = |k: &str| item.get(k).and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<i64>().ok());
        Ok(match text("status").as_deref() {
            Some("done") => Begun::Done,
            _ => Begun::InProgress { lease_until: number("lease_until").unwrap_or(now + lease_seconds) },
        })
    }

    async fn complete(&self, key: &str, now: i64) -> Result<(), AwsError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(self.pk(key)))
            .key("sk", s("claim"))
            .update_expression("SET #status = :done, completed_at = :now, expires_at = :expires")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":expires", n(now + REMEMBERED_SECONDS))
            .send()
            .await
            .classify("UpdateItem")?;
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), AwsError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(self.pk(key)))
            .key("sk", s("claim"))
            .condition_expression("#status = :in_progress")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":in_progress", s("in-progress"))
            .send()
            .await
            .classify("DeleteItem");
        match deleted {
            Err(e) if e.class != ErrorClass::ConditionFailed => Err(e),
            _ => Ok(()),
        }
    }
}
