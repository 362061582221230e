//! Lambda entry point of the fleet release.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform_core::lambda::serve::<fleet_release::function::FleetRelease>().await
}
