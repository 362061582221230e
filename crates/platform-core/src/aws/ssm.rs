//! Parameter Store adapter.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::{ParameterTier, ParameterType, Tag};

use crate::aws::Lazy;
use crate::error::{AwsError, ClassifyExt, ErrorClass};
use crate::ports::ParameterStore;

/// DeleteParameters accepts at most ten names per call.
const DELETE_BATCH: usize = 10;

#[derive(Debug, Clone)]
pub struct SsmParameterStore {
    client: Lazy<Client>,
}

impl SsmParameterStore {
    pub fn new(client: Lazy<Client>) -> Self {
        SsmParameterStore { client }
    }
}

#[async_trait]
impl ParameterStore for SsmParameterStore {
    async fn get_by_path(&self, path: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let mut pages = self
            .client
            .get_parameters_by_path()
            .path(path)
            .recursive(true)
            .with_decryption(true)
            .into_paginator()
            .send();
        let mut out = BTreeMap::new();
        while let Some(page) = pages.next().await {
            let page = page.classify("GetParametersByPath")?;
            for p in page.parameters.unwrap_or_default() {
                if let (Some(name), Some(value)) = (p.name, p.value) {
                    out.insert(name, value);
                }
            }
        }
        Ok(out)
    }

    async fn get_many(&self, names: &[String]) -> Result<BTreeMap<String, String>, AwsError> {
        let mut out = BTreeMap::new();
        // GetParameters takes at most 10 names per call.
        for chunk in names.chunks(10) {
            let page = self
                .client
                .get_parameters()
                .set_names(Some(chunk.to_vec()))
                .with_decryption(true)
                .send()
                .await
                .classify("GetParameters")?;
            for p in page.parameters.unwrap_or_default() {
                if let (Some(name), Some(value)) = (p.name, p.value) {
                    out.insert(name, value);
                }
            }
        }
        Ok(out)
    }

    async fn put(&self, name: &str, value: &str, overwrite: bool) -> Result<(), AwsError> {
        // Intelligent-Tiering picks Standard up to 4 KiB and Advanced above, and never tries to
        // downgrade a parameter that is already Advanced (which SSM refuses).
        let tier = ParameterTier::IntelligentTiering;
        let mut request = self
            .client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(ParameterType::String)
            .tier(tier)
            .overwrite(overwrite);
        // SSM refuses tags together with Overwrite; a new parameter is tagged when created.
        if !overwrite {
            let tag = Tag::builder()
                .key("managed-by")
                .value("platform-ops")
                .build()
                .map_err(|e| AwsError::new(ErrorClass::InvalidRequest, "PutParameter", e.to_string()))?;
            request = request.tags(tag);
        }
        request.send().await.classify("PutParameter")?;
        Ok(())
    }

    async fn delete(&self, names: &[String]) -> Result<(), AwsError> {
        for batch in names.chunks(DELETE_BATCH) {
            self.client
                .delete_parameters()
                .set_names(Some(batch.to_vec()))
                .send()
                .await
                .classify("DeleteParameters")?;
        }
        Ok(())
    }
}
