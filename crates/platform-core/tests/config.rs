//! The config tree: the repository's own loads clean; each kind of mistake is named by file and key.

use platform_core::config::{self, ServiceKind, repository_config_dir};

#[path = "support/tree.rs"]
mod tree;
use tree::{Tree, copy_dir, rejects, today};

#[test]
fn the_repository_config_loads_and_matches_the_seed() {
    let tree = config::load_as_of(&repository_config_dir(), today()).expect("repository config is valid");
    let trading = tree.catalog.services.values().filter(|s| s.kind == ServiceKind::Trading).count();
    assert_eq!(trading, 20, "the platform is 20 trading services");
    for platform in ["axon-server", "frontend", "backend-services"] {
        assert_eq!(tree.catalog.services[platform].kind, ServiceKind::Platform);
    }
    let tier = |name: &str| tree.catalog.tiers.iter().find(|t| t.name == name).expect("tier").services.clone();
    assert_eq!(tier("core"), ["authentication", "authorization", "user-management"]);
    assert_eq!(tier("dependent").len(), 7);
    assert_eq!(tier("business").len(), 10);
    let dev = tree.environment("dev").expect("dev");
    assert_eq!(dev.nodegroup.instance_types, ["t3.medium"]);
    assert_eq!((dev.nodegroup.min_size, dev.nodegroup.desired_size, dev.nodegroup.max_size), (1, 2, 4));
    assert_eq!(dev.network.vpc_cidr.to_string(), "10.0.0.0/16");
    assert_eq!(dev.database.instance_class, "db.t3.medium");
    assert_eq!(tree.cluster_name("dev"), "abc-trading-dev");
    assert_eq!(tree.nodegroup_name("dev"), "abc-trading-dev-nodes");
    assert_eq!(tree.environments.len(), 3);
    // Migrations run before anything serves; then Axon Server.
    let first: Vec<&str> = tree.catalog.in_rollout_order().take(2).map(|s| s.name.as_str()).collect();
    assert_eq!(first, ["schema-migrations", "axon-server"]);
    let migrations = &tree.catalog.services["schema-migrations"];
    assert_eq!((migrations.kind, migrations.database), (ServiceKind::Job, true));
    let database: Vec<&str> = tree.catalog.services.values().filter(|s| s.database).map(|s| s.name.as_str()).collect();
    assert_eq!(database, ["backend-services", "schema-migrations"]);
    assert_eq!(tree.catalog.serving_tiers().next().map(|t| t.name.as_str()), Some("foundation"));
}

#[test]
fn min_desired_max_must_be_ordered() {
    rejects(
        "environments/dev.toml",
        "min_size = 1\ndesired_size",
        "min_size = 3\ndesired_size",
        "nodegroup.min_size",
        "min_size 3 is above desired_size 2",
    );
    rejects(
        "environments/dev.toml",
        "desired_size = 2",
        "desired_size = 5",
        "nodegroup.desired_size",
        "desired_size 5 is above max_size 4",
    );
    rejects(
        "environments/prod.toml",
        "min_size = 3\nmax_size = 16",
        "min_size = 20\nmax_size = 16",
        "scaling.min_size",
        "min_size 20 is above max_size 16",
    );
    rejects(
        "environments/dev.toml",
        "min_size = 1\nmax_size = 6",
        "min_size = 3\nmax_size = 6",
        "scaling",
        "do not contain the nodegroup's desired_size 2",
    );
}

/// GIVEN a job with something only a serving workload has, or a smoke check naming a job THEN
/// loading fails: a Job serves nothing.
#[test]
fn a_job_serves_nothing() {
    rejects(
        "services.toml",
        "image = \"abc-trading/schema-migrations\"",
        "image = \"abc-trading/schema-migrations\"\nport = 8080",
        "services.schema-migrations",
        "a job serves nothing",
    );
    rejects(
        "services.toml",
        "service = \"axon-server\"",
        "service = \"schema-migrations\"",
        "smoke_checks[1].service",
        "names job `schema-migrations`, which serves nothing",
    );
}

