//! Scenarios: event files replayed through the runtime, with the outcomes they must produce.

// `scenarios/<name>/scenario.json` lists steps; each step writes log lines, sends an event,
// invokes a function or runs a state machine, then checks what it expects.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::admission::{Refusal, Stop};
use super::{Dispatch, Outcome, Runtime, RuntimeError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub description: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: String,
    #[serde(flatten)]
    pub action: Action,
    #[serde(default)]
    pub expect: Vec<Expectation>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Lines written to a log group (one per line of `file`), delivered to its subscribers.
    Logs { group: String, stream: String, file: String },
    /// An event (file) sent to a bus and routed by the template's rules; put by account `from`
    /// (default: the event's `account`), to which the bus's resource policy applies.
    Event {
        bus: String,
        file: String,
        #[serde(default)]
        from: Option<String>,
    },
    /// One function invoked with an event file.
    Invoke { function: String, file: String },
    /// A state machine (template name or definition file) run on an input file.
    Execution { machine: String, file: String },
    /// A schedule of the template (its event's logical id, or its end) fired at `at`.
    Schedule { name: String, at: chrono::DateTime<chrono::Utc> },
    /// Alarm `name` of `account` set to `state` (ALARM, OK) at `at`, as CloudWatch sets it; its
    /// state change, with the alarm's own configuration, is put on `bus` by that account.
    Alarm {
        account: String,
        name: String,
        state: String,
        reason: String,
        bus: String,
        at: chrono::DateTime<chrono::Utc>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expectation {
    /// A dispatch to `target` happened, with this outcome kind and an output containing `output`.
    Dispatch {
        target: String,
        outcome: String,
        #[serde(default)]
        output: Option<Value>,
    },
    /// Events the step's functions published, by detail-type.
    Published { detail_type: String, count: usize },
    /// Objects in a bucket (what Firehose delivered), at least this many.
    Bucket { name: String, min_objects: usize },
    /// Exactly `count` JSON objects under `prefix` (placeholders filled) in `bucket` contain
    /// `contains` (a report's verdict, say): what was written, not only that something was.
    Reports { bucket: String, prefix: String, contains: Value, count: usize },
    /// Parameters under a path (recursively), at least this many.
    Parameters { path: String, min: usize },
    /// Exactly one account of the organisation has this e-mail, and it sits in the OU named `ou`
    /// (`root`: directly under the root).
    Account { email: String, ou: String },
    /// The step's dispatches made these changing calls (`sns Publish`), among others; with
    /// `only`, these and no other.
    Changes {
        include: Vec<String>,
        #[serde(default)]
        only: bool,
    },
    /// The step's event of this detail-type was refused `at` the bus (its resource policy) or the
    /// rules (none matched), and no target ran: no dispatch, no AWS change.
    Refused { at: Stop, detail_type: String },
    /// The paging provider's stand-in holds exactly one incident whose key contains `key`, in
    /// `status` (triggered, resolved), having received exactly `actions` (trigger, resolve...).
    Paged { key: String, status: String, actions: Vec<String> },
}

/// One checked expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub step: String,
    pub expectation: String,
    pub met: bool,
    pub actual: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub scenario: String,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.met)
    }
}

