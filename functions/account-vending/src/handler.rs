//! The vending's typed actions, one per state of `account-vending`.

use std::collections::BTreeMap;
use std::sync::Arc;

use ipnet::Ipv4Net;
use platform_core::config::{Environment, Organization, PublishedConfig, PublishedError};
use platform_core::error::AwsError;
use platform_core::ports::ParameterStore;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ports::{
    AccountDirectory, Claim, Creation, Finish, Instance, MemberParameters, OperationStatus, Preferences, StackSets,
    VendingLedger,
};
use crate::request::{AccountRequest, Origin, RequestError};

/// The state machine's `TimeoutSeconds`: no execution runs longer, so no claim or slot is held
/// longer than this and a margin (a test checks the definition agrees).
pub const EXECUTION_TIMEOUT_SECONDS: i64 = 6 * 3600;
const LEASE_MARGIN_SECONDS: i64 = 300;

/// One request per `action` the state machine sends; the action names are derived from the
/// variants (`platform-ops validate` checks the definitions against them).
#[derive(Debug, Clone, Deserialize, strum::VariantNames)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
#[strum(serialize_all = "kebab-case")]
pub enum Request {
    /// The event (AccountRequested, or CreateAccountResult) to a validated vending.
    Validate {
        event: Value,
    },
    /// One vending per request: `claimed: false` when another execution holds it.
    Claim {
        vending: Vending,
        execution: String,
    },
    /// One of the organisation's `max_in_flight` slots, or `NoSlot` (retried by the state machine).
    AcquireSlot {
        vending: Vending,
    },
    FindOrCreate {
        vending: Vending,
    },
    AwaitAccount {
        vending: Vending,
    },
    Place {
        vending: Vending,
    },
    Baseline {
        vending: Vending,
        execution: String,
    },
    AwaitBaseline {
        vending: Vending,
    },
    PublishFacts {
        vending: Vending,
    },
    ReleaseSlot {
        vending: Vending,
    },
    /// The claim done (or failed at `failed_step`), if `execution` still holds it.
    Finish {
        vending: Vending,
        execution: String,
        failed_step: Option<String>,
    },
    /// After a failure at `step`: the account (if there is one) to the Quarantine OU.
    Quarantine {
        vending: Vending,
        step: String,
        cause: String,
    },
}

/// The vending as it moves through the state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vending {
    /// Stable per request (`vend-<env>-<client>-<hash>`): the execution name and operation ids.
    pub id: String,
    pub request: AccountRequest,
    pub regions: Vec<String>,
    /// Vendings in flight at once (config `[vending] max_in_flight`), for the state machine's slot.
    pub max_in_flight: u32,
    #[serde(default)]
    pub account_id: Option<String>,
    /// Set while Organizations creates the account.
    #[serde(default)]
    pub creation_request_id: Option<String>,
    /// True once the account was found rather than created (a repeated request).
    #[serde(default)]
    pub reused: bool,
    /// CreateAccount requests made (INTERNAL_FAILURE is asked again, up to three times).
    #[serde(default)]
    pub creation_attempts: u32,
    #[serde(default)]
    pub ou_id: Option<String>,
    #[serde(default)]
    pub operation_id: Option<String>,
    /// True when the account exists (and for await-baseline: when the operation is over).
    #[serde(default)]
    pub done: bool,
    #[serde(default)]
    pub instances: Vec<Instance>,
    /// The regions the last baseline operation worked on.
    #[serde(default)]
    pub operation_regions: Vec<String>,
    /// Set by await-baseline when another baseline round is needed (a re-run found regions both
    /// missing and OUTDATED: one operation creates, the next re-applies).
    #[serde(default)]
    pub again: bool,
}

/// The central account's side of the baseline parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Central {
    pub automation_account_id: String,
    pub organization_id: String,
    pub event_bus_arn: String,
    pub log_destination_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum VendingError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("config: {0}")]
    Config(String),
    #[error("account {account} is not ours to vend into: {why}")]
    NotOurs { account: String, why: String },
    #[error("account creation for {email} failed: {reason}")]
    CreationFailed { email: String, reason: String },
    #[error("account {account} is {status}: not vending into it")]
    NotActive { account: String, status: String },
    #[error("organizational unit `{0}` does not exist under the root")]
    NoSuchOu(String),
    #[error("baseline of {account} {outcome}: {}", regions.join(", "))]
    BaselineFailed { account: String, outcome: String, regions: Vec<String> },
    #[error("`{0}` needs an account id the vending does not have yet")]
    NoAccountYet(&'static str),
    #[error("all {max} vending slots are taken: {vending} waits for one")]
    NoSlot { vending: String, max: u32 },
}

