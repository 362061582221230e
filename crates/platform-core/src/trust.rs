//! What one deployment owns (its environment, its automation and management accounts) and the checks every handler makes against it.

use serde::Deserialize;
use serde_json::Value;

/// The stable error name every function reports for a refused sender, environment or target;
/// the state machines catch it without retrying.
pub const UNTRUSTED: &str = "Untrusted";

/// The accounts an event may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::Display)]
#[strum(serialize_all = "lowercase")]
pub enum Sender {
    /// The account platform-ops runs in: `abc.platform` requests (pipelines, the CLI).
    Automation,
    /// The organisation's management account: Organizations' CloudTrail events.
    Management,
}

/// This deployment's boundary, from the variables every function gets (`template.yaml` Globals).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Boundary {
    /// The environment this stack serves (`dev`, `staging`, `prod`): nothing else is acted on.
    pub environment: String,
    pub automation_account_id: String,
    pub management_account_id: String,
}

/// Why something that arrived was refused. Each names the bad value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    #[error("environment `{requested}` is not this deployment's (`{own}`)")]
    ForeignEnvironment { requested: String, own: String },
    #[error("{what} sent by account `{sender}` refused: only the {allowed} account ({expected}) sends it")]
    Sender { what: String, sender: String, allowed: Sender, expected: String },
    #[error("account `{account}` is not a vended account of environment `{environment}`")]
    NotVended { account: String, environment: String },
    #[error("account `{account}` is not the vending's account (`{expected}`): refusing to act on it")]
    WrongTarget { account: String, expected: String },
}

impl Boundary {
    /// `requested` must be this deployment's environment.
    pub fn environment(&self, requested: &str) -> Result<(), Untrusted> {
        if requested == self.environment {
            return Ok(());
        }
        Err(Untrusted::ForeignEnvironment { requested: requested.to_string(), own: self.environment.clone() })
    }

    /// The EventBridge envelope's `account` (set by EventBridge to the sending account, never by
    /// the sender) must be the `allowed` one.
    pub fn sent_by(&self, event: &Value, what: &str, allowed: Sender) -> Result<(), Untrusted> {
        let expected = match allowed {
            Sender::Automation => &self.automation_account_id,
            Sender::Management => &self.management_account_id,
        };
        let sender = event.get("account").and_then(Value::as_str).unwrap_or_default();
        if sender == expected {
            return Ok(());
        }
        Err(Untrusted::Sender {
            what: what.to_string(),
            sender: sender.to_string(),
            allowed,
            expected: expected.clone(),
        })
    }
}

/// The parameter vending writes for each account it vended: its presence is what "vended" means.
pub fn vended_parameter(prefix: &str, environment: &str, account: &str) -> String {
    format!("{prefix}/accounts/{environment}/{account}/id")
}

/// Every account vending published for `environment` (`<prefix>/accounts/<env>/<id>/id` = id):
/// the environment's fleet, as deploys, fleet releases and restore tests read it.
pub async fn vended_accounts(
    store: &dyn crate::ports::ParameterStore,
    prefix: &str,
    environment: &str,
) -> Result<Vec<String>, crate::error::AwsError> {
    let root = format!("{prefix}/accounts/{environment}/");
    let facts = store.get_by_path(root.trim_end_matches('/')).await?;
    Ok(facts
        .iter()
        .filter_map(|(name, value)| {
            let id = name.strip_prefix(&root)?.strip_suffix("/id")?;
            (id == value).then(|| value.clone())
        })
        .collect())
}

/// Accounts already found vended, remembered per container: an alarm storm asks the ledger once
/// per account, not once per alarm (Parameter Store allows 40 reads a second by default). Only
/// positive answers are kept, and only for `ttl`: a refusal is always asked again.
#[derive(Debug)]
pub struct VendedCache {
    seen: std::sync::Mutex<std::collections::HashMap<(String, String), std::time::Instant>>,
    ttl: std::time::Duration,
}

impl Default for VendedCache {
    fn default() -> Self {
        VendedCache { seen: Default::default(), ttl: std::time::Duration::from_secs(15 * 60) }
    }
}

impl VendedCache {
    /// `account` must be one vending published for `environment`
    /// (`<prefix>/accounts/<env>/<account>/id`, one read, then remembered): the outer error is
    /// the read's, the inner the refusal.
    pub async fn check(
        &self,
        parameters: &dyn crate::ports::ParameterStore,
        prefix: &str,
        environment: &str,
        account: &str,
    ) -> Result<Result<(), Untrusted>, crate::AwsError> {
        if self.fresh(environment, account) {
            return Ok(Ok(()));
        }
        let name = vended_parameter(prefix, environment, account);
        if parameters.get_many(std::slice::from_ref(&name)).await?.get(&name).is_some_and(|id| id == account) {
            self.remember(environment, account);
            return Ok(Ok(()));
        }
        Ok(Err(Untrusted::NotVended { account: account.to_string(), environment: environment.to_string() }))
    }

    /// Whether `account` was found vended for `environment` within the ttl.
    pub fn fresh(&self, environment: &str, account: &str) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(&(environment.to_string(), account.to_string())).is_some_and(|at| at.elapsed() < self.ttl)
    }

    pub fn remember(&self, environment: &str, account: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.insert((environment.to_string(), account.to_string()), std::time::Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn boundary() -> Boundary {
        Boundary {
            environment: "dev".into(),
            automation_account_id: "123456789012".into(),
            management_account_id: "111111111111".into(),
        }
    }

    #[test]
    fn only_the_own_environment_passes() {
        assert_eq!(boundary().environment("dev"), Ok(()));
        let e = boundary().environment("prod").expect_err("refused");
        assert_eq!(e.to_string(), "environment `prod` is not this deployment's (`dev`)");
    }

    #[test]
    fn the_sender_is_the_envelope_account() {
        let b = boundary();
        assert!(b.sent_by(&json!({"account": "123456789012"}), "AccountRequested", Sender::Automation).is_ok());
        assert!(b.sent_by(&json!({"account": "111111111111"}), "CreateAccountResult", Sender::Management).is_ok());
        let e = b
            .sent_by(&json!({"account": "222233334444"}), "ReleaseRequested", Sender::Automation)
            .expect_err("refused");
        assert!(e.to_string().contains("`222233334444`"), "{e}");
        // No account at all is refused too: a hand-built payload is not an event.
        assert!(b.sent_by(&json!({}), "AccountRequested", Sender::Automation).is_err());
        assert!(b.sent_by(&json!({"account": "123456789012"}), "x", Sender::Management).is_err());
    }

    #[test]
    fn only_fresh_positive_answers_are_remembered() {
        let cache = VendedCache::default();
        assert!(!cache.fresh("dev", "222233334444"));
        cache.remember("dev", "222233334444");
        assert!(cache.fresh("dev", "222233334444"));
        assert!(!cache.fresh("prod", "222233334444"), "per environment");
        let expired = VendedCache { ttl: std::time::Duration::ZERO, ..VendedCache::default() };
        expired.remember("dev", "222233334444");
        assert!(!expired.fresh("dev", "222233334444"));
    }
}
