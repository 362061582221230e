//! The release ledger in memory: releases published, each account's current one, the environment's accounts.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::cluster::ApplyError;
use crate::handler::ReleaseLedger;
use crate::release::{Release, ResolvedRelease};

#[derive(Debug, Default)]
struct Entries {
    /// By (environment, release name).
    published: BTreeMap<(String, String), Release>,
    /// By (environment, account).
    current: BTreeMap<(String, String), ResolvedRelease>,
    /// The release last recorded in each environment.
    latest: BTreeMap<String, String>,
    accounts: BTreeMap<String, Vec<String>>,
}

/// What `SsmReleaseLedger` keeps in Parameter Store, kept in memory: nothing published, recorded
/// or vended until a test says so.
#[derive(Debug, Default)]
pub struct MemoryReleaseLedger(Mutex<Entries>);

impl MemoryReleaseLedger {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        // A poisoned lock only means another test thread panicked; the entries are intact.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// CI published `release` for the environment.
    pub fn publish(&self, environment: &str, release: Release) {
        self.lock().published.insert((environment.to_string(), release.name.clone()), release);
    }

    /// Vending published `account` in the environment (as its facts under `accounts/<env>/`).
    pub fn add_account(&self, environment: &str, account: &str) {
        // A ledger lists an account once, however often its facts are published.
        let mut state = self.lock();
        let accounts = state.accounts.entry(environment.to_string()).or_default();
        if !accounts.iter().any(|a| a == account) {
            accounts.push(account.to_string());
        }
    }

    /// Each account's current release, by (environment, account).
    pub fn recorded(&self) -> BTreeMap<(String, String), ResolvedRelease> {
        self.lock().current.clone()
    }
}

#[async_trait]
impl ReleaseLedger for MemoryReleaseLedger {
    async fn published(&self, environment: &str, name: &str) -> Result<Option<Release>, ApplyError> {
        Ok(self.lock().published.get(&(environment.to_string(), name.to_string())).cloned())
    }

    async fn current(&self, environment: &str, account: &str) -> Result<Option<ResolvedRelease>, ApplyError> {
        Ok(self.lock().current.get(&(environment.to_string(), account.to_string())).cloned())
    }

    async fn record(
        &self,
        environment: &str,
        account: &str,
        release: &ResolvedRelease,
        _at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), ApplyError> {
        let mut entries = self.lock();
        entries.current.insert((environment.to_string(), account.to_string()), release.clone());
        entries.latest.insert(environment.to_string(), release.name.clone());
        Ok(())
    }

    async fn environment_release(&self, environment: &str) -> Result<Option<String>, ApplyError> {
        Ok(self.lock().latest.get(environment).cloned())
    }

    async fn vended(&self, environment: &str, account: &str) -> Result<bool, ApplyError> {
        Ok(self.lock().accounts.get(environment).is_some_and(|a| a.iter().any(|id| id == account)))
    }

    async fn accounts(&self, environment: &str) -> Result<Vec<String>, ApplyError> {
        Ok(self.lock().accounts.get(environment).cloned().unwrap_or_default())
    }
}
