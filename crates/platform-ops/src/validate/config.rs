//! The config tree loads, and the files generated from it are current.

use super::*;

pub(super) fn check_config(inputs: &Inputs, tree: &Result<ConfigTree, ConfigErrors>) -> CheckResult {
    let findings = match tree {
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
