//! EventBridge event patterns: compiled once, matched against events as EventBridge matches them.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event pattern at `{at}`: {message}")]
pub struct PatternError {
    pub at: String,
    pub message: String,
}

/// A compiled pattern: every field must match (AND); `$or` takes any of its alternatives.
#[derive(Debug, Clone)]
pub struct Pattern {
    fields: Vec<(String, Node)>,
    or: Vec<Vec<Pattern>>,
}

#[derive(Debug, Clone)]
enum Node {
    Nested(Pattern),
    /// Any one of these matches (OR).
    Leaf(Vec<Matcher>),
}

#[derive(Debug, Clone)]
enum Text {
    Exact(String),
    IgnoreCase(String),
}

#[derive(Debug, Clone)]
enum Matcher {
    Equals(Value),
    Prefix(Text),
    Suffix(Text),
    EqualsIgnoreCase(String),
    Wildcard(String),
    AnythingBut(Vec<Exclusion>),
    Numeric(Vec<(Cmp, f64)>),
    Exists(bool),
    Cidr(IpNet),
}

#[derive(Debug, Clone)]
enum Exclusion {
    Value(Value),
    Prefix(String),
    Suffix(String),
    IgnoreCase(String),
    Wildcard(String),
}

#[derive(Debug, Clone, Copy)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

fn fail(at: &str, message: impl Into<String>) -> PatternError {
    PatternError { at: if at.is_empty() { "$".into() } else { at.to_string() }, message: message.into() }
}

impl Pattern {
    pub fn parse(value: &Value) -> Result<Pattern, PatternError> {
        Self::compile(value, "$")
    }

    fn compile(value: &Value, at: &str) -> Result<Pattern, PatternError> {
        let map = value.as_object().ok_or_else(|| fail(at, format!("must be an object, not {value}")))?;
        let mut fields = Vec::new();
        let mut or = Vec::new();
        for (key, v) in map {
            let here = format!("{at}.{key}");
            if key == "$or" {
                let alternatives = v
                    .as_array()
                    .filter(|a| a.len() >= 2)
                    .ok_or_else(|| fail(&here, "`$or` needs an array of at least two patterns"))?;
                or.push(alternatives.iter().map(|p| Pattern::compile(p, &here)).collect::<Result<_, _>>()?);
                continue;
            }
            let node = match v {
                Value::Object(_) => Node::Nested(Pattern::compile(v, &here)?),
                Value::Array(items) if !items.is_empty() => {
                    Node::Leaf(items.iter().map(|m| matcher(m, &here)).collect::<Result<_, _>>()?)
                }
                Value::Array(_) => return Err(fail(&here, "an empty array matches nothing")),
                other => return Err(fail(&here, format!("values must be in an array: [{other}]"))),
            };
            fields.push((key.clone(), node));
        }
        if fields.is_empty() && or.is_empty() {
            return Err(fail(at, "an empty pattern"));
        }
        Ok(Pattern { fields, or })
    }

    pub fn matches(&self, event: &Value) -> bool {
        self.matches_object(event.as_object())
    }

    fn matches_object(&self, event: Option<&Map<String, Value>>) -> bool {
        let fields_match = self.fields.iter().all(|(key, node)| {
            let value = event.and_then(|e| e.get(key));
            match node {
                Node::Nested(p) => match value {
                    Some(Value::Object(o)) => p.matches_object(Some(o)),
                    // A missing object can still satisfy `exists: false` below it.
                    None => p.matches_object(None),
                    Some(_) => false,
                },
                Node::Leaf(matchers) => leaf_matches(matchers, value),
            }
        });
        fields_match && self.or.iter().all(|alternatives| alternatives.iter().any(|p| p.matches_object(event)))
    }
}

fn leaf_matches(matchers: &[Matcher], value: Option<&Value>) -> bool {
    matchers.iter().any(|m| match (m, value) {
        (Matcher::Exists(want), v) => v.is_some() == *want,
        (_, None) => false,
        // An array in the event matches when any of its elements does.
        (m, Some(Value::Array(items))) => items.iter().any(|item| scalar_matches(m, item)),
        (m, Some(v)) => scalar_matches(m, v),
    })
}

