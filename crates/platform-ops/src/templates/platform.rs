//! The platform template's blocks: an image repository per workload, the dashboard's tier rows and the member health alarms (`monitoring.toml`).

use std::fmt::Write as _;

use platform_core::config::{ConfigTree, HealthAlarm, HealthSource, Per};
use platform_core::monitoring::member_alarms;

use super::{pascal, yaml_string};

/// An ECR repository per workload image: immutable tags (a release says what it runs), scanned
/// on push, encrypted with the environment's key, the last 50 images kept.
pub fn render_repositories(tree: &ConfigTree) -> String {
    let mut out = String::new();
    for s in tree.catalog.services.values() {
        let logical = pascal(&s.image);
        let _ = write!(
            out,
            "  Repository{logical}:
    Type: AWS::ECR::Repository
    Properties:
      RepositoryName: {image}
      ImageTagMutability: IMMUTABLE
      ImageScanningConfiguration:
        ScanOnPush: true
      EncryptionConfiguration:
        EncryptionType: KMS
        KmsKey: !Ref KmsKeyArn
      LifecyclePolicy:
        LifecyclePolicyText: '{{\"rules\": [{{\"rulePriority\": 1, \"description\": \"keep the last 50 images\", \"selection\": {{\"tagStatus\": \"any\", \"countType\": \"imageCountMoreThan\", \"countNumber\": 50}}, \"action\": {{\"type\": \"expire\"}}}}]}}'

",
            image = s.image,
        );
    }
    out
}

/// The dashboard's running pods per tier: one metric row per tier namespace.
pub fn render_tier_metrics(tree: &ConfigTree) -> String {
    let mut out = String::new();
    for (i, tier) in tree.catalog.tiers.iter().enumerate() {
        let namespace = format!("trading-{}", tier.name);
        if i == 0 {
            let _ = writeln!(
                out,
                "              - !Sub '[\"ContainerInsights\", \"namespace_number_of_running_pods\", \"Namespace\", \"{namespace}\", \"ClusterName\", \"{}-${{Environment}}\"]'",
                tree.organization.name_prefix
            );
        } else {
            let _ = writeln!(out, "              - ', [\".\", \".\", \".\", \"{namespace}\", \".\", \".\"]'");
        }
    }
    out
}

/// The namespace and dimensions (name, YAML value) of a health alarm's metric, for the tier or
/// service it is for. The values are the platform template's own resources and parameters.
fn metric_of(h: &HealthAlarm, per: Option<&str>) -> (&'static str, Vec<(&'static str, String)>) {
    let cluster = ("ClusterName", "!Ref Cluster".to_string());
    let mut dims = match h.source {
        HealthSource::Rds => return ("AWS/RDS", vec![("DBInstanceIdentifier", "!Ref Database".into())]),
        HealthSource::LoadBalancer => {
            return ("AWS/ApplicationELB", vec![("LoadBalancer", "!Ref LoadBalancerFullName".into())]);
        }
        HealthSource::Axon => {
            return (
                "ContainerInsights",
                vec![cluster, ("Namespace", "trading-foundation".into()), ("PodName", "axon-server".into())],
            );
        }
        // The monitoring account's, never rendered here (`in_member`); as the cluster's if it were.
        HealthSource::ContainerInsights | HealthSource::ServiceErrors => vec![cluster],
    };
    match (h.per, per) {
        (Some(Per::Tier), Some(tier)) => dims.push(("Namespace", format!("trading-{tier}"))),
        (Some(Per::Service), Some(service)) => dims.push(("Service", service.to_string())),
        _ => {}
    }
    ("ContainerInsights", dims)
}

