//! The release ledger in memory: releases published, each account's current one, the environment's accounts.

mod edge;
mod stand_in;

pub use edge::MemoryEdge;
pub use stand_in::{
    Backend, ClusterBackend, Fixed, Site, StandIn, StandInError, StandInOptions, StandInResolver, idle_edge,
    stand_in_edge,
};

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::cluster::ApplyError;
use crate::edge::{ClientZone, Endpoint};
use crate::handler::ReleaseLedger;
use crate::images::{ImageError, ImageFacts, ImageRegistry, ScanState};
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
    /// By (environment, account): vending's client and hosted-zone facts.
    clients: BTreeMap<(String, String), ClientZone>,
    /// By (environment, account): the endpoint recorded with the current release.
    endpoints: BTreeMap<(String, String), Endpoint>,
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

    /// Vending published the account's client and hosted zone.
    pub fn set_client(&self, environment: &str, account: &str, client: &str, hosted_zone_id: &str) {
        let zone = ClientZone { client: client.into(), hosted_zone_id: hosted_zone_id.into() };
        self.lock().clients.insert((environment.to_string(), account.to_string()), zone);
    }

    /// The endpoint recorded with each account's current release, by (environment, account).
    pub fn endpoints(&self) -> BTreeMap<(String, String), Endpoint> {
        self.lock().endpoints.clone()
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
        endpoint: Option<&Endpoint>,
    ) -> Result<(), ApplyError> {
        let mut entries = self.lock();
        let key = (environment.to_string(), account.to_string());
        match endpoint {
            Some(e) => entries.endpoints.insert(key, e.clone()),
            None => entries.endpoints.remove(&key),
        };
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

    async fn client(&self, environment: &str, account: &str) -> Result<Option<ClientZone>, ApplyError> {
        Ok(self.lock().clients.get(&(environment.to_string(), account.to_string())).cloned())
    }

    async fn accounts(&self, environment: &str) -> Result<Vec<String>, ApplyError> {
        Ok(self.lock().accounts.get(environment).cloned().unwrap_or_default())
    }
}

/// The central registry in memory, refusing what ECR refuses: a repository that was never
/// created, a tag never pushed to it; an image pushed but never scanned has no scan.
#[derive(Debug, Default)]
pub struct MemoryImages(Mutex<BTreeMap<String, BTreeMap<String, ImageFacts>>>);

impl MemoryImages {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, BTreeMap<String, ImageFacts>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// CreateRepository.
    pub fn create_repository(&self, repository: &str) {
        self.lock().entry(repository.to_string()).or_default();
    }

    /// PutImage of `repository:tag` (the repository must exist, as in ECR), not scanned yet.
    /// Returns its digest, derived from the name so every image has its own.
    pub fn push(&self, repository: &str, tag: &str) -> Option<String> {
        let mut repos = self.lock();
        let images = repos.get_mut(repository)?;
        let digest = format!("sha256:{:064x}", fnv(&format!("{repository}:{tag}")));
        images.insert(tag.to_string(), ImageFacts { digest: digest.clone(), scan: ScanState::NotScanned });
        Some(digest)
    }

    /// The result of the image's scan (a clean one: `ScanState::Findings` with no counts).
    pub fn set_scan(&self, repository: &str, tag: &str, scan: ScanState) {
        if let Some(image) = self.lock().get_mut(repository).and_then(|r| r.get_mut(tag)) {
            image.scan = scan;
        }
    }

    /// The tag `digest` was pushed with in `repository`: what a pinned manifest runs.
    pub fn tag_of(&self, repository: &str, digest: &str) -> Option<String> {
        let repos = self.lock();
        repos.get(repository)?.iter().find(|(_, i)| i.digest == digest).map(|(tag, _)| tag.clone())
    }

    /// Every workload of `tree`'s catalogue pushed with each of `tags` and scanned clean.
    pub fn with_tags(self, tree: &platform_core::config::ConfigTree, tags: &[&str]) -> Self {
        for service in tree.catalog.services.values() {
            self.create_repository(&service.image);
            for tag in tags {
                self.push(&service.image, tag);
                self.set_scan(&service.image, tag, ScanState::Findings(BTreeMap::new()));
            }
        }
        self
    }
}

/// A stand-in for a content hash (two FNV-1a lanes, zero-padded to 64 digits): distinct per name.
fn fnv(s: &str) -> u128 {
    let lane = |seed: u64| {
        s.bytes().fold(0xcbf2_9ce4_8422_2325_u64 ^ seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    };
    (u128::from(lane(1)) << 64) | u128::from(lane(2))
}

#[async_trait]
impl ImageRegistry for MemoryImages {
    async fn image(&self, repository: &str, tag: &str) -> Result<ImageFacts, ImageError> {
        let repos = self.lock();
        let images =
            repos.get(repository).ok_or_else(|| ImageError::RepositoryNotFound { repository: repository.into() })?;
        images
            .get(tag)
            .cloned()
            .ok_or_else(|| ImageError::ImageNotFound { repository: repository.into(), tag: tag.into() })
    }
}
