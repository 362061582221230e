//! The template's functions, state machines, rules and subscriptions, loaded from its YAML.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use serde_norway::Value as Yaml;

use super::intrinsics::{Resolver, logical_target, text_of};
use super::routing::{Target, events, target_input};
use super::{ACCOUNT, REGION, TemplateError, invalid};
use crate::runtime::pattern::Pattern;

#[derive(Debug, Clone)]
pub struct Function {
    pub id: String,
    pub name: String,
    /// The cargo binary (Metadata.BuildProperties.Binary): which crate's handler runs it.
    pub binary: String,
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Machine {
    pub id: String,
    pub name: String,
    pub arn: String,
    /// A definition file (SAM `DefinitionUri`), or the definition inline (`Definition`,
    /// `DefinitionString`).
    pub definition_uri: Option<String>,
    pub definition: Option<String>,
    pub substitutions: BTreeMap<String, String>,
    /// The substitutions as written (`!GetAtt Fn.Arn`...), for `validate` to follow references.
    pub raw_substitutions: BTreeMap<String, Yaml>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub bus: String,
    pub pattern: Option<Pattern>,
    pub schedule: Option<String>,
    pub targets: Vec<Target>,
}

/// A CloudWatch Logs subscription: lines written to `log_group` reach `target`.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub log_group: String,
    pub filter_pattern: String,
    pub target: String,
}

#[derive(Debug, Clone, Default)]
pub struct Template {
    pub parameters: BTreeMap<String, Value>,
    pub functions: BTreeMap<String, Function>,
    pub machines: BTreeMap<String, Machine>,
    pub rules: Vec<Rule>,
    pub subscriptions: Vec<Subscription>,
    /// Every resource's logical id with its type.
    pub resources: BTreeMap<String, String>,
    /// Resolved properties of the resources the runtime provisions in the emulator.
    pub properties: BTreeMap<String, Value>,
}

/// Resource types whose properties the runtime needs resolved (to provision or to read).
const PROVISIONED: &[&str] = &[
    "AWS::Events::EventBus",
    "AWS::Events::EventBusPolicy",
    "AWS::KinesisFirehose::DeliveryStream",
    "AWS::S3::Bucket",
    "AWS::Logs::LogGroup",
    "AWS::Kinesis::Stream",
    "AWS::DynamoDB::Table",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::Route53::HostedZone",
];

