//! Every checkov skip names its check and says why.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_norway::Value as Yaml;

use super::*;

/// Every checkov skip in a template names the check and says why, in its own words.
pub(super) fn check_suppressions(inputs: &Inputs, templates: &[PathBuf]) -> CheckResult {
    let scope = templates.iter().map(|t| rel(inputs, t)).collect::<Vec<_>>().join(", ");
    let mut result = CheckResult { check: "suppressions", scope, findings: Vec::new() };
    for path in templates {
        let file = rel(inputs, path);
        // Unreadable templates are cfn-lint's to report.
        let Ok(doc) = std::fs::read_to_string(path)
            .map_err(|_| ())
            .and_then(|t| serde_norway::from_str::<Yaml>(&t).map_err(|_| ()))
        else {
            continue;
        };
        let Some(resources) = doc.get("Resources").and_then(Yaml::as_mapping) else { continue };
        for (id, resource) in resources {
            let id = id.as_str().unwrap_or_default();
            let Some(skips) = resource.get("Metadata").and_then(|m| m.get("checkov")).and_then(|c| c.get("skip"))
            else {
                continue;
            };
            let location = format!("Resources/{id}/Metadata/checkov/skip");
            let Some(skips) = skips.as_sequence() else {
                result.findings.push(Finding {
                    file: file.clone(),
                    location: Some(location),
                    message: "must be a list of {id, comment}".into(),
                });
                continue;
            };
            let mut seen = BTreeSet::new();
            for (i, skip) in skips.iter().enumerate() {
                let at = Some(format!("{location}/{i}"));
                let check = skip.get("id").and_then(Yaml::as_str).unwrap_or_default();
                if !is_checkov_id(check) {
                    result.findings.push(Finding {
                        file: file.clone(),
                        location: at.clone(),
                        message: format!("`{check}` is not a checkov check id (CKV_AWS_123, CKV2_AWS_12)"),
                    });
                } else if !seen.insert(check.to_string()) {
                    result.findings.push(Finding {
                        file: file.clone(),
                        location: at.clone(),
                        message: format!("{check} is skipped twice"),
                    });
                }
                let comment = skip.get("comment").and_then(Yaml::as_str).unwrap_or_default().trim();
                // A reason is a sentence about this resource, not a word.
                if comment.split_whitespace().count() < 5 {
                    result.findings.push(Finding {
                        file: file.clone(),
                        location: at,
                        message: format!("the skip of `{check}` needs a comment with its reason (found `{comment}`)"),
                    });
                }
            }
        }
    }
    result
}

fn is_checkov_id(id: &str) -> bool {
    let mut parts = id.split('_');
    matches!(parts.next(), Some("CKV" | "CKV2"))
        && parts.next().is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_uppercase()))
        && parts.next().is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && parts.next().is_none()
}
