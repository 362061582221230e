//! The account's actions: the event validated, the account found or created, then placed and tagged.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Deps, QUARANTINE_TAG, Vending, VendingError};
use platform_core::organization::{Account, AccountState};
use platform_core::trust::{Sender, Untrusted};

use crate::ports::Creation;
use crate::request::{AccountRequest, Origin};

pub(super) async fn validate(event: &Value, deps: &Deps) -> Result<Vending, VendingError> {
    let (org, environments) = deps.config().await?;
    let (request, account_id) = match Origin::from_event(event)? {
        Origin::Requested(request) => {
            // Only our own pipelines and CLI (the automation account) ask for accounts; the bus
            // policy and the rule say so too, this holds when either is loosened.
            deps.boundary.sent_by(event, "AccountRequested", Sender::Automation)?;
            (request, None)
        }
        Origin::CreatedElsewhere { account_id, account_name } => {
            deps.boundary.sent_by(event, "CreateAccountResult", Sender::Management)?;
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
    deps.boundary.environment(&request.environment)?;
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

/// An existing account is reused only when it is ours: tagged by platform-ops for this
/// environment and client, or untagged and listed in the environment's `adopt` (an account built
/// by hand, reviewed). Anything else would move someone else's account (the security account
/// named by its e-mail, a dev account into Production).
fn check_ours(
    account: &Account,
    tags: &BTreeMap<String, String>,
    request: &AccountRequest,
    adoptable: &[String],
) -> Result<(), VendingError> {
    let not_ours = |why: String| Err(VendingError::NotOurs { account: account.id.clone(), why });
    match tags.get("managed-by").map(String::as_str) {
        Some("platform-ops") => {}
        None if adoptable.iter().any(|a| a.eq_ignore_ascii_case(&account.email) || a == &account.id) => {}
        None => {
            return not_ours(format!(
                "it carries no managed-by=platform-ops tag and environment `{}` does not list {} for adoption",
                request.environment, account.email
            ));
        }
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
    if account.state != AccountState::Active {
        return Err(VendingError::NotActive { account: account.id, status: account.state });
    }
    let (_, env) = deps.environment(&v.request.environment).await?;
    check_ours(&account, &deps.directory.tags(&account.id).await?, &v.request, &env.adopt)?;
    Ok(Some(account.id))
}

/// The account a vending may change, re-derived rather than taken from the payload: the one with
/// the request's e-mail (the vending's key), and ours. A payload naming another account (a direct
/// invocation, a tampered execution input) moves nothing. Returns the account with its tags.
pub(super) async fn target(v: &Vending, deps: &Deps) -> Result<(String, BTreeMap<String, String>), VendingError> {
    let named = v.account_id.clone().ok_or(VendingError::NoAccountYet("place"))?;
    deps.boundary.environment(&v.request.environment)?;
    let account = deps.directory.account(&named).await?;
    if !account.email.eq_ignore_ascii_case(&v.request.email) {
        let expected = match deps.directory.find_by_email(&v.request.email).await? {
            Some(a) => a.id,
            None => format!("none has {}", v.request.email),
        };
        return Err(Untrusted::WrongTarget { account: named, expected }.into());
    }
    let (_, env) = deps.environment(&v.request.environment).await?;
    let tags = deps.directory.tags(&named).await?;
    check_ours(&account, &tags, &v.request, &env.adopt)?;
    Ok((named, tags))
}

pub(super) async fn find_or_create(mut v: Vending, deps: &Deps) -> Result<Vending, VendingError> {
    if v.account_id.is_some() {
        v.done = true;
        return Ok(v);
    }
    // CreateAccount has no idempotency token: the e-mail is the key. A repeated request, or a
    // re-run after a failure, finds the account and carries on with it.
    if let Some(account) = reusable(&v, deps).await? {
        // Ours when a CreateAccount of ours made it and its answer was lost (or the function
        // died before it could say so): created, not reused.
        let created = deps.directory.created_by(&account).await?;
        v.reused = created.is_none();
        v.creation_request_id = created;
        v.account_id = Some(account);
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

pub(super) async fn await_account(mut v: Vending, deps: &Deps) -> Result<Vending, VendingError> {
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

pub(super) async fn place(mut v: Vending, deps: &Deps) -> Result<Vending, VendingError> {
    let (account, current) = target(&v, deps).await?;
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
    // The tags `target` read: moving an account does not change them.
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