/// The names [`VendingError::error_type`] reports besides the AWS error classes: with those, every
/// name the state machine may catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantNames)]
pub enum ErrorName {
    InvalidRequest,
    ConfigMissing,
    EmailAlreadyExists,
    AccountLimitExceeded,
    ConcurrentAccountModification,
    Transient,
    AccountCreationFailed,
    BaselineFailed,
    NoSlot,
}

impl VendingError {
    /// The stable names the state machine's Retry and Catch use.
    pub fn error_type(&self) -> &'static str {
        let name = match self {
            VendingError::Aws(e) => return e.error_type(),
            VendingError::Request(_)
            | VendingError::NotOurs { .. }
            | VendingError::NotActive { .. }
            | VendingError::NoAccountYet(_) => ErrorName::InvalidRequest,
            VendingError::Config(_) | VendingError::NoSuchOu(_) => ErrorName::ConfigMissing,
            VendingError::CreationFailed { reason, .. } => match reason.as_str() {
                "EMAIL_ALREADY_EXISTS" => ErrorName::EmailAlreadyExists,
                "ACCOUNT_LIMIT_EXCEEDED" => ErrorName::AccountLimitExceeded,
                "CONCURRENT_ACCOUNT_MODIFICATION" => ErrorName::ConcurrentAccountModification,
                "INTERNAL_FAILURE" => ErrorName::Transient,
                _ => ErrorName::AccountCreationFailed,
            },
            VendingError::BaselineFailed { .. } => ErrorName::BaselineFailed,
            VendingError::NoSlot { .. } => ErrorName::NoSlot,
        };
        name.into()
    }
}

/// Built once at init.
#[derive(Debug)]
pub struct Deps {
    pub directory: Arc<dyn AccountDirectory>,
    pub stack_sets: Arc<dyn StackSets>,
    pub member_parameters: Arc<dyn MemberParameters>,
    pub ledger: Arc<dyn VendingLedger>,
    pub parameters: Arc<dyn ParameterStore>,
    pub parameter_prefix: String,
    pub central: Central,
    pub config: PublishedConfig,
}

impl Deps {
    async fn config(&self) -> Result<(Organization, BTreeMap<String, Environment>), VendingError> {
        let p = self.config.get(self.parameters.as_ref(), &self.parameter_prefix).await.map_err(|e| match e {
            PublishedError::Aws(e) => VendingError::Aws(e),
            other => VendingError::Config(other.to_string()),
        })?;
        Ok((p.organization, p.environments))
    }

    async fn environment(&self, name: &str) -> Result<(Organization, Environment), VendingError> {
        let (org, mut envs) = self.config().await?;
        let env =
            envs.remove(name).ok_or_else(|| VendingError::Config(format!("environment `{name}` is not published")))?;
        Ok((org, env))
    }
}

pub async fn handle(request: Request, deps: &Deps) -> Result<Value, VendingError> {
    let vending = match request {
        Request::Validate { event } => validate(&event, deps).await?,
        Request::Claim { vending, execution } => {
            let (now, lease) = lease();
            let claimed = deps.ledger.claim(&vending.id, &execution, now, lease).await? == Claim::Won;
            return Ok(serde_json::json!({"claimed": claimed}));
        }
        Request::AcquireSlot { vending } => {
            let (now, lease) = lease();
            if deps.ledger.acquire_slot(&vending.id, vending.max_in_flight, now, lease).await? == Claim::Taken {
                return Err(VendingError::NoSlot { vending: vending.id, max: vending.max_in_flight });
            }
            return Ok(serde_json::json!({"slot": true}));
        }
        Request::ReleaseSlot { vending } => {
            deps.ledger.release_slot(&vending.id).await?;
            return Ok(serde_json::json!({"released": true}));
        }
        Request::Finish { vending, execution, failed_step } => {
            let finish = match (failed_step, &vending.account_id) {
                (Some(step), _) => Finish::Failed { step },
                (None, Some(account_id)) => Finish::Done { account_id: account_id.clone() },
                (None, None) => return Err(VendingError::NoAccountYet("finish")),
            };
            deps.ledger.finish(&vending.id, &execution, &finish).await?;
            return Ok(serde_json::to_value(finish).unwrap_or(Value::Null));
        }
        Request::FindOrCreate { vending } => find_or_create(vending, deps).await?,
        Request::AwaitAccount { vending } => await_account(vending, deps).await?,
        Request::Place { vending } => place(vending, deps).await?,
        Request::Baseline { vending, execution } => baseline(vending, &execution, deps).await?,
        Request::AwaitBaseline { vending } => await_baseline(vending, deps).await?,
        Request::PublishFacts { vending } => return publish_facts(&vending, deps).await,
        Request::Quarantine { vending, step, cause } => return quarantine(&vending, &step, &cause, deps).await,
    };
    Ok(serde_json::to_value(vending).unwrap_or(Value::Null))
}

