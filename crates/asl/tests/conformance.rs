//! Conformance: every case in `conformance/cases.json` runs in our engine and in moto's Step
//! Functions engine (with the same canned Task results); status, output and error must agree.
//!
//! Causes are compared for errors a definition or a task names itself; the causes of `States.*`
//! errors are messages each engine words its own way. A case may list a known difference (in the
//! crate README too): those fields must then differ, so a fixed moto or a regression of ours shows.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;

use asl::{Failure, Resolver, Start, StateMachine, TaskContext, TaskOutput, TaskRequest, execute};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    definition: Value,
    #[serde(default)]
    input: Value,
    #[serde(default)]
    mocks: BTreeMap<String, Vec<Value>>,
    difference: Option<Difference>,
}

#[derive(Debug, Deserialize)]
struct Difference {
    fields: Vec<String>,
    why: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Outcome {
    status: String,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
}

/// Canned answers per state and retry number, read as Step Functions Local reads a MockConfigFile.
#[derive(Debug)]
struct Mocks(BTreeMap<String, Vec<Value>>);

#[async_trait]
impl Resolver for Mocks {
    async fn run(&self, request: TaskRequest, context: &TaskContext) -> Result<TaskOutput, Failure> {
        let answer = self
            .0
            .get(&context.state_name)
            .and_then(|answers| answers.get(context.attempt as usize))
            .ok_or_else(|| Failure::new("Mock.Missing", format!("no answer for `{}`", context.state_name)))?;
        if let Some(throw) = answer.get("Throw") {
            let text = |k: &str| throw.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            return Err(Failure::new(text("Error"), text("Cause")));
        }
        let value = answer.get("Return").cloned().unwrap_or(Value::Null);
        // A mocked Lambda answer is the integration response; the engine wraps the payload itself.
        let value = match (&request, value.get("Payload")) {
            (TaskRequest::Lambda { .. }, Some(payload)) => payload.clone(),
            _ => value,
        };
        Ok(TaskOutput::now(value))
    }
}

fn moto_outcomes(cases_path: &std::path::Path) -> BTreeMap<String, Outcome> {
    let root = emulator::workspace_root();
    emulator::ensure_installed(&root).expect("the project venv installs");
    let out = tempfile::NamedTempFile::new().expect("temp file");
    let run = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("crates/asl/conformance/moto_run.py"))
        .arg(cases_path)
        .arg(out.path())
        .output()
        .expect("python runs");
    assert!(run.status.success(), "moto run failed: {}", String::from_utf8_lossy(&run.stderr));
    serde_json::from_slice(&std::fs::read(out.path()).expect("results")).expect("results are JSON")
}

async fn ours(case: &Case) -> Outcome {
    let machine = StateMachine::from_value(&case.definition).unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let e =
        execute(&machine, case.input.clone(), Start::named("conformance"), Arc::new(Mocks(case.mocks.clone()))).await;
    Outcome { status: e.status.as_str().to_string(), output: e.output, error: e.error, cause: e.cause }
}

#[tokio::test(flavor = "multi_thread")]
async fn our_engine_agrees_with_moto_on_every_case() {
    let path = emulator::workspace_root().join("crates/asl/conformance/cases.json");
    let cases: Vec<Case> = serde_json::from_slice(&std::fs::read(&path).expect("cases")).expect("cases parse");
    assert!(cases.len() >= 60, "the issue asks for at least 60 cases, found {}", cases.len());
    let moto = tokio::task::spawn_blocking(move || moto_outcomes(&path)).await.expect("moto thread");
    let mut problems = Vec::new();
    for case in &cases {
        let theirs = moto.get(&case.name).unwrap_or_else(|| panic!("moto has no result for `{}`", case.name));
        let mine = ours(case).await;
        let named_error = mine.error.as_deref().is_some_and(|e| !e.starts_with("States."));
        let fields: [(&str, bool); 4] = [
            ("status", mine.status == theirs.status),
            ("output", mine.output == theirs.output),
            ("error", mine.error == theirs.error),
            ("cause", !named_error || mine.cause == theirs.cause),
        ];
        let expected: Vec<&str> =
            case.difference.as_ref().map(|d| d.fields.iter().map(String::as_str).collect()).unwrap_or_default();
        for (field, agree) in fields {
            let listed = expected.contains(&field);
            if !agree && !listed {
                problems.push(format!("{}: {field} differs\n  ours: {mine:?}\n  moto: {theirs:?}", case.name));
            }
            if agree && listed && field != "cause" {
                problems.push(format!(
                    "{}: {field} was listed as a known difference ({}) but now agrees",
                    case.name,
                    case.difference.as_ref().map(|d| d.why.as_str()).unwrap_or_default()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{} conformance problems:\n{}", problems.len(), problems.join("\n"));
}
