//! A rule's regular expression: its syntax checked when the rules load, compiled when a line first needs it.

// Compiling the shipped patterns took 29M instructions (about 8 ms) of the function's init: the
// Unicode classes (`\w`, `\s`, `(?i)` folding) and counted repetitions (`{40}`) make big NFAs,
// each built forwards, in reverse and as a one-pass DFA, with literal prefilters. A pattern runs
// only on a line holding one of its rule's literals, so most deliveries need few of them; each is
// now compiled the first time a line arms its rule, once per process, and never when none does.
// What can be wrong with a pattern given at run time is still found at load: its syntax, and
// whether it matches the empty string; the shipped patterns are checked by the test suite
// instead of at every cold start. Compilation can then fail only on the size limit, which every
// shipped pattern is tested against; a rule whose pattern fails anyway fails closed where used.

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};
use regex_syntax::hir::Hir;

use crate::Text;

#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("pattern does not compile: {0}")]
    Syntax(#[source] Box<regex_syntax::Error>),
    #[error("pattern matches the empty string")]
    MatchesEmpty,
}

/// A pattern whose syntax is known good, compiled on first use.
pub struct Pattern {
    source: Text,
    /// What is parsed and compiled when `source` is a shipped pattern: its case-insensitive parts
    /// spelled out by the build script, the same regex without the case-folding table
    /// (`crate::compiled`).
    expanded: Option<&'static str>,
    /// The regex crate's compiled-size limit (its default unless a test lowers it).
    size_limit: usize,
    compiled: OnceLock<Result<Regex, regex::Error>>,
}

/// The regex crate's own default (`RegexBuilder::size_limit`).
const SIZE_LIMIT: usize = 10 << 20;

impl Pattern {
    /// Checks `source` as `Regex::new` would parse it; compiles nothing.
    pub fn new(source: impl Into<Text>) -> Result<Pattern, PatternError> {
        Self::with_size_limit(source, SIZE_LIMIT)
    }

    /// A pattern compiled into this binary (`config/`): taken as it is, its check left to the test
    /// suite (`every_shipped_pattern_compiles`), which runs it on these very strings. Parsing them
    /// again at every cold start (4M instructions) could find nothing new.
    pub fn shipped(source: impl Into<Text>) -> Result<Pattern, PatternError> {
        let source = source.into();
        let expanded = crate::compiled::expanded_pattern(&source);
        Ok(Pattern { source, expanded, size_limit: SIZE_LIMIT, compiled: OnceLock::new() })
    }

    /// As [`Pattern::new`], with another compiled-size limit. A rule file given at run time that
    /// carries a shipped pattern gets its spelled-out form too: the same regex either way.
    pub fn with_size_limit(source: impl Into<Text>, size_limit: usize) -> Result<Pattern, PatternError> {
        let source = source.into();
        let expanded = crate::compiled::expanded_pattern(&source);
        let hir = regex_syntax::parse(expanded.unwrap_or(&source)).map_err(|e| PatternError::Syntax(Box::new(e)))?;
        if can_match_empty(&hir) {
            return Err(PatternError::MatchesEmpty);
        }
        Ok(Pattern { source, expanded, size_limit, compiled: OnceLock::new() })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The compiled regex, compiled now if this is its first use.
    pub fn regex(&self) -> Result<&Regex, &regex::Error> {
        let text = self.expanded.unwrap_or(&self.source);
        self.compiled.get_or_init(|| RegexBuilder::new(text).size_limit(self.size_limit).build()).as_ref()
    }

    /// Whether it has been compiled (a line has needed it).
    pub fn is_compiled(&self) -> bool {
        self.compiled.get().is_some()
    }
}

// The spelled-out form is long (every case-folded class as ranges): shown by whether there is one.
impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pattern")
            .field("source", &self.source)
            .field("expanded", &self.expanded.is_some())
            .field("size_limit", &self.size_limit)
            .field("compiled", &self.compiled)
            .finish()
    }
}

/// Whether `hir` can match "": its shortest match is empty. Stricter than `is_match("")` only
/// for patterns made of assertions alone (`\b` has an empty shortest match and no match in ""),
/// which as redaction patterns would redact nothing.
fn can_match_empty(hir: &Hir) -> bool {
    hir.properties().minimum_len() == Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_is_checked_at_load_and_nothing_compiles_before_first_use() {
        assert!(matches!(Pattern::new("(unclosed"), Err(PatternError::Syntax(_))));
        assert!(matches!(Pattern::new("a*"), Err(PatternError::MatchesEmpty)));
        assert!(matches!(Pattern::new("x?|y*"), Err(PatternError::MatchesEmpty)));
        let p = Pattern::new(r"\bpassword=\w+").expect("valid");
        assert!(!p.is_compiled());
        assert!(p.regex().expect("compiles").is_match("password=x"));
        assert!(p.is_compiled());
    }

    #[test]
    fn a_pattern_past_the_size_limit_reports_its_error_on_use() {
        let p = Pattern::with_size_limit(r"\w{40}", 100).expect("the syntax is fine");
        let err = p.regex().expect_err("too big to compile");
        assert!(err.to_string().contains("size limit"), "{err}");
        assert!(p.regex().is_err(), "the failure is kept, not retried per line");
    }

    /// Every shipped pattern compiles within the default limit: what makes the fail-closed path
    /// unreachable in a deployed function.
    #[test]
    fn every_shipped_pattern_compiles() {
        let rules: toml::Value = toml::from_str(crate::redact::DEFAULT_RULES).expect("rules");
        let signatures: toml::Value = toml::from_str(crate::classify::DEFAULT_SIGNATURES).expect("catalogue");
        let patterns: Vec<&str> = [&rules["redaction"]["rules"], &signatures["signatures"]]
            .into_iter()
            .flat_map(|list| list.as_array().into_iter().flatten())
            .filter_map(|entry| entry.get("pattern").and_then(toml::Value::as_str))
            .collect();
        assert!(patterns.len() >= 13, "{patterns:?}");
        for source in patterns {
            Pattern::new(source.to_string()).expect(source).regex().expect(source);
            // What the function compiles instead: the same HIR (this test build has the tables).
            let expanded = crate::compiled::expanded_pattern(source).expect(source);
            assert_eq!(regex_syntax::parse(expanded).expect(expanded), regex_syntax::parse(source).expect(source));
            assert!(!expanded.contains("(?i"), "{expanded}");
        }
    }
}
