//! `platform-ops account` and `deploy`: the events that start vending and deploys, and where an account stands.

use std::collections::BTreeMap;

use account_vending::request::AccountRequest;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use platform_core::config::ConfigTree;
use platform_core::error::{AwsError, ClassifyExt};
use serde::Serialize;
use serde_json::{Value, json};

/// The `abc.platform` AccountRequested event for a request (validated against the config first,
/// so a mistake is named here rather than in a failed execution).
pub fn request_event(request: &AccountRequest, tree: &ConfigTree) -> Result<Value, String> {
    request.validate(&tree.environments).map_err(|e| e.to_string())?;
    Ok(json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "AccountRequested",
        "source": tree.organization.event_source,
        "account": "",
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": tree.organization.home_region,
        "resources": [],
        "detail": request,
    }))
}

/// Puts an event (AccountRequested, ReleaseRequested) on the platform bus (real AWS); returns
/// the event id.
pub async fn put_event(sdk: &SdkConfig, bus: &str, event: &Value) -> Result<String, AwsError> {
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(event["source"].as_str().unwrap_or_default())
        .detail_type(event["detail-type"].as_str().unwrap_or_default())
        .detail(event["detail"].to_string())
        .build();
    let out = aws_sdk_eventbridge::Client::new(sdk).put_events().entries(entry).send().await.classify("PutEvents")?;
    let first = out.entries().first();
    match first.and_then(|e| e.error_code()) {
        Some(code) => Err(AwsError::new(
            platform_core::ErrorClass::InvalidRequest,
            "PutEvents",
            format!("{code}: {}", first.and_then(|e| e.error_message()).unwrap_or_default()),
        )),
        None => Ok(first.and_then(|e| e.event_id()).unwrap_or_default().to_string()),
    }
}

/// Where an account stands: Organizations, its vending's claim, its published facts.
#[derive(Debug, Serialize)]
pub struct AccountStatus {
    pub id: String,
    pub name: String,
    pub email: String,
    pub state: String,
    /// The OU's name, `None` at the root.
    pub ou: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub vending: Option<Vending>,
    pub facts: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct Vending {
    pub id: String,
    /// `running`, `done`, `failed` (from the claim the state machine keeps).
    pub status: String,
    pub failed_step: Option<String>,
    pub execution: Option<String>,
    /// The execution's own status, when Step Functions holds it (real AWS).
    pub execution_status: Option<String>,
}

/// The status of the account with this id or name; `None` when the organisation has none.
pub async fn status(
    sdk: &SdkConfig,
    tree: &ConfigTree,
    guard_table: &str,
    key: &str,
    describe_execution: bool,
) -> Result<Option<AccountStatus>, AwsError> {
    let org = aws_sdk_organizations::Client::new(sdk);
    let mut pages = org.list_accounts().into_paginator().send();
    let mut found = None;
    while let Some(page) = pages.next().await {
        let page = page.classify("ListAccounts")?;
        if let Some(a) = page.accounts().iter().find(|a| a.id() == Some(key) || a.name() == Some(key)) {
            found = Some(a.clone());
            break;
        }
    }
    let Some(account) = found else { return Ok(None) };
    let id = account.id().unwrap_or_default().to_string();
    let parent = org.list_parents().child_id(&id).send().await.classify("ListParents")?;
    let ou = match parent.parents().first() {
        Some(p) if p.r#type().map(|t| t.as_str()) == Some("ORGANIZATIONAL_UNIT") => org
            .describe_organizational_unit()
            .organizational_unit_id(p.id().unwrap_or_default())
            .send()
            .await
            .classify("DescribeOrganizationalUnit")?
            .organizational_unit()
            .and_then(|o| o.name())
            .map(str::to_string),
        _ => None,
    };
    let tags: BTreeMap<String, String> = org
        .list_tags_for_resource()
        .resource_id(&id)
        .send()
        .await
        .classify("ListTagsForResource")?
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let email = account.email().unwrap_or_default().to_string();
    let name = account.name().unwrap_or_default().to_string();
    let mut vending = None;
    let mut facts = BTreeMap::new();
    if let Some(request) = AccountRequest::from_tags(&name, &email, &tags) {
        let vending_id = request.vending_id();
        let item = aws_sdk_dynamodb::Client::new(sdk)
            .get_item()
            .table_name(guard_table)
            .key("pk", AttributeValue::S(format!("vending#{vending_id}")))
            .key("sk", AttributeValue::S("claim".into()))
            .consistent_read(true)
            .send()
            .await
            .classify("GetItem")?;
        if let Some(item) = item.item() {
            let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
            let execution = text("execution_id");
            let execution_status = match (&execution, describe_execution) {
                (Some(arn), true) => Some(
                    aws_sdk_sfn::Client::new(sdk)
                        .describe_execution()
                        .execution_arn(arn)
                        .send()
                        .await
                        .classify("DescribeExecution")?
                        .status()
                        .as_str()
                        .to_string(),
                ),
                _ => None,
            };
            vending = Some(Vending {
                id: vending_id,
                status: text("status").unwrap_or_else(|| "unknown".into()),
                failed_step: text("failed_step"),
                execution,
                execution_status,
            });
        }
        let root = format!("{}/accounts/{}/{id}", tree.organization.parameter_prefix, request.environment);
        use platform_core::ports::ParameterStore;
        let store = platform_core::aws::SsmParameterStore::new(aws_sdk_ssm::Client::new(sdk).into());
        facts = store
            .get_by_path(&root)
            .await?
            .into_iter()
            .map(|(k, v)| (k.strip_prefix(&format!("{root}/")).unwrap_or(&k).to_string(), v))
            .collect();
    }
    Ok(Some(AccountStatus {
        id,
        name,
        email,
        // `State` replaced `Status` (retired in September 2026); the emulator still sends `Status`.
        state: account
            .state()
            .map(|s| s.as_str().to_string())
            .or_else(|| account.status().map(|s| s.as_str().to_string()))
            .unwrap_or_default(),
        ou,
        tags,
        vending,
        facts,
    }))
}

impl std::fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "account {} {} <{}> {} in {}",
            self.name,
            self.id,
            self.email,
            self.state,
            self.ou.as_deref().unwrap_or("the root")
        )?;
        let tags: Vec<String> = self.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(f, "  tags     {}", if tags.is_empty() { "none".into() } else { tags.join(" ") })?;
        match &self.vending {
            Some(v) => {
                write!(f, "  vending  {}: {}", v.id, v.status)?;
                if let Some(step) = &v.failed_step {
                    write!(f, " at step {step}")?;
                }
                if let Some(s) = &v.execution_status {
                    write!(f, " (execution {s})")?;
                }
                writeln!(f)?;
            }
            None => writeln!(f, "  vending  none on record (not vended by platform-ops)")?,
        }
        writeln!(f, "  facts    {}", self.facts.len())?;
        for (k, v) in &self.facts {
            writeln!(f, "    {k:<28} {v}")?;
        }
        Ok(())
    }
}

