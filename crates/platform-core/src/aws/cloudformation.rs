//! The StackSet adapter: CloudFormation in the administrator account.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudformation::types::{
    Parameter, RegionConcurrencyType, StackDriftStatus, StackInstanceDetailedStatus, StackInstanceFilter,
    StackInstanceFilterName, StackInstanceStatus, StackResourceDriftStatus, StackSetOperationPreferences,
};

use crate::error::{AwsError, ClassifyExt, ErrorClass};
use crate::stacksets::{
    DetailedStatus, DriftStatus, DriftedInstance, Instance, InstanceStatus, OperationStatus, Preferences,
    ResourceDrift, StackSetDrift, StackSets,
};

fn missing(operation: &'static str, what: &str) -> AwsError {
    AwsError::new(ErrorClass::Unclassified, operation, format!("the response has no {what}"))
}

fn operation_preferences(p: Preferences) -> StackSetOperationPreferences {
    StackSetOperationPreferences::builder()
        .region_concurrency_type(RegionConcurrencyType::Parallel)
        .failure_tolerance_count(i32::try_from(p.failure_tolerance_count).unwrap_or(0))
        .max_concurrent_count(i32::try_from(p.max_concurrent_count).unwrap_or(1))
        .build()
}

fn overrides(parameters: &BTreeMap<String, String>) -> Vec<Parameter> {
    parameters.iter().map(|(k, v)| Parameter::builder().parameter_key(k).parameter_value(v).build()).collect()
}

// The SDK's enums are non-exhaustive: a value it does not know (or one added after this code)
// passes through as its string, into the port's `Other`.

fn instance_status(s: &StackInstanceStatus) -> InstanceStatus {
    match s {
        StackInstanceStatus::Current => InstanceStatus::Current,
        StackInstanceStatus::Outdated => InstanceStatus::Outdated,
        StackInstanceStatus::Inoperable => InstanceStatus::Inoperable,
        other => InstanceStatus::from(other.as_str()),
    }
}

fn detailed_status(s: &StackInstanceDetailedStatus) -> DetailedStatus {
    match s {
        StackInstanceDetailedStatus::Pending => DetailedStatus::Pending,
        StackInstanceDetailedStatus::Running => DetailedStatus::Running,
        StackInstanceDetailedStatus::Succeeded => DetailedStatus::Succeeded,
        StackInstanceDetailedStatus::Failed => DetailedStatus::Failed,
        StackInstanceDetailedStatus::Cancelled => DetailedStatus::Cancelled,
        StackInstanceDetailedStatus::Inoperable => DetailedStatus::Inoperable,
        StackInstanceDetailedStatus::SkippedSuspendedAccount => DetailedStatus::SkippedSuspendedAccount,
        StackInstanceDetailedStatus::FailedImport => DetailedStatus::FailedImport,
        other => DetailedStatus::from(other.as_str()),
    }
}

fn drift_status(s: &StackDriftStatus) -> DriftStatus {
    match s {
        StackDriftStatus::Drifted => DriftStatus::Drifted,
        StackDriftStatus::InSync => DriftStatus::InSync,
        StackDriftStatus::UnknownValue => DriftStatus::Unknown,
        StackDriftStatus::NotChecked => DriftStatus::NotChecked,
        other => DriftStatus::from(other.as_str()),
    }
}

/// A retried call with the same operation id: that operation is the one to follow.
fn same_operation<E>(
    operation: &'static str,
    e: aws_sdk_cloudformation::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
    operation_id: &str,
) -> Result<String, AwsError>
where
    E: aws_sdk_cloudformation::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let e = crate::error::classify(operation, e);
    if e.code.as_deref() == Some("OperationIdAlreadyExistsException") { Ok(operation_id.to_string()) } else { Err(e) }
}

/// StackSets in the administrator account.
#[derive(Debug, Clone)]
pub struct CloudFormationStackSets {
    client: aws_sdk_cloudformation::Client,
}

impl CloudFormationStackSets {
    pub fn new(client: aws_sdk_cloudformation::Client) -> Self {
        CloudFormationStackSets { client }
    }
}

