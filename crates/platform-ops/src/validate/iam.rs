//! IAM in the templates: every role the pipeline makes bounded, trust by principal ARN, events published by detail-type, trust anchors as deployed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_norway::Value as Yaml;

use super::samconfig::parameter_overrides;
use super::template::same_file;
use super::*;

/// The boundary every role of template.yaml carries (stacksets/pipeline-access.yaml makes it, and
/// its execution role creates no role without it).
const BOUNDARY: &str = "policy/abc-trading-${Environment}-permissions-boundary";

/// The four rules of issue 16 that a policy can break in a template, and the trust anchors of the
/// member baseline against the deploy profiles.
pub(super) fn check_iam(inputs: &Inputs, templates: &[PathBuf]) -> CheckResult {
    let scope = templates.iter().map(|t| rel(inputs, t)).collect::<Vec<_>>().join(", ");
    let mut result = CheckResult { check: "iam", scope, findings: Vec::new() };
    for path in templates {
        // Unreadable templates are cfn-lint's to report.
        let Some(doc) = read_yaml(path) else { continue };
        let file = rel(inputs, path);
        let mut found = |location: String, message: String| {
            result.findings.push(Finding { file: file.clone(), location: Some(location), message })
        };
        if same_file(path, &inputs.template) {
            check_boundaries(&doc, &mut found);
        }
        check_policies(&doc, &mut found);
        if path.file_name().is_some_and(|n| n == "member-baseline.yaml") {
            check_trust_anchors(&doc, &inputs.samconfig, &mut found);
        }
    }
    result
}

