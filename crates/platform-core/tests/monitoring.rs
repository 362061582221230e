//! Health alarms, SLOs and paging in the config tree (`monitoring.toml`), and the alarm names they make: each mistake named by key, each name routed.

use std::path::Path;

use chrono::NaiveDate;
use platform_core::config::{self, AlarmSeverity, ConfigErrors, ConfigTree, PageProvider, repository_config_dir};
use platform_core::monitoring::{account_alarms, member_alarms, route};

fn load(dir: &Path) -> Result<ConfigTree, ConfigErrors> {
    config::load_as_of(dir, NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"))
}

fn repository() -> ConfigTree {
    load(&repository_config_dir()).expect("valid")
}

/// The repository's config with `from` replaced by `to` in monitoring.toml.
fn edited(from: &str, to: &str) -> Result<ConfigTree, ConfigErrors> {
    let dir = tempfile::tempdir().expect("tempdir");
    for file in
        ["organization.toml", "services.toml", "remediation-alarms.toml", "log-signatures.toml", "monitoring.toml"]
    {
        std::fs::copy(repository_config_dir().join(file), dir.path().join(file)).expect("copy");
    }
    std::fs::create_dir_all(dir.path().join("environments")).expect("mkdir");
    for env in ["dev", "staging", "prod"] {
        let file = format!("environments/{env}.toml");
        std::fs::copy(repository_config_dir().join(&file), dir.path().join(&file)).expect("copy");
    }
    let path = dir.path().join("monitoring.toml");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "monitoring.toml has no `{from}`");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    load(dir.path())
}

fn rejected(from: &str, to: &str, key: &str, message: &str) {
    let errors = edited(from, to).expect_err("broken config must not load");
    let hit = errors
        .issues
        .iter()
        .find(|i| i.file.ends_with("monitoring.toml") && i.key == key && i.message.contains(message));
    assert!(hit.is_some(), "expected {key}: …{message}…, got:\n{errors}");
}

#[test]
fn the_repository_watches_every_source_and_tier() {
    let tree = repository();
    let m = &tree.monitoring;
    assert_eq!(m.paging.provider, PageProvider::Pagerduty);
    assert!(m.health.iter().all(|h| h.severity.is_some() && h.runbook.is_some()), "every alarm is routed");
    assert_eq!(m.slo.objectives.len(), tree.catalog.serving_tiers().count(), "an objective per serving tier");
    assert!(m.slo.objectives.iter().all(|o| o.tier != "migrations"), "a tier of jobs serves nothing");
    let fast = m.slo.burn.iter().find(|b| b.name == "fast").expect("fast burn");
    assert_eq!((fast.factor, fast.long_minutes, fast.short_minutes, fast.severity), (14.4, 60, 5, AlarmSeverity::Page));
    let slow = m.slo.burn.iter().find(|b| b.name == "slow").expect("slow burn");
    assert_eq!(
        (slow.factor, slow.long_minutes, slow.short_minutes, slow.severity),
        (6.0, 360, 30, AlarmSeverity::Ticket)
    );
}

#[test]
fn an_alarm_without_severity_or_runbook_is_refused() {
    rejected(
        "severity = \"ticket\"\nrunbook = \"alarm-rds-cpu-high\"",
        "runbook = \"alarm-rds-cpu-high\"",
        "health[0].severity",
        "health alarm `rds-cpu-high` has no severity (page or ticket)",
    );
    rejected(
        "runbook = \"alarm-rds-cpu-high\"\n",
        "",
        "health[0].runbook",
        "health alarm `rds-cpu-high` has no runbook anchor",
    );
    rejected(
        "runbook = \"alarm-rds-cpu-high\"",
        "runbook = \"#Alarm\"",
        "health[0].runbook",
        "`#Alarm` is not an anchor",
    );
}

#[test]
fn a_ticket_system_on_call_cannot_use_is_refused() {
    rejected(
        "tickets = \"ops-items\"",
        "tickets = \"incident-manager\"",
        "paging.tickets",
        "incident-manager is not supported yet",
    );
}

#[test]
fn alarm_shapes_cloudwatch_would_refuse_are_refused() {
    rejected(
        "threshold = 80.0\nevaluation_periods = 3",
        "threshold = 80.0\nevaluation_periods = 0",
        "health[0].evaluation_periods",
        "at least 1",
    );
    rejected(
        "metric = \"CPUUtilization\"\n",
        "metric = \"CPUUtilization\"\nstatistic = \"Median\"\n",
        "health[0].statistic",
        "`Median`",
    );
    rejected(
        "source = \"rds\"\nmetric = \"CPUUtilization\"",
        "source = \"rds\"\nper = \"tier\"\nmetric = \"CPUUtilization\"",
        "health[0].per",
        "per = \"tier\"",
    );
    rejected("name = \"rds-free-storage-low\"", "name = \"rds-cpu-high\"", "health[1].name", "defined twice");
}

