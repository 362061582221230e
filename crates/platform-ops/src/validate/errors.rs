//! Every name a `Retry` or `Catch` matches is one something can actually raise.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value as Json;

use super::template::{Template, machines_for, placeholders, referenced_resource};
use super::{CheckResult, Finding, Inputs, rel};
use crate::actions::ActionCatalogue;

type Substitutions = BTreeMap<String, serde_norway::Value>;

/// The errors Step Functions itself raises (the ASL specification's `States.*`).
const STATES_ERRORS: &[&str] = &[
    "States.ALL",
    "States.DataLimitExceeded",
    "States.ExceedToleratedFailureThreshold",
    "States.HeartbeatTimeout",
    "States.Http.Socket",
    "States.IntrinsicFailure",
    "States.ItemReaderFailed",
    "States.NoChoiceMatched",
    "States.ParameterPathFailure",
    "States.Permissions",
    "States.QueryEvaluationError",
    "States.ResultPathMatchFailure",
    "States.ResultWriterFailed",
    "States.Runtime",
    "States.TaskFailed",
    "States.Timeout",
];

/// What the Lambda service raises around an invocation (`lambda:invoke`).
const LAMBDA_ERRORS: &[&str] = &[
    "Lambda.AWSLambdaException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ResourceNotReadyException",
    "Lambda.SdkClientException",
    "Lambda.ServiceException",
    "Lambda.TooManyRequestsException",
    "Lambda.Unknown",
    // The function killed at its timeout (or its sandbox lost) mid-invocation.
    "Sandbox.Timedout",
];

/// What the Lambda service raises when it failed, not the function: every Lambda task retries
/// them (AWS's recommended retrier), or an invocation lost to a dropped connection fails a flow.
/// A function killed at its timeout after its calls went through is retried too: every handler
/// takes up what it began (the crash-point runs of the local runtime show it).
const LAMBDA_TRANSIENT: &[&str] = &[
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ServiceException",
    "Lambda.TooManyRequestsException",
    "Sandbox.Timedout",
];

/// The error prefix of an optimised integration (`arn:aws:states:::<service>:<action>`).
fn integration_prefix(service: &str) -> Option<&'static str> {
    Some(match service {
        "states" => "StepFunctions",
        "dynamodb" => "DynamoDB",
        "sns" => "SNS",
        "sqs" => "SQS",
        "events" => "EventBridge",
        "ecs" => "ECS",
        "glue" => "Glue",
        "batch" => "Batch",
        "codebuild" => "CodeBuild",
        _ => return None,
    })
}

/// The names a state's `Retry` and `Catch` may match, besides `States.*`.
#[derive(Debug, Default)]
struct Raisable {
    exact: BTreeSet<String>,
    /// A function no linked crate provides (the actions check reports it): its names are unknown.
    any_bare: bool,
    /// `Service.` prefixes of service integrations: their error names follow the API's exceptions.
    prefixes: BTreeSet<String>,
}

impl Raisable {
    fn admits(&self, name: &str) -> bool {
        STATES_ERRORS.contains(&name)
            || self.exact.contains(name)
            || (self.any_bare && !name.contains('.'))
            || name.split_once('.').is_some_and(|(p, rest)| !rest.is_empty() && self.prefixes.contains(p))
    }

    fn extend(&mut self, other: Raisable) {
        self.exact.extend(other.exact);
        self.prefixes.extend(other.prefixes);
        self.any_bare |= other.any_bare;
    }
}

/// What resolves a Lambda task's function: the definition's users in the template, the catalogue.
struct Resolver<'a> {
    template: &'a Template,
    catalogue: &'a ActionCatalogue,
}

impl Resolver<'_> {
    /// The names a task (or, for Parallel and Map, anything inside it) can raise.
    fn raisable(&self, state: &Json, subs: &[&Substitutions]) -> Raisable {
        let mut r = Raisable::default();
        match state.get("Type").and_then(Json::as_str) {
            Some("Parallel") => {
                for branch in state.get("Branches").and_then(Json::as_array).into_iter().flatten() {
                    for inner in branch.get("States").and_then(Json::as_object).into_iter().flat_map(|m| m.values()) {
                        r.extend(self.raisable(inner, subs));
                    }
                }
            }
            Some("Map") => {
                for key in ["ItemProcessor", "Iterator"] {
                    let states = state.get(key).and_then(|p| p.get("States")).and_then(Json::as_object);
                    for inner in states.into_iter().flat_map(|m| m.values()) {
                        r.extend(self.raisable(inner, subs));
                    }
                }
            }
            Some("Task") => {
                let resource = state.get("Resource").and_then(Json::as_str).unwrap_or_default();
                let lambda = resource.starts_with("arn:aws:states:::lambda:invoke")
                    || (resource.contains("${") && !resource.starts_with("arn:aws:states:::"));
                if lambda {
                    r.exact.extend(LAMBDA_ERRORS.iter().map(|s| s.to_string()));
                    let params = state.get("Parameters").or_else(|| state.get("Arguments"));
                    let named = if resource.starts_with("arn:aws:states:::lambda:invoke") {
                        params.and_then(|p| p.get("FunctionName")).and_then(Json::as_str)
                    } else {
                        Some(resource)
                    };
                    match self.function_errors(named, subs) {
                        Some(names) => r.exact.extend(names),
                        None => r.any_bare = true,
                    }
                } else if let Some(rest) = resource.strip_prefix("arn:aws:states:::") {
                    let service = rest.split([':', '.']).next().unwrap_or_default();
                    if service == "aws-sdk" {
                        // arn:aws:states:::aws-sdk:<service>:<action>: errors are `<Service>.<Exception>`.
                        let sdk = rest.split(':').nth(1).unwrap_or_default();
                        let mut chars = sdk.chars();
                        if let Some(first) = chars.next() {
                            r.prefixes.insert(first.to_uppercase().chain(chars).collect());
                        }
                    } else if let Some(prefix) = integration_prefix(service) {
                        r.prefixes.insert(prefix.to_string());
                    }
                }
            }
            _ => {}
        }
        r
    }

    /// The error names of the function a task names, through the template's substitutions; every
    /// linked function's when the task cannot be resolved to one, `None` when it resolves to a
    /// function no linked crate provides (the actions check reports both).
    fn function_errors(&self, named: Option<&str>, subs: &[&Substitutions]) -> Option<BTreeSet<String>> {
        let placeholder = named.and_then(|f| placeholders(f).into_iter().next());
        let binaries: Vec<&String> = subs
            .iter()
            .filter_map(|s| s.get(placeholder.as_deref()?).and_then(referenced_resource))
            .filter_map(|resource| self.template.functions.get(&resource))
            .collect();
        if binaries.is_empty() {
            return Some(self.catalogue.all_errors().into_iter().map(str::to_string).collect());
        }
        let mut names = BTreeSet::new();
        for binary in binaries {
            names.extend(self.catalogue.errors(binary)?.iter().cloned());
        }
        Some(names)
    }
}