/// The `abc.platform` ReleaseRequested event for a deploy (the release checked against the config
/// first, so a bad one is named here rather than in a failed execution).
pub fn release_event(
    tree: &ConfigTree,
    environment: &str,
    account: Option<&str>,
    release: &str,
    versions: &BTreeMap<String, String>,
) -> Result<Value, String> {
    if tree.environment(environment).is_none() {
        return Err(format!("environment `{environment}` is not in config/"));
    }
    let mut plan = platform_deploy::release::Release::uniform(release);
    plan.versions.extend(versions.clone());
    plan.resolve(&tree.catalog).map_err(|e| e.to_string())?;
    let mut detail = json!({"environment": environment, "release": release, "versions": versions});
    // No account: every vended account of the environment, one after the other.
    if let Some(a) = account {
        detail["accountId"] = json!(a);
    }
    Ok(json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "ReleaseRequested",
        "source": tree.organization.event_source,
        "account": "",
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": tree.organization.home_region,
        "resources": [],
        "detail": detail,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_event_names_its_account_or_goes_to_the_whole_environment() {
        let tree = platform_core::config::load(&platform_core::config::repository_config_dir()).expect("config");
        let none = BTreeMap::new();
        let one = release_event(&tree, "dev", Some("222233334444"), "2026.11.3", &none).expect("event");
        assert_eq!(one["detail"]["accountId"], "222233334444");
        assert_eq!(one["detail-type"], "ReleaseRequested");
        let all = release_event(&tree, "dev", None, "2026.11.3", &none).expect("event");
        assert!(all["detail"].get("accountId").is_none(), "{all}");
        // What the deploy's first state reads: the detail as the rule's InputPath passes it.
        let parsed: platform_deploy::handler::ReleaseRequested =
            serde_json::from_value(all["detail"].clone()).expect("the deploy reads it");
        assert_eq!(parsed.account_id, None);
        assert!(release_event(&tree, "nowhere", None, "2026.11.3", &none).is_err());
        assert!(release_event(&tree, "dev", None, "latest", &none).is_err());
    }
}
