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
    let read = |name: &str| {
        let path = inputs.config_dir.join(name);
        let table = std::fs::read_to_string(&path).ok().and_then(|text| text.parse::<toml::Table>().ok());
        (path, table)
    };
    let text = |v: &toml::Value, key: &str| v.get(key).and_then(toml::Value::as_str).map(str::to_string);
    // (file, location, what, anchor) for every anchor the config names.
    let mut named: Vec<(PathBuf, String, String, String)> = Vec::new();
    let (path, table) = read("log-signatures.toml");
    for (i, s) in table.iter().filter_map(|t| t.get("signatures")?.as_array()).flatten().enumerate() {
        if let Some(anchor) = text(s, "runbook") {
            let what = format!("signature `{}`", text(s, "name").unwrap_or_default());
            named.push((path.clone(), format!("signatures[{i}].runbook"), what, anchor));
        }
    }
    let (path, table) = read("monitoring.toml");
    for (i, h) in table.iter().filter_map(|t| t.get("health")?.as_array()).flatten().enumerate() {
        if let Some(anchor) = text(h, "runbook") {
            let what = format!("health alarm `{}`", text(h, "name").unwrap_or_default());
            named.push((path.clone(), format!("health[{i}].runbook"), what, anchor));
        }
    }
    if let Some(anchor) = table.as_ref().and_then(|t| text(t.get("slo")?, "runbook")) {
        named.push((path.clone(), "slo.runbook".into(), "the SLO burn alarms".into(), anchor));
    }
    if named.is_empty() {
        return Vec::new();
    }
    let runbook = inputs.root.join("docs/runbook.md");
    let anchors = match std::fs::read_to_string(&runbook) {
        Ok(text) => heading_anchors(&text),
        Err(e) => {
            return vec![Finding {
                file: rel(inputs, &runbook),
                location: None,
                message: format!("cannot read it ({e}): the config's runbook anchors point into it"),
            }];
        }
    };
    named
        .into_iter()
        .filter(|(.., anchor)| !anchors.contains(anchor))
        .map(|(path, location, what, anchor)| Finding {
            file: rel(inputs, &path),
            location: Some(location),
            message: format!("anchor `{anchor}` of {what} is no heading of docs/runbook.md"),
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
