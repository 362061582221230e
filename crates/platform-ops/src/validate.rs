//! `platform-ops validate`: config tree, CloudFormation templates and state machines, in one report.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value as Json;
use serde_norway::Value as Yaml;

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
}

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
        Ok(())
    }
}

/// Validates the repository at `root` against the actions of the linked function crates.
pub fn run(root: &Path, catalogue: &ActionCatalogue) -> Report {
    run_with(&Inputs::for_root(root), catalogue)
}

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
    Report {
        checks: vec![
            check_config(inputs, &tree),
            check_generated(inputs, tree.as_ref().ok()),
            check_cfn_lint(inputs, &templates),
            check_asl(inputs, &machines),
            check_substitutions(inputs, &template, &machines),
            check_actions(inputs, &template, &machines, catalogue),
            check_suppressions(inputs, &templates),
            check_samconfig(inputs, tree.as_ref().ok()),
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

fn check_config(inputs: &Inputs, tree: &Result<ConfigTree, ConfigErrors>) -> CheckResult {
    let findings = match tree {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .issues
            .iter()
            .map(|i| Finding {
                file: rel(inputs, &i.file),
                location: (!i.key.is_empty()).then(|| i.key.clone()),
                message: i.message.clone(),
            })
            .collect(),
    };
    CheckResult { check: "config", scope: rel(inputs, &inputs.config_dir), findings }
}

/// What the templates take from the config is its rendering (defined once, in config/).
fn check_generated(inputs: &Inputs, tree: Option<&ConfigTree>) -> CheckResult {
    let mut result =
        CheckResult { check: "generated", scope: rel(inputs, &inputs.stacksets_dir), findings: Vec::new() };
    // A repository without these templates (a fixture) has nothing to compare; a config that
    // does not load is reported by the config check.
    if !crate::templates::BLOCKS.iter().all(|b| inputs.root.join(b.file).exists()) {
        return result;
    }
    let Some(tree) = tree else { return result };
    match crate::templates::check(&inputs.root, tree) {
        Ok(files) => {
            for (file, current, rendered) in files {
                if current != rendered {
                    result.findings.push(Finding {
                        file,
                        location: None,
                        message:
                            "what it takes from config/ is out of date: run `platform-ops config templates --write`"
                                .into(),
                    });
                }
            }
        }
        Err(e) => result.findings.push(Finding {
            file: rel(inputs, &inputs.stacksets_dir),
            location: None,
            message: e.to_string(),
        }),
    }
    result
}

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

fn check_cfn_lint(inputs: &Inputs, templates: &[PathBuf]) -> CheckResult {
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

fn check_asl(inputs: &Inputs, machines: &[PathBuf]) -> CheckResult {
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

/// The parts of template.yaml the state-machine checks need.
#[derive(Debug, Default)]
struct Template {
    /// Problem reading the template, reported by the checks that need it.
    error: Option<String>,
    /// State machine resources: logical id -> (definition path relative to the template, substitutions).
    machines: BTreeMap<String, (String, BTreeMap<String, Yaml>)>,
    /// Function resources: logical id -> function name (the built binary).
    functions: BTreeMap<String, String>,
}

fn load_template(path: &Path) -> Template {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Template { error: Some(format!("cannot read template: {e}")), ..Template::default() },
    };
    let doc: Yaml = match serde_norway::from_str(&text) {
        Ok(d) => d,
        Err(e) => return Template { error: Some(format!("template is not YAML: {e}")), ..Template::default() },
    };
    let mut template = Template::default();
    let Some(resources) = doc.get("Resources").and_then(Yaml::as_mapping) else {
        return Template { error: Some("template has no Resources".into()), ..template };
    };
    for (id, resource) in resources {
        let Some(id) = id.as_str() else { continue };
        let kind = resource.get("Type").and_then(Yaml::as_str).unwrap_or_default();
        let props = resource.get("Properties");
        match kind {
            "AWS::Serverless::StateMachine" => {
                // An inline `Definition` has no file to check here; cfn-lint reads it in place.
                let Some(uri) = props.and_then(|p| p.get("DefinitionUri")).and_then(Yaml::as_str) else { continue };
                let subs = props
                    .and_then(|p| p.get("DefinitionSubstitutions"))
                    .and_then(Yaml::as_mapping)
                    .map(|m| m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone()))).collect())
                    .unwrap_or_default();
                template.machines.insert(id.to_string(), (uri.to_string(), subs));
            }
            "AWS::Serverless::Function" => {
                let binary = resource
                    .get("Metadata")
                    .and_then(|m| m.get("BuildProperties"))
                    .and_then(|b| b.get("Binary"))
                    .and_then(Yaml::as_str)
                    .map(str::to_string);
                let code_dir = props
                    .and_then(|p| p.get("CodeUri"))
                    .and_then(Yaml::as_str)
                    .and_then(|c| Path::new(c).file_name().and_then(|n| n.to_str()).map(str::to_string));
                template.functions.insert(id.to_string(), binary.or(code_dir).unwrap_or_else(|| id.to_string()));
            }
            _ => {}
        }
    }
    template
}