fn read_yaml(path: &Path) -> Option<Yaml> {
    serde_norway::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// (a) Every function, state machine and role of template.yaml has the environment's boundary:
/// SAM puts a function's or state machine's on the roles it generates for it and its events.
fn check_boundaries(doc: &Yaml, found: &mut impl FnMut(String, String)) {
    let global = doc.get("Globals").and_then(|g| g.get("Function")).and_then(|f| f.get("PermissionsBoundary"));
    for (id, resource) in resources(doc) {
        let kind = resource.get("Type").and_then(Yaml::as_str).unwrap_or_default();
        let props = resource.get("Properties");
        let own = props.and_then(|p| p.get("PermissionsBoundary"));
        let boundary = match kind {
            // A SAM resource given an existing role generates none; that role is checked itself.
            "AWS::Serverless::Function" | "AWS::Serverless::StateMachine"
                if props.and_then(|p| p.get("Role")).is_some() =>
            {
                continue;
            }
            "AWS::Serverless::Function" => own.or(global),
            "AWS::Serverless::StateMachine" | "AWS::IAM::Role" => own,
            _ => continue,
        };
        let at = format!("Resources/{id}");
        match boundary.and_then(text) {
            None => found(
                at,
                format!(
                    "{kind} has no PermissionsBoundary: every role this stack makes carries abc-trading-${{Environment}}-permissions-boundary"
                ),
            ),
            Some(b) if !b.ends_with(BOUNDARY) => {
                found(at, format!("its PermissionsBoundary `{b}` is not the environment's ({BOUNDARY})"))
            }
            Some(_) => {}
        }
    }
}

/// (b), (c) and the pipeline's side of (a), statement by statement.
fn check_policies(doc: &Yaml, found: &mut impl FnMut(String, String)) {
    let boundaries = boundary_policies(doc);
    let mut creates_roles = Vec::new();
    let mut denies_unbounding = false;
    let mut denies_unbounded_policies = false;
    for (id, resource) in resources(doc) {
        let kind = resource.get("Type").and_then(Yaml::as_str).unwrap_or_default();
        let Some(props) = resource.get("Properties") else { continue };
        if let Some(trust) = props.get("AssumeRolePolicyDocument") {
            for (i, st) in statements(trust).into_iter().enumerate() {
                check_trust(st, &format!("Resources/{id}/AssumeRolePolicyDocument/Statement[{i}]"), found);
            }
        }
        // A boundary grants nothing: what it allows is a ceiling, not a grant.
        if boundaries.contains(id) {
            continue;
        }
        for (at, st) in granting_statements(kind, props) {
            let at = format!("Resources/{id}/{at}");
            match st {
                Granted::Template(name) if name == "EventBridgePutEventsPolicy" => found(
                    at,
                    "EventBridgePutEventsPolicy grants every detail-type: a Statement with an events:detail-type condition instead".into(),
                ),
                Granted::Template(_) => {}
                Granted::Statement(st) => {
                    let deny = st.get("Effect").and_then(Yaml::as_str) == Some("Deny");
                    let actions = strings(st.get("Action"));
                    let has = |action: &str| actions.iter().any(|a| glob(a, action));
                    if deny {
                        denies_unbounding |= has("iam:DeleteRolePermissionsBoundary");
                        denies_unbounded_policies |=
                            has("iam:PutRolePolicy") && has_condition(st, "iam:PermissionsBoundary");
                        continue;
                    }
                    if has("events:PutEvents") && !has_condition(st, "events:detail-type") {
                        found(at.clone(), "allows events:PutEvents without an events:detail-type condition".into());
                    }
                    if has("iam:CreateRole") {
                        creates_roles.push(at.clone());
                        if !has_condition(st, "iam:PermissionsBoundary") {
                            found(at, "allows iam:CreateRole without an iam:PermissionsBoundary condition".into());
                        }
                    }
                }
            }
        }
    }
    if let Some(at) = creates_roles.first() {
        if !denies_unbounding {
            found(at.clone(), "lets roles be created but does not deny iam:DeleteRolePermissionsBoundary".into());
        }
        if !denies_unbounded_policies {
            found(
                at.clone(),
                "lets roles be created but does not deny iam:PutRolePolicy on roles without the boundary (iam:PermissionsBoundary)".into(),
            );
        }
    }
}

/// (b) A trust in another account's principals names them by ARN: a tag is something that
/// account's administrators (or a pipeline allowed to tag roles) can put on any principal.
fn check_trust(st: &Yaml, at: &str, found: &mut impl FnMut(String, String)) {
    if st.get("Effect").and_then(Yaml::as_str) != Some("Allow") {
        return;
    }
    let Some(aws) = st.get("Principal").and_then(|p| p.get("AWS")) else { return };
    let keys = condition_keys(st);
    for key in keys.iter().filter(|k| k.to_ascii_lowercase().starts_with("aws:principaltag/")) {
        found(
            at.to_string(),
            format!("trusts by {key} (a tag the principal's account can set) instead of aws:PrincipalArn"),
        );
    }
    let whole_account = strings(Some(aws)).iter().any(|p| p == "*" || p.ends_with(":root") || is_account_id(p));
    if whole_account && !has_condition(st, "aws:PrincipalArn") {
        found(at.to_string(), "trusts every principal of an account: condition on aws:PrincipalArn".into());
    }
}

/// The member baseline's trust anchors (its Rules) are the deploy profiles' values: the
/// organisation, and each environment's automation account.
fn check_trust_anchors(doc: &Yaml, samconfig: &Path, found: &mut impl FnMut(String, String)) {
    let at = "Rules/TrustAnchors".to_string();
    let Some(assertions) = doc
        .get("Rules")
        .and_then(|r| r.get("TrustAnchors"))
        .and_then(|t| t.get("Assertions"))
        .and_then(Yaml::as_sequence)
    else {
        found(
            at,
            "the member baseline has no TrustAnchors rule: its trust anchors could be overridden per instance".into(),
        );
        return;
    };
    let mut organisation = None;
    let mut accounts = BTreeMap::new();
    for assertion in assertions.iter().filter_map(|a| a.get("Assert")) {
        if let Some((name, value)) = equals_ref(assertion) {
            if name == "OrganizationId" {
                organisation = Some(value);
            }
            continue;
        }
        for alternative in intrinsic(assertion, "Or").and_then(Yaml::as_sequence).into_iter().flatten() {
            let pairs: BTreeMap<String, String> = intrinsic(alternative, "And")
                .and_then(Yaml::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(equals_ref)
                .collect();
            if let (Some(env), Some(account)) = (pairs.get("Environment"), pairs.get("AutomationAccountId")) {
                accounts.insert(env.clone(), account.clone());
            }
        }
    }
    let Ok(text) = std::fs::read_to_string(samconfig) else { return };
    let Ok(profiles) = toml::from_str::<toml::Table>(&text) else { return };
    for (profile, table) in &profiles {
        let Some(overrides) =
            table.get("deploy").and_then(|d| d.get("parameters")).and_then(|p| p.get("parameter_overrides"))
        else {
            continue;
        };
        let Ok(given) = parameter_overrides(overrides) else { continue };
        let given: BTreeMap<_, _> = given.into_iter().collect();
        if let Some(org) = given.get("OrganizationId")
            && organisation.as_ref() != Some(org)
        {
            found(
                at.clone(),
                format!(
                    "asserts OrganizationId `{}` but samconfig.toml's {profile} profile deploys to `{org}`",
                    organisation.clone().unwrap_or_default()
                ),
            );
        }
        if let Some(account) = given.get("AutomationAccountId")
            && accounts.get(profile) != Some(account)
        {
            found(
                at.clone(),
                format!(
                    "gives {profile} the automation account `{}` but samconfig.toml's {profile} profile has `{account}`",
                    accounts.get(profile).cloned().unwrap_or_default()
                ),
            );
        }
    }
}

/// What a resource grants: its statements (with where they are), or the SAM policy templates it names.
enum Granted<'a> {
    Statement(&'a Yaml),
    Template(String),
}

fn granting_statements<'a>(kind: &str, props: &'a Yaml) -> Vec<(String, Granted<'a>)> {
    fn document<'a>(out: &mut Vec<(String, Granted<'a>)>, at: String, doc: &'a Yaml) {
        for (i, st) in statements(doc).into_iter().enumerate() {
            out.push((format!("{at}/Statement[{i}]"), Granted::Statement(st)));
        }
    }
    let mut out = Vec::new();
    match kind {
        "AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group" => {
            for (i, p) in props.get("Policies").and_then(Yaml::as_sequence).into_iter().flatten().enumerate() {
                if let Some(doc) = p.get("PolicyDocument") {
                    document(&mut out, format!("Policies[{i}]"), doc);
                }
            }
        }
        "AWS::IAM::ManagedPolicy" | "AWS::IAM::Policy" => {
            if let Some(doc) = props.get("PolicyDocument") {
                document(&mut out, "PolicyDocument".into(), doc);
            }
        }
        "AWS::Events::EventBusPolicy" => {
            if let Some(st) = props.get("Statement") {
                out.push(("Statement".into(), Granted::Statement(st)));
            }
        }
        "AWS::Serverless::Function" | "AWS::Serverless::StateMachine" => {
            for (i, p) in props.get("Policies").and_then(Yaml::as_sequence).into_iter().flatten().enumerate() {
                match p.as_mapping() {
                    Some(m) if m.contains_key("Statement") => document(&mut out, format!("Policies[{i}]"), p),
                    Some(m) => out.extend(
                        m.keys()
                            .filter_map(Yaml::as_str)
                            .map(|t| (format!("Policies[{i}]"), Granted::Template(t.into()))),
                    ),
                    None => {}
                }
            }
        }
        _ => {}
    }
    out
}

