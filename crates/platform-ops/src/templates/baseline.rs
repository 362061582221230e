//! The member baseline's remediation alarms (`config/remediation-alarms.toml`), named by the remediation convention.

use std::fmt::Write as _;

use platform_core::config::{AlarmTarget, ConfigTree};

use super::{pascal, yaml_string};

/// The remediation alarms as CloudFormation resources (YAML, indented for `Resources:`), named
/// by the remediation convention for the stack's `Environment` parameter.
pub fn render_alarms(tree: &ConfigTree) -> String {
    let org = &tree.organization;
    let conv = &org.remediation;
    let mut out = String::new();
    for a in &tree.alarms {
        let logical = pascal(&a.name);
        let action = if a.name.ends_with("-low") { "scale-in" } else { "scale-out" };
        let dimensions = match a.target {
            // Container Insights' node metrics carry the cluster only.
            AlarmTarget::Nodegroup => {
                format!("        - Name: ClusterName\n          Value: !Sub {}-${{Environment}}\n", org.name_prefix)
            }
            AlarmTarget::Workers => format!(
                "        - Name: AutoScalingGroupName\n          Value: !Sub {}\n",
                org.workers_group_name("${Environment}")
            ),
        };
        let _ = write!(
            out,
            "  Alarm{logical}:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub {prefix}{marker}{name}
      AlarmDescription: {description}
      Namespace: {namespace}
      MetricName: {metric}
      Dimensions:
{dimensions}      Statistic: {statistic}
      Period: {period}
      EvaluationPeriods: {periods}
      Threshold: {threshold}
      ComparisonOperator: {comparison}
      TreatMissingData: notBreaching
      Tags:
        - Key: {tag_key}
          Value: {action}
        - Key: environment
          Value: !Ref Environment

",
            prefix = org.resource_prefix("${Environment}"),
            marker = conv.alarm_name_marker,
            name = a.name,
            description = yaml_string(&a.description),
            namespace = a.namespace,
            metric = a.metric,
            statistic = a.statistic,
            period = a.period_seconds,
            periods = a.evaluation_periods,
            threshold = a.threshold,
            comparison = a.comparison,
            tag_key = yaml_string(&conv.tag_key),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::tree;

    #[test]
    fn every_alarm_is_rendered_with_the_conventions_name_and_tag() {
        let tree = tree();
        let yaml = render_alarms(&tree);
        for a in &tree.alarms {
            assert!(
                yaml.contains(&format!("AlarmName: !Sub abc-trading-${{Environment}}-remediate-{}\n", a.name)),
                "{yaml}"
            );
        }
        assert_eq!(yaml.matches("Type: AWS::CloudWatch::Alarm").count(), tree.alarms.len());
        assert_eq!(
            yaml.matches("Value: scale-in").count(),
            tree.alarms.iter().filter(|a| a.name.ends_with("-low")).count()
        );
        assert!(
            yaml.contains("- Name: AutoScalingGroupName\n          Value: !Sub abc-trading-${Environment}-workers\n")
        );
        assert!(!yaml.contains("NodegroupName"), "Container Insights has no nodegroup dimension");
    }
}
