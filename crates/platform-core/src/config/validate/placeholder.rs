//! Template placeholders left in the config tree, reported instead of read as values.

use std::path::Path;

use crate::config::Issues;

/// The text of a value that still holds a template placeholder, if it does.
pub fn find_placeholder(value: &str) -> Option<&'static str> {
    let lower = value.to_ascii_lowercase();
    if let Some(open) = value.find('<')
        && value[open..].contains('>')
    {
        return Some("<...>");
    }
    ["xxx", "changeme", "change-me", "replace-me", "replace_me", "your-", "todo"]
        .into_iter()
        .find(|marker| lower.contains(marker))
}

pub(crate) fn placeholders(file: &Path, table: &toml::Table, issues: &mut Issues) {
    fn walk(file: &Path, key: &str, value: &toml::Value, issues: &mut Issues) {
        match value {
            toml::Value::String(s) => {
                if let Some(marker) = find_placeholder(s) {
                    issues.placeholder(file, key, format!("`{s}` is a placeholder ({marker}), not a value"));
                }
            }
            toml::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(file, &format!("{key}[{i}]"), item, issues);
                }
            }
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let path = if key.is_empty() { k.clone() } else { format!("{key}.{k}") };
                    walk(file, &path, v, issues);
                }
            }
            _ => {}
        }
    }
    for (k, v) in table {
        walk(file, k, v, issues);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_from_the_runbook_are_recognised() {
        for bad in ["<your access key>", "Zxxxxxxxxxxxxxxxxxx", "bucketxxxxxxxx", "changeme", "<xxx-xxxxxxxx-dev.com>"]
        {
            assert!(find_placeholder(bad).is_some(), "{bad}");
        }
        for good in ["abc-trading-dev.com", "t3.medium", "Europe/London", "10.0.0.0/16"] {
            assert_eq!(find_placeholder(good), None, "{good}");
        }
    }
}