/// Every member health alarm of `monitoring.toml` (one per tier where the alarm says so) as
/// CloudWatch alarms of the platform stack: named `<prefix>-<env>-health-...`, their severity
/// and runbook section in the description and the tags, no actions (EventBridge routes their
/// state changes to on-call). The load balancer's exist only once the platform has one.
pub fn render_health_alarms(tree: &ConfigTree) -> String {
    let prefix = tree.organization.resource_prefix("${Environment}");
    let mut out = String::new();
    for m in member_alarms(tree) {
        let h = m.alarm;
        let (namespace, dims) = metric_of(h, m.per.as_deref());
        let severity = h.severity.map(|s| s.to_string()).unwrap_or_default();
        let runbook = h.runbook.clone().unwrap_or_default();
        let what = match &m.per {
            Some(per) => format!("{} ({per})", h.description),
            None => h.description.clone(),
        };
        let description = format!("{severity}: {what}. Runbook: docs/runbook.md#{runbook}");
        let condition = if h.source == HealthSource::LoadBalancer { "    Condition: HasLoadBalancer\n" } else { "" };
        let dimensions: String =
            dims.iter().map(|(k, v)| format!("        - Name: {k}\n          Value: {v}\n")).collect();
        // A percentile is an extended statistic; the others are statistics.
        let statistic = if h.statistic.starts_with('p') {
            format!("ExtendedStatistic: {}", h.statistic)
        } else {
            format!("Statistic: {}", h.statistic)
        };
        // Counts and rates publish nothing when all is well: missing is fine. A "below" alarm
        // (readiness, free storage) keeps its state when its metric stops instead of paging for
        // a platform still being built or torn down.
        let missing = if h.comparison.starts_with("Less") { "missing" } else { "notBreaching" };
        let _ = write!(
            out,
            "  Health{logical}:
    Type: AWS::CloudWatch::Alarm
{condition}    Properties:
      AlarmName: !Sub {prefix}-{suffix}
      AlarmDescription: {description}
      Namespace: {namespace}
      MetricName: {metric}
      Dimensions:
{dimensions}      {statistic}
      Period: {period}
      EvaluationPeriods: {periods}
      Threshold: {threshold}
      ComparisonOperator: {comparison}
      TreatMissingData: {missing}
      Tags:
        - Key: severity
          Value: {severity}
        - Key: runbook
          Value: {runbook}
        - Key: environment
          Value: !Ref Environment

",
            logical = pascal(m.suffix.trim_start_matches("health-")),
            suffix = m.suffix,
            description = yaml_string(&description),
            metric = h.metric,
            period = h.period_seconds,
            periods = h.evaluation_periods,
            threshold = h.threshold,
            comparison = h.comparison,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::tree;
    use serde_norway::Value as Yaml;

    #[test]
    fn every_image_gets_an_immutable_scanned_repository_and_every_tier_a_dashboard_row() {
        let tree = tree();
        let yaml = render_repositories(&tree);
        assert_eq!(yaml.matches("Type: AWS::ECR::Repository").count(), tree.catalog.services.len());
        for s in tree.catalog.services.values() {
            assert!(yaml.contains(&format!("RepositoryName: {}\n", s.image)), "{}", s.image);
        }
        assert_eq!(yaml.matches("ImageTagMutability: IMMUTABLE").count(), tree.catalog.services.len());
        let rows = render_tier_metrics(&tree);
        assert_eq!(rows.lines().count(), tree.catalog.tiers.len());
        for tier in &tree.catalog.tiers {
            assert!(rows.contains(&format!("\"trading-{}\"", tier.name)), "{rows}");
        }
    }

    /// The rendered block as resources by logical id (short-form tags kept as tags).
    fn resources(yaml: &str) -> serde_norway::Mapping {
        let doc: Yaml = serde_norway::from_str(&format!("Resources:\n{yaml}")).expect("the block is YAML");
        doc.get("Resources").and_then(Yaml::as_mapping).cloned().expect("resources")
    }

    fn tag<'a>(alarm: &'a Yaml, key: &str) -> Option<&'a Yaml> {
        alarm["Properties"]["Tags"].as_sequence()?.iter().find(|t| t["Key"].as_str() == Some(key)).map(|t| &t["Value"])
    }

    /// GIVEN monitoring.toml THEN every member alarm of `member_alarms` is one CloudWatch alarm
    /// named `abc-trading-${Environment}-<suffix>`, with its severity and runbook section in its
    /// description and tags and no action; the monitoring account's alarms are not here.
    #[test]
    fn every_member_health_alarm_is_rendered_with_its_name_severity_and_runbook() {
        let tree = tree();
        let members = member_alarms(&tree);
        assert!(members.len() > tree.monitoring.health.len(), "per-tier alarms are expanded");
        let yaml = render_health_alarms(&tree);
        let resources = resources(&yaml);
        assert_eq!(resources.len(), members.len(), "{yaml}");
        for m in &members {
            let name = format!("!Sub abc-trading-${{Environment}}-{}\n", m.suffix);
            assert!(yaml.contains(&format!("AlarmName: {name}")), "{}", m.suffix);
            let logical = format!("Health{}", pascal(m.suffix.trim_start_matches("health-")));
            let alarm = resources.get(logical.as_str()).unwrap_or_else(|| panic!("{logical} not rendered"));
            let severity = m.alarm.severity.expect("severity").to_string();
            let runbook = m.alarm.runbook.clone().expect("runbook");
            assert_eq!(tag(alarm, "severity").and_then(Yaml::as_str), Some(severity.as_str()));
            assert_eq!(tag(alarm, "runbook").and_then(Yaml::as_str), Some(runbook.as_str()));
            assert!(tag(alarm, "environment").is_some());
            let description = alarm["Properties"]["AlarmDescription"].as_str().expect("description");
            assert!(description.starts_with(&format!("{severity}: ")), "{description}");
            assert!(description.ends_with(&format!("docs/runbook.md#{runbook}")), "{description}");
            for action in ["AlarmActions", "OKActions", "InsufficientDataActions"] {
                assert!(alarm["Properties"].get(action).is_none(), "{}: {action}", m.suffix);
            }
        }
        assert!(!yaml.contains("health-errors"), "service errors live in the monitoring account");
        let percentiles = tree.monitoring.health.iter().filter(|h| h.statistic.starts_with('p')).count();
        assert!(percentiles > 0 && yaml.matches("ExtendedStatistic: p").count() == percentiles);
    }

    /// GIVEN the sources THEN each alarm watches the platform stack's own resources: the
    /// database, the cluster (a tier's namespace), Axon Server's pod, the load balancer.
    #[test]
    fn dimensions_follow_the_source() {
        let tree = tree();
        let yaml = render_health_alarms(&tree);
        let at = |logical: &str| {
            let start = yaml.find(&format!("  {logical}:\n")).unwrap_or_else(|| panic!("{logical}"));
            let rest = &yaml[start..];
            rest[..rest.find("\n\n").unwrap_or(rest.len())].to_string()
        };
        let rds = at("HealthRdsCpuHigh");
        assert!(
            rds.contains("Namespace: AWS/RDS\n")
                && rds.contains("- Name: DBInstanceIdentifier\n          Value: !Ref Database\n"),
            "{rds}"
        );
        let core = at("HealthPodRestartsCore");
        assert!(
            core.contains("Value: !Ref Cluster\n")
                && core.contains("- Name: Namespace\n          Value: trading-core\n"),
            "{core}"
        );
        let axon = at("HealthAxonNotReady");
        assert!(
            axon.contains("Value: trading-foundation\n")
                && axon.contains("- Name: PodName\n          Value: axon-server\n"),
            "{axon}"
        );
        assert!(
            axon.contains("TreatMissingData: missing\n"),
            "a readiness alarm does not page for a platform being built"
        );
        let lb = at("HealthLbResponseTimeP99");
        assert!(
            lb.contains("Namespace: AWS/ApplicationELB\n") && lb.contains("Value: !Ref LoadBalancerFullName\n"),
            "{lb}"
        );
        assert!(lb.contains("ExtendedStatistic: p99\n") && !lb.contains("  Statistic:"), "{lb}");
    }

    /// GIVEN a platform without a load balancer THEN its alarms are conditional: only they.
    #[test]
    fn load_balancer_alarms_exist_only_with_a_load_balancer() {
        let tree = tree();
        let resources = resources(&render_health_alarms(&tree));
        let lb = tree.monitoring.health.iter().filter(|h| h.source == HealthSource::LoadBalancer).count();
        assert!(lb > 0);
        let mut conditional = 0;
        for (id, r) in &resources {
            let is_lb = r["Properties"]["Namespace"].as_str() == Some("AWS/ApplicationELB");
            assert_eq!(r.get("Condition").and_then(Yaml::as_str) == Some("HasLoadBalancer"), is_lb, "{id:?}");
            conditional += usize::from(is_lb);
        }
        assert_eq!(conditional, lb);
    }

    /// The rendered block is what platform.yaml holds, with the parameter and condition it names.
    #[test]
    fn the_platform_template_declares_what_the_alarms_use() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let text = std::fs::read_to_string(root.join(crate::templates::PLATFORM_TEMPLATE)).expect("platform.yaml");
        assert!(text.contains(&render_health_alarms(&tree())));
        let doc: Yaml = serde_norway::from_str(&text).expect("yaml");
        assert_eq!(doc["Parameters"]["LoadBalancerFullName"]["Default"].as_str(), Some(""));
        assert!(doc["Conditions"].get("HasLoadBalancer").is_some());
    }
}
