//! The one Organizations adapter: vending's directory and the schedules' member listing, one account type.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_organizations::types::{CreateAccountState, CreateAccountStatus, Tag};

use super::{Account, AccountDirectory, AccountState, Creation, MemberDirectory};
use crate::error::{AwsError, ClassifyExt, ErrorClass};

fn missing(operation: &'static str, what: &str) -> AwsError {
    AwsError::new(ErrorClass::Unclassified, operation, format!("the response has no {what}"))
}

/// AWS Organizations, from the management account (through a role that may do what its caller needs).
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
        state: a
            .state()
            .map(account_state)
            .or_else(|| a.status().map(account_status))
            .unwrap_or_else(|| AccountState::from("UNKNOWN")),
        ou: None,
    })
}

// The SDK's enums are non-exhaustive: a value it does not know passes through as its string.

fn account_state(s: &aws_sdk_organizations::types::AccountState) -> AccountState {
    use aws_sdk_organizations::types::AccountState as Sdk;
    match s {
        Sdk::PendingActivation => AccountState::PendingActivation,
        Sdk::Active => AccountState::Active,
        Sdk::Suspended => AccountState::Suspended,
        Sdk::PendingClosure => AccountState::PendingClosure,
        Sdk::Closed => AccountState::Closed,
        other => AccountState::from(other.as_str()),
    }
}

fn account_status(s: &aws_sdk_organizations::types::AccountStatus) -> AccountState {
    use aws_sdk_organizations::types::AccountStatus as Sdk;
    match s {
        Sdk::Active => AccountState::Active,
        Sdk::Suspended => AccountState::Suspended,
        Sdk::PendingClosure => AccountState::PendingClosure,
        other => AccountState::from(other.as_str()),
    }
}

impl Organizations {
    /// The id of the first CreateAccount request in `state` that `matches`, over every page.
    async fn creation_request(
        &self,
        state: CreateAccountState,
        matches: impl Fn(&CreateAccountStatus) -> bool,
    ) -> Result<Option<String>, AwsError> {
        let mut pages = self.client.list_create_account_status().states(state).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.classify("ListCreateAccountStatus")?;
            if let Some(s) = page.create_account_statuses().iter().find(|s| matches(s)) {
                return Ok(s.id().map(str::to_string));
            }
        }
        Ok(None)
    }
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
        // CreateAccount has no idempotency token: an SDK retry after a lost answer would ask for
        // a second account. A failed call goes back to the state machine, whose retry looks for
        // the account (by e-mail, then in-progress requests) before asking again.
        let once = aws_sdk_organizations::config::Builder::default()
            .retry_config(aws_sdk_organizations::config::retry::RetryConfig::disabled());
        let out = self
            .client
            .create_account()
            .account_name(name)
            .email(email)
            .set_tags(Some(tags))
            .customize()
            .config_override(once)
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
        self.creation_request(CreateAccountState::InProgress, |s| s.account_name() == Some(name)).await
    }

    async fn created_by(&self, account: &str) -> Result<Option<String>, AwsError> {
        self.creation_request(CreateAccountState::Succeeded, |s| s.account_id() == Some(account)).await
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

#[async_trait]
impl MemberDirectory for Organizations {
    async fn members(&self) -> Result<Vec<Account>, AwsError> {
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
            out.push(Account { ou, ..account_of(&a, "ListAccounts")? });
        }
        out.sort_by(|x, y| x.id.cmp(&y.id));
        Ok(out)
    }
}
