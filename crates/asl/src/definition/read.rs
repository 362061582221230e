//! Builds typed state machines from definition JSON, field by field.

use std::collections::BTreeMap;

use serde_json::Value;

use super::obj::{Obj, fail, path_fail};
use super::{
    Catcher, ChoiceBranch, DEFAULT_TASK_TIMEOUT_SECONDS, Io, Kind, LoadError, Next, Nullable, Retrier, Setting, State,
    StateMachine, Text, Timeout, WaitFor,
};
use crate::choice::{Rule, RuleError};
use crate::intrinsic::Intrinsic;
use crate::path::Path;

impl StateMachine {
    /// Parses and checks a definition (JSON text).
    pub fn parse(text: &str) -> Result<StateMachine, LoadError> {
        let value: Value = serde_json::from_str(text).map_err(|e| fail("", format!("not JSON: {e}")))?;
        Self::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<StateMachine, LoadError> {
        let machine = Self::read(value, "")?;
        machine.check("")?;
        Ok(machine)
    }

    fn read(value: &Value, at: &str) -> Result<StateMachine, LoadError> {
        let mut o = Obj::new(value, at)?;
        let _ = o.string("Comment")?;
        let _ = o.string("Version")?;
        let start_at = o.required("StartAt")?;
        let timeout_seconds = o.uint("TimeoutSeconds")?;
        // Inline Map processors carry a ProcessorConfig; only INLINE mode runs here.
        if let Some(config) = o.get("ProcessorConfig") {
            let mut c = Obj::new(config, &o.here("ProcessorConfig"))?;
            if let Some(mode) = c.string("Mode")?
                && mode != "INLINE"
            {
                return Err(fail(&c.here("Mode"), format!("Map mode `{mode}` is not supported: only INLINE")));
            }
            if let Some(kind) = c.string("ExecutionType")? {
                return Err(fail(&c.here("ExecutionType"), format!("`ExecutionType` {kind} is for distributed Map")));
            }
            c.finish("ProcessorConfig")?;
        }
        let states_value = o.get("States").ok_or_else(|| fail(at, "`States` is required"))?;
        let states_map = states_value.as_object().ok_or_else(|| fail(&o.here("States"), "expected an object"))?;
        if states_map.is_empty() {
            return Err(fail(&o.here("States"), "needs at least one state"));
        }
        let mut states = BTreeMap::new();
        for (name, v) in states_map {
            if name.is_empty() || name.len() > 80 {
                return Err(fail(&o.here("States"), format!("state name `{name}` must be 1 to 80 characters")));
            }
            let state = State::read(name, v, &format!("{}/States/{name}", at))?;
            states.insert(name.clone(), state);
        }
        o.finish("state machine")?;
        Ok(StateMachine { start_at, states, timeout_seconds })
    }
}

fn retriers(o: &mut Obj<'_>) -> Result<Vec<Retrier>, LoadError> {
    let Some(list) = o.get("Retry") else { return Ok(Vec::new()) };
    let at = o.here("Retry");
    let list = list.as_array().ok_or_else(|| fail(&at, "expected an array"))?;
    let mut out = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let here = format!("{at}/{i}");
        let mut r = Obj::new(v, &here)?;
        let errors = error_names(&mut r, &here, i + 1 == list.len())?;
        let interval_seconds = r.number("IntervalSeconds")?.unwrap_or(1.0);
        let max_attempts = r.uint("MaxAttempts")?.unwrap_or(3);
        let backoff_rate = r.number("BackoffRate")?.unwrap_or(2.0);
        let max_delay_seconds = r.number("MaxDelaySeconds")?;
        let jitter = r.string("JitterStrategy")?;
        r.finish("Retry")?;
        if interval_seconds < 1.0 || interval_seconds.fract() != 0.0 {
            return Err(fail(&here, "`IntervalSeconds` must be a whole number of seconds, at least 1"));
        }
        if backoff_rate < 1.0 {
            return Err(fail(&here, "`BackoffRate` must be at least 1.0"));
        }
        let max_attempts = u32::try_from(max_attempts).map_err(|_| fail(&here, "`MaxAttempts` is too large"))?;
        let full_jitter = match jitter.as_deref() {
            None | Some("NONE") => false,
            Some("FULL") => true,
            Some(other) => return Err(fail(&here, format!("`JitterStrategy` is FULL or NONE, not `{other}`"))),
        };
        out.push(Retrier { errors, interval_seconds, max_attempts, backoff_rate, max_delay_seconds, full_jitter });
    }
    Ok(out)
}