fn walk(
    states: &Json,
    prefix: &str,
    resolver: &Resolver<'_>,
    subs: &[&Substitutions],
    out: &mut Vec<(String, String)>,
) {
    let Some(states) = states.as_object() else { return };
    for (name, state) in states {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        let raisable = resolver.raisable(state, subs);
        for field in ["Retry", "Catch"] {
            for (i, rule) in state.get(field).and_then(Json::as_array).into_iter().flatten().enumerate() {
                for error in rule.get("ErrorEquals").and_then(Json::as_array).into_iter().flatten() {
                    let error = error.as_str().unwrap_or_default();
                    if !raisable.admits(error) {
                        out.push((
                            format!("States/{path}/{field}[{i}]"),
                            format!(
                                "`{error}` is raised by nothing this state runs (States.*, Lambda.*, the integration's \
                                 errors, or the function's error names)"
                            ),
                        ));
                    }
                }
            }
        }
        let task = state.get("Type").and_then(Json::as_str) == Some("Task");
        if task && raisable.exact.contains("Lambda.SdkClientException") {
            let retried: BTreeSet<&str> = state
                .get("Retry")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("ErrorEquals").and_then(Json::as_array))
                .flatten()
                .filter_map(Json::as_str)
                .collect();
            let covered = |e: &str| {
                retried.contains(e) || retried.contains("States.ALL") || retried.contains("States.TaskFailed")
            };
            let missing: Vec<&str> = LAMBDA_TRANSIENT.iter().copied().filter(|e| !covered(e)).collect();
            if !missing.is_empty() {
                out.push((
                    format!("States/{path}/Retry"),
                    format!(
                        "a Lambda task that does not retry {}: the Lambda service raises them on its own side \
                         (throttling, its faults, a lost connection) and a retry is safe",
                        missing.join(", ")
                    ),
                ));
            }
        }
        for (key, nested) in [("Branches", None), ("ItemProcessor", Some("States")), ("Iterator", Some("States"))] {
            match (state.get(key), nested) {
                (Some(Json::Array(branches)), None) => {
                    for (i, b) in branches.iter().enumerate() {
                        if let Some(s) = b.get("States") {
                            walk(s, &format!("{path}/{key}[{i}]"), resolver, subs, out);
                        }
                    }
                }
                (Some(p), Some(field)) => {
                    if let Some(s) = p.get(field) {
                        walk(s, &format!("{path}/{key}"), resolver, subs, out);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Each `ErrorEquals` name must be `States.*`, an error the Lambda service or the integration
/// raises, or a name the invoked function's error enums report: a misspelt name would never match.
pub(super) fn check_errors(
    inputs: &Inputs,
    template: &Template,
    machines: &[PathBuf],
    catalogue: &ActionCatalogue,
) -> CheckResult {
    let scope = "Retry and Catch names against States.*, the integrations and the functions' error enums; \
                 Lambda tasks retry the Lambda service's own failures"
        .to_string();
    let mut findings = Vec::new();
    let resolver = Resolver { template, catalogue };
    for file in machines {
        let Ok(definition) = std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Json>(&t).map_err(|e| e.to_string()))
        else {
            // Unreadable JSON is asl-validator's finding.
            continue;
        };
        let subs: Vec<_> = machines_for(inputs, template, file).into_iter().map(|(_, s)| s).collect();
        let mut bad = Vec::new();
        if let Some(states) = definition.get("States") {
            walk(states, "", &resolver, &subs, &mut bad);
        }
        for (location, message) in bad {
            findings.push(Finding { file: rel(inputs, file), location: Some(location), message });
        }
    }
    CheckResult { check: "errors", scope, findings }
}
