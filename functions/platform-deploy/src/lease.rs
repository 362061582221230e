//! One deploy per account at a time: the lease a deploy takes before its plan and gives back at its end.

use chrono::{DateTime, Duration, Utc};
use platform_core::approvals::{Acquired, Lease};
use platform_core::config::BusyAction;
use serde::Serialize;

use crate::handler::{DeployError, DeployRequest, Deps};

/// platform-deploy.asl.json's TimeoutSeconds: a lease outlives no execution that could hold it.
pub const EXECUTION_TIMEOUT_SECONDS: i64 = 43_200;
/// The state machine retries `AccountBusy` this often (its Retry's IntervalSeconds).
pub const RETRY_SECONDS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leased {
    pub holder: String,
    pub until: DateTime<Utc>,
}

/// Takes `request`'s account for `execution` until the execution's timeout; another release's
/// lease is waited for (`AccountBusy`, retried by the state machine every minute, up to the
/// environment's `lease_wait_minutes`) or refused (`AccountHeld`), by config, naming its holder.
pub async fn acquire(
    deps: &Deps,
    request: &DeployRequest,
    execution: &str,
    now: DateTime<Utc>,
    retries: u32,
) -> Result<Leased, DeployError> {
    let env = deps.environment(&request.environment)?;
    deps.vended(&request.environment, &request.account_id).await?;
    let until = now + Duration::seconds(EXECUTION_TIMEOUT_SECONDS);
    let lease = Lease {
        environment: env.name.clone(),
        account: request.account_id.clone(),
        holder: execution.to_string(),
        release: request.release.clone().unwrap_or_else(|| "(latest)".into()),
        since: now,
        until,
    };
    // The state's entered time stays put across retries: the retries say how long it waited.
    let waited = now + Duration::seconds(i64::from(retries) * RETRY_SECONDS);
    match deps.leases.acquire(&lease, waited).await.map_err(crate::aws::from_aws)? {
        Acquired::Held => Ok(Leased { holder: lease.holder, until }),
        Acquired::Busy(held) => {
            let waited_minutes = i64::from(retries) * RETRY_SECONDS / 60;
            let gave_up = waited_minutes >= i64::from(env.release.lease_wait_minutes);
            if env.release.busy == BusyAction::Refuse || gave_up {
                Err(DeployError::AccountHeld {
                    account: held.account,
                    holder: held.holder,
                    release: held.release,
                    waited_minutes,
                })
            } else {
                Err(DeployError::AccountBusy { account: held.account, holder: held.holder, release: held.release })
            }
        }
    }
}

/// Gives the lease back if `execution` holds it (a deploy that never took one gives nothing).
pub async fn release(deps: &Deps, environment: &str, account: &str, execution: &str) -> Result<bool, DeployError> {
    Ok(deps.leases.release(environment, account, execution).await.map_err(crate::aws::from_aws)?)
}
