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
        // The loader's own providers (IMDS, ECS, STS web identity) build clients too: they get
        // the shared client as well, or each would read the trust store at init.
        Self::from_config(Self::loader().load().await)
    }

    /// In a Lambda function: as [`AwsContext::load`], but the execution role's credentials are
    /// taken from the environment, where Lambda puts them, by that provider alone. The default
    /// chain would also build its profile, container and web-identity providers (an STS client
    /// among them) at init, to find the same credentials. Without them in the environment (a
    /// binary run by hand) it is the default chain.
    pub async fn load_in_lambda() -> Result<Self, InitError> {
        let loader = Self::loader();
        let loader = match std::env::var_os("AWS_ACCESS_KEY_ID") {
            Some(_) => {
                loader.credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new())
            }
            None => loader,
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
        MemberClients { ctx: self.clone(), sessions }
    }
}

/// SDK clients in member accounts, built per call from cached sessions (a client is cheap; the
/// session behind it is what costs, and [`MemberSessions`] keeps it).
#[derive(Debug, Clone)]
pub struct MemberClients {
    ctx: AwsContext,
    sessions: Arc<MemberSessions>,
}

impl MemberClients {
    /// A client in `account`, in this process's region.
    pub fn client<C: SdkClient>(&self, account: &str) -> C {
        self.context(account).client()
    }

    /// A client in `account` and `region` (a cluster lives in its environment's primary region).
    pub fn client_in<C: SdkClient>(&self, account: &str, region: &str) -> C {
        self.context(account).in_region(region).client()
    }

    /// The context inside `account` (its credentials sign EKS tokens).
    pub fn context(&self, account: &str) -> AwsContext {
        self.ctx.in_account(&self.sessions, account)
    }

    pub fn sessions(&self) -> &Arc<MemberSessions> {
        &self.sessions
    }
}
