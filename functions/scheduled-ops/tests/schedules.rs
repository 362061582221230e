//! The schedules on fakes: drift, working hours, off-hours through the scaler's guard, the inventory.

// Drift found, reported and re-applied only where the environment says so; working hours per
// environment time zone; off-hours through the scaler's guard and audit (a group another action
// holds, a resize that fails); the inventory's report.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use platform_core::capacity::{Capacity, GroupState, Groups, PastAction, Target};
use platform_core::config;
use platform_core::error::{AwsError, ErrorClass};
use platform_core::fakes::MemoryStackSets;
use platform_core::organization::AccountState;
use platform_core::stacksets::{InstanceStatus, Preferences, ResourceDrift, StackSets};

use platform_core::fakes::{MemoryGroups, MemoryGuard};
use scheduled_ops::drift::{self, DetectionState};
use scheduled_ops::off_hours::{self, OVERRIDE_TAG, Outcome, Phase, phase};
use scheduled_ops::ports::Account;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
}

fn account(id: &str, ou: &str) -> Account {
    let email = format!("acct-{id}@example.com");
    Account { id: id.into(), name: format!("acct-{id}"), email, state: AccountState::Active, ou: Some(ou.into()) }
}

#[tokio::test]
async fn drift_is_reported_and_reapplied_only_where_the_environment_says_so() {
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let sets = MemoryStackSets::new(1);
    let prefs = Preferences { failure_tolerance_count: 0, max_concurrent_count: 1 };
    let params = BTreeMap::from([("Environment".to_string(), "x".to_string())]);
    for acct in ["111111111111", "333333333333"] {
        sets.add_instances(
            "abc-trading-member-baseline",
            acct,
            &["us-east-1".into()],
            &params,
            prefs,
            &format!("c-{acct}"),
        )
        .await
        .expect("add");
    }
    let edit = vec![ResourceDrift {
        logical_id: "FlowLogGroup".into(),
        resource_type: "AWS::Logs::LogGroup".into(),
        status: "MODIFIED".into(),
        properties: vec!["/Properties/RetentionInDays".into()],
    }];
    // dev remediates drift, prod does not.
    sets.edit_by_hand("abc-trading-member-baseline", "111111111111", "us-east-1", edit.clone());
    sets.edit_by_hand("abc-trading-member-baseline", "333333333333", "us-east-1", edit);
    let accounts = [account("111111111111", "Development"), account("333333333333", "Production")];

    let detections = drift::start(&sets, &drift::stack_sets(&tree), "night-1").await.expect("start");
    assert_eq!(detections.len(), 2, "baseline and platform");
    assert_eq!(drift::status(&sets, &detections).await.expect("status").status, DetectionState::Running);
    assert_eq!(drift::status(&sets, &detections).await.expect("status").status, DetectionState::Done);
    let report = drift::report(&sets, &sets, &tree, &accounts, &detections, "night-1").await.expect("report");
    assert_eq!((report.drifted, report.remediated), (2, 1));
    let dev = report.findings.iter().find(|f| f.account == "111111111111").expect("dev");
    assert_eq!(dev.environment.as_deref(), Some("dev"));
    assert!(dev.remediation.is_some());
    assert_eq!(dev.resources[0].properties, ["/Properties/RetentionInDays"]);
    let prod = report.findings.iter().find(|f| f.account == "333333333333").expect("prod");
    assert_eq!((prod.environment.as_deref(), prod.remediation.clone()), (Some("prod"), None), "prod is only reported");
    // The re-apply kept the instance's own parameters.
    let kept = sets.overrides("abc-trading-member-baseline", "111111111111", "us-east-1").await.expect("read");
    assert_eq!(kept, Some(params));
    let metrics = drift::metrics(&report, at("2026-11-25T02:00:00Z"));
    assert_eq!(metrics[0]["DriftedInstances"], 2);

    // The next night: dev was re-applied, prod still drifted.
    let detections = drift::start(&sets, &drift::stack_sets(&tree), "night-2").await.expect("start");
    let report = drift::report(&sets, &sets, &tree, &accounts, &detections, "night-2").await.expect("report");
    assert_eq!(report.findings.iter().map(|f| f.account.as_str()).collect::<Vec<_>>(), ["333333333333"]);
}

