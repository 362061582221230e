//! The templates' catalogue blocks: the central registry's repository per image (template.yaml), the dashboard's tier rows and the member health alarms (`monitoring.toml`).

use std::fmt::Write as _;

use platform_core::config::{ConfigTree, HealthAlarm, HealthSource, Per};
use platform_core::monitoring::member_alarms;

use super::{pascal, yaml_string};

/// The central registry (made by the automation account stack whose `ImageRegistry` is
/// `create`): a repository per catalogue image, immutable tags (a release says what it runs),
/// scanned on push, encrypted with the platform key, pulled by the organisation's principals
/// (member nodes, cross-account) and written by nobody outside this account.
pub fn render_repositories(tree: &ConfigTree) -> String {
    let images: std::collections::BTreeSet<&str> = tree.catalog.services.values().map(|s| s.image.as_str()).collect();
    let mut out = String::new();
    for image in images {
        let logical = pascal(image);
        let _ = write!(
            out,
            "  Repository{logical}:
    Type: AWS::ECR::Repository
    Condition: CreatesImageRegistry
    # A release's images outlive any stack: kept if the stack goes.
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      RepositoryName: {image}
      ImageTagMutability: IMMUTABLE
      ImageScanningConfiguration:
        ScanOnPush: true
      EncryptionConfiguration:
        EncryptionType: KMS
        KmsKey: !GetAtt PlatformKey.Arn
      LifecyclePolicy:
        LifecyclePolicyText: '{{\"rules\": [{{\"rulePriority\": 1, \"description\": \"failed pushes: untagged images after 7 days\", \"selection\": {{\"tagStatus\": \"untagged\", \"countType\": \"sinceImagePushed\", \"countUnit\": \"days\", \"countNumber\": 7}}, \"action\": {{\"type\": \"expire\"}}}}, {{\"rulePriority\": 2, \"description\": \"keep the last 200 images\", \"selection\": {{\"tagStatus\": \"any\", \"countType\": \"imageCountMoreThan\", \"countNumber\": 200}}, \"action\": {{\"type\": \"expire\"}}}}]}}'
      RepositoryPolicyText:
        Version: \"2012-10-17\"
        Statement:
          - Sid: OrganisationPrincipalsPull
            Effect: Allow
            Principal: \"*\"
            Action:
              - ecr:BatchGetImage
              - ecr:GetDownloadUrlForLayer
              - ecr:DescribeImages
              - ecr:DescribeImageScanFindings
            Condition:
              StringEquals:
                aws:PrincipalOrgID: !Ref OrganizationId
      Tags:
        - Key: project
          Value: abc-trading
        - Key: environment
          Value: !Ref Environment
        - Key: managed-by
          Value: platform-ops

",
        );
    }
    out
}

/// A Pod Identity association per workload with `database = true`: its ServiceAccount (named as
/// the workload, in its tier's namespace) gets the role that may only read the database secret.
pub fn render_database_workloads(tree: &ConfigTree) -> String {
    let mut out = String::new();
    for s in tree.catalog.in_rollout_order().filter(|s| s.database) {
        let _ = write!(
            out,
            "  DatabaseSecretReader{logical}:
    Type: AWS::EKS::PodIdentityAssociation
    Properties:
      ClusterName: !Ref Cluster
      Namespace: trading-{tier}
      ServiceAccount: {name}
      RoleArn: !GetAtt DatabaseSecretReaderRole.Arn

",
            logical = pascal(&s.name),
            tier = s.tier,
            name = s.name,
        );
    }
    out
}

