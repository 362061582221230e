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

/// The template read once, through the local runtime's model (the same reading `platform-ops demo`
/// runs on): parameters without a default take a placeholder, as validation has no deployment.
pub(super) fn load_template(path: &Path) -> Template {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Template { error: Some(format!("cannot read template: {e}")), ..Template::default() },
    };
    let doc: Yaml = match serde_norway::from_str(&text) {
        Ok(d) => d,
        Err(e) => return Template { error: Some(format!("template is not YAML: {e}")), ..Template::default() },
    };
    if doc.get("Resources").and_then(Yaml::as_mapping).is_none() {
        return Template { error: Some("template has no Resources".into()), ..Template::default() };
    }
    let placeholders: BTreeMap<String, String> = doc
        .get("Parameters")
        .and_then(Yaml::as_mapping)
        .into_iter()
        .flatten()
        .filter(|(_, p)| p.get("Default").is_none())
        .filter_map(|(name, p)| {
            let allowed = p.get("AllowedValues").and_then(Yaml::as_sequence).and_then(|v| v.first()?.as_str());
            Some((name.as_str()?.to_string(), allowed.unwrap_or("validate").to_string()))
        })
        .collect();
    let model = match crate::runtime::template::Template::from_yaml(&doc, &placeholders) {
        Ok(m) => m,
        Err(e) => return Template { error: Some(format!("template does not load: {e}")), ..Template::default() },
    };
    Template {
        error: None,
        // An inline `Definition` has no file to check here; cfn-lint reads it in place.
        machines: model
            .machines
            .values()
            .filter_map(|m| Some((m.id.clone(), (m.definition_uri.clone()?, m.raw_substitutions.clone()))))
            .collect(),
        functions: model.functions.values().map(|f| (f.id.clone(), f.binary.clone())).collect(),
    }
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
