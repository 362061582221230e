//! The process's AWS surroundings, loaded once: the one place SDK clients and adapters are built.

#[cfg(feature = "cloudwatch")]
mod alarms;
mod clients;
#[cfg(feature = "cloudformation")]
mod cloudformation;
mod http;
#[cfg(feature = "cloudwatch")]
mod indicators;
#[cfg(feature = "ssm")]
mod ssm;
#[cfg(feature = "sts")]
mod sts;

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};

#[cfg(feature = "cloudwatch")]
pub use alarms::CloudWatchAlarms;
pub use clients::{Lazy, SdkClient};
#[cfg(feature = "cloudformation")]
pub use cloudformation::CloudFormationStackSets;
#[cfg(feature = "cloudwatch")]
pub use indicators::CloudWatchIndicators;
#[cfg(feature = "ssm")]
pub use ssm::SsmParameterStore;
#[cfg(feature = "sts")]
pub use sts::StsRoleAssumer;

use crate::lambda::InitError;
use crate::sessions::MemberSessions;
use crate::telemetry::{MetricsSink, StdoutMetrics};

/// What every client of this process shares: the SDK configuration (endpoint, region,
/// credentials), the interceptors every client carries, and where EMF metrics go.
#[derive(Debug, Clone)]
pub struct AwsContext {
    config: SdkConfig,
    region: String,
    interceptors: Vec<SharedInterceptor>,
    metrics: Arc<dyn MetricsSink>,
}

impl AwsContext {
    /// The standard chain: `AWS_ENDPOINT_URL` (and per-service overrides), `AWS_REGION`,
    /// `AWS_PROFILE`, environment or role credentials. A region is required: nothing here guesses one.
    pub async fn load() -> Result<Self, InitError> {
        Self::from_config(Self::loader().load().await)
    }

    /// In a Lambda function: as [`AwsContext::load`], but the execution role's credentials are
    /// taken from the environment, where Lambda puts them, by that provider alone. The default
    /// chain would also build its profile, container and web-identity providers (an STS client
    /// among them) at init, to find the same credentials. Without them in the environment (a
    /// binary run by hand) it is the default chain. The region likewise comes from `AWS_REGION`,
    /// which Lambda always sets: the default region chain builds an IMDS client at init (0.2M
    /// instructions, an eighth of the scaler's cold start) only to read the same variable first.
    pub async fn load_in_lambda() -> Result<Self, InitError> {
        let loader = Self::loader();
        let loader = match std::env::var_os("AWS_ACCESS_KEY_ID") {
            Some(_) => {
                loader.credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new())
            }
            None => loader,
        };
        let loader = match std::env::var("AWS_REGION") {
            Ok(region) if !region.is_empty() => loader.region(aws_config::Region::new(region)),
            _ => loader,
        };
        Self::from_config(loader.load().await)
    }

    fn loader() -> aws_config::ConfigLoader {
        // The loader's own providers (IMDS, ECS, STS web identity) build clients too: they get
        // the shared client as well, or each would read the trust store at init.
        aws_config::defaults(BehaviorVersion::latest()).http_client(http::shared_https_client())
    }

    /// A configuration without an HTTP client of its own gets the process's shared one
    /// ([`http::shared_https_client`]): every client built from here on shares its pool, and none
    /// reads the trust store before its first request.
    pub fn from_config(config: SdkConfig) -> Result<Self, InitError> {
        let config = match config.http_client() {
            Some(_) => config,
            None => config.into_builder().http_client(http::shared_https_client()).build(),
        };
        let region = config.region().map(|r| r.to_string()).ok_or(InitError::NoRegion)?;
        Ok(AwsContext { config, region, interceptors: Vec::new(), metrics: Arc::new(StdoutMetrics) })
    }

    /// Every client built from here on carries `interceptor` (the local runtime records calls).
    pub fn with_interceptor(mut self, interceptor: impl Intercept + 'static) -> Self {
        self.interceptors.push(SharedInterceptor::new(interceptor));
        self
    }

    /// EMF documents go to `sink` instead of stdout (the local runtime keeps them per invocation).
    pub fn with_metrics(mut self, sink: Arc<dyn MetricsSink>) -> Self {
        self.metrics = sink;
        self
    }

    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn endpoint_url(&self) -> Option<&str> {
        self.config.endpoint_url()
    }

    pub fn metrics(&self) -> Arc<dyn MetricsSink> {
        self.metrics.clone()
    }

    /// Any SDK client, from the shared configuration: `ctx.client::<aws_sdk_eks::Client>()`.
    pub fn client<C: SdkClient>(&self) -> C {
        C::build(&self.config, &self.interceptors)
    }

    /// This context with `config` (same interceptors and metrics): another account or region.
    fn with_config(&self, config: SdkConfig) -> AwsContext {
        let region = config.region().map(|r| r.to_string()).unwrap_or_else(|| self.region.clone());
        AwsContext { config, region, interceptors: self.interceptors.clone(), metrics: self.metrics.clone() }
    }

    /// This context in `region`: the same credentials and interceptors.
    pub fn in_region(&self, region: &str) -> AwsContext {
        self.with_config(self.config.to_builder().region(aws_config::Region::new(region.to_string())).build())
    }

    /// Sessions of `role_name` in other accounts, named for `caller` in CloudTrail, through STS
    /// from this context (so its interceptors see the AssumeRole calls too).
    #[cfg(feature = "sts")]
    pub fn sessions(&self, role_name: impl Into<String>, caller: &str) -> Arc<MemberSessions> {
        use crate::ports::SystemClock;
        use crate::sessions::SessionSettings;
        let assumer = Arc::new(StsRoleAssumer::new(self.client()));
        Arc::new(MemberSessions::new(
            assumer,
            Arc::new(SystemClock),
            SessionSettings::new(role_name, caller, &self.region),
        ))
    }

    /// This context inside `account`, through `sessions` (renewed whenever the SDK asks).
    pub fn in_account(&self, sessions: &Arc<MemberSessions>, account: &str) -> AwsContext {
        self.with_config(sessions.sdk_config(&self.config, account))
    }

    /// Clients in any member account through `sessions`.
    pub fn members(&self, sessions: Arc<MemberSessions>) -> MemberClients {
        MemberClients { ctx: self.clone(), sessions, built: Arc::default() }
    }
}

