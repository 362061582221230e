//! The StackSet templates' blocks rendered from config: baseline alarms, platform repositories and dashboard tiers.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use platform_core::config::{AlarmTarget, ConfigTree};

/// The baseline template, relative to the repository root.
pub const BASELINE_TEMPLATE: &str = "stacksets/member-baseline.yaml";

#[derive(Debug, thiserror::Error)]
pub enum GeneratedError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: no `# BEGIN {block}` ... `# END {block}` block to render into")]
    NoBlock { path: PathBuf, block: String },
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

/// The platform template, relative to the repository root.
pub const PLATFORM_TEMPLATE: &str = "stacksets/platform.yaml";

/// A block of a template that is rendered from the config.
#[derive(Debug)]
pub struct Block {
    pub file: &'static str,
    pub name: &'static str,
    pub render: fn(&ConfigTree) -> String,
}

/// Every generated block of the repository's templates.
pub const BLOCKS: &[Block] = &[
    Block { file: BASELINE_TEMPLATE, name: "remediation alarms", render: render_alarms },
    Block { file: PLATFORM_TEMPLATE, name: "repositories", render: render_repositories },
    Block { file: PLATFORM_TEMPLATE, name: "tier metrics", render: render_tier_metrics },
];

/// An ECR repository per workload image: immutable tags (a release says what it runs), scanned
/// on push, encrypted with the environment's key, the last 50 images kept.
pub fn render_repositories(tree: &ConfigTree) -> String {
    let mut out = String::new();
    for s in tree.catalog.services.values() {
        let logical: String = s
            .image
            .split(['/', '-'])
            .map(|w| {
                let mut c = w.chars();
                c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
            })
            .collect();
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

/// `template` with the block `name` replaced by `content`.
pub fn with_block(template: &str, name: &str, content: &str, path: &Path) -> Result<String, GeneratedError> {
    let (begin_marker, end_marker) = (format!("# BEGIN {name}"), format!("# END {name}"));
    let no_block = || GeneratedError::NoBlock { path: path.to_path_buf(), block: name.to_string() };
    let lines: Vec<&str> = template.split_inclusive('\n').collect();
    let begin = lines.iter().position(|l| l.contains(&begin_marker)).ok_or_else(no_block)?;
    let end = lines.iter().position(|l| l.contains(&end_marker)).filter(|&e| e > begin).ok_or_else(no_block)?;
    // The block's own comment lines after BEGIN stay.
    let body = (begin + 1..end).find(|&i| !lines[i].trim_start().starts_with('#')).unwrap_or(end);
    let mut out: String = lines[..body].concat();
    out.push_str(content);
    out.push_str(&lines[end..].concat());
    Ok(out)
}

/// `template` with its remediation alarms rendered from `tree`.
pub fn with_alarms(template: &str, tree: &ConfigTree, path: &Path) -> Result<String, GeneratedError> {
    with_block(template, "remediation alarms", &render_alarms(tree), path)
}

/// Each template with generated blocks, as it is and as it should be: `(file, current, rendered)`.
pub fn check(root: &Path, tree: &ConfigTree) -> Result<Vec<(String, String, String)>, GeneratedError> {
    let mut files: Vec<&str> = BLOCKS.iter().map(|b| b.file).collect();
    files.dedup();
    let mut out = Vec::new();
    for file in files {
        let path = root.join(file);
        let current =
            std::fs::read_to_string(&path).map_err(|source| GeneratedError::Io { path: path.clone(), source })?;
        let mut rendered = current.clone();
        for block in BLOCKS.iter().filter(|b| b.file == file) {
            rendered = with_block(&rendered, block.name, &(block.render)(tree), &path)?;
        }
        out.push((file.to_string(), current, rendered));
    }
    Ok(out)
}

/// Renders every generated block into its template; the files that changed.
pub fn write(root: &Path, tree: &ConfigTree) -> Result<Vec<String>, GeneratedError> {
    let mut changed = Vec::new();
    for (file, current, rendered) in check(root, tree)? {
        if current != rendered {
            let path = root.join(&file);
            std::fs::write(&path, rendered).map_err(|source| GeneratedError::Io { path, source })?;
            changed.push(file);
        }
    }
    Ok(changed)
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

    #[test]
    fn the_block_is_replaced_in_place_and_a_config_change_shows() {
        let mut tree = tree();
        let path = Path::new(BASELINE_TEMPLATE);
        let template = "Resources:\n  Before:\n    Type: X\n  # BEGIN remediation alarms: generated\n  # do not edit.\n  Stale:\n    Type: Y\n  # END remediation alarms\n  After:\n    Type: Z\n";
        let once = with_alarms(template, &tree, path).expect("renders");
        assert!(once.starts_with("Resources:\n  Before:\n    Type: X\n  # BEGIN remediation alarms: generated\n  # do not edit.\n  AlarmNodesCpuHigh:"));
        assert!(once.ends_with("  # END remediation alarms\n  After:\n    Type: Z\n") && !once.contains("Stale"));
        assert_eq!(with_alarms(&once, &tree, path).expect("renders"), once, "idempotent");
        tree.alarms[0].threshold = 90.0;
        assert_ne!(with_alarms(&once, &tree, path).expect("renders"), once, "a threshold change is seen");
        assert!(matches!(with_alarms("Resources: {}\n", &tree, path), Err(GeneratedError::NoBlock { .. })));
    }
}
