//! What the checks need of template.yaml: state machines with their substitutions, functions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_norway::Value as Yaml;

use super::Inputs;

/// The parts of template.yaml the state-machine checks need.
#[derive(Debug, Default)]
pub(super) struct Template {
    /// Problem reading the template, reported by the checks that need it.
    pub(super) error: Option<String>,
    /// State machine resources: logical id -> (definition path relative to the template, substitutions).
    pub(super) machines: BTreeMap<String, (String, BTreeMap<String, Yaml>)>,
    /// Function resources: logical id -> function name (the built binary).
    pub(super) functions: BTreeMap<String, String>,
}

pub(super) fn load_template(path: &Path) -> Template {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Template { error: Some(format!("cannot read template: {e}")), ..Template::default() },
    };
    let doc: Yaml = match serde_norway::from_str(&text) {
        Ok(d) => d,
        Err(e) => return Template { error: Some(format!("template is not YAML: {e}")), ..Template::default() },
    };
    let mut template = Template::default();
    let Some(resources) = doc.get("Resources").and_then(Yaml::as_mapping) else {
        return Template { error: Some("template has no Resources".into()), ..template };
    };
    for (id, resource) in resources {
        let Some(id) = id.as_str() else { continue };
        let kind = resource.get("Type").and_then(Yaml::as_str).unwrap_or_default();
        let props = resource.get("Properties");
        match kind {
            "AWS::Serverless::StateMachine" => {
                // An inline `Definition` has no file to check here; cfn-lint reads it in place.
                let Some(uri) = props.and_then(|p| p.get("DefinitionUri")).and_then(Yaml::as_str) else { continue };
                let subs = props
                    .and_then(|p| p.get("DefinitionSubstitutions"))
                    .and_then(Yaml::as_mapping)
                    .map(|m| m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone()))).collect())
                    .unwrap_or_default();
                template.machines.insert(id.to_string(), (uri.to_string(), subs));
            }
            "AWS::Serverless::Function" => {
                let binary = resource
                    .get("Metadata")
                    .and_then(|m| m.get("BuildProperties"))
                    .and_then(|b| b.get("Binary"))
                    .and_then(Yaml::as_str)
                    .map(str::to_string);
                let code_dir = props
                    .and_then(|p| p.get("CodeUri"))
                    .and_then(Yaml::as_str)
                    .and_then(|c| Path::new(c).file_name().and_then(|n| n.to_str()).map(str::to_string));
                template.functions.insert(id.to_string(), binary.or(code_dir).unwrap_or_else(|| id.to_string()));
            }
            _ => {}
        }
    }
    template
}

/// The logical id a substitution value points at: `!GetAtt X.Arn`, `!Ref X`, or their long forms.
pub(super) fn referenced_resource(value: &Yaml) -> Option<String> {
    crate::runtime::template::logical_target(value)
}

/// Every `${Name}` in a definition's text. `${AWS::Region}` and friends count too: Step Functions
/// substitutes only what DefinitionSubstitutions supplies, so a pseudo-parameter must be passed in.
pub(super) fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        // A placeholder is an identifier (CloudFormation allows `.` and `::`) closed by `}`.
        let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || "_.:".contains(c))).unwrap_or(rest.len());
        let name = &rest[..len];
        if rest[len..].starts_with('}') && !name.is_empty() {
            out.insert(name.to_string());
        }
        rest = &rest[len..];
    }
    out
}

/// The template's state machines that use `file` as their definition.
pub(super) fn machines_for<'t>(
    inputs: &Inputs,
    template: &'t Template,
    file: &Path,
) -> Vec<(&'t String, &'t BTreeMap<String, Yaml>)> {
    let base = inputs.template.parent().unwrap_or(Path::new("."));
    template
        .machines
        .iter()
        .filter(|(_, (uri, _))| same_file(&base.join(uri), file))
        .map(|(id, (_, subs))| (id, subs))
        .collect()
}

pub(super) fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_identifiers_including_pseudo_parameters() {
        let found = placeholders(r#"{"a": "${FnArn}", "b": "arn:${AWS::Partition}:x:${Other}", "c": "${"}"#);
        let expected = ["AWS::Partition", "FnArn", "Other"].map(str::to_string);
        assert_eq!(found, BTreeSet::from(expected));
    }

    #[test]
    fn references_resolve_in_short_and_long_form() {
        let short: Yaml = serde_norway::from_str("!GetAtt VendingFunction.Arn").expect("yaml");
        let reference: Yaml = serde_norway::from_str("!Ref VendingFunction").expect("yaml");
        let long: Yaml = serde_norway::from_str("{'Fn::GetAtt': [VendingFunction, Arn]}").expect("yaml");
        let sub: Yaml = serde_norway::from_str("!Sub '${VendingFunction.Arn}'").expect("yaml");
        for v in [short, reference, long] {
            assert_eq!(referenced_resource(&v).as_deref(), Some("VendingFunction"));
        }
        assert_eq!(referenced_resource(&sub), None);
    }
}
