//! `platform-ops demo`: the embedded default, the whole system on one machine without an AWS account.

use std::path::Path;
use std::process::ExitCode;

use platform_core::aws::AwsContext;

use crate::runtime::harness::{Harness, Reliability};
use crate::runtime::timeline::Rendered;
use crate::runtime::{local, scenario};
use crate::{actions, validate, world};

/// Starts the emulator (or reaches `endpoint`), seeds the world from `root/config` and checks a
/// second seeding changes nothing, validates the repository, then replays `scenarios/<name>`
/// through the local runtime and prints its timeline (and, with `report_to`, writes the execution
/// report there). Exit 1 when validation finds anything, the seeding is not idempotent or an
/// expected outcome is not met.
pub async fn run(
    root: &Path,
    name: &str,
    endpoint: Option<&str>,
    json: bool,
    report_to: Option<&Path>,
    harness: &Harness,
) -> anyhow::Result<ExitCode> {
    let (dir, scenario) = scenario::load(root, name)?;
    let fault_free = local::fault_free_effects(root, endpoint, &scenario.world, harness, |runtime, world| {
        let (dir, scenario) = (&dir, &scenario);
        async move {
            let report = scenario::replay(&runtime, name, dir, scenario, &facts(&world)).await?;
            if !report.passed() {
                anyhow::bail!(
                    "the fault-free run of scenarios/{name} does not meet its own outcomes: run it without faults"
                );
            }
            Ok(())
        }
    })
    .await?;
    let up = local::start_in(root, endpoint, &scenario.world, harness).await?;
    let ctx = AwsContext::from_config(emulator::Remote::new(&up.endpoint)?.sdk_config())?;
    let again = world::seed_with(&ctx, &up.tree, &scenario.world).await?;
    let idempotent = again.created() == 0 && !again.config.changed();
    // Validated as of the day the scenario runs as: its config is judged on its own day, and
    // `validate` (CI runs it on the real date) is where the wall clock counts.
    let mut inputs = validate::Inputs::for_root(root);
    if let Some(day) = scenario.as_of {
        inputs.today = day;
    }
    let findings = validate::run_with(&inputs, &actions::linked());
    for warning in &findings.warnings {
        eprintln!("  .. validate warning: {}: {}", warning.file, warning.message);
    }

    eprintln!("  .. replaying scenarios/{name} ({} steps)", scenario.steps.len());
    if report_to.is_some() {
        up.runtime.executions.enable();
    }
    let report = scenario::replay(&up.runtime, name, &dir, &scenario, &facts(&up.world)).await?;
    let reliability = fault_free.map(|ff| Reliability::of(harness, &up.runtime, &ff));
    let passed =
        report.passed() && idempotent && findings.passed() && reliability.as_ref().is_none_or(Reliability::passed);
    if let Some(path) = report_to {
        crate::report::save(path, &format!("scenario {name}"), &up.runtime)?;
    }

    if json {
        let out = serde_json::json!({
            "scenario": name,
            "passed": passed,
            "idempotent_seed": idempotent,
            "validation_findings": findings.findings(),
            "checks": report.checks,
            "timeline": up.runtime.timeline.entries(),
            "world": up.world,
            "reliability": reliability,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "== config: {} environments, {} services in {} tiers",
            up.tree.environments.len(),
            up.tree.catalog.services.len(),
            up.tree.catalog.tiers.len()
        );
        println!("== emulator: moto at {}", up.endpoint);
        println!("== {}", up.world);
        println!(
            "== world seed again: {} created, config {} (idempotent: {idempotent})",
            again.created(),
            if again.config.changed() { "changed" } else { "unchanged" },
        );
        print!("== {findings}");
        println!("== scenario {name}: {}", scenario.description);
        print!("{}", Rendered(&up.runtime.timeline.entries()));
        println!("== expected outcomes");
        for c in &report.checks {
            let mark = if c.met { "ok  " } else { "FAIL" };
            println!("  {mark} [{}] {} (actual: {})", c.step, c.expectation, c.actual);
        }
        if let Some(r) = &reliability {
            print!("{r}");
        }
        let met = report.checks.iter().filter(|c| c.met).count();
        println!(
            "== summary: {met}/{} outcomes met, seeding idempotent: {idempotent}, validation findings: {}{} -> {}",
            report.checks.len(),
            findings.findings(),
            reliability
                .as_ref()
                .map(|r| format!(
                    ", duplicate effects: {}, missing effects: {}",
                    r.effects.duplicates(),
                    r.effects.missing()
                ))
                .unwrap_or_default(),
            if passed { "PASSED" } else { "FAILED" }
        );
    }
    Ok(if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The scenario's facts about the world: `account:<name>` is that account's id.
fn facts(world: &world::World) -> std::collections::BTreeMap<String, String> {
    world.accounts.iter().map(|a| (format!("account:{}", a.name), a.id.clone())).collect()
}
