//! The config tree loads, and the files generated from it are current.

use super::*;

pub(super) fn check_config(inputs: &Inputs, tree: &Result<ConfigTree, ConfigErrors>) -> CheckResult {
    let mut findings: Vec<Finding> = match tree {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .issues
            .iter()
            .map(|i| Finding {
                file: rel(inputs, &i.file),
                location: (!i.key.is_empty()).then(|| i.key.clone()),
                message: i.message.clone(),
            })
            .collect(),
    };
    // Read from the file itself, so a tree that does not load for another reason still has its
    // anchors checked in the same run.
    findings.extend(runbook_anchors(inputs));
    CheckResult { check: "config", scope: rel(inputs, &inputs.config_dir), findings }
}

/// What the templates take from the config is its rendering (defined once, in config/).
pub(super) fn check_generated(inputs: &Inputs, tree: Option<&ConfigTree>) -> CheckResult {
    let mut result =
        CheckResult { check: "generated", scope: rel(inputs, &inputs.stacksets_dir), findings: Vec::new() };
    // A repository without these templates (a fixture) has nothing to compare; a config that
    // does not load is reported by the config check.
    if !crate::templates::BLOCKS.iter().all(|b| inputs.root.join(b.file).exists()) {
        return result;
    }
    let Some(tree) = tree else { return result };
    match crate::templates::check(&inputs.root, tree) {
        Ok(files) => {
            for (file, current, rendered) in files {
                if current != rendered {
                    result.findings.push(Finding {
                        file,
                        location: None,
                        message:
                            "what it takes from config/ is out of date: run `platform-ops config templates --write`"
                                .into(),
                    });
                }
            }
        }
        Err(e) => result.findings.push(Finding {
            file: rel(inputs, &inputs.stacksets_dir),
            location: None,
            message: e.to_string(),
        }),
    }
    result
}

/// Every signature's runbook anchor is a section of `docs/runbook.md`: a notification must not
/// send on-call to a page that does not say what to do. A file that does not read is the config
/// load's finding, not this one's.
fn runbook_anchors(inputs: &Inputs) -> Vec<Finding> {
    let path = inputs.config_dir.join("log-signatures.toml");
    let Some(signatures) = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|t| t.get("signatures").and_then(toml::Value::as_array).cloned())
    else {
        return Vec::new();
    };
    let runbook = inputs.root.join("docs/runbook.md");
    let anchors = match std::fs::read_to_string(&runbook) {
        Ok(text) => heading_anchors(&text),
        Err(e) => {
            return vec![Finding {
                file: rel(inputs, &runbook),
                location: None,
                message: format!("cannot read it ({e}): the signatures' runbook anchors point into it"),
            }];
        }
    };
    let text = |v: &toml::Value, key: &str| v.get(key).and_then(toml::Value::as_str).map(str::to_string);
    signatures
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let anchor = text(s, "runbook")?;
            (!anchors.contains(&anchor)).then(|| Finding {
                file: rel(inputs, &path),
                location: Some(format!("signatures[{i}].runbook")),
                message: format!(
                    "anchor `{anchor}` of signature `{}` is no heading of docs/runbook.md",
                    text(s, "name").unwrap_or_default()
                ),
            })
        })
        .collect()
}

/// The anchors Markdown renderers give headings: lowercased, spaces to dashes, punctuation other
/// than dashes and underscores dropped.
fn heading_anchors(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| l.trim_start_matches('#').trim())
        .map(|h| {
            h.to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect()
        })
        .collect()
}
