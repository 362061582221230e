//! `platform-ops schedule run` and `platform-ops inventory`: the schedules, run by hand.

use aws_config::SdkConfig;
use chrono::{DateTime, SecondsFormat, Utc};
use platform_core::error::{AwsError, ClassifyExt, ErrorClass};
use serde_json::{Value, json};

/// The key of the latest inventory report in the report bucket: `inventory/latest.<ext>`.
pub fn latest_inventory(ext: &str) -> String {
    format!("{}/latest.{ext}", scheduled_ops::inventory::PREFIX)
}

/// One of the three schedules of `template.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Schedule {
    /// Nightly StackSet drift detection (the drift-detection state machine).
    Drift,
    /// Off-hours scaling of non-production nodegroups (scheduled-ops, every 15 minutes).
    OffHours,
    /// The daily inventory report (scheduled-ops).
    Inventory,
}

impl Schedule {
    /// The template's ScheduleV2 event that runs this schedule.
    pub fn template_event(self) -> &'static str {
        match self {
            Schedule::Drift => "Nightly",
            Schedule::OffHours => "OffHours",
            Schedule::Inventory => "Inventory",
        }
    }

    /// What the schedule sends its target, as EventBridge Scheduler would at `at`: the
    /// scheduled-ops request, or `{}` for the drift state machine.
    pub fn input(self, at: DateTime<Utc>) -> Value {
        let now = at.to_rfc3339_opts(SecondsFormat::Secs, true);
        match self {
            Schedule::Drift => json!({}),
            Schedule::OffHours => json!({"action": "off-hours", "now": now}),
            Schedule::Inventory => json!({"action": "inventory", "now": now}),
        }
    }
}

/// The AWS names of one platform-ops deployment (`abc-trading-<deployment>`), as template.yaml
/// gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    prefix: String,
}

impl Deployment {
    /// `prefix` is the deployment's resource prefix, `abc-trading-dev` for `dev`.
    pub fn new(prefix: impl Into<String>) -> Deployment {
        Deployment { prefix: prefix.into() }
    }

    pub fn scheduled_ops_function(&self) -> String {
        format!("{}-scheduled-ops", self.prefix)
    }

    pub fn drift_machine_arn(&self, partition: &str, region: &str, account: &str) -> String {
        format!("arn:{partition}:states:{region}:{account}:stateMachine:{}-drift-detection", self.prefix)
    }

    pub fn report_bucket(&self, account: &str) -> String {
        format!("{}-reports-{account}", self.prefix)
    }
}

/// The caller's account and partition, from its ARN (`arn:<partition>:sts::<account>:...`).
fn caller(arn: &str) -> Result<(String, String), AwsError> {
    let mut parts = arn.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(partition), _, _, Some(account)) if !partition.is_empty() && !account.is_empty() => {
            Ok((partition.to_string(), account.to_string()))
        }
        _ => Err(AwsError::new(
            ErrorClass::InvalidRequest,
            "GetCallerIdentity",
            format!("unexpected caller arn `{arn}`"),
        )),
    }
}

async fn whoami(sdk: &SdkConfig) -> Result<(String, String), AwsError> {
    let id = aws_sdk_sts::Client::new(sdk).get_caller_identity().send().await.classify("GetCallerIdentity")?;
    caller(id.arn().unwrap_or_default())
}

/// A manual run's execution name: the moment, so a second run of the same moment is the same
/// execution rather than a second detection.
pub fn manual_execution_name(schedule: Schedule, at: DateTime<Utc>) -> String {
    format!("manual-{:?}-{}", schedule, at.format("%Y%m%dT%H%M%SZ")).to_lowercase()
}

/// What a manual run on AWS started or returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Started {
    /// The drift-detection execution (it runs for minutes: follow it in Step Functions).
    Execution { arn: String, already: bool },
    /// scheduled-ops' result for off-hours or inventory.
    Invoked { function: String, output: Value },
}

/// Runs a schedule on real AWS as its schedule would: drift starts the state machine,
/// off-hours and inventory invoke scheduled-ops synchronously.
pub async fn run_on_aws(
    sdk: &SdkConfig,
    deployment: &Deployment,
    schedule: Schedule,
    at: DateTime<Utc>,
) -> Result<Started, AwsError> {
    match schedule {
        Schedule::Drift => {
            let (partition, account) = whoami(sdk).await?;
            let region = sdk.region().map(|r| r.to_string()).ok_or_else(|| {
                AwsError::new(ErrorClass::InvalidRequest, "StartExecution", "no AWS region configured (AWS_REGION)")
            })?;
            let arn = deployment.drift_machine_arn(&partition, &region, &account);
            let name = manual_execution_name(schedule, at);
            start_execution(&aws_sdk_sfn::Client::new(sdk), &arn, &name, &schedule.input(at)).await
        }
        Schedule::OffHours | Schedule::Inventory => {
            let function = deployment.scheduled_ops_function();
            let output = invoke(&aws_sdk_lambda::Client::new(sdk), &function, &schedule.input(at)).await?;
            Ok(Started::Invoked { function, output })
        }
    }
}

