//! The external validators: cfn-lint on the templates, asl-validator on the state machines.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::*;

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CfnLintFinding {
    filename: Option<String>,
    level: String,
    message: String,
    rule: CfnLintRule,
    location: Option<CfnLintLocation>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CfnLintRule {
    id: String,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CfnLintLocation {
    start: CfnLintPosition,
    path: Option<Vec<Json>>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CfnLintPosition {
    line_number: u64,
    column_number: u64,
}

pub(super) fn check_cfn_lint(inputs: &Inputs, templates: &[PathBuf]) -> CheckResult {
    let scope = templates.iter().map(|t| rel(inputs, t)).collect::<Vec<_>>().join(", ");
    let mut result = CheckResult { check: "cfn-lint", scope, findings: Vec::new() };
    let output = match Command::new(&inputs.cfn_lint).args(["--format", "json", "--"]).args(templates).output() {
        Ok(o) => o,
        Err(e) => {
            result.findings.push(tool_missing(inputs, &inputs.cfn_lint, &e));
            return result;
        }
    };
    match serde_json::from_slice::<Vec<CfnLintFinding>>(&output.stdout) {
        Ok(found) => {
            result.findings = found
                .into_iter()
                .filter(|f| f.level != "Informational")
                .map(|f| Finding {
                    file: f.filename.map(|p| rel(inputs, Path::new(&p))).unwrap_or_else(|| "-".into()),
                    location: f.location.map(|l| {
                        let path = l
                            .path
                            .map(|p| {
                                p.iter()
                                    .map(|s| s.as_str().map(str::to_string).unwrap_or_else(|| s.to_string()))
                                    .collect::<Vec<_>>()
                                    .join("/")
                            })
                            .unwrap_or_default();
                        format!("line {}:{} {path}", l.start.line_number, l.start.column_number).trim_end().to_string()
                    }),
                    message: format!("{} {}: {}", f.rule.id, f.level.to_lowercase(), f.message),
                })
                .collect();
        }
        Err(e) => result.findings.push(unreadable(inputs, &inputs.cfn_lint, "cfn-lint", &e, &output)),
    }
    result
}

#[derive(Debug, serde::Deserialize)]
struct AslResult {
    file: String,
    errors: Vec<AslError>,
}

#[derive(Debug, serde::Deserialize)]
struct AslError {
    code: String,
    message: String,
}

pub(super) fn check_asl(inputs: &Inputs, machines: &[PathBuf]) -> CheckResult {
    let scope = format!("{} ({} definitions)", rel(inputs, &inputs.state_machines_dir), machines.len());
    let mut result = CheckResult { check: "asl-validator", scope, findings: Vec::new() };
    if machines.is_empty() {
        return result;
    }
    let output = match Command::new("node").arg(&inputs.asl_script).args(machines).current_dir(&inputs.root).output() {
        Ok(o) => o,
        Err(e) => {
            result.findings.push(tool_missing(inputs, Path::new("node"), &e));
            return result;
        }
    };
    match serde_json::from_slice::<Vec<AslResult>>(&output.stdout) {
        Ok(results) => {
            for r in results {
                for e in r.errors {
                    result.findings.push(Finding {
                        file: rel(inputs, Path::new(&r.file)),
                        location: None,
                        message: format!("{}: {}", e.code, e.message),
                    });
                }
            }
        }
        Err(e) => result.findings.push(unreadable(inputs, &inputs.asl_script, "asl-validator", &e, &output)),
    }
    result
}
