//! The rules the config tree must satisfy; each problem names its file and key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::{
    Environment, Issues, Organization, RawServicesFile, RemediationAlarm, Resources, Service, ServiceCatalog,
    SmokeCheck,
};

/// EKS Kubernetes versions and the last day of their standard support. Versions past it cost
/// extended-support fees and are auto-upgraded later, so new config may not name them.
pub const SUPPORTED_KUBERNETES_VERSIONS: &[(&str, (i32, u32, u32))] =
    &[("1.33", (2026, 7, 29)), ("1.34", (2026, 12, 2)), ("1.35", (2027, 3, 27))];

/// The text of a value that still holds a template placeholder, if it does.
pub fn find_placeholder(value: &str) -> Option<&'static str> {
    let lower = value.to_ascii_lowercase();
    if let Some(open) = value.find('<')
        && value[open..].contains('>')
    {
        return Some("<...>");
    }
    ["xxx", "changeme", "change-me", "replace-me", "replace_me", "your-", "todo"]
        .into_iter()
        .find(|marker| lower.contains(marker))
}

pub(crate) fn placeholders(file: &Path, table: &toml::Table, issues: &mut Issues) {
    fn walk(file: &Path, key: &str, value: &toml::Value, issues: &mut Issues) {
        match value {
            toml::Value::String(s) => {
                if let Some(marker) = find_placeholder(s) {
                    issues.placeholder(file, key, format!("`{s}` is a placeholder ({marker}), not a value"));
                }
            }
            toml::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(file, &format!("{key}[{i}]"), item, issues);
                }
            }
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let path = if key.is_empty() { k.clone() } else { format!("{key}.{k}") };
                    walk(file, &path, v, issues);
                }
            }
            _ => {}
        }
    }
    for (k, v) in table {
        walk(file, k, v, issues);
    }
}

pub(crate) fn organization(file: &Path, org: &Organization, issues: &mut Issues) {
    let v = &org.vending;
    if v.max_in_flight == 0 {
        issues.push(file, "vending.max_in_flight", "max_in_flight must be at least 1");
    }
    if v.max_concurrent_count == 0 {
        issues.push(file, "vending.max_concurrent_count", "max_concurrent_count must be at least 1");
    }
    if v.failure_tolerance_count >= v.max_concurrent_count.max(1) {
        // StackSets refuses a tolerance that is not below the concurrency.
        issues.push(
            file,
            "vending.failure_tolerance_count",
            format!(
                "failure_tolerance_count {} must be below max_concurrent_count {}",
                v.failure_tolerance_count, v.max_concurrent_count
            ),
        );
    }
    for (key, name) in [
        ("vending.baseline_stack_set", &v.baseline_stack_set),
        ("deploy.platform_stack_set", &org.deploy.platform_stack_set),
    ] {
        if !name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            || name.len() > 128
        {
            issues.push(
                file,
                key,
                format!("`{name}` is not a StackSet name (a letter, then letters, digits and hyphens)"),
            );
        }
    }
    if v.baseline_stack_set == org.deploy.platform_stack_set {
        issues.push(
            file,
            "deploy.platform_stack_set",
            format!("`{}` is the baseline's StackSet too: the platform needs its own", v.baseline_stack_set),
        );
    }
    if !is_dns_label(&org.name_prefix) {
        issues.push(file, "name_prefix", format!("`{}` is not a lowercase DNS label", org.name_prefix));
    }
    if !org.parameter_prefix.starts_with('/') || org.parameter_prefix.ends_with('/') {
        issues.push(
            file,
            "parameter_prefix",
            format!("`{}` must start with `/` and not end with one", org.parameter_prefix),
        );
    }
    if !is_region(&org.home_region) {
        issues.push(file, "home_region", format!("`{}` is not an AWS region name", org.home_region));
    }
    if org.automation_role.is_empty()
        || org.automation_role.len() > 64
        || !org.automation_role.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
    {
        issues.push(file, "automation_role", format!("`{}` is not a valid IAM role name", org.automation_role));
    }
    for (key, value) in [
        ("event_source", &org.event_source),
        ("quarantine_ou", &org.quarantine_ou),
        ("remediation.alarm_name_prefix", &org.remediation.alarm_name_prefix),
        ("remediation.alarm_name_marker", &org.remediation.alarm_name_marker),
        ("remediation.tag_key", &org.remediation.tag_key),
    ] {
        if value.trim().is_empty() {
            issues.push(file, key, "must not be empty");
        }
    }
}

