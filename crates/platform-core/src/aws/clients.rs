//! How each SDK crate's client is built from the shared configuration and interceptors.

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

/// An SDK client [`super::AwsContext::client`] can build. One impl per SDK crate, each behind the
/// feature of the same name, so a function compiles only the SDK crates it calls.
pub trait SdkClient: Sized {
    fn build(config: &SdkConfig, interceptors: &[SharedInterceptor]) -> Self;
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
