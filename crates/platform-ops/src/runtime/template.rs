//! The SAM template as the local runtime needs it: functions, state machines, rules, subscriptions.
//!
//! Intrinsic functions are resolved the way CloudFormation would for one stack in the emulator's
//! account and region: parameters take their defaults (or overrides), resources their physical
//! names and ARNs.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use serde_norway::Value as Yaml;

use super::pattern::{Pattern, PatternError};

pub const ACCOUNT: &str = emulator::DEFAULT_ACCOUNT_ID;
pub const REGION: &str = emulator::DEFAULT_REGION;
pub const STACK: &str = "platform-ops";

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not YAML: {source}")]
    Yaml {
        path: String,
        #[source]
        source: serde_norway::Error,
    },
    #[error("template {at}: {message}")]
    Invalid { at: String, message: String },
    #[error("template {at}: {source}")]
    Pattern {
        at: String,
        #[source]
        source: PatternError,
    },
}

fn invalid(at: &str, message: impl Into<String>) -> TemplateError {
    TemplateError::Invalid { at: at.to_string(), message: message.into() }
}

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
}

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

/// Resolves intrinsic functions against parameters and resource names.
struct Resolver<'a> {
    parameters: &'a BTreeMap<String, Value>,
    resources: &'a serde_norway::Mapping,
    conditions: &'a serde_norway::Mapping,
}

