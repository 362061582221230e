//! The templates' blocks rendered from config: baseline alarms, the central image repositories, dashboard tiers and health alarms, the fleet dashboard.

mod baseline;
mod fleet;
mod platform;
#[cfg(test)]
mod routes;

use std::path::{Path, PathBuf};

use platform_core::config::ConfigTree;

pub use baseline::render_alarms;
pub use fleet::{alarm_state_log_group, render_fleet_dashboard};
pub use platform::{render_database_workloads, render_health_alarms, render_repositories, render_tier_metrics};

/// The baseline template, relative to the repository root.
pub const BASELINE_TEMPLATE: &str = "stacksets/member-baseline.yaml";

/// The platform template, relative to the repository root.
pub const PLATFORM_TEMPLATE: &str = "stacksets/platform.yaml";

/// The automation (monitoring) account's template, relative to the repository root.
pub const CONTROL_PLANE_TEMPLATE: &str = "template.yaml";

#[derive(Debug, thiserror::Error)]
pub enum GeneratedError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: no `# BEGIN {block}` ... `# END {block}` block to render into")]
    NoBlock { path: PathBuf, block: String },
}

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
    Block { file: PLATFORM_TEMPLATE, name: "database workloads", render: render_database_workloads },
    Block { file: PLATFORM_TEMPLATE, name: "health alarms", render: render_health_alarms },
    Block { file: PLATFORM_TEMPLATE, name: "tier metrics", render: render_tier_metrics },
    Block { file: CONTROL_PLANE_TEMPLATE, name: "fleet dashboard", render: render_fleet_dashboard },
    Block { file: CONTROL_PLANE_TEMPLATE, name: "image repositories", render: render_repositories },
];

/// A double-quoted YAML scalar (JSON's escaping is valid YAML).
pub(crate) fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// `nodes-cpu-high` (or `abc-trading/api-gateway`) as `NodesCpuHigh`: a logical id's words.
pub(crate) fn pascal(name: &str) -> String {
    name.split(['/', '-'])
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
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
    files.sort_unstable();
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
pub(crate) fn tree() -> ConfigTree {
    platform_core::config::load(&platform_core::config::repository_config_dir()).expect("config")
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// GIVEN the repository's templates THEN each block is there and rendered from today's config.
    #[test]
    fn every_block_of_the_repository_is_current() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for (file, current, rendered) in check(&root, &tree()).expect("every block is found") {
            assert!(current == rendered, "{file} is stale: run `platform-ops config templates --write`");
        }
    }

    #[test]
    fn logical_ids_are_the_names_words() {
        assert_eq!(pascal("nodes-cpu-high"), "NodesCpuHigh");
        assert_eq!(pascal("abc-trading/api-gateway"), "AbcTradingApiGateway");
    }
}
