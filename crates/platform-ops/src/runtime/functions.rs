//! The function crates, called in process with the environment the template gives them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_config::SdkConfig;
use serde_json::Value;

use asl::Failure;

use super::calls::CallLog;

/// An SDK client on `sdk` whose calls the runtime records (`calls`: the interceptor).
macro_rules! recorded {
    ($sdk_crate:ident, $sdk:expr, $calls:ident) => {
        $sdk_crate::Client::from_conf($sdk_crate::config::Builder::from($sdk).interceptor($calls.clone()).build())
    };
}

/// One invocation's result, as `sam local invoke` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Invocation {
    pub output: Value,
    /// EMF documents the function printed.
    pub metrics: Vec<Value>,
}

/// A Lambda function's handler, run in this process against the emulator.
#[async_trait]
pub trait LocalFunction: Send + Sync + std::fmt::Debug {
    async fn invoke(&self, event: Value) -> Result<Invocation, Failure>;
}

#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    #[error(
        "function binary `{0}` has no in-process handler in the local runtime (known: log-processor, alarm-scaler, account-vending, platform-deploy, scheduled-ops)"
    )]
    Unknown(String),
    #[error("function `{function}`: environment variable {name} is not set by the template")]
    MissingVariable { function: String, name: String },
    #[error("function `{function}` failed to start: {message}")]
    Init { function: String, message: String },
}

/// Sessions of a role in other accounts, as `caller`, through one STS client that records its
/// calls: what each function's `main.rs` builds with `AwsContext::member_sessions`.
fn role_sessions<'a>(
    sdk: &SdkConfig,
    calls: &CallLog,
    caller: &'a str,
) -> impl Fn(String) -> Arc<platform_core::sessions::MemberSessions> + 'a {
    use platform_core::sessions::{MemberSessions, SessionSettings};
    let sts = recorded!(aws_sdk_sts, sdk, calls);
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
    let assumer = Arc::new(platform_core::aws::StsRoleAssumer::new(sts));
    move |role: String| {
        Arc::new(MemberSessions::new(
            assumer.clone(),
            Arc::new(platform_core::ports::SystemClock),
            SessionSettings::new(role, caller, &region),
        ))
    }
}

