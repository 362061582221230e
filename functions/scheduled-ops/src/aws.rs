//! Adapters: the organisation's accounts (Organizations, from the management account) and the
//! report bucket (S3).

use std::collections::BTreeMap;

use async_trait::async_trait;
use platform_core::error::{AwsError, ClassifyExt};

use crate::ports::{Directory, MemberAccount, ReportStore};

/// Organizations through the management account's role.
#[derive(Debug, Clone)]
pub struct Organizations {
    client: aws_sdk_organizations::Client,
}

impl Organizations {
    pub fn new(client: aws_sdk_organizations::Client) -> Self {
        Organizations { client }
    }
}

#[async_trait]
impl Directory for Organizations {
    async fn accounts(&self) -> Result<Vec<MemberAccount>, AwsError> {
        let management = self
            .client
            .describe_organization()
            .send()
            .await
            .classify("DescribeOrganization")?
            .organization()
            .and_then(|o| o.master_account_id().map(str::to_string));
        let mut pages = self.client.list_accounts().into_paginator().send();
        let mut accounts = Vec::new();
        while let Some(page) = pages.next().await {
            accounts.extend(page.classify("ListAccounts")?.accounts().to_vec());
        }
        // OU names by id: one DescribeOrganizationalUnit per OU, however many accounts share it.
        let mut ou_names: BTreeMap<String, String> = BTreeMap::new();
        let mut out = Vec::new();
        for a in accounts {
            let id = a.id().unwrap_or_default().to_string();
            if Some(&id) == management.as_ref() {
                continue;
            }
            let parents = self.client.list_parents().child_id(&id).send().await.classify("ListParents")?;
            let parent = parents.parents().first().cloned();
            let ou = match parent {
                Some(p) if p.r#type().map(|t| t.as_str()) == Some("ORGANIZATIONAL_UNIT") => {
                    let ou_id = p.id().unwrap_or_default().to_string();
                    if !ou_names.contains_key(&ou_id) {
                        let name = self
                            .client
                            .describe_organizational_unit()
                            .organizational_unit_id(&ou_id)
                            .send()
                            .await
                            .classify("DescribeOrganizationalUnit")?
                            .organizational_unit()
                            .and_then(|o| o.name().map(str::to_string))
                            .unwrap_or_default();
                        ou_names.insert(ou_id.clone(), name);
                    }
                    ou_names.get(&ou_id).cloned()
                }
                _ => None,
            };
            out.push(MemberAccount {
                id,
                name: a.name().unwrap_or_default().to_string(),
                // `State` replaced `Status` (retired September 2026).
                state: a.state().map(|s| s.as_str().to_string()).unwrap_or_else(|| "UNKNOWN".into()),
                ou,
            });
        }
        out.sort_by(|x, y| x.id.cmp(&y.id));
        Ok(out)
    }
}

/// The report bucket.
#[derive(Debug, Clone)]
pub struct S3Reports {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Reports {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3Reports { client, bucket: bucket.into() }
    }
}

#[async_trait]
impl ReportStore for S3Reports {
    async fn put(&self, key: &str, body: &str, content_type: &str) -> Result<(), AwsError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(aws_sdk_s3::primitives::ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await
            .classify("PutObject")?;
        Ok(())
    }
}
