//! Lambda entry point of platform deploy.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform_core::lambda::serve::<platform_deploy::function::PlatformDeploy>().await
}
