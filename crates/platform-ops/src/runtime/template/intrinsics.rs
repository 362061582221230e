//! Intrinsic functions (Ref, GetAtt, Sub, Join, Select, If, ...) evaluated against one local stack.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serde_norway::Value as Yaml;

use super::{ACCOUNT, REGION, STACK, TemplateError, invalid};

/// Resolves intrinsic functions against parameters and resource names.
///
/// Intrinsic functions are resolved the way CloudFormation would for one stack in the emulator's
/// account and region: parameters take their defaults (or overrides), resources their physical
/// names and ARNs.
pub(super) struct Resolver<'a> {
    pub(super) parameters: &'a BTreeMap<String, Value>,
    pub(super) resources: &'a serde_norway::Mapping,
    pub(super) conditions: &'a serde_norway::Mapping,
}

impl Resolver<'_> {
    pub(super) fn resolve(&self, v: &Yaml, at: &str) -> Result<Value, TemplateError> {
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

    pub(super) fn reference(&self, name: &str, at: &str) -> Result<Value, TemplateError> {
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

pub(super) fn text_of(v: &Value) -> String {
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
