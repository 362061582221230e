//! The `Condition` element: operators, `...IfExists`, `ForAllValues:`/`ForAnyValue:`, and how missing keys count.

mod values;

use serde_json::Value;

use crate::error::StatementError;
use crate::pattern::{Template, arn_match, glob_match};
use crate::request::Request;
use values::{Cidr, parse_date, parse_number};

/// The comparison an operator makes, before negation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    /// `ArnEquals` and `ArnLike` behave identically in IAM.
    ArnLike,
    Null,
}

/// Every operator name IAM defines, with its comparison and whether it is the negated form.
const OPERATORS: &[(&str, Comparison, bool)] = &[
    ("StringEquals", Comparison::StringEquals, false),
    ("StringNotEquals", Comparison::StringEquals, true),
    ("StringEqualsIgnoreCase", Comparison::StringEqualsIgnoreCase, false),
    ("StringNotEqualsIgnoreCase", Comparison::StringEqualsIgnoreCase, true),
    ("StringLike", Comparison::StringLike, false),
    ("StringNotLike", Comparison::StringLike, true),
    ("NumericEquals", Comparison::NumericEquals, false),
    ("NumericNotEquals", Comparison::NumericEquals, true),
    ("NumericLessThan", Comparison::NumericLessThan, false),
    ("NumericLessThanEquals", Comparison::NumericLessThanEquals, false),
    ("NumericGreaterThan", Comparison::NumericGreaterThan, false),
    ("NumericGreaterThanEquals", Comparison::NumericGreaterThanEquals, false),
    ("DateEquals", Comparison::DateEquals, false),
    ("DateNotEquals", Comparison::DateEquals, true),
    ("DateLessThan", Comparison::DateLessThan, false),
    ("DateLessThanEquals", Comparison::DateLessThanEquals, false),
    ("DateGreaterThan", Comparison::DateGreaterThan, false),
    ("DateGreaterThanEquals", Comparison::DateGreaterThanEquals, false),
    ("Bool", Comparison::Bool, false),
    ("BinaryEquals", Comparison::BinaryEquals, false),
    ("IpAddress", Comparison::IpAddress, false),
    ("NotIpAddress", Comparison::IpAddress, true),
    ("ArnEquals", Comparison::ArnLike, false),
    ("ArnNotEquals", Comparison::ArnLike, true),
    ("ArnLike", Comparison::ArnLike, false),
    ("ArnNotLike", Comparison::ArnLike, true),
    ("Null", Comparison::Null, false),
];

/// How a multivalued request key is compared with the policy's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetQualifier {
    ForAllValues,
    ForAnyValue,
}

/// A parsed operator name such as `ForAnyValue:StringNotLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Operator {
    qualifier: Option<SetQualifier>,
    comparison: Comparison,
    negated: bool,
    if_exists: bool,
}

impl Operator {
    fn parse(name: &str) -> Option<Operator> {
        let (qualifier, rest) = match name.split_once(':') {
            Some((prefix, rest)) if prefix.eq_ignore_ascii_case("ForAllValues") => {
                (Some(SetQualifier::ForAllValues), rest)
            }
            Some((prefix, rest)) if prefix.eq_ignore_ascii_case("ForAnyValue") => {
                (Some(SetQualifier::ForAnyValue), rest)
            }
            Some(_) => return None,
            None => (None, name),
        };
        let (base, if_exists) = match rest.len().checked_sub("IfExists".len()) {
            Some(at) if rest.is_char_boundary(at) && rest[at..].eq_ignore_ascii_case("IfExists") => (&rest[..at], true),
            _ => (rest, false),
        };
        let &(_, comparison, negated) = OPERATORS.iter().find(|(known, _, _)| known.eq_ignore_ascii_case(base))?;
        // IAM has no `NullIfExists` and no set form of `Null`: both test presence already.
        if comparison == Comparison::Null && (if_exists || qualifier.is_some()) {
            return None;
        }
        Some(Operator { qualifier, comparison, negated, if_exists })
    }
}

/// One policy value of a condition, checked at parse time where it cannot hold a variable.
#[derive(Debug, Clone, PartialEq)]
enum PolicyValue {
    Text(Template),
    Number(f64),
    Date(i128),
    Cidr(Cidr),
    /// `Null`'s `true` (the key must be absent) or `false` (it must be present).
    Absent(bool),
}

