//! The request being authorised: who asks, for which action on which resource, with which context keys.

use std::collections::BTreeMap;

use crate::error::RequestError;

/// Who makes the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An IAM identity (account root, user, role, role session, federated user).
    Aws(AwsPrincipal),
    /// An AWS service acting itself, such as `events.amazonaws.com` invoking a target.
    Service(String),
    /// A web-identity or SAML federated caller, named by its provider (`cognito-identity.amazonaws.com`,
    /// or an `arn:aws:iam::ACCOUNT:oidc-provider/...` ARN): the principal of `AssumeRoleWith...` calls.
    Federated(String),
    /// An unauthenticated caller.
    Anonymous,
}

/// An IAM identity, parsed from its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsPrincipal {
    arn: String,
    partition: String,
    account: String,
    kind: AwsPrincipalKind,
}

/// The kinds of IAM identity, which principal elements and boundaries treat differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsPrincipalKind {
    /// The account root user (`arn:aws:iam::ACCOUNT:root`).
    Root,
    /// An IAM user.
    User {
        /// The user name (the last part of its path).
        name: String,
    },
    /// An IAM role itself (rarely the caller; roles act through sessions).
    Role {
        /// The role name (the last part of its path).
        name: String,
    },
    /// A session of an assumed role.
    AssumedRole {
        /// The ARN of the role, with its path when known.
        role_arn: String,
        /// The role name.
        role_name: String,
        /// The session name.
        session: String,
    },
    /// A session from `GetFederationToken`.
    FederatedUser {
        /// The federated user name.
        name: String,
    },
}

impl Principal {
    /// The principal an IAM or STS principal ARN names: root, user, role, assumed-role session or federated user.
    pub fn from_arn(arn: &str) -> Result<Principal, RequestError> {
        let invalid = || RequestError::InvalidPrincipalArn(arn.to_string());
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
            return Err(invalid());
        };
        if *prefix != "arn" || partition.is_empty() || !region.is_empty() || !is_account_id(account) {
            return Err(invalid());
        }
        let kind = match (*service, resource.split_once('/')) {
            ("iam", None) if *resource == "root" => AwsPrincipalKind::Root,
            ("iam", Some(("user", path))) => AwsPrincipalKind::User { name: last_segment(path).ok_or_else(invalid)? },
            ("iam", Some(("role", path))) => AwsPrincipalKind::Role { name: last_segment(path).ok_or_else(invalid)? },
            ("sts", Some(("assumed-role", rest))) => {
                let (role_name, session) = rest.split_once('/').ok_or_else(invalid)?;
                if role_name.is_empty() || session.is_empty() || session.contains('/') {
                    return Err(invalid());
                }
                AwsPrincipalKind::AssumedRole {
                    role_arn: format!("arn:{partition}:iam::{account}:role/{role_name}"),
                    role_name: role_name.to_string(),
                    session: session.to_string(),
                }
            }
            ("sts", Some(("federated-user", name))) if !name.is_empty() && !name.contains('/') => {
                AwsPrincipalKind::FederatedUser { name: name.to_string() }
            }
            _ => return Err(invalid()),
        };
        Ok(Principal::Aws(AwsPrincipal {
            arn: arn.to_string(),
            partition: (*partition).to_string(),
            account: (*account).to_string(),
            kind,
        }))
    }

    /// The session `session` of the role `role_arn` (which may carry a path, unlike the session ARN).
    pub fn role_session(role_arn: &str, session: &str) -> Result<Principal, RequestError> {
        let Principal::Aws(role) = Principal::from_arn(role_arn)? else {
            return Err(RequestError::InvalidPrincipalArn(role_arn.to_string()));
        };
        let AwsPrincipalKind::Role { name } = &role.kind else {
            return Err(RequestError::InvalidPrincipalArn(role_arn.to_string()));
        };
        if session.is_empty() || session.contains('/') {
            return Err(RequestError::InvalidSessionName(session.to_string()));
        }
        Ok(Principal::Aws(AwsPrincipal {
            arn: format!("arn:{}:sts::{}:assumed-role/{name}/{session}", role.partition, role.account),
            partition: role.partition.clone(),
            account: role.account.clone(),
            kind: AwsPrincipalKind::AssumedRole {
                role_arn: role_arn.to_string(),
                role_name: name.clone(),
                session: session.to_string(),
            },
        }))
    }

    /// An AWS service principal such as `events.amazonaws.com`.
    pub fn service(name: impl Into<String>) -> Principal {
        Principal::Service(name.into())
    }

    /// A federated caller named by its identity provider.
    pub fn federated(provider: impl Into<String>) -> Principal {
        Principal::Federated(provider.into())
    }

    /// The account the principal belongs to, when it has one.
    pub fn account(&self) -> Option<&str> {
        match self {
            Principal::Aws(aws) => Some(&aws.account),
            Principal::Federated(provider) => arn_account(provider),
            Principal::Service(_) | Principal::Anonymous => None,
        }
    }
}

impl AwsPrincipal {
    /// The principal's own ARN (for a role session, the session ARN).
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The 12-digit account id.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Which kind of identity this is.
    pub fn kind(&self) -> &AwsPrincipalKind {
        &self.kind
    }