pub fn load(root: &Path, name: &str) -> Result<(PathBuf, Scenario), RuntimeError> {
    let dir = root.join("scenarios").join(name);
    let path = dir.join("scenario.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|source| RuntimeError::Read { path: path.display().to_string(), source })?;
    let scenario =
        serde_json::from_str(&text).map_err(|e| RuntimeError::Invalid(format!("{}: {e}", path.display())))?;
    Ok((dir, scenario))
}

/// A scenario file, with `{{name}}` placeholders filled from the world (`{{account:abc-trading-dev}}`
/// is that account's id, which the emulator chose) and `{{id}}` a fresh event id.
pub fn read_json(dir: &Path, file: &str, facts: &BTreeMap<String, String>) -> Result<Value, RuntimeError> {
    let path = dir.join(file);
    let mut text = std::fs::read_to_string(&path)
        .map_err(|source| RuntimeError::Read { path: path.display().to_string(), source })?;
    for (name, value) in facts {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    text = text.replace("{{id}}", &uuid::Uuid::new_v4().to_string());
    if let Some(start) = text.find("{{") {
        let end = text[start..].find("}}").map_or(text.len(), |e| start + e + 2);
        return Err(RuntimeError::Invalid(format!("{}: unknown placeholder {}", path.display(), &text[start..end])));
    }
    serde_json::from_str(&text).map_err(|e| RuntimeError::Invalid(format!("{}: {e}", path.display())))
}

/// Replays every step and checks its expectations; progress goes to stderr.
pub async fn replay(
    runtime: &Arc<Runtime>,
    name: &str,
    dir: &Path,
    scenario: &Scenario,
    facts: &BTreeMap<String, String>,
) -> Result<Report, RuntimeError> {
    let mut checks = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        eprintln!("  .. step {}/{}: {}", i + 1, scenario.steps.len(), step.name);
        let published_before = runtime.published().len();
        let refused_before = runtime.refusals().len();
        let dispatches: Vec<Dispatch> = match &step.action {
            Action::Logs { group, stream, file } => {
                let path = dir.join(file);
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| RuntimeError::Read { path: path.display().to_string(), source })?;
                let lines: Vec<String> = text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
                runtime.write_logs(group, stream, &lines).await?
            }
            Action::Event { bus, file, from } => {
                let from = from.as_deref().map(|f| fill(f, facts)).transpose()?;
                runtime.send_event_from(bus, read_json(dir, file, facts)?, from.as_deref()).await?
            }
            Action::Invoke { function, file } => {
                let event = read_json(dir, file, facts)?;
                runtime.dispatch_with_follow(&format!("invoke {function}"), function, event).await?
            }
            Action::Execution { machine, file } => {
                let input = read_json(dir, file, facts)?;
                // A definition file next to the scenario, or a state machine of the template.
                let local = dir.join(machine);
                let target = if local.exists() { local.display().to_string() } else { machine.clone() };
                runtime.dispatch_with_follow(&format!("execution {machine}"), &target, input).await?
            }
            Action::Schedule { name, at } => runtime.fire_schedule(name, *at).await?,
            Action::Alarm { account, name, state, reason, bus, at } => {
                runtime.set_alarm(&fill(account, facts)?, &fill(name, facts)?, state, reason, bus, *at).await?
            }
        };
        let published: Vec<Value> = runtime.published().into_iter().skip(published_before).map(|(_, e)| e).collect();
        let refused: Vec<Refusal> = runtime.refusals().into_iter().skip(refused_before).collect();
        let seen = Seen { dispatches: &dispatches, published: &published, refused: &refused, facts };
        for expectation in &step.expect {
            checks.push(check(runtime, &step.name, expectation, &seen).await);
        }
        checks.extend(unrouted(&step.name, &step.expect, &refused));
    }
    Ok(Report { scenario: name.to_string(), checks })
}

/// What one step led to.
struct Seen<'a> {
    dispatches: &'a [Dispatch],
    published: &'a [Value],
    refused: &'a [Refusal],
    /// The world's facts, for placeholders in what is checked.
    facts: &'a BTreeMap<String, String>,
}

