//! The adapters: the ledger over Parameter Store, alarm states from CloudWatch, the plan to S3.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::StateValue;
use platform_core::error::{AwsError, ClassifyExt, ErrorClass};
use platform_core::ports::ParameterStore;
use platform_core::release::Release;
use serde::Deserialize;
use serde_json::Value;

use crate::gate::FleetOutcome;
use crate::plan::{AccountFacts, Running};
use crate::ports::{AlarmStates, FleetLedger, PlanReports};

/// Platform deploy's ledger, read with its own parameter names (`platform_deploy::ledger`), and
/// `<prefix>/<env>/fleet/<release>`: the fleet release's outcome, what promotion asks.
#[derive(Debug, Clone)]
pub struct SsmFleetLedger {
    store: Arc<dyn ParameterStore>,
    prefix: String,
}

impl SsmFleetLedger {
    pub fn new(store: Arc<dyn ParameterStore>, prefix: impl Into<String>) -> Self {
        SsmFleetLedger { store, prefix: prefix.into() }
    }

    async fn one(&self, name: String) -> Result<Option<String>, AwsError> {
        Ok(self.store.get_many(std::slice::from_ref(&name)).await?.remove(&name))
    }

    fn read<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<T, AwsError> {
        serde_json::from_str(text).map_err(|e| {
            AwsError::new(ErrorClass::InvalidRequest, "GetParameters", format!("parameter {name} does not read"))
                .with_source(e)
        })
    }
}

/// What the fleet reads of an account's record: the release it runs and its tags.
#[derive(Debug, Deserialize)]
struct RecordView {
    name: String,
    #[serde(default)]
    tags: std::collections::BTreeMap<String, String>,
}

#[async_trait]
impl FleetLedger for SsmFleetLedger {
    async fn published(&self, environment: &str, release: &str) -> Result<Option<Release>, AwsError> {
        let name = format!("{}/{environment}/releases/{release}", self.prefix);
        self.one(name.clone()).await?.map(|t| Self::read(&name, &t)).transpose()
    }

    async fn environment_release(&self, environment: &str) -> Result<Option<String>, AwsError> {
        self.one(format!("{}/{environment}/current-release", self.prefix)).await
    }

    async fn accounts(&self, environment: &str) -> Result<Vec<String>, AwsError> {
        platform_core::trust::vended_accounts(self.store.as_ref(), &self.prefix, environment).await
    }

    async fn facts(&self, environment: &str, account: &str) -> Result<AccountFacts, AwsError> {
        let root = format!("{}/accounts/{environment}/{account}", self.prefix);
        let names = [format!("{root}/client"), format!("{root}/release")];
        let mut found = self.store.get_many(&names).await?;
        let current = found
            .remove(&names[1])
            .map(|t| Self::read::<RecordView>(&names[1], &t))
            .transpose()?
            .map(|r| Running { name: r.name, tags: r.tags });
        Ok(AccountFacts {
            account: account.to_string(),
            client: found.remove(&names[0]),
            current,
            infrastructure: Default::default(),
        })
    }

    async fn outcome(&self, environment: &str, release: &str) -> Result<Option<FleetOutcome>, AwsError> {
        let name = format!("{}/{environment}/fleet/{release}", self.prefix);
        self.one(name.clone()).await?.map(|t| Self::read(&name, &t)).transpose()
    }

    async fn record_outcome(&self, environment: &str, outcome: &FleetOutcome) -> Result<(), AwsError> {
        let name = format!("{}/{environment}/fleet/{}", self.prefix, outcome.release);
        let text = serde_json::to_string(outcome).map_err(|e| {
            AwsError::new(ErrorClass::InvalidRequest, "PutParameter", format!("outcome for {name}")).with_source(e)
        })?;
        self.store.put(&name, &text, true).await
    }
}

/// The monitoring account's alarms (this account's CloudWatch: the per-account alarms live here).
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
    async fn alarming(&self, prefix: &str) -> Result<Vec<String>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .state_value(StateValue::Alarm)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.classify("DescribeAlarms")?;
            // The state is checked here too: the filter is a request, and a store that ignores
            // it (the emulator does, with a prefix) must not make every alarm a failed bake.
            let alarm = Some(&StateValue::Alarm);
            out.extend(
                page.metric_alarms()
                    .iter()
                    .filter(|a| a.state_value() == alarm)
                    .filter_map(|a| a.alarm_name().map(str::to_string)),
            );
            out.extend(
                page.composite_alarms()
                    .iter()
                    .filter(|a| a.state_value() == alarm)
                    .filter_map(|a| a.alarm_name().map(str::to_string)),
            );
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

#[derive(Debug, Clone)]
pub struct S3PlanReports {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3PlanReports {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3PlanReports { client, bucket: bucket.into() }
    }
}

#[async_trait]
impl PlanReports for S3PlanReports {
    async fn put(&self, key: &str, report: &Value) -> Result<(), AwsError> {
        let body = serde_json::to_vec_pretty(report).map_err(|e| {
            AwsError::new(ErrorClass::InvalidRequest, "PutObject", format!("plan {key}")).with_source(e)
        })?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(body.into())
            .send()
            .await
            .classify("PutObject")?;
        Ok(())
    }
}
