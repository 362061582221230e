//! What starts a vending: an `AccountRequested` event, or an account created elsewhere; validated.

use std::collections::BTreeMap;

use platform_core::config::{Environment, find_placeholder};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `abc.platform` `AccountRequested`: a client's account for one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountRequest {
    pub account_name: String,
    pub email: String,
    pub environment: String,
    pub client: String,
    pub cost_center: String,
    pub owner: String,
}

/// Where a vending starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Origin {
    /// A request: find the account by e-mail or create it.
    Requested(AccountRequest),
    /// CloudTrail `CreateAccountResult` (SUCCEEDED) for an account made elsewhere (console,
    /// Control Tower): adopted when it carries our tags.
    CreatedElsewhere { account_id: String, account_name: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("not an account request: source `{source_name}`, detail-type `{detail_type}`")]
    NotARequest { source_name: String, detail_type: String },
    #[error("malformed account request: {0}")]
    Malformed(String),
    #[error("invalid account request: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// The `abc.platform` source our own events carry.
pub const PLATFORM_SOURCE: &str = "abc.platform";

impl Origin {
    pub fn from_event(event: &Value) -> Result<Origin, RequestError> {
        let source = event.get("source").and_then(Value::as_str).unwrap_or_default();
        let detail_type = event.get("detail-type").and_then(Value::as_str).unwrap_or_default();
        let detail = event.get("detail").cloned().unwrap_or(Value::Null);
        match (source, detail_type) {
            (PLATFORM_SOURCE, "AccountRequested") => serde_json::from_value(detail)
                .map(Origin::Requested)
                .map_err(|e| RequestError::Malformed(e.to_string())),
            ("aws.organizations", "AWS Service Event via CloudTrail") => {
                let status = detail
                    .pointer("/serviceEventDetails/createAccountStatus")
                    .ok_or_else(|| RequestError::Malformed("no serviceEventDetails.createAccountStatus".into()))?;
                let field = |name: &str| {
                    status
                        .get(name)
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| RequestError::Malformed(format!("createAccountStatus has no {name}")))
                };
                // The rule filters on SUCCEEDED; a hand-sent event is checked again.
                let state = field("state")?;
                if state != "SUCCEEDED" {
                    return Err(RequestError::Invalid(vec![format!(
                        "account creation state is `{state}`, not SUCCEEDED"
                    )]));
                }
                Ok(Origin::CreatedElsewhere { account_id: field("accountId")?, account_name: field("accountName")? })
            }
            _ => Err(RequestError::NotARequest { source_name: source.into(), detail_type: detail_type.into() }),
        }
    }
}

/// Organizations' own constraints on CreateAccount's `Email` (6 to 64 characters, the pattern
/// `[^\s@]+@[^\s@]+\.[^\s@]+`): refused here with a reason instead of by the API.
pub fn email_problem(email: &str) -> Option<String> {
    if !(6..=64).contains(&email.len()) {
        return Some(format!("email `{email}` must be 6 to 64 characters"));
    }
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        let clean = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c == '@');
        clean(local)
            && clean(domain)
            && domain.rsplit_once('.').is_some_and(|(host, tld)| !host.is_empty() && !tld.is_empty())
    });
    (!valid).then(|| format!("email `{email}` is not an e-mail address"))
}

/// Organizations' `AccountName`: 1 to 50 printable ASCII characters.
pub fn account_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 50 || !name.chars().all(|c| (' '..='~').contains(&c)) || name.trim() != name {
        return Some(format!("account name `{name}` must be 1 to 50 printable ASCII characters, not padded"));
    }
    None
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

impl AccountRequest {
    /// Every problem at once, so one rejection tells the requester everything to fix.
    pub fn validate(&self, environments: &BTreeMap<String, Environment>) -> Result<(), RequestError> {
        let mut problems = Vec::new();
        problems.extend(account_name_problem(&self.account_name));
        problems.extend(email_problem(&self.email));
        if !environments.contains_key(&self.environment) {
            let known: Vec<&str> = environments.keys().map(String::as_str).collect();
            problems.push(format!("environment `{}` is not one of {}", self.environment, known.join(", ")));
        }
        if !is_dns_label(&self.client) {
            problems.push(format!("client `{}` must be a lowercase DNS label (it names resources)", self.client));
        }
        for (field, value) in [("costCenter", &self.cost_center), ("owner", &self.owner)] {
            if value.trim().is_empty() {
                problems.push(format!("{field} must not be empty"));
            }
        }
        for (field, value) in [
            ("accountName", &self.account_name),
            ("email", &self.email),
            ("client", &self.client),
            ("costCenter", &self.cost_center),
            ("owner", &self.owner),
        ] {
            if let Some(marker) = find_placeholder(value) {
                problems.push(format!("{field} `{value}` still holds a placeholder ({marker})"));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(RequestError::Invalid(problems)) }
    }

    /// The tags the account carries (and by which one made elsewhere is adopted).
    pub fn tags(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("environment".to_string(), self.environment.clone()),
            ("client".to_string(), self.client.clone()),
            ("cost-center".to_string(), self.cost_center.clone()),
            ("owner".to_string(), self.owner.clone()),
            ("managed-by".to_string(), "platform-ops".to_string()),
        ])
    }

    /// Rebuilt from an adopted account's tags; `None` when they are not ours.
    pub fn from_tags(account_name: &str, email: &str, tags: &BTreeMap<String, String>) -> Option<AccountRequest> {
        if tags.get("managed-by").map(String::as_str) != Some("platform-ops") {
            return None;
        }
        Some(AccountRequest {
            account_name: account_name.to_string(),
            email: email.to_string(),
            environment: tags.get("environment")?.clone(),
            client: tags.get("client")?.clone(),
            cost_center: tags.get("cost-center").cloned().unwrap_or_default(),
            owner: tags.get("owner").cloned().unwrap_or_default(),
        })
    }

    /// A stable name for this request: the same request twice is the same vending (Step
    /// Functions execution names are unique, so a duplicate start joins instead of repeating).
    pub fn vending_id(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{}\n{}", self.email.to_ascii_lowercase(), self.environment));
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let client: String = self.client.chars().take(30).collect();
        format!("vend-{}-{client}-{hex}", self.environment)
    }
}