fn scalar_matches(m: &Matcher, v: &Value) -> bool {
    let text = v.as_str();
    match m {
        Matcher::Equals(want) => values_equal(want, v),
        Matcher::Prefix(Text::Exact(p)) => text.is_some_and(|t| t.starts_with(p.as_str())),
        Matcher::Prefix(Text::IgnoreCase(p)) => text.is_some_and(|t| t.to_lowercase().starts_with(&p.to_lowercase())),
        Matcher::Suffix(Text::Exact(s)) => text.is_some_and(|t| t.ends_with(s.as_str())),
        Matcher::Suffix(Text::IgnoreCase(s)) => text.is_some_and(|t| t.to_lowercase().ends_with(&s.to_lowercase())),
        Matcher::EqualsIgnoreCase(s) => text.is_some_and(|t| t.to_lowercase() == s.to_lowercase()),
        Matcher::Wildcard(w) => text.is_some_and(|t| asl::choice::glob(w, t)),
        Matcher::AnythingBut(excluded) => {
            // anything-but needs a value of the excluded kind; it never matches a missing field.
            !excluded.iter().any(|e| match e {
                Exclusion::Value(x) => values_equal(x, v),
                Exclusion::Prefix(p) => text.is_some_and(|t| t.starts_with(p.as_str())),
                Exclusion::Suffix(s) => text.is_some_and(|t| t.ends_with(s.as_str())),
                Exclusion::IgnoreCase(s) => text.is_some_and(|t| t.to_lowercase() == s.to_lowercase()),
                Exclusion::Wildcard(w) => text.is_some_and(|t| asl::choice::glob(w, t)),
            })
        }
        Matcher::Numeric(bounds) => v.as_f64().filter(|_| v.is_number()).is_some_and(|n| {
            bounds.iter().all(|(cmp, b)| match cmp {
                Cmp::Eq => n == *b,
                Cmp::Lt => n < *b,
                Cmp::Le => n <= *b,
                Cmp::Gt => n > *b,
                Cmp::Ge => n >= *b,
            })
        }),
        Matcher::Cidr(net) => text.and_then(|t| t.parse::<IpAddr>().ok()).is_some_and(|ip| net.contains(&ip)),
        Matcher::Exists(_) => true,
    }
}

/// Numbers compare by value (`5` matches `5.0`), everything else exactly.
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn string_arg(v: &Value, at: &str, what: &str) -> Result<String, PatternError> {
    v.as_str().map(str::to_string).ok_or_else(|| fail(at, format!("`{what}` takes a string, not {v}")))
}

/// `"x"` or `{"equals-ignore-case": "x"}`, as prefix and suffix take them.
fn text_arg(v: &Value, at: &str, what: &str) -> Result<Text, PatternError> {
    match v {
        Value::String(s) => Ok(Text::Exact(s.clone())),
        Value::Object(o) if o.len() == 1 && o.contains_key("equals-ignore-case") => {
            Ok(Text::IgnoreCase(string_arg(&o["equals-ignore-case"], at, "equals-ignore-case")?))
        }
        other => Err(fail(at, format!("`{what}` takes a string or {{\"equals-ignore-case\": ...}}, not {other}"))),
    }
}

fn wildcard_arg(v: &Value, at: &str) -> Result<String, PatternError> {
    let w = string_arg(v, at, "wildcard")?;
    if w.contains("**") {
        return Err(fail(at, format!("wildcard `{w}` has consecutive `*`")));
    }
    Ok(w)
}

