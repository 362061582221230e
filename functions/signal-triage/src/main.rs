//! Lambda entry point of signal triage.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform_core::lambda::serve::<signal_triage::function::SignalTriage>().await
}
