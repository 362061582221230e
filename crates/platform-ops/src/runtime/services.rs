//! Step Functions' optimized service integrations, carried out through the SDK against the emulator.

// Parameters and results use the shapes Step Functions uses (the services' API JSON, PascalCase),
// and errors are named as Step Functions names them (`DynamoDB.ConditionalCheckFailedException`,
// `SNS.NotFoundException`, ...), so Retry and Catch in a definition behave the same locally.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value, json};

use asl::Failure;

use platform_core::aws::AwsContext;

/// The integrations the runtime carries out.
pub const SUPPORTED: &[&str] =
    &["events:putEvents", "sns:publish", "dynamodb:putItem", "dynamodb:getItem", "dynamodb:updateItem"];

fn field<'a>(p: &'a Value, name: &str, service: &str) -> Result<&'a Value, Failure> {
    p.get(name).ok_or_else(|| Failure::new("States.Runtime", format!("{service}: Parameters.{name} is required")))
}

fn text(p: &Value, name: &str, service: &str) -> Result<String, Failure> {
    match field(p, name, service)? {
        Value::String(s) => Ok(s.clone()),
        other => Ok(other.to_string()),
    }
}

/// An SDK error as Step Functions reports it: `<Service>.<ErrorCode>`, the message as the cause.
fn sdk_failure<E, R>(service: &str, e: aws_sdk_dynamodb::error::SdkError<E, R>) -> Failure
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = e.code().unwrap_or("ServiceException").to_string();
    let message = e
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| aws_smithy_types::error::display::DisplayErrorContext(&e).to_string());
    Failure::new(format!("{service}.{code}"), message)
}

fn metadata() -> Value {
    json!({"SdkHttpMetadata": {"HttpStatusCode": 200}, "SdkResponseMetadata": {"RequestId": uuid::Uuid::new_v4().to_string()}})
}

fn with_metadata(mut v: Value) -> Value {
    if let (Value::Object(out), Value::Object(meta)) = (&mut v, metadata()) {
        out.extend(meta);
    }
    v
}

/// Carries out `service:action` with `ctx`'s clients (the runtime's recorded ones).
pub async fn call(ctx: &AwsContext, service: &str, action: &str, p: &Value) -> Result<Value, Failure> {
    match (service, action) {
        ("events", "putEvents") => put_events(ctx.client::<aws_sdk_eventbridge::Client>(), p).await,
        ("sns", "publish") => publish(ctx.client::<aws_sdk_sns::Client>(), p).await,
        ("dynamodb", "putItem" | "getItem" | "updateItem") => {
            dynamodb(ctx.client::<aws_sdk_dynamodb::Client>(), action, p).await
        }
        _ => Err(Failure::new(
            "States.Runtime",
            format!("the local runtime does not carry out {service}:{action} (it does: {})", SUPPORTED.join(", ")),
        )),
    }
}

async fn put_events(client: aws_sdk_eventbridge::Client, p: &Value) -> Result<Value, Failure> {
    let entries = field(p, "Entries", "events:putEvents")?
        .as_array()
        .ok_or_else(|| Failure::new("States.Runtime", "events:putEvents: Entries must be an array"))?;
    let mut request = client.put_events();
    for e in entries {
        let detail = match e.get("Detail") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => "{}".into(),
        };
        let str_of = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
        request = request.entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .set_source(str_of("Source"))
                .set_detail_type(str_of("DetailType"))
                .set_event_bus_name(str_of("EventBusName"))
                .detail(detail)
                .build(),
        );
    }
    let out = request.send().await.map_err(|e| sdk_failure("EventBridge", e))?;
    let entries: Vec<Value> = out
        .entries()
        .iter()
        .map(|e| match e.event_id() {
            Some(id) => json!({"EventId": id}),
            None => json!({"ErrorCode": e.error_code(), "ErrorMessage": e.error_message()}),
        })
        .collect();
    Ok(with_metadata(json!({"Entries": entries, "FailedEntryCount": out.failed_entry_count()})))
}

async fn publish(client: aws_sdk_sns::Client, p: &Value) -> Result<Value, Failure> {
    let topic = text(p, "TopicArn", "sns:publish")?;
    let message = text(p, "Message", "sns:publish")?;
    let subject = p.get("Subject").and_then(Value::as_str).map(str::to_string);
    let out = client
        .publish()
        .topic_arn(topic)
        .message(message)
        .set_subject(subject)
        .send()
        .await
        .map_err(|e| sdk_failure("SNS", e))?;
    Ok(with_metadata(json!({"MessageId": out.message_id()})))
}