#[test]
fn every_service_sits_in_exactly_one_tier() {
    rejects(
        "services.toml",
        r#"services = ["authentication", "#,
        r#"services = ["audit", "authentication", "#,
        "tiers[3].services",
        "service `audit` is in tier `core` and again in tier `dependent`",
    );
    rejects(
        "services.toml",
        "[services.audit]",
        "[services.surveillance]\nimage = \"abc-trading/surveillance\"\n\n[services.audit]",
        "services.surveillance",
        "is in no tier",
    );
    rejects(
        "services.toml",
        r#"services = ["backend-services", "frontend"]"#,
        r#"services = ["backend-services", "frontend", "mobile"]"#,
        "tiers[5].services",
        "names service `mobile`, which is not defined",
    );
    rejects("services.toml", "name = \"edge\"", "name = \"core\"", "tiers[5].name", "tier `core` is defined twice");
}

#[test]
fn cidrs_must_be_valid_private_and_not_overlap() {
    rejects("environments/dev.toml", "10.0.0.0/16", "10.0.0.0/33", "network.vpc_cidr", "line");
    rejects("environments/dev.toml", "10.0.0.0/16", "10.0.0.1/16", "network.vpc_cidr", "host bits set");
    rejects("environments/dev.toml", "10.0.0.0/16", "52.0.0.0/16", "network.vpc_cidr", "not in a private");
    rejects(
        "environments/staging.toml",
        "10.1.0.0/16",
        "10.0.128.0/17",
        "network.vpc_cidr",
        "`10.0.128.0/17` overlaps `10.0.0.0/16` of environment `dev`",
    );
    rejects(
        "environments/prod.toml",
        "10.2.0.0/16",
        "10.0.0.0/8",
        "network.vpc_cidr",
        "a VPC needs a prefix between /16 and /24",
    );
}

#[test]
fn placeholders_from_the_runbook_are_rejected() {
    rejects(
        "environments/dev.toml",
        r#"domain_name = "abc-trading-dev.com""#,
        r#"domain_name = "<xxx-xxxxxxxx-dev.com>""#,
        "domain_name",
        "is a placeholder",
    );
    rejects(
        "environments/dev.toml",
        r#"instance_class = "db.t3.medium""#,
        r#"instance_class = "changeme""#,
        "database.instance_class",
        "is a placeholder (changeme)",
    );
    rejects(
        "environments/staging.toml",
        r#"instance_types = ["t3.large"]"#,
        r#"instance_types = ["txxx.large"]"#,
        "nodegroup.instance_types[0]",
        "is a placeholder (xxx)",
    );
    rejects(
        "organization.toml",
        r#"automation_role = "abc-trading-automation""#,
        r#"automation_role = "<role name>""#,
        "automation_role",
        "is a placeholder",
    );
}

#[test]
fn unknown_and_missing_keys_are_rejected() {
    rejects(
        "environments/dev.toml",
        "max_size = 4",
        "max_size = 4\ncolour = \"blue\"",
        "nodegroup.colour",
        "unknown field `colour`",
    );
    rejects(
        "environments/dev.toml",
        "[database]\n",
        "[database]\nengine = \"oracle\"\n",
        "database.engine",
        "unknown field `engine`",
    );
    rejects(
        "services.toml",
        "image = \"abc-trading/audit\"",
        "image = \"abc-trading/audit\"\nreplica = 2",
        "services.audit.replica",
        "unknown field `replica`",
    );
    rejects("environments/dev.toml", "max_size = 4\n", "\n", "nodegroup", "missing field `max_size`");
    rejects(
        "organization.toml",
        "home_region = \"us-east-1\"",
        "home_region = \"us-east-1\"\nregion = \"eu-west-1\"",
        "region",
        "unknown field `region`",
    );
}

