//! How each SDK crate's client is built from the shared configuration and interceptors.

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

/// An SDK client [`super::AwsContext::client`] can build. One impl per SDK crate, each behind the
/// feature of the same name, so a function compiles only the SDK crates it calls.
pub trait SdkClient: Sized {
    fn build(config: &SdkConfig, interceptors: &[SharedInterceptor]) -> Self;
}

/// An SDK client built when first used. Building one is not free: the first client of each SDK
/// crate parses that service's endpoint partitions (about 0.7M instructions), and every client
/// sets up its runtime plugins. An adapter holding a `Lazy` costs its function's init nothing;
/// its first request builds the client, once, and every later one reuses it (its clones too: they
/// share the one built). Derefs to the client.
#[derive(Debug, Clone)]
pub struct Lazy<C> {
    client: Arc<OnceLock<C>>,
    config: SdkConfig,
    interceptors: Vec<SharedInterceptor>,
}

impl<C: SdkClient> Lazy<C> {
    /// The client, built now if this is its first use.
    pub fn get(&self) -> &C {
        self.client.get_or_init(|| C::build(&self.config, &self.interceptors))
    }

    /// Whether it has been built (something has used it).
    pub fn is_built(&self) -> bool {
        self.client.get().is_some()
    }
}

impl<C: SdkClient> Deref for Lazy<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.get()
    }
}

/// A client built elsewhere (tests, tools), held as it is.
impl<C> From<C> for Lazy<C> {
    fn from(client: C) -> Self {
        Lazy {
            client: Arc::new(OnceLock::from(client)),
            config: SdkConfig::builder().build(),
            interceptors: Vec::new(),
        }
    }
}

/// `ctx.client()` builds a `Lazy` wherever one is asked for: it keeps what building needs.
impl<C: SdkClient> SdkClient for Lazy<C> {
    fn build(config: &SdkConfig, interceptors: &[SharedInterceptor]) -> Self {
        Lazy { client: Arc::default(), config: config.clone(), interceptors: interceptors.to_vec() }
    }
}

macro_rules! sdk_client {
    ($feature:literal, $sdk:ident $(, |$builder:ident, $config:ident| $tweak:expr)?) => {
        #[cfg(feature = $feature)]
        impl SdkClient for $sdk::Client {
            fn build(config: &SdkConfig, interceptors: &[SharedInterceptor]) -> Self {
                #[allow(unused_mut)]
                let mut builder = $sdk::config::Builder::from(config);
                for i in interceptors {
                    builder.push_interceptor(i.clone());
                }
                $(
                    let ($builder, $config) = (&mut builder, config);
                    $tweak;
                )?
                $sdk::Client::from_conf(builder.build())
            }
        }
    };
}

sdk_client!("autoscaling", aws_sdk_autoscaling);
sdk_client!("cloudformation", aws_sdk_cloudformation);
sdk_client!("cloudwatch", aws_sdk_cloudwatch);
sdk_client!("cloudwatchlogs", aws_sdk_cloudwatchlogs);
sdk_client!("dynamodb", aws_sdk_dynamodb);
sdk_client!("ecr", aws_sdk_ecr);
sdk_client!("eks", aws_sdk_eks);
sdk_client!("eventbridge", aws_sdk_eventbridge);
sdk_client!("firehose", aws_sdk_firehose);
sdk_client!("iam", aws_sdk_iam);
sdk_client!("lambda-sdk", aws_sdk_lambda);
sdk_client!("organizations", aws_sdk_organizations);
sdk_client!("rds", aws_sdk_rds);
sdk_client!("route53", aws_sdk_route53);
// Behind an endpoint override (the emulator) buckets are addressed by path: virtual-hosted
// names would need DNS for every bucket.
sdk_client!("s3", aws_sdk_s3, |b, config| if config.endpoint_url().is_some() {
    b.set_force_path_style(Some(true));
});
sdk_client!("sfn", aws_sdk_sfn);
sdk_client!("sns", aws_sdk_sns);
sdk_client!("sqs", aws_sdk_sqs);
sdk_client!("ssm", aws_sdk_ssm);
sdk_client!("sts", aws_sdk_sts);

#[cfg(all(test, feature = "ssm"))]
mod tests {
    use super::*;

    #[test]
    fn a_lazy_client_is_built_on_first_use_and_kept() {
        let config = SdkConfig::builder().region(aws_config::Region::new("eu-west-2")).build();
        let lazy = <Lazy<aws_sdk_ssm::Client> as SdkClient>::build(&config, &[]);
        let copy = lazy.clone();
        assert!(!lazy.is_built());
        assert_eq!(lazy.config().region().map(|r| r.as_ref()), Some("eu-west-2"));
        assert!(lazy.is_built());
        let first: *const aws_sdk_ssm::Client = lazy.get();
        assert!(std::ptr::eq(first, lazy.get()), "built once");
        assert!(copy.is_built() && std::ptr::eq(first, copy.get()), "a clone shares the one built");
        let given = Lazy::from(aws_sdk_ssm::Client::from_conf(aws_sdk_ssm::Config::builder().build()));
        assert!(given.is_built());
    }
}
