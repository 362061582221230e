//! The member alarms the seeded world carries: remediation alarms and health alarms, named and tagged as the templates make them.

use platform_core::config::{AlarmTarget, ConfigTree, Environment, HealthSource};
use platform_core::monitoring::member_alarms;

/// An alarm of the seeded world.
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
    /// The remediation tag (what the scaler should do), or a health alarm's severity and runbook.
    pub tags: Vec<(String, String)>,
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
            tags: vec![(
                conv.tag_key.clone(),
                if a.name.ends_with("-low") { "scale-in" } else { "scale-out" }.to_string(),
            )],
        })
        .collect()
}

/// The environment's health alarms as `stacksets/platform.yaml` renders them: the database's,
/// the cluster's and Axon Server's (the platform has no load balancer yet, so none of its).
pub fn health_alarms(tree: &ConfigTree, env: &Environment) -> Vec<SeededAlarm> {
    let prefix = tree.resource_prefix(&env.name);
    let cluster = ("ClusterName", tree.cluster_name(&env.name));
    member_alarms(tree)
        .into_iter()
        .filter_map(|m| {
            let a = m.alarm;
            let (namespace, dimensions) = match a.source {
                // The platform template names the instance after the environment's prefix.
                HealthSource::Rds => ("AWS/RDS", vec![("DBInstanceIdentifier", prefix.clone())]),
                HealthSource::ContainerInsights => match &m.per {
                    Some(tier) => {
                        ("ContainerInsights", vec![cluster.clone(), ("Namespace", format!("trading-{tier}"))])
                    }
                    None => ("ContainerInsights", vec![cluster.clone()]),
                },
                HealthSource::Axon => (
                    "ContainerInsights",
                    vec![
                        cluster.clone(),
                        ("Namespace", "trading-foundation".into()),
                        ("PodName", "axon-server".into()),
                    ],
                ),
                HealthSource::LoadBalancer | HealthSource::ServiceErrors => return None,
            };
            Some(SeededAlarm {
                name: format!("{prefix}-{}", m.suffix),
                description: a.description.clone(),
                namespace: namespace.into(),
                metric: a.metric.clone(),
                statistic: a.statistic.clone(),
                period_seconds: i32::try_from(a.period_seconds).unwrap_or(300),
                dimensions,
                threshold: a.threshold,
                periods: i32::try_from(a.evaluation_periods).unwrap_or(1),
                comparison: aws_sdk_cloudwatch::types::ComparisonOperator::from(a.comparison.as_str()),
                tags: vec![
                    ("severity".into(), a.severity.map(|s| s.to_string()).unwrap_or_default()),
                    ("runbook".into(), a.runbook.clone().unwrap_or_default()),
                ],
            })
        })
        .collect()
}