#[test]
fn kubernetes_must_be_a_supported_eks_version() {
    rejects(
        "environments/dev.toml",
        r#"version = "1.35""#,
        r#"version = "1.28""#,
        "kubernetes.version",
        "`1.28` is not a Kubernetes version EKS supports",
    );
    rejects(
        "environments/dev.toml",
        r#"version = "1.35""#,
        r#"version = "1.33""#,
        "kubernetes.version",
        "left EKS standard support on 2026-07-29",
    );
}

#[test]
fn names_times_and_quantities_are_checked() {
    rejects(
        "environments/dev.toml",
        r#"name = "dev""#,
        r#"name = "development""#,
        "name",
        "does not match the file name `dev.toml`",
    );
    rejects(
        "environments/dev.toml",
        r#"close = "16:30""#,
        r#"close = "07:00""#,
        "trading_hours.close",
        "close 07:00 is not after open 08:00",
    );
    rejects(
        "environments/dev.toml",
        r#"time_zone = "Europe/London""#,
        r#"time_zone = "Europe/Londres""#,
        "trading_hours.time_zone",
        "",
    );
    rejects(
        "environments/dev.toml",
        r#"open = "08:00""#,
        r#"open = "8am""#,
        "trading_hours.open",
        "time `8am` is not HH:MM",
    );
    rejects(
        "environments/dev.toml",
        r#"regions = ["us-east-1", "us-west-2"]"#,
        r#"regions = ["east-us-1x", "us-west-2"]"#,
        "regions[0]",
        "`east-us-1x` is not an AWS region name",
    );
    rejects(
        "environments/dev.toml",
        r#""us-east-1c"]"#,
        r#""eu-west-1c"]"#,
        "network.availability_zones[2]",
        "not an availability zone of home region `us-east-1`",
    );
    rejects(
        "services.toml",
        r#"cpu_request = "500m", cpu_limit = "1""#,
        r#"cpu_request = "2", cpu_limit = "1""#,
        "services.axon-server.resources.cpu_request",
        "request 2 is above limit 1",
    );
    rejects(
        "services.toml",
        "image = \"abc-trading/cache\"",
        "image = \"abc-trading/cache:latest\"",
        "services.cache.image",
        "no tag",
    );
    rejects(
        "services.toml",
        "health_path = \"/\"",
        "health_path = \"health\"",
        "services.frontend.health_path",
        "must start with `/`",
    );
    rejects(
        "environments/prod.toml",
        "allocated_storage_gib = 200",
        "allocated_storage_gib = 5",
        "database.allocated_storage_gib",
        "5 GiB is outside",
    );
    rejects(
        "environments/prod.toml",
        "multi_az = true",
        "multi_az = false",
        "database.multi_az",
        "prod's database must be Multi-AZ",
    );
}

#[test]
fn every_problem_in_a_tree_is_reported_in_one_run() {
    let tree = Tree::copy();
    tree.edit("environments/dev.toml", "desired_size = 2", "desired_size = 9")
        .edit("environments/staging.toml", "10.1.0.0/16", "10.0.0.0/16")
        .edit("services.toml", "replicas = 3\n", "replicas = 0\n");
    let errors = tree.load().expect_err("three problems");
    assert!(errors.issues.len() >= 3, "{errors}");
    let text = errors.to_string();
    assert!(text.contains("environments/dev.toml: nodegroup.desired_size"), "{text}");
    assert!(text.contains("environments/staging.toml: network.vpc_cidr"), "{text}");
    assert!(text.contains("services.toml: services.api-gateway.replicas: replicas must be at least 1"), "{text}");
}

#[test]
fn a_missing_file_is_named() {
    let tree = Tree::copy();
    std::fs::remove_file(tree.path().join("services.toml")).expect("rm");
    let errors = tree.load().expect_err("no services.toml");
    assert!(
        errors.issues.iter().any(|i| i.file.ends_with("services.toml") && i.message.contains("cannot read file")),
        "{errors}"
    );
}

