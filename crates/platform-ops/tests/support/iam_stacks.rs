//! The templates loaded as one stack each, their intrinsics resolved, for the offline IAM evaluation of `iam.rs` and `iam_members.rs`.

#![allow(dead_code, unused_imports)]

use std::collections::BTreeMap;
use std::path::Path;

use iam_policy::{Decision, Policy, Principal, Request, evaluate, evaluate_with_boundary};
use serde_json::{Value as Json, json};
use serde_norway::Value as Yaml;

pub const AUTOMATION: &str = "222222222222";
pub const MANAGEMENT: &str = "111111111111";
pub const MEMBER: &str = "333333333333";
pub const ORG: &str = "o-abcltd00000";

/// One template, its intrinsics resolved as CloudFormation would for one stack.
pub struct Stack {
    pub doc: Yaml,
    pub account: String,
    pub parameters: BTreeMap<String, String>,
}

impl Stack {
    pub fn load(file: &str, account: &str, parameters: &[(&str, &str)]) -> Stack {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let doc: Yaml = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut values: BTreeMap<String, String> = doc
            .get("Parameters")
            .and_then(Yaml::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(k, p)| Some((k.as_str()?.to_string(), scalar(p.get("Default")?)?)))
            .collect();
        values.extend(parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Stack { doc, account: account.to_string(), parameters: values }
    }

    pub fn resource(&self, id: &str) -> &Yaml {
        self.doc.get("Resources").and_then(|r| r.get(id)).unwrap_or_else(|| panic!("no resource {id}"))
    }

    pub fn property(&self, id: &str, path: &[&str]) -> Json {
        let mut v = self.resource(id).get("Properties").unwrap_or_else(|| panic!("{id} has no Properties"));
        for key in path {
            v = v.get(*key).unwrap_or_else(|| panic!("{id} has no {key}"));
        }
        self.resolve(v).unwrap_or(Json::Null)
    }

    /// An inline policy of a role (`Policies[i].PolicyDocument`), or a SAM resource's `Statement` entries.
    pub fn inline_policies(&self, id: &str) -> Vec<Policy> {
        let policies = self.property(id, &["Policies"]);
        policies
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                p.get("PolicyDocument")
                    .cloned()
                    .or_else(|| p.get("Statement").map(|s| json!({"Version": "2012-10-17", "Statement": s})))
            })
            .map(|d| Policy::from_value(&d).unwrap_or_else(|e| panic!("{id}: {e}\n{d:#}")))
            .collect()
    }

    pub fn managed_policy(&self, id: &str) -> Policy {
        let d = self.property(id, &["PolicyDocument"]);
        Policy::from_value(&d).unwrap_or_else(|e| panic!("{id}: {e}\n{d:#}"))
    }

    pub fn document(&self, id: &str, path: &[&str]) -> Policy {
        let d = self.property(id, path);
        Policy::from_value(&d).unwrap_or_else(|e| panic!("{id}: {e}\n{d:#}"))
    }

    /// `None` is `AWS::NoValue`, dropped from the list or mapping that holds it.
    pub fn resolve(&self, v: &Yaml) -> Option<Json> {
        Some(match v {
            Yaml::Null => Json::Null,
            Yaml::Bool(b) => Json::Bool(*b),
            Yaml::Number(n) => json!(n.to_string()),
            Yaml::String(s) => Json::String(s.clone()),
            Yaml::Sequence(items) => Json::Array(items.iter().filter_map(|i| self.resolve(i)).collect()),
            Yaml::Tagged(t) => return self.function(t.tag.to_string().trim_start_matches('!'), &t.value),
            Yaml::Mapping(m) => {
                if m.len() == 1
                    && let Some((Yaml::String(k), arg)) = m.iter().next()
                    && (k == "Ref" || k.starts_with("Fn::"))
                {
                    return self.function(k.trim_start_matches("Fn::"), arg);
                }
                Json::Object(m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), self.resolve(v)?))).collect())
            }
        })
    }

    pub fn function(&self, name: &str, arg: &Yaml) -> Option<Json> {
        let text = |v: &Json| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
        Some(match name {
            "Ref" => return self.reference(arg.as_str().expect("!Ref name")),
            "GetAtt" => {
                let (id, attribute) = match arg {
                    Yaml::String(s) => s.split_once('.').expect("Resource.Attribute"),
                    Yaml::Sequence(s) => (s[0].as_str().expect("id"), s[1].as_str().expect("attribute")),
                    _ => panic!("!GetAtt {arg:?}"),
                };
                Json::String(self.attribute(id, attribute))
            }
            "Sub" => {
                let (template, vars) = match arg {
                    Yaml::String(s) => (s.clone(), BTreeMap::new()),
                    Yaml::Sequence(s) => (
                        s[0].as_str().expect("!Sub text").to_string(),
                        s[1].as_mapping()
                            .expect("!Sub variables")
                            .iter()
                            .map(|(k, v)| {
                                (
                                    k.as_str().unwrap_or_default().to_string(),
                                    text(&self.resolve(v).unwrap_or(Json::Null)),
                                )
                            })
                            .collect(),
                    ),
                    _ => panic!("!Sub {arg:?}"),
                };
                let mut out = String::new();
                let mut rest = template.as_str();
                while let Some(start) = rest.find("${") {
                    out.push_str(&rest[..start]);
                    let end = rest[start..].find('}').expect("closed ${") + start;
                    let name = &rest[start + 2..end];
                    let value = match vars.get(name) {
                        Some(v) => v.clone(),
                        None => match name.split_once('.') {
                            Some((id, attribute)) if !name.starts_with("AWS::") => self.attribute(id, attribute),
                            _ => text(&self.reference(name).unwrap_or(Json::Null)),
                        },
                    };
                    out.push_str(&value);
                    rest = &rest[end + 1..];
                }
                out.push_str(rest);
                Json::String(out)
            }
            "If" => {
                let s = arg.as_sequence().expect("!If [condition, then, else]");
                let branch = if self.condition(s[0].as_str().expect("condition")) { &s[1] } else { &s[2] };
                return self.resolve(branch);
            }
            "Join" => {
                let s = arg.as_sequence().expect("!Join");
                let items = self.resolve(&s[1]).unwrap_or(Json::Null);
                Json::String(
                    items
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(text)
                        .collect::<Vec<_>>()
                        .join(s[0].as_str().unwrap_or("")),
                )
            }
            "Equals" => {
                let s = arg.as_sequence().expect("!Equals");
                Json::Bool(self.resolve(&s[0]) == self.resolve(&s[1]))
            }
            "Or" | "And" => {
                let values: Vec<bool> = arg
                    .as_sequence()
                    .expect("list")
                    .iter()
                    .map(|c| self.resolve(c) == Some(Json::Bool(true)))
                    .collect();
                Json::Bool(if name == "Or" { values.iter().any(|b| *b) } else { values.iter().all(|b| *b) })
            }
            "Not" => Json::Bool(self.resolve(&arg.as_sequence().expect("!Not")[0]) != Some(Json::Bool(true))),
            "Condition" => Json::Bool(self.condition(arg.as_str().expect("condition"))),
            other => panic!("intrinsic {other} is not resolved here"),
        })
    }

    pub fn condition(&self, name: &str) -> bool {
        let c = self.doc.get("Conditions").and_then(|c| c.get(name)).unwrap_or_else(|| panic!("no condition {name}"));
        self.resolve(c) == Some(Json::Bool(true))
    }

    pub fn reference(&self, name: &str) -> Option<Json> {
        Some(Json::String(match name {
            "AWS::NoValue" => return None,
            "AWS::AccountId" => self.account.clone(),
            "AWS::Partition" => "aws".into(),
            "AWS::Region" => "us-east-1".into(),
            p if self.parameters.contains_key(p) => self.parameters[p].clone(),
            id => {
                let kind = self.resource(id).get("Type").and_then(Yaml::as_str).unwrap_or_default();
                match kind {
                    "AWS::IAM::ManagedPolicy" => format!("arn:aws:iam::{}:policy/{}", self.account, self.name(id)),
                    "AWS::IAM::OIDCProvider" => {
                        format!("arn:aws:iam::{}:oidc-provider/token.actions.githubusercontent.com", self.account)
                    }
                    _ => self.name(id),
                }
            }
        }))
    }

    pub fn name(&self, id: &str) -> String {
        let props = self.resource(id).get("Properties");
        ["RoleName", "ManagedPolicyName", "TableName", "BucketName", "Name", "FunctionName", "DeliveryStreamName"]
            .iter()
            .find_map(|k| props.and_then(|p| p.get(*k)))
            .and_then(|v| self.resolve(v))
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| id.to_string())
    }

    pub fn attribute(&self, id: &str, attribute: &str) -> String {
        let kind = self.resource(id).get("Type").and_then(Yaml::as_str).unwrap_or_default();
        let (account, name) = (&self.account, self.name(id));
        match (kind, attribute) {
            ("AWS::IAM::Role", "Arn") => format!("arn:aws:iam::{account}:role/{name}"),
            ("AWS::Events::EventBus", "Arn") => format!("arn:aws:events:us-east-1:{account}:event-bus/{name}"),
            ("AWS::DynamoDB::Table", "Arn") => format!("arn:aws:dynamodb:us-east-1:{account}:table/{name}"),
            ("AWS::Kinesis::Stream", "Arn") => format!("arn:aws:kinesis:us-east-1:{account}:stream/{name}"),
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{name}"),
            ("AWS::KMS::Key", "Arn") => format!("arn:aws:kms:us-east-1:{account}:key/{id}"),
            ("AWS::Serverless::Function", "Arn") => format!("arn:aws:lambda:us-east-1:{account}:function:{name}"),
            _ => format!("arn:aws:{kind}:{account}:{id}/{attribute}"),
        }
    }
}

pub fn scalar(v: &Yaml) -> Option<String> {
    v.as_str()
        .map(str::to_string)
        .or_else(|| v.as_bool().map(|b| b.to_string()))
        .or_else(|| v.as_u64().map(|n| n.to_string()))
}

pub fn pipeline(env: &str) -> Stack {
    Stack::load("stacksets/pipeline-access.yaml", AUTOMATION, &[("Environment", env)])
}

pub fn exec_role_policies(stack: &Stack) -> Vec<Policy> {
    let mut policies = stack.inline_policies("CloudFormationExecutionRole");
    policies.push(stack.managed_policy("ExecutionRoleIdentities"));
    policies
}

pub fn session(role: &str, account: &str) -> Principal {
    Principal::from_arn(&format!("arn:aws:sts::{account}:assumed-role/{role}/session")).expect("session")
}

pub fn boundary_arn(env: &str) -> String {
    format!("arn:aws:iam::{AUTOMATION}:policy/abc-trading-{env}-permissions-boundary")
}

pub fn allowed(d: &Decision) -> bool {
    d.is_allowed()
}
