//! The release records in Parameter Store, where platform deploy writes them.

use std::sync::Arc;

use async_trait::async_trait;
use platform_core::error::{AwsError, ErrorClass};

use crate::ports::{AccountRelease, ParameterStore, ReleaseRecords};

/// `<prefix>/accounts/<env>/<account>/release`, read as platform deploy wrote it.
#[derive(Debug, Clone)]
pub struct SsmReleaseRecords {
    store: Arc<dyn ParameterStore>,
    prefix: String,
}

impl SsmReleaseRecords {
    pub fn new(store: Arc<dyn ParameterStore>, prefix: impl Into<String>) -> Self {
        SsmReleaseRecords { store, prefix: prefix.into() }
    }
}

#[async_trait]
impl ReleaseRecords for SsmReleaseRecords {
    async fn current(&self, environment: &str, account: &str) -> Result<Option<AccountRelease>, AwsError> {
        let name = format!("{}/accounts/{environment}/{account}/release", self.prefix);
        let found = self.store.get_many(std::slice::from_ref(&name)).await?;
        found
            .get(&name)
            .map(|text| {
                serde_json::from_str(text).map_err(|e| {
                    AwsError::new(
                        ErrorClass::InvalidRequest,
                        "GetParameters",
                        format!("{name} is not a release record"),
                    )
                    .with_source(e)
                })
            })
            .transpose()
    }
}