#[test]
fn publishing_parameters_cover_every_entity() {
    let tree = config::load_as_of(&repository_config_dir(), today()).expect("valid");
    let params = config::config_parameters(&tree);
    assert_eq!(
        params.len(),
        1 + 1 + 1 + 1 + 1 + 2 + tree.monitoring.health.len() + 24 + 3,
        "organization, tiers, remediation alarms, smoke checks, signals, paging and slo, health alarms, services, environments"
    );
    assert!(params.keys().all(|k| k.starts_with("/abc-trading/config/")));
    assert!(params.values().all(|v| v.len() <= 4096), "every parameter fits the standard tier");
    let dev: serde_json::Value = serde_json::from_str(&params["/abc-trading/config/environments/dev"]).expect("json");
    assert_eq!(dev["nodegroup"]["desired_size"], 2);
    assert_eq!(dev["trading_hours"]["open"], "08:00");
}

#[test]
fn dev_staging_and_prod_are_required() {
    let tree = Tree::copy();
    std::fs::remove_file(tree.path().join("environments/prod.toml")).expect("rm");
    let errors = tree.load().expect_err("no prod");
    assert!(
        errors
            .issues
            .iter()
            .any(|i| i.file.ends_with("environments/prod.toml") && i.message.contains("`prod` is required")),
        "{errors}"
    );
}

#[test]
fn a_placeholder_does_not_hide_the_files_other_mistakes() {
    let tree = Tree::copy();
    tree.edit("environments/dev.toml", r#"domain_name = "abc-trading-dev.com""#, r#"domain_name = "<your-domain>""#)
        .edit("environments/dev.toml", "desired_size = 2", "desired_size = 5");
    let errors = tree.load().expect_err("two problems in one file");
    let dev: Vec<&str> =
        errors.issues.iter().filter(|i| i.file.ends_with("environments/dev.toml")).map(|i| i.key.as_str()).collect();
    // The placeholder is named once (not also as an invalid domain), and desired_size still shows.
    assert_eq!(dev, ["domain_name", "nodegroup.desired_size"], "{errors}");
}

/// The remediation alarms: a name that does not say its direction, a comparison that contradicts
/// it, an unknown statistic and a bad period are each named with file and key.
#[test]
fn remediation_alarms_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&platform_core::config::repository_config_dir(), dir.path());
    std::fs::write(
        dir.path().join("remediation-alarms.toml"),
        r#"
[[alarms]]
name = "nodes-cpu"
target = "nodegroup"
namespace = "ContainerInsights"
metric = "node_cpu_utilization"
comparison = "GreaterThanThreshold"
threshold = 75.0
evaluation_periods = 3
description = "x"

[[alarms]]
name = "nodes-cpu-low"
target = "nodegroup"
namespace = "ContainerInsights"
metric = "node_cpu_utilization"
statistic = "Median"
comparison = "GreaterThanThreshold"
threshold = 20.0
evaluation_periods = 3
period_seconds = 90
description = "y"
"#,
    )
    .expect("write");
    let err = platform_core::config::load(dir.path()).expect_err("invalid alarms");
    let text = err.to_string();
    for key in ["alarms[0].name", "alarms[1].comparison", "alarms[1].statistic", "alarms[1].period_seconds"] {
        assert!(text.contains(key), "{key} in {text}");
    }
    let tree =
        platform_core::config::load(&platform_core::config::repository_config_dir()).expect("the shipped config");
    assert!(tree.alarms.iter().any(|a| a.name == "pods-pending-high"));
}

#[test]
fn dry_run_targets_must_name_groups_of_the_environment() {
    rejects(
        "environments/dev.toml",
        "dry_run = false",
        "dry_run = false\ndry_run_targets = [\"abc-trading-dev-nodes\", \"abc-trading-prod-nodes\"]",
        "scaling.dry_run_targets[1]",
        "`abc-trading-prod-nodes` is not a group of environment `dev`",
    );
    let tree = Tree::copy();
    tree.edit(
        "environments/dev.toml",
        "dry_run = false",
        "dry_run = false\ndry_run_targets = [\"abc-trading-dev-workers\"]",
    );
    let loaded = tree.load().expect("a group of the environment is a valid dry-run target");
    assert_eq!(loaded.environment("dev").expect("dev").scaling.dry_run_targets, ["abc-trading-dev-workers"]);
}

