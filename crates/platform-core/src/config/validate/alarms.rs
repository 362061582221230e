//! Rules for `remediation-alarms.toml`: names, comparisons and periods CloudWatch accepts.

use std::path::Path;

use crate::config::{Issues, RemediationAlarm};

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
