//! Known failure signatures, from the data-driven catalogue in `config/log-signatures.toml`.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use serde::{Deserialize, Serialize};

use crate::Text;
use crate::pattern::{Pattern, PatternError};

/// The catalogue shipped with the function, compiled in.
pub const DEFAULT_SIGNATURES: &str = include_str!("../../../config/log-signatures.toml");

/// Signatures a catalogue may hold.
pub const MAX_SIGNATURES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// What a match should lead to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Metrics only.
    Count,
    /// An `abc.platform` event for people.
    Notify,
    /// An event that also drives an automated fix.
    Remediate,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogueFile {
    pub(crate) signatures: Vec<SignatureConfig>,
    /// Signal triage's settings, in the same file; validated by the config tree, not used here.
    #[serde(default, rename = "triage")]
    pub(crate) _triage: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignatureConfig {
    pub(crate) name: Text,
    pub(crate) severity: Severity,
    pub(crate) action: Action,
    pub(crate) description: Text,
    pub(crate) all_of: Vec<Vec<Text>>,
    pub(crate) pattern: Option<Text>,
    /// Triage's routing of the detection (runbook anchor, remediation); validated by the config
    /// tree, carried to people by triage, not by the event.
    #[serde(default, rename = "runbook")]
    pub(crate) _runbook: Option<Text>,
    #[serde(default, rename = "remediation")]
    pub(crate) _remediation: Option<Text>,
}

#[derive(Debug)]
pub struct Signature {
    pub name: Text,
    pub severity: Severity,
    pub action: Action,
    pub description: Text,
    /// One bit per `all_of` group; the signature matches when all are set.
    groups: u32,
    pattern: Option<Pattern>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("signature catalogue is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("signature `{name}`: {message}")]
    Signature { name: String, message: String },
    #[error("signature `{name}`")]
    Pattern {
        name: String,
        #[source]
        source: PatternError,
    },
}

/// The catalogue compiled into one case-insensitive automaton over every literal.
#[derive(Debug)]
pub struct Classifier {
    signatures: Vec<Signature>,
    /// Literal (lower case) -> (signature, group bit) pairs it satisfies.
    literal_strings: Vec<Text>,
    literal_groups: Vec<Vec<(usize, u32)>>,
    /// Built on the first [`Classifier::classify`]: the pipeline never needs it (its scanner has
    /// its own table), and init is what it would cost. `None`: it could not be built.
    automaton: OnceLock<Option<AhoCorasick>>,
}

impl Classifier {
    pub fn with_default_catalogue() -> Result<Classifier, CatalogueError> {
        Self::build(crate::compiled::catalogue(), |p: Text| Pattern::shipped(p))
    }

    pub fn from_toml(text: &str) -> Result<Classifier, CatalogueError> {
        Self::parse(text, |p: Text| Pattern::new(p))
    }

    /// The catalogue in `text`, each pattern held by `pattern` (checked, or shipped).
    fn parse(text: &str, pattern: fn(Text) -> Result<Pattern, PatternError>) -> Result<Classifier, CatalogueError> {
        Self::build(toml::from_str(text)?, pattern)
    }

    fn build(
        file: CatalogueFile,
        pattern: fn(Text) -> Result<Pattern, PatternError>,
    ) -> Result<Classifier, CatalogueError> {
        let mut names = BTreeSet::new();
        let mut signatures = Vec::with_capacity(file.signatures.len());
        // About two literals a signature (one Vec to grow, not four).
        let mut literals: Vec<Text> = Vec::with_capacity(2 * file.signatures.len());
        let mut literal_groups: Vec<Vec<(usize, u32)>> = Vec::with_capacity(2 * file.signatures.len());
        for (index, config) in file.signatures.into_iter().enumerate() {
            let fail = |message: String| CatalogueError::Signature { name: config.name.to_string(), message };
            // classify() tracks matches in a fixed 64-slot table: refuse more rather than ignore them.
            if index == MAX_SIGNATURES {
                return Err(fail(format!("more than {MAX_SIGNATURES} signatures")));
            }
            if !names.insert(config.name.clone()) {
                return Err(fail("is defined twice".into()));
            }
            if config.all_of.is_empty() || config.all_of.len() > 32 {
                return Err(fail("all_of needs between 1 and 32 groups".into()));
            }
            for (g, group) in config.all_of.iter().enumerate() {
                if group.is_empty() || group.iter().any(|l| l.is_empty()) {
                    return Err(fail(format!("all_of group {g} is empty or has an empty literal")));
                }
                for literal in group {
                    let lower = crate::ascii_lowercase(literal);
                    let at = match literals.iter().position(|l| *l == lower) {
                        Some(at) => at,
                        None => {
                            literals.push(lower);
                            literal_groups.push(Vec::new());
                            literals.len() - 1
                        }
                    };
                    literal_groups[at].push((index, 1 << g));
                }
            }
            let pattern = config
                .pattern
                .clone()
                .map(pattern)
                .transpose()
                .map_err(|source| CatalogueError::Pattern { name: config.name.to_string(), source })?;
            let groups = if config.all_of.len() == 32 { u32::MAX } else { (1u32 << config.all_of.len()) - 1 };
            signatures.push(Signature {
                name: config.name,
                severity: config.severity,
                action: config.action,
                description: config.description,
                groups,
                pattern,
            });
        }
        Ok(Classifier { signatures, literal_strings: literals, literal_groups, automaton: OnceLock::new() })
    }

    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// Indices of the signatures `text` shows, in catalogue order. Most lines match no literal
    /// at all, which costs one automaton scan and no allocation.
    pub fn classify(&self, text: &str, out: &mut Vec<usize>) {
        out.clear();
        let mut seen = Seen::default();
        match self.automaton.get_or_init(|| crate::redact::case_insensitive(&self.literal_strings)) {
            Some(automaton) => {
                for m in automaton.find_overlapping_iter(text) {
                    seen.add(&self.literal_groups[m.pattern().as_usize()]);
                }
            }
            // With no literal search every group counts as seen: signatures fire on their
            // patterns alone rather than go silent.
            None => self.literal_groups.iter().for_each(|pairs| seen.add(pairs)),
        }
        self.evaluate(text, &seen, out);
    }

    /// Literals (lower case) with the (signature, group bit) pairs each satisfies, for a scanner
    /// shared with the redactor.
    pub(crate) fn literals(&self) -> impl Iterator<Item = (&str, &[(usize, u32)])> {
        self.literal_strings.iter().map(|l| &**l).zip(self.literal_groups.iter().map(Vec::as_slice))
    }

    /// The signatures whose every group was seen (and whose pattern, if any, matches `text`).
    // Not inlined: a profile shows each stage as its own (one call per text costs nothing).
    #[inline(never)]
    pub(crate) fn evaluate(&self, text: &str, seen: &Seen, out: &mut Vec<usize>) {
        out.clear();
        if !seen.any {
            return;
        }
        let seen = &seen.groups;
        for (i, sig) in self.signatures.iter().enumerate() {
            if seen[i] == sig.groups && sig.pattern.as_ref().is_none_or(|p| pattern_matches(p, text)) {
                out.push(i);
            }
        }
    }
}

/// Whether `pattern` matches `text`; a pattern that cannot be compiled counts as matching, so its
/// signature still fires on its literals rather than going silent.
fn pattern_matches(pattern: &Pattern, text: &str) -> bool {
    pattern.regex().map_or(true, |re| re.is_match(text))
}

/// Which `all_of` groups of which signatures a text showed.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    groups: [u32; MAX_SIGNATURES],
    any: bool,
}

impl Default for Seen {
    fn default() -> Self {
        Seen { groups: [0; MAX_SIGNATURES], any: false }
    }
}

impl Seen {
    /// Nothing seen, as a new one; the groups are cleared only when something was (most texts
    /// show no signature literal).
    pub(crate) fn clear(&mut self) {
        if self.any {
            *self = Seen::default();
        }
    }

    pub(crate) fn add(&mut self, pairs: &[(usize, u32)]) {
        for &(sig, bit) in pairs {
            if let Some(slot) = self.groups.get_mut(sig) {
                *slot |= bit;
                self.any = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(text: &str) -> Vec<String> {
        let c = Classifier::with_default_catalogue().expect("catalogue compiles");
        let mut out = Vec::new();
        c.classify(text, &mut out);
        out.into_iter().map(|i| c.signatures()[i].name.to_string()).collect()
    }

    #[test]
    fn the_runbook_failures_are_recognised() {
        let cases = [
            ("Warning  Failed  pod/api-gateway-1  Error: ErrImagePull", "ImagePullBackOff"),
            ("pod/audit-2 status ImagePullBackOff", "ImagePullBackOff"),
            ("Back-off restarting failed container settlement", "CrashLoopBackOff"),
            ("Last State: Terminated Reason: OOMKilled", "OOMKilled"),
            ("java.lang.OutOfMemoryError: Java heap space", "OOMKilled"),
            ("tls: failed to verify certificate: x509: certificate signed by unknown authority", "CertificateError"),
            (
                "Connection to database-service:5432 refused. Check that the hostname and port are correct",
                "DatabaseUnreachable",
            ),
            ("org.postgresql.util.PSQLException: Connection to database-service:5432 timed out", "DatabaseUnreachable"),
            (
                "AxonServerConnectionManager: Unable to connect to AxonServer at axon-server:8124",
                "AxonServerUnreachable",
            ),
            ("io.grpc.StatusRuntimeException: UNAVAILABLE: axon-server:8124", "AxonServerUnreachable"),
            ("java.net.UnknownHostException: market-data", "DnsResolutionFailure"),
            ("dial tcp: lookup cache on 10.0.0.2:53: no such host", "DnsResolutionFailure"),
            ("ThrottlingException: Rate exceeded", "AwsThrottling"),
            ("GET /api/orders status=503 duration=12ms", "Http5xx"),
            (r#"10.0.1.5 - - "GET /quotes HTTP/1.1" 502 0"#, "Http5xx"),
        ];
        for (line, expected) in cases {
            assert_eq!(matches(line), [expected], "{line}");
        }
    }

    #[test]
    fn near_misses_do_not_match() {
        for line in [
            "order 42 filled",
            "connected to database-service:5432", // the host alone is not a failure
            "connection refused by peer market-data", // refused, but not the database or Axon
            "GET /api/orders status=200 duration=503ms", // 503 is a duration here
            "certificate rotated successfully",
        ] {
            assert!(matches(line).is_empty(), "{line}: {:?}", matches(line));
        }
    }

    #[test]
    fn every_signature_has_severity_and_action() {
        let c = Classifier::with_default_catalogue().expect("catalogue");
        assert!(c.signatures().len() >= 9);
        let crit: Vec<&str> =
            c.signatures().iter().filter(|s| s.severity == Severity::Critical).map(|s| &*s.name).collect();
        assert_eq!(crit, ["DatabaseUnreachable", "AxonServerUnreachable"]);
        assert!(c.signatures().iter().all(|s| !s.description.is_empty()));
    }

    /// A signature whose pattern cannot be compiled when first needed (past the size limit) fires
    /// on its literals rather than going silent; a pattern that does not parse is refused at load.
    #[test]
    fn a_signature_whose_pattern_cannot_compile_still_fires() {
        let catalogue = "[[signatures]]\nname = \"Big\"\nseverity = \"low\"\naction = \"count\"\n\
            description = \"x\"\nall_of = [[\"boom\"]]\npattern = '\\w{40}'\n";
        let c = Classifier::parse(catalogue, |p| Pattern::with_size_limit(p, 100)).expect("the syntax is fine");
        let mut out = Vec::new();
        c.classify("a boom here", &mut out);
        assert_eq!(out, vec![0]);
        c.classify("nothing", &mut out);
        assert!(out.is_empty(), "still gated on its literals");
        let bad = catalogue.replace("\\w{40}", "(unclosed");
        assert!(matches!(
            Classifier::from_toml(&bad),
            Err(CatalogueError::Pattern { name, source: PatternError::Syntax(_) }) if name == "Big"
        ));
    }

    #[test]
    fn a_bad_catalogue_is_named() {
        let dup = DEFAULT_SIGNATURES.to_string()
            + "\n[[signatures]]\nname = \"OOMKilled\"\nseverity = \"low\"\naction = \"count\"\ndescription = \"x\"\nall_of = [[\"y\"]]\n";
        assert!(
            matches!(Classifier::from_toml(&dup), Err(CatalogueError::Signature { name, .. }) if name == "OOMKilled")
        );
        let many: String = (0..=MAX_SIGNATURES)
            .map(|i| format!("[[signatures]]\nname = \"S{i}\"\nseverity = \"low\"\naction = \"count\"\ndescription = \"x\"\nall_of = [[\"y\"]]\n"))
            .collect();
        assert!(matches!(Classifier::from_toml(&many), Err(CatalogueError::Signature { name, .. }) if name == "S64"));
        let bad = "[[signatures]]\nname = \"X\"\nseverity = \"urgent\"\naction = \"count\"\ndescription = \"x\"\nall_of = [[\"y\"]]\n";
        assert!(Classifier::from_toml(bad).is_err());
    }
}
