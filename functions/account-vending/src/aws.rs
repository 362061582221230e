//! Adapters: Organizations, the baseline StackSet (CloudFormation), member Parameter Store through the role.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_organizations::types::Tag;
use platform_core::aws::MemberClients;
use platform_core::error::{AwsError, ClassifyExt, ErrorClass};

use crate::ports::{Account, AccountDirectory, Creation, MemberParameters};

fn missing(operation: &'static str, what: &str) -> AwsError {
    AwsError::new(ErrorClass::Unclassified, operation, format!("the response has no {what}"))
}

/// AWS Organizations.
#[derive(Debug, Clone)]
pub struct Organizations {
    client: aws_sdk_organizations::Client,
}

impl Organizations {
    pub fn new(client: aws_sdk_organizations::Client) -> Self {
        Organizations { client }
    }
}

fn account_of(a: &aws_sdk_organizations::types::Account, operation: &'static str) -> Result<Account, AwsError> {
    Ok(Account {
        id: a.id().ok_or_else(|| missing(operation, "account id"))?.to_string(),
        name: a.name().unwrap_or_default().to_string(),
        email: a.email().unwrap_or_default().to_string(),
        // `State` replaced `Status` (retired on 9 September 2026); an older endpoint (the
        // emulator) may still send only `Status`.
        status: a
            .state()
            .map(|s| s.as_str().to_string())
            .or_else(|| a.status().map(|s| s.as_str().to_string()))
            .unwrap_or_else(|| "UNKNOWN".into()),
    })
}

#[async_trait]
impl AccountDirectory for Organizations {
    async fn find_by_email(&self, email: &str) -> Result<Option<Account>, AwsError> {
        let mut pages = self.client.list_accounts().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.classify("ListAccounts")?;
            // E-mail addresses are matched as Organizations treats them: case-insensitively.
            if let Some(a) = page.accounts().iter().find(|a| a.email().is_some_and(|e| e.eq_ignore_ascii_case(email))) {
                return account_of(a, "ListAccounts").map(Some);
            }
        }
        Ok(None)
    }

    async fn account(&self, id: &str) -> Result<Account, AwsError> {
        let out = self.client.describe_account().account_id(id).send().await.classify("DescribeAccount")?;
        account_of(out.account().ok_or_else(|| missing("DescribeAccount", "account"))?, "DescribeAccount")
    }

    async fn create_account(
        &self,
        name: &str,
        email: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let tags = org_tags(tags)?;
        let out = self
            .client
            .create_account()
            .account_name(name)
            .email(email)
            .set_tags(Some(tags))
            .send()
            .await
            .classify("CreateAccount")?;
        let status = out.create_account_status().ok_or_else(|| missing("CreateAccount", "status"))?;
        Ok(status.id().ok_or_else(|| missing("CreateAccount", "request id"))?.to_string())
    }

    async fn creation(&self, request_id: &str) -> Result<Creation, AwsError> {
        let out = self
            .client
            .describe_create_account_status()
            .create_account_request_id(request_id)
            .send()
            .await
            .classify("DescribeCreateAccountStatus")?;
        let status = out.create_account_status().ok_or_else(|| missing("DescribeCreateAccountStatus", "status"))?;
        Ok(match status.state().map(|s| s.as_str()) {
            Some("SUCCEEDED") => Creation::Succeeded {
                account_id: status
                    .account_id()
                    .ok_or_else(|| missing("DescribeCreateAccountStatus", "account id"))?
                    .to_string(),
            },
            Some("FAILED") => Creation::Failed {
                reason: status.failure_reason().map(|r| r.as_str().to_string()).unwrap_or_else(|| "UNKNOWN".into()),
            },
            _ => Creation::InProgress,
        })
    }

    async fn creation_in_progress(&self, name: &str) -> Result<Option<String>, AwsError> {
        let mut pages = self
            .client
            .list_create_account_status()
            .states(aws_sdk_organizations::types::CreateAccountState::InProgress)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.classify("ListCreateAccountStatus")?;
            if let Some(s) = page.create_account_statuses().iter().find(|s| s.account_name() == Some(name)) {
                return Ok(s.id().map(str::to_string));
            }
        }
        Ok(None)
    }

    async fn ou_id(&self, name: &str) -> Result<Option<String>, AwsError> {
        let roots = self.client.list_roots().send().await.classify("ListRoots")?;
        let root = roots.roots().first().and_then(|r| r.id()).ok_or_else(|| missing("ListRoots", "root"))?;
        let mut pages = self.client.list_organizational_units_for_parent().parent_id(root).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.classify("ListOrganizationalUnitsForParent")?;
            if let Some(ou) = page.organizational_units().iter().find(|ou| ou.name() == Some(name)) {
                return Ok(ou.id().map(str::to_string));
            }
        }
        Ok(None)
    }

    async fn parent(&self, account: &str) -> Result<String, AwsError> {
        let out = self.client.list_parents().child_id(account).send().await.classify("ListParents")?;
        Ok(out.parents().first().and_then(|p| p.id()).ok_or_else(|| missing("ListParents", "parent"))?.to_string())
    }

    async fn move_account(&self, account: &str, from: &str, to: &str) -> Result<(), AwsError> {
        self.client
            .move_account()
            .account_id(account)
            .source_parent_id(from)
            .destination_parent_id(to)
            .send()
            .await
            .classify("MoveAccount")?;
        Ok(())
    }

    async fn tags(&self, account: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let mut out = BTreeMap::new();
        let mut pages = self.client.list_tags_for_resource().resource_id(account).into_paginator().send();
        while let Some(page) = pages.next().await {
            for t in page.classify("ListTagsForResource")?.tags() {
                out.insert(t.key().to_string(), t.value().to_string());
            }
        }
        Ok(out)
    }

    async fn untag(&self, account: &str, keys: &[String]) -> Result<(), AwsError> {
        self.untag_keys(account, keys).await
    }

    async fn tag(&self, account: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        self.client
            .tag_resource()
            .resource_id(account)
            .set_tags(Some(org_tags(tags)?))
            .send()
            .await
            .classify("TagResource")?;
        Ok(())
    }
}

