//! Rules for `organization.toml`: StackSets, names, prefixes and the automation role.

use std::path::Path;

use super::names::{is_dns_label, is_region};
use crate::config::{Issues, Organization};

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
