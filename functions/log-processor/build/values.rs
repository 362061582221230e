//! The compiled-in config files as Rust expressions of the structs the function reads them into.
//!
//! A cold start decoded 7 KB of JSON into these structs: 370k instructions, a quarter of the
//! function's init. Emitted as code, they are built by a few hundred stores and allocations. The
//! emitter refuses what the structs' serde derives refuse (unknown fields where they deny them,
//! missing required fields, wrong types), so a file the TOML path rejects also fails the build;
//! the crate's tests compare every emitted value with the TOML path's.

use serde_json::{Map, Value};

/// A file, or one value of it, that does not fit the struct it is read into.
#[derive(Debug, PartialEq, Eq)]
pub struct ShapeError(pub String);

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShapeError {}

type Emitted = Result<String, ShapeError>;

fn wrong(path: &str, expected: &str, value: &Value) -> ShapeError {
    ShapeError(format!("`{path}` should be {expected}, not `{value}`"))
}

/// `value` as a table whose keys are all in `allowed` (`None`: any, as a struct without
/// `deny_unknown_fields` reads it).
fn table<'v>(value: &'v Value, path: &str, allowed: Option<&[&str]>) -> Result<&'v Map<String, Value>, ShapeError> {
    let map = value.as_object().ok_or_else(|| wrong(path, "a table", value))?;
    if let Some(allowed) = allowed
        && let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str()))
    {
        return Err(ShapeError(format!("`{path}` has unknown field `{key}` (known: {})", allowed.join(", "))));
    }
    Ok(map)
}

fn required<'v>(map: &'v Map<String, Value>, path: &str, key: &str) -> Result<&'v Value, ShapeError> {
    map.get(key).ok_or_else(|| ShapeError(format!("`{path}` is missing field `{key}`")))
}

fn string(value: &Value, path: &str) -> Emitted {
    value.as_str().map(borrowed).ok_or_else(|| wrong(path, "a string", value))
}

/// `s` as a `crate::Text` borrowed from the binary: the cold start allocates nothing for it.
fn borrowed(s: &str) -> String {
    // Debug of a str is a Rust string literal, escapes included.
    format!("::std::borrow::Cow::Borrowed({s:?})")
}

fn field_string(map: &Map<String, Value>, path: &str, key: &str) -> Emitted {
    string(required(map, path, key)?, &format!("{path}.{key}"))
}

fn optional(map: &Map<String, Value>, path: &str, key: &str, emit: impl Fn(&Value, &str) -> Emitted) -> Emitted {
    match map.get(key) {
        None => Ok("None".into()),
        Some(value) => Ok(format!("Some({})", emit(value, &format!("{path}.{key}"))?)),
    }
}

fn list(value: &Value, path: &str, emit: impl Fn(&Value, &str) -> Emitted) -> Emitted {
    let items = value.as_array().ok_or_else(|| wrong(path, "an array", value))?;
    let items: Result<Vec<String>, ShapeError> =
        items.iter().enumerate().map(|(i, item)| emit(item, &format!("{path}[{i}]"))).collect();
    Ok(format!("vec![{}]", items?.join(", ")))
}

fn strings(value: &Value, path: &str) -> Emitted {
    list(value, path, string)
}

/// A unit enum variant spelled as serde's `rename_all = "lowercase"` reads it.
fn variant(value: &Value, path: &str, enum_path: &str, variants: &[&str]) -> Emitted {
    let name = value.as_str().ok_or_else(|| wrong(path, "a string", value))?;
    let known = variants.iter().find(|v| v.to_lowercase() == name);
    let variant = known.ok_or_else(|| wrong(path, &format!("one of {}", variants.join(", ").to_lowercase()), value))?;
    Ok(format!("{enum_path}::{variant}"))
}

/// `config/log-processing.toml` as `Vec<RuleConfig>` (the `RulesFile` and `RedactionSection`
/// around it deny unknown fields too).
pub fn rules(file: &Value) -> Emitted {
    let top = table(file, "log-processing", Some(&["redaction"]))?;
    let section = table(required(top, "log-processing", "redaction")?, "redaction", Some(&["rules"]))?;
    list(required(section, "redaction", "rules")?, "redaction.rules", |rule, path| {
        let map = table(rule, path, Some(&["name", "enabled", "triggers", "pattern", "kind"]))?;
        let enabled = required(map, path, "enabled")?;
        let enabled = enabled.as_bool().ok_or_else(|| wrong(&format!("{path}.enabled"), "a boolean", enabled))?;
        let triggers = match map.get("triggers") {
            None => "Vec::new()".into(),
            Some(value) => strings(value, &format!("{path}.triggers"))?,
        };
        Ok(format!(
            "crate::redact::RuleConfig {{ name: {}, enabled: {enabled}, triggers: {triggers}, pattern: {}, kind: {} }}",
            field_string(map, path, "name")?,
            optional(map, path, "pattern", string)?,
            optional(map, path, "kind", string)?,
        ))
    })
}

