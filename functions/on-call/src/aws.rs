//! The adapters: the paging topic (SNS), OpsItems (Systems Manager), the incidents' records (the guard table) and alarm states (CloudWatch).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_ssm::types::{OpsItemDataType, OpsItemDataValue, OpsItemStatus};
use chrono::{DateTime, Utc};
use platform_core::error::{AwsError, ClassifyExt, ErrorClass, classify};
use serde::{Deserialize, Serialize};

use crate::alarm::AlarmState;
use crate::ports::{
    AlarmStates, AlarmStatus, Channel, Claim, IncidentKey, IncidentRecord, IncidentStatus, Incidents, Pager,
    TicketOpen, TicketUpdate, Tickets,
};

/// How long a resolved incident's record is kept: long past any redelivery, short enough that
/// the table does not keep every incident forever (the provider and OpsCenter keep the history).
const RESOLVED_TTL_SECONDS: i64 = 90 * 24 * 3600;

/// The paging topic, whose HTTPS subscription (raw message delivery) posts each message to the provider.
#[derive(Debug, Clone)]
pub struct SnsPager {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsPager {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        SnsPager { client, topic_arn: topic_arn.into() }
    }
}

#[async_trait]
impl Pager for SnsPager {
    async fn publish(&self, message: &str) -> Result<(), AwsError> {
        self.client.publish().topic_arn(&self.topic_arn).message(message).send().await.classify("Publish")?;
        Ok(())
    }
}

/// OpsItems in this account's OpsCenter.
#[derive(Debug, Clone)]
pub struct OpsItemTickets {
    client: aws_sdk_ssm::Client,
}

impl OpsItemTickets {
    pub fn new(client: aws_sdk_ssm::Client) -> Self {
        OpsItemTickets { client }
    }
}

fn data(value: &str, kind: OpsItemDataType) -> OpsItemDataValue {
    OpsItemDataValue::builder().value(value).r#type(kind).build()
}

/// OpsCenter's own error codes, which the shared table does not know, in its classes.
fn ops_class(mut e: AwsError) -> AwsError {
    let class = match e.code.as_deref() {
        Some("OpsItemNotFoundException") => ErrorClass::NotFound,
        Some("OpsItemAlreadyExistsException") => ErrorClass::AlreadyExists,
        Some("OpsItemInvalidParameterException") => ErrorClass::InvalidRequest,
        Some("OpsItemLimitExceededException") => ErrorClass::LimitExceeded,
        Some("OpsItemConflictException") => ErrorClass::ConcurrentModification,
        Some("OpsItemAccessDeniedException") => ErrorClass::AccessDenied,
        _ => return e,
    };
    e.class = class;
    e
}

impl OpsItemTickets {
    async fn write(&self, id: &str, update: &TicketUpdate, status: Option<OpsItemStatus>) -> Result<(), AwsError> {
        let mut request = self.client.update_ops_item().ops_item_id(id).set_status(status);
        for (k, v) in &update.data {
            request = request.operational_data(k, data(v, OpsItemDataType::String));
        }
        request.send().await.classify("UpdateOpsItem").map_err(ops_class)?;
        Ok(())
    }
}

#[async_trait]
impl Tickets for OpsItemTickets {
    async fn open(&self, t: &TicketOpen) -> Result<String, AwsError> {
        use aws_sdk_ssm::operation::create_ops_item::CreateOpsItemError;
        let dedup = serde_json::json!({ "dedupString": t.dedup }).to_string();
        let mut request = self
            .client
            .create_ops_item()
            .title(&t.title)
            .description(&t.description)
            .source(&t.source)
            .severity(&t.severity)
            .priority(t.priority)
            .category(&t.category)
            .operational_data("/aws/dedup", data(&dedup, OpsItemDataType::SearchableString));
        for (k, v) in &t.data {
            request = request.operational_data(k, data(v, OpsItemDataType::SearchableString));
        }
        match request.send().await {
            Ok(out) => out.ops_item_id.ok_or_else(|| {
                AwsError::new(ErrorClass::Unclassified, "CreateOpsItem", format!("no OpsItem id for `{}`", t.dedup))
            }),
            Err(e) => {
                // The dedup string matched an open OpsItem: that one is the ticket.
                if let Some(CreateOpsItemError::OpsItemAlreadyExistsException(x)) = e.as_service_error()
                    && let Some(id) = x.ops_item_id()
                {
                    return Ok(id.to_string());
                }
                Err(ops_class(classify("CreateOpsItem", e)))
            }
        }
    }

    async fn update(&self, id: &str, update: &TicketUpdate) -> Result<(), AwsError> {
        self.write(id, update, None).await
    }

    async fn resolve(&self, id: &str, update: &TicketUpdate) -> Result<(), AwsError> {
        self.write(id, update, Some(OpsItemStatus::Resolved)).await
    }
}

