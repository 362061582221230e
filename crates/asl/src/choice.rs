//! Choice rules: comparisons, type tests and And/Or/Not, as the States Language defines them.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use crate::path::{Path, PathError, ReferencePath};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

/// What a comparison compares with: a literal, or another node (the `...Path` operators).
#[derive(Debug, Clone)]
pub enum Operand {
    Literal(Value),
    Path(ReferencePath),
}

#[derive(Debug, Clone)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare { variable: Path, kind: Kind, op: Op, operand: Operand },
    Matches { variable: Path, pattern: String },
    Test { variable: Path, test: Test, expected: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Path(#[from] PathError),
}

/// A comparison's variable names nothing: Step Functions fails the execution (`States.Runtime`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path `{0}`: the choice state's condition path references an invalid value")]
pub struct MissingVariable(pub String);

const KINDS: [(&str, Kind); 4] =
    [("String", Kind::String), ("Numeric", Kind::Numeric), ("Boolean", Kind::Boolean), ("Timestamp", Kind::Timestamp)];
const OPS: [(&str, Op); 5] = [
    ("LessThanEquals", Op::LessThanEquals),
    ("GreaterThanEquals", Op::GreaterThanEquals),
    ("Equals", Op::Equals),
    ("LessThan", Op::LessThan),
    ("GreaterThan", Op::GreaterThan),
];
const TESTS: [(&str, Test); 6] = [
    ("IsNull", Test::IsNull),
    ("IsPresent", Test::IsPresent),
    ("IsNumeric", Test::IsNumeric),
    ("IsString", Test::IsString),
    ("IsBoolean", Test::IsBoolean),
    ("IsTimestamp", Test::IsTimestamp),
];

impl Rule {
    /// One rule object; `outer` keys (`Next`, `Comment` on a top-level rule) are the caller's.
    pub fn parse(value: &Value, outer: &[&str]) -> Result<Rule, RuleError> {
        let invalid = |m: String| RuleError::Invalid(m);
        let map = value.as_object().ok_or_else(|| invalid(format!("a choice rule must be an object, not {value}")))?;
        let keys: Vec<&str> =
            map.keys().map(String::as_str).filter(|k| !outer.contains(k) && *k != "Comment").collect();
        let nested = |v: &Value, name: &str| -> Result<Vec<Rule>, RuleError> {
            let list = v
                .as_array()
                .filter(|l| !l.is_empty())
                .ok_or_else(|| invalid(format!("`{name}` needs a non-empty array of rules")))?;
            list.iter().map(|r| Rule::parse(r, &[])).collect()
        };
        if let Some(v) = map.get("And") {
            only(&keys, &["And"])?;
            return Ok(Rule::And(nested(v, "And")?));
        }
        if let Some(v) = map.get("Or") {
            only(&keys, &["Or"])?;
            return Ok(Rule::Or(nested(v, "Or")?));
        }
        if let Some(v) = map.get("Not") {
            only(&keys, &["Not"])?;
            return Ok(Rule::Not(Box::new(Rule::parse(v, &[])?)));
        }
        let variable = map
            .get("Variable")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("a comparison needs `Variable` (a path string), or use And/Or/Not".into()))?;
        let variable = Path::parse(variable)?;
        let operators: Vec<&str> = keys.iter().copied().filter(|k| *k != "Variable").collect();
        let [operator] = operators[..] else {
            return Err(invalid(format!("a comparison needs exactly one operator, found {operators:?}")));
        };
        let operand = &map[operator];
        if let Some((_, test)) = TESTS.iter().find(|(n, _)| *n == operator) {
            let expected = operand.as_bool().ok_or_else(|| invalid(format!("`{operator}` takes true or false")))?;
            return Ok(Rule::Test { variable, test: *test, expected });
        }
        if operator == "StringMatches" {
            let pattern = operand.as_str().ok_or_else(|| invalid("`StringMatches` takes a string".into()))?;
            return Ok(Rule::Matches { variable, pattern: pattern.to_string() });
        }
        let (kind_name, kind) = KINDS
            .iter()
            .find(|(n, _)| operator.starts_with(n))
            .ok_or_else(|| invalid(format!("unknown comparison operator `{operator}`")))?;
        let rest = &operator[kind_name.len()..];
        let (rest, by_path) = match rest.strip_suffix("Path") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let (_, op) = OPS
            .iter()
            .find(|(n, _)| *n == rest)
            .ok_or_else(|| invalid(format!("unknown comparison operator `{operator}`")))?;
        if *kind == Kind::Boolean && *op != Op::Equals {
            return Err(invalid(format!("unknown comparison operator `{operator}`")));
        }
        let operand = if by_path {
            let text = operand.as_str().ok_or_else(|| invalid(format!("`{operator}` takes a path string")))?;
            Operand::Path(ReferencePath::parse(text)?)
        } else {
            let ok = match kind {
                Kind::String => operand.is_string(),
                Kind::Numeric => operand.is_number(),
                Kind::Boolean => operand.is_boolean(),
                Kind::Timestamp => operand.as_str().is_some_and(|s| timestamp(s).is_some()),
            };
            if !ok {
                return Err(invalid(format!("`{operator}` cannot compare with {operand}")));
            }
            Operand::Literal(operand.clone())
        };
        Ok(Rule::Compare { variable, kind: *kind, op: *op, operand })
    }

    pub fn evaluate(&self, data: &Value, context: &Value) -> Result<bool, MissingVariable> {
        match self {
            Rule::And(rules) => {
                for r in rules {
                    if !r.evaluate(data, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for r in rules {
                    if r.evaluate(data, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(r) => Ok(!r.evaluate(data, context)?),
            Rule::Test { variable, test, expected } => {
                let v = variable.select(data, context);
                let actual = match (test, &v) {
                    (Test::IsPresent, v) => v.is_some(),
                    (_, None) => false,
                    (Test::IsNull, Some(v)) => v.is_null(),
                    (Test::IsNumeric, Some(v)) => v.is_number(),
                    (Test::IsString, Some(v)) => v.is_string(),
                    (Test::IsBoolean, Some(v)) => v.is_boolean(),
                    (Test::IsTimestamp, Some(v)) => v.as_str().and_then(timestamp).is_some(),
                };
                Ok(actual == *expected)
            }
            Rule::Matches { variable, pattern } => {
                let v = variable.select(data, context).ok_or_else(|| MissingVariable(variable.as_str().into()))?;
                Ok(v.as_str().is_some_and(|s| glob(pattern, s)))
            }
            Rule::Compare { variable, kind, op, operand } => {
                let v = variable.select(data, context).ok_or_else(|| MissingVariable(variable.as_str().into()))?;
                let other = match operand {
                    Operand::Literal(l) => l.clone(),
                    Operand::Path(p) => {
                        let source = if p.root == crate::path::Root::Context { context } else { data };
                        p.get(source).cloned().ok_or_else(|| MissingVariable(p.as_str().into()))?
                    }
                };
                Ok(compare(*kind, *op, &v, &other))
            }
        }
    }
}

fn only(keys: &[&str], allowed: &[&str]) -> Result<(), RuleError> {
    match keys.iter().find(|k| !allowed.contains(k)) {
        Some(extra) => Err(RuleError::Invalid(format!("`{extra}` cannot sit beside `{}`", allowed.join("/")))),
        None => Ok(()),
    }
}

/// RFC 3339 as Step Functions accepts it (an upper-case `T` and a zone designator).
pub fn timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok().filter(|_| s.contains('T'))
}

/// A value of the wrong type never matches (it is not an error).
fn compare(kind: Kind, op: Op, v: &Value, other: &Value) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match kind {
        Kind::String => v.as_str().zip(other.as_str()).map(|(a, b)| a.cmp(b)),
        Kind::Numeric => v.as_f64().filter(|_| v.is_number()).zip(other.as_f64()).and_then(|(a, b)| a.partial_cmp(&b)),
        Kind::Boolean => v.as_bool().zip(other.as_bool()).map(|(a, b)| a.cmp(&b)),
        Kind::Timestamp => {
            v.as_str().and_then(timestamp).zip(other.as_str().and_then(timestamp)).map(|(a, b)| a.cmp(&b))
        }
    };
    let Some(o) = ordering else { return false };
    match op {
        Op::Equals => o == Ordering::Equal,
        Op::LessThan => o == Ordering::Less,
        Op::GreaterThan => o == Ordering::Greater,
        Op::LessThanEquals => o != Ordering::Greater,
        Op::GreaterThanEquals => o != Ordering::Less,
    }
}

/// `StringMatches` (and EventBridge `wildcard`): `*` matches any run of characters; `\*` and `\\` are literal.
pub fn glob(pattern: &str, text: &str) -> bool {
    #[derive(PartialEq)]
    enum Token {
        Star,
        Char(char),
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(Token::Char(chars.next().unwrap_or('\\'))),
            '*' => tokens.push(Token::Star),
            c => tokens.push(Token::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last star.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Token::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|t| *t == Token::Star)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(rule: Value, data: Value) -> Result<bool, MissingVariable> {
        Rule::parse(&rule, &["Next"]).expect("rule parses").evaluate(&data, &json!({}))
    }

    #[test]
    fn comparisons_of_every_kind() {
        let d = json!({"s": "b", "n": 5, "b": true, "t": "2026-11-24T10:00:00Z", "other": 7, "z": null});
        let yes = [
            json!({"Variable": "$.s", "StringEquals": "b"}),
            json!({"Variable": "$.s", "StringLessThan": "c"}),
            json!({"Variable": "$.s", "StringGreaterThanEquals": "b"}),
            json!({"Variable": "$.n", "NumericEquals": 5}),
            json!({"Variable": "$.n", "NumericLessThanPath": "$.other"}),
            json!({"Variable": "$.n", "NumericGreaterThan": 4.5}),
            json!({"Variable": "$.b", "BooleanEquals": true}),
            json!({"Variable": "$.t", "TimestampLessThan": "2026-11-24T11:00:00+00:00"}),
            json!({"Variable": "$.t", "TimestampEquals": "2026-11-24T12:00:00+02:00"}),
            json!({"Variable": "$.s", "StringMatches": "*"}),
            json!({"Variable": "$.z", "IsNull": true}),
            json!({"Variable": "$.nope", "IsPresent": false}),
            json!({"Variable": "$.t", "IsTimestamp": true}),
            json!({"Variable": "$.n", "IsNumeric": true}),
            json!({"Not": {"Variable": "$.s", "StringEquals": "x"}}),
            json!({"And": [{"Variable": "$.n", "NumericGreaterThanEquals": 5}, {"Variable": "$.n", "NumericLessThanEquals": 5}]}),
            json!({"Or": [{"Variable": "$.s", "StringEquals": "x"}, {"Variable": "$.b", "BooleanEquals": true}]}),
        ];
        for rule in yes {
            assert_eq!(check(rule.clone(), d.clone()), Ok(true), "{rule}");
        }
        // The wrong type does not match and is not an error.
        assert_eq!(check(json!({"Variable": "$.n", "StringEquals": "5"}), d.clone()), Ok(false));
        assert_eq!(check(json!({"Variable": "$.s", "IsNumeric": true}), d.clone()), Ok(false));
        // A missing variable fails the execution.
        assert!(check(json!({"Variable": "$.nope", "StringEquals": "x"}), d).is_err());
    }

    #[test]
    fn string_matches_wildcards() {
        assert!(glob("log-*.txt", "log-2026.txt"));
        assert!(glob("*.log", "a.b.log"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(glob("literal\\*star", "literal*star"));
        assert!(!glob("literal\\*star", "literalXstar"));
        assert!(glob("", ""));
    }

    #[test]
    fn malformed_rules_are_refused() {
        for bad in [
            json!({"Variable": "$.a"}),
            json!({"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1}),
            json!({"Variable": "$.a", "StringEquals": 1}),
            json!({"Variable": "$.a", "BooleanLessThan": true}),
            json!({"Variable": "$.a", "TimestampEquals": "yesterday"}),
            json!({"Variable": "$.a", "StringEqualsPath": "nope"}),
            json!({"Variable": "$.a", "Frobnicate": 1}),
            json!({"And": []}),
            json!({"And": [{"Variable": "$.a", "IsNull": true}], "Variable": "$.b"}),
        ] {
            assert!(Rule::parse(&bad, &["Next"]).is_err(), "{bad}");
        }
    }
}
