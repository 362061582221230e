//! Lambda entry point of the log processor.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform_core::lambda::serve::<log_processor::function::LogProcessor>().await
}
