//! Member accounts' Parameter Store in memory, as the baseline stack fills it, for tests of vending.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use platform_core::error::AwsError;

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