async fn check(runtime: &Runtime, step: &str, expectation: &Expectation, seen: &Seen<'_>) -> Check {
    let Seen { dispatches, published, refused, facts } = *seen;
    let (text, met, actual) = match expectation {
        Expectation::Dispatch { target, outcome, output } => {
            let meets = |d: &Dispatch| {
                let (kind, value) = match &d.outcome {
                    Outcome::Invoked { output, .. } => ("invoked".to_string(), Some(output)),
                    Outcome::InvokeFailed { error, .. } => (format!("failed:{error}"), None),
                    // `FAILED:<error>`: an expectation may name the error a failed execution ended with.
                    Outcome::Execution { status, output, error, .. } => match error {
                        Some(error) => (format!("{status}:{error}"), output.as_ref()),
                        None => (status.to_string(), output.as_ref()),
                    },
                };
                let kind_ok = kind == *outcome || kind.starts_with(&format!("{outcome}:"));
                kind_ok && output.as_ref().is_none_or(|want| value.is_some_and(|v| contains(v, want)))
            };
            // A step may start the same target several times (a detection per service): the
            // expectation holds for one of them; the first is shown when none meets it.
            let to_target =
                |d: &&Dispatch| runtime.same_resource(&d.target, target) || Path::new(&d.target).ends_with(target);
            let met_by = dispatches.iter().filter(to_target).find(|d| meets(d));
            let found = met_by.or_else(|| dispatches.iter().find(to_target));
            let actual = match found.map(|d| &d.outcome) {
                None => "no dispatch".to_string(),
                Some(Outcome::Invoked { output, .. }) => format!("invoked, output {output}"),
                Some(Outcome::InvokeFailed { error, .. }) => format!("failed:{error}"),
                Some(Outcome::Execution { status, output, error, .. }) => match output {
                    Some(o) => format!("{status}, output {o}"),
                    None => format!("{status}, error {}", error.as_deref().unwrap_or_default()),
                },
            };
            let met = met_by.is_some();
            let want = output.as_ref().map(|o| format!(" with output containing {o}")).unwrap_or_default();
            (format!("{target} {outcome}{want}"), met, actual)
        }
        Expectation::Published { detail_type, count } => {
            let n =
                published.iter().filter(|e| e.get("detail-type").and_then(Value::as_str) == Some(detail_type)).count();
            (format!("{count} {detail_type} event(s) published"), n == *count, format!("{n}"))
        }
        Expectation::Bucket { name, min_objects } => match runtime.bucket_keys(name) {
            Ok(keys) => (
                format!("at least {min_objects} object(s) in {name}"),
                keys.len() >= *min_objects,
                format!("{}", keys.len()),
            ),
            Err(e) => (format!("at least {min_objects} object(s) in {name}"), false, e.to_string()),
        },
        Expectation::Reports { bucket, prefix, contains: want, count } => {
            let text = format!("{count} report(s) under {bucket}/{prefix} containing {want}");
            match reports(runtime, bucket, &fill(prefix, facts).unwrap_or_else(|e| e.to_string()), want).await {
                Ok((n, of)) => (text, n == *count, format!("{n} of {of}")),
                Err(e) => (text, false, e.to_string()),
            }
        }
        Expectation::Parameters { path, min } => {
            let text = format!("at least {min} parameter(s) under {path}");
            match runtime.parameters_under(path).await {
                Ok(n) => (text, n >= *min, n.to_string()),
                Err(e) => (text, false, e.to_string()),
            }
        }
        Expectation::Account { email, ou } => {
            let text = format!("one account {email}, in OU {ou}");
            match runtime.accounts_by_email(email).await {
                Ok(found) => {
                    let met = found.len() == 1 && found[0].1.as_deref().unwrap_or("root") == ou.as_str();
                    let actual = found
                        .iter()
                        .map(|(id, ou)| format!("{id} in {}", ou.as_deref().unwrap_or("the root")))
                        .collect::<Vec<_>>()
                        .join(", ");
                    (text, met, if actual.is_empty() { "none".into() } else { actual })
                }
                Err(e) => (text, false, e.to_string()),
            }
        }
        Expectation::Changes { include, only } => {
            let made: Vec<&String> = dispatches.iter().flat_map(|d| &d.aws_changes).collect();
            let wanted = |m: &&String| include.iter().any(|want| m.starts_with(want.as_str()));
            let met = include.iter().all(|want| made.iter().any(|m| m.starts_with(want.as_str())))
                && (!*only || made.iter().all(wanted));
            let what = match (*only, include.is_empty()) {
                (true, true) => "no AWS change".to_string(),
                (true, false) => format!("AWS changes are only {}", include.join(", ")),
                _ => format!("AWS changes include {}", include.join(", ")),
            };
            (what, met, made.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", "))
        }
        Expectation::Refused { at, detail_type } => {
            let found = refused.iter().find(|r| &r.detail_type == detail_type);
            let met = found.is_some_and(|r| r.at == *at) && dispatches.is_empty();
            let actual = match found {
                Some(r) => format!("refused at the {} ({}); {} dispatch(es)", r.at, r.reason, dispatches.len()),
                None => format!("not refused; {} dispatch(es)", dispatches.len()),
            };
            (format!("{detail_type} refused at the {at}, nothing dispatched"), met, actual)
        }
        Expectation::Paged { key, status, actions } => {
            let incidents: Vec<_> =
                runtime.pager.snapshot().incidents.into_iter().filter(|i| i.key.contains(key.as_str())).collect();
            let describe = |i: &emulator::pager::Incident| {
                format!("{} {:?} after {}", i.key, i.status, i.actions.join(", ")).to_lowercase()
            };
            let met = match incidents.as_slice() {
                [one] => format!("{:?}", one.status).eq_ignore_ascii_case(status) && one.actions == *actions,
                _ => false,
            };
            let actual = match incidents.as_slice() {
                [] => "no incident".to_string(),
                list => list.iter().map(describe).collect::<Vec<_>>().join("; "),
            };
            (format!("one incident `{key}` {status} after {}", actions.join(", ")), met, actual)
        }
    };
    Check { step: step.to_string(), expectation: text, met, actual }
}

/// How many JSON objects under `prefix` contain `want`, of how many there are.
async fn reports(runtime: &Runtime, bucket: &str, prefix: &str, want: &Value) -> Result<(usize, usize), RuntimeError> {
    let keys: Vec<String> = runtime.bucket_keys(bucket)?.into_iter().filter(|k| k.starts_with(prefix)).collect();
    let mut n = 0;
    for key in &keys {
        let text = runtime.object_text(bucket, key).await?;
        let value: Value = serde_json::from_str(&text).map_err(|e| RuntimeError::Invalid(format!("{key}: {e}")))?;
        n += usize::from(contains(&value, want));
    }
    Ok((n, keys.len()))
}

