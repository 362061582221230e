//! Policy documents parsed from JSON: `Version`, statements, and each statement's elements.

use serde_json::{Map, Value};

use crate::condition::Condition;
use crate::error::{PolicyError, StatementError};
use crate::principal::PrincipalElement;
use crate::request::Request;

/// The policy language version: it decides whether `${...}` is a policy variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
    /// `2008-10-17`, or no `Version`: `${...}` is literal text.
    V2008_10_17,
}

/// Whether a statement allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

/// A parsed IAM policy document (identity, resource, trust or boundary policy alike).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    version: Version,
    id: Option<String>,
    statements: Vec<Statement>,
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    sid: Option<String>,
    effect: Effect,
    principal: Option<PrincipalElement>,
    actions: Matcher<ActionPattern>,
    resources: Option<Matcher<ResourcePattern>>,
    condition: Condition,
}

/// An element with a `Not...` form: the statement applies to what matches, or to what does not.
#[derive(Debug, Clone, PartialEq)]
enum Matcher<T> {
    Only(Vec<T>),
    AllBut(Vec<T>),
}

/// An action pattern, lower-cased: IAM compares action names case-insensitively.
#[derive(Debug, Clone, PartialEq)]
struct ActionPattern(Vec<crate::pattern::Token>);

/// A resource pattern: case-sensitive, with wildcards and (version 2012-10-17) policy variables.
#[derive(Debug, Clone, PartialEq)]
struct ResourcePattern(crate::pattern::Template);

/// The statement elements IAM defines; anything else is refused rather than ignored.
const STATEMENT_ELEMENTS: &[&str] =
    &["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"];

impl Policy {
    /// Parses a policy document from its JSON value (CloudFormation intrinsics already resolved).
    pub fn from_value(document: &Value) -> Result<Policy, PolicyError> {
        let Value::Object(fields) = document else {
            return Err(PolicyError::NotAnObject(document.to_string()));
        };
        if let Some(unknown) = fields.keys().find(|key| !matches!(key.as_str(), "Version" | "Id" | "Statement")) {
            return Err(PolicyError::UnknownElement(unknown.clone()));
        }
        let version = match fields.get("Version") {
            None => Version::V2008_10_17,
            Some(Value::String(v)) if v == "2012-10-17" => Version::V2012_10_17,
            Some(Value::String(v)) if v == "2008-10-17" => Version::V2008_10_17,
            Some(other) => return Err(PolicyError::UnsupportedVersion(other.to_string())),
        };
        let id = match fields.get("Id") {
            None => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(other) => return Err(PolicyError::InvalidId(other.to_string())),
        };
        let statements = match fields.get("Statement") {
            None => return Err(PolicyError::MissingStatement),
            Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
            Some(single @ Value::Object(_)) => vec![single],
            Some(other) => return Err(PolicyError::InvalidStatementList(other.to_string())),
        };
        let variables = version == Version::V2012_10_17;
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(index, statement)| {
                Statement::parse(statement, variables)
                    .map_err(|problem| PolicyError::Statement { statement: statement_name(statement, index), problem })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy { version, id, statements })
    }

    /// Parses a policy document from JSON text.
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        let document: Value = serde_json::from_str(text).map_err(|error| PolicyError::Json(error.to_string()))?;
        Policy::from_value(&document)
    }

    /// The policy language version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The `Id` element, if any.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The statements, in document order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

impl TryFrom<&Value> for Policy {
    type Error = PolicyError;

    fn try_from(document: &Value) -> Result<Policy, PolicyError> {
        Policy::from_value(document)
    }
}

/// How an error names a statement: its `Sid`, or its position.
fn statement_name(statement: &Value, index: usize) -> String {
    match statement.get("Sid") {
        Some(Value::String(sid)) if !sid.is_empty() => sid.clone(),
        _ => format!("#{index}"),
    }
}