/// The tag a quarantined account carries: the step its vending failed at.
pub const QUARANTINE_TAG: &str = "quarantined-at-step";

/// Now, and the end of a hold taken now: the longest an execution may run, and a margin.
fn lease() -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    let now = chrono::Utc::now();
    (now, now + chrono::Duration::seconds(EXECUTION_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS))
}

async fn validate(event: &Value, deps: &Deps) -> Result<Vending, VendingError> {
    let (org, environments) = deps.config().await?;
    let (request, account_id) = match Origin::from_event(event)? {
        Origin::Requested(request) => (request, None),
        Origin::CreatedElsewhere { account_id, account_name } => {
            let account = deps.directory.account(&account_id).await?;
            let tags = deps.directory.tags(&account_id).await?;
            let request = AccountRequest::from_tags(&account_name, &account.email, &tags).ok_or_else(|| {
                VendingError::NotOurs {
                    account: account_id.clone(),
                    why: "it carries no managed-by=platform-ops tag".into(),
                }
            })?;
            (request, Some(account_id))
        }
    };
    request.validate(&environments)?;
    let regions = environments[&request.environment].regions.clone();
    Ok(Vending {
        id: request.vending_id(),
        request,
        regions,
        max_in_flight: org.vending.max_in_flight,
        reused: account_id.is_some(),
        done: account_id.is_some(),
        account_id,
        creation_request_id: None,
        creation_attempts: 0,
        ou_id: None,
        operation_id: None,
        instances: Vec::new(),
        operation_regions: Vec::new(),
        again: false,
    })
}

/// An existing account is reused only when nothing says it belongs elsewhere: untagged (an
/// account built by hand, adopted), or tagged by platform-ops for this environment and client.
/// Anything else would move someone else's account (say, a dev account into Production).
fn check_ours(account: &str, tags: &BTreeMap<String, String>, request: &AccountRequest) -> Result<(), VendingError> {
    let not_ours = |why: String| Err(VendingError::NotOurs { account: account.to_string(), why });
    match tags.get("managed-by").map(String::as_str) {
        None | Some("platform-ops") => {}
        Some(other) => return not_ours(format!("it is managed by `{other}`")),
    }
    for (key, wanted) in [("environment", &request.environment), ("client", &request.client)] {
        if let Some(have) = tags.get(key)
            && have != wanted
        {
            return not_ours(format!("its {key} tag is `{have}`, the request's is `{wanted}`"));
        }
    }
    Ok(())
}

/// The account with the request's e-mail, if the organisation has one that is ours to reuse.
async fn reusable(v: &Vending, deps: &Deps) -> Result<Option<String>, VendingError> {
    let Some(account) = deps.directory.find_by_email(&v.request.email).await? else { return Ok(None) };
    if account.status != "ACTIVE" {
        return Err(VendingError::NotActive { account: account.id, status: account.status });
    }
    check_ours(&account.id, &deps.directory.tags(&account.id).await?, &v.request)?;
    Ok(Some(account.id))
}

async fn find_or_create(mut v: Vending, deps: &Deps) -> Result<Vending, VendingError> {
    if v.account_id.is_some() {
        v.done = true;
        return Ok(v);
    }
    // CreateAccount has no idempotency token: the e-mail is the key. A repeated request, or a
    // re-run after a failure, finds the account and carries on with it.
    if let Some(account) = reusable(&v, deps).await? {
        v.account_id = Some(account);
        v.reused = true;
        v.done = true;
        return Ok(v);
    }
    // An account being created is not listed yet: a request whose response was lost (a retried
    // task) is followed, not asked twice.
    if let Some(request_id) = deps.directory.creation_in_progress(&v.request.account_name).await? {
        v.creation_request_id = Some(request_id);
        v.done = false;
        return Ok(v);
    }
    create(v, deps).await
}