/// Builds the handler for `binary` the way its `main.rs` does, from `environment`.
/// The SDK clients the function gets record their calls in `calls`; a function that reads the
/// published config tree gets the repository's (`root`/config, which the world publishes).
pub fn build(
    binary: &str,
    environment: &BTreeMap<String, String>,
    sdk: &SdkConfig,
    calls: &CallLog,
    root: &std::path::Path,
) -> Result<Arc<dyn LocalFunction>, FunctionError> {
    let var = |name: &str| {
        environment
            .get(name)
            .cloned()
            .ok_or_else(|| FunctionError::MissingVariable { function: binary.to_string(), name: name.to_string() })
    };
    match binary {
        "log-processor" => {
            use log_processor::aws::{EventBridgeBus, FirehoseSink};
            use log_processor::handler::Deps;
            let pipeline = log_processor::pipeline::Pipeline::new(var("ENVIRONMENT")?)
                .map_err(|e| FunctionError::Init { function: binary.into(), message: e.to_string() })?;
            let metrics = Arc::new(CapturedMetrics::default());
            let deps = Deps {
                pipeline,
                sink: Arc::new(FirehoseSink::new(
                    recorded!(aws_sdk_firehose, sdk, calls),
                    var("DELIVERY_STREAM_NAME")?,
                )),
                bus: Arc::new(EventBridgeBus::new(recorded!(aws_sdk_eventbridge, sdk, calls), var("EVENT_BUS_NAME")?)),
                metrics: metrics.clone(),
                retry: log_processor::forward::RetryPolicy::default(),
            };
            Ok(Arc::new(LogProcessor { deps, metrics }))
        }
        "alarm-scaler" => {
            use alarm_scaler::aws::{ContainerInsights, GuardTable, MemberGroups};
            use platform_core::aws::SsmParameterStore;
            let sessions = role_sessions(sdk, calls, "alarm-scaler")(var("AUTOMATION_ROLE_NAME")?);
            let shared = aws_smithy_runtime_api::client::interceptors::SharedInterceptor::new(calls.clone());
            let metrics = Arc::new(CapturedMetrics::default());
            let deps = alarm_scaler::handler::Deps {
                groups: Arc::new(MemberGroups::new(sdk.clone(), sessions.clone()).with_interceptor(shared.clone())),
                demand: Arc::new(ContainerInsights::new(sdk.clone(), sessions).with_interceptor(shared)),
                guard: Arc::new(GuardTable::new(recorded!(aws_sdk_dynamodb, sdk, calls), var("GUARD_TABLE_NAME")?)),
                parameters: Arc::new(SsmParameterStore::new(recorded!(aws_sdk_ssm, sdk, calls))),
                parameter_prefix: var("PARAMETER_PREFIX")?,
                metrics: metrics.clone(),
                config: Default::default(),
            };
            Ok(Arc::new(AlarmScaler { deps, metrics }))
        }
        "account-vending" => {
            use account_vending::aws::{CloudFormationStackSets, GuardLedger, MemberSsm, Organizations};
            use platform_core::aws::SsmParameterStore;
            let sessions = role_sessions(sdk, calls, "account-vending");
            // As on Lambda: Organizations and the StackSet through the management account's role.
            let management = sessions(var("ORGANIZATIONS_ROLE_NAME")?).sdk_config(sdk, &var("MANAGEMENT_ACCOUNT_ID")?);
            let shared = aws_smithy_runtime_api::client::interceptors::SharedInterceptor::new(calls.clone());
            let deps = account_vending::handler::Deps {
                directory: Arc::new(Organizations::new(recorded!(aws_sdk_organizations, &management, calls))),
                stack_sets: Arc::new(CloudFormationStackSets::new(recorded!(
                    aws_sdk_cloudformation,
                    &management,
                    calls
                ))),
                member_parameters: Arc::new(
                    MemberSsm::new(sdk.clone(), sessions(var("AUTOMATION_ROLE_NAME")?)).with_interceptor(shared),
                ),
                ledger: Arc::new(GuardLedger::new(recorded!(aws_sdk_dynamodb, sdk, calls), var("GUARD_TABLE_NAME")?)),
                parameters: Arc::new(SsmParameterStore::new(recorded!(aws_sdk_ssm, sdk, calls))),
                parameter_prefix: var("PARAMETER_PREFIX")?,
                central: account_vending::handler::Central {
                    automation_account_id: var("AUTOMATION_ACCOUNT_ID")?,
                    organization_id: var("ORGANIZATION_ID")?,
                    event_bus_arn: var("EVENT_BUS_ARN")?,
                    log_destination_name: var("LOG_DESTINATION_NAME")?,
                },
                config: Default::default(),
            };
            Ok(Arc::new(AccountVending { deps }))
        }
        "platform-deploy" => {
            use platform_core::aws::SsmParameterStore;
            use platform_deploy::cluster::{MemoryCluster, MemoryClusters};
            let prefix = var("PARAMETER_PREFIX")?;
            let store = Arc::new(SsmParameterStore::new(recorded!(aws_sdk_ssm, sdk, calls)));
            let tree = platform_core::config::load(&root.join("config"))
                .map_err(|e| FunctionError::Init { function: binary.into(), message: e.to_string() })?;
            // The emulator has no Kubernetes: one cluster in memory for every account, rollouts
            // ready 20 s (virtual) after they are applied; images tagged `*-broken` never pull.
            let cluster = Arc::new(MemoryCluster::new(chrono::Duration::seconds(20), vec!["*-broken".into()]));
            let deps = platform_deploy::handler::Deps {
                tree,
                clusters: Arc::new(MemoryClusters::new(cluster)),
                ledger: Arc::new(platform_deploy::ledger::SsmReleaseLedger::new(store, prefix)),
                // The emulator's CloudFormation cannot build EKS (stacksets/platform.yaml): the
                // platform StackSet is kept in memory, each operation running for one poll.
                stack_sets: Arc::new(platform_core::fakes::MemoryStackSets::new(1)),
            };
            Ok(Arc::new(PlatformDeploy { deps }))
        }
        "scheduled-ops" => {
            use alarm_scaler::aws::{GuardTable, MemberGroups};
            use platform_core::aws::{CloudFormationStackSets, SsmParameterStore};
            use scheduled_ops::aws::{Organizations, S3Reports};
            let sessions = role_sessions(sdk, calls, "scheduled-ops");
            let management =
                sessions(var("SCHEDULES_MANAGEMENT_ROLE_NAME")?).sdk_config(sdk, &var("MANAGEMENT_ACCOUNT_ID")?);
            let shared = aws_smithy_runtime_api::client::interceptors::SharedInterceptor::new(calls.clone());
            let tree = platform_core::config::load(&root.join("config"))
                .map_err(|e| FunctionError::Init { function: binary.into(), message: e.to_string() })?;
            let metrics = Arc::new(CapturedMetrics::default());
            let deps = scheduled_ops::handler::Deps {
                tree,
                directory: Arc::new(Organizations::new(recorded!(aws_sdk_organizations, &management, calls))),
                stack_sets: Arc::new(CloudFormationStackSets::new(recorded!(
                    aws_sdk_cloudformation,
                    &management,
                    calls
                ))),
                // The emulator has no DetectStackSetDrift: drift is kept in memory here (none
                // unless a test edits an instance by hand); the adapter is tested on scripted answers.
                drift: Arc::new(platform_core::fakes::MemoryStackSets::new(0)),
                groups: Arc::new(
                    MemberGroups::new(sdk.clone(), sessions(var("AUTOMATION_ROLE_NAME")?)).with_interceptor(shared),
                ),
                guard: Arc::new(GuardTable::new(recorded!(aws_sdk_dynamodb, sdk, calls), var("GUARD_TABLE_NAME")?)),
                parameters: Arc::new(SsmParameterStore::new(recorded!(aws_sdk_ssm, sdk, calls))),
                reports: Arc::new(S3Reports::new(
                    aws_sdk_s3::Client::from_conf(
                        aws_sdk_s3::config::Builder::from(sdk)
                            .force_path_style(true)
                            .interceptor(calls.clone())
                            .build(),
                    ),
                    var("REPORT_BUCKET_NAME")?,
                )),
                metrics: metrics.clone(),
                inventory_prefix: scheduled_ops::inventory::PREFIX.into(),
            };
            Ok(Arc::new(ScheduledOps { deps, metrics }))
        }
        other => Err(FunctionError::Unknown(other.to_string())),
    }
}