/// `incident#<env>#<account>#<name>` / `incident`: the last incident of an alarm or burn pair.
#[derive(Debug, Serialize, Deserialize)]
struct IncidentItem {
    pk: String,
    sk: String,
    environment: String,
    account: String,
    name: String,
    episode: u32,
    dedup_key: String,
    status: IncidentStatus,
    channel: Channel,
    opened_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resolved_at: Option<DateTime<Utc>>,
    updates: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ops_item: Option<String>,
    #[serde(default)]
    applied: BTreeMap<String, DateTime<Utc>>,
    version: u64,
    #[serde(default)]
    writer: String,
    /// Set once resolved (TTL): an open incident is never forgotten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

const SK: &str = "incident";

fn pk(key: &IncidentKey) -> String {
    format!("incident#{}#{}#{}", key.environment, key.account, key.name)
}

/// The incidents' records in the guard table (`pk`, `sk`, TTL on `expires_at`), beside the other flows' items.
#[derive(Debug, Clone)]
pub struct GuardIncidents {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl GuardIncidents {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        GuardIncidents { client, table: table.into() }
    }
}

#[async_trait]
impl Incidents for GuardIncidents {
    async fn get(&self, key: &IncidentKey) -> Result<Option<IncidentRecord>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk(key)))
            .key("sk", AttributeValue::S(SK.into()))
            // The decision reads what the last write left: a stale read would open twice.
            .consistent_read(true)
            .send()
            .await
            .classify("GetItem")?;
        let Some(raw) = out.item else { return Ok(None) };
        let i: IncidentItem = serde_dynamo::from_item(raw).map_err(|e| {
            AwsError::new(ErrorClass::Unclassified, "GetItem", format!("the incident item `{}` does not read", pk(key)))
                .with_source(e)
        })?;
        Ok(Some(IncidentRecord {
            episode: i.episode,
            dedup_key: i.dedup_key,
            status: i.status,
            channel: i.channel,
            opened_at: i.opened_at,
            resolved_at: i.resolved_at,
            updates: i.updates,
            ops_item: i.ops_item,
            applied: i.applied,
            version: i.version,
            writer: i.writer,
        }))
    }

    async fn put(&self, key: &IncidentKey, r: &IncidentRecord, expected: Option<u64>) -> Result<Claim, AwsError> {
        let item = IncidentItem {
            pk: pk(key),
            sk: SK.into(),
            environment: key.environment.clone(),
            account: key.account.clone(),
            name: key.name.clone(),
            episode: r.episode,
            dedup_key: r.dedup_key.clone(),
            status: r.status,
            channel: r.channel,
            opened_at: r.opened_at,
            resolved_at: r.resolved_at,
            updates: r.updates,
            ops_item: r.ops_item.clone(),
            applied: r.applied.clone(),
            version: r.version,
            writer: r.writer.clone(),
            expires_at: r
                .resolved_at
                .filter(|_| r.status == IncidentStatus::Resolved)
                .map(|at| at.timestamp() + RESOLVED_TTL_SECONDS),
        };
        let raw: HashMap<String, AttributeValue> = serde_dynamo::to_item(&item).map_err(|e| {
            AwsError::new(
                ErrorClass::InvalidRequest,
                "PutItem",
                format!("the incident item `{}` does not map", item.pk),
            )
            .with_source(e)
        })?;
        let mut request = self.client.put_item().table_name(&self.table).set_item(Some(raw));
        request = match expected {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(version) => request
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(version.to_string())),
        };
        match request.send().await.classify("PutItem") {
            Ok(_) => Ok(Claim::Won),
            Err(e) if e.class == ErrorClass::ConditionFailed => Ok(Claim::Taken),
            Err(e) => Err(e),
        }
    }
}

/// Metric alarms of this account, by name.
#[derive(Debug, Clone)]
pub struct CloudWatchAlarmStates {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchAlarmStates {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        CloudWatchAlarmStates { client }
    }
}

#[async_trait]
impl AlarmStates for CloudWatchAlarmStates {
    async fn status(&self, alarm: &str) -> Result<Option<AlarmStatus>, AwsError> {
        use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
        let out = self
            .client
            .describe_alarms()
            .alarm_names(alarm)
            .alarm_types(AlarmType::MetricAlarm)
            .send()
            .await
            .classify("DescribeAlarms")?;
        let Some(found) = out.metric_alarms().iter().find(|a| a.alarm_name() == Some(alarm)) else { return Ok(None) };
        let state = match found.state_value() {
            Some(StateValue::Alarm) => AlarmState::Alarm,
            Some(StateValue::Ok) => AlarmState::Ok,
            Some(StateValue::InsufficientData) => AlarmState::InsufficientData,
            other => {
                return Err(AwsError::new(
                    ErrorClass::Unclassified,
                    "DescribeAlarms",
                    format!("alarm `{alarm}` is in state `{other:?}`, which on-call does not know"),
                ));
            }
        };
        // When the state last changed; older APIs report only the last update of any kind.
        let since = found
            .state_transitioned_timestamp()
            .or(found.state_updated_timestamp())
            .and_then(|t| t.to_millis().ok())
            .and_then(DateTime::<Utc>::from_timestamp_millis);
        Ok(Some(AlarmStatus { state, since }))
    }
}