/// One key under one operator: the unit IAM ANDs with the others.
#[derive(Debug, Clone, PartialEq)]
struct Clause {
    operator: Operator,
    /// Lower-cased: condition key names are case-insensitive.
    key: String,
    values: Vec<PolicyValue>,
}

/// A statement's whole `Condition` element.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Condition {
    clauses: Vec<Clause>,
}

impl Condition {
    /// Parses a `Condition` object; `variables` is whether the policy version allows policy variables.
    pub(crate) fn parse(value: &Value, variables: bool) -> Result<Condition, StatementError> {
        let Value::Object(operators) = value else {
            return Err(StatementError::InvalidCondition(value.to_string()));
        };
        let mut clauses = Vec::new();
        for (name, body) in operators {
            let operator = Operator::parse(name).ok_or_else(|| StatementError::UnknownOperator(name.clone()))?;
            let Value::Object(keys) = body else {
                return Err(StatementError::InvalidOperatorBody { operator: name.clone(), found: body.to_string() });
            };
            for (key, values) in keys {
                let values = match values {
                    Value::Array(items) => {
                        items.iter().map(|item| parse_value(name, key, operator, item, variables)).collect()
                    }
                    single => parse_value(name, key, operator, single, variables).map(|value| vec![value]),
                }?;
                clauses.push(Clause { operator, key: key.to_ascii_lowercase(), values });
            }
        }
        Ok(Condition { clauses })
    }

    /// Whether every clause holds for the request (IAM ANDs operators and keys).
    pub(crate) fn holds(&self, request: &Request) -> bool {
        self.clauses.iter().all(|clause| clause.holds(request))
    }
}