/// The logical id a substitution value points at: `!GetAtt X.Arn`, `!Ref X`, or their long forms.
fn referenced_resource(value: &Yaml) -> Option<String> {
    crate::runtime::template::logical_target(value)
}

/// Every `${Name}` in a definition's text. `${AWS::Region}` and friends count too: Step Functions
/// substitutes only what DefinitionSubstitutions supplies, so a pseudo-parameter must be passed in.
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        // A placeholder is an identifier (CloudFormation allows `.` and `::`) closed by `}`.
        let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || "_.:".contains(c))).unwrap_or(rest.len());
        let name = &rest[..len];
        if rest[len..].starts_with('}') && !name.is_empty() {
            out.insert(name.to_string());
        }
        rest = &rest[len..];
    }
    out
}

/// The template's state machines that use `file` as their definition.
fn machines_for<'t>(
    inputs: &Inputs,
    template: &'t Template,
    file: &Path,
) -> Vec<(&'t String, &'t BTreeMap<String, Yaml>)> {
    let base = inputs.template.parent().unwrap_or(Path::new("."));
    template
        .machines
        .iter()
        .filter(|(_, (uri, _))| same_file(&base.join(uri), file))
        .map(|(id, (_, subs))| (id, subs))
        .collect()
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn check_substitutions(inputs: &Inputs, template: &Template, machines: &[PathBuf]) -> CheckResult {
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

fn check_actions(
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

/// Every checkov skip in a template names the check and says why, in its own words.
fn check_suppressions(inputs: &Inputs, templates: &[PathBuf]) -> CheckResult {
    let scope = templates.iter().map(|t| rel(inputs, t)).collect::<Vec<_>>().join(", ");
    let mut result = CheckResult { check: "suppressions", scope, findings: Vec::new() };
    for path in templates {
        let file = rel(inputs, path);
        // Unreadable templates are cfn-lint's to report.
        let Ok(doc) = std::fs::read_to_string(path)
            .map_err(|_| ())
            .and_then(|t| serde_norway::from_str::<Yaml>(&t).map_err(|_| ()))
        else {
            continue;
        };
        let Some(resources) = doc.get("Resources").and_then(Yaml::as_mapping) else { continue };
        for (id, resource) in resources {
            let id = id.as_str().unwrap_or_default();
            let Some(skips) = resource.get("Metadata").and_then(|m| m.get("checkov")).and_then(|c| c.get("skip"))
            else {
                continue;
            };
            let location = format!("Resources/{id}/Metadata/checkov/skip");
            let Some(skips) = skips.as_sequence() else {
                result.findings.push(Finding {
                    file: file.clone(),
                    location: Some(location),
                    message: "must be a list of {id, comment}".into(),
                });
                continue;
            };
            let mut seen = BTreeSet::new();
            for (i, skip) in skips.iter().enumerate() {
                let at = Some(format!("{location}/{i}"));
                let check = skip.get("id").and_then(Yaml::as_str).unwrap_or_default();
                if !is_checkov_id(check) {
                    result.findings.push(Finding {
                        file: file.clone(),
                        location: at.clone(),
                        message: format!("`{check}` is not a checkov check id (CKV_AWS_123, CKV2_AWS_12)"),
                    });
                } else if !seen.insert(check.to_string()) {
                    result.findings.push(Finding {
                        file: file.clone(),
                        location: at.clone(),
                        message: format!("{check} is skipped twice"),
                    });
                }
                let comment = skip.get("comment").and_then(Yaml::as_str).unwrap_or_default().trim();
                // A reason is a sentence about this resource, not a word.
                if comment.split_whitespace().count() < 5 {
                    result.findings.push(Finding {
                        file: file.clone(),
                        location: at,
                        message: format!("the skip of `{check}` needs a comment with its reason (found `{comment}`)"),
                    });
                }
            }
        }
    }
    result
}

fn is_checkov_id(id: &str) -> bool {
    let mut parts = id.split('_');
    matches!(parts.next(), Some("CKV" | "CKV2"))
        && parts.next().is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_uppercase()))
        && parts.next().is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && parts.next().is_none()
}

/// The template's parameters: name -> (has a default, allowed values).
fn template_parameters(path: &Path) -> Option<BTreeMap<String, (bool, Vec<String>)>> {
    let doc: Yaml = serde_norway::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let params = doc.get("Parameters")?.as_mapping()?;
    Some(
        params
            .iter()
            .filter_map(|(k, v)| {
                let allowed = v
                    .get("AllowedValues")
                    .and_then(Yaml::as_sequence)
                    .map(|s| s.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                Some((k.as_str()?.to_string(), (v.get("Default").is_some(), allowed)))
            })
            .collect(),
    )
}

/// `KEY=VALUE` pairs of a samconfig `parameter_overrides`: a list of pairs, or one string of
/// space-separated pairs whose values may be double-quoted.
fn parameter_overrides(value: &toml::Value) -> Result<Vec<(String, String)>, String> {
    let items: Vec<String> = match value {
        toml::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or("every item must be a string"))
            .collect::<Result<_, _>>()?,
        toml::Value::String(text) => {
            let mut items = Vec::new();
            let (mut current, mut quoted) = (String::new(), false);
            for c in text.chars() {
                match c {
                    '"' => quoted = !quoted,
                    c if c.is_whitespace() && !quoted => {
                        if !current.is_empty() {
                            items.push(std::mem::take(&mut current));
                        }
                    }
                    c => current.push(c),
                }
            }
            if !current.is_empty() {
                items.push(current);
            }
            items
        }
        _ => return Err("must be a list of KEY=VALUE strings, or one string of them".into()),
    };
    items
        .into_iter()
        .map(|item| match item.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.trim_matches('"').to_string())),
            _ => Err(format!("`{item}` is not KEY=VALUE")),
        })
        .collect()
}