/// A positive number of seconds, given literally (`plain`) or by a reference path (`path`).
fn limit<'a>(o: &mut Obj<'a>, at: &str, plain: &'a str, path: &'a str) -> Result<Option<Timeout>, LoadError> {
    let seconds = o.uint(plain)?;
    let by_path = match o.reference(path)? {
        Nullable::Set(p) => Some(p),
        Nullable::Null => return Err(fail(&o.here(path), "cannot be null")),
        Nullable::Default => None,
    };
    match (seconds, by_path) {
        (Some(_), Some(_)) => Err(fail(at, format!("`{plain}` and `{path}` exclude each other"))),
        (Some(0), None) => Err(fail(&o.here(plain), "must be positive, not 0")),
        (Some(s), None) => Ok(Some(Timeout::Seconds(s))),
        (None, Some(p)) => Ok(Some(Timeout::Path(p))),
        (None, None) => Ok(None),
    }
}

/// A Map setting given literally (`plain`, read by `read`) or by a reference path (`path`),
/// which Step Functions resolves when the Map state runs; a definition may not give both.
fn setting<'a, T>(
    o: &mut Obj<'a>,
    at: &str,
    plain: &'a str,
    path: &'a str,
    read: impl FnOnce(&mut Obj<'a>) -> Result<Option<T>, LoadError>,
) -> Result<Option<Setting<T>>, LoadError> {
    let value = read(o)?;
    let by_path = match o.reference(path)? {
        Nullable::Set(p) => Some(p),
        Nullable::Null => return Err(fail(&o.here(path), "cannot be null")),
        Nullable::Default => None,
    };
    match (value, by_path) {
        (Some(_), Some(_)) => Err(fail(at, format!("`{plain}` and `{path}` exclude each other"))),
        (Some(v), None) => Ok(Some(Setting::Value(v))),
        (None, Some(p)) => Ok(Some(Setting::Path(p))),
        (None, None) => Ok(None),
    }
}

fn catchers(o: &mut Obj<'_>) -> Result<Vec<Catcher>, LoadError> {
    let Some(list) = o.get("Catch") else { return Ok(Vec::new()) };
    let at = o.here("Catch");
    let list = list.as_array().ok_or_else(|| fail(&at, "expected an array"))?;
    let mut out = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let here = format!("{at}/{i}");
        let mut c = Obj::new(v, &here)?;
        let errors = error_names(&mut c, &here, i + 1 == list.len())?;
        let next = c.required("Next")?;
        let result_path = c.reference("ResultPath")?;
        c.finish("Catch")?;
        out.push(Catcher { errors, next, result_path });
    }
    Ok(out)
}

fn error_names(o: &mut Obj<'_>, at: &str, last: bool) -> Result<Vec<String>, LoadError> {
    let list = o.get("ErrorEquals").and_then(Value::as_array).filter(|l| !l.is_empty());
    let list = list.ok_or_else(|| fail(at, "`ErrorEquals` needs a non-empty array of error names"))?;
    let names: Vec<String> = list
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or_else(|| fail(at, format!("error name {v} is not a string"))))
        .collect::<Result<_, _>>()?;
    if names.iter().any(|n| n == "States.ALL") && (names.len() > 1 || !last) {
        return Err(fail(at, "`States.ALL` must appear alone, in the last retrier or catcher"));
    }
    Ok(names)
}