/// Resolves `services.toml` (defaults applied) and checks every service sits in exactly one tier.
pub(crate) fn catalog(file: &Path, raw: RawServicesFile, issues: &mut Issues) -> Option<ServiceCatalog> {
    let before = issues.0.len();
    check_resources(file, "defaults.resources", &raw.defaults.resources, issues);

    let mut tier_of: BTreeMap<&str, &str> = BTreeMap::new();
    let mut tier_names = BTreeSet::new();
    for (i, tier) in raw.tiers.iter().enumerate() {
        let key = format!("tiers[{i}]");
        if !tier_names.insert(tier.name.as_str()) {
            issues.push(file, format!("{key}.name"), format!("tier `{}` is defined twice", tier.name));
        }
        if tier.services.is_empty() {
            issues.push(file, format!("{key}.services"), format!("tier `{}` has no services", tier.name));
        }
        for name in &tier.services {
            if let Some(first) = tier_of.insert(name, &tier.name) {
                issues.push(
                    file,
                    format!("{key}.services"),
                    format!("service `{name}` is in tier `{first}` and again in tier `{}`", tier.name),
                );
            }
            if !raw.services.contains_key(name) {
                issues.push(
                    file,
                    format!("{key}.services"),
                    format!("tier `{}` names service `{name}`, which is not defined under [services]", tier.name),
                );
            }
        }
    }

    let mut services = BTreeMap::new();
    for (name, svc) in raw.services {
        let key = format!("services.{name}");
        if !is_dns_label(&name) {
            issues.push(file, &key, format!("`{name}` is not a valid Kubernetes service name (DNS-1035 label)"));
        }
        let Some(tier) = tier_of.get(name.as_str()) else {
            issues.push(file, &key, format!("service `{name}` is in no tier"));
            continue;
        };
        let port = svc.port.unwrap_or(raw.defaults.port);
        if port == 0 {
            issues.push(file, format!("{key}.port"), "port 0 is not a valid port");
        }
        if svc.grpc_port.is_some_and(|g| g == port || g == 0) {
            issues.push(
                file,
                format!("{key}.grpc_port"),
                format!("grpc_port must be non-zero and differ from port {port}"),
            );
        }
        let health_path = svc.health_path.unwrap_or_else(|| raw.defaults.health_path.clone());
        if !health_path.starts_with('/') {
            issues.push(file, format!("{key}.health_path"), format!("`{health_path}` must start with `/`"));
        }
        let replicas = svc.replicas.unwrap_or(raw.defaults.replicas);
        if replicas == 0 {
            issues.push(file, format!("{key}.replicas"), "replicas must be at least 1");
        }
        if !is_ecr_repository(&svc.image) {
            issues.push(
                file,
                format!("{key}.image"),
                format!(
                    "`{}` is not an ECR repository name (lowercase path, no tag: tags come from the release)",
                    svc.image
                ),
            );
        }
        let resources = match svc.resources {
            Some(r) => {
                check_resources(file, &format!("{key}.resources"), &r, issues);
                r
            }
            None => raw.defaults.resources.clone(),
        };
        services.insert(
            name.clone(),
            Service {
                name,
                tier: (*tier).to_string(),
                kind: svc.kind,
                image: svc.image,
                port,
                grpc_port: svc.grpc_port,
                health_path,
                replicas,
                resources,
            },
        );
    }
    let mut smoke_checks = Vec::new();
    let mut check_names = BTreeSet::new();
    for (i, c) in raw.smoke_checks.into_iter().enumerate() {
        let key = format!("smoke_checks[{i}]");
        if !check_names.insert(c.name.clone()) {
            issues.push(file, format!("{key}.name"), format!("smoke check `{}` is defined twice", c.name));
        }
        if !c.path.starts_with('/') {
            issues.push(file, format!("{key}.path"), format!("`{}` must start with `/`", c.path));
        }
        let Some(svc) = services.get(&c.service) else {
            issues.push(
                file,
                format!("{key}.service"),
                format!("smoke check `{}` names unknown service `{}`", c.name, c.service),
            );
            continue;
        };
        let port = c.port.unwrap_or(svc.port);
        if port != svc.port && Some(port) != svc.grpc_port {
            issues.push(
                file,
                format!("{key}.port"),
                format!("service `{}` does not expose port {port} (it has {})", c.service, svc.port),
            );
        }
        smoke_checks.push(SmokeCheck { name: c.name, service: c.service, port, path: c.path });
    }
    (issues.0.len() == before).then_some(ServiceCatalog { tiers: raw.tiers, services, smoke_checks })
}

