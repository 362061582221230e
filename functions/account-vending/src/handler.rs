//! The vending's typed actions, one per state of `account-vending`.

mod account;
mod baseline;
mod error;
mod outcome;
mod response;

use std::collections::BTreeMap;
use std::sync::Arc;

use platform_core::config::{Environment, Organization, PublishedConfig, PublishedError};
use platform_core::ports::ParameterStore;
use platform_core::trust::Boundary;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use self::baseline::{baseline_parameters, subnet_cidrs};
pub use self::error::{ErrorName, VendingError};
pub use self::outcome::client_domain;
pub use self::response::{Claimed, Delegation, PublishedFacts, Quarantine, Released, Response, Slot};
use crate::ports::{AccountDirectory, Claim, Finish, Instance, MemberParameters, StackSets, VendingLedger};
use crate::request::AccountRequest;

/// The state machine's `TimeoutSeconds`: no execution runs longer, so no claim or slot is held
/// longer than this and a margin (a test checks the definition agrees).
pub const EXECUTION_TIMEOUT_SECONDS: i64 = 6 * 3600;
const LEASE_MARGIN_SECONDS: i64 = 300;

/// The tag a quarantined account carries: the step its vending failed at.
pub const QUARANTINE_TAG: &str = "quarantined-at-step";

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
    /// The monitoring account's OAM sink the baseline links to (empty: no link yet).
    pub monitoring_sink_arn: String,
}

/// Built once at init.
#[derive(Debug)]
pub struct Deps {
    pub directory: Arc<dyn AccountDirectory>,
    pub stack_sets: Arc<dyn StackSets>,
    pub member_parameters: Arc<dyn MemberParameters>,
    /// The client zone's delegation from the environment's parent zone.
    pub zones: Arc<dyn crate::ports::ZoneDelegation>,
    pub ledger: Arc<dyn VendingLedger>,
    pub parameters: Arc<dyn ParameterStore>,
    pub parameter_prefix: String,
    pub central: Central,
    /// The environment and accounts this deployment owns: every request is checked against it.
    pub boundary: Boundary,
    pub config: PublishedConfig,
}

impl Deps {
    async fn config(&self) -> Result<(Organization, BTreeMap<String, Environment>), VendingError> {
        let p = self.config.get(self.parameters.as_ref(), &self.parameter_prefix).await.map_err(|e| match e {
            PublishedError::Aws(e) => VendingError::Aws(e),
            other => VendingError::Published(other),
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

pub async fn handle(request: Request, deps: &Deps) -> Result<Response, VendingError> {
    Ok(match request {
        Request::Validate { event } => Response::Vending(account::validate(&event, deps).await?),
        Request::Claim { vending, execution } => {
            let (now, lease) = lease();
            let claimed = deps.ledger.claim(&vending.id, &execution, now, lease).await? == Claim::Won;
            Response::Claimed(Claimed { claimed })
        }
        Request::AcquireSlot { vending } => {
            let (now, lease) = lease();
            if deps.ledger.acquire_slot(&vending.id, vending.max_in_flight, now, lease).await? == Claim::Taken {
                return Err(VendingError::NoSlot { vending: vending.id, max: vending.max_in_flight });
            }
            Response::Slot(Slot { slot: true })
        }
        Request::ReleaseSlot { vending } => {
            deps.ledger.release_slot(&vending.id).await?;
            Response::Released(Released { released: true })
        }
        Request::Finish { vending, execution, failed_step } => {
            let finish = match (failed_step, &vending.account_id) {
                (Some(step), _) => Finish::Failed { step },
                (None, Some(account_id)) => Finish::Done { account_id: account_id.clone() },
                (None, None) => return Err(VendingError::NoAccountYet("finish")),
            };
            deps.ledger.finish(&vending.id, &execution, &finish).await?;
            Response::Finished(finish)
        }
        Request::FindOrCreate { vending } => Response::Vending(account::find_or_create(vending, deps).await?),
        Request::AwaitAccount { vending } => Response::Vending(account::await_account(vending, deps).await?),
        Request::Place { vending } => Response::Vending(account::place(vending, deps).await?),
        Request::Baseline { vending, execution } => {
            Response::Vending(baseline::baseline(vending, &execution, deps).await?)
        }
        Request::AwaitBaseline { vending } => Response::Vending(baseline::await_baseline(vending, deps).await?),
        Request::PublishFacts { vending } => Response::Facts(outcome::publish_facts(vending, deps).await?),
        Request::Quarantine { vending, step, cause } => {
            Response::Quarantine(outcome::quarantine(&vending, &step, &cause, deps).await?)
        }
    })
}

/// Now, and the end of a hold taken now: the longest an execution may run, and a margin.
fn lease() -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    let now = chrono::Utc::now();
    (now, now + chrono::Duration::seconds(EXECUTION_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS))
}
