//! Provisioning what the functions write to in the emulator: buses, streams, buckets, log groups, tables, taps.

use serde_json::Value;

use super::{Runtime, RuntimeError, aws_error, context, emulator_for, template};

/// Queue name prefix where the catch-all rules copy each bus's events. (A log-group target would
/// be simpler, but moto writes those events with fractional timestamps the SDK refuses.)
const TAP_PREFIX: &str = "platform-ops-local-tap-";

impl Runtime {
    /// Event buses, delivery streams and their buckets, log groups: what the functions call.
    /// Each is created only when missing, so a second start changes nothing.
    pub(super) async fn provision(&mut self) -> Result<(), RuntimeError> {
        let events = self.ctx.client::<aws_sdk_eventbridge::Client>();
        let logs = self.ctx.client::<aws_sdk_cloudwatchlogs::Client>();
        let firehose = self.ctx.client::<aws_sdk_firehose::Client>();
        let mut buses = vec!["default".to_string()];
        let mut log_groups = Vec::new();
        let mut https = Vec::new();
        for (id, kind) in &self.template.resources {
            let props = self.template.properties.get(id).cloned().unwrap_or(Value::Null);
            let text = |k: &str| props.get(k).and_then(Value::as_str).map(str::to_string);
            match kind.as_str() {
                "AWS::Events::EventBus" => {
                    let name = text("Name").unwrap_or_else(|| format!("{}-{id}", template::STACK));
                    let exists = events.describe_event_bus().name(&name).send().await.is_ok();
                    if !exists {
                        events
                            .create_event_bus()
                            .name(&name)
                            .send()
                            .await
                            .map_err(|e| aws_error("CreateEventBus")(context(&e)))?;
                    }
                    buses.push(name);
                }
                "AWS::Logs::LogGroup" => log_groups.extend(text("LogGroupName")),
                "AWS::SNS::Subscription" if text("Protocol").as_deref() == Some("https") => {
                    https.extend(text("TopicArn").zip(text("Endpoint")));
                }
                "AWS::SNS::Topic" => {
                    let name = text("TopicName").unwrap_or_else(|| format!("{}-{id}", template::STACK));
                    // CreateTopic is idempotent for an existing name.
                    self.ctx
                        .client::<aws_sdk_sns::Client>()
                        .create_topic()
                        .name(&name)
                        .send()
                        .await
                        .map_err(|e| aws_error("CreateTopic")(context(&e)))?;
                }
                "AWS::Route53::HostedZone" => {
                    if let Some(name) = text("Name") {
                        self.ensure_zone(&name).await?;
                    }
                }
                "AWS::DynamoDB::Table" => {
                    let name = text("TableName").unwrap_or_else(|| format!("{}-{id}", template::STACK));
                    self.create_table(&name, &props).await?;
                }
                "AWS::S3::Bucket" => {
                    if let Some(bucket) = text("BucketName") {
                        let emulator = emulator_for(&self.ctx)?;
                        emulator.create_bucket(&bucket).map_err(|e| aws_error("CreateBucket")(context(&e)))?;
                    }
                }
                "AWS::KinesisFirehose::DeliveryStream" => {
                    let name = text("DeliveryStreamName").unwrap_or_else(|| format!("{}-{id}", template::STACK));
                    let destination = props.get("ExtendedS3DestinationConfiguration").cloned().unwrap_or(Value::Null);
                    let bucket_arn =
                        destination.get("BucketARN").and_then(Value::as_str).unwrap_or_default().to_string();
                    let bucket = bucket_arn.trim_start_matches("arn:aws:s3:::").to_string();
                    let emulator = emulator_for(&self.ctx)?;
                    emulator.create_bucket(&bucket).map_err(|e| aws_error("CreateBucket")(context(&e)))?;
                    let s3 = aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
                        .bucket_arn(&bucket_arn)
                        .role_arn(destination.get("RoleARN").and_then(Value::as_str).unwrap_or_default())
                        .prefix("logs/")
                        .build()
                        .map_err(|e| RuntimeError::Invalid(e.to_string()))?;
                    let created = firehose
                        .create_delivery_stream()
                        .delivery_stream_name(&name)
                        .extended_s3_destination_configuration(s3)
                        .send()
                        .await;
                    // Already there from an earlier start: nothing to do.
                    if let Err(e) = created
                        && !e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception())
                    {
                        return Err(aws_error("CreateDeliveryStream")(context(&e)));
                    }
                }
                _ => {}
            }
        }
        // An HTTPS subscription leaves the loopback (the paging provider): the local receiver
        // stands in for it, playing the provider the endpoint names. The only substitution.
        for (topic, endpoint) in https {
            let url =
                if endpoint.contains("opsgenie") { self.pager.opsgenie_url() } else { self.pager.pagerduty_url() };
            self.ctx
                .client::<aws_sdk_sns::Client>()
                .subscribe()
                .topic_arn(&topic)
                .protocol("http")
                .endpoint(&url)
                .attributes("RawMessageDelivery", "true")
                .send()
                .await
                .map_err(|e| aws_error("Subscribe")(context(&e)))?;
        }
        for group in log_groups {
            let exists = logs
                .describe_log_groups()
                .log_group_name_prefix(&group)
                .send()
                .await
                .map(|r| r.log_groups().iter().any(|g| g.log_group_name() == Some(group.as_str())))
                .unwrap_or(false);
            if !exists {
                logs.create_log_group()
                    .log_group_name(&group)
                    .send()
                    .await
                    .map_err(|e| aws_error("CreateLogGroup")(context(&e)))?;
            }
        }
        // The tap: every event on each bus is copied to a queue the runtime reads back.
        let sqs = self.ctx.client::<aws_sdk_sqs::Client>();
        for bus in &buses {
            let queue = format!("{TAP_PREFIX}{bus}");
            let url = sqs
                .create_queue()
                .queue_name(&queue)
                .send()
                .await
                .map_err(|e| aws_error("CreateQueue")(context(&e)))?
                .queue_url()
                .unwrap_or_default()
                .to_string();
            self.taps.push((bus.clone(), url));
            events
                .put_rule()
                .name("platform-ops-local-tap")
                .event_bus_name(bus)
                .event_pattern(r#"{"source":[{"prefix":""}]}"#)
                .send()
                .await
                .map_err(|e| aws_error("PutRule")(context(&e)))?;
            let target = aws_sdk_eventbridge::types::Target::builder()
                .id("tap")
                .arn(format!("arn:aws:sqs:{}:{}:{queue}", template::REGION, template::ACCOUNT))
                .build()
                .map_err(|e| RuntimeError::Invalid(e.to_string()))?;
            events
                .put_targets()
                .rule("platform-ops-local-tap")
                .event_bus_name(bus)
                .targets(target)
                .send()
                .await
                .map_err(|e| aws_error("PutTargets")(context(&e)))?;
        }
        self.buses = buses;
        Ok(())
    }

