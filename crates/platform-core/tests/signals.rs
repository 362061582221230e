//! Signal routing in the config tree (`log-signatures.toml`): runbooks, remediations and the triage settings, each mistake named by key.

use std::path::Path;

use chrono::NaiveDate;
use platform_core::config::{self, ConfigErrors, ConfigTree, Remediation, SignatureAction, repository_config_dir};

fn load(dir: &Path) -> Result<ConfigTree, ConfigErrors> {
    config::load_as_of(dir, NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"))
}

/// The repository's config with `from` replaced by `to` in log-signatures.toml.
fn edited(from: &str, to: &str) -> Result<ConfigTree, ConfigErrors> {
    let dir = tempfile::tempdir().expect("tempdir");
    for file in
        ["organization.toml", "services.toml", "remediation-alarms.toml", "log-signatures.toml", "monitoring.toml"]
    {
        std::fs::copy(repository_config_dir().join(file), dir.path().join(file)).expect("copy");
    }
    std::fs::create_dir_all(dir.path().join("environments")).expect("mkdir");
    for env in ["dev", "staging", "prod"] {
        let file = format!("environments/{env}.toml");
        std::fs::copy(repository_config_dir().join(&file), dir.path().join(&file)).expect("copy");
    }
    let path = dir.path().join("log-signatures.toml");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "log-signatures.toml has no `{from}`");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    load(dir.path())
}

fn rejected(from: &str, to: &str, key: &str, message: &str) {
    let errors = edited(from, to).expect_err("broken config must not load");
    let hit = errors
        .issues
        .iter()
        .find(|i| i.file.ends_with("log-signatures.toml") && i.key == key && i.message.contains(message));
    assert!(hit.is_some(), "expected {key}: …{message}…, got:\n{errors}");
}

#[test]
fn the_repository_routes_every_signature() {
    let tree = load(&repository_config_dir()).expect("valid");
    let s = &tree.signals;
    assert_eq!(s.signatures.len(), 9);
    let oom = s.signature("OOMKilled").expect("OOMKilled");
    assert_eq!((oom.action, oom.remediation), (SignatureAction::Remediate, Some(Remediation::RaiseMemory)));
    let crash = s.signature("CrashLoopBackOff").expect("CrashLoopBackOff");
    assert_eq!(crash.remediation, Some(Remediation::Rollback));
    assert!(s.signatures.iter().all(|r| r.runbook.is_some()), "every signature has its runbook section");
    assert_eq!(s.triage.dedupe_window_seconds, 900);
    assert!(s.triage.memory_step > 1.0);
}

#[test]
fn a_remediated_signature_names_a_known_remediation() {
    rejected(
        "action = \"remediate\"\nremediation = \"raise-memory\"",
        "action = \"remediate\"",
        "signatures[2].remediation",
        "`OOMKilled` is remediated but names no remediation (one of rollback, raise-memory)",
    );
    rejected(
        "remediation = \"raise-memory\"",
        "remediation = \"reboot\"",
        "signatures[2].remediation",
        "unknown variant `reboot`",
    );
    rejected(
        "action = \"remediate\"\nremediation = \"raise-memory\"",
        "action = \"notify\"\nremediation = \"raise-memory\"",
        "signatures[2].remediation",
        "names remediation `raise-memory` but its action is `notify`",
    );
}

#[test]
fn notified_and_remediated_signatures_need_a_runbook_anchor() {
    rejected(
        "runbook = \"signature-oomkilled\"\n",
        "",
        "signatures[2].runbook",
        "signature `OOMKilled` (remediate) needs a runbook anchor in docs/runbook.md",
    );
    rejected(
        "runbook = \"signature-oomkilled\"",
        "runbook = \"#OOM\"",
        "signatures[2].runbook",
        "`#OOM` is not an anchor",
    );
}

#[test]
fn triage_settings_are_bounded() {
    rejected("memory_step = 1.5", "memory_step = 1.0", "triage.memory_step", "memory_step 1 must be above 1");
    rejected("dedupe_window_seconds = 900", "dedupe_window_seconds = 0", "triage.dedupe_window_seconds", "at least 1");
    rejected("memory_ceiling_mib = 2048\n", "", "triage", "missing field `memory_ceiling_mib`");
}
