//! samconfig.toml's profiles against the template's parameters and the config tree.

use std::collections::BTreeMap;
use std::path::Path;

use serde_norway::Value as Yaml;

use super::*;

/// The template's parameters: name -> (has a default, allowed values).
fn template_parameters(path: &Path) -> Option<BTreeMap<String, (bool, Vec<String>)>> {
    let doc: Yaml = serde_norway::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let params = doc.get("Parameters")?.as_mapping()?;
    Some(
        params
            .iter()
            .filter_map(|(k, v)| {
                let allowed = v
                    .get("AllowedValues")
                    .and_then(Yaml::as_sequence)
                    .map(|s| s.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                Some((k.as_str()?.to_string(), (v.get("Default").is_some(), allowed)))
            })
            .collect(),
    )
}

/// `KEY=VALUE` pairs of a samconfig `parameter_overrides`: a list of pairs, or one string of
/// space-separated pairs whose values may be double-quoted.
pub(super) fn parameter_overrides(value: &toml::Value) -> Result<Vec<(String, String)>, String> {
    let items: Vec<String> = match value {
        toml::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or("every item must be a string"))
            .collect::<Result<_, _>>()?,
        toml::Value::String(text) => {
            let mut items = Vec::new();
            let (mut current, mut quoted) = (String::new(), false);
            for c in text.chars() {
                match c {
                    '"' => quoted = !quoted,
                    c if c.is_whitespace() && !quoted => {
                        if !current.is_empty() {
                            items.push(std::mem::take(&mut current));
                        }
                    }
                    c => current.push(c),
                }
            }
            if !current.is_empty() {
                items.push(current);
            }
            items
        }
        _ => return Err("must be a list of KEY=VALUE strings, or one string of them".into()),
    };
    items
        .into_iter()
        .map(|item| match item.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.trim_matches('"').to_string())),
            _ => Err(format!("`{item}` is not KEY=VALUE")),
        })
        .collect()
}

/// Each `sam deploy` profile against the template and the config: known parameters, the required
/// ones present, allowed values, Environment equal to the profile, MemberRegions and DomainName
/// equal to the environment's regions and domain, and the stack name the pipeline roles are limited to.
pub(super) fn check_samconfig(inputs: &Inputs, tree: Option<&ConfigTree>) -> CheckResult {
    let file = rel(inputs, &inputs.samconfig);
    let mut result = CheckResult { check: "samconfig", scope: file.clone(), findings: Vec::new() };
    let Ok(text) = std::fs::read_to_string(&inputs.samconfig) else { return result };
    let mut finding = |location: String, message: String| {
        result.findings.push(Finding { file: file.clone(), location: Some(location), message })
    };
    let doc: toml::Table = match toml::from_str(&text) {
        Ok(d) => d,
        Err(e) => {
            finding(String::new(), format!("not TOML: {e}"));
            return result;
        }
    };
    let Some(params) = template_parameters(&inputs.template) else { return result };
    for (profile, table) in &doc {
        let Some(deploy) = table.get("deploy").and_then(|d| d.get("parameters")) else { continue };
        let at = format!("{profile}.deploy.parameters");
        let overrides = match deploy.get("parameter_overrides").map(parameter_overrides) {
            None => {
                finding(at, "has no parameter_overrides".into());
                continue;
            }
            Some(Err(e)) => {
                finding(format!("{at}.parameter_overrides"), e);
                continue;
            }
            Some(Ok(o)) => o,
        };
        let given: BTreeMap<&str, &str> = overrides.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        for (name, value) in &given {
            match params.get(*name) {
                None => {
                    finding(format!("{at}.parameter_overrides"), format!("`{name}` is not a parameter of the template"))
                }
                Some((_, allowed)) if !allowed.is_empty() && !allowed.iter().any(|a| a == value) => finding(
                    format!("{at}.parameter_overrides"),
                    format!("{name}=`{value}` is not one of {}", allowed.join(", ")),
                ),
                _ => {}
            }
        }
        for (name, (has_default, _)) in &params {
            if !has_default && !given.contains_key(name.as_str()) {
                finding(
                    format!("{at}.parameter_overrides"),
                    format!("`{name}` is required by the template and not given"),
                );
            }
        }
        if given.get("Environment") != Some(&profile.as_str()) {
            finding(
                format!("{at}.parameter_overrides"),
                format!(
                    "Environment=`{}` in profile `{profile}`: they must be the same",
                    given.get("Environment").unwrap_or(&"")
                ),
            );
            continue;
        }
        let Some(tree) = tree else { continue };
        let Some(env) = tree.environment(profile) else {
            finding(at, format!("profile `{profile}` is not an environment of config/"));
            continue;
        };
        // What the stack must agree with config on: the regions the baseline is rolled out to,
        // and the parent zone client zones are delegated from.
        let expected = [("MemberRegions", env.regions.join(",")), ("DomainName", env.domain_name.clone())];
        for (name, wanted) in &expected {
            if let Some(value) = given.get(name)
                && value != wanted
            {
                finding(
                    format!("{at}.parameter_overrides"),
                    format!("{name}=`{value}` but config/environments/{profile}.toml has `{wanted}`"),
                );
            }
        }
        let stack = format!("{}-platform-ops", tree.resource_prefix(profile));
        match deploy.get("stack_name").and_then(toml::Value::as_str) {
            Some(name) if name == stack => {}
            other => finding(
                format!("{at}.stack_name"),
                format!(
                    "`{}` must be `{stack}` (the pipeline roles may change only that stack)",
                    other.unwrap_or_default()
                ),
            ),
        }
        match deploy.get("s3_prefix").and_then(toml::Value::as_str) {
            Some(prefix) if prefix == stack => {}
            other => finding(
                format!("{at}.s3_prefix"),
                format!(
                    "`{}` must be `{stack}` (the pipeline roles read and write artifacts only there)",
                    other.unwrap_or_default()
                ),
            ),
        }
    }
    result
}
