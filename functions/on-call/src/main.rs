//! Lambda entry point of on-call.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform_core::lambda::serve::<on_call::function::OnCall>().await
}
