//! `platform-ops validate`: config tree, CloudFormation templates and state machines, in one report.

mod config;
mod contract;
mod errors;
mod iam;
mod samconfig;
mod suppressions;
mod template;
mod tools;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use serde::Serialize;

use platform_core::config::{ConfigErrors, ConfigTree};

use crate::actions::ActionCatalogue;

/// What to validate and with which tools; [`Inputs::for_root`] gives the repository layout.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub root: PathBuf,
    pub config_dir: PathBuf,
    pub template: PathBuf,
    pub stacksets_dir: PathBuf,
    pub state_machines_dir: PathBuf,
    /// `sam deploy` profiles; checked when present.
    pub samconfig: PathBuf,
    pub cfn_lint: PathBuf,
    pub asl_script: PathBuf,
    /// The day validation is for: Kubernetes versions past EKS standard support by then fail.
    pub today: NaiveDate,
}

impl Inputs {
    pub fn for_root(root: &Path) -> Inputs {
        Inputs {
            root: root.to_path_buf(),
            config_dir: root.join("config"),
            template: root.join("template.yaml"),
            stacksets_dir: root.join("stacksets"),
            state_machines_dir: root.join("state-machines"),
            samconfig: root.join("samconfig.toml"),
            cfn_lint: root.join(".venv/bin/cfn-lint"),
            asl_script: root.join("scripts/asl-validate.js"),
            today: chrono::Utc::now().date_naive(),
        }
    }
}

/// One problem, located as precisely as the check can.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub message: String,
}

/// The outcome of one check: what it looked at and what it found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub check: &'static str,
    pub scope: String,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub checks: Vec<CheckResult>,
    /// What will become a finding soon (a Kubernetes version leaving support within
    /// [`SUPPORT_WARNING_DAYS`]): said, not failed on.
    pub warnings: Vec<Finding>,
}

/// How far ahead `validate` warns of a Kubernetes version leaving EKS standard support.
pub const SUPPORT_WARNING_DAYS: i64 = 90;

impl Report {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.findings.is_empty())
    }

    pub fn findings(&self) -> usize {
        self.checks.iter().map(|c| c.findings.len()).sum()
    }

    /// The findings of one check, by its name.
    pub fn check(&self, name: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.check == name)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "validate: {} checks, {} finding(s)", self.checks.len(), self.findings())?;
        for c in &self.checks {
            let status = if c.findings.is_empty() { "ok" } else { "FAIL" };
            writeln!(f, "  {:<14} {:<4} {}", c.check, status, c.scope)?;
            for finding in &c.findings {
                match &finding.location {
                    Some(loc) => writeln!(f, "      {} ({loc}): {}", finding.file, finding.message)?,
                    None => writeln!(f, "      {}: {}", finding.file, finding.message)?,
                }
            }
        }
        for w in &self.warnings {
            writeln!(f, "  warning        {}: {}", w.file, w.message)?;
        }
        Ok(())
    }
}

/// Validates the repository at `root` against the actions of the linked function crates.
pub fn run(root: &Path, catalogue: &ActionCatalogue) -> Report {
    run_with(&Inputs::for_root(root), catalogue)
}

use config::{check_config, check_generated};
use contract::{check_actions, check_substitutions};
use samconfig::check_samconfig;
use suppressions::check_suppressions;
use template::{load_template, same_file};
use tools::{check_asl, check_cfn_lint};

pub fn run_with(inputs: &Inputs, catalogue: &ActionCatalogue) -> Report {
    let template = load_template(&inputs.template);
    let mut machines = files_with_suffix(&inputs.state_machines_dir, &[".asl.json"]);
    // Definitions the template names outside state-machines/ are checked too.
    let base = inputs.template.parent().unwrap_or(Path::new("."));
    for (uri, _) in template.machines.values() {
        let path = base.join(uri);
        if path.is_file() && !machines.iter().any(|m| same_file(m, &path)) {
            machines.push(path);
        }
    }
    let mut templates = vec![inputs.template.clone()];
    templates.extend(files_with_suffix(&inputs.stacksets_dir, &[".yaml", ".yml", ".json"]));

    // Loaded once: the config check reports its errors, the others use the tree when it loads.
    let tree = platform_core::config::load_as_of(&inputs.config_dir, inputs.today);
    let warnings = tree
        .as_ref()
        .map(|t| {
            platform_core::config::support_ending(t.environments.values(), inputs.today, SUPPORT_WARNING_DAYS)
                .into_iter()
                .map(|e| Finding {
                    file: rel(inputs, &inputs.config_dir.join("environments").join(format!("{}.toml", e.environment))),
                    location: Some("kubernetes.version".into()),
                    message: format!(
                        "`{}` leaves EKS standard support on {} ({} days after {}): plan the upgrade",
                        e.version,
                        e.ends,
                        (e.ends - inputs.today).num_days(),
                        inputs.today
                    ),
                })
                .collect()
        })
        .unwrap_or_default();
    Report {
        warnings,
        checks: vec![
            check_config(inputs, &tree),
            check_generated(inputs, tree.as_ref().ok()),
            check_cfn_lint(inputs, &templates),
            check_asl(inputs, &machines),
            check_substitutions(inputs, &template, &machines),
            check_actions(inputs, &template, &machines, catalogue),
            errors::check_errors(inputs, &template, &machines, catalogue),
            check_suppressions(inputs, &templates),
            check_samconfig(inputs, tree.as_ref().ok()),
            iam::check_iam(inputs, &templates),
        ],
    }
}

fn rel(inputs: &Inputs, path: &Path) -> String {
    path.strip_prefix(&inputs.root).unwrap_or(path).display().to_string()
}

fn files_with_suffix(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| suffixes.iter().any(|s| n.ends_with(s)))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// A tool ran but did not print the JSON we asked for: show what it said instead.
fn unreadable(
    inputs: &Inputs,
    tool: &Path,
    name: &str,
    e: &serde_json::Error,
    output: &std::process::Output,
) -> Finding {
    Finding {
        file: rel(inputs, tool),
        location: None,
        message: format!(
            "unreadable {name} output ({e}; exit {}): {} (run scripts/bootstrap.sh if {name} is missing)",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    }
}

fn tool_missing(inputs: &Inputs, tool: &Path, e: &std::io::Error) -> Finding {
    Finding {
        file: rel(inputs, tool),
        location: None,
        message: format!("cannot run it ({e}): run scripts/bootstrap.sh to install the project's tools"),
    }
}
