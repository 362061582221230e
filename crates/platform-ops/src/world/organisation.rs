//! The organisation as seeding sees it: its root, organisational units, accounts and their placement.

use std::collections::BTreeMap;
use std::time::Duration;

use platform_core::aws::AwsContext;
use platform_core::error::{AwsError, ClassifyExt, ErrorClass};
use platform_core::organization::{AccountDirectory, Creation, Organizations};

use super::{Outcome, SeedReport};

/// What only seeding does (create the organisation and its OUs) on the SDK client; what vending
/// and the schedules do too (find, create, place and list accounts) through their adapter.
pub(super) struct Org {
    pub(super) client: aws_sdk_organizations::Client,
    pub(super) directory: Organizations,
}

impl Org {
    pub(super) fn new(ctx: &AwsContext) -> Self {
        Org { client: ctx.client(), directory: Organizations::new(ctx.client()) }
    }

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

    /// Organizations has no idempotency token for CreateAccount: look the email up first.
    pub(super) async fn ensure_account(
        &self,
        name: &str,
        email: &str,
        tags: &BTreeMap<String, String>,
        report: &mut SeedReport,
    ) -> Result<String, AwsError> {
        if let Some(account) = self.directory.find_by_email(email).await? {
            report.record(format!("account {name} ({})", account.id), Outcome::Exists);
            return Ok(account.id);
        }
        let request = self.directory.create_account(name, email, tags).await?;
        for _ in 0..30 {
            match self.directory.creation(&request).await? {
                Creation::Succeeded { account_id } => {
                    report.record(format!("account {name} ({account_id})"), Outcome::Created);
                    return Ok(account_id);
                }
                Creation::Failed { reason } => {
                    return Err(AwsError::new(
                        ErrorClass::InvalidRequest,
                        "CreateAccount",
                        format!("account {name} failed: {reason}"),
                    ));
                }
                Creation::InProgress => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
        Err(AwsError::new(ErrorClass::Transient, "CreateAccount", format!("account {name} not created in time")))
    }

    pub(super) async fn ensure_parent(
        &self,
        account_id: &str,
        root: &str,
        ou: &str,
        report: &mut SeedReport,
    ) -> Result<(), AwsError> {
        let current = self.directory.parent(account_id).await?;
        if current == ou {
            report.record(format!("placement {account_id} -> {ou}"), Outcome::Exists);
            return Ok(());
        }
        let source = if current.is_empty() { root.to_string() } else { current };
        self.directory.move_account(account_id, &source, ou).await?;
        report.record(format!("placement {account_id} -> {ou}"), Outcome::Updated);
        Ok(())
    }
}