impl Template {
    pub fn load(path: &Path, overrides: &BTreeMap<String, String>) -> Result<Template, TemplateError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| TemplateError::Read { path: shown.clone(), source })?;
        let doc: Yaml = serde_norway::from_str(&text).map_err(|source| TemplateError::Yaml { path: shown, source })?;
        Self::from_yaml(&doc, overrides)
    }

    pub fn from_yaml(doc: &Yaml, overrides: &BTreeMap<String, String>) -> Result<Template, TemplateError> {
        let mut t = Template::default();
        if let Some(params) = doc.get("Parameters").and_then(Yaml::as_mapping) {
            for (name, p) in params {
                let name = name.as_str().unwrap_or_default().to_string();
                let kind = p.get("Type").and_then(Yaml::as_str).unwrap_or("String");
                let value = match overrides.get(&name) {
                    Some(v) => json!(v),
                    None => match p.get("Default") {
                        Some(Yaml::String(s)) => json!(s),
                        Some(Yaml::Number(n)) => json!(n.to_string()),
                        Some(Yaml::Bool(b)) => json!(b.to_string()),
                        _ => {
                            return Err(invalid(
                                &format!("Parameters.{name}"),
                                "has no Default and no value was given for it",
                            ));
                        }
                    },
                };
                // List parameters are comma-separated text that !Ref returns as a list.
                let value = if kind.starts_with("List<") || kind == "CommaDelimitedList" {
                    Value::Array(
                        text_of(&value).split(',').filter(|s| !s.is_empty()).map(|s| json!(s.trim())).collect(),
                    )
                } else {
                    value
                };
                t.parameters.insert(name, value);
            }
        }
        let empty = serde_norway::Mapping::new();
        let resources = doc.get("Resources").and_then(Yaml::as_mapping).unwrap_or(&empty);
        let conditions = doc.get("Conditions").and_then(Yaml::as_mapping).unwrap_or(&empty);
        let r = Resolver { parameters: &t.parameters, resources, conditions };
        let globals_env = doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"));
        let mut rules = Vec::new();
        let mut subscriptions = Vec::new();
        for (id, resource) in resources {
            let id = id.as_str().unwrap_or_default().to_string();
            let kind = resource.get("Type").and_then(Yaml::as_str).unwrap_or_default().to_string();
            let props = resource.get("Properties");
            let prop = |key: &str| props.and_then(|p| p.get(key));
            let at = format!("Resources.{id}");
            t.resources.insert(id.clone(), kind.clone());
            if PROVISIONED.contains(&kind.as_str())
                && let Some(p) = props
            {
                t.properties.insert(id.clone(), r.resolve(p, &at)?);
            }
            let name = text_of(&r.reference(&id, &at)?);
            match kind.as_str() {
                "AWS::Serverless::Function" | "AWS::Lambda::Function" => {
                    let binary = resource
                        .get("Metadata")
                        .and_then(|m| m.get("BuildProperties"))
                        .and_then(|b| b.get("Binary"))
                        .and_then(Yaml::as_str)
                        .ok_or_else(|| invalid(&at, "Metadata.BuildProperties.Binary names the function's binary"))?
                        .to_string();
                    let mut environment = BTreeMap::new();
                    // SAM's Globals apply to SAM functions only.
                    let globals = if kind == "AWS::Serverless::Function" { globals_env } else { None };
                    for vars in [globals, prop("Environment").and_then(|e| e.get("Variables"))].into_iter().flatten() {
                        if let Value::Object(m) = r.resolve(vars, &format!("{at}.Environment"))? {
                            environment.extend(m.into_iter().map(|(k, v)| (k, text_of(&v))));
                        }
                    }
                    t.functions.insert(id.clone(), Function { id: id.clone(), name, binary, environment });
                    events(&r, &id, prop("Events"), &at, &mut rules, &mut subscriptions)?;
                }
                "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" => {
                    let substitutions = match prop("DefinitionSubstitutions") {
                        Some(s) => match r.resolve(s, &format!("{at}.DefinitionSubstitutions"))? {
                            Value::Object(m) => m.into_iter().map(|(k, v)| (k, text_of(&v))).collect(),
                            _ => BTreeMap::new(),
                        },
                        None => BTreeMap::new(),
                    };
                    let raw_substitutions = prop("DefinitionSubstitutions")
                        .and_then(Yaml::as_mapping)
                        .map(|m| m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone()))).collect())
                        .unwrap_or_default();
                    let arn = format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}");
                    let definition_uri = prop("DefinitionUri").and_then(Yaml::as_str).map(str::to_string);
                    let definition = match (prop("Definition"), prop("DefinitionString")) {
                        (Some(d), _) => Some(r.resolve(d, &format!("{at}.Definition"))?.to_string()),
                        (None, Some(d)) => Some(text_of(&r.resolve(d, &format!("{at}.DefinitionString"))?)),
                        (None, None) => None,
                    };
                    if definition_uri.is_none() && definition.is_none() {
                        return Err(invalid(
                            &at,
                            "a state machine needs DefinitionUri, Definition or DefinitionString",
                        ));
                    }
                    t.machines.insert(
                        id.clone(),
                        Machine {
                            id: id.clone(),
                            name,
                            arn,
                            definition_uri,
                            definition,
                            substitutions,
                            raw_substitutions,
                        },
                    );
                    events(&r, &id, prop("Events"), &at, &mut rules, &mut subscriptions)?;
                }
                "AWS::Events::Rule" => {
                    let bus = prop("EventBusName").map(|b| r.resolve(b, &at)).transpose()?.map(|v| text_of(&v));
                    let pattern = prop("EventPattern")
                        .map(|p| r.resolve(p, &at))
                        .transpose()?
                        .map(|p| Pattern::parse(&p).map_err(|source| TemplateError::Pattern { at: at.clone(), source }))
                        .transpose()?;
                    let schedule =
                        prop("ScheduleExpression").map(|s| r.resolve(s, &at)).transpose()?.map(|v| text_of(&v));
                    let mut targets = Vec::new();
                    for target in prop("Targets").and_then(Yaml::as_sequence).into_iter().flatten() {
                        let Some(resource) = target.get("Arn").and_then(logical_target) else { continue };
                        let input = target_input(
                            &r,
                            target.get("Input"),
                            target.get("InputPath"),
                            target.get("InputTransformer"),
                            &at,
                        )?;
                        targets.push(Target { resource, input });
                    }
                    rules.push(Rule {
                        id: id.clone(),
                        bus: bus.unwrap_or_else(|| "default".into()),
                        pattern,
                        schedule,
                        targets,
                    });
                }
                "AWS::Logs::SubscriptionFilter" => {
                    let log_group = text_of(&r.resolve(prop("LogGroupName").unwrap_or(&Yaml::Null), &at)?);
                    let filter_pattern = text_of(&r.resolve(prop("FilterPattern").unwrap_or(&Yaml::Null), &at)?);
                    let target = prop("DestinationArn")
                        .and_then(logical_target)
                        .ok_or_else(|| invalid(&at, "DestinationArn must reference a function or destination"))?;
                    subscriptions.push(Subscription { id: id.clone(), log_group, filter_pattern, target });
                }
                _ => {}
            }
        }
        t.rules = rules;
        t.subscriptions = subscriptions;
        Ok(t)
    }

    /// The function a name, logical id or ARN designates.
    /// A function by its logical id (`LogProcessorFunction`), its name
    /// (`abc-trading-dev-log-processor`), its ARN, or its crate (`log-processor`).
    pub fn function(&self, name: &str) -> Option<&Function> {
        let name = name.rsplit(':').next().unwrap_or(name);
        self.functions.get(name).or_else(|| self.functions.values().find(|f| f.name == name || f.binary == name))
    }

    /// Every name [`Template::function`] resolves, one line per function, for an error message.
    pub fn function_names(&self) -> String {
        self.functions.values().map(|f| format!("{} ({}, {})", f.binary, f.id, f.name)).collect::<Vec<_>>().join("; ")
    }

    pub fn machine(&self, name: &str) -> Option<&Machine> {
        self.machines.get(name).or_else(|| self.machines.values().find(|m| m.name == name || m.arn == name))
    }
}