async fn create(mut v: Vending, deps: &Deps) -> Result<Vending, VendingError> {
    let request_id =
        deps.directory.create_account(&v.request.account_name, &v.request.email, &v.request.tags()).await?;
    v.creation_request_id = Some(request_id);
    v.creation_attempts += 1;
    v.done = false;
    Ok(v)
}

/// Organizations' INTERNAL_FAILURE is worth asking again, this many CreateAccount calls in all.
const CREATION_ATTEMPTS: u32 = 3;

async fn await_account(mut v: Vending, deps: &Deps) -> Result<Vending, VendingError> {
    let Some(request_id) = v.creation_request_id.clone() else {
        v.done = v.account_id.is_some();
        return Ok(v);
    };
    match deps.directory.creation(&request_id).await? {
        Creation::InProgress => v.done = false,
        Creation::Succeeded { account_id } => {
            v.account_id = Some(account_id);
            v.done = true;
        }
        // A second request raced ours (or ours was answered after a retry): the account exists.
        Creation::Failed { reason } if reason == "EMAIL_ALREADY_EXISTS" => match reusable(&v, deps).await? {
            Some(account) => {
                v.account_id = Some(account);
                v.reused = true;
                v.done = true;
            }
            None => return Err(VendingError::CreationFailed { email: v.request.email.clone(), reason }),
        },
        Creation::Failed { reason } if reason == "INTERNAL_FAILURE" && v.creation_attempts < CREATION_ATTEMPTS => {
            tracing::warn!(vending = %v.id, attempt = v.creation_attempts, "CreateAccount failed inside Organizations: asking again");
            return create(v, deps).await;
        }
        Creation::Failed { reason } => {
            return Err(VendingError::CreationFailed { email: v.request.email.clone(), reason });
        }
    }
    Ok(v)
}

async fn place(mut v: Vending, deps: &Deps) -> Result<Vending, VendingError> {
    let account = v.account_id.clone().ok_or(VendingError::NoAccountYet("place"))?;
    let (_, env) = deps.environment(&v.request.environment).await?;
    let ou = deps
        .directory
        .ou_id(&env.organizational_unit)
        .await?
        .ok_or_else(|| VendingError::NoSuchOu(env.organizational_unit.clone()))?;
    let parent = deps.directory.parent(&account).await?;
    if parent != ou {
        deps.directory.move_account(&account, &parent, &ou).await?;
    }
    // Tags are re-asserted when they differ (TagResource overwrites the same keys); a resumed
    // vending takes the account out of quarantine, so its quarantine tag goes.
    let current = deps.directory.tags(&account).await?;
    let wanted = v.request.tags();
    if wanted.iter().any(|(k, val)| current.get(k) != Some(val)) {
        deps.directory.tag(&account, &wanted).await?;
    }
    if current.contains_key(QUARANTINE_TAG) {
        deps.directory.untag(&account, &[QUARANTINE_TAG.to_string()]).await?;
    }
    v.ou_id = Some(ou);
    Ok(v)
}

/// `<vending>-<hash of execution, kind, regions>`: at most 128 characters of `[a-zA-Z0-9-]`.
fn operation_id(vending: &str, execution: &str, kind: &str, regions: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{execution}\n{kind}\n{}", regions.join(",")));
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let prefix: String = vending.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(100).collect();
    format!("{prefix}-{hex}")
}

/// Six subnets cut from the VPC range: three public, then three private, one per AZ each.
pub fn subnet_cidrs(vpc: Ipv4Net) -> Option<(Vec<String>, Vec<String>)> {
    let subnets: Vec<String> =
        vpc.subnets(vpc.prefix_len().checked_add(3)?).ok()?.take(6).map(|n| n.to_string()).collect();
    (subnets.len() == 6).then(|| (subnets[..3].to_vec(), subnets[3..].to_vec()))
}