/// Events published for subscribers outside the control plane: no rule of ours is meant to take
/// them, so reaching none is not a loss.
const INFORMATIONAL: &[&str] = &["AccountReady"];

/// A failed check for each event that reached no rule while nothing expected that: a detection
/// or request nobody acts on is an outcome the demo must fail on, not a line in the timeline.
fn unrouted(step: &str, expect: &[Expectation], refused: &[Refusal]) -> Vec<Check> {
    let expected = |r: &Refusal| {
        expect.iter().any(
            |e| matches!(e, Expectation::Refused { at, detail_type } if *at == r.at && *detail_type == r.detail_type),
        )
    };
    refused
        .iter()
        .filter(|r| r.at == Stop::Rule && !INFORMATIONAL.contains(&r.detail_type.as_str()) && !expected(r))
        .map(|r| Check {
            step: step.to_string(),
            expectation: format!("every {} reaches a rule", r.detail_type),
            met: false,
            actual: format!("{} from account {} on `{}`: {}", r.detail_type, r.sender, r.bus, r.reason),
        })
        .collect()
}

/// `{{name}}` placeholders of a scenario field filled from the world's facts.
fn fill(text: &str, facts: &BTreeMap<String, String>) -> Result<String, RuntimeError> {
    let mut out = text.to_string();
    for (name, value) in facts {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    match out.find("{{") {
        Some(_) => Err(RuntimeError::Invalid(format!("unknown placeholder in `{text}`"))),
        None => Ok(out),
    }
}

/// Whether `actual` holds everything in `want` (objects by key, recursively; the rest equal).
pub fn contains(actual: &Value, want: &Value) -> bool {
    match (actual, want) {
        (Value::Object(a), Value::Object(w)) => w.iter().all(|(k, v)| a.get(k).is_some_and(|x| contains(x, v))),
        _ => actual == want,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn outputs_are_matched_by_containment() {
        let actual = json!({"records": 3, "detail": {"a": 1, "b": [1, 2]}, "extra": true});
        assert!(contains(&actual, &json!({"records": 3})));
        assert!(contains(&actual, &json!({"detail": {"b": [1, 2]}})));
        assert!(!contains(&actual, &json!({"detail": {"b": [1]}})));
        assert!(!contains(&actual, &json!({"missing": null})));
    }

    #[test]
    fn an_unrouted_event_fails_its_step_unless_expected_or_informational() {
        let refusal = |detail_type: &str, at: Stop| Refusal {
            at,
            bus: "abc-trading-dev".into(),
            sender: "123456789012".into(),
            detail_type: detail_type.into(),
            reason: "no rule on `abc-trading-dev` matches".into(),
        };
        let detection = refusal("FailureSignatureDetected", Stop::Rule);
        let failed = unrouted("logs", &[], std::slice::from_ref(&detection));
        assert_eq!(failed.len(), 1);
        assert!(!failed[0].met && failed[0].actual.contains("FailureSignatureDetected"), "{failed:?}");
        assert!(unrouted("vend", &[], &[refusal("AccountReady", Stop::Rule)]).is_empty(), "informational");
        assert!(unrouted("forged", &[], &[refusal("AccountRequested", Stop::Bus)]).is_empty(), "the bus's own check");
        let expected = [Expectation::Refused { at: Stop::Rule, detail_type: "FailureSignatureDetected".into() }];
        assert!(unrouted("x", &expected, &[detection]).is_empty(), "expected by the step");
    }

    #[test]
    fn every_shipped_scenario_parses() {
        let root = emulator::workspace_root();
        let dir = root.join("scenarios");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("scenarios/") {
            let name = entry.expect("entry").file_name().to_string_lossy().to_string();
            let (dir, scenario) = load(&root, &name).unwrap_or_else(|e| panic!("{name}: {e}"));
            for step in &scenario.steps {
                let file = match &step.action {
                    Action::Logs { file, .. }
                    | Action::Event { file, .. }
                    | Action::Invoke { file, .. }
                    | Action::Execution { file, .. } => file,
                    Action::Schedule { .. } | Action::Alarm { .. } => continue,
                };
                assert!(dir.join(file).exists(), "{name}/{}: {file} is missing", step.name);
            }
            names.push(name);
        }
        assert!(names.contains(&"default".to_string()), "{names:?}");
    }
}