    /// The value of `aws:PrincipalArn`: for a role session it is the role's ARN, not the session's.
    pub fn principal_arn(&self) -> &str {
        match &self.kind {
            AwsPrincipalKind::AssumedRole { role_arn, .. } => role_arn,
            _ => &self.arn,
        }
    }

    /// The value of `aws:PrincipalType`.
    fn principal_type(&self) -> &'static str {
        match self.kind {
            AwsPrincipalKind::Root => "Account",
            AwsPrincipalKind::User { .. } => "User",
            AwsPrincipalKind::Role { .. } | AwsPrincipalKind::AssumedRole { .. } => "AssumedRole",
            AwsPrincipalKind::FederatedUser { .. } => "FederatedUser",
        }
    }
}

/// One authorisation request: principal, action, resource and the request context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    principal: Principal,
    action: String,
    resource: String,
    /// Keys lower-cased: IAM compares condition key names case-insensitively.
    context: BTreeMap<String, Vec<String>>,
}

impl Request {
    /// A request with the context keys IAM derives from the principal already set (`aws:PrincipalArn`,
    /// `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:username` for users, `aws:PrincipalServiceName`
    /// for services); [`Request::with_context`] overrides them, [`Request::without_context`] drops them.
    ///
    /// `action` is `service:Action`; `resource` is an ARN, or `*` for actions on no resource.
    pub fn new(principal: Principal, action: impl Into<String>, resource: impl Into<String>) -> Request {
        let mut context = BTreeMap::new();
        match &principal {
            Principal::Aws(aws) => {
                context.insert("aws:principalarn".to_string(), vec![aws.principal_arn().to_string()]);
                context.insert("aws:principalaccount".to_string(), vec![aws.account.clone()]);
                context.insert("aws:principaltype".to_string(), vec![aws.principal_type().to_string()]);
                if let AwsPrincipalKind::User { name } = &aws.kind {
                    context.insert("aws:username".to_string(), vec![name.clone()]);
                }
            }
            Principal::Service(name) => {
                context.insert("aws:principalservicename".to_string(), vec![name.clone()]);
            }
            Principal::Federated(_) | Principal::Anonymous => {}
        }
        Request { principal, action: action.into(), resource: resource.into(), context }
    }

    /// Sets a single-valued context key (replacing any value it had).
    pub fn with_context(self, key: &str, value: impl Into<String>) -> Request {
        self.with_context_values(key, [value.into()])
    }

    /// Sets a multivalued context key (`aws:TagKeys`, `events:source` of a pattern with several sources...).
    pub fn with_context_values<I, V>(mut self, key: &str, values: I) -> Request
    where
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        self.context.insert(key.to_ascii_lowercase(), values.into_iter().map(Into::into).collect());
        self
    }

    /// Removes a context key, derived ones included.
    pub fn without_context(mut self, key: &str) -> Request {
        self.context.remove(&key.to_ascii_lowercase());
        self
    }

    /// Who makes the request.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The action, as given.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The resource, as given.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The values of a context key (the name compared case-insensitively); `None` when absent.
    pub fn context_values(&self, key: &str) -> Option<&[String]> {
        let values = match self.context.get(key) {
            Some(values) => values,
            None => self.context.get(&key.to_ascii_lowercase())?,
        };
        Some(values.as_slice())
    }

    /// The account that owns the resource, read from the resource ARN (S3 ARNs have none).
    pub fn resource_account(&self) -> Option<&str> {
        arn_account(&self.resource)
    }
}

/// The account field of an ARN, when the ARN has a 12-digit one.
pub(crate) fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    if parts.next() != Some("arn") {
        return None;
    }
    parts.nth(3).filter(|account| is_account_id(account))
}

/// Whether `text` is a 12-digit account id.
pub(crate) fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The last non-empty segment of an IAM path such as `division/team/name`.
fn last_segment(path: &str) -> Option<String> {
    path.rsplit('/').next().filter(|name| !name.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_arns_parse_into_kinds() {
        let Ok(Principal::Aws(session)) = Principal::from_arn("arn:aws:sts::111122223333:assumed-role/deploy/ci")
        else {
            panic!("session arn refused");
        };
        assert_eq!(session.principal_arn(), "arn:aws:iam::111122223333:role/deploy");
        assert_eq!(session.account(), "111122223333");
        assert!(Principal::from_arn("arn:aws:iam::111122223333:user/division/Bob").is_ok());
        assert!(Principal::from_arn("arn:aws:iam::111122223333:root").is_ok());
        for bad in [
            "",
            "arn:aws:iam::1111:root",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::111122223333:user/",
            "arn:aws:sts::111122223333:assumed-role/deploy",
            "arn:aws:iam:eu-west-1:111122223333:root",
        ] {
            assert_eq!(Principal::from_arn(bad), Err(RequestError::InvalidPrincipalArn(bad.to_string())), "{bad}");
        }
    }

    #[test]
    fn context_keys_are_case_insensitive() {
        let request =
            Request::new(Principal::Anonymous, "s3:GetObject", "*").with_context("aws:PrincipalTag/Team", "a");
        assert_eq!(request.context_values("AWS:principaltag/team"), Some(&["a".to_string()][..]));
        assert_eq!(request.context_values("aws:PrincipalTag/other"), None);
    }
}
