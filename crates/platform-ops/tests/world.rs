//! World seeding against the emulator: the world the runbook describes, and seeding twice leaves it unchanged.

use chrono::NaiveDate;
use emulator::Emulator;
use platform_core::aws::AwsContext;
use platform_core::config::{self, ConfigTree, repository_config_dir};
use platform_ops::world::{self, Outcome, WorldError};

fn tree() -> ConfigTree {
    config::load_as_of(&repository_config_dir(), NaiveDate::from_ymd_opt(2026, 11, 24).expect("date")).expect("valid")
}

#[tokio::test]
async fn seeding_builds_the_dev_world_and_twice_is_the_same_world() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let ctx = AwsContext::from_config(emulator.sdk_config()).expect("region");
    let tree = tree();

    let first = world::seed(&ctx, &tree).await.expect("seed");
    assert!(first.created() > 10, "{first:?}");
    let before = world::snapshot(&ctx, &tree).await.expect("snapshot");

    let second = world::seed(&ctx, &tree).await.expect("seed again");
    assert_eq!(second.created(), 0, "nothing is created twice: {:?}", second.steps);
    assert!(second.steps.iter().all(|s| s.outcome == Outcome::Exists), "{:?}", second.steps);
    assert!(!second.config.changed(), "{}", second.config);
    let after = world::snapshot(&ctx, &tree).await.expect("snapshot again");
    assert_eq!(before, after, "seeding twice leaves the same world");

    // The world the rest of the system starts from.
    let ous: Vec<&str> = after.organizational_units.keys().map(String::as_str).collect();
    assert_eq!(ous, ["Development", "Production", "Quarantine", "Staging"]);
    assert_eq!(after.management_account_id, emulator::DEFAULT_ACCOUNT_ID);
    // The dev account, and the security account platform-ops must never touch (untagged, under
    // the root): what scenarios/forged tries to adopt.
    let names: Vec<&str> = after.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["abc-security", "abc-trading-dev"]);
    let security = &after.accounts[0];
    assert_eq!(
        (security.organizational_unit.as_str(), security.environment.as_deref()),
        (after.root_id.as_str(), None)
    );
    let dev = &after.accounts[1];
    assert_eq!(dev.organizational_unit, "Development");
    assert_eq!(dev.environment.as_deref(), Some("dev"));
    let r = dev.resources.as_ref().expect("dev resources read through the automation role");
    assert_eq!(r.cluster, "abc-trading-dev");
    assert_eq!(r.cluster_version, "1.35");
    assert_eq!(r.nodegroup, "abc-trading-dev-nodes");
    assert_eq!(r.nodegroup_scaling, [1, 2, 4]);
    assert_eq!(r.subnet_ids.len(), 3);
    assert!(r.vpc_id.starts_with("vpc-"));
    assert_eq!(r.auto_scaling_group, "abc-trading-dev-workers");
    assert_eq!(r.alarms.len(), 5, "one per alarm in config/remediation-alarms.toml");
    assert!(r.alarms.iter().all(|a| a.starts_with("abc-trading-dev-remediate-")), "{:?}", r.alarms);
    assert_eq!(r.log_groups.len(), 24, "every workload's, the migrations job's too");
    assert!(r.log_groups.contains(&"/abc-trading/dev/trade-execution".to_string()));
    assert_eq!(after.config_parameters.len(), 48, "32 before monitoring, its paging and SLOs, 14 health alarms");

    // Every member role a function of the template assumes exists in the seeded account (the
    // emulator would hand out credentials for a role no account has; AWS would not).
    let parameters = [
        ("Environment", "dev"),
        ("OrganizationId", after.organization_id.as_str()),
        ("ManagementAccountId", emulator::DEFAULT_ACCOUNT_ID),
        ("AutomationAccountId", emulator::DEFAULT_ACCOUNT_ID),
        ("ImageRegistry", emulator::DEFAULT_ACCOUNT_ID),
        ("MemberRegions", "us-east-1"),
        ("DomainName", "abc-trading-dev.com"),
    ];
    let overrides = parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let template =
        platform_ops::runtime::template::Template::load(&emulator::workspace_root().join("template.yaml"), &overrides)
            .expect("template");
    let seeded: Vec<String> =
        world::member_roles(&tree.organization.automation_role).into_iter().map(|(r, _)| r).collect();
    let admin = ctx.in_account(&ctx.sessions("OrganizationAccountAccessRole", "world-test"), &dev.id);
    let iam = admin.client::<aws_sdk_iam::Client>();
    for f in template.functions.values() {
        let Some(role) = f.environment.get("AUTOMATION_ROLE_NAME") else { continue };
        assert!(seeded.contains(role), "{} assumes {role}, which seeding does not make: {seeded:?}", f.id);
        iam.get_role().role_name(role).send().await.unwrap_or_else(|e| panic!("{role} in the dev account: {e:?}"));
    }
}

#[tokio::test]
async fn seeding_refuses_a_non_local_endpoint() {
    let tree = tree();
    for endpoint in [None, Some("https://organizations.us-east-1.amazonaws.com"), Some("http://10.0.0.5:5000")] {
        let mut builder = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"));
        if let Some(e) = endpoint {
            builder = builder.endpoint_url(e);
        }
        let ctx = AwsContext::from_config(builder.build()).expect("region");
        let err = world::seed(&ctx, &tree).await.expect_err("refused");
        assert!(matches!(err, WorldError::NotLocal(_)), "{err}");
    }
}

#[test]
fn the_emulator_resets_and_stops() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let port = emulator.port();
    emulator.reset().expect("reset");
    drop(emulator);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "stopped on drop");
}