/// The managed policies the template uses as permissions boundaries: what a `PermissionsBoundary`
/// property or an `iam:PermissionsBoundary` condition refers to.
fn boundary_policies(doc: &Yaml) -> BTreeSet<String> {
    fn walk(v: &Yaml, under_boundary: bool, out: &mut BTreeSet<String>) {
        match v {
            Yaml::Mapping(m) => {
                for (k, child) in m {
                    let key = k.as_str().unwrap_or_default();
                    if under_boundary && key == "Ref" {
                        out.extend(child.as_str().map(str::to_string));
                    }
                    let boundary = key == "PermissionsBoundary" || key.eq_ignore_ascii_case("iam:PermissionsBoundary");
                    walk(child, under_boundary || boundary, out);
                }
            }
            Yaml::Sequence(items) => items.iter().for_each(|i| walk(i, under_boundary, out)),
            Yaml::Tagged(t) => {
                if under_boundary && t.tag.to_string().trim_start_matches('!') == "Ref" {
                    out.extend(t.value.as_str().map(str::to_string));
                }
                walk(&t.value, under_boundary, out);
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(doc, false, &mut out);
    out
}

fn resources(doc: &Yaml) -> Vec<(&str, &Yaml)> {
    doc.get("Resources")
        .and_then(Yaml::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?, v)))
        .collect()
}

/// A policy document's statements: one or a list, `!If` alternatives both counted.
fn statements(doc: &Yaml) -> Vec<&Yaml> {
    let mut out = Vec::new();
    fn add<'a>(v: &'a Yaml, out: &mut Vec<&'a Yaml>) {
        if let Some(branches) = intrinsic(v, "If").and_then(Yaml::as_sequence) {
            branches.iter().skip(1).for_each(|b| add(b, out));
        } else if let Some(items) = v.as_sequence() {
            items.iter().for_each(|i| add(i, out));
        } else if v.as_mapping().is_some_and(|m| m.contains_key("Effect")) {
            out.push(v);
        }
    }
    if let Some(st) = doc.get("Statement") {
        add(st, &mut out);
    }
    out
}

