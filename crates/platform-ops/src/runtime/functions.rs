//! The function crates, built in process through their own `deps` from the template's environment.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use lambda_runtime::Diagnostic;
use platform_core::aws::AwsContext;
use platform_core::fakes::CapturedMetrics;
use platform_core::lambda::{Function, InitError, deps_from};
use serde_json::Value;

use asl::Failure;

mod edge;
mod stack_sets;

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
    #[error("function binary `{name}` has no in-process handler in the local runtime (known: {})", NAMES.join(", "))]
    Unknown { name: String },
    #[error("function `{function}` failed to start")]
    Init {
        function: String,
        #[source]
        source: InitError,
    },
}

/// What stands in for an AWS service the emulator cannot serve, shared by every function that
/// uses it (as they would share the service).
#[derive(Debug)]
pub struct StandIns {
    /// The platform StackSet (the emulator's CloudFormation cannot build EKS): each operation
    /// running for one poll; platform deploy applies it, the fleet release plans against it.
    pub stack_sets: Arc<platform_core::fakes::MemoryStackSets>,
    /// The emulator has no Kubernetes: a cluster in memory per account, rollouts ready 20 s
    /// (virtual) after they are applied; images tagged `*-broken` never pull.
    pub clusters: Arc<platform_deploy::cluster::MemoryClusters>,
}

impl Default for StandIns {
    fn default() -> Self {
        use platform_deploy::cluster::{MemoryCluster, MemoryClusters};
        let cluster = Arc::new(MemoryCluster::new(chrono::Duration::seconds(20), vec!["*-broken".into()]));
        StandIns {
            stack_sets: Arc::new(platform_core::fakes::MemoryStackSets::new(1)),
            clusters: Arc::new(MemoryClusters::new(cluster)),
        }
    }
}

/// Every function the local runtime runs, and what it replaces in each one's `deps` because the
/// emulator cannot serve it. The only place the local runtime's wiring differs from Lambda's.
macro_rules! registry {
    ($($function:ty => $overrides:expr),* $(,)?) => {
        /// The binaries the local runtime can run, by crate name.
        pub const NAMES: &[&str] = &[$(<$function as Function>::NAME),*];

        /// `binary`'s dependencies built as on Lambda, from `environment` and `ctx`, then overridden.
        pub async fn build(
            binary: &str,
            environment: &BTreeMap<String, String>,
            ctx: &AwsContext,
            stand_ins: &StandIns,
        ) -> Result<Arc<dyn LocalFunction>, FunctionError> {
            $(
                if binary == <$function as Function>::NAME {
                    return start::<$function>(environment, ctx, |deps| ($overrides)(deps, stand_ins)).await;
                }
            )*
            Err(FunctionError::Unknown { name: binary.to_string() })
        }

        /// Each function's actions (derived from its request enum) and error names.
        pub fn catalogue() -> crate::actions::ActionCatalogue {
            let mut catalogue = crate::actions::ActionCatalogue::default();
            $(
                if !<$function as Function>::ACTIONS.is_empty() {
                    catalogue = catalogue.with_function(
                        <$function as Function>::NAME,
                        <$function as Function>::ACTIONS.iter().copied(),
                    );
                }
                catalogue = catalogue.with_errors(<$function as Function>::NAME, <$function>::error_names());
            )*
            catalogue
        }
    };
}

