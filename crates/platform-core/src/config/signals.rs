//! The failure signatures' routing (`log-signatures.toml`): each one's severity, action, runbook anchor and remediation, and the triage's settings.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Issues;

/// How bad a signature is; the notification's subject carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// What a detection of the signature leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum SignatureAction {
    /// Metrics only: the log processor raises no event.
    Count,
    /// People are told, with the runbook anchor.
    Notify,
    /// The named remediation runs (through platform deploy), or people are told why not.
    Remediate,
}

/// The bounded remediations triage knows; a signature names one of these or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::VariantNames)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Remediation {
    /// The account back to its previous release, inside the bake window after a release.
    Rollback,
    /// The workload's memory limit raised by the step, up to the ceiling.
    RaiseMemory,
}

/// One signature as triage reads it (the matching literals stay with the log processor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureRoute {
    pub name: String,
    pub severity: Severity,
    pub action: SignatureAction,
    pub description: String,
    /// The section of `docs/runbook.md` people are sent to (its anchor, without `#`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
}

/// `[triage]`: how detections are de-duplicated and how far remediations may go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageSettings {
    /// A (account, service, signature) seen again within this many seconds is counted, not sent.
    pub dedupe_window_seconds: u32,
    /// A release younger than this is the suspect of a crash or a pull failure: it is rolled back.
    pub bake_window_minutes: u32,
    /// No remediation raises a workload's memory limit above this.
    pub memory_ceiling_mib: u32,
    /// Each raise multiplies the limit by this factor (above 1).
    pub memory_step: f64,
}

impl Default for TriageSettings {
    /// What a function reads from a tree published before `[triage]` existed.
    fn default() -> Self {
        TriageSettings {
            dedupe_window_seconds: 900,
            bake_window_minutes: 60,
            memory_ceiling_mib: 4096,
            memory_step: 1.5,
        }
    }
}

/// Every signature's route and the triage's settings: what `config publish` writes as `signals`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalRouting {
    pub signatures: Vec<SignatureRoute>,
    pub triage: TriageSettings,
}

impl SignalRouting {
    pub fn signature(&self, name: &str) -> Option<&SignatureRoute> {
        self.signatures.iter().find(|s| s.name == name)
    }
}

/// `log-signatures.toml` as written: the log processor's matching fields are read (and checked
/// by the log processor's own catalogue) but not published.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSignaturesFile {
    signatures: Vec<RawSignature>,
    triage: TriageSettings,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignature {
    name: String,
    severity: Severity,
    action: SignatureAction,
    description: String,
    #[serde(default)]
    runbook: Option<String>,
    #[serde(default)]
    remediation: Option<Remediation>,
    #[serde(rename = "all_of")]
    _all_of: Vec<Vec<String>>,
    #[serde(default, rename = "pattern")]
    _pattern: Option<String>,
}

impl RawSignature {
    fn route(self) -> SignatureRoute {
        let RawSignature { name, severity, action, description, runbook, remediation, .. } = self;
        SignatureRoute { name, severity, action, description, runbook, remediation }
    }
}

/// An anchor as Markdown renderers make them from a heading: lowercase letters, digits, dashes.
pub fn is_anchor(anchor: &str) -> bool {
    !anchor.is_empty() && anchor.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The routes of `raw`, with every rule they break reported against `file`.
pub(crate) fn signal_routing(file: &Path, raw: RawSignaturesFile, issues: &mut Issues) -> SignalRouting {
    let mut names = BTreeSet::new();
    for (i, s) in raw.signatures.iter().enumerate() {
        let key = |field: &str| format!("signatures[{i}].{field}");
        if !names.insert(s.name.as_str()) {
            issues.push(file, key("name"), format!("signature `{}` is defined twice", s.name));
        }
        match (&s.runbook, s.action) {
            (None, SignatureAction::Notify | SignatureAction::Remediate) => issues.push(
                file,
                key("runbook"),
                format!("signature `{}` ({}) needs a runbook anchor in docs/runbook.md", s.name, s.action),
            ),
            (Some(anchor), _) if !is_anchor(anchor) => issues.push(
                file,
                key("runbook"),
                format!("`{anchor}` is not an anchor (lowercase letters, digits and dashes, without `#`)"),
            ),
            _ => {}
        }
        match (s.action, s.remediation) {
            (SignatureAction::Remediate, None) => issues.push(
                file,
                key("remediation"),
                format!(
                    "signature `{}` is remediated but names no remediation (one of {})",
                    s.name,
                    <Remediation as strum::VariantNames>::VARIANTS.join(", ")
                ),
            ),
            (action, Some(r)) if action != SignatureAction::Remediate => issues.push(
                file,
                key("remediation"),
                format!("signature `{}` names remediation `{r}` but its action is `{action}`", s.name),
            ),
            _ => {}
        }
    }
    let t = &raw.triage;
    if t.dedupe_window_seconds == 0 {
        issues.push(file, "triage.dedupe_window_seconds", "dedupe_window_seconds must be at least 1");
    }
    if t.memory_ceiling_mib == 0 {
        issues.push(file, "triage.memory_ceiling_mib", "memory_ceiling_mib must be at least 1");
    }
    if !(t.memory_step > 1.0 && t.memory_step <= 4.0) {
        issues.push(file, "triage.memory_step", format!("memory_step {} must be above 1 and at most 4", t.memory_step));
    }
    SignalRouting { signatures: raw.signatures.into_iter().map(RawSignature::route).collect(), triage: raw.triage }
}
