//! The state machines against the template and the function crates: substitutions, actions, error names.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::template::*;
use super::*;

pub(super) fn check_substitutions(inputs: &Inputs, template: &Template, machines: &[PathBuf]) -> CheckResult {
    let scope = format!("{} against {}", rel(inputs, &inputs.state_machines_dir), rel(inputs, &inputs.template));
    let mut findings = Vec::new();
    if let Some(e) = &template.error {
        findings.push(Finding { file: rel(inputs, &inputs.template), location: None, message: e.clone() });
    }
    let base = inputs.template.parent().unwrap_or(Path::new("."));
    for (id, (uri, _)) in &template.machines {
        if !base.join(uri).is_file() {
            findings.push(Finding {
                file: rel(inputs, &inputs.template),
                location: Some(format!("Resources/{id}/Properties/DefinitionUri")),
                message: format!("definition `{uri}` does not exist"),
            });
        }
    }
    for file in machines {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let used = placeholders(&text);
        let users = machines_for(inputs, template, file);
        if users.is_empty() && template.error.is_none() {
            findings.push(Finding {
                file: rel(inputs, file),
                location: None,
                message: "no state machine in template.yaml uses this definition (DefinitionUri)".into(),
            });
        }
        for (id, subs) in users {
            for name in used.iter().filter(|n| !subs.contains_key(*n)) {
                findings.push(Finding {
                    file: rel(inputs, file),
                    location: Some(format!("${{{name}}}")),
                    message: format!("`{name}` is not supplied by DefinitionSubstitutions of {id} in template.yaml"),
                });
            }
            for name in subs.keys().filter(|k| !used.contains(*k)) {
                findings.push(Finding {
                    file: rel(inputs, &inputs.template),
                    location: Some(format!("Resources/{id}/Properties/DefinitionSubstitutions/{name}")),
                    message: format!("substitution `{name}` is not used by {}", rel(inputs, file)),
                });
            }
        }
    }
    CheckResult { check: "substitutions", scope, findings }
}

/// A Lambda task found in a definition: where, which function placeholder, which action.
struct LambdaTask {
    state: String,
    function: Option<String>,
    action: Result<String, String>,
}

fn lambda_tasks(states: &Json, prefix: &str, out: &mut Vec<LambdaTask>) {
    let Some(states) = states.as_object() else { return };
    for (name, state) in states {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        match state.get("Type").and_then(Json::as_str) {
            Some("Parallel") => {
                for (i, branch) in state.get("Branches").and_then(Json::as_array).into_iter().flatten().enumerate() {
                    if let Some(s) = branch.get("States") {
                        lambda_tasks(s, &format!("{path}/Branches[{i}]"), out);
                    }
                }
            }
            Some("Map") => {
                for key in ["ItemProcessor", "Iterator"] {
                    if let Some(s) = state.get(key).and_then(|p| p.get("States")) {
                        lambda_tasks(s, &format!("{path}/{key}"), out);
                    }
                }
            }
            Some("Task") => {
                let resource = state.get("Resource").and_then(Json::as_str).unwrap_or_default();
                let params = state.get("Parameters").or_else(|| state.get("Arguments"));
                let (function, payload) = if resource.starts_with("arn:aws:states:::lambda:invoke") {
                    let f = params.and_then(|p| p.get("FunctionName")).and_then(Json::as_str);
                    (f, params.and_then(|p| p.get("Payload")))
                } else if resource.contains("${") && !resource.starts_with("arn:aws:states:::") {
                    (Some(resource), params)
                } else {
                    continue;
                };
                let action = match payload {
                    Some(p) if p.get("action.$").is_some() => {
                        Err("the action is computed (`action.$`); name one action per state".to_string())
                    }
                    Some(p) => p
                        .get("action")
                        .and_then(Json::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| "the payload has no `action`".to_string()),
                    None => Err("the task passes no payload with an `action`".to_string()),
                };
                let function = function.and_then(|f| placeholders(f).into_iter().next());
                out.push(LambdaTask { state: path, function, action });
            }
            _ => {}
        }
    }
}

pub(super) fn check_actions(
    inputs: &Inputs,
    template: &Template,
    machines: &[PathBuf],
    catalogue: &ActionCatalogue,
) -> CheckResult {
    let functions: Vec<&str> = catalogue.functions().collect();
    let scope = format!(
        "lambda tasks against the action enums of {}",
        if functions.is_empty() { "no linked function crates yet".to_string() } else { functions.join(", ") }
    );
    let mut findings = Vec::new();
    for file in machines {
        let Ok(definition) = std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Json>(&t).map_err(|e| e.to_string()))
        else {
            // Unreadable JSON is asl-validator's finding; there is nothing to check here.
            continue;
        };
        let mut tasks = Vec::new();
        if let Some(states) = definition.get("States") {
            lambda_tasks(states, "", &mut tasks);
        }
        let users = machines_for(inputs, template, file);
        for task in tasks {
            let mut finding = |message: String| {
                findings.push(Finding {
                    file: rel(inputs, file),
                    location: Some(format!("States/{}", task.state)),
                    message,
                })
            };
            let action = match &task.action {
                Ok(a) => a,
                Err(why) => {
                    finding(why.clone());
                    continue;
                }
            };
            let Some(placeholder) = &task.function else {
                finding("the function is not a ${Substitution} from template.yaml".into());
                continue;
            };
            for (machine, subs) in &users {
                let Some(resource) = subs.get(placeholder).and_then(referenced_resource) else {
                    finding(format!(
                        "`{placeholder}` of {machine} does not reference a function (!GetAtt Fn.Arn or !Ref Fn)"
                    ));
                    continue;
                };
                let Some(function) = template.functions.get(&resource) else {
                    finding(format!(
                        "`{placeholder}` of {machine} references {resource}, which is not an AWS::Serverless::Function"
                    ));
                    continue;
                };
                match catalogue.actions(function) {
                    None => {
                        finding(format!("function `{function}` ({resource}) is not a function crate of this workspace"))
                    }
                    Some(actions) if !actions.contains(action) => finding(format!(
                        "action `{action}` is not in {function}'s action enum ({})",
                        actions.iter().cloned().collect::<Vec<_>>().join(", ")
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    CheckResult { check: "actions", scope, findings }
}
