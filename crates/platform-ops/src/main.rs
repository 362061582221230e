//! `platform-ops`: the operator's command line and the local runtime's entry point.

mod cli;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    platform_core::telemetry::init_with_default("warn");
    let cli = cli::Cli::parse();
    match cli.command.run(&cli.root).await {
        Ok(code) => code,
        // The one place an error becomes an exit code: 2, the error and each cause once.
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}