/// The baseline's parameters for an environment.
pub fn baseline_parameters(env: &Environment, central: &Central) -> Result<BTreeMap<String, String>, VendingError> {
    let (public, private) = subnet_cidrs(env.network.vpc_cidr)
        .ok_or_else(|| VendingError::Config(format!("vpc_cidr {} cannot hold six subnets", env.network.vpc_cidr)))?;
    Ok(BTreeMap::from([
        ("Environment".to_string(), env.name.clone()),
        ("HomeRegion".to_string(), env.primary_region().to_string()),
        ("VpcCidr".to_string(), env.network.vpc_cidr.to_string()),
        ("PublicSubnetCidrs".to_string(), public.join(",")),
        ("PrivateSubnetCidrs".to_string(), private.join(",")),
        ("DomainName".to_string(), env.domain_name.clone()),
        ("AutomationAccountId".to_string(), central.automation_account_id.clone()),
        ("OrganizationId".to_string(), central.organization_id.clone()),
        ("CentralEventBusArn".to_string(), central.event_bus_arn.clone()),
        ("CentralLogDestinationName".to_string(), central.log_destination_name.clone()),
    ]))
}

async fn baseline(mut v: Vending, execution: &str, deps: &Deps) -> Result<Vending, VendingError> {
    let account = v.account_id.clone().ok_or(VendingError::NoAccountYet("baseline"))?;
    let (org, env) = deps.environment(&v.request.environment).await?;
    let stack_set = &org.vending.baseline_stack_set;
    let existing = deps.stack_sets.instances(stack_set, &account).await?;
    let instance = |r: &String| existing.iter().find(|i| &i.region == r);
    let missing: Vec<String> = v.regions.iter().filter(|r| instance(r).is_none()).cloned().collect();
    // OUTDATED: a previous run's operation failed there; re-applied, not created again.
    let outdated: Vec<String> =
        v.regions.iter().filter(|r| instance(r).is_some_and(|i| i.status == "OUTDATED")).cloned().collect();
    v.again = false;
    v.done = false;
    let (kind, regions) = match (missing.is_empty(), outdated.is_empty()) {
        // A re-run after the baseline went in: nothing to do, the await reports the instances.
        (true, true) => {
            v.operation_id = None;
            return Ok(v);
        }
        (false, _) => ("create", missing),
        (true, false) => ("update", outdated),
    };
    let preferences = Preferences {
        failure_tolerance_count: org.vending.failure_tolerance_count,
        max_concurrent_count: org.vending.max_concurrent_count,
    };
    // An operation id is an idempotency token: a retried call within this execution is the same
    // operation (StackSets answers OperationIdAlreadyExists), while a re-run of the vending is a
    // new execution and so a new operation (AWS retries OUTDATED instances with a new id).
    let operation_id = operation_id(&v.id, execution, kind, &regions);
    let parameters = baseline_parameters(&env, &deps.central)?;
    let op = match kind {
        "create" => {
            deps.stack_sets
                .add_instances(stack_set, &account, &regions, &parameters, preferences, &operation_id)
                .await?
        }
        _ => {
            deps.stack_sets
                .update_instances(stack_set, &account, &regions, &parameters, preferences, &operation_id)
                .await?
        }
    };
    v.operation_id = Some(op);
    v.operation_regions = regions;
    Ok(v)
}

async fn await_baseline(mut v: Vending, deps: &Deps) -> Result<Vending, VendingError> {
    let account = v.account_id.clone().ok_or(VendingError::NoAccountYet("await-baseline"))?;
    let (org, _) = deps.config().await?;
    let stack_set = &org.vending.baseline_stack_set;
    if let Some(op) = &v.operation_id {
        let status = deps.stack_sets.operation(stack_set, op).await?;
        if !status.finished() {
            v.done = false;
            return Ok(v);
        }
        if status != OperationStatus::Succeeded {
            v.instances = deps.stack_sets.instances(stack_set, &account).await?;
            return Err(baseline_failed(&account, &format!("operation {op} {status:?}").to_lowercase(), &v.instances));
        }
    }
    v.instances = deps.stack_sets.instances(stack_set, &account).await?;
    let healthy = |i: &Instance| i.status == "CURRENT" && i.detailed.as_deref().is_none_or(|d| d == "SUCCEEDED");
    let region_of = |r: &String| v.instances.iter().find(|i| &i.region == r);
    if v.regions.iter().all(|r| region_of(r).is_some_and(healthy)) {
        v.done = true;
        v.again = false;
        return Ok(v);
    }
    // Regions the last operation did not touch, missing or OUTDATED from an earlier run: one
    // more round for them. A region the operation did touch and left unhealthy is a failure.
    let another_round = v.operation_id.is_some()
        && v.regions.iter().all(|r| match region_of(r) {
            Some(i) if healthy(i) => true,
            Some(i) => i.status == "OUTDATED" && !v.operation_regions.contains(r),
            None => !v.operation_regions.contains(r),
        });
    if another_round {
        v.operation_id = None;
        v.again = true;
        v.done = false;
        return Ok(v);
    }
    Err(baseline_failed(&account, "is not CURRENT in every region", &v.instances))
}