async fn dynamodb(client: aws_sdk_dynamodb::Client, action: &str, p: &Value) -> Result<Value, Failure> {
    let service = format!("dynamodb:{action}");
    let table = text(p, "TableName", &service)?;
    let strings = |k: &str| -> Option<HashMap<String, String>> {
        p.get(k)
            .and_then(Value::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
    };
    let values = |k: &str| -> Result<Option<HashMap<String, AttributeValue>>, Failure> {
        p.get(k).map(|v| item_from_json(v, &service, k)).transpose()
    };
    let opt = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
    match action {
        "putItem" => {
            let out = client
                .put_item()
                .table_name(table)
                .set_item(values("Item")?)
                .set_condition_expression(opt("ConditionExpression"))
                .set_expression_attribute_names(strings("ExpressionAttributeNames"))
                .set_expression_attribute_values(values("ExpressionAttributeValues")?)
                .send()
                .await
                .map_err(|e| sdk_failure("DynamoDB", e))?;
            Ok(with_metadata(attributes(out.attributes())))
        }
        "getItem" => {
            let out = client
                .get_item()
                .table_name(table)
                .set_key(values("Key")?)
                .set_consistent_read(p.get("ConsistentRead").and_then(Value::as_bool))
                .set_projection_expression(opt("ProjectionExpression"))
                .set_expression_attribute_names(strings("ExpressionAttributeNames"))
                .send()
                .await
                .map_err(|e| sdk_failure("DynamoDB", e))?;
            let mut result = Map::new();
            if let Some(item) = out.item() {
                result.insert("Item".into(), item_to_json(item));
            }
            Ok(with_metadata(Value::Object(result)))
        }
        _ => {
            let return_values = opt("ReturnValues").map(|r| aws_sdk_dynamodb::types::ReturnValue::from(r.as_str()));
            let out = client
                .update_item()
                .table_name(table)
                .set_key(values("Key")?)
                .set_update_expression(opt("UpdateExpression"))
                .set_condition_expression(opt("ConditionExpression"))
                .set_expression_attribute_names(strings("ExpressionAttributeNames"))
                .set_expression_attribute_values(values("ExpressionAttributeValues")?)
                .set_return_values(return_values)
                .send()
                .await
                .map_err(|e| sdk_failure("DynamoDB", e))?;
            Ok(with_metadata(attributes(out.attributes())))
        }
    }
}

/// `{"Attributes": ...}` when the call returned any, `{}` otherwise.
fn attributes(a: Option<&HashMap<String, AttributeValue>>) -> Value {
    let mut result = Map::new();
    if let Some(a) = a {
        result.insert("Attributes".into(), item_to_json(a));
    }
    Value::Object(result)
}

/// `{"pk": {"S": "x"}, "n": {"N": "1"}}` (DynamoDB JSON, as Step Functions passes it) to the SDK.
fn item_from_json(v: &Value, service: &str, field: &str) -> Result<HashMap<String, AttributeValue>, Failure> {
    let map =
        v.as_object().ok_or_else(|| Failure::new("States.Runtime", format!("{service}: {field} must be an object")))?;
    map.iter()
        .map(|(k, v)| {
            Ok((
                k.clone(),
                attribute(v).map_err(|m| Failure::new("States.Runtime", format!("{service}: {field}.{k}: {m}")))?,
            ))
        })
        .collect()
}

fn attribute(v: &Value) -> Result<AttributeValue, String> {
    let obj = v
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| format!("{v} is not a typed attribute like {{\"S\": ...}}"))?;
    let (kind, inner) = obj.iter().next().ok_or("empty attribute")?;
    let string = |x: &Value| x.as_str().map(str::to_string).ok_or_else(|| format!("{kind} takes a string"));
    let strings = |x: &Value| -> Result<Vec<String>, String> {
        x.as_array().ok_or_else(|| format!("{kind} takes an array"))?.iter().map(string).collect()
    };
    Ok(match kind.as_str() {
        "S" => AttributeValue::S(string(inner)?),
        // Step Functions passes numbers as strings, but a number is accepted too.
        "N" => AttributeValue::N(match inner {
            Value::Number(n) => n.to_string(),
            other => string(other)?,
        }),
        "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or("BOOL takes true or false")?),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(strings(inner)?),
        "NS" => AttributeValue::Ns(strings(inner)?),
        "L" => AttributeValue::L(
            inner.as_array().ok_or("L takes an array")?.iter().map(attribute).collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(
            inner
                .as_object()
                .ok_or("M takes an object")?
                .iter()
                .map(|(k, v)| Ok((k.clone(), attribute(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => return Err(format!("attribute type `{other}` is not supported (S, N, BOOL, NULL, SS, NS, L, M)")),
    })
}

fn item_to_json(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(item.iter().map(|(k, v)| (k.clone(), attribute_to_json(v))).collect())
}

fn attribute_to_json(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(_) => json!({"NULL": true}),
        AttributeValue::Ss(s) => json!({"SS": s}),
        AttributeValue::Ns(s) => json!({"NS": s}),
        AttributeValue::L(l) => json!({"L": l.iter().map(attribute_to_json).collect::<Vec<_>>()}),
        AttributeValue::M(m) => json!({"M": item_to_json(m)}),
        other => json!({"unsupported": format!("{other:?}")}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamodb_json_round_trips() {
        let item = json!({"pk": {"S": "lock#deploy"}, "n": {"N": "3"}, "ok": {"BOOL": true}, "tags": {"SS": ["a"]},
                          "nested": {"M": {"l": {"L": [{"S": "x"}, {"NULL": true}]}}}});
        let sdk = item_from_json(&item, "dynamodb:putItem", "Item").expect("converts");
        assert_eq!(item_to_json(&sdk), item);
        assert!(item_from_json(&json!({"pk": "bare"}), "dynamodb:putItem", "Item").is_err());
        assert!(item_from_json(&json!({"pk": {"X": "1"}}), "dynamodb:putItem", "Item").is_err());
    }
}
