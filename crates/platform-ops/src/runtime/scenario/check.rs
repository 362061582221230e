//! A scenario step's expectations checked against what it led to: dispatches, events, refusals, the emulator's state.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{Check, Expectation, Seen};
use crate::runtime::admission::{Refusal, Stop};
use crate::runtime::timeline::readable;
use crate::runtime::{Dispatch, Outcome, Runtime, RuntimeError};

pub(super) async fn check(runtime: &Runtime, step: &str, expectation: &Expectation, seen: &Seen<'_>) -> Check {
    let Seen { dispatches, published, refused, facts, decision } = *seen;
    let (text, met, actual) = match expectation {
        Expectation::Dispatch { target, outcome, output, cause: want_cause } => {
            // A step may start the same target several times (a detection per service): this
            // expectation holds for one of them, and [`unaccounted`] fails the step for any
            // dispatch to the target no expectation holds for; the first is shown when none meets it.
            let same = |a: &str, b: &str| runtime.same_resource(a, b);
            let to_target = |d: &&Dispatch| to_target(&same, d, target);
            let met_by = dispatches.iter().filter(to_target).find(|d| meets(d, expectation));
            let found = met_by.or_else(|| dispatches.iter().find(to_target));
            let actual = found.map_or_else(|| "no dispatch".to_string(), describe);
            let met = met_by.is_some();
            let mut want = output.as_ref().map(|o| format!(" with output containing {o}")).unwrap_or_default();
            if let Some(c) = want_cause {
                want.push_str(&format!(" with cause containing `{c}`"));
            }
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
            // Totals over the step's dispatches by call (`sns Publish`): `sns Publish x2` holds
            // for exactly two, never for twelve; a call named without a count, for any.
            let made = change_totals(dispatches.iter().flat_map(|d| &d.aws_changes));
            let met = changes_met(&made, include, *only);
            let what = match (*only, include.is_empty()) {
                (true, true) => "no AWS change".to_string(),
                (true, false) => format!("AWS changes are only {}", include.join(", ")),
                _ => format!("AWS changes include {}", include.join(", ")),
            };
            (what, met, made.iter().map(|(call, n)| format!("{call} x{n}")).collect::<Vec<_>>().join(", "))
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
        Expectation::Decision { delivered, message } => {
            let want = match (delivered, message) {
                (true, _) => "the decision delivered to the waiting release".to_string(),
                (false, Some(m)) => format!("the decision refused: …{m}…"),
                (false, None) => "the decision refused".to_string(),
            };
            let (met, actual) = match decision {
                None => (false, "no decision in this step".to_string()),
                Some(Ok(done)) => (*delivered, done.clone()),
                Some(Err(why)) => {
                    (!delivered && message.as_ref().is_none_or(|m| why.contains(m.as_str())), why.clone())
                }
            };
            (want, met, actual)
        }
        Expectation::Waiting { state } => {
            let waiting: Vec<String> = runtime.tokens.pending().into_iter().map(|p| p.state).collect();
            (format!("a task waits for its callback at {state}"), waiting.contains(state), waiting.join(", "))
        }
        Expectation::Runs { environment, account, release } => {
            let account = fill(account, facts).unwrap_or_else(|e| e.to_string());
            let text = format!("account {account} of {environment} runs {release}");
            let name = format!("/abc-trading/accounts/{environment}/{account}/release");
            match runtime.parameter(&name).await {
                Ok(Some(record)) => {
                    let running = serde_json::from_str::<Value>(&record)
                        .ok()
                        .and_then(|r| r.get("name").and_then(Value::as_str).map(str::to_string))
                        .unwrap_or_default();
                    (text, running == *release, running)
                }
                Ok(None) => (text, false, "no release recorded".into()),
                Err(e) => (text, false, e.to_string()),
            }
        }
        Expectation::Image { environment, account, service, tag } => {
            let account = fill(account, facts).unwrap_or_else(|e| e.to_string());
            let text = format!("every container of {service} in {account} of {environment} runs tag {tag}");
            let images = runtime.workload_images(environment, &account, service);
            // `repo:tag@sha256:...` or `repo:tag`: the tag is what follows the last `:` before any digest.
            let tag_of = |image: &str| {
                let name = image.split('@').next().unwrap_or(image);
                name.rsplit_once(':').map(|(_, t)| t.to_string()).unwrap_or_default()
            };
            let met = !images.is_empty() && images.iter().all(|i| tag_of(i) == *tag);
            let actual = if images.is_empty() { "no such workload".to_string() } else { images.join(", ") };
            (text, met, actual)
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

/// Whether `d` went to `target` (a template name, logical id or ARN, or a definition file).
fn to_target(same: &dyn Fn(&str, &str) -> bool, d: &Dispatch, target: &str) -> bool {
    same(&d.target, target) || Path::new(&d.target).ends_with(target)
}

fn cause_of(d: &Dispatch) -> Option<String> {
    match &d.outcome {
        Outcome::InvokeFailed { cause, .. } | Outcome::Execution { cause: Some(cause), .. } => Some(readable(cause)),
        _ => None,
    }
}

/// Whether `d` ended as the dispatch expectation `e` says (target aside).
fn meets(d: &Dispatch, e: &Expectation) -> bool {
    let Expectation::Dispatch { outcome, output, cause: want_cause, .. } = e else { return false };
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
    let cause_ok = want_cause.as_ref().is_none_or(|want| cause_of(d).is_some_and(|c| c.contains(want)));
    kind_ok && cause_ok && output.as_ref().is_none_or(|want| value.is_some_and(|v| contains(v, want)))
}

fn describe(d: &Dispatch) -> String {
    match &d.outcome {
        Outcome::Invoked { output, .. } => format!("invoked, output {output}"),
        Outcome::InvokeFailed { error, .. } => format!("failed:{error}"),
        Outcome::Execution { status, output, error, cause, .. } => match output {
            Some(o) => format!("{status}, output {o}"),
            None => format!(
                "{status}, error {}{}",
                error.as_deref().unwrap_or_default(),
                cause.as_deref().map(|c| format!(", cause {}", readable(c))).unwrap_or_default()
            ),
        },
    }
}

/// A failed check for each dispatch to a target the step names that none of the step's
/// expectations for that target holds for: every matching dispatch is checked, not just one
/// (a second detection's triage failing next to a first that succeeded fails the step).
/// `same`: whether two names are the same template resource.
pub(super) fn unaccounted(
    same: &dyn Fn(&str, &str) -> bool,
    step: &str,
    expect: &[Expectation],
    dispatches: &[Dispatch],
) -> Vec<Check> {
    let targets: Vec<&str> = expect
        .iter()
        .filter_map(|e| match e {
            Expectation::Dispatch { target, .. } => Some(target.as_str()),
            _ => None,
        })
        .collect();
    // A second delivery made by `--duplicate-deliveries` is judged by its effects (none), not
    // by the outcomes the scenario wrote for the first.
    dispatches
        .iter()
        .filter(|d| !d.redelivery)
        .filter_map(|d| {
            let named: Vec<&str> = targets.iter().copied().filter(|t| to_target(same, d, t)).collect();
            let accounted = expect.iter().any(|e| {
                matches!(e, Expectation::Dispatch { target, .. } if named.contains(&target.as_str())) && meets(d, e)
            });
            (!named.is_empty() && !accounted).then(|| Check {
                step: step.to_string(),
                expectation: format!("every dispatch to {} as an expectation of the step says", named[0]),
                met: false,
                actual: describe(d),
            })
        })
        .collect()
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
pub(super) fn unrouted(step: &str, expect: &[Expectation], refused: &[Refusal]) -> Vec<Check> {
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
pub(super) fn fill(text: &str, facts: &BTreeMap<String, String>) -> Result<String, RuntimeError> {
    let mut out = text.to_string();
    for (name, value) in facts {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    match out.find("{{") {
        Some(_) => Err(RuntimeError::Invalid(format!("unknown placeholder in `{text}`"))),
        None => Ok(out),
    }
}

/// Whether `actual` holds everything in `want` (objects by key and lists item by item,
/// recursively; the rest equal).
pub fn contains(actual: &Value, want: &Value) -> bool {
    match (actual, want) {
        (Value::Object(a), Value::Object(w)) => w.iter().all(|(k, v)| a.get(k).is_some_and(|x| contains(x, v))),
        // Lists item by item, as many as wanted: `[{"wave": "canary"}]` holds one wave named so.
        (Value::Array(a), Value::Array(w)) => a.len() == w.len() && a.iter().zip(w).all(|(x, v)| contains(x, v)),
        _ => actual == want,
    }
}

/// `sns Publish x2` as (`sns Publish`, Some(2)); `sns Publish` as (`sns Publish`, None).
fn split_count(change: &str) -> (&str, Option<u64>) {
    match change.rsplit_once(" x") {
        Some((call, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => (call, n.parse().ok()),
        _ => (change, None),
    }
}

/// The calls of several dispatches' `aws_changes` (`ssm PutParameter x3`), summed by call.
fn change_totals<'a>(changes: impl Iterator<Item = &'a String>) -> BTreeMap<&'a str, u64> {
    let mut totals = BTreeMap::new();
    for change in changes {
        let (call, n) = split_count(change);
        *totals.entry(call).or_insert(0) += n.unwrap_or(1);
    }
    totals
}

/// Whether the calls `made` (totals by call) meet `include`: each named call made exactly its
/// count (any count when none is given), a service named alone (`dynamodb`) standing for each
/// of its calls; with `only`, nothing else made.
fn changes_met(made: &BTreeMap<&str, u64>, include: &[String], only: bool) -> bool {
    let names = |want: &str, call: &str| {
        call == want || (!want.contains(' ') && call.strip_prefix(want).is_some_and(|r| r.starts_with(' ')))
    };
    include.iter().all(|want| {
        let (want, count) = split_count(want);
        let n: u64 = made.iter().filter(|(call, _)| names(want, call)).map(|(_, n)| n).sum();
        n > 0 && count.is_none_or(|c| c == n)
    }) && (!only || made.keys().all(|call| include.iter().any(|want| names(split_count(want).0, call))))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{Action, load};
    use super::*;

    #[test]
    fn outputs_are_matched_by_containment() {
        let actual = json!({"records": 3, "detail": {"a": 1, "b": [1, 2]}, "extra": true});
        assert!(contains(&actual, &json!({"records": 3})));
        assert!(contains(&actual, &json!({"detail": {"b": [1, 2]}})));
        assert!(!contains(&actual, &json!({"detail": {"b": [1]}})));
        assert!(!contains(&actual, &json!({"missing": null})));
        let waves = json!([{"wave": "canary", "results": [1]}, {"wave": "rest"}]);
        assert!(contains(&waves, &json!([{"wave": "canary"}, {"wave": "rest"}])));
        assert!(!contains(&waves, &json!([{"wave": "canary"}])), "as many items as wanted");
    }

    /// GIVEN two dispatches to the same target in a step, one succeeded and one failed WHEN the
    /// step expects only the success THEN the failed one fails the step; WHEN it expects both
    /// THEN the step holds; a dispatch to a target the step does not name is not judged here.
    #[test]
    fn every_dispatch_to_a_named_target_is_checked_not_only_one() {
        let dispatch = |target: &str, status: asl::Status| Dispatch {
            via: "rule".into(),
            target: target.into(),
            outcome: Outcome::Execution {
                status,
                output: None,
                error: None,
                cause: None,
                transitions: 1,
                duration_s: 0.0,
            },
            aws_changes: Vec::new(),
            aws_reads: Vec::new(),
            redelivery: false,
        };
        let expect = |outcome: &str| Expectation::Dispatch {
            target: "Triage".into(),
            outcome: outcome.into(),
            output: None,
            cause: None,
        };
        let same = |a: &str, b: &str| a == b;
        let seen = [
            dispatch("Triage", asl::Status::Succeeded),
            dispatch("Triage", asl::Status::Failed),
            dispatch("Other", asl::Status::Failed),
            // A second delivery is judged by its effects, not by the first delivery's outcome.
            Dispatch { redelivery: true, ..dispatch("Triage", asl::Status::Failed) },
        ];
        let failed = unaccounted(&same, "logs", &[expect("SUCCEEDED")], &seen);
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0].actual, "FAILED, error ");
        assert!(unaccounted(&same, "logs", &[expect("SUCCEEDED"), expect("FAILED")], &seen).is_empty());
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
                    Action::Schedule { .. }
                    | Action::Alarm { .. }
                    | Action::Decide { .. }
                    | Action::Advance { .. }
                    | Action::Drift { .. }
                    | Action::Parameter { .. } => continue,
                };
                assert!(dir.join(file).exists(), "{name}/{}: {file} is missing", step.name);
            }
            names.push(name);
        }
        assert!(names.contains(&"default".to_string()), "{names:?}");
    }
}

#[cfg(test)]
mod changes_tests {
    use super::*;

    fn made(changes: &[&str]) -> Vec<String> {
        changes.iter().map(|c| c.to_string()).collect()
    }

    fn want(wanted: &[&str]) -> Vec<String> {
        made(wanted)
    }

    /// GIVEN ten publishes THEN `x1` does not hold (it once did, as a prefix of `x10`), `x10` does,
    /// and the dispatches' counts add up.
    #[test]
    fn counts_match_exactly_and_add_up_over_dispatches() {
        let ten = made(&["sns Publish x10"]);
        let totals = change_totals(ten.iter());
        assert!(!changes_met(&totals, &want(&["sns Publish x1"]), false));
        assert!(changes_met(&totals, &want(&["sns Publish x10"]), true));
        let two = made(&["sns Publish x1", "ssm PutParameter x3", "sns Publish x1"]);
        let totals = change_totals(two.iter());
        assert!(changes_met(&totals, &want(&["sns Publish x2", "ssm PutParameter x3"]), true));
        assert!(!changes_met(&totals, &want(&["sns Publish x1"]), false));
        assert!(!changes_met(&totals, &want(&["sns Publish x2"]), true), "a PutParameter not named");
    }

    /// GIVEN calls of one service THEN the service named alone covers them, a count over all;
    /// a call never made is not met.
    #[test]
    fn a_service_named_alone_covers_its_calls() {
        let calls = made(&["dynamodb PutItem x3", "dynamodb UpdateItem x2", "sns Publish x1"]);
        let totals = change_totals(calls.iter());
        assert!(changes_met(&totals, &want(&["dynamodb", "sns Publish"]), true));
        assert!(changes_met(&totals, &want(&["dynamodb x5"]), false));
        assert!(!changes_met(&totals, &want(&["dynamo"]), false), "not a prefix of a name");
        assert!(!changes_met(&totals, &want(&["s3 PutObject"]), false));
        assert!(changes_met(&BTreeMap::new(), &[], true), "no change when none is named");
    }
}