fn check_resources(file: &Path, key: &str, r: &Resources, issues: &mut Issues) {
    let cpu = |field: &str, v: &str, issues: &mut Issues| {
        let parsed = parse_cpu_millis(v);
        if parsed.is_none() {
            issues.push(file, format!("{key}.{field}"), format!("`{v}` is not a CPU quantity (like `250m` or `1`)"));
        }
        parsed
    };
    let mem = |field: &str, v: &str, issues: &mut Issues| {
        let parsed = parse_memory_bytes(v);
        if parsed.is_none() {
            issues.push(
                file,
                format!("{key}.{field}"),
                format!("`{v}` is not a memory quantity (like `512Mi` or `1Gi`)"),
            );
        }
        parsed
    };
    if let (Some(req), Some(lim)) = (cpu("cpu_request", &r.cpu_request, issues), cpu("cpu_limit", &r.cpu_limit, issues))
        && req > lim
    {
        issues.push(
            file,
            format!("{key}.cpu_request"),
            format!("request {} is above limit {}", r.cpu_request, r.cpu_limit),
        );
    }
    if let (Some(req), Some(lim)) =
        (mem("memory_request", &r.memory_request, issues), mem("memory_limit", &r.memory_limit, issues))
        && req > lim
    {
        issues.push(
            file,
            format!("{key}.memory_request"),
            format!("request {} is above limit {}", r.memory_request, r.memory_limit),
        );
    }
}

/// `250m` -> 250, `1` -> 1000, `1.5` -> 1500.
fn parse_cpu_millis(v: &str) -> Option<u64> {
    if let Some(m) = v.strip_suffix('m') {
        return m.parse::<u64>().ok().filter(|n| *n > 0);
    }
    let cores: f64 = v.parse().ok()?;
    (cores.is_finite() && cores > 0.0).then(|| (cores * 1000.0).round() as u64)
}

/// `512Mi` -> bytes; binary suffixes only, as the platform's manifests use.
fn parse_memory_bytes(v: &str) -> Option<u64> {
    let (digits, factor) = [("Ki", 1u64 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40)]
        .into_iter()
        .find_map(|(suffix, f)| v.strip_suffix(suffix).map(|d| (d, f)))?;
    digits.parse::<u64>().ok().filter(|n| *n > 0).and_then(|n| n.checked_mul(factor))
}