#[test]
fn working_hours_follow_the_environments_session_and_time_zone() {
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let dev = tree.environment("dev").expect("dev");
    let hours = &dev.trading_hours; // Mon-Fri 08:00-16:30 Europe/London, awake 60 minutes before
    let p = |t: &str| phase(hours, dev.schedules.wake_minutes_before_open, at(t));
    assert_eq!(p("2026-11-25T06:59:00Z"), Phase::OffHours, "Wednesday before waking (GMT in November)");
    assert_eq!(p("2026-11-25T07:00:00Z"), Phase::Working, "an hour before the open");
    assert_eq!(p("2026-11-25T16:29:00Z"), Phase::Working);
    assert_eq!(p("2026-11-25T16:30:00Z"), Phase::OffHours, "closed");
    assert_eq!(p("2026-11-28T10:00:00Z"), Phase::OffHours, "Saturday");
    assert_eq!(p("2026-07-01T06:30:00Z"), Phase::Working, "BST: 07:30 local, awake");
}

fn group(desired: u32, tags: &[(&str, &str)]) -> GroupState {
    GroupState {
        capacity: Capacity { min: 1, desired, max: 4 },
        tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        status: platform_core::capacity::GroupStatus::Active,
    }
}

#[tokio::test]
async fn off_hours_scales_down_and_back_through_the_guard_and_its_audit() {
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let (groups, guard) = (MemoryGroups::default(), MemoryGuard::default());
    groups.set("111111111111", group(2, &[]));
    groups.set("222222222222", group(3, &[(OVERRIDE_TAG, "hold")]));
    let accounts = [
        account("111111111111", "Development"),
        account("222222222222", "Staging"),
        account("333333333333", "Development"), // vended, no platform yet
        account("444444444444", "Production"),  // no off-hours size: never touched
    ];
    let night = at("2026-11-25T19:00:00Z");
    let actions = off_hours::run(&tree, &accounts, &groups, &guard, night, "test").await;
    let outcome = |id: &str| actions.iter().find(|a| a.account == id).map(|a| a.outcome);
    assert_eq!(outcome("111111111111"), Some(Outcome::Scale));
    assert_eq!(outcome("222222222222"), Some(Outcome::Refuse), "the override tag wins");
    assert_eq!(outcome("333333333333"), Some(Outcome::Absent));
    assert_eq!(outcome("444444444444"), None);
    let (_, to, token) = groups.resizes()[0].clone();
    assert_eq!((to.min, to.desired, to.max), (0, 0, 4), "min lowered with the off-hours size");
    assert_eq!(token, "off-hours-offhours-20261125");
    let audit = guard.records();
    assert!(audit.iter().all(|r| r.alarm == off_hours::AUDIT_SOURCE), "{audit:?}");
    assert_eq!(audit.len(), 2, "the scale and the refusal are audited");

    // The same run again changes nothing.
    let again = off_hours::run(&tree, &accounts, &groups, &guard, night, "test").await;
    assert_eq!(again.iter().find(|a| a.account == "111111111111").map(|a| a.outcome), Some(Outcome::Already));
    assert_eq!(groups.resizes().len(), 1);

    // Morning: back to the configured size and floor an hour before the open.
    let actions = off_hours::run(&tree, &accounts, &groups, &guard, at("2026-11-26T07:00:00Z"), "test").await;
    assert_eq!(actions.iter().find(|a| a.account == "111111111111").map(|a| a.to), Some(2));
    let (_, to, _) = groups.resizes()[1].clone();
    assert_eq!((to.min, to.desired), (1, 2));

    // An alarm's scale-out at 20:00 is not undone at 20:15 (scale-in cooldown).
    guard
        .seeded
        .lock()
        .expect("lock")
        .push(PastAction { at: at("2026-11-26T20:00:00Z"), direction: platform_core::capacity::Direction::Out });
    let actions = off_hours::run(&tree, &accounts, &groups, &guard, at("2026-11-26T20:05:00Z"), "test").await;
    let a = actions.iter().find(|a| a.account == "111111111111").expect("dev");
    assert_eq!((a.outcome, a.guardrail.as_deref()), (Outcome::Refuse, Some("cooldown")));
}

/// The guard table's key of the dev nodegroup in account 111111111111, as off-hours locks it.
fn dev_nodegroup_key(tree: &config::ConfigTree) -> String {
    let target =
        Target::Nodegroup { cluster: tree.resource_prefix("dev"), nodegroup: tree.organization.nodegroup_name("dev") };
    target.key("111111111111")
}

