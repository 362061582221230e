//! Member accounts' Parameter Store in memory, as the baseline stack fills it, for tests of vending.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use platform_core::error::{AwsError, ErrorClass};

use crate::ports::MemberParameters;

/// Every member account's baseline has written its exports: a VPC and private subnets in each
/// region, the hosted zone in the home region only. Reads are counted, so tests can prove
/// each region is read once.
#[derive(Debug)]
pub struct MemoryMemberParameters {
    home_region: String,
    reads: AtomicU32,
}

impl MemoryMemberParameters {
    /// Member accounts whose baseline's global exports live in `home_region`.
    pub fn new(home_region: &str) -> Self {
        MemoryMemberParameters { home_region: home_region.to_string(), reads: AtomicU32::new(0) }
    }

    /// The GetParametersByPath reads so far, every account and region.
    pub fn reads(&self) -> u32 {
        self.reads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl MemberParameters for MemoryMemberParameters {
    async fn get_by_path(&self, account: &str, region: &str, path: &str) -> Result<BTreeMap<String, String>, AwsError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let mut out = BTreeMap::from([
            (format!("{path}/vpc-id"), format!("vpc-{account}-{region}")),
            (format!("{path}/private-subnet-ids"), "subnet-a,subnet-b,subnet-c".to_string()),
        ]);
        if region == self.home_region {
            out.insert(format!("{path}/hosted-zone-id"), "Z123".into());
        }
        Ok(out)
    }
}

/// Route 53 in memory: every member zone answers four name servers of its own account; the
/// parent zones are the ones `with_parent` made. Writes are counted, so tests see a re-run
/// write nothing.
#[derive(Debug, Default)]
pub struct MemoryZones {
    parents: std::sync::Mutex<BTreeMap<String, Vec<String>>>,
    records: std::sync::Mutex<BTreeMap<(String, String), Vec<String>>>,
    writes: AtomicU32,
}

impl MemoryZones {
    /// One public zone named `domain` (its id `Z-<domain>`); called twice, two zones of that name.
    pub fn with_parent(self, domain: &str) -> Self {
        let mut parents = self.parents.lock().unwrap_or_else(|e| e.into_inner());
        let zones = parents.entry(domain.to_string()).or_default();
        zones.push(format!("Z-{domain}-{}", zones.len()));
        drop(parents);
        self
    }

    /// The name servers of the member zone of `account`, as Route 53 would have given them.
    pub fn name_servers_of(account: &str) -> Vec<String> {
        (1..=4).map(|i| format!("ns-{i}.{account}.awsdns.example.")).collect()
    }

    /// The NS record `name` of the parent zone of `domain`, if written.
    pub fn record(&self, domain: &str, name: &str) -> Option<Vec<String>> {
        let zone = self.parents.lock().unwrap_or_else(|e| e.into_inner()).get(domain)?.first()?.clone();
        self.records.lock().unwrap_or_else(|e| e.into_inner()).get(&(zone, format!("{name}."))).cloned()
    }

    /// Writes a record as if someone else had (another account's delegation).
    pub fn preset(&self, domain: &str, name: &str, servers: Vec<String>) {
        let zone = self.parents.lock().unwrap_or_else(|e| e.into_inner()).get(domain).and_then(|z| z.first().cloned());
        if let Some(zone) = zone {
            self.records.lock().unwrap_or_else(|e| e.into_inner()).insert((zone, format!("{name}.")), servers);
        }
    }

    pub fn writes(&self) -> u32 {
        self.writes.load(Ordering::SeqCst)
    }

    fn known(&self, zone_id: &str) -> Result<(), AwsError> {
        let parents = self.parents.lock().unwrap_or_else(|e| e.into_inner());
        if parents.values().flatten().any(|z| z == zone_id) {
            return Ok(());
        }
        Err(AwsError::new(
            ErrorClass::NotFound,
            "ChangeResourceRecordSets",
            format!("no hosted zone found with id {zone_id}"),
        ))
    }
}

#[async_trait]
impl crate::ports::ZoneDelegation for MemoryZones {
    async fn member_name_servers(&self, account: &str, _zone_id: &str) -> Result<Vec<String>, AwsError> {
        Ok(Self::name_servers_of(account))
    }

    async fn parent_zone(&self, domain: &str) -> Result<Option<String>, AwsError> {
        let parents = self.parents.lock().unwrap_or_else(|e| e.into_inner());
        Ok(match parents.get(domain.trim_end_matches('.')).map(Vec::as_slice) {
            Some([one]) => Some(one.clone()),
            _ => None,
        })
    }

    async fn delegation(&self, zone_id: &str, name: &str) -> Result<Option<Vec<String>>, AwsError> {
        self.known(zone_id)?;
        let key = (zone_id.to_string(), format!("{}.", name.trim_end_matches('.')));
        Ok(self.records.lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned())
    }

    async fn delegate(&self, zone_id: &str, name: &str, name_servers: &[String]) -> Result<(), AwsError> {
        self.known(zone_id)?;
        // Route 53 refuses an NS record without values.
        if name_servers.is_empty() {
            return Err(AwsError::new(
                ErrorClass::InvalidRequest,
                "ChangeResourceRecordSets",
                format!("NS record {name} has no values"),
            ));
        }
        self.writes.fetch_add(1, Ordering::SeqCst);
        let key = (zone_id.to_string(), format!("{}.", name.trim_end_matches('.')));
        self.records.lock().unwrap_or_else(|e| e.into_inner()).insert(key, name_servers.to_vec());
        Ok(())
    }
}