fn matcher(m: &Value, at: &str) -> Result<Matcher, PatternError> {
    let Value::Object(o) = m else {
        return match m {
            Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => Ok(Matcher::Equals(m.clone())),
            other => Err(fail(at, format!("{other} is not a value or a matcher"))),
        };
    };
    let mut entries = o.iter();
    let (Some((op, arg)), None) = (entries.next(), entries.next()) else {
        return Err(fail(at, format!("a matcher has exactly one operator: {m}")));
    };
    Ok(match op.as_str() {
        "prefix" => Matcher::Prefix(text_arg(arg, at, op)?),
        "suffix" => Matcher::Suffix(text_arg(arg, at, op)?),
        "equals-ignore-case" => Matcher::EqualsIgnoreCase(string_arg(arg, at, op)?),
        "wildcard" => Matcher::Wildcard(wildcard_arg(arg, at)?),
        "exists" => Matcher::Exists(arg.as_bool().ok_or_else(|| fail(at, "`exists` takes true or false"))?),
        "cidr" => Matcher::Cidr(
            string_arg(arg, at, op)?.parse::<IpNet>().map_err(|e| fail(at, format!("`cidr` {arg}: {e}")))?,
        ),
        "numeric" => {
            let list = arg.as_array().filter(|l| !l.is_empty() && l.len() % 2 == 0 && l.len() <= 4);
            let list = list.ok_or_else(|| fail(at, "`numeric` takes one or two operator-number pairs"))?;
            let mut bounds = Vec::new();
            for pair in list.chunks(2) {
                let cmp = match pair[0].as_str() {
                    Some("=") => Cmp::Eq,
                    Some("<") => Cmp::Lt,
                    Some("<=") => Cmp::Le,
                    Some(">") => Cmp::Gt,
                    Some(">=") => Cmp::Ge,
                    _ => return Err(fail(at, format!("`{}` is not a numeric operator", pair[0]))),
                };
                let n = pair[1].as_f64().ok_or_else(|| fail(at, format!("{} is not a number", pair[1])))?;
                bounds.push((cmp, n));
            }
            Matcher::Numeric(bounds)
        }
        "anything-but" => {
            let exclusions = match arg {
                Value::String(_) | Value::Number(_) => vec![Exclusion::Value(arg.clone())],
                Value::Array(items) if !items.is_empty() && items.iter().all(|i| i.is_string() || i.is_number()) => {
                    items.iter().cloned().map(Exclusion::Value).collect()
                }
                Value::Object(inner) if inner.len() == 1 => {
                    let (k, v) = inner.iter().next().unwrap_or_else(|| unreachable!("one entry"));
                    let strings = |v: &Value| -> Result<Vec<String>, PatternError> {
                        match v {
                            Value::Array(items) => items.iter().map(|i| string_arg(i, at, k)).collect(),
                            v => Ok(vec![string_arg(v, at, k)?]),
                        }
                    };
                    match k.as_str() {
                        "prefix" => vec![Exclusion::Prefix(string_arg(v, at, k)?)],
                        "suffix" => vec![Exclusion::Suffix(string_arg(v, at, k)?)],
                        "equals-ignore-case" => strings(v)?.into_iter().map(Exclusion::IgnoreCase).collect(),
                        "wildcard" => {
                            let list = strings(v)?;
                            for w in &list {
                                wildcard_arg(&Value::String(w.clone()), at)?;
                            }
                            list.into_iter().map(Exclusion::Wildcard).collect()
                        }
                        other => return Err(fail(at, format!("`anything-but` cannot take `{other}`"))),
                    }
                }
                other => return Err(fail(at, format!("`anything-but` cannot take {other}"))),
            };
            Matcher::AnythingBut(exclusions)
        }
        other => return Err(fail(at, format!("unknown matcher `{other}`"))),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The EC2 state-change example the EventBridge guide uses throughout.
    fn event() -> Value {
        json!({
            "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
            "account": "111122223333", "time": "2017-12-22T18:43:48Z", "region": "us-west-1",
            "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
            "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated", "c-count": 5,
                       "source-ip": "10.0.0.123", "FileName": "image.PNG", "tags": ["a", "b"], "none": null}
        })
    }

    fn check(pattern: Value) -> bool {
        Pattern::parse(&pattern).unwrap_or_else(|e| panic!("{pattern}: {e}")).matches(&event())
    }

    #[test]
    fn the_documented_filters_match() {
        let yes = [
            json!({"source": ["aws.ec2"]}),
            json!({"source": ["aws.s3", "aws.ec2"], "detail": {"state": ["terminated"]}}),
            json!({"time": [{"prefix": "2017-12-22"}]}),
            json!({"source": [{"prefix": {"equals-ignore-case": "AWS."}}]}),
            json!({"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}),
            json!({"detail": {"state": [{"equals-ignore-case": "TERMINATED"}]}}),
            json!({"detail": {"instance-id": [{"wildcard": "i-*def0"}]}}),
            json!({"detail": {"state": [{"anything-but": "initializing"}]}}),
            json!({"detail": {"state": [{"anything-but": ["initializing", "stopped"]}]}}),
            json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}),
            json!({"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}}),
            json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["RUNNING", "PENDING"]}}]}}),
            json!({"detail": {"FileName": [{"anything-but": {"wildcard": "*/lib/*"}}]}}),
            json!({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}),
            json!({"detail": {"c-count": [{"numeric": ["=", 5.0]}]}}),
            json!({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}),
            json!({"detail": {"instance-id": [{"exists": true}]}}),
            json!({"detail": {"missing": [{"exists": false}]}}),
            json!({"nothing": {"below": [{"exists": false}]}}),
            json!({"detail": {"tags": ["b"]}}),
            json!({"detail": {"none": [null]}}),
            json!({"detail": {"$or": [{"state": ["running"]}, {"c-count": [{"numeric": [">", 4]}]}]}}),
            json!({"$or": [{"source": ["aws.s3"]}, {"detail-type": [{"prefix": "EC2"}]}]}),
        ];
        for p in yes {
            assert!(check(p.clone()), "should match: {p}");
        }
    }

    #[test]
    fn and_what_they_exclude() {
        let no = [
            json!({"source": ["aws.s3"]}),
            json!({"source": ["aws.ec2"], "detail": {"state": ["running"]}}),
            json!({"source": [{"prefix": "AWS."}]}),
            json!({"detail": {"state": [{"anything-but": "terminated"}]}}),
            json!({"detail": {"missing": [{"anything-but": "x"}]}}),
            json!({"detail": {"c-count": [{"numeric": [">", 5]}]}}),
            json!({"detail": {"state": [{"numeric": [">", 0]}]}}),
            json!({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}),
            json!({"detail": {"instance-id": [{"exists": false}]}}),
            json!({"detail": {"missing": ["x"]}}),
            json!({"detail": {"tags": ["c"]}}),
            json!({"detail": {"$or": [{"state": ["running"]}, {"c-count": [1]}]}}),
            json!({"detail": {"c-count": ["5"]}}),
        ];
        for p in no {
            assert!(!check(p.clone()), "should not match: {p}");
        }
    }

    #[test]
    fn malformed_patterns_are_named() {
        for (p, at) in [
            (json!({"source": "aws.ec2"}), "$.source"),
            (json!({"detail": {"c": [{"numeric": [">>", 1]}]}}), "$.detail.c"),
            (json!({"detail": {"c": [{"numeric": [">", "x"]}]}}), "$.detail.c"),
            (json!({"detail": {"ip": [{"cidr": "10.0.0.0/33"}]}}), "$.detail.ip"),
            (json!({"detail": {"s": [{"prefix": 1}]}}), "$.detail.s"),
            (json!({"detail": {"s": [{"frob": 1}]}}), "$.detail.s"),
            (json!({"detail": {"s": [{"prefix": "a", "suffix": "b"}]}}), "$.detail.s"),
            (json!({"detail": {"s": [{"wildcard": "a**b"}]}}), "$.detail.s"),
            (json!({"$or": [{"a": ["x"]}]}), "$.$or"),
            (json!({"detail": {"s": []}}), "$.detail.s"),
        ] {
            let err = Pattern::parse(&p).expect_err(&p.to_string());
            assert_eq!(err.at, at, "{err}");
        }
    }
}