impl Template {
    /// The ARN of a bus given by name (or already by ARN).
    pub fn bus_arn(&self, bus: &str) -> String {
        if bus.starts_with("arn:") {
            return bus.to_string();
        }
        format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}")
    }

    /// The statements of `bus`'s resource policy: each `AWS::Events::EventBusPolicy` on it (its
    /// `Statement` with `StatementId` as Sid, or a whole `Policy`) and the bus's own `Policy`.
    pub fn bus_statements(&self, bus: &str) -> Vec<Value> {
        let same_bus = |name: &str| name == bus || name.ends_with(&format!("/{bus}")) || self.bus_arn(bus) == name;
        let mut out = Vec::new();
        for (id, kind) in &self.resources {
            let Some(props) = self.properties.get(id) else { continue };
            let statements = |policy: &Value| match policy.get("Statement") {
                Some(Value::Array(list)) => list.clone(),
                Some(one) => vec![one.clone()],
                None => Vec::new(),
            };
            match kind.as_str() {
                "AWS::Events::EventBusPolicy" => {
                    let name = props.get("EventBusName").and_then(Value::as_str).unwrap_or("default");
                    if !same_bus(name) {
                        continue;
                    }
                    if let Some(policy) = props.get("Policy") {
                        out.extend(statements(policy));
                    } else if let Some(mut statement) = props.get("Statement").cloned() {
                        if let (Some(sid), Some(obj)) = (props.get("StatementId"), statement.as_object_mut()) {
                            obj.entry("Sid").or_insert_with(|| sid.clone());
                        }
                        out.push(statement);
                    }
                }
                "AWS::Events::EventBus" => {
                    let name = props.get("Name").and_then(Value::as_str).unwrap_or_default();
                    if let (true, Some(policy)) = (same_bus(name), props.get("Policy")) {
                        out.extend(statements(policy));
                    }
                }
                _ => {}
            }
        }
        out
    }
}