/// `config/log-signatures.toml` as `CatalogueFile`.
pub fn catalogue(file: &Value) -> Emitted {
    let top = table(file, "log-signatures", Some(&["signatures", "triage"]))?;
    let signatures = list(required(top, "log-signatures", "signatures")?, "signatures", |signature, path| {
        let fields = ["name", "severity", "action", "description", "all_of", "pattern", "runbook", "remediation"];
        let map = table(signature, path, Some(&fields))?;
        let severity = variant(
            required(map, path, "severity")?,
            &format!("{path}.severity"),
            "crate::classify::Severity",
            &["Low", "Medium", "High", "Critical"],
        )?;
        let action = variant(
            required(map, path, "action")?,
            &format!("{path}.action"),
            "crate::classify::Action",
            &["Count", "Notify", "Remediate"],
        )?;
        Ok(format!(
            "crate::classify::SignatureConfig {{ name: {}, severity: {severity}, action: {action}, description: {}, \
             all_of: {}, pattern: {}, _runbook: {}, _remediation: {} }}",
            field_string(map, path, "name")?,
            field_string(map, path, "description")?,
            list(required(map, path, "all_of")?, &format!("{path}.all_of"), strings)?,
            optional(map, path, "pattern", string)?,
            optional(map, path, "runbook", string)?,
            optional(map, path, "remediation", string)?,
        ))
    })?;
    // Triage's table is read by another function: here it only has to be there or not.
    let triage = if top.contains_key("triage") { "Some(serde::de::IgnoredAny)" } else { "None" };
    Ok(format!("crate::classify::CatalogueFile {{ signatures: {signatures}, _triage: {triage} }}"))
}

/// `config/services.toml` as `ServicesFile` (no field denied: the config tree validates the rest).
pub fn services(file: &Value) -> Emitted {
    let top = table(file, "services", None)?;
    let services = optional(top, "services", "services", |value, path| {
        let map = table(value, path, None)?;
        let entries: Result<Vec<String>, ShapeError> = map
            .iter()
            .map(|(name, service)| {
                let path = format!("{path}.{name}");
                let kind = optional(table(service, &path, None)?, &path, "kind", string)?;
                Ok(format!("({}, crate::services::ServiceFile {{ kind: {kind} }})", borrowed(name)))
            })
            .collect();
        Ok(format!("std::collections::BTreeMap::from([{}])", entries?.join(", ")))
    })?;
    let tiers = match top.get("tiers") {
        None => "Vec::new()".into(),
        Some(value) => list(value, "tiers", |tier, path| {
            let map = table(tier, path, None)?;
            Ok(format!(
                "crate::services::TierFile {{ name: {}, services: {} }}",
                field_string(map, path, "name")?,
                strings(required(map, path, "services")?, &format!("{path}.services"))?,
            ))
        })?,
    };
    Ok(format!("crate::services::ServicesFile {{ services: {services}, tiers: {tiers} }}"))
}

/// `config/monitoring.toml` as `MonitoringFile` (its `[slo]`, the one table read).
pub fn monitoring(file: &Value) -> Emitted {
    let top = table(file, "monitoring", None)?;
    let slo = optional(top, "monitoring", "slo", |slo, path| {
        let map = table(slo, path, None)?;
        let objectives = match map.get("objectives") {
            None => "Vec::new()".into(),
            Some(value) => list(value, &format!("{path}.objectives"), |objective, path| {
                let map = table(objective, path, None)?;
                let latency = required(map, path, "latency_ms")?;
                let latency = latency
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| wrong(&format!("{path}.latency_ms"), "a whole number of milliseconds", latency))?;
                Ok(format!(
                    "crate::services::ObjectiveFile {{ tier: {}, latency_ms: {latency} }}",
                    field_string(map, path, "tier")?
                ))
            })?,
        };
        Ok(format!("crate::services::SloFile {{ objectives: {objectives} }}"))
    })?;
    Ok(format!("crate::services::MonitoringFile {{ slo: {slo} }}"))
}