/// The dashboard's running pods per tier: one metric row per tier namespace.
pub fn render_tier_metrics(tree: &ConfigTree) -> String {
    let mut out = String::new();
    // A tier of Jobs only (migrations) runs nothing to chart.
    for (i, tier) in tree.catalog.serving_tiers().enumerate() {
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
            return ("AWS/ApplicationELB", vec![("LoadBalancer", "!GetAtt LoadBalancer.LoadBalancerFullName".into())]);
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
/// state changes to on-call). The load balancer's watch the stack's own edge load balancer.
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
    Properties:
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
    fn every_image_gets_one_immutable_scanned_org_pulled_repository_and_every_tier_a_dashboard_row() {
        let tree = tree();
        let yaml = render_repositories(&tree);
        let images: std::collections::BTreeSet<&str> =
            tree.catalog.services.values().map(|s| s.image.as_str()).collect();
        let repositories = resources(&yaml);
        assert_eq!(repositories.len(), images.len(), "one repository per image");
        for image in &images {
            assert!(yaml.contains(&format!("RepositoryName: {image}\n")), "{image}");
        }
        for (id, r) in &repositories {
            assert_eq!(r["Condition"].as_str(), Some("CreatesImageRegistry"), "{id:?}");
            let p = &r["Properties"];
            assert_eq!(p["ImageTagMutability"].as_str(), Some("IMMUTABLE"), "{id:?}");
            assert_eq!(p["ImageScanningConfiguration"]["ScanOnPush"].as_bool(), Some(true), "{id:?}");
            // Pull only, and only by the organisation's principals: nobody else reads or writes.
            let statements = p["RepositoryPolicyText"]["Statement"].as_sequence().expect("statements");
            assert_eq!(statements.len(), 1, "{id:?}");
            let actions: Vec<&str> =
                statements[0]["Action"].as_sequence().expect("actions").iter().filter_map(Yaml::as_str).collect();
            assert_eq!(
                actions,
                [
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:DescribeImages",
                    "ecr:DescribeImageScanFindings"
                ]
            );
            assert!(statements[0]["Condition"]["StringEquals"].get("aws:PrincipalOrgID").is_some(), "{id:?}");
            let lifecycle: serde_json::Value =
                serde_json::from_str(p["LifecyclePolicy"]["LifecyclePolicyText"].as_str().expect("text"))
                    .expect("JSON");
            assert_eq!(lifecycle["rules"].as_array().map(Vec::len), Some(2), "{id:?}");
        }
        let rows = render_tier_metrics(&tree);
        assert_eq!(rows.lines().count(), tree.catalog.serving_tiers().count());
        for tier in tree.catalog.serving_tiers() {
            assert!(rows.contains(&format!("\"trading-{}\"", tier.name)), "{rows}");
        }
    }

    /// GIVEN services.toml THEN exactly the `database = true` workloads get an association of
    /// their own ServiceAccount, in their tier's namespace, to the secret reader's role.
    #[test]
    fn only_database_workloads_get_the_secret_readers_role() {
        let tree = tree();
        let resources = resources(&render_database_workloads(&tree));
        let wanted: Vec<_> = tree.catalog.services.values().filter(|s| s.database).collect();
        assert!(!wanted.is_empty() && wanted.len() < tree.catalog.services.len());
        assert_eq!(resources.len(), wanted.len());
        for s in wanted {
            let r = &resources[format!("DatabaseSecretReader{}", pascal(&s.name)).as_str()];
            assert_eq!(r["Type"].as_str(), Some("AWS::EKS::PodIdentityAssociation"));
            assert_eq!(r["Properties"]["Namespace"].as_str(), Some(format!("trading-{}", s.tier).as_str()));
            assert_eq!(r["Properties"]["ServiceAccount"].as_str(), Some(s.name.as_str()));
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
            lb.contains("Namespace: AWS/ApplicationELB\n")
                && lb.contains("Value: !GetAtt LoadBalancer.LoadBalancerFullName\n"),
            "{lb}"
        );
        assert!(lb.contains("ExtendedStatistic: p99\n") && !lb.contains("  Statistic:"), "{lb}");
    }

    /// The rendered block is what platform.yaml holds, with the load balancer it watches; no
    /// alarm is conditional (the load balancer is part of the stack).
    #[test]
    fn the_platform_template_declares_what_the_alarms_use() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let text = std::fs::read_to_string(root.join(crate::templates::PLATFORM_TEMPLATE)).expect("platform.yaml");
        assert!(text.contains(&render_health_alarms(&tree())));
        let doc: Yaml = serde_norway::from_str(&text).expect("yaml");
        assert_eq!(
            doc["Resources"]["LoadBalancer"]["Type"].as_str(),
            Some("AWS::ElasticLoadBalancingV2::LoadBalancer")
        );
        let alarms = resources(&render_health_alarms(&tree()));
        assert!(alarms.values().all(|r| r.get("Condition").is_none()));
    }
}