impl Statement {
    fn parse(value: &Value, variables: bool) -> Result<Statement, StatementError> {
        let Value::Object(fields) = value else {
            return Err(StatementError::NotAnObject(value.to_string()));
        };
        if let Some(unknown) = fields.keys().find(|key| !STATEMENT_ELEMENTS.contains(&key.as_str())) {
            return Err(StatementError::UnknownElement(unknown.clone()));
        }
        let sid = match fields.get("Sid") {
            None => None,
            Some(Value::String(sid)) => Some(sid.clone()),
            Some(other) => return Err(StatementError::InvalidSid(other.to_string())),
        };
        let effect = match fields.get("Effect") {
            Some(Value::String(effect)) if effect == "Allow" => Effect::Allow,
            Some(Value::String(effect)) if effect == "Deny" => Effect::Deny,
            Some(other) => return Err(StatementError::InvalidEffect(other.to_string())),
            None => return Err(StatementError::Missing("Effect")),
        };
        let principal = match pick(fields, "Principal", "NotPrincipal")? {
            None => None,
            Some((value, negated)) => Some(PrincipalElement::parse(value, negated)?),
        };
        let actions = match pick(fields, "Action", "NotAction")? {
            None => return Err(StatementError::Missing("Action")),
            Some((value, negated)) => {
                let element = if negated { "NotAction" } else { "Action" };
                let patterns =
                    strings(value, element)?.into_iter().map(ActionPattern::parse).collect::<Result<_, _>>()?;
                Matcher::new(patterns, negated)
            }
        };
        // A trust policy has no `Resource`: it applies to the role it is attached to.
        let resources = match pick(fields, "Resource", "NotResource")? {
            None => None,
            Some((value, negated)) => {
                let element = if negated { "NotResource" } else { "Resource" };
                let patterns = strings(value, element)?
                    .into_iter()
                    .map(|text| crate::pattern::Template::parse(text, variables).map(ResourcePattern))
                    .collect::<Result<_, _>>()
                    .map_err(StatementError::InvalidVariable)?;
                Some(Matcher::new(patterns, negated))
            }
        };
        let condition = match fields.get("Condition") {
            None => Condition::default(),
            Some(value) => Condition::parse(value, variables)?,
        };
        Ok(Statement { sid, effect, principal, actions, resources, condition })
    }

    /// The `Sid`, if any.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// Allow or Deny.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// Whether the statement applies to the request, and how its principal element matched.
    pub(crate) fn applies(&self, request: &Request) -> Option<crate::principal::PrincipalMatch> {
        let principal = match &self.principal {
            None => crate::principal::PrincipalMatch::Unstated,
            Some(element) => element.matches(request.principal())?,
        };
        let action = request.action().to_lowercase();
        let action_matches = self.actions.applies(|pattern| crate::pattern::glob_match(&pattern.0, &action));
        let resource_matches = self.resources.as_ref().is_none_or(|resources| {
            resources.applies(|pattern| {
                pattern.0.tokens(request).is_some_and(|tokens| crate::pattern::glob_match(&tokens, request.resource()))
            })
        });
        (action_matches && resource_matches && self.condition.holds(request)).then_some(principal)
    }
}

impl<T> Matcher<T> {
    fn new(patterns: Vec<T>, negated: bool) -> Matcher<T> {
        if negated { Matcher::AllBut(patterns) } else { Matcher::Only(patterns) }
    }

    fn applies(&self, matches: impl Fn(&T) -> bool) -> bool {
        match self {
            Matcher::Only(patterns) => patterns.iter().any(matches),
            Matcher::AllBut(patterns) => !patterns.iter().any(matches),
        }
    }
}

impl ActionPattern {
    fn parse(text: &str) -> Result<ActionPattern, StatementError> {
        let valid = text == "*"
            || text.split_once(':').is_some_and(|(service, action)| {
                !service.is_empty()
                    && !action.is_empty()
                    && !action.contains(':')
                    && service.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !valid {
            return Err(StatementError::InvalidAction(Value::String(text.to_string()).to_string()));
        }
        Ok(ActionPattern(crate::pattern::wildcard_tokens(&text.to_lowercase())))
    }
}

/// The element present among a positive/negated pair, refusing both at once.
fn pick<'a>(
    fields: &'a Map<String, Value>,
    positive: &'static str,
    negated: &'static str,
) -> Result<Option<(&'a Value, bool)>, StatementError> {
    match (fields.get(positive), fields.get(negated)) {
        (Some(_), Some(_)) => Err(StatementError::Conflicting(positive, negated)),
        (Some(value), None) => Ok(Some((value, false))),
        (None, Some(value)) => Ok(Some((value, true))),
        (None, None) => Ok(None),
    }
}

/// A string or a non-empty list of strings.
pub(crate) fn strings<'a>(value: &'a Value, element: &str) -> Result<Vec<&'a str>, StatementError> {
    let not_strings = || StatementError::NotStrings { element: element.to_string(), found: value.to_string() };
    match value {
        Value::String(text) => Ok(vec![text.as_str()]),
        Value::Array(items) if !items.is_empty() => {
            items.iter().map(|item| item.as_str().ok_or_else(not_strings)).collect()
        }
        _ => Err(not_strings()),
    }
}
