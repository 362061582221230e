//! The remediation alarms the seeded world carries, named and tagged by the organisation's convention.

use platform_core::config::{AlarmTarget, ConfigTree, Environment};

/// An alarm of the seeded world, marked for remediation.
#[derive(Debug)]
pub struct SeededAlarm {
    pub name: String,
    pub description: String,
    pub namespace: String,
    pub metric: String,
    pub statistic: String,
    pub period_seconds: i32,
    pub dimensions: Vec<(&'static str, String)>,
    pub threshold: f64,
    pub periods: i32,
    pub comparison: aws_sdk_cloudwatch::types::ComparisonOperator,
    /// Value of the remediation tag: what the scaler should do when it fires.
    pub action: &'static str,
}

/// The environment's remediation alarms, from `config/remediation-alarms.toml`, with their full
/// names and the dimensions of the group each watches.
pub fn seeded_alarms(tree: &ConfigTree, env: &Environment) -> Vec<SeededAlarm> {
    let conv = &tree.organization.remediation;
    let prefix = tree.resource_prefix(&env.name);
    // The convention's prefix is organisation-wide; the resource prefix already starts with it.
    debug_assert!(prefix.starts_with(&conv.alarm_name_prefix));
    // Container Insights' node metrics carry the cluster only; the scaler reads such an alarm as
    // the cluster's managed nodegroup.
    let nodes = vec![("ClusterName", tree.cluster_name(&env.name))];
    let workers = vec![("AutoScalingGroupName", tree.workers_group_name(&env.name))];
    tree.alarms
        .iter()
        .map(|a| SeededAlarm {
            name: format!("{prefix}{}{}", conv.alarm_name_marker, a.name),
            description: a.description.clone(),
            namespace: a.namespace.clone(),
            metric: a.metric.clone(),
            statistic: a.statistic.clone(),
            period_seconds: i32::try_from(a.period_seconds).unwrap_or(60),
            dimensions: match a.target {
                AlarmTarget::Nodegroup => nodes.clone(),
                AlarmTarget::Workers => workers.clone(),
            },
            threshold: a.threshold,
            periods: i32::try_from(a.evaluation_periods).unwrap_or(1),
            comparison: aws_sdk_cloudwatch::types::ComparisonOperator::from(a.comparison.as_str()),
            action: if a.name.ends_with("-low") { "scale-in" } else { "scale-out" },
        })
        .collect()
}
