//! The `Principal` and `NotPrincipal` elements, and which identities of a request they name.

use serde_json::Value;

use crate::error::StatementError;
use crate::policy::strings;
use crate::request::{AwsPrincipal, AwsPrincipalKind, Principal, arn_account, is_account_id};

/// How a statement's principal element matched the request's principal.
///
/// The combined evaluation needs it: within one account, a resource policy naming only the account
/// delegates to the identity policies instead of granting, and a grant to a role is still limited by
/// the role's permissions boundary, while a grant naming the exact user or session is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PrincipalMatch {
    /// The principal's account (its id or its `:root` ARN).
    Account,
    /// The statement has no principal element (identity policies), or a `NotPrincipal` that spares the caller's none.
    Unstated,
    /// `"*"` or `{"AWS": "*"}`.
    Everyone,
    /// The role whose session makes the request.
    Role,
    /// The exact user, session, service or provider ARN of the request.
    Exact,
}

/// The principal types a principal element can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrincipalType {
    Aws,
    Service,
    Federated,
    CanonicalUser,
}

/// A `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrincipalElement {
    negated: bool,
    /// `None` for `"*"`.
    entries: Option<Vec<(PrincipalType, String)>>,
}

impl PrincipalElement {
    pub(crate) fn parse(value: &Value, negated: bool) -> Result<PrincipalElement, StatementError> {
        let entries = match value {
            Value::String(star) if star == "*" => None,
            Value::Object(types) => {
                let mut entries = Vec::new();
                for (name, names) in types {
                    let kind = match name.as_str() {
                        "AWS" => PrincipalType::Aws,
                        "Service" => PrincipalType::Service,
                        "Federated" => PrincipalType::Federated,
                        "CanonicalUser" => PrincipalType::CanonicalUser,
                        _ => return Err(StatementError::UnknownPrincipalType(name.clone())),
                    };
                    for entry in strings(names, name)? {
                        if kind == PrincipalType::Aws {
                            check_aws_entry(entry)?;
                        }
                        entries.push((kind, entry.to_string()));
                    }
                }
                if entries.is_empty() {
                    return Err(StatementError::InvalidPrincipal(value.to_string()));
                }
                Some(entries)
            }
            other => return Err(StatementError::InvalidPrincipal(other.to_string())),
        };
        Ok(PrincipalElement { negated, entries })
    }

    /// How the element matches the principal; `None` when the statement does not apply to it.
    pub(crate) fn matches(&self, principal: &Principal) -> Option<PrincipalMatch> {
        let Some(entries) = &self.entries else {
            return (!self.negated).then_some(PrincipalMatch::Everyone);
        };
        if self.negated {
            // IAM may check the account, then the role, then the session: the caller escapes a
            // `NotPrincipal` only when every identity in that chain is listed (hence the documented
            // advice to list the account and the role next to the session).
            let spared = identity_chain(principal)
                .iter()
                .all(|identity| entries.iter().any(|(kind, entry)| entry_names_identity(*kind, entry, identity)));
            return (!spared).then_some(PrincipalMatch::Unstated);
        }
        entries.iter().filter_map(|(kind, entry)| entry_match(*kind, entry, principal)).max()
    }
}

/// An `AWS` principal must be `*`, an account id, or an IAM/STS ARN: anything else is a typo IAM refuses.
fn check_aws_entry(entry: &str) -> Result<(), StatementError> {
    if entry == "*" || is_account_id(entry) || (entry.starts_with("arn:") && arn_account(entry).is_some()) {
        Ok(())
    } else {
        Err(StatementError::InvalidPrincipal(Value::String(entry.to_string()).to_string()))
    }
}

/// One link of the chain IAM checks for a principal: its account, its role, itself.
#[derive(Debug)]
enum Identity<'a> {
    Account(&'a str),
    Role(&'a AwsPrincipal),
    Arn(&'a str),
    Service(&'a str),
    Federated(&'a str),
    Anonymous,
}

fn identity_chain(principal: &Principal) -> Vec<Identity<'_>> {
    match principal {
        Principal::Aws(aws) => {
            let mut chain = vec![Identity::Account(aws.account())];
            if matches!(aws.kind(), AwsPrincipalKind::AssumedRole { .. }) {
                chain.push(Identity::Role(aws));
            }
            if !matches!(aws.kind(), AwsPrincipalKind::Root) {
                chain.push(Identity::Arn(aws.arn()));
            }
            chain
        }
        Principal::Service(name) => vec![Identity::Service(name)],
        Principal::Federated(provider) => vec![Identity::Federated(provider)],
        Principal::Anonymous => vec![Identity::Anonymous],
    }
}

/// Whether a `NotPrincipal` entry names one identity of the chain.
fn entry_names_identity(kind: PrincipalType, entry: &str, identity: &Identity<'_>) -> bool {
    if entry == "*" {
        return true;
    }
    match (kind, identity) {
        (PrincipalType::Aws, Identity::Account(account)) => names_account(entry) == Some(account),
        (PrincipalType::Aws, Identity::Role(session)) => names_role_of(entry, session),
        (PrincipalType::Aws, Identity::Arn(arn)) => entry == *arn,
        (PrincipalType::Service, Identity::Service(name)) => entry.eq_ignore_ascii_case(name),
        (PrincipalType::Federated, Identity::Federated(provider)) => entry == *provider,
        _ => false,
    }
}

/// How one `Principal` entry matches the principal, if it does.
fn entry_match(kind: PrincipalType, entry: &str, principal: &Principal) -> Option<PrincipalMatch> {
    // `{"AWS": "*"}` is documented as the same as `"*"`: everyone, anonymous callers included.
    if kind == PrincipalType::Aws && entry == "*" {
        return Some(PrincipalMatch::Everyone);
    }
    match (kind, principal) {
        (PrincipalType::Aws, Principal::Aws(aws)) => {
            if entry == aws.arn() && !matches!(aws.kind(), AwsPrincipalKind::Root) {
                Some(PrincipalMatch::Exact)
            } else if names_role_of(entry, aws) {
                Some(PrincipalMatch::Role)
            } else if names_account(entry) == Some(aws.account()) {
                Some(PrincipalMatch::Account)
            } else {
                None
            }
        }
        (PrincipalType::Service, Principal::Service(name)) if entry == "*" || entry.eq_ignore_ascii_case(name) => {
            Some(PrincipalMatch::Exact)
        }
        (PrincipalType::Federated, Principal::Federated(provider)) if entry == "*" || entry == provider => {
            Some(PrincipalMatch::Exact)
        }
        _ => None,
    }
}

/// The account an entry names as a whole: a bare account id, or its `:root` ARN.
fn names_account(entry: &str) -> Option<&str> {
    if is_account_id(entry) {
        return Some(entry);
    }
    entry.strip_suffix(":root").and_then(|_| arn_account(entry)).filter(|_| entry.contains(":iam::"))
}

/// Whether the entry is the ARN of the role whose session this principal is.
///
/// A session ARN carries no role path, so when the role ARN was derived from one (it has no path)
/// the entry's path is not compared: the role name and account are what the session tells.
fn names_role_of(entry: &str, principal: &AwsPrincipal) -> bool {
    let AwsPrincipalKind::AssumedRole { role_arn, role_name, .. } = principal.kind() else {
        return false;
    };
    if entry == role_arn {
        return true;
    }
    let roles = format!("arn:{}:iam::{}:role/", principal.partition(), principal.account());
    let pathless = role_arn.strip_prefix(&roles) == Some(role_name.as_str());
    pathless && entry.strip_prefix(&roles).is_some_and(|path| path.rsplit('/').next() == Some(role_name.as_str()))
}