pub(crate) fn environment(file: &Path, env: &Environment, today: NaiveDate, issues: &mut Issues) {
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    if env.name != stem {
        issues.push(file, "name", format!("`{}` does not match the file name `{stem}.toml`", env.name));
    }
    if !is_dns_label(&env.name) {
        issues.push(file, "name", format!("`{}` is not a lowercase DNS label", env.name));
    }
    if env.organizational_unit.trim().is_empty() {
        issues.push(file, "organizational_unit", "must not be empty");
    }
    if let Some(size) = env.schedules.off_hours_desired {
        if env.name == "prod" {
            issues.push(file, "schedules.off_hours_desired", "off-hours scaling is for non-production environments");
        }
        if size > env.nodegroup.desired_size {
            issues.push(
                file,
                "schedules.off_hours_desired",
                format!("{size} is above the working-hours size {}", env.nodegroup.desired_size),
            );
        }
    }
    if env.schedules.wake_minutes_before_open > 12 * 60 {
        issues.push(file, "schedules.wake_minutes_before_open", "must be at most 720 (12 hours)");
    }
    if env.regions.is_empty() {
        issues.push(file, "regions", "at least one region is required (the first is the home region)");
    }
    let mut seen = BTreeSet::new();
    for (i, region) in env.regions.iter().enumerate() {
        if !is_region(region) {
            issues.push(file, format!("regions[{i}]"), format!("`{region}` is not an AWS region name"));
        }
        if !seen.insert(region) {
            issues.push(file, format!("regions[{i}]"), format!("region `{region}` is listed twice"));
        }
    }
    if !is_domain_name(&env.domain_name) {
        issues.push(file, "domain_name", format!("`{}` is not a valid DNS domain name", env.domain_name));
    }

    let cidr = env.network.vpc_cidr;
    if cidr.prefix_len() < 16 || cidr.prefix_len() > 24 {
        issues.push(file, "network.vpc_cidr", format!("`{cidr}`: a VPC needs a prefix between /16 and /24"));
    }
    if cidr.network() != cidr.addr() {
        issues.push(file, "network.vpc_cidr", format!("`{cidr}` has host bits set (did you mean `{}`?)", cidr.trunc()));
    }
    if !cidr.addr().is_private() {
        issues.push(file, "network.vpc_cidr", format!("`{cidr}` is not in a private (RFC 1918) range"));
    }
    let azs = &env.network.availability_zones;
    if azs.len() < 2 {
        issues.push(file, "network.availability_zones", "EKS needs subnets in at least two availability zones");
    }
    let mut seen = BTreeSet::new();
    for (i, az) in azs.iter().enumerate() {
        let in_home = az
            .strip_prefix(env.primary_region())
            .is_some_and(|rest| rest.len() == 1 && rest.chars().all(|c| c.is_ascii_lowercase()));
        if !in_home {
            issues.push(
                file,
                format!("network.availability_zones[{i}]"),
                format!("`{az}` is not an availability zone of home region `{}`", env.primary_region()),
            );
        }
        if !seen.insert(az) {
            issues.push(file, format!("network.availability_zones[{i}]"), format!("`{az}` is listed twice"));
        }
    }

    match SUPPORTED_KUBERNETES_VERSIONS.iter().find(|(v, _)| *v == env.kubernetes.version) {
        None => issues.push(
            file,
            "kubernetes.version",
            format!(
                "`{}` is not a Kubernetes version EKS supports (known: {})",
                env.kubernetes.version,
                SUPPORTED_KUBERNETES_VERSIONS.iter().map(|(v, _)| *v).collect::<Vec<_>>().join(", ")
            ),
        ),
        Some((v, (y, m, d))) => {
            let end = NaiveDate::from_ymd_opt(*y, *m, *d);
            if end.is_some_and(|end| end < today) {
                issues.push(
                    file,
                    "kubernetes.version",
                    format!("`{v}` left EKS standard support on {y:04}-{m:02}-{d:02}; pick a newer version"),
                );
            }
        }
    }

    let ng = &env.nodegroup;
    if ng.instance_types.is_empty() {
        issues.push(file, "nodegroup.instance_types", "at least one instance type is required");
    }
    for (i, t) in ng.instance_types.iter().enumerate() {
        if !is_instance_type(t) {
            issues.push(file, format!("nodegroup.instance_types[{i}]"), format!("`{t}` is not an EC2 instance type"));
        }
    }
    check_min_desired_max(file, "nodegroup", ng.min_size, ng.desired_size, ng.max_size, issues);
    if ng.max_size == 0 {
        issues.push(file, "nodegroup.max_size", "max_size must be at least 1");
    }

    let db = &env.database;
    if !db.instance_class.starts_with("db.") || !is_instance_type(&db.instance_class[3.min(db.instance_class.len())..])
    {
        issues.push(
            file,
            "database.instance_class",
            format!("`{}` is not an RDS instance class (db.<type>)", db.instance_class),
        );
    }
    // The trading platform's production database survives the loss of an AZ.
    if env.name == "prod" && !db.multi_az {
        issues.push(file, "database.multi_az", "prod's database must be Multi-AZ");
    }
    if !(20..=65536).contains(&db.allocated_storage_gib) {
        issues.push(
            file,
            "database.allocated_storage_gib",
            format!("{} GiB is outside what RDS PostgreSQL allows (20..=65536)", db.allocated_storage_gib),
        );
    }

    let s = &env.scaling;
    if s.min_size > s.max_size {
        issues.push(file, "scaling.min_size", format!("min_size {} is above max_size {}", s.min_size, s.max_size));
    } else if !(s.min_size..=s.max_size).contains(&ng.desired_size) {
        issues.push(
            file,
            "scaling",
            format!(
                "bounds {}..={} do not contain the nodegroup's desired_size {}",
                s.min_size, s.max_size, ng.desired_size
            ),
        );
    }
    if s.max_step == 0 {
        issues.push(file, "scaling.max_step", "max_step must be at least 1");
    }
    if s.step == 0 {
        issues.push(file, "scaling.step", "step must be at least 1");
    }
    if let Some(p) = s.step_percent
        && !(1..=100).contains(&p)
    {
        issues.push(file, "scaling.step_percent", format!("step_percent {p} must be between 1 and 100"));
    }
    if s.flap_limit == 0 {
        issues.push(file, "scaling.flap_limit", "flap_limit must be at least 1");
    }
    if s.flap_window_seconds == 0 {
        issues.push(file, "scaling.flap_window_seconds", "flap_window_seconds must be above 0");
    }

    let th = &env.trading_hours;
    if th.open >= th.close {
        issues.push(
            file,
            "trading_hours.close",
            format!("close {} is not after open {}", th.close.format("%H:%M"), th.open.format("%H:%M")),
        );
    }
    if th.days.is_empty() {
        issues.push(file, "trading_hours.days", "at least one trading day is required");
    }
    let unique: BTreeSet<_> = th.days.iter().map(|d| d.num_days_from_monday()).collect();
    if unique.len() != th.days.len() {
        issues.push(file, "trading_hours.days", "a day is listed twice");
    }
}

