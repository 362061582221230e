//! What a release's images must be before a deploy touches anything (`[images]` in organization.toml).

use serde::{Deserialize, Serialize};

/// The organisation's image policy: which scan findings refuse a release, and whether an image
/// nobody scanned may run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagePolicy {
    /// A finding of this severity or above refuses the release.
    pub block_severity: ImageSeverity,
    /// An image never scanned, or whose scan has not completed, refuses the release.
    pub require_scan: bool,
}

impl Default for ImagePolicy {
    fn default() -> Self {
        ImagePolicy { block_severity: ImageSeverity::High, require_scan: true }
    }
}

/// The severities of ECR's basic scanning, least severe first (so `>=` means "at least as bad").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ImageSeverity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl ImageSeverity {
    /// Most severe first: how a refusal lists the findings.
    pub const DESCENDING: [ImageSeverity; 5] = [
        ImageSeverity::Critical,
        ImageSeverity::High,
        ImageSeverity::Medium,
        ImageSeverity::Low,
        ImageSeverity::Informational,
    ];

    /// The name ECR and the config use.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageSeverity::Informational => "INFORMATIONAL",
            ImageSeverity::Low => "LOW",
            ImageSeverity::Medium => "MEDIUM",
            ImageSeverity::High => "HIGH",
            ImageSeverity::Critical => "CRITICAL",
        }
    }

    /// ECR's name for a severity; `UNDEFINED` (no vendor severity) and anything else is `None`.
    pub fn parse(name: &str) -> Option<ImageSeverity> {
        ImageSeverity::DESCENDING.into_iter().find(|s| s.as_str() == name)
    }
}

impl std::fmt::Display for ImageSeverity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_and_parse() {
        assert!(ImageSeverity::Critical > ImageSeverity::High);
        assert!(ImageSeverity::Low > ImageSeverity::Informational);
        for s in ImageSeverity::DESCENDING {
            assert_eq!(ImageSeverity::parse(s.as_str()), Some(s));
        }
        assert_eq!(ImageSeverity::parse("UNDEFINED"), None);
        assert_eq!(ImageSeverity::parse("high"), None);
    }

    #[test]
    fn the_policy_reads_from_toml_and_refuses_unknown_severities() {
        let p: ImagePolicy = toml::from_str("block_severity = \"CRITICAL\"\nrequire_scan = false").expect("policy");
        assert_eq!(p, ImagePolicy { block_severity: ImageSeverity::Critical, require_scan: false });
        assert!(toml::from_str::<ImagePolicy>("block_severity = \"SEVERE\"\nrequire_scan = true").is_err());
        assert!(toml::from_str::<ImagePolicy>("block_severity = \"HIGH\"").is_err());
    }
}
