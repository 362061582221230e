//! The `platform-ops` binary as an operator runs it: settings from the standard AWS variables,
//! readable output, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use emulator::Emulator;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn platform_ops(args: &[&str], emulator: Option<&Emulator>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_platform-ops"));
    cmd.args(args).current_dir(root()).env("RUST_LOG", "warn");
    for var in ["AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"] {
        cmd.env_remove(var);
    }
    if let Some(e) = emulator {
        cmd.envs(e.env_vars());
    }
    cmd.output().expect("run platform-ops")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// AWS_ENDPOINT_URL, AWS_REGION and the key variables are honoured by the one config loader:
/// publish goes to the emulator, and a second publish changes nothing.
#[test]
fn config_publish_uses_the_standard_aws_variables_and_is_idempotent() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let first = platform_ops(&["config", "publish"], Some(&emulator));
    assert!(first.status.success(), "{}{}", stdout(&first), String::from_utf8_lossy(&first.stderr));
    assert!(stdout(&first).contains("+ /abc-trading/config/environments/dev (create)"), "{}", stdout(&first));
    assert!(stdout(&first).contains("28 created, 0 updated, 0 deleted, 0 unchanged"), "{}", stdout(&first));

    let second = platform_ops(&["config", "publish"], Some(&emulator));
    assert!(stdout(&second).contains("0 created, 0 updated, 0 deleted, 28 unchanged"), "{}", stdout(&second));
}

#[test]
fn world_seed_and_show_through_the_binary() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let seeded = platform_ops(&["world", "seed"], Some(&emulator));
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let shown = platform_ops(&["world", "show", "--json"], Some(&emulator));
    let world: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("world json");
    assert_eq!(world["accounts"][0]["resources"]["nodegroup"], "abc-trading-dev-nodes");
}

#[test]
fn world_seed_without_a_local_endpoint_fails_with_a_clear_error() {
    let out = platform_ops(&["world", "seed"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("world seeding only runs against a local emulator"), "{err}");
}

#[test]
fn validate_exits_zero_on_the_repository_and_one_on_a_broken_config() {
    let ok = platform_ops(&["validate", "--as-of", "2026-11-24"], None);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert!(stdout(&ok).contains("validate: 5 checks, 0 finding(s)"), "{}", stdout(&ok));

    let broken = tempfile::tempdir().expect("tmp");
    let config = broken.path().join("config");
    std::fs::create_dir_all(config.join("environments")).expect("mkdir");
    let fixture = root().join("tests/fixtures/validate/broken-config/config");
    for f in [
        "organization.toml",
        "services.toml",
        "environments/dev.toml",
        "environments/staging.toml",
        "environments/prod.toml",
    ] {
        std::fs::copy(fixture.join(f), config.join(f)).expect("copy");
    }
    let root_arg = broken.path().to_str().expect("utf-8 path");
    let out = platform_ops(&["--root", root_arg, "validate", "--json", "--as-of", "2026-11-24"], None);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    let config_findings = report["checks"][0]["findings"].as_array().expect("findings");
    assert_eq!(report["checks"][0]["check"], "config");
    assert_eq!(config_findings.len(), 2, "{config_findings:?}");
}

#[test]
fn config_errors_exit_two_and_name_file_and_key() {
    let fixture = root().join("tests/fixtures/validate/broken-config");
    let root_arg = fixture.to_str().expect("utf-8");
    let out = platform_ops(&["--root", root_arg, "config", "show"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("staging.toml: nodegroup.desired_size: desired_size 7 is above max_size 6"), "{err}");
}
