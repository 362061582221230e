//! The AWS decision: explicit deny wins, then an allow, else implicit deny; with boundaries and resource policies.

use serde_json::Value;

use crate::error::PolicyError;
use crate::policy::{Effect, Policy};
use crate::principal::PrincipalMatch;
use crate::request::{AwsPrincipalKind, Principal, Request};

/// The outcome of an evaluation, naming the deciding statement's `Sid` when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A `Deny` statement applies: nothing else can allow the request.
    ExplicitDeny(Option<String>),
    /// An `Allow` statement applies and no `Deny` does.
    Allow(Option<String>),
    /// No statement allows the request (or a limiting policy does not).
    ImplicitDeny,
}

impl Decision {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }

    /// The `Sid` of the deciding statement, when there is one and it has a `Sid`.
    pub fn sid(&self) -> Option<&str> {
        match self {
            Decision::ExplicitDeny(sid) | Decision::Allow(sid) => sid.as_deref(),
            Decision::ImplicitDeny => None,
        }
    }
}

/// The statements of some policies that apply to a request.
#[derive(Debug, Default)]
struct Scan {
    /// The first applicable `Deny`'s `Sid`.
    deny: Option<Option<String>>,
    /// Every applicable `Allow`: its `Sid` and how its principal element matched.
    allows: Vec<(Option<String>, PrincipalMatch)>,
}

impl Scan {
    fn of(policies: &[Policy], request: &Request) -> Scan {
        let mut scan = Scan::default();
        for statement in policies.iter().flat_map(Policy::statements) {
            let Some(principal) = statement.applies(request) else {
                continue;
            };
            match statement.effect() {
                Effect::Deny => {
                    if scan.deny.is_none() {
                        scan.deny = Some(statement.sid().map(str::to_string));
                    }
                }
                Effect::Allow => scan.allows.push((statement.sid().map(str::to_string), principal)),
            }
        }
        scan
    }

    fn allowed(&self) -> bool {
        !self.allows.is_empty()
    }

    /// The first allow whose principal match passes `keep`.
    fn first_allow(&self, keep: impl Fn(PrincipalMatch) -> bool) -> Option<Option<String>> {
        self.allows.iter().find(|(_, principal)| keep(*principal)).map(|(sid, _)| sid.clone())
    }
}

/// Evaluates policies of one kind together: any applicable `Deny` wins, then any `Allow`, else implicit deny.
///
/// For resource-based and trust policies the statements' `Principal`/`NotPrincipal` must match the
/// request's principal; statements without one (identity policies) apply to any principal.
///
/// ```
/// use iam_policy::{Decision, Policy, Principal, Request, evaluate};
/// use serde_json::json;
///
/// let bus_policy = Policy::from_value(&json!({
///     "Version": "2012-10-17",
///     "Statement": {
///         "Sid": "OrgMembersPublish",
///         "Effect": "Allow",
///         "Principal": "*",
///         "Action": "events:PutEvents",
///         "Resource": "arn:aws:events:eu-west-1:111122223333:event-bus/platform",
///         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}
///     }
/// }))?;
/// let caller = Principal::from_arn("arn:aws:sts::444455556666:assumed-role/app/run")?;
/// let request = Request::new(caller, "events:PutEvents", "arn:aws:events:eu-west-1:111122223333:event-bus/platform");
/// assert_eq!(evaluate(&[bus_policy.clone()], &request), Decision::ImplicitDeny);
/// let request = request.with_context("aws:PrincipalOrgID", "o-abc123");
/// assert_eq!(evaluate(&[bus_policy], &request), Decision::Allow(Some("OrgMembersPublish".into())));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn evaluate(policies: &[Policy], request: &Request) -> Decision {
    let scan = Scan::of(policies, request);
    match (scan.deny.clone(), scan.first_allow(|_| true)) {
        (Some(sid), _) => Decision::ExplicitDeny(sid),
        (None, Some(sid)) => Decision::Allow(sid),
        (None, None) => Decision::ImplicitDeny,
    }
}