registry! {
    log_processor::function::LogProcessor => |_, _: &StandIns| {},
    alarm_scaler::function::AlarmScaler => |_, _: &StandIns| {},
    account_vending::function::AccountVending => |_, _: &StandIns| {},
    platform_deploy::function::PlatformDeploy => |deps: &mut platform_deploy::handler::Deps, stand_ins: &StandIns| {
        let clusters = stand_ins.clusters.clone();
        deps.clusters = clusters.clone();
        // The emulator's CloudFormation cannot build EKS (stacksets/platform.yaml).
        let stack_sets = stand_ins.stack_sets.clone();
        deps.stack_sets = stack_sets.clone();
        // The edge: the platform stack's exports and the nodegroup's groups follow that StackSet
        // in memory; the alias record is the emulator's Route 53 (through the real adapter), and
        // the load balancer is a TLS stand-in on loopback that the probe reaches only through it.
        edge::local(deps, stack_sets, clusters);
        // The image registry is not replaced: Plan reads the emulator's ECR, which the world's
        // seed filled with the scenarios' images (world/images.rs).
        // The restore test's probe: the emulator's database endpoints resolve nowhere, so every
        // (checked) RDS name reaches a stand-in PostgreSQL on loopback answering the SSLRequest
        // `N`; should it not start, the real probe fails every restore test, loudly.
        use platform_deploy::database_probe::{TIMEOUT, TcpDatabaseProbe, stand_in};
        match stand_in(b'N') {
            Ok(at) => deps.database_probe = Arc::new(TcpDatabaseProbe::redirected(at, TIMEOUT)),
            Err(error) => tracing::error!(%error, "the database stand-in did not start: restore tests will fail"),
        }
    },
    scheduled_ops::function::ScheduledOps => |deps: &mut scheduled_ops::handler::Deps, stand_ins: &StandIns| {
        // The inventory reads both StackSets: the platform's is the stand-in platform deploy
        // applies, the baseline the emulator's.
        deps.stack_sets = Arc::new(stack_sets::SplitStackSets {
            platform_stack_set: deps.tree.organization.deploy.platform_stack_set.clone(),
            platform: stand_ins.stack_sets.clone(),
            emulator: deps.stack_sets.clone(),
        });
        // The emulator has no DetectStackSetDrift: detection runs on the stand-in platform
        // StackSet (a scenario's `drift` step edits its instances by hand) and finds nothing on
        // the others; the adapter is tested on scripted answers.
        deps.drift = Arc::new(stack_sets::SplitDrift {
            platform_stack_set: deps.tree.organization.deploy.platform_stack_set.clone(),
            platform: stand_ins.stack_sets.clone(),
            other: Arc::new(platform_core::fakes::MemoryStackSets::new(0)),
        });
    },
    signal_triage::function::SignalTriage => |_, _: &StandIns| {},
    // The ledger, approvals, alarms and plans are the emulator's SSM, DynamoDB, CloudWatch and
    // S3; the platform StackSet the plan compares with is platform deploy's.
    fleet_release::function::FleetRelease => |deps: &mut fleet_release::handler::Deps, stand_ins: &StandIns| {
        deps.stack_sets = stand_ins.stack_sets.clone();
    },
    on_call::function::OnCall => |deps: &mut on_call::handler::Deps, _: &StandIns| {
        // The emulator has no OpsCenter: tickets are kept in memory (the adapter is tested
        // against a stub of the Systems Manager protocol).
        deps.tickets = Arc::new(on_call::fakes::MemoryTickets::default());
    },
}

/// `F` built through its own `deps`, with its EMF documents kept per invocation.
async fn start<F: Function>(
    environment: &BTreeMap<String, String>,
    ctx: &AwsContext,
    overrides: impl FnOnce(&mut F::Deps),
) -> Result<Arc<dyn LocalFunction>, FunctionError> {
    let init = |source| FunctionError::Init { function: F::NAME.to_string(), source };
    let metrics = Arc::new(CapturedMetrics::default());
    let ctx = ctx.clone().with_metrics(metrics.clone());
    let vars = environment.iter().map(|(k, v)| (k.clone(), v.clone()));
    let mut deps = deps_from::<F>(vars, &ctx).await.map_err(init)?;
    overrides(&mut deps);
    // Without the interceptors: CloudWatch makes these metrics, the function makes no call.
    let cloudwatch = aws_sdk_cloudwatch::Client::new(ctx.config());
    Ok(Arc::new(Local::<F> { deps, metrics, cloudwatch }))
}

struct Local<F: Function> {
    deps: F::Deps,
    metrics: Arc<CapturedMetrics>,
    /// Where the function's EMF documents become metrics, as CloudWatch makes them on AWS.
    cloudwatch: aws_sdk_cloudwatch::Client,
}

impl<F: Function> std::fmt::Debug for Local<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").field("function", &F::NAME).finish_non_exhaustive()
    }
}

#[async_trait]
impl<F: Function> LocalFunction for Local<F> {
    async fn invoke(&self, event: Value) -> Result<Invocation, Failure> {
        // As the Lambda runtime reports an event that does not deserialise.
        let request: F::Request = serde_json::from_value(event).map_err(|e| {
            Failure::lambda("Runtime.UnmarshalError", &format!("the event is not a {} request: {e}", F::NAME))
        })?;
        let result = F::handle(request, &self.deps).await;
        // A failed invocation's metrics land too, as its log lines would.
        let metrics = self.metrics.take();
        super::emf::land(&self.cloudwatch, &metrics)
            .await
            .map_err(|e| Failure::lambda("Runtime.MetricsUndelivered", &format!("{}: {e}", F::NAME)))?;
        match result {
            Ok(response) => {
                let output = serde_json::to_value(response)
                    .map_err(|e| Failure::lambda("Runtime.MarshalError", &format!("{} response: {e}", F::NAME)))?;
                Ok(Invocation { output, metrics })
            }
            Err(e) => {
                let d: Diagnostic = e.into();
                Err(Failure::lambda(&d.error_type, &d.error_message))
            }
        }
    }
}
