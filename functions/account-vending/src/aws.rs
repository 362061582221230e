//! Adapters: member Parameter Store through the role (Organizations, StackSets, the ledger are platform-core's).

use std::collections::BTreeMap;

use async_trait::async_trait;
use platform_core::aws::MemberClients;
use platform_core::error::AwsError;

use crate::ports::MemberParameters;

pub use platform_core::aws::CloudFormationStackSets;
pub use platform_core::organization::Organizations;

/// Parameter Store in member accounts, through the automation role.
#[derive(Debug, Clone)]
pub struct MemberSsm {
    members: MemberClients,
}

impl MemberSsm {
    pub fn new(members: MemberClients) -> Self {
        MemberSsm { members }
    }
}

#[async_trait]
impl MemberParameters for MemberSsm {
    async fn get_by_path(&self, account: &str, region: &str, path: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let store = platform_core::aws::SsmParameterStore::new(self.members.client_in(account, region));
        platform_core::ports::ParameterStore::get_by_path(&store, path).await
    }
}