fn check_min_desired_max(file: &Path, key: &str, min: u32, desired: u32, max: u32, issues: &mut Issues) {
    if min > desired {
        issues.push(file, format!("{key}.min_size"), format!("min_size {min} is above desired_size {desired}"));
    }
    if desired > max {
        issues.push(file, format!("{key}.desired_size"), format!("desired_size {desired} is above max_size {max}"));
    }
}

/// Rules that only make sense across environments: networks may be peered, names must differ.
pub(crate) fn across_environments(
    envs: &BTreeMap<String, Environment>,
    files: &BTreeMap<String, PathBuf>,
    issues: &mut Issues,
) {
    let list: Vec<&Environment> = envs.values().collect();
    for (i, a) in list.iter().enumerate() {
        for b in &list[i + 1..] {
            let (na, nb) = (a.network.vpc_cidr, b.network.vpc_cidr);
            if na.contains(&nb.network()) || nb.contains(&na.network()) {
                issues.push(
                    &files[&b.name],
                    "network.vpc_cidr",
                    format!("`{nb}` overlaps `{na}` of environment `{}`", a.name),
                );
            }
            if a.domain_name == b.domain_name {
                issues.push(
                    &files[&b.name],
                    "domain_name",
                    format!("`{}` is also the domain of environment `{}`", b.domain_name, a.name),
                );
            }
        }
    }
}

/// Dry run for single groups only means something if the names are groups of the environment.
pub(crate) fn dry_run_targets(file: &Path, org: &Organization, env: &Environment, issues: &mut Issues) {
    let known = [org.nodegroup_name(&env.name), org.workers_group_name(&env.name)];
    for (i, target) in env.scaling.dry_run_targets.iter().enumerate() {
        if !known.contains(target) {
            issues.push(
                file,
                format!("scaling.dry_run_targets[{i}]"),
                format!(
                    "`{target}` is not a group of environment `{}` (it has {} and {})",
                    env.name, known[0], known[1]
                ),
            );
        }
    }
}

