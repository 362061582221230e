//! Lambda entry point of account vending.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    platform_core::lambda::serve::<account_vending::function::AccountVending>().await
}