impl Resolver<'_> {
    fn resolve(&self, v: &Yaml, at: &str) -> Result<Value, TemplateError> {
        Ok(match v {
            Yaml::Null => Value::Null,
            Yaml::Bool(b) => Value::Bool(*b),
            Yaml::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
            Yaml::String(s) => Value::String(s.clone()),
            Yaml::Sequence(items) => Value::Array(items.iter().map(|i| self.resolve(i, at)).collect::<Result<_, _>>()?),
            Yaml::Tagged(t) => {
                let name = t.tag.to_string();
                self.function(name.trim_start_matches('!'), &t.value, at)?
            }
            Yaml::Mapping(m) => {
                if m.len() == 1
                    && let Some((Yaml::String(k), arg)) = m.iter().next()
                    && (k == "Ref" || k.starts_with("Fn::"))
                {
                    return self.function(k.trim_start_matches("Fn::"), arg, at);
                }
                let mut out = serde_json::Map::new();
                for (k, v) in m {
                    let key = k.as_str().ok_or_else(|| invalid(at, "a mapping key is not a string"))?;
                    out.insert(key.to_string(), self.resolve(v, &format!("{at}.{key}"))?);
                }
                Value::Object(out)
            }
        })
    }

    fn function(&self, name: &str, arg: &Yaml, at: &str) -> Result<Value, TemplateError> {
        match name {
            "Ref" => self.reference(arg.as_str().ok_or_else(|| invalid(at, "!Ref takes a name"))?, at),
            "GetAtt" => {
                let (id, attr) = match arg {
                    Yaml::String(s) => {
                        s.split_once('.').ok_or_else(|| invalid(at, format!("!GetAtt {s} names no attribute")))?
                    }
                    Yaml::Sequence(s) if s.len() == 2 => (
                        s[0].as_str().ok_or_else(|| invalid(at, "!GetAtt resource"))?,
                        s[1].as_str().ok_or_else(|| invalid(at, "!GetAtt attribute"))?,
                    ),
                    _ => return Err(invalid(at, "!GetAtt takes Resource.Attribute")),
                };
                self.attribute(id, attr, at)
            }
            "Sub" => {
                let (text, vars) = match arg {
                    Yaml::String(s) => (s.as_str(), BTreeMap::new()),
                    Yaml::Sequence(s) if s.len() == 2 => {
                        let vars = s[1]
                            .as_mapping()
                            .ok_or_else(|| invalid(at, "!Sub variables must be a mapping"))?
                            .iter()
                            .map(|(k, v)| Ok((k.as_str().unwrap_or_default().to_string(), self.resolve(v, at)?)))
                            .collect::<Result<BTreeMap<_, _>, TemplateError>>()?;
                        (s[0].as_str().ok_or_else(|| invalid(at, "!Sub text"))?, vars)
                    }
                    _ => return Err(invalid(at, "!Sub takes a string or [string, variables]")),
                };
                Ok(Value::String(self.substitute(text, &vars, at)?))
            }
            "Join" => {
                let s = arg
                    .as_sequence()
                    .filter(|s| s.len() == 2)
                    .ok_or_else(|| invalid(at, "!Join takes [separator, list]"))?;
                let sep = s[0].as_str().unwrap_or_default();
                let items = match self.resolve(&s[1], at)? {
                    Value::Array(items) => items,
                    other => return Err(invalid(at, format!("!Join needs a list, got {other}"))),
                };
                Ok(Value::String(items.iter().map(text_of).collect::<Vec<_>>().join(sep)))
            }
            "Select" => {
                let s = arg
                    .as_sequence()
                    .filter(|s| s.len() == 2)
                    .ok_or_else(|| invalid(at, "!Select takes [index, list]"))?;
                let index =
                    text_of(&self.resolve(&s[0], at)?).parse::<usize>().map_err(|_| invalid(at, "!Select index"))?;
                match self.resolve(&s[1], at)? {
                    Value::Array(items) => {
                        items.get(index).cloned().ok_or_else(|| invalid(at, "!Select index out of range"))
                    }
                    _ => Err(invalid(at, "!Select needs a list")),
                }
            }
            "Split" => {
                let s = arg
                    .as_sequence()
                    .filter(|s| s.len() == 2)
                    .ok_or_else(|| invalid(at, "!Split takes [separator, text]"))?;
                let sep = s[0].as_str().unwrap_or_default();
                let text = text_of(&self.resolve(&s[1], at)?);
                Ok(Value::Array(text.split(sep).map(|p| Value::String(p.to_string())).collect()))
            }
            "Equals" => {
                let s = arg
                    .as_sequence()
                    .filter(|s| s.len() == 2)
                    .ok_or_else(|| invalid(at, "!Equals takes two values"))?;
                Ok(Value::Bool(text_of(&self.resolve(&s[0], at)?) == text_of(&self.resolve(&s[1], at)?)))
            }
            "Not" => {
                let s = arg
                    .as_sequence()
                    .filter(|s| s.len() == 1)
                    .ok_or_else(|| invalid(at, "!Not takes one condition"))?;
                Ok(Value::Bool(!self.truth(&s[0], at)?))
            }
            "And" | "Or" => {
                let s = arg.as_sequence().ok_or_else(|| invalid(at, format!("!{name} takes a list of conditions")))?;
                let values = s.iter().map(|c| self.truth(c, at)).collect::<Result<Vec<_>, _>>()?;
                Ok(Value::Bool(if name == "And" { values.iter().all(|v| *v) } else { values.iter().any(|v| *v) }))
            }
            "Condition" => Ok(Value::Bool(self.condition(arg.as_str().unwrap_or_default(), at)?)),
            "If" => {
                let s = arg
                    .as_sequence()
                    .filter(|s| s.len() == 3)
                    .ok_or_else(|| invalid(at, "!If takes [condition, then, else]"))?;
                let pick = if self.condition(s[0].as_str().unwrap_or_default(), at)? { &s[1] } else { &s[2] };
                self.resolve(pick, at)
            }
            other => Err(invalid(at, format!("intrinsic `{other}` is not supported by the local runtime"))),
        }
    }

    fn truth(&self, v: &Yaml, at: &str) -> Result<bool, TemplateError> {
        match self.resolve(v, at)? {
            Value::Bool(b) => Ok(b),
            other => Err(invalid(at, format!("a condition must be true or false, not {other}"))),
        }
    }

    fn condition(&self, name: &str, at: &str) -> Result<bool, TemplateError> {
        let c = self.conditions.get(name).ok_or_else(|| invalid(at, format!("no condition `{name}`")))?;
        self.truth(c, &format!("Conditions.{name}"))
    }

    fn substitute(&self, text: &str, vars: &BTreeMap<String, Value>, at: &str) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| invalid(at, format!("unclosed ${{ in `{text}`")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(name) {
                out.push_str(&text_of(v));
            } else if let Some((id, attr)) = name.split_once('.') {
                out.push_str(&text_of(&self.attribute(id, attr, at)?));
            } else {
                out.push_str(&text_of(&self.reference(name, at)?));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn reference(&self, name: &str, at: &str) -> Result<Value, TemplateError> {
        match name {
            "AWS::AccountId" => return Ok(json!(ACCOUNT)),
            "AWS::Region" => return Ok(json!(REGION)),
            "AWS::Partition" => return Ok(json!("aws")),
            "AWS::StackName" => return Ok(json!(STACK)),
            "AWS::URLSuffix" => return Ok(json!("amazonaws.com")),
            "AWS::NoValue" => return Ok(Value::Null),
            _ => {}
        }
        if let Some(v) = self.parameters.get(name) {
            return Ok(v.clone());
        }
        let (kind, props) = self.resource(name, at)?;
        let physical = self.physical_name(name, kind, props, at)?;
        Ok(Value::String(match kind {
            "AWS::SNS::Topic" => format!("arn:aws:sns:{REGION}:{ACCOUNT}:{physical}"),
            "AWS::SQS::Queue" => format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{physical}"),
            "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" => {
                format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{physical}")
            }
            _ => physical,
        }))
    }

    fn resource(&self, id: &str, at: &str) -> Result<(&str, Option<&Yaml>), TemplateError> {
        let r = self
            .resources
            .get(id)
            .ok_or_else(|| invalid(at, format!("`{id}` is neither a parameter nor a resource")))?;
        Ok((r.get("Type").and_then(Yaml::as_str).unwrap_or_default(), r.get("Properties")))
    }

    /// The name a resource gets: its name property, or `<stack>-<LogicalId>` as CloudFormation
    /// generates one.
    fn physical_name(&self, id: &str, kind: &str, props: Option<&Yaml>, at: &str) -> Result<String, TemplateError> {
        let key = match kind {
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => "FunctionName",
            "AWS::Serverless::StateMachine" => "Name",
            "AWS::StepFunctions::StateMachine" => "StateMachineName",
            "AWS::Events::EventBus" | "AWS::Events::Rule" => "Name",
            "AWS::DynamoDB::Table" => "TableName",
            "AWS::SNS::Topic" => "TopicName",
            "AWS::SQS::Queue" => "QueueName",
            "AWS::KinesisFirehose::DeliveryStream" => "DeliveryStreamName",
            "AWS::Kinesis::Stream" => "Name",
            "AWS::S3::Bucket" => "BucketName",
            "AWS::Logs::LogGroup" => "LogGroupName",
            "AWS::Logs::Destination" => "DestinationName",
            "AWS::IAM::Role" => "RoleName",
            "AWS::KMS::Key" => return Ok(format!("{id}-0000-0000-0000-000000000000").to_lowercase()),
            _ => "",
        };
        match props.and_then(|p| p.get(key)) {
            Some(v) if !key.is_empty() => Ok(text_of(&self.resolve(v, &format!("{at}.{id}.{key}"))?)),
            _ => Ok(format!("{STACK}-{id}")),
        }
    }

    fn attribute(&self, id: &str, attr: &str, at: &str) -> Result<Value, TemplateError> {
        let (kind, props) = self.resource(id, at)?;
        let name = self.physical_name(id, kind, props, at)?;
        let arn = match kind {
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => {
                format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
            }
            "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" => {
                format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}")
            }
            "AWS::Events::EventBus" => format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"),
            "AWS::DynamoDB::Table" => format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"),
            "AWS::SNS::Topic" => format!("arn:aws:sns:{REGION}:{ACCOUNT}:{name}"),
            "AWS::SQS::Queue" => format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"),
            "AWS::KinesisFirehose::DeliveryStream" => {
                format!("arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{name}")
            }
            "AWS::Kinesis::Stream" => format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"),
            "AWS::S3::Bucket" => format!("arn:aws:s3:::{name}"),
            "AWS::Logs::LogGroup" => format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"),
            "AWS::Logs::Destination" => format!("arn:aws:logs:{REGION}:{ACCOUNT}:destination:{name}"),
            "AWS::IAM::Role" => format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
            "AWS::KMS::Key" => format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}"),
            other => format!(
                "arn:aws:{}:{REGION}:{ACCOUNT}:{name}",
                other.split("::").nth(1).unwrap_or("unknown").to_lowercase()
            ),
        };
        Ok(Value::String(match attr {
            "Arn" => arn,
            "Name" | "QueueName" | "TopicName" => name,
            "QueueUrl" => format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"),
            "StreamArn" => format!("{arn}/stream/local"),
            _ => format!("{arn}/{attr}"),
        }))
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// What a resource reference in the template points at: `!GetAtt X.Arn`, `!Ref X`, long forms.
pub(crate) fn logical_target(v: &Yaml) -> Option<String> {
    match v {
        Yaml::Tagged(t) => {
            let inner = t.value.as_str()?;
            match t.tag.to_string().trim_start_matches('!') {
                "GetAtt" => inner.split('.').next().map(str::to_string),
                "Ref" => Some(inner.to_string()),
                _ => None,
            }
        }
        Yaml::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next()?;
            match k.as_str()? {
                "Ref" => v.as_str().map(str::to_string),
                "Fn::GetAtt" => match v {
                    Yaml::String(s) => s.split('.').next().map(str::to_string),
                    Yaml::Sequence(s) => s.first()?.as_str().map(str::to_string),
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

/// Resource types whose properties the runtime needs resolved (to provision or to read).
const PROVISIONED: &[&str] = &[
    "AWS::Events::EventBus",
    "AWS::KinesisFirehose::DeliveryStream",
    "AWS::S3::Bucket",
    "AWS::Logs::LogGroup",
    "AWS::Kinesis::Stream",
    "AWS::DynamoDB::Table",
    "AWS::SNS::Topic",
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
                        Machine { id: id.clone(), name, arn, definition_uri, definition, substitutions },
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
fn events(
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

fn target_input(
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

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Environment: {Type: String, Default: dev}
  Regions: {Type: CommaDelimitedList, Default: "eu-west-2,eu-west-1"}
Globals:
  Function:
    Environment:
      Variables:
        ENVIRONMENT: !Ref Environment
        REGIONS: !Join [",", !Ref Regions]
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: !Sub "abc-trading-${Environment}"}
  Topic:
    Type: AWS::SNS::Topic
  Scaler:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: alarm-scaler}}
    Properties:
      FunctionName: !Sub abc-trading-${Environment}-alarm-scaler
      Environment: {Variables: {TOPIC: !Ref Topic, BUS_ARN: !GetAtt Bus.Arn}}
      Events:
        Alarm:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [aws.cloudwatch], detail: {state: {value: [ALARM]}}}
            InputTransformer:
              InputPathsMap: {alarm: "$.detail.alarmName", state: "$.detail.state.value"}
              InputTemplate: '{"alarm": "<alarm>", "state": <state>, "env": "dev"}'
        Nightly:
          Type: ScheduleV2
          Properties: {ScheduleExpression: "cron(0 20 ? * MON-FRI *)", Input: '{"action": "scale-down"}'}
  Deploy:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: !Sub abc-trading-${Environment}-deploy
      DefinitionUri: state-machines/deploy.asl.json
      DefinitionSubstitutions: {ScalerArn: !GetAtt Scaler.Arn}
  Inline:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineName: inline
      DefinitionString: !Sub '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "${Environment}", "End": true}}}'
  ReleaseRule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern: {source: [abc.platform], detail-type: [{prefix: "Release"}]}
      Targets:
        - {Id: deploy, Arn: !Ref Deploy, InputPath: "$.detail"}
"#;

    fn template() -> Template {
        Template::from_yaml(&serde_norway::from_str(TEMPLATE).expect("yaml"), &BTreeMap::new()).expect("loads")
    }

    /// The names a newcomer would type all reach the same function; others list the known ones.
    #[test]
    fn a_function_resolves_by_crate_logical_id_name_and_arn() {
        let t = template();
        let f = t.function("alarm-scaler").expect("by crate name");
        let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}", f.name);
        for name in [f.id.as_str(), f.name.as_str(), arn.as_str()] {
            assert_eq!(t.function(name).map(|g| &g.id), Some(&f.id), "{name}");
        }
        assert!(t.function("billing").is_none());
        assert!(t.function_names().contains(&format!("alarm-scaler ({}, abc-trading-dev-alarm-scaler)", f.id)));
    }

    #[test]
    fn functions_get_their_environment_resolved() {
        let t = template();
        let f = t.function("abc-trading-dev-alarm-scaler").expect("by name");
        assert_eq!(f.binary, "alarm-scaler");
        assert_eq!(f.environment["ENVIRONMENT"], "dev");
        assert_eq!(f.environment["REGIONS"], "eu-west-2,eu-west-1");
        assert_eq!(f.environment["TOPIC"], format!("arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-Topic"));
        assert_eq!(f.environment["BUS_ARN"], format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/abc-trading-dev"));
        let m = t.machine("Deploy").expect("machine");
        assert_eq!(
            m.substitutions["ScalerArn"],
            format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:abc-trading-dev-alarm-scaler")
        );
        let prod = Template::from_yaml(
            &serde_norway::from_str(TEMPLATE).expect("yaml"),
            &BTreeMap::from([("Environment".to_string(), "prod".to_string())]),
        )
        .expect("loads");
        assert!(prod.function("abc-trading-prod-alarm-scaler").is_some());
    }

    #[test]
    fn events_route_through_patterns_and_transformers() {
        let t = template();
        let alarm = json!({"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
                           "detail": {"alarmName": "cpu-high", "state": {"value": "ALARM"}}});
        let routed = t.route("default", &alarm);
        assert_eq!(routed.len(), 1);
        assert_eq!(routed[0].1.resource, "Scaler");
        assert_eq!(routed[0].2, json!({"alarm": "cpu-high", "state": "ALARM", "env": "dev"}));
        let ok = json!({"source": "aws.cloudwatch", "detail": {"state": {"value": "OK"}}});
        assert!(t.route("default", &ok).is_empty());

        let release =
            json!({"source": "abc.platform", "detail-type": "ReleaseRequested", "detail": {"version": "1.2.3"}});
        assert!(t.route("default", &release).is_empty(), "the rule is on the platform bus");
        let routed = t.route("abc-trading-dev", &release);
        assert_eq!((routed[0].1.resource.as_str(), &routed[0].2), ("Deploy", &json!({"version": "1.2.3"})));
        let inline = t.machine("Inline").expect("plain CloudFormation state machine");
        assert_eq!(
            inline.definition.as_deref(),
            Some(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "dev", "End": true}}}"#)
        );
        let schedule = t.rules.iter().find(|r| r.schedule.is_some()).expect("schedule");
        assert_eq!(schedule.targets[0].input.apply(&json!({})), json!({"action": "scale-down"}));
    }

    #[test]
    fn the_project_template_loads() {
        let root = emulator::workspace_root();
        let missing = Template::load(&root.join("template.yaml"), &BTreeMap::new()).expect_err("parameters needed");
        assert!(missing.to_string().contains("Parameters.Environment"), "{missing}");
        let parameters = [
            ("Environment", "dev"),
            ("OrganizationId", "o-abcdefghij"),
            ("ManagementAccountId", ACCOUNT),
            ("AutomationAccountId", ACCOUNT),
            ("MemberRegions", "eu-west-2"),
        ];
        let overrides = parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let t = Template::load(&root.join("template.yaml"), &overrides).expect("template.yaml loads");
        let f = t.function("LogProcessorFunction").expect("log processor");
        assert_eq!(f.binary, "log-processor");
        assert_eq!(f.environment["DELIVERY_STREAM_NAME"], "abc-trading-dev-logs");
        assert_eq!(f.environment["EVENT_BUS_NAME"], "abc-trading-dev");
        assert_eq!(f.environment["ENVIRONMENT"], "dev");
        let subs: Vec<_> = t.subscribers("/abc-trading/dev/platform-ops").collect();
        assert_eq!(subs.len(), 1);
        assert_eq!(subs[0].target, "LogProcessorFunction");
    }
}
