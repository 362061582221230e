//! `platform-ops demo`: the embedded default, the whole system on one machine without an AWS account.

use std::path::Path;
use std::process::ExitCode;

use emulator::Emulator;
use platform_core::aws::AwsContext;
use platform_core::config;

use crate::{actions, validate, world};

/// Starts the emulator, seeds the world from `root/config`, validates the repository and prints
/// the world. Exit 1 when validation finds anything or a second seeding changes the world.
pub async fn run(root: &Path) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let tree = config::load(&root.join("config"))?;
    println!(
        "== config: {} environments, {} services in {} tiers",
        tree.environments.len(),
        tree.catalog.services.len(),
        tree.catalog.tiers.len()
    );

    let emulator = Emulator::start(root)?;
    println!("== emulator: moto at {}", emulator.endpoint_url());
    let ctx = AwsContext::from_config(emulator.sdk_config());

    let report = world::seed(&ctx, &tree).await?;
    println!(
        "== world seed: {} resources created, {} already there",
        report.created(),
        report.steps.len() - report.created()
    );
    for step in &report.steps {
        println!("  {:<8} {}", format!("{:?}", step.outcome).to_lowercase(), step.resource);
    }
    println!("== config publish: {}", report.config.to_string().replace('\n', "\n  "));

    let again = world::seed(&ctx, &tree).await?;
    let idempotent = again.created() == 0 && !again.config.changed();
    println!(
        "== world seed again: {} created, config {} (idempotent: {idempotent})",
        again.created(),
        if again.config.changed() { "changed" } else { "unchanged" },
    );

    println!("== {}", world::snapshot(&ctx, &tree).await?);

    let findings = validate::run(root, &actions::linked());
    print!("== {findings}");
    Ok(if findings.passed() && idempotent { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
