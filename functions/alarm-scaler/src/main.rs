//! Lambda entry point of the alarm scaler.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform_core::lambda::serve::<alarm_scaler::function::AlarmScaler>().await
}