/// EMF documents kept for the caller instead of printed.
#[derive(Debug, Default)]
struct CapturedMetrics(Mutex<Vec<String>>);

impl platform_core::telemetry::MetricsSink for CapturedMetrics {
    fn emit(&self, emf: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(emf.to_string());
    }
}

impl CapturedMetrics {
    fn take(&self) -> Vec<Value> {
        let docs = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        docs.iter().flat_map(|d| d.lines()).filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

#[derive(Debug)]
struct LogProcessor {
    deps: log_processor::handler::Deps,
    metrics: Arc<CapturedMetrics>,
}

/// The typed request a handler takes, or the unmarshal error the Lambda runtime reports.
fn request_of<R: serde::de::DeserializeOwned>(event: Value, function: &str) -> Result<R, Failure> {
    serde_json::from_value(event)
        .map_err(|e| Failure::lambda("Runtime.UnmarshalError", &format!("the event is not a {function} request: {e}")))
}

/// A handler's outcome as Lambda reports it: the output, or the error's stable type and message.
fn invocation<T: serde::Serialize, E: std::fmt::Display>(
    result: Result<T, E>,
    error_type: fn(&E) -> &'static str,
    metrics: Vec<Value>,
) -> Result<Invocation, Failure> {
    match result {
        Ok(output) => Ok(Invocation { output: serde_json::to_value(output).unwrap_or(Value::Null), metrics }),
        Err(e) => Err(Failure::lambda(error_type(&e), &e.to_string())),
    }
}

#[async_trait]
impl LocalFunction for LogProcessor {
    async fn invoke(&self, event: Value) -> Result<Invocation, Failure> {
        let input: log_processor::handler::Input = request_of(event, "log-processor")?;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let result = log_processor::handler::handle(input, &self.deps, now_ms).await;
        invocation(result, |e| e.error_type(), self.metrics.take())
    }
}

#[derive(Debug)]
struct AlarmScaler {
    deps: alarm_scaler::handler::Deps,
    metrics: Arc<CapturedMetrics>,
}

#[async_trait]
impl LocalFunction for AlarmScaler {
    async fn invoke(&self, event: Value) -> Result<Invocation, Failure> {
        let result = alarm_scaler::handler::handle(request_of(event, "alarm-scaler")?, &self.deps).await;
        invocation(result, |e| e.error_type(), self.metrics.take())
    }
}

#[derive(Debug)]
struct AccountVending {
    deps: account_vending::handler::Deps,
}

#[async_trait]
impl LocalFunction for AccountVending {
    async fn invoke(&self, event: Value) -> Result<Invocation, Failure> {
        let result = account_vending::handler::handle(request_of(event, "account-vending")?, &self.deps).await;
        invocation(result, |e| e.error_type(), Vec::new())
    }
}

#[derive(Debug)]
struct ScheduledOps {
    deps: scheduled_ops::handler::Deps,
    metrics: Arc<CapturedMetrics>,
}

#[async_trait]
impl LocalFunction for ScheduledOps {
    async fn invoke(&self, event: Value) -> Result<Invocation, Failure> {
        let result = scheduled_ops::handler::handle(request_of(event, "scheduled-ops")?, &self.deps).await;
        invocation(result, |e| e.error_type(), self.metrics.take())
    }
}

#[derive(Debug)]
struct PlatformDeploy {
    deps: platform_deploy::handler::Deps,
}

#[async_trait]
impl LocalFunction for PlatformDeploy {
    async fn invoke(&self, event: Value) -> Result<Invocation, Failure> {
        let result = platform_deploy::handler::handle(request_of(event, "platform-deploy")?, &self.deps).await;
        invocation(result, |e| e.error_type(), Vec::new())
    }
}