impl State {
    fn read(name: &str, value: &Value, at: &str) -> Result<State, LoadError> {
        let mut o = Obj::new(value, at)?;
        let type_name = o.required("Type")?;
        let _ = o.string("Comment")?;
        let (has_io, has_params, has_selector, has_result_path, has_next) = match type_name.as_str() {
            "Pass" => (true, true, false, true, true),
            "Task" | "Parallel" | "Map" => (true, true, true, true, true),
            "Choice" | "Succeed" => (true, false, false, false, false),
            "Wait" => (true, false, false, false, true),
            "Fail" => (false, false, false, false, false),
            other => {
                return Err(fail(&o.here("Type"), format!("unknown state type `{other}`")));
            }
        };
        let mut io = Io {
            input_path: Nullable::Default,
            output_path: Nullable::Default,
            parameters: None,
            result_selector: None,
            result_path: Nullable::Default,
        };
        if has_io {
            io.input_path = o.path("InputPath")?;
            io.output_path = o.path("OutputPath")?;
        }
        if has_params && type_name != "Map" {
            io.parameters = o.template("Parameters")?;
        }
        if has_selector {
            io.result_selector = o.template("ResultSelector")?;
        }
        if has_result_path {
            io.result_path = o.reference("ResultPath")?;
        }
        let next = if has_next {
            let next = o.string("Next")?;
            let end = match o.get("End") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(v) => return Err(fail(&o.here("End"), format!("expected true or false, found {v}"))),
            };
            Some(match (next, end) {
                (Some(n), false) => Next::State(n),
                (None, true) => Next::End,
                (Some(_), true) => return Err(fail(at, "a state has `Next` or `End: true`, not both")),
                (None, false) => return Err(fail(at, "a state needs `Next` or `End: true`")),
            })
        } else {
            None
        };
        let kind = match type_name.as_str() {
            "Pass" => Kind::Pass { result: o.get("Result").cloned() },
            "Task" => {
                let resource = o.required("Resource")?;
                let timeout = limit(&mut o, at, "TimeoutSeconds", "TimeoutSecondsPath")?;
                let heartbeat = limit(&mut o, at, "HeartbeatSeconds", "HeartbeatSecondsPath")?;
                // Step Functions refuses a heartbeat interval that the timeout would always beat.
                if let Some(Timeout::Seconds(h)) = heartbeat {
                    let t = match timeout {
                        Some(Timeout::Seconds(t)) => t,
                        _ => DEFAULT_TASK_TIMEOUT_SECONDS,
                    };
                    if h >= t {
                        return Err(fail(
                            &o.here("HeartbeatSeconds"),
                            format!("`HeartbeatSeconds` {h} must be smaller than `TimeoutSeconds` {t}"),
                        ));
                    }
                }
                Kind::Task { resource, timeout, heartbeat, retry: retriers(&mut o)?, catch: catchers(&mut o)? }
            }
            "Choice" => {
                let list = o.get("Choices").and_then(Value::as_array).filter(|l| !l.is_empty());
                let list = list.ok_or_else(|| fail(at, "`Choices` needs a non-empty array of rules"))?;
                let mut choices = Vec::new();
                for (i, rule) in list.iter().enumerate() {
                    let here = format!("{at}/Choices/{i}");
                    let next = rule
                        .get("Next")
                        .and_then(Value::as_str)
                        .ok_or_else(|| fail(&here, "a top-level choice rule needs `Next`"))?
                        .to_string();
                    let rule = Rule::parse(rule, &["Next"]).map_err(|e: RuleError| fail(&here, e.to_string()))?;
                    choices.push(ChoiceBranch { rule, next });
                }
                Kind::Choice { choices, default: o.string("Default")? }
            }
            "Wait" => {
                let seconds = o.uint("Seconds")?;
                let seconds_path = o.reference("SecondsPath")?;
                let timestamp = o.string("Timestamp")?;
                let timestamp_path = o.reference("TimestampPath")?;
                let mut set = Vec::new();
                if let Some(s) = seconds {
                    set.push(WaitFor::Seconds(s));
                }
                if let Nullable::Set(p) = seconds_path {
                    set.push(WaitFor::SecondsPath(p));
                }
                if let Some(t) = timestamp {
                    if crate::choice::timestamp(&t).is_none() {
                        return Err(fail(&o.here("Timestamp"), format!("`{t}` is not an RFC 3339 timestamp")));
                    }
                    set.push(WaitFor::Timestamp(t));
                }
                if let Nullable::Set(p) = timestamp_path {
                    set.push(WaitFor::TimestampPath(p));
                }
                if set.len() != 1 {
                    return Err(fail(
                        at,
                        "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
                    ));
                }
                Kind::Wait(set.remove(0))
            }
            "Succeed" => Kind::Succeed,
            "Fail" => {
                let mut text = |plain: &'static str, path: &'static str| -> Result<Option<Text>, LoadError> {
                    let literal = o.string(plain)?;
                    let by_path = o.string(path)?;
                    match (literal, by_path) {
                        (Some(_), Some(_)) => Err(fail(at, format!("`{plain}` and `{path}` exclude each other"))),
                        (Some(l), None) => Ok(Some(Text::Literal(l))),
                        (None, Some(p)) if Intrinsic::looks_like(&p) => {
                            Ok(Some(Text::Call(Intrinsic::parse(&p).map_err(|e| fail(&o.here(path), e.to_string()))?)))
                        }
                        (None, Some(p)) => {
                            Ok(Some(Text::Path(Path::parse(&p).map_err(|e| path_fail(&o.here(path), e))?)))
                        }
                        (None, None) => Ok(None),
                    }
                };
                let error = text("Error", "ErrorPath")?;
                let cause = text("Cause", "CausePath")?;
                Kind::Fail { error, cause }
            }
            "Parallel" => {
                let list = o.get("Branches").and_then(Value::as_array).filter(|l| !l.is_empty());
                let list = list.ok_or_else(|| fail(at, "`Branches` needs a non-empty array of state machines"))?;
                let branches = list
                    .iter()
                    .enumerate()
                    .map(|(i, b)| StateMachine::read(b, &format!("{at}/Branches/{i}")))
                    .collect::<Result<_, _>>()?;
                Kind::Parallel { branches, retry: retriers(&mut o)?, catch: catchers(&mut o)? }
            }
            "Map" => {
                let items_path = match o.path("ItemsPath")? {
                    Nullable::Set(p) => Some(p),
                    Nullable::Null => return Err(fail(&o.here("ItemsPath"), "cannot be null")),
                    Nullable::Default => None,
                };
                let selector = o.template("ItemSelector")?;
                let parameters = o.template("Parameters")?;
                let item_selector = match (selector, parameters) {
                    (Some(_), Some(_)) => return Err(fail(at, "`ItemSelector` and `Parameters` exclude each other")),
                    (s, p) => s.or(p),
                };
                let processor = match (o.get("ItemProcessor"), o.get("Iterator")) {
                    (Some(p), None) => StateMachine::read(p, &format!("{at}/ItemProcessor"))?,
                    (None, Some(p)) => StateMachine::read(p, &format!("{at}/Iterator"))?,
                    _ => return Err(fail(at, "a Map state needs exactly one of `ItemProcessor` and `Iterator`")),
                };
                let max_concurrency = setting(&mut o, at, "MaxConcurrency", "MaxConcurrencyPath", |o| {
                    Ok(o.uint("MaxConcurrency")?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)))
                })?;
                let tolerated_failure_count =
                    setting(&mut o, at, "ToleratedFailureCount", "ToleratedFailureCountPath", |o| {
                        o.uint("ToleratedFailureCount")
                    })?;
                let tolerated_failure_percentage =
                    setting(&mut o, at, "ToleratedFailurePercentage", "ToleratedFailurePercentagePath", |o| {
                        let here = o.here("ToleratedFailurePercentage");
                        match o.number("ToleratedFailurePercentage")? {
                            Some(p) if p > 100.0 => Err(fail(&here, format!("{p} is not between 0 and 100"))),
                            p => Ok(p),
                        }
                    })?;
                Kind::Map {
                    items_path,
                    item_selector,
                    processor: Box::new(processor),
                    max_concurrency: max_concurrency.unwrap_or(Setting::Value(0)),
                    tolerated_failure_count,
                    tolerated_failure_percentage,
                    retry: retriers(&mut o)?,
                    catch: catchers(&mut o)?,
                }
            }
            _ => unreachable!("type checked above"),
        };
        o.finish(&type_name)?;
        Ok(State { name: name.to_string(), kind, io, next })
    }
}