/// StartExecution, where an execution of the same name already started is that run.
pub async fn start_execution(
    sfn: &aws_sdk_sfn::Client,
    machine: &str,
    name: &str,
    input: &Value,
) -> Result<Started, AwsError> {
    match sfn.start_execution().state_machine_arn(machine).name(name).input(input.to_string()).send().await {
        Ok(out) => Ok(Started::Execution { arn: out.execution_arn().to_string(), already: false }),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_execution_already_exists()) => {
            let arn = format!("{}:{name}", machine.replacen(":stateMachine:", ":execution:", 1));
            Ok(Started::Execution { arn, already: true })
        }
        Err(e) => Err(e).classify("StartExecution"),
    }
}

/// A synchronous invocation; a function error is an error here, with the function's own words.
pub async fn invoke(lambda: &aws_sdk_lambda::Client, function: &str, input: &Value) -> Result<Value, AwsError> {
    let out = lambda
        .invoke()
        .function_name(function)
        .payload(aws_sdk_lambda::primitives::Blob::new(input.to_string()))
        .send()
        .await
        .classify("Invoke")?;
    let payload = out.payload().map(|b| b.as_ref().to_vec()).unwrap_or_default();
    let text = String::from_utf8_lossy(&payload);
    let value: Value =
        if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(json!(text)) };
    match out.function_error() {
        Some(kind) => Err(AwsError::new(
            ErrorClass::InvalidRequest,
            "Invoke",
            format!(
                "{function} failed ({kind}): {} {}",
                value["errorType"].as_str().unwrap_or_default(),
                value["errorMessage"].as_str().unwrap_or(&text)
            ),
        )),
        None => Ok(value),
    }
}

/// The latest inventory's Markdown from the deployment's report bucket.
pub async fn latest_inventory_on_aws(sdk: &SdkConfig, deployment: &Deployment) -> Result<String, AwsError> {
    let (_, account) = whoami(sdk).await?;
    read_text(&aws_sdk_s3::Client::new(sdk), &deployment.report_bucket(&account), &latest_inventory("md")).await
}

/// An object's body as text.
pub async fn read_text(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<String, AwsError> {
    let out = s3.get_object().bucket(bucket).key(key).send().await.classify("GetObject")?;
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| AwsError::new(ErrorClass::Transient, "GetObject", format!("s3://{bucket}/{key}: {e}")))?
        .into_bytes();
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        AwsError::new(ErrorClass::InvalidRequest, "GetObject", format!("s3://{bucket}/{key} is not UTF-8"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_schedule_sends_what_its_template_event_sends() {
        let at = "2026-11-24T18:15:00Z".parse().expect("time");
        assert_eq!(Schedule::Drift.input(at), json!({}));
        assert_eq!(Schedule::OffHours.input(at), json!({"action": "off-hours", "now": "2026-11-24T18:15:00Z"}));
        assert_eq!(Schedule::Inventory.input(at)["action"], "inventory");
    }

    #[test]
    fn names_follow_the_template() {
        let d = Deployment::new("abc-trading-dev");
        assert_eq!(d.scheduled_ops_function(), "abc-trading-dev-scheduled-ops");
        assert_eq!(d.report_bucket("123456789012"), "abc-trading-dev-reports-123456789012");
        assert_eq!(
            d.drift_machine_arn("aws", "us-east-1", "123456789012"),
            "arn:aws:states:us-east-1:123456789012:stateMachine:abc-trading-dev-drift-detection"
        );
        let at = "2026-11-24T02:00:00Z".parse().expect("time");
        assert_eq!(manual_execution_name(Schedule::OffHours, at), "manual-offhours-20261124t020000z");
    }

    #[test]
    fn the_caller_arn_names_partition_and_account() {
        assert_eq!(
            caller("arn:aws-us-gov:sts::123456789012:assumed-role/x/y").expect("arn"),
            ("aws-us-gov".to_string(), "123456789012".to_string())
        );
        let bad = caller("not-an-arn").expect_err("bad arn");
        assert!(bad.to_string().contains("not-an-arn"), "{bad}");
    }
}