impl Organizations {
    async fn untag_keys(&self, account: &str, keys: &[String]) -> Result<(), AwsError> {
        self.client
            .untag_resource()
            .resource_id(account)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .classify("UntagResource")?;
        Ok(())
    }
}

fn org_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| AwsError::new(ErrorClass::InvalidRequest, "TagResource", format!("tag `{k}`: {e}")))
        })
        .collect()
}

pub use platform_core::aws::CloudFormationStackSets;

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

/// The vending ledger in the guard table (`pk`, `sk`): `vending#<id>`/`claim` items, and one
/// `vending#slots`/`slots` item holding the slots as a map of vending id to lease, versioned.
#[derive(Debug, Clone)]
pub struct GuardLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl GuardLedger {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        GuardLedger { client, table: table.into() }
    }

    /// The slots and the version they were read at (0 when the item does not exist yet).
    async fn slots(&self) -> Result<(BTreeMap<String, String>, i64), AwsError> {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", A::S("vending#slots".into()))
            .key("sk", A::S("slots".into()))
            .consistent_read(true)
            .send()
            .await
            .classify("GetItem")?;
        let Some(item) = out.item() else { return Ok((BTreeMap::new(), 0)) };
        let version = item.get("version").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0);
        let holders = item
            .get("holders")
            .and_then(|v| v.as_m().ok())
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone()))).collect())
            .unwrap_or_default();
        Ok((holders, version))
    }

    /// Writes the slots if nobody wrote since `version`; false when someone did.
    async fn put_slots(&self, holders: &BTreeMap<String, String>, version: i64) -> Result<bool, AwsError> {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let map = holders.iter().map(|(k, v)| (k.clone(), A::S(v.clone()))).collect();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", A::S("vending#slots".into()))
            .item("sk", A::S("slots".into()))
            .item("holders", A::M(map))
            .item("version", A::N((version + 1).to_string()))
            .condition_expression("attribute_not_exists(pk) OR version = :v")
            .expression_attribute_values(":v", A::N(version.to_string()))
            .send()
            .await
            .classify("PutItem");
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.class == ErrorClass::ConditionFailed => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Optimistic writes of the slots item race other vendings; this many tries, then `Taken`/error.
const SLOT_WRITE_TRIES: usize = 5;

fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    // One fixed format, so leases compare as strings in conditions as they do as times here.
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[async_trait]
impl crate::ports::VendingLedger for GuardLedger {
    async fn claim(
        &self,
        vending: &str,
        execution: &str,
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::ports::Claim, AwsError> {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", A::S(format!("vending#{vending}")))
            .key("sk", A::S("claim".into()))
            .update_expression("SET #status = :running, execution_id = :execution, started_at = :now, lease_until = :lease REMOVE failed_step")
            .condition_expression(
                "attribute_not_exists(pk) OR #status = :failed OR execution_id = :execution OR lease_until < :now",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":running", A::S("running".into()))
            .expression_attribute_values(":failed", A::S("failed".into()))
            .expression_attribute_values(":execution", A::S(execution.into()))
            .expression_attribute_values(":now", A::S(stamp(now)))
            .expression_attribute_values(":lease", A::S(stamp(lease_until)))
            .send()
            .await
            .classify("UpdateItem");
        match result {
            Ok(_) => Ok(crate::ports::Claim::Won),
            Err(e) if e.class == ErrorClass::ConditionFailed => Ok(crate::ports::Claim::Taken),
            Err(e) => Err(e),
        }
    }

    async fn finish(&self, vending: &str, execution: &str, finish: &crate::ports::Finish) -> Result<(), AwsError> {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", A::S(format!("vending#{vending}")))
            .key("sk", A::S("claim".into()))
            .condition_expression("execution_id = :execution")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":execution", A::S(execution.into()))
            .expression_attribute_values(":now", A::S(stamp(chrono::Utc::now())));
        let request = match finish {
            crate::ports::Finish::Done { account_id } => request
                .update_expression("SET #status = :done, account_id = :account, finished_at = :now")
                .expression_attribute_values(":done", A::S("done".into()))
                .expression_attribute_values(":account", A::S(account_id.clone())),
            crate::ports::Finish::Failed { step } => request
                .update_expression("SET #status = :failed, failed_step = :step, finished_at = :now")
                .expression_attribute_values(":failed", A::S("failed".into()))
                .expression_attribute_values(":step", A::S(step.clone())),
        };
        match request.send().await.classify("UpdateItem") {
            Ok(_) => Ok(()),
            // Another execution took the claim over (this one's lease ran out): its to finish.
            Err(e) if e.class == ErrorClass::ConditionFailed => {
                tracing::warn!(vending, execution, "the claim is no longer this execution's: not finishing it");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn acquire_slot(
        &self,
        vending: &str,
        max: u32,
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::ports::Claim, AwsError> {
        for _ in 0..SLOT_WRITE_TRIES {
            let (holders, version) = self.slots().await?;
            let now = stamp(now);
            let mut live: BTreeMap<String, String> = holders.into_iter().filter(|(_, lease)| *lease >= now).collect();
            if !live.contains_key(vending) && live.len() >= max as usize {
                return Ok(crate::ports::Claim::Taken);
            }
            live.insert(vending.to_string(), stamp(lease_until));
            if self.put_slots(&live, version).await? {
                return Ok(crate::ports::Claim::Won);
            }
        }
        Ok(crate::ports::Claim::Taken)
    }

    async fn release_slot(&self, vending: &str) -> Result<(), AwsError> {
        for _ in 0..SLOT_WRITE_TRIES {
            let (mut holders, version) = self.slots().await?;
            if holders.remove(vending).is_none() {
                return Ok(());
            }
            if self.put_slots(&holders, version).await? {
                return Ok(());
            }
        }
        Err(AwsError::new(
            ErrorClass::ConcurrentModification,
            "PutItem",
            format!("the slots changed under every one of {SLOT_WRITE_TRIES} tries to release {vending}"),
        ))
    }
}
