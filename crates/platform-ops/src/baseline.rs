//! The member baseline StackSet template: its remediation alarms rendered from the config tree.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use platform_core::config::{AlarmTarget, ConfigTree};

/// The baseline template, relative to the repository root.
pub const TEMPLATE: &str = "stacksets/member-baseline.yaml";

/// The generated block sits between the line holding `BEGIN` (and the comment lines after it)
/// and the line holding `END`.
const BEGIN: &str = "# BEGIN remediation alarms";
const END: &str = "# END remediation alarms";

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: no `{BEGIN}` ... `{END}` block to render the remediation alarms into")]
    NoBlock { path: PathBuf },
}

/// The remediation alarms as CloudFormation resources (YAML, indented for `Resources:`), named
/// by the remediation convention for the stack's `Environment` parameter.
pub fn render_alarms(tree: &ConfigTree) -> String {
    let org = &tree.organization;
    let conv = &org.remediation;
    let mut out = String::new();
    for a in &tree.alarms {
        let logical: String = a
            .name
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
            })
            .collect();
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

/// A double-quoted YAML scalar (JSON's escaping is valid YAML).
fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// `template` with its generated block replaced by the rendering of `tree`.
pub fn with_alarms(template: &str, tree: &ConfigTree, path: &Path) -> Result<String, BaselineError> {
    let no_block = || BaselineError::NoBlock { path: path.to_path_buf() };
    let lines: Vec<&str> = template.split_inclusive('\n').collect();
    let begin = lines.iter().position(|l| l.contains(BEGIN)).ok_or_else(no_block)?;
    let body = (begin + 1..lines.len()).find(|&i| !lines[i].trim_start().starts_with('#') || lines[i].contains(END));
    let end = lines.iter().position(|l| l.contains(END)).filter(|&e| e > begin).ok_or_else(no_block)?;
    let body = body.unwrap_or(end).min(end);
    let mut out: String = lines[..body].concat();
    out.push_str(&render_alarms(tree));
    out.push_str(&lines[end..].concat());
    Ok(out)
}

/// Reads the repository's baseline and returns it as it should be (`current`, `rendered`).
pub fn check(root: &Path, tree: &ConfigTree) -> Result<(String, String), BaselineError> {
    let path = root.join(TEMPLATE);
    let current = std::fs::read_to_string(&path).map_err(|source| BaselineError::Io { path: path.clone(), source })?;
    let rendered = with_alarms(&current, tree, &path)?;
    Ok((current, rendered))
}

/// Renders the alarms into the repository's baseline; true when the file changed.
pub fn write(root: &Path, tree: &ConfigTree) -> Result<bool, BaselineError> {
    let (current, rendered) = check(root, tree)?;
    if current == rendered {
        return Ok(false);
    }
    let path = root.join(TEMPLATE);
    std::fs::write(&path, rendered).map_err(|source| BaselineError::Io { path, source })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> ConfigTree {
        platform_core::config::load(&platform_core::config::repository_config_dir()).expect("config")
    }

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

    #[test]
    fn the_block_is_replaced_in_place_and_a_config_change_shows() {
        let mut tree = tree();
        let path = Path::new(TEMPLATE);
        let template = "Resources:\n  Before:\n    Type: X\n  # BEGIN remediation alarms: generated\n  # do not edit.\n  Stale:\n    Type: Y\n  # END remediation alarms\n  After:\n    Type: Z\n";
        let once = with_alarms(template, &tree, path).expect("renders");
        assert!(once.starts_with("Resources:\n  Before:\n    Type: X\n  # BEGIN remediation alarms: generated\n  # do not edit.\n  AlarmNodesCpuHigh:"));
        assert!(once.ends_with("  # END remediation alarms\n  After:\n    Type: Z\n") && !once.contains("Stale"));
        assert_eq!(with_alarms(&once, &tree, path).expect("renders"), once, "idempotent");
        tree.alarms[0].threshold = 90.0;
        assert_ne!(with_alarms(&once, &tree, path).expect("renders"), once, "a threshold change is seen");
        assert!(matches!(with_alarms("Resources: {}\n", &tree, path), Err(BaselineError::NoBlock { .. })));
    }
}