/// An intrinsic's argument, in the short (`!If`) or the long (`Fn::If`, `Ref`) form.
fn intrinsic<'a>(v: &'a Yaml, name: &str) -> Option<&'a Yaml> {
    match v {
        Yaml::Tagged(t) if t.tag.to_string().trim_start_matches('!') == name => Some(&t.value),
        Yaml::Mapping(m) if m.len() == 1 => {
            let long = if name == "Ref" { name.to_string() } else { format!("Fn::{name}") };
            m.get(long.as_str())
        }
        _ => None,
    }
}

/// A string, or the text of a `!Sub`.
fn text(v: &Yaml) -> Option<String> {
    if let Some(s) = v.as_str() {
        return Some(s.to_string());
    }
    let sub = intrinsic(v, "Sub")?;
    sub.as_str().or_else(|| sub.as_sequence()?.first()?.as_str()).map(str::to_string)
}

/// The strings of a value: itself, its items, or the branches of an `!If`.
fn strings(v: Option<&Yaml>) -> Vec<String> {
    let Some(v) = v else { return Vec::new() };
    if let Some(branches) = intrinsic(v, "If").and_then(Yaml::as_sequence) {
        return branches.iter().skip(1).flat_map(|b| strings(Some(b))).collect();
    }
    match v.as_sequence() {
        Some(items) => items.iter().flat_map(|i| strings(Some(i))).collect(),
        None => text(v).into_iter().collect(),
    }
}

/// `!Equals [!Ref NAME, "value"]` as (NAME, value).
fn equals_ref(v: &Yaml) -> Option<(String, String)> {
    let args = intrinsic(v, "Equals")?.as_sequence()?;
    let name = intrinsic(args.first()?, "Ref")?.as_str()?.to_string();
    let value = args.get(1)?;
    let value = value.as_str().map(str::to_string).or_else(|| value.as_u64().map(|n| n.to_string()))?;
    Some((name, value))
}

fn condition_keys(st: &Yaml) -> Vec<String> {
    st.get("Condition")
        .and_then(Yaml::as_mapping)
        .into_iter()
        .flatten()
        .filter(|(op, _)| !op.as_str().unwrap_or_default().contains("Not"))
        .flat_map(|(_, keys)| {
            keys.as_mapping().into_iter().flatten().filter_map(|(k, _)| k.as_str().map(str::to_string))
        })
        .collect()
}

/// A condition on `key`: in an Allow, a positive one (a negated operator says what is refused, not
/// what is required); in a Deny, any (`StringNotEquals` is how a Deny says "unless").
fn has_condition(st: &Yaml, key: &str) -> bool {
    let any_operator = st
        .get("Condition")
        .and_then(Yaml::as_mapping)
        .into_iter()
        .flatten()
        .flat_map(|(_, keys)| keys.as_mapping().into_iter().flatten().filter_map(|(k, _)| k.as_str()))
        .any(|k| k.eq_ignore_ascii_case(key));
    let deny = st.get("Effect").and_then(Yaml::as_str) == Some("Deny");
    if deny { any_operator } else { condition_keys(st).iter().any(|k| k.eq_ignore_ascii_case(key)) }
}

fn is_account_id(p: &str) -> bool {
    p.len() == 12 && p.chars().all(|c| c.is_ascii_digit())
}

/// IAM's action matching: case-insensitive, `*` any run, `?` any one character.
fn glob(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &a[1..]),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_match_as_iam_matches_them() {
        assert!(glob("events:*", "events:PutEvents"));
        assert!(glob("EVENTS:put?vents", "events:PutEvents"));
        assert!(glob("*", "iam:CreateRole"));
        assert!(!glob("events:PutRule", "events:PutEvents"));
    }

    #[test]
    fn statements_include_both_branches_of_an_if() {
        let doc: Yaml = serde_norway::from_str(
            "Statement:\n  - {Effect: Allow, Action: a:B, Resource: '*'}\n  - !If [C, {Effect: Allow, Action: c:D, Resource: '*'}, !Ref AWS::NoValue]\n",
        )
        .expect("yaml");
        assert_eq!(statements(&doc).len(), 2);
    }

    #[test]
    fn a_negated_condition_is_no_requirement() {
        let st: Yaml = serde_norway::from_str("{Effect: Allow, Condition: {StringNotEquals: {events:detail-type: X}}}")
            .expect("yaml");
        assert!(!has_condition(&st, "events:detail-type"));
    }
}