fn is_dns_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !s.is_empty()
        && s.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_domain_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').count() >= 2
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-5`.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    (3..=4).contains(&parts.len())
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

/// `t3.medium`, `m6i.xlarge`, `r6g.2xlarge`: family with a generation digit, then a size.
fn is_instance_type(s: &str) -> bool {
    let Some((family, size)) = s.split_once('.') else { return false };
    family.len() >= 2
        && family.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && family.bytes().any(|b| b.is_ascii_digit())
        && family.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !size.is_empty()
        && size.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// ECR repository names: lowercase path components, no tag or digest.
fn is_ecr_repository(s: &str) -> bool {
    s.len() >= 2
        && s.len() <= 256
        && s.split('/').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && part.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && part.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
        })
}

/// Alarm names say which way they scale, and the comparison must agree; periods CloudWatch accepts.
pub(crate) fn remediation_alarms(file: &Path, alarms: &[RemediationAlarm], issues: &mut Issues) {
    const COMPARISONS: &[&str] =
        &["GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"];
    const STATISTICS: &[&str] = &["Average", "Maximum", "Minimum", "Sum", "SampleCount"];
    let mut names = std::collections::BTreeSet::new();
    if alarms.is_empty() {
        issues.push(file, "alarms", "at least one remediation alarm is needed");
    }
    for (i, a) in alarms.iter().enumerate() {
        let key = |field: &str| format!("alarms[{i}].{field}");
        if !names.insert(a.name.as_str()) {
            issues.push(file, key("name"), format!("alarm `{}` is defined twice", a.name));
        }
        let up = a.name.ends_with("-high");
        let down = a.name.ends_with("-low");
        if !up && !down {
            issues.push(file, key("name"), format!("`{}` must end in -high (scale out) or -low (scale in)", a.name));
        }
        if !COMPARISONS.contains(&a.comparison.as_str()) {
            issues.push(
                file,
                key("comparison"),
                format!("`{}` is not one of {}", a.comparison, COMPARISONS.join(", ")),
            );
        } else if (up && a.comparison.starts_with("Less")) || (down && a.comparison.starts_with("Greater")) {
            issues.push(file, key("comparison"), format!("`{}` contradicts the name `{}`", a.comparison, a.name));
        }
        if !STATISTICS.contains(&a.statistic.as_str()) {
            issues.push(file, key("statistic"), format!("`{}` is not one of {}", a.statistic, STATISTICS.join(", ")));
        }
        if a.evaluation_periods == 0 {
            issues.push(file, key("evaluation_periods"), "evaluation_periods must be at least 1");
        }
        if a.period_seconds < 60 || a.period_seconds % 60 != 0 {
            issues.push(file, key("period_seconds"), format!("period {} must be a multiple of 60", a.period_seconds));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_as_kubernetes_reads_them() {
        assert_eq!(parse_cpu_millis("250m"), Some(250));
        assert_eq!(parse_cpu_millis("1"), Some(1000));
        assert_eq!(parse_cpu_millis("1.5"), Some(1500));
        assert_eq!(parse_cpu_millis("0"), None);
        assert_eq!(parse_cpu_millis("lots"), None);
        assert_eq!(parse_memory_bytes("512Mi"), Some(512 << 20));
        assert_eq!(parse_memory_bytes("1Gi"), Some(1 << 30));
        assert_eq!(parse_memory_bytes("512MB"), None);
    }

    #[test]
    fn names_are_checked_like_aws_and_kubernetes_check_them() {
        assert!(
            is_region("us-east-1") && is_region("us-gov-west-1") && !is_region("east-us-1x") && !is_region("us-east")
        );
        assert!(is_instance_type("t3.medium") && is_instance_type("r6g.2xlarge") && !is_instance_type("medium"));
        assert!(is_ecr_repository("abc-trading/api-gateway") && !is_ecr_repository("abc/api:latest"));
        assert!(is_dns_label("user-management") && !is_dns_label("User_Management") && !is_dns_label("-x"));
        assert!(is_domain_name("abc-trading-dev.com") && !is_domain_name("localhost"));
    }

    #[test]
    fn placeholders_from_the_runbook_are_recognised() {
        for bad in ["<your access key>", "Zxxxxxxxxxxxxxxxxxx", "bucketxxxxxxxx", "changeme", "<xxx-xxxxxxxx-dev.com>"]
        {
            assert!(find_placeholder(bad).is_some(), "{bad}");
        }
        for good in ["abc-trading-dev.com", "t3.medium", "Europe/London", "10.0.0.0/16"] {
            assert_eq!(find_placeholder(good), None, "{good}");
        }
    }
}
