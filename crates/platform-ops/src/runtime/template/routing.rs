//! Where events go: rules, subscriptions and their targets, and how a target's input is shaped.

use std::collections::BTreeMap;

use serde_json::Value;
use serde_norway::Value as Yaml;

use super::intrinsics::{Resolver, text_of};
use super::model::{Rule, Subscription, Template};
use super::{TemplateError, invalid};
use crate::runtime::pattern::Pattern;

/// Where a routed event goes, and how its input is shaped on the way.
#[derive(Debug, Clone)]
pub struct Target {
    /// Logical id of a function or state machine.
    pub resource: String,
    pub input: TargetInput,
}

#[derive(Debug, Clone)]
pub enum TargetInput {
    Event,
    Constant(Value),
    Path(String),
    Transformer { paths: BTreeMap<String, String>, template: String },
}

impl Template {
    /// Rules on `bus` whose pattern matches `event`, with the targets' inputs.
    pub fn route(&self, bus: &str, event: &Value) -> Vec<(&Rule, &Target, Value)> {
        let mut out = Vec::new();
        for rule in &self.rules {
            let same_bus = rule.bus == bus || rule.bus.ends_with(&format!("/{bus}"));
            if !same_bus || !rule.pattern.as_ref().is_some_and(|p| p.matches(event)) {
                continue;
            }
            for target in &rule.targets {
                out.push((rule, target, target.input.apply(event)));
            }
        }
        out
    }

    /// Subscriptions whose log group is `log_group`.
    pub fn subscribers(&self, log_group: &str) -> impl Iterator<Item = &Subscription> {
        self.subscriptions.iter().filter(move |s| s.log_group == log_group)
    }
}

/// Events on a SAM function or state machine become rules and subscriptions.
pub(super) fn events(
    r: &Resolver<'_>,
    owner: &str,
    events: Option<&Yaml>,
    at: &str,
    rules: &mut Vec<Rule>,
    subscriptions: &mut Vec<Subscription>,
) -> Result<(), TemplateError> {
    for (name, event) in events.and_then(Yaml::as_mapping).into_iter().flatten() {
        let name = name.as_str().unwrap_or_default();
        let here = format!("{at}.Events.{name}");
        let kind = event.get("Type").and_then(Yaml::as_str).unwrap_or_default();
        let props = event.get("Properties");
        let prop = |key: &str| props.and_then(|p| p.get(key));
        let id = format!("{owner}{name}");
        match kind {
            "EventBridgeRule" | "CloudWatchEvent" => {
                let pattern = prop("Pattern").ok_or_else(|| invalid(&here, "an EventBridgeRule needs a Pattern"))?;
                let pattern = Pattern::parse(&r.resolve(pattern, &here)?)
                    .map_err(|source| TemplateError::Pattern { at: here.clone(), source })?;
                let bus = prop("EventBusName").map(|b| r.resolve(b, &here)).transpose()?.map(|v| text_of(&v));
                let input = target_input(r, prop("Input"), prop("InputPath"), prop("InputTransformer"), &here)?;
                rules.push(Rule {
                    id,
                    bus: bus.unwrap_or_else(|| "default".into()),
                    pattern: Some(pattern),
                    schedule: None,
                    targets: vec![Target { resource: owner.to_string(), input }],
                });
            }
            "Schedule" | "ScheduleV2" => {
                let key = if kind == "Schedule" { "Schedule" } else { "ScheduleExpression" };
                let schedule = prop(key).map(|s| r.resolve(s, &here)).transpose()?.map(|v| text_of(&v));
                let input = target_input(r, prop("Input"), None, None, &here)?;
                rules.push(Rule {
                    id,
                    bus: "default".into(),
                    pattern: None,
                    schedule,
                    targets: vec![Target { resource: owner.to_string(), input }],
                });
            }
            "CloudWatchLogs" => {
                let log_group = text_of(&r.resolve(prop("LogGroupName").unwrap_or(&Yaml::Null), &here)?);
                let filter_pattern = text_of(&r.resolve(prop("FilterPattern").unwrap_or(&Yaml::Null), &here)?);
                subscriptions.push(Subscription { id, log_group, filter_pattern, target: owner.to_string() });
            }
            // Stream sources are polled by Lambda, not routed: the runtime delivers their records.
            "Kinesis" | "SQS" | "DynamoDB" | "Api" | "HttpApi" => {}
            other => return Err(invalid(&here, format!("event type `{other}` is not supported by the local runtime"))),
        }
    }
    Ok(())
}

pub(super) fn target_input(
    r: &Resolver<'_>,
    input: Option<&Yaml>,
    input_path: Option<&Yaml>,
    transformer: Option<&Yaml>,
    at: &str,
) -> Result<TargetInput, TemplateError> {
    if let Some(i) = input {
        let text = text_of(&r.resolve(i, at)?);
        let value = serde_json::from_str(&text).map_err(|e| invalid(at, format!("Input is not JSON: {e}")))?;
        return Ok(TargetInput::Constant(value));
    }
    if let Some(p) = input_path {
        return Ok(TargetInput::Path(text_of(&r.resolve(p, at)?)));
    }
    if let Some(t) = transformer {
        let resolved = r.resolve(t, at)?;
        let paths = resolved
            .get("InputPathsMap")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), text_of(v))).collect())
            .unwrap_or_default();
        let template = resolved
            .get("InputTemplate")
            .map(text_of)
            .ok_or_else(|| invalid(at, "an InputTransformer needs an InputTemplate"))?;
        return Ok(TargetInput::Transformer { paths, template });
    }
    Ok(TargetInput::Event)
}

impl TargetInput {
    /// The input a target receives for `event`, as EventBridge builds it.
    pub fn apply(&self, event: &Value) -> Value {
        match self {
            TargetInput::Event => event.clone(),
            TargetInput::Constant(v) => v.clone(),
            TargetInput::Path(p) => select(event, p).unwrap_or(Value::Null),
            TargetInput::Transformer { paths, template } => {
                let values: BTreeMap<&str, Value> =
                    paths.iter().map(|(k, p)| (k.as_str(), select(event, p).unwrap_or(Value::Null))).collect();
                let mut out = String::new();
                let mut rest = template.as_str();
                while let Some(start) = rest.find('<') {
                    out.push_str(&rest[..start]);
                    let after = &rest[start + 1..];
                    match after.find('>') {
                        Some(end) if values.contains_key(&after[..end]) || &after[..end] == "aws.events.event.json" => {
                            let key = &after[..end];
                            let value =
                                if key == "aws.events.event.json" { event.clone() } else { values[key].clone() };
                            // Inside quotes a string goes in bare; elsewhere a value goes in as JSON.
                            let quoted = out.ends_with('"') && after[end + 1..].starts_with('"');
                            match (&value, quoted) {
                                (Value::String(s), true) => out.push_str(s),
                                (v, _) => out.push_str(&v.to_string()),
                            }
                            rest = &after[end + 1..];
                        }
                        _ => {
                            out.push('<');
                            rest = after;
                        }
                    }
                }
                out.push_str(rest);
                serde_json::from_str(&out).unwrap_or(Value::String(out))
            }
        }
    }
}

/// A JSONPath into an event (`$.detail.state`), as input paths write them.
fn select(event: &Value, path: &str) -> Option<Value> {
    asl::path::Path::parse(path).ok()?.select(event, &Value::Null)
}
