//! Rules for each environment file, and those that hold across environments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::names::{is_dns_label, is_domain_name, is_instance_type, is_region};
use crate::config::{Environment, Issues, Organization};

/// EKS Kubernetes versions and the last day of their standard support. Versions past it cost
/// extended-support fees and are auto-upgraded later, so new config may not name them.
pub const SUPPORTED_KUBERNETES_VERSIONS: &[(&str, (i32, u32, u32))] =
    &[("1.33", (2026, 7, 29)), ("1.34", (2026, 12, 2)), ("1.35", (2027, 3, 27))];

/// An environment whose Kubernetes version leaves EKS standard support soon (not yet past it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportEnding {
    pub environment: String,
    pub version: String,
    pub ends: NaiveDate,
}

/// The environments whose version leaves standard support within `within_days` of `today`:
/// a warning of `validate`, not a finding, until the day passes.
pub fn support_ending<'a>(
    environments: impl IntoIterator<Item = &'a Environment>,
    today: NaiveDate,
    within_days: i64,
) -> Vec<SupportEnding> {
    environments
        .into_iter()
        .filter_map(|env| {
            let (_, (y, m, d)) = SUPPORTED_KUBERNETES_VERSIONS.iter().find(|(v, _)| *v == env.kubernetes.version)?;
            let ends = NaiveDate::from_ymd_opt(*y, *m, *d)?;
            (ends >= today && (ends - today).num_days() <= within_days).then(|| SupportEnding {
                environment: env.name.clone(),
                version: env.kubernetes.version.clone(),
                ends,
            })
        })
        .collect()
}

/// `today`: the day support windows are judged on; absent, only whether EKS knows the version
/// (loading config for work is not a date check: the validation of the day is `validate`'s).
pub(crate) fn environment(file: &Path, env: &Environment, today: Option<NaiveDate>, issues: &mut Issues) {
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
    super::serving::serving(file, env, issues);
    super::release::release(file, env, issues);
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
            if let (Some(end), Some(today)) = (end, today)
                && end < today
            {
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
    let holidays: BTreeSet<_> = th.holidays.iter().collect();
    if holidays.len() != th.holidays.len() {
        issues.push(file, "trading_hours.holidays", "a date is listed twice");
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