fn baseline_failed(account: &str, outcome: &str, instances: &[Instance]) -> VendingError {
    VendingError::BaselineFailed {
        account: account.to_string(),
        outcome: outcome.to_string(),
        regions: instances
            .iter()
            .map(|i| {
                let detail = i.detailed.as_deref().unwrap_or("-");
                match &i.reason {
                    Some(r) => format!("{} {} ({detail}): {r}", i.region, i.status),
                    None => format!("{} {} ({detail})", i.region, i.status),
                }
            })
            .collect(),
    }
}

/// Baseline exports that describe global resources (one per account, not per region).
const GLOBAL_FACTS: &[&str] = &["hosted-zone-id", "automation-role-arn"];

/// The account's facts under `/abc-trading/accounts/<env>/<account-id>/`, from the baseline
/// stacks' outputs as they export them. Returns what was published.
async fn publish_facts(v: &Vending, deps: &Deps) -> Result<Value, VendingError> {
    let account = v.account_id.clone().ok_or(VendingError::NoAccountYet("publish-facts"))?;
    let (_, env) = deps.environment(&v.request.environment).await?;
    let root = format!("{}/accounts/{}/{account}", deps.parameter_prefix, env.name);
    let mut facts = BTreeMap::from([
        (format!("{root}/id"), account.clone()),
        (format!("{root}/name"), v.request.account_name.clone()),
        (format!("{root}/client"), v.request.client.clone()),
        (format!("{root}/regions"), v.regions.join(",")),
    ]);
    if let Some(ou) = &v.ou_id {
        facts.insert(format!("{root}/ou"), ou.clone());
    }
    // The baseline exports its outputs to the member's Parameter Store, per region: one read each.
    let exported = format!("{}/{}/baseline", deps.parameter_prefix, env.name);
    for region in &v.regions {
        let outputs = deps.member_parameters.get_by_path(&account, region, &exported).await?;
        for (name, value) in outputs {
            let Some(key) = name.strip_prefix(&format!("{exported}/")) else { continue };
            // Global resources (hosted zone, role) exist in the home region's stack only.
            let fact =
                if GLOBAL_FACTS.contains(&key) { format!("{root}/{key}") } else { format!("{root}/{region}/{key}") };
            facts.insert(fact, value);
        }
    }
    // Only what changed is written: a re-run publishes nothing new.
    let current = deps.parameters.get_by_path(&root).await?;
    let mut written = 0;
    for (name, value) in &facts {
        if current.get(name) != Some(value) {
            deps.parameters.put(name, value, true).await?;
            written += 1;
        }
    }
    Ok(serde_json::json!({"vending": v, "facts": facts, "written": written}))
}

async fn quarantine(v: &Vending, step: &str, cause: &str, deps: &Deps) -> Result<Value, VendingError> {
    let Some(account) = &v.account_id else {
        return Ok(serde_json::json!({"quarantined": false, "step": step, "cause": cause,
            "reason": "no account was created: nothing to quarantine"}));
    };
    let (org, _) = deps.config().await?;
    let ou = deps
        .directory
        .ou_id(&org.quarantine_ou)
        .await?
        .ok_or_else(|| VendingError::NoSuchOu(org.quarantine_ou.clone()))?;
    let parent = deps.directory.parent(account).await?;
    if parent != ou {
        deps.directory.move_account(account, &parent, &ou).await?;
    }
    // Never deleted: the account waits in Quarantine for people, and a re-run resumes with it.
    let mut tags = v.request.tags();
    tags.insert(QUARANTINE_TAG.into(), step.chars().take(256).collect());
    deps.directory.tag(account, &tags).await?;
    Ok(serde_json::json!({"quarantined": true, "account": account, "ou": ou, "step": step, "cause": cause}))
}
