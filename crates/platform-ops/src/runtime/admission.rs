//! EventBridge's side of a put from another account: the bus's resource policy, applied as EventBridge applies it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::template::{self, Template};

/// Where an event stopped before any target saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Stop {
    /// The bus's resource policy does not let the sender put it.
    Bus,
    /// The bus took it, but no rule's pattern (its `account` filter, say) matches it.
    Rule,
}

/// An event that reached no target, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub at: Stop,
    pub bus: String,
    pub sender: String,
    pub detail_type: String,
    pub reason: String,
}

/// What the sending account is, as the policy's condition keys see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account: String,
    /// The organisation the account belongs to, if any (`aws:PrincipalOrgID`).
    pub organization_id: Option<String>,
}

/// Whether `principal` may put `event` on `bus`. The bus owner's own puts are governed by its
/// identity policies, not the bus policy; another account's need a statement that allows them,
/// and none that denies them.
pub fn admit(template: &Template, bus: &str, event: &Value, principal: &Principal) -> Result<(), String> {
    if principal.account == template::ACCOUNT {
        return Ok(());
    }
    let statements = template.bus_statements(bus);
    if statements.is_empty() {
        return Err(format!(
            "bus `{bus}` has no resource policy: only its own account ({}) may put on it",
            template::ACCOUNT
        ));
    }
    let policy = json!({"Version": "2012-10-17", "Statement": statements});
    let field = |name: &str| event.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
    // EventBridge authorises a cross-account put as the sending account (a rule forwarding from
    // it, or any principal there); the events' source and detail-type are its condition keys.
    let caller = iam_policy::Principal::from_arn(&format!("arn:aws:iam::{}:root", principal.account))
        .map_err(|e| format!("sender `{}` is not an account: {e}", principal.account))?;
    let mut request = iam_policy::Request::new(caller, "events:PutEvents", template.bus_arn(bus))
        .with_context("events:source", field("source"))
        .with_context("events:detail-type", field("detail-type"));
    if let Some(org) = &principal.organization_id {
        request = request.with_context("aws:PrincipalOrgID", org.clone());
    }
    let decision = iam_policy::evaluate_documents(&[policy], &request)
        .map_err(|e| format!("the policy of bus `{bus}` cannot be read: {e}"))?;
    match decision {
        iam_policy::Decision::Allow(_) => Ok(()),
        iam_policy::Decision::ExplicitDeny(sid) => Err(format!(
            "the policy of bus `{bus}` denies {} from account {} (statement {})",
            field("detail-type"),
            principal.account,
            sid.as_deref().unwrap_or("without a Sid")
        )),
        iam_policy::Decision::ImplicitDeny => Err(format!(
            "no statement of bus `{bus}`'s policy lets account {} put `{}` from `{}`",
            principal.account,
            field("detail-type"),
            field("source")
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    const ORG: &str = "o-abcdefghij";
    const MANAGEMENT: &str = "111111111111";
    const MEMBER: &str = "222233334444";

    fn project_template() -> Template {
        let parameters = [
            ("Environment", "dev"),
            ("OrganizationId", ORG),
            ("ManagementAccountId", MANAGEMENT),
            ("AutomationAccountId", template::ACCOUNT),
            ("ImageRegistry", template::ACCOUNT),
            ("MemberRegions", "us-east-1"),
            ("DomainName", "abc-trading-dev.com"),
        ];
        let overrides: BTreeMap<String, String> =
            parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Template::load(&emulator::workspace_root().join("template.yaml"), &overrides).expect("template.yaml loads")
    }

    fn put(t: &Template, account: &str, org: Option<&str>, source: &str, detail_type: &str) -> Result<(), String> {
        let event = json!({"source": source, "detail-type": detail_type, "account": account, "detail": {}});
        let principal = Principal { account: account.to_string(), organization_id: org.map(str::to_string) };
        admit(t, "abc-trading-dev", &event, &principal)
    }

    /// The platform bus's policy, per sender, as docs/security.md's table states it.
    #[test]
    fn the_platform_bus_admits_each_sender_only_its_own_events() {
        let t = project_template();
        let alarm = ("aws.cloudwatch", "CloudWatch Alarm State Change");
        let created = ("aws.organizations", "AWS Service Event via CloudTrail");
        let requested = ("abc.platform", "AccountRequested");
        let release = ("abc.platform", "ReleaseRequested");
        assert_eq!(put(&t, MEMBER, Some(ORG), alarm.0, alarm.1), Ok(()));
        for (source, detail_type) in [requested, release, created, ("abc.platform", "FailureSignatureDetected")] {
            let refused = put(&t, MEMBER, Some(ORG), source, detail_type).expect_err("a member sends alarms only");
            assert!(refused.contains(MEMBER) && refused.contains(detail_type), "{refused}");
        }
        assert!(put(&t, MEMBER, None, alarm.0, alarm.1).is_err(), "an account outside the organisation");
        assert!(put(&t, MEMBER, Some("o-someoneelse"), alarm.0, alarm.1).is_err(), "another organisation");
        assert_eq!(put(&t, MANAGEMENT, Some(ORG), created.0, created.1), Ok(()));
        assert!(put(&t, MANAGEMENT, Some(ORG), requested.0, requested.1).is_err(), "not requests from management");
        // The bus owner's own puts are its identity policies' business, not the bus policy's.
        assert_eq!(put(&t, template::ACCOUNT, Some(ORG), requested.0, requested.1), Ok(()));
    }

    #[test]
    fn a_bus_without_a_policy_takes_only_its_own_accounts_events() {
        let t = project_template();
        let event = json!({"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change"});
        let member = Principal { account: MEMBER.into(), organization_id: Some(ORG.into()) };
        let refused = admit(&t, "default", &event, &member).expect_err("no policy on the default bus");
        assert!(refused.contains("has no resource policy"), "{refused}");
    }
}