/// Parses JSON policy documents and evaluates them as [`evaluate`] does.
pub fn evaluate_documents(documents: &[Value], request: &Request) -> Result<Decision, PolicyError> {
    let policies = documents.iter().map(Policy::from_value).collect::<Result<Vec<_>, _>>()?;
    Ok(evaluate(&policies, request))
}

/// Identity policies limited by a permissions boundary: the effective permissions are their intersection.
///
/// A `Deny` in either wins; otherwise both must allow. The `Sid` reported is the identity policy's.
pub fn evaluate_with_boundary(identity: &[Policy], boundary: &[Policy], request: &Request) -> Decision {
    let identity = Scan::of(identity, request);
    let boundary = Scan::of(boundary, request);
    if let Some(sid) = identity.deny.clone().or_else(|| boundary.deny.clone()) {
        return Decision::ExplicitDeny(sid);
    }
    match identity.first_allow(|_| true) {
        Some(sid) if boundary.allowed() => Decision::Allow(sid),
        _ => Decision::ImplicitDeny,
    }
}

/// The policies that bear on one request, for [`evaluate_access`].
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessPolicies<'a> {
    /// The principal's identity-based policies.
    pub identity: &'a [Policy],
    /// The principal's permissions boundary, if it has one.
    pub permissions_boundary: Option<&'a [Policy]>,
    /// The resource-based policies of the resource (bucket, queue, key, event bus, role trust...).
    pub resource: &'a [Policy],
    /// The account owning the resource. Without it, the account in the resource ARN; an ARN without
    /// one (S3) counts as the principal's own account.
    pub resource_account: Option<&'a str>,
}

/// Identity, boundary and resource policies combined as AWS does within one account and across two.
///
/// Modelled: an explicit deny anywhere wins. Same account: the identity policies (within the boundary)
/// or the resource policy can allow, except that a resource policy naming only the account delegates
/// to the identity policies, and a resource-policy grant that does not name the exact user or session
/// is limited by the boundary; the account root user is allowed unless denied. Cross account: both the
/// identity policies (within the boundary) and the resource policy must allow. Service, federated and
/// anonymous callers have no identity policies: only the resource policy can allow them.
/// Not modelled: SCPs, RCPs, session policies, KMS grants and ACLs.
pub fn evaluate_access(policies: &AccessPolicies<'_>, request: &Request) -> Decision {
    let identity = Scan::of(policies.identity, request);
    let boundary = policies.permissions_boundary.map(|boundary| Scan::of(boundary, request));
    let resource = Scan::of(policies.resource, request);
    let deny =
        [Some(&identity), boundary.as_ref(), Some(&resource)].into_iter().flatten().find_map(|scan| scan.deny.clone());
    if let Some(sid) = deny {
        return Decision::ExplicitDeny(sid);
    }
    let Principal::Aws(aws) = request.principal() else {
        return resource.first_allow(|_| true).map_or(Decision::ImplicitDeny, Decision::Allow);
    };
    let within_boundary = boundary.as_ref().is_none_or(Scan::allowed);
    let identity_allow = identity.first_allow(|_| true).filter(|_| within_boundary);
    let resource_account = policies.resource_account.or_else(|| request.resource_account());
    let same_account = resource_account.is_none_or(|account| account == aws.account());
    if !same_account {
        return match (identity_allow, resource.first_allow(|_| true)) {
            (Some(_), Some(sid)) => Decision::Allow(sid),
            _ => Decision::ImplicitDeny,
        };
    }
    if matches!(aws.kind(), AwsPrincipalKind::Root) {
        return Decision::Allow(None);
    }
    if let Some(sid) = identity_allow {
        return Decision::Allow(sid);
    }
    let resource_grant = resource.first_allow(|principal| match principal {
        PrincipalMatch::Account => false,
        PrincipalMatch::Exact => true,
        PrincipalMatch::Unstated | PrincipalMatch::Everyone | PrincipalMatch::Role => within_boundary,
    });
    resource_grant.map_or(Decision::ImplicitDeny, Decision::Allow)
}
