//! Lambda entry point of the scheduled operations.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform_core::lambda::serve::<scheduled_ops::function::ScheduledOps>().await
}