/// GIVEN the dev nodegroup locked by another action (an alarm's resize) WHEN off-hours runs at
/// night THEN it refuses with the guardrail `busy`: nothing resized, nothing recorded, the other
/// owner's lock left as it was.
#[tokio::test]
async fn off_hours_leaves_a_group_another_action_holds() {
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let (groups, guard) = (MemoryGroups::default(), MemoryGuard::default());
    groups.set("111111111111", group(2, &[]));
    let night = at("2026-11-25T19:00:00Z");
    let key = dev_nodegroup_key(&tree);
    let held = ("alarm-exec-1".to_string(), night.timestamp() + 600);
    guard.locks.lock().expect("lock").insert(key.clone(), held.clone());
    let accounts = [account("111111111111", "Development")];
    let actions = off_hours::run(&tree, &accounts, &groups, &guard, night, "off-hours-run").await;
    assert_eq!(actions.len(), 1);
    let a = &actions[0];
    assert_eq!((a.outcome, a.guardrail.as_deref(), a.from, a.to), (Outcome::Refuse, Some("busy"), Some(2), 0));
    assert!(groups.resizes().is_empty(), "{:?}", groups.resizes());
    assert!(guard.records().is_empty(), "a busy group is not audited: the holder's action is");
    assert_eq!(guard.locks.lock().expect("lock").get(&key), Some(&held), "the holder keeps its lock");
}

/// Groups whose resizes are all denied (the member role lost eks:UpdateNodegroupConfig).
#[derive(Debug)]
struct Denied(MemoryGroups);

#[async_trait::async_trait]
impl Groups for Denied {
    async fn describe(&self, account: &str, target: &Target) -> Result<GroupState, AwsError> {
        self.0.describe(account, target).await
    }
    async fn resize(&self, _: &str, _: &Target, _: Capacity, _: &str) -> Result<Option<String>, AwsError> {
        Err(AwsError::new(ErrorClass::AccessDenied, "UpdateNodegroupConfig", "not authorized"))
    }
}

/// GIVEN a resize that fails WHEN off-hours runs THEN the group's outcome is `error` with the
/// reason, the lock it took is released (the next run, or an alarm, is not held off) and nothing
/// is recorded as done.
#[tokio::test]
async fn a_failed_off_hours_resize_is_an_error_that_releases_the_lock() {
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let (groups, guard) = (Denied(MemoryGroups::default()), MemoryGuard::default());
    groups.0.set("111111111111", group(2, &[]));
    let accounts = [account("111111111111", "Development")];
    let actions = off_hours::run(&tree, &accounts, &groups, &guard, at("2026-11-25T19:00:00Z"), "run-1").await;
    assert_eq!(actions.len(), 1);
    let a = &actions[0];
    assert_eq!((a.outcome, a.guardrail.as_deref()), (Outcome::Error, None));
    assert!(a.reason.contains("not authorized"), "{}", a.reason);
    assert!(guard.locks.lock().expect("lock").is_empty(), "the lock is released");
    assert!(guard.records().is_empty(), "nothing recorded");
    assert_eq!(groups.0.groups.lock().expect("lock")["111111111111"].capacity.desired, 2, "unchanged");
}

#[test]
fn the_inventory_reads_as_a_table() {
    use scheduled_ops::inventory::{AccountEntry, EnvironmentEntry, InstanceEntry, Inventory, markdown};
    let inv = Inventory {
        generated_at: at("2026-11-25T06:00:00Z"),
        environments: vec![EnvironmentEntry {
            name: "dev".into(),
            organizational_unit: "Development".into(),
            current_release: Some("2026.11.3".into()),
            accounts: 1,
        }],
        accounts: vec![AccountEntry {
            id: "111111111111".into(),
            name: "acme-dev".into(),
            state: AccountState::Active,
            ou: Some("Development".into()),
            environment: Some("dev".into()),
            baseline: vec![InstanceEntry {
                region: "us-east-1".into(),
                status: InstanceStatus::Current,
                detailed: None,
            }],
            platform: vec![],
            release: Some("2026.11.3".into()),
            nodegroup: Some(Capacity { min: 1, desired: 2, max: 4 }),
            error_budget: vec![],
            unreadable: vec!["platform instances: denied".into()],
        }],
    };
    let md = markdown(&inv);
    assert!(md.contains("| dev | Development | 2026.11.3 | 1 |"), "{md}");
    assert!(
        md.contains(
            "| acme-dev | 111111111111 | ACTIVE | Development | us-east-1 CURRENT | none | 2026.11.3 | 1/2/4 |"
        ),
        "{md}"
    );
    assert!(md.contains("- acme-dev (111111111111): platform instances: denied"), "{md}");
}