#[test]
fn objectives_and_burn_windows_are_checked() {
    rejected("tier = \"edge\"", "tier = \"gateway\"", "slo.objectives[4].tier", "`gateway` is not a tier");
    rejected("tier = \"edge\"", "tier = \"gateway\"", "slo.objectives", "tier `edge` has no objective");
    rejected("tier = \"edge\"", "tier = \"migrations\"", "slo.objectives[4].tier", "runs jobs only and has no SLO");
    rejected("availability = 99.5", "availability = 100.0", "slo.objectives[4].availability", "below 100");
    rejected("factor = 14.4", "factor = 1.0", "slo.burn[0].factor", "must be above 1");
    rejected("short_minutes = 5", "short_minutes = 60", "slo.burn[0].short_minutes", "below long_minutes");
    rejected("long_minutes = 360", "long_minutes = 2880", "slo.burn[1].long_minutes", "not a CloudWatch period");
}

#[test]
fn member_alarms_expand_per_tier_and_route_back() {
    let tree = repository();
    let alarms = member_alarms(&tree);
    // A tier of Jobs has no pods that stay: no per-tier alarm for it.
    let tiers = tree.catalog.serving_tiers().count();
    assert_eq!(tiers, tree.catalog.tiers.len() - 1);
    let member_entries = tree.monitoring.health.iter().filter(|h| h.source.in_member()).count();
    assert_eq!(alarms.len(), member_entries - 1 + tiers, "pod-restarts once per tier");
    assert!(alarms.iter().any(|a| a.suffix == "health-pod-restarts-business"));
    for a in &alarms {
        let name = format!("abc-trading-dev-{}", a.suffix);
        let r = route(&tree, "dev", &name).unwrap_or_else(|| panic!("{name} routes"));
        assert_eq!((r.severity, r.account.as_deref()), (a.alarm.severity.expect("severity"), None), "{name}");
        assert_eq!(Some(r.runbook), a.alarm.runbook.clone());
    }
    // Another environment's alarm, a tier that does not exist, the remediation alarms: not ours.
    assert!(route(&tree, "dev", "abc-trading-prod-health-rds-cpu-high").is_none());
    assert!(route(&tree, "dev", "abc-trading-dev-health-pod-restarts-gateway").is_none());
    assert!(route(&tree, "dev", "abc-trading-dev-remediate-nodes-cpu-high").is_none());
    // A member alarm name never carries an account, and a monitoring-account one always does.
    assert!(route(&tree, "dev", "abc-trading-dev-222233334444-health-rds-cpu-high").is_none());
    assert!(route(&tree, "dev", "abc-trading-dev-health-errors-audit").is_none());
}

#[test]
fn account_alarms_are_ratios_with_burn_pairs() {
    let tree = repository();
    let account = "222233334444";
    let alarms = account_alarms(&tree, "dev", account);
    let services = tree.catalog.serving().count();
    let tiers = tree.catalog.serving_tiers().count();
    assert!(alarms.iter().all(|a| !a.name.contains("schema-migrations") && !a.name.contains("migrations")));
    assert_eq!(
        alarms.len(),
        services + tiers * 2 * 2 * 2,
        "errors per service; per tier 2 indicators x 2 burns x 2 windows"
    );
    let errors = alarms.iter().find(|a| a.name == "abc-trading-dev-222233334444-health-errors-audit").expect("errors");
    assert_eq!(errors.expression, "100 * bad / total");
    assert!(errors.metrics.iter().all(|m| m.dimensions.contains(&("Account".into(), account.into()))));
    let fast = alarms
        .iter()
        .find(|a| a.name == "abc-trading-dev-222233334444-slo-business-availability-fast-short")
        .expect("fast short window");
    assert_eq!((fast.period_seconds, fast.threshold, fast.severity), (300, 14.4, AlarmSeverity::Page));
    // 99.9% leaves 0.1% of events as the budget: the burn rate is the bad share over it.
    let budget: f64 = fast.expression.rsplit(' ').next().expect("divisor").parse().expect("number");
    assert!((budget - 0.001).abs() < 1e-9, "{}", fast.expression);
    let slow_long = alarms.iter().find(|a| a.name.ends_with("-slo-edge-latency-slow-long")).expect("slow long");
    assert_eq!((slow_long.period_seconds, slow_long.severity), (21_600, AlarmSeverity::Ticket));
    for a in &alarms {
        let r = route(&tree, "dev", &a.name).unwrap_or_else(|| panic!("{} routes", a.name));
        assert_eq!((r.account.as_deref(), r.severity), (Some(account), a.severity));
        if a.name.contains("-slo-") {
            let partner = r.partner.expect("a burn window has a partner");
            assert!(alarms.iter().any(|b| b.name == partner), "{partner} exists");
        }
    }
}