/// Each `sam deploy` profile against the template and the config: known parameters, the required
/// ones present, allowed values, Environment equal to the profile, MemberRegions equal to the
/// environment's regions, and the stack name the pipeline roles are limited to.
fn check_samconfig(inputs: &Inputs, tree: Option<&ConfigTree>) -> CheckResult {
    let file = rel(inputs, &inputs.samconfig);
    let mut result = CheckResult { check: "samconfig", scope: file.clone(), findings: Vec::new() };
    let Ok(text) = std::fs::read_to_string(&inputs.samconfig) else { return result };
    let mut finding = |location: String, message: String| {
        result.findings.push(Finding { file: file.clone(), location: Some(location), message })
    };
    let doc: toml::Table = match toml::from_str(&text) {
        Ok(d) => d,
        Err(e) => {
            finding(String::new(), format!("not TOML: {e}"));
            return result;
        }
    };
    let Some(params) = template_parameters(&inputs.template) else { return result };
    for (profile, table) in &doc {
        let Some(deploy) = table.get("deploy").and_then(|d| d.get("parameters")) else { continue };
        let at = format!("{profile}.deploy.parameters");
        let overrides = match deploy.get("parameter_overrides").map(parameter_overrides) {
            None => {
                finding(at, "has no parameter_overrides".into());
                continue;
            }
            Some(Err(e)) => {
                finding(format!("{at}.parameter_overrides"), e);
                continue;
            }
            Some(Ok(o)) => o,
        };
        let given: BTreeMap<&str, &str> = overrides.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        for (name, value) in &given {
            match params.get(*name) {
                None => {
                    finding(format!("{at}.parameter_overrides"), format!("`{name}` is not a parameter of the template"))
                }
                Some((_, allowed)) if !allowed.is_empty() && !allowed.iter().any(|a| a == value) => finding(
                    format!("{at}.parameter_overrides"),
                    format!("{name}=`{value}` is not one of {}", allowed.join(", ")),
                ),
                _ => {}
            }
        }
        for (name, (has_default, _)) in &params {
            if !has_default && !given.contains_key(name.as_str()) {
                finding(
                    format!("{at}.parameter_overrides"),
                    format!("`{name}` is required by the template and not given"),
                );
            }
        }
        if given.get("Environment") != Some(&profile.as_str()) {
            finding(
                format!("{at}.parameter_overrides"),
                format!(
                    "Environment=`{}` in profile `{profile}`: they must be the same",
                    given.get("Environment").unwrap_or(&"")
                ),
            );
            continue;
        }
        let Some(tree) = tree else { continue };
        let Some(env) = tree.environment(profile) else {
            finding(at, format!("profile `{profile}` is not an environment of config/"));
            continue;
        };
        let regions = env.regions.join(",");
        if let Some(given_regions) = given.get("MemberRegions")
            && *given_regions != regions
        {
            finding(
                format!("{at}.parameter_overrides"),
                format!("MemberRegions=`{given_regions}` but config/environments/{profile}.toml has `{regions}`"),
            );
        }
        let stack = format!("{}-platform-ops", tree.resource_prefix(profile));
        match deploy.get("stack_name").and_then(toml::Value::as_str) {
            Some(name) if name == stack => {}
            other => finding(
                format!("{at}.stack_name"),
                format!(
                    "`{}` must be `{stack}` (the pipeline roles may change only that stack)",
                    other.unwrap_or_default()
                ),
            ),
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_identifiers_including_pseudo_parameters() {
        let found = placeholders(r#"{"a": "${FnArn}", "b": "arn:${AWS::Partition}:x:${Other}", "c": "${"}"#);
        let expected = ["AWS::Partition", "FnArn", "Other"].map(str::to_string);
        assert_eq!(found, BTreeSet::from(expected));
    }

    #[test]
    fn references_resolve_in_short_and_long_form() {
        let short: Yaml = serde_norway::from_str("!GetAtt VendingFunction.Arn").expect("yaml");
        let reference: Yaml = serde_norway::from_str("!Ref VendingFunction").expect("yaml");
        let long: Yaml = serde_norway::from_str("{'Fn::GetAtt': [VendingFunction, Arn]}").expect("yaml");
        let sub: Yaml = serde_norway::from_str("!Sub '${VendingFunction.Arn}'").expect("yaml");
        for v in [short, reference, long] {
            assert_eq!(referenced_resource(&v).as_deref(), Some("VendingFunction"));
        }
        assert_eq!(referenced_resource(&sub), None);
    }
}
