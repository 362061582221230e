//! The guard table made as template.yaml declares it, where no stack makes it: an emulator.

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};

use super::GuardTable;
use crate::error::{AwsError, ClassifyExt, ErrorClass};

impl GuardTable {
    /// Creates `table` with the template's keys (`pk` and `sk`, both strings; on-demand) and
    /// returns the guard on it. On AWS the stack makes the table; this is for an emulator.
    pub async fn create(client: aws_sdk_dynamodb::Client, table: &str) -> Result<GuardTable, AwsError> {
        let invalid = |e: aws_sdk_dynamodb::error::BuildError| {
            AwsError::new(ErrorClass::InvalidRequest, "CreateTable", format!("table {table}: {e}"))
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        let key = |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("pk").map_err(invalid)?)
            .attribute_definitions(attribute("sk").map_err(invalid)?)
            .key_schema(key("pk", KeyType::Hash).map_err(invalid)?)
            .key_schema(key("sk", KeyType::Range).map_err(invalid)?)
            .send()
            .await
            .classify("CreateTable")?;
        Ok(GuardTable::new(client.into(), table))
    }
}