#[async_trait]
impl StackSets for CloudFormationStackSets {
    async fn instances(&self, stack_set: &str, account: &str) -> Result<Vec<Instance>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_stack_instances()
            .stack_set_name(stack_set)
            .stack_instance_account(account)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            // Filtered again here: the account filter is a request parameter some implementations
            // (the emulator) ignore, and another account's instances must never count as ours.
            for s in page.classify("ListStackInstances")?.summaries().iter().filter(|s| s.account() == Some(account)) {
                out.push(Instance {
                    region: s.region().unwrap_or_default().to_string(),
                    // A summary without a status shows as `UNKNOWN`, as it always has in the reports.
                    status: s.status().map_or_else(|| InstanceStatus::from("UNKNOWN"), instance_status),
                    detailed: s.stack_instance_status().and_then(|d| d.detailed_status()).map(detailed_status),
                    reason: s.status_reason().map(str::to_string),
                    stack_id: s.stack_id().map(str::to_string),
                });
            }
        }
        out.sort_by(|a, b| a.region.cmp(&b.region));
        Ok(out)
    }

    async fn add_instances(
        &self,
        stack_set: &str,
        account: &str,
        regions: &[String],
        parameters: &BTreeMap<String, String>,
        preferences: Preferences,
        operation_id: &str,
    ) -> Result<String, AwsError> {
        let result = self
            .client
            .create_stack_instances()
            .stack_set_name(stack_set)
            .accounts(account)
            .set_regions(Some(regions.to_vec()))
            .set_parameter_overrides(Some(overrides(parameters)))
            .operation_preferences(operation_preferences(preferences))
            .operation_id(operation_id)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.operation_id().unwrap_or(operation_id).to_string()),
            Err(e) => same_operation("CreateStackInstances", e, operation_id),
        }
    }

    async fn update_instances(
        &self,
        stack_set: &str,
        account: &str,
        regions: &[String],
        parameters: &BTreeMap<String, String>,
        preferences: Preferences,
        operation_id: &str,
    ) -> Result<String, AwsError> {
        let result = self
            .client
            .update_stack_instances()
            .stack_set_name(stack_set)
            .accounts(account)
            .set_regions(Some(regions.to_vec()))
            // None keeps the instance's overrides (an empty list would remove them all): a
            // re-apply after drift passes none.
            .set_parameter_overrides((!parameters.is_empty()).then(|| overrides(parameters)))
            .operation_preferences(operation_preferences(preferences))
            .operation_id(operation_id)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.operation_id().unwrap_or(operation_id).to_string()),
            Err(e) => same_operation("UpdateStackInstances", e, operation_id),
        }
    }

    async fn operation(&self, stack_set: &str, operation_id: &str) -> Result<OperationStatus, AwsError> {
        self.operation_status(stack_set, operation_id).await
    }

    async fn overrides(
        &self,
        stack_set: &str,
        account: &str,
        region: &str,
    ) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let result = self
            .client
            .describe_stack_instance()
            .stack_set_name(stack_set)
            .stack_instance_account(account)
            .stack_instance_region(region)
            .send()
            .await
            .classify("DescribeStackInstance");
        let out = match result {
            Ok(out) => out,
            Err(e) if e.class == ErrorClass::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(out.stack_instance().map(|i| {
            i.parameter_overrides()
                .iter()
                .filter_map(|p| Some((p.parameter_key()?.to_string(), p.parameter_value()?.to_string())))
                .collect()
        }))
    }
}

impl CloudFormationStackSets {
    async fn operation_status(&self, stack_set: &str, operation_id: &str) -> Result<OperationStatus, AwsError> {
        let out = self
            .client
            .describe_stack_set_operation()
            .stack_set_name(stack_set)
            .operation_id(operation_id)
            .send()
            .await
            .classify("DescribeStackSetOperation")?;
        let status = out
            .stack_set_operation()
            .and_then(|o| o.status())
            .ok_or_else(|| missing("DescribeStackSetOperation", "status"))?;
        OperationStatus::from_api(status.as_str()).ok_or_else(|| {
            AwsError::new(
                ErrorClass::Unclassified,
                "DescribeStackSetOperation",
                format!("unknown operation status `{}`", status.as_str()),
            )
        })
    }
}

#[async_trait]
impl StackSetDrift for CloudFormationStackSets {
    async fn detect_drift(&self, stack_set: &str, operation_id: &str) -> Result<String, AwsError> {
        let result =
            self.client.detect_stack_set_drift().stack_set_name(stack_set).operation_id(operation_id).send().await;
        match result {
            Ok(out) => Ok(out.operation_id().unwrap_or(operation_id).to_string()),
            Err(e) => same_operation("DetectStackSetDrift", e, operation_id),
        }
    }

    async fn operation(&self, stack_set: &str, operation_id: &str) -> Result<OperationStatus, AwsError> {
        self.operation_status(stack_set, operation_id).await
    }

    async fn drifted_instances(&self, stack_set: &str) -> Result<Vec<DriftedInstance>, AwsError> {
        let filter = StackInstanceFilter::builder()
            .name(StackInstanceFilterName::DriftStatus)
            .values(StackDriftStatus::Drifted.as_str())
            .build();
        let mut pages =
            self.client.list_stack_instances().stack_set_name(stack_set).filters(filter).into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            for s in page.classify("ListStackInstances")?.summaries() {
                let drift = s.drift_status().map_or(DriftStatus::Unknown, drift_status);
                // Filtered again: the filter is a request parameter an implementation may ignore.
                if drift == DriftStatus::Drifted {
                    out.push(DriftedInstance {
                        account: s.account().unwrap_or_default().to_string(),
                        region: s.region().unwrap_or_default().to_string(),
                        drift_status: drift,
                    });
                }
            }
        }
        out.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
        Ok(out)
    }

    async fn resource_drifts(
        &self,
        stack_set: &str,
        account: &str,
        region: &str,
        operation_id: &str,
    ) -> Result<Vec<ResourceDrift>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_stack_instance_resource_drifts()
                .stack_set_name(stack_set)
                .stack_instance_account(account)
                .stack_instance_region(region)
                .operation_id(operation_id)
                .stack_instance_resource_drift_statuses(StackResourceDriftStatus::Modified)
                .stack_instance_resource_drift_statuses(StackResourceDriftStatus::Deleted)
                .set_next_token(token.take())
                .send()
                .await
                .classify("ListStackInstanceResourceDrifts")?;
            for d in page.summaries() {
                out.push(ResourceDrift {
                    logical_id: d.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: d.resource_type().unwrap_or_default().to_string(),
                    status: d.stack_resource_drift_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                    properties: d
                        .property_differences()
                        .iter()
                        .filter_map(|p| p.property_path().map(str::to_string))
                        .collect(),
                });
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }
}
