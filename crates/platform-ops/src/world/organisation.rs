//! The organisation as seeding sees it: its root, organisational units, accounts and their placement.

use std::collections::BTreeMap;
use std::time::Duration;

use platform_core::error::{AwsError, ClassifyExt, ErrorClass, build_error};

use super::{Outcome, SeedReport};

pub(super) struct Org {
    pub(super) client: aws_sdk_organizations::Client,
}

impl Org {
    pub(super) async fn ensure_organization(&self, report: &mut SeedReport) -> Result<String, AwsError> {
        match self.client.describe_organization().send().await.classify("DescribeOrganization") {
            Ok(out) => {
                report.record("organization", Outcome::Exists);
                Ok(out.organization.and_then(|o| o.id).unwrap_or_default())
            }
            Err(e) if e.class == ErrorClass::NotFound => {
                let out = self
                    .client
                    .create_organization()
                    .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
                    .send()
                    .await
                    .classify("CreateOrganization")?;
                report.record("organization", Outcome::Created);
                Ok(out.organization.and_then(|o| o.id).unwrap_or_default())
            }
            Err(e) => Err(e),
        }
    }

    pub(super) async fn root_id(&self) -> Result<String, AwsError> {
        let out = self.client.list_roots().send().await.classify("ListRoots")?;
        out.roots
            .unwrap_or_default()
            .into_iter()
            .find_map(|r| r.id)
            .ok_or_else(|| AwsError::new(ErrorClass::NotFound, "ListRoots", "organization has no root"))
    }

    pub(super) async fn ous(&self, parent: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let mut pages = self.client.list_organizational_units_for_parent().parent_id(parent).into_paginator().send();
        let mut out = BTreeMap::new();
        while let Some(page) = pages.next().await {
            for ou in page.classify("ListOrganizationalUnitsForParent")?.organizational_units.unwrap_or_default() {
                if let (Some(name), Some(id)) = (ou.name, ou.id) {
                    out.entry(name).or_insert(id);
                }
            }
        }
        Ok(out)
    }

    pub(super) async fn ensure_ou(&self, root: &str, name: &str, report: &mut SeedReport) -> Result<String, AwsError> {
        if let Some(id) = self.ous(root).await?.remove(name) {
            report.record(format!("ou {name}"), Outcome::Exists);
            return Ok(id);
        }
        let out = self
            .client
            .create_organizational_unit()
            .parent_id(root)
            .name(name)
            .send()
            .await
            .classify("CreateOrganizationalUnit")?;
        report.record(format!("ou {name}"), Outcome::Created);
        out.organizational_unit
            .and_then(|ou| ou.id)
            .ok_or_else(|| AwsError::new(ErrorClass::Unclassified, "CreateOrganizationalUnit", "no id returned"))
    }

    pub(super) async fn accounts(&self) -> Result<Vec<aws_sdk_organizations::types::Account>, AwsError> {
        let mut pages = self.client.list_accounts().into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            out.extend(page.classify("ListAccounts")?.accounts.unwrap_or_default());
        }
        Ok(out)
    }

    /// Organizations has no idempotency token for CreateAccount: look the email up first.
    pub(super) async fn ensure_account(
        &self,
        name: &str,
        email: &str,
        env: &str,
        report: &mut SeedReport,
    ) -> Result<String, AwsError> {
        if let Some(id) = self.accounts().await?.into_iter().find(|a| a.email() == Some(email)).and_then(|a| a.id) {
            report.record(format!("account {name} ({id})"), Outcome::Exists);
            return Ok(id);
        }
        let tag = |k: &str, v: &str| {
            aws_sdk_organizations::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| build_error("CreateAccount", e))
        };
        let out = self
            .client
            .create_account()
            .account_name(name)
            .email(email)
            .tags(tag("environment", env)?)
            .tags(tag("managed-by", "platform-ops")?)
            .send()
            .await
            .classify("CreateAccount")?;
        let mut status = out.create_account_status;
        for _ in 0..30 {
            use aws_sdk_organizations::types::CreateAccountState;
            match status.as_ref().and_then(|s| s.state.clone()) {
                Some(CreateAccountState::Succeeded) => break,
                Some(CreateAccountState::Failed) => {
                    let reason = status.and_then(|s| s.failure_reason).map(|r| r.as_str().to_string());
                    return Err(AwsError::new(
                        ErrorClass::InvalidRequest,
                        "CreateAccount",
                        format!("account {name} failed: {}", reason.unwrap_or_default()),
                    ));
                }
                _ => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let id = status.as_ref().and_then(|s| s.id.clone()).unwrap_or_default();
                    status = self
                        .client
                        .describe_create_account_status()
                        .create_account_request_id(id)
                        .send()
                        .await
                        .classify("DescribeCreateAccountStatus")?
                        .create_account_status;
                }
            }
        }
        let id = status.and_then(|s| s.account_id).ok_or_else(|| {
            AwsError::new(ErrorClass::Transient, "CreateAccount", format!("account {name} not created in time"))
        })?;
        report.record(format!("account {name} ({id})"), Outcome::Created);
        Ok(id)
    }

    pub(super) async fn parent(&self, account_id: &str) -> Result<String, AwsError> {
        let out = self.client.list_parents().child_id(account_id).send().await.classify("ListParents")?;
        out.parents
            .unwrap_or_default()
            .into_iter()
            .find_map(|p| p.id)
            .ok_or_else(|| AwsError::new(ErrorClass::NotFound, "ListParents", format!("{account_id} has no parent")))
    }

    pub(super) async fn ensure_parent(
        &self,
        account_id: &str,
        root: &str,
        ou: &str,
        report: &mut SeedReport,
    ) -> Result<(), AwsError> {
        let current = self.parent(account_id).await?;
        if current == ou {
            report.record(format!("placement {account_id} -> {ou}"), Outcome::Exists);
            return Ok(());
        }
        let source = if current.is_empty() { root.to_string() } else { current };
        self.client
            .move_account()
            .account_id(account_id)
            .source_parent_id(source)
            .destination_parent_id(ou)
            .send()
            .await
            .classify("MoveAccount")?;
        report.record(format!("placement {account_id} -> {ou}"), Outcome::Updated);
        Ok(())
    }
}