#[test]
fn smoke_checks_name_services_and_ports_that_exist() {
    let tree = config::load_as_of(&repository_config_dir(), today()).expect("valid");
    let names: Vec<&str> = tree.catalog.smoke_checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["frontend-to-backend", "backend-to-axon-server", "backend-to-database"]);
    assert_eq!(tree.catalog.smoke_checks[0].port, 8080, "the service's port when none is named");

    let dir = tempfile::tempdir().expect("tmp");
    copy_dir(&repository_config_dir(), dir.path());
    let services = dir.path().join("services.toml");
    let text = std::fs::read_to_string(&services).expect("read");
    let text = text.replace("service = \"axon-server\"\nport = 8024", "service = \"axon-server\"\nport = 9999")
        + "\n[[smoke_checks]]\nname = \"ghost\"\nservice = \"nope\"\npath = \"health\"\n";
    std::fs::write(&services, text).expect("write");
    let errors = config::load_as_of(dir.path(), today()).expect_err("invalid").to_string();
    assert!(errors.contains("service `axon-server` does not expose port 9999"), "{errors}");
    assert!(errors.contains("smoke check `ghost` names unknown service `nope`"), "{errors}");
}

#[test]
fn edge_and_backup_are_checked_against_what_aws_accepts() {
    let tree = Tree::copy().load().expect("repository config loads");
    let prod = tree.environment("prod").expect("prod");
    assert_eq!(prod.backup.copy_region.as_deref(), Some("us-west-2"));
    assert_eq!(prod.backup.schedule_expression(), "cron(0 * ? * * *)", "an RPO of an hour backs up hourly");
    assert_eq!(tree.environment("dev").expect("dev").backup.schedule_expression(), "cron(0 3 * * ? *)");
    assert!(prod.edge.waf);

    rejects(
        "environments/dev.toml",
        r#"service = "frontend""#,
        r#"service = "schema-migrations""#,
        "edge.service",
        "`schema-migrations` is a job",
    );
    rejects("environments/dev.toml", r#"service = "frontend""#, r#"service = "web""#, "edge.service", "`web` is not");
    rejects("environments/dev.toml", "node_port = 30080", "node_port = 8080", "edge.node_port", "8080 is outside");
    rejects(
        "environments/dev.toml",
        "min_certificate_days = 30",
        "min_certificate_days = 60",
        "edge.min_certificate_days",
        "ACM renews 60 days before expiry",
    );
    rejects("environments/dev.toml", "rpo_minutes = 1440", "rpo_minutes = 15", "backup.rpo_minutes", "15 is below 60");
    rejects("environments/dev.toml", "rto_minutes = 720", "rto_minutes = 0", "backup.rto_minutes", "at least 1");
    rejects(
        "environments/prod.toml",
        r#"copy_region = "us-west-2""#,
        r#"copy_region = "eu-west-1""#,
        "backup.copy_region",
        "`eu-west-1` is not one of the environment's regions (us-east-1, us-west-2)",
    );
    rejects(
        "environments/prod.toml",
        r#"copy_region = "us-west-2""#,
        r#"copy_region = "us-east-1""#,
        "backup.copy_region",
        "is the home region",
    );
    rejects(
        "environments/prod.toml",
        r#"copy_region = "us-west-2""#,
        "",
        "backup.copy_region",
        "prod's recovery points must be copied to a second region",
    );
    rejects(
        "environments/prod.toml",
        "restore_test = true",
        "restore_test = false",
        "backup.restore_test",
        "prod's backups must be restore-tested",
    );
    rejects(
        "environments/staging.toml",
        "retention_days = 14",
        "retention_days = 0",
        "backup.retention_days",
        "0 must be",
    );
}