    /// A table as the template declares its keys; on-demand billing whatever the template says
    /// (the emulator does not meter).
    async fn create_table(&self, name: &str, props: &Value) -> Result<(), RuntimeError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let client = self.ctx.client::<aws_sdk_dynamodb::Client>();
        if client.describe_table().table_name(name).send().await.is_ok() {
            return Ok(());
        }
        let list = |k: &str| props.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
        let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let mut request = client.create_table().table_name(name).billing_mode(BillingMode::PayPerRequest);
        for a in list("AttributeDefinitions") {
            let definition = AttributeDefinition::builder()
                .attribute_name(str_of(&a, "AttributeName"))
                .attribute_type(ScalarAttributeType::from(str_of(&a, "AttributeType").as_str()))
                .build()
                .map_err(|e| RuntimeError::Invalid(format!("table {name}: {e}")))?;
            request = request.attribute_definitions(definition);
        }
        for k in list("KeySchema") {
            let key = KeySchemaElement::builder()
                .attribute_name(str_of(&k, "AttributeName"))
                .key_type(KeyType::from(str_of(&k, "KeyType").as_str()))
                .build()
                .map_err(|e| RuntimeError::Invalid(format!("table {name}: {e}")))?;
            request = request.key_schema(key);
        }
        request.send().await.map_err(|e| aws_error("CreateTable")(context(&e)))?;
        Ok(())
    }
}

impl Runtime {
    /// A public hosted zone named `name`, created only when this account has none of that name.
    async fn ensure_zone(&self, name: &str) -> Result<(), RuntimeError> {
        let route53 = self.ctx.client::<aws_sdk_route53::Client>();
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let zones = route53
            .list_hosted_zones_by_name()
            .dns_name(&fqdn)
            .send()
            .await
            .map_err(|e| aws_error("ListHostedZonesByName")(context(&e)))?;
        if zones.hosted_zones().iter().any(|z| z.name() == fqdn) {
            return Ok(());
        }
        route53
            .create_hosted_zone()
            .name(name)
            .caller_reference(format!("platform-ops-local-{name}"))
            .send()
            .await
            .map_err(|e| aws_error("CreateHostedZone")(context(&e)))?;
        Ok(())
    }
}