/// One condition value, typed for its operator.
fn parse_value(
    operator_name: &str,
    key: &str,
    operator: Operator,
    value: &Value,
    variables: bool,
) -> Result<PolicyValue, StatementError> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        other => {
            return Err(StatementError::InvalidConditionValueType {
                operator: operator_name.to_string(),
                key: key.to_string(),
                value: other.to_string(),
            });
        }
    };
    let invalid = |expected| StatementError::InvalidConditionValue {
        operator: operator_name.to_string(),
        key: key.to_string(),
        value: text.clone(),
        expected,
    };
    // Only string, ARN and boolean operators take policy variables; the others read the text as it is.
    match operator.comparison {
        Comparison::NumericEquals
        | Comparison::NumericLessThan
        | Comparison::NumericLessThanEquals
        | Comparison::NumericGreaterThan
        | Comparison::NumericGreaterThanEquals => {
            parse_number(&text).map(PolicyValue::Number).ok_or_else(|| invalid("a number"))
        }
        Comparison::DateEquals
        | Comparison::DateLessThan
        | Comparison::DateLessThanEquals
        | Comparison::DateGreaterThan
        | Comparison::DateGreaterThanEquals => {
            parse_date(&text).map(PolicyValue::Date).ok_or_else(|| invalid("an ISO 8601 date or epoch seconds"))
        }
        Comparison::IpAddress => {
            Cidr::parse(&text).map(PolicyValue::Cidr).ok_or_else(|| invalid("an IP address or CIDR range"))
        }
        Comparison::Null => parse_bool(&text).map(PolicyValue::Absent).ok_or_else(|| invalid("\"true\" or \"false\"")),
        Comparison::BinaryEquals => Ok(PolicyValue::Text(Template::parse(&text, false).map_err(|_| invalid("text"))?)),
        Comparison::Bool => {
            let template = Template::parse(&text, variables).map_err(StatementError::InvalidVariable)?;
            match template.as_plain() {
                Some(plain) if parse_bool(plain).is_none() => Err(invalid("\"true\" or \"false\"")),
                _ => Ok(PolicyValue::Text(template)),
            }
        }
        Comparison::StringEquals
        | Comparison::StringEqualsIgnoreCase
        | Comparison::StringLike
        | Comparison::ArnLike => {
            Template::parse(&text, variables).map(PolicyValue::Text).map_err(StatementError::InvalidVariable)
        }
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

impl Clause {
    fn holds(&self, request: &Request) -> bool {
        let present = request.context_values(&self.key).filter(|values| !values.is_empty());
        if self.operator.comparison == Comparison::Null {
            return self.values.iter().any(|value| *value == PolicyValue::Absent(present.is_none()));
        }
        let Some(request_values) = present else {
            return self.when_missing();
        };
        // Whether one request value matches at least one policy value (IAM ORs a key's values).
        let matches = |request_value: &String| {
            self.values.iter().any(|policy| compare(self.operator.comparison, policy, request_value, request))
        };
        let negated = self.operator.negated;
        match self.operator.qualifier {
            // The request value must match one policy value; a negated operator must match none (NOR).
            // Several values without a set operator are one value that equals no single string,
            // so the positive operator fails and the negated one holds.
            None => match request_values {
                [single] => matches(single) != negated,
                _ => negated,
            },
            Some(SetQualifier::ForAllValues) => request_values.iter().all(|value| matches(value) != negated),
            Some(SetQualifier::ForAnyValue) => request_values.iter().any(|value| matches(value) != negated),
        }
    }

    /// The outcome for a key absent from the request (or present with no values).
    fn when_missing(&self) -> bool {
        if self.operator.if_exists {
            return true;
        }
        match self.operator.qualifier {
            // "every value matches" holds of the empty set; "some value matches" does not.
            Some(SetQualifier::ForAllValues) => true,
            Some(SetQualifier::ForAnyValue) => false,
            // Nothing is equal to a missing value, and nothing is "not equal" more surely.
            None => self.operator.negated,
        }
    }
}

/// Whether one request value satisfies the (un-negated) comparison with one policy value.
fn compare(comparison: Comparison, policy: &PolicyValue, value: &str, request: &Request) -> bool {
    match (comparison, policy) {
        (Comparison::StringEquals | Comparison::BinaryEquals, PolicyValue::Text(template)) => {
            template.literal(request).is_some_and(|expected| expected == value)
        }
        (Comparison::StringEqualsIgnoreCase, PolicyValue::Text(template)) => {
            template.literal(request).is_some_and(|expected| expected.to_lowercase() == value.to_lowercase())
        }
        (Comparison::StringLike, PolicyValue::Text(template)) => {
            template.tokens(request).is_some_and(|pattern| glob_match(&pattern, value))
        }
        (Comparison::ArnLike, PolicyValue::Text(template)) => {
            template.tokens(request).is_some_and(|pattern| arn_match(&pattern, value))
        }
        (Comparison::Bool, PolicyValue::Text(template)) => template
            .literal(request)
            .and_then(|expected| parse_bool(&expected))
            .is_some_and(|expected| parse_bool(value) == Some(expected)),
        (_, PolicyValue::Number(expected)) => {
            parse_number(value).is_some_and(|actual| ordered(comparison, actual, *expected))
        }
        (_, PolicyValue::Date(expected)) => {
            parse_date(value).is_some_and(|actual| ordered(comparison, actual, *expected))
        }
        (Comparison::IpAddress, PolicyValue::Cidr(range)) => range.contains(value),
        _ => false,
    }
}

/// The numeric and date orderings: the request value on the left, the policy's on the right.
fn ordered<T: PartialOrd>(comparison: Comparison, actual: T, expected: T) -> bool {
    match comparison {
        Comparison::NumericEquals | Comparison::DateEquals => actual == expected,
        Comparison::NumericLessThan | Comparison::DateLessThan => actual < expected,
        Comparison::NumericLessThanEquals | Comparison::DateLessThanEquals => actual <= expected,
        Comparison::NumericGreaterThan | Comparison::DateGreaterThan => actual > expected,
        Comparison::NumericGreaterThanEquals | Comparison::DateGreaterThanEquals => actual >= expected,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names_parse_with_prefixes_and_suffixes() {
        let operator = Operator::parse("ForAnyValue:StringNotLikeIfExists").expect("operator");
        assert_eq!(operator.qualifier, Some(SetQualifier::ForAnyValue));
        assert_eq!(operator.comparison, Comparison::StringLike);
        assert!(operator.negated && operator.if_exists);
        assert!(Operator::parse("BoolIfExists").is_some());
        for bad in ["StringEqual", "NullIfExists", "ForAllValues:Null", "ForSomeValues:StringEquals", "IfExists", ""] {
            assert_eq!(Operator::parse(bad), None, "{bad}");
        }
    }
}