/// SDK clients in member accounts, each built once per (client type, account, region) and kept:
/// building one sets up its runtime plugins, which a request should not pay for again. A kept
/// client stays valid: its credentials come from [`MemberSessions`], renewed whenever the SDK asks.
#[derive(Debug, Clone)]
pub struct MemberClients {
    ctx: AwsContext,
    sessions: Arc<MemberSessions>,
    built: Arc<BuiltClients>,
}

/// Clients already built, by (client type, account, region).
#[derive(Default)]
struct BuiltClients(std::sync::Mutex<std::collections::HashMap<ClientKey, Box<dyn std::any::Any + Send + Sync>>>);

type ClientKey = (std::any::TypeId, String, String);

impl BuiltClients {
    /// The map, locked. A poisoned lock only means another thread panicked mid-insert: the map
    /// is still whole.
    fn held(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<ClientKey, Box<dyn std::any::Any + Send + Sync>>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for BuiltClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltClients").field("held", &self.held().len()).finish()
    }
}

impl MemberClients {
    /// A client in `account`, in this process's region.
    pub fn client<C: SdkClient + Clone + Send + Sync + 'static>(&self, account: &str) -> C {
        self.client_in(account, &self.ctx.region)
    }

    /// A client in `account` and `region` (a cluster lives in its environment's primary region).
    pub fn client_in<C: SdkClient + Clone + Send + Sync + 'static>(&self, account: &str, region: &str) -> C {
        let key = (std::any::TypeId::of::<C>(), account.to_string(), region.to_string());
        let mut built = self.built.held();
        if let Some(client) = built.get(&key).and_then(|c| c.downcast_ref::<C>()) {
            return client.clone();
        }
        let client: C = self.context(account).in_region(region).client();
        built.insert(key, Box::new(client.clone()));
        client
    }

    /// How many clients are kept (one per client type, account and region asked for).
    pub fn built(&self) -> usize {
        self.built.held().len()
    }

    /// The context inside `account` (its credentials sign EKS tokens).
    pub fn context(&self, account: &str) -> AwsContext {
        self.ctx.in_account(&self.sessions, account)
    }

    pub fn sessions(&self) -> &Arc<MemberSessions> {
        &self.sessions
    }
}

#[cfg(all(test, feature = "ssm", feature = "sts"))]
mod tests {
    use super::*;

    #[test]
    fn member_clients_are_built_once_per_type_account_and_region() {
        let config = SdkConfig::builder().region(aws_config::Region::new("eu-west-2")).build();
        let ctx = AwsContext::from_config(config).expect("context");
        let members = ctx.members(ctx.sessions("automation", "test"));
        let first: aws_sdk_ssm::Client = members.client("111111111111");
        let again: aws_sdk_ssm::Client = members.client("111111111111");
        assert_eq!(members.built(), 1, "the second request reuses the first's client");
        assert_eq!(first.config().region(), again.config().region());
        let _: aws_sdk_ssm::Client = members.client_in("111111111111", "us-east-1");
        let _: aws_sdk_ssm::Client = members.client("222222222222");
        let _: aws_sdk_sts::Client = members.client("111111111111");
        assert_eq!(members.built(), 4);
        let in_region: aws_sdk_ssm::Client = members.client_in("111111111111", "us-east-1");
        assert_eq!(in_region.config().region().map(|r| r.as_ref()), Some("us-east-1"));
        assert_eq!(members.built(), 4);
    }
}
