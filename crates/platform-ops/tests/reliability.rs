//! The default scenario under AWS's faults and its at-least-once deliveries: every outcome still
//! met, and what took effect equal to the fault-free run's (CI's fault and duplicate runs).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// `platform-ops demo ARGS --output json`: its exit status and its document.
fn demo(args: &[&str]) -> (Output, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_platform-ops"));
    cmd.arg("demo").args(args).args(["--output", "json"]).current_dir(root()).env("RUST_LOG", "warn");
    for var in ["AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"] {
        cmd.env_remove(var);
    }
    let out = cmd.output().expect("run platform-ops");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (out, doc)
}

fn unmet(doc: &Value) -> Vec<String> {
    let checks = doc["checks"].as_array().expect("checks");
    checks
        .iter()
        .filter(|c| c["met"] != true)
        .map(|c| format!("{}: {} ({})", c["step"], c["expectation"], c["actual"]))
        .collect()
}

/// GIVEN the default scenario WHEN one AWS request or Lambda invoke in ten fails (seed 7: each
/// service's throttling, 500, 503, reset, timeout and an answer lost after the request applied)
/// THEN every outcome is met and the writes that took effect are the fault-free run's: nothing
/// twice, nothing missing. The faults reach every kind and the state machines' own retries.
#[test]
fn the_default_scenario_survives_one_fault_in_ten() {
    let (out, doc) = demo(&["--faults", "10%", "--seed", "7"]);
    let r = &doc["reliability"];
    assert!(out.status.success(), "unmet: {:?}\nreliability: {r:#}", unmet(&doc));
    assert_eq!(doc["passed"], true);
    assert!(unmet(&doc).is_empty());
    for kind in ["throttled", "server-error", "unavailable", "reset", "timeout", "response-lost"] {
        assert!(r["faults"]["injected"][kind].as_u64() > Some(0), "no {kind} injected: {r:#}");
    }
    assert!(r["sdk_retries"].as_u64() > Some(50), "{r:#}");
    assert!(r["task_failures"].as_u64() > Some(5), "the state machines' retries were exercised: {r:#}");
    let effects = &r["effects"];
    assert!(effects["differences"].as_array().is_some_and(Vec::is_empty), "{effects:#}");
    assert!(effects["expected"].as_u64() > Some(200), "the fault-free run's effects were counted: {effects:#}");
}

/// GIVEN the default scenario WHEN every event and asynchronous invocation is delivered twice
/// (EventBridge and Lambda's async queue are at-least-once) THEN every outcome is met and the
/// second deliveries change nothing: each state machine admits its delivery once.
#[test]
fn the_default_scenario_takes_every_delivery_once() {
    let (out, doc) = demo(&["--duplicate-deliveries"]);
    let r = &doc["reliability"];
    assert!(out.status.success(), "unmet: {:?}\nreliability: {r:#}", unmet(&doc));
    assert!(r["redeliveries"].as_u64() > Some(20), "{r:#}");
    assert!(r["effects"]["differences"].as_array().is_some_and(Vec::is_empty), "{r:#}");
}

/// GIVEN the default scenario WHEN vending dies after CreateAccount went through, the scaler
/// after UpdateNodegroupConfig, and a deploy after a tier was applied (each function killed at
/// its timeout once, its answer never reaching the state machine) THEN each state machine
/// re-drives it and the flow ends as without the crash: one account (created, not reused), one
/// scaling, the release rolled out once; nothing repeated, nothing missing.
#[test]
fn flows_killed_after_their_side_effect_resume_without_repeating_it() {
    let points =
        ["AccountVendingFunction:find-or-create", "AlarmScalerFunction:act", "PlatformDeployFunction:apply-tier"];
    let args: Vec<&str> = points.iter().flat_map(|p| ["--crash-after", p]).collect();
    let (out, doc) = demo(&args);
    let r = &doc["reliability"];
    assert!(out.status.success(), "unmet: {:?}\nreliability: {r:#}", unmet(&doc));
    assert_eq!(r["crashes"], serde_json::json!(points), "every crash point was reached: {r:#}");
    assert!(r["crash_points_missed"].as_array().is_some_and(Vec::is_empty), "{r:#}");
    assert!(r["task_failures"].as_u64() >= Some(3), "each crash failed its task once: {r:#}");
    assert!(r["effects"]["differences"].as_array().is_some_and(Vec::is_empty), "{r:#}");
}

/// GIVEN the default scenario WHEN the local runtime stops mid-execution, each time right after
/// a state's calls went through and before its result was recorded (vending after FindOrCreate,
/// the scaler after Act, a deploy after its first ApplyTier), THEN each execution is redriven as
/// RedriveExecution does (the finished states kept, the stopped state run again) and ends as
/// without the stop: nothing repeated, nothing missing.
#[test]
fn executions_stopped_mid_way_and_redriven_repeat_nothing() {
    let points = [
        "AccountVendingStateMachine:FindOrCreate",
        "AlarmRemediationStateMachine:Act",
        "PlatformDeployStateMachine:ApplyTier",
    ];
    let args: Vec<&str> = points.iter().flat_map(|p| ["--crash-after", p]).collect();
    let (out, doc) = demo(&args);
    let r = &doc["reliability"];
    assert!(out.status.success(), "unmet: {:?}\nreliability: {r:#}", unmet(&doc));
    assert_eq!(r["crashes"], serde_json::json!(points), "every stop point was reached: {r:#}");
    assert!(r["effects"]["differences"].as_array().is_some_and(Vec::is_empty), "{r:#}");
}
