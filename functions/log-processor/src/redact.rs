//! Redaction: secrets are replaced before any record leaves the function, counted per rule.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use regex::Regex;
use serde::Deserialize;

use crate::Text;
use crate::pattern::{Pattern, PatternError};

/// How every marker starts: `[REDACTED:<rule>]`.
const MARKER: &str = "[REDACTED:";

/// The rules shipped with the function (`config/log-processing.toml`), compiled in so a cold start
/// reads no file and no parameter.
pub const DEFAULT_RULES: &str = include_str!("../../../config/log-processing.toml");

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("redaction rules are not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("redaction rule `{rule}`: {message}")]
    Rule { rule: String, message: String },
    #[error("redaction rule `{rule}`")]
    Pattern {
        rule: String,
        #[source]
        source: PatternError,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RulesFile {
    pub(crate) redaction: RedactionSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedactionSection {
    pub(crate) rules: Vec<RuleConfig>,
}

/// One rule as written in config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub name: Text,
    pub enabled: bool,
    #[serde(default)]
    pub triggers: Vec<Text>,
    pub pattern: Option<Text>,
    pub kind: Option<Text>,
}

#[derive(Debug)]
enum Matcher {
    Pattern(Pattern),
    CardNumber,
}

#[derive(Debug)]
struct Rule {
    name: Text,
    replacement: String,
    matcher: Matcher,
}

/// Compiled rules plus one multi-literal automaton over every trigger, built once per process.
#[derive(Debug)]
pub struct Redactor {
    rules: Vec<Rule>,
    /// Trigger literals (lower case), and for each the bit set of the rules it arms (at most 64).
    literals: Vec<Text>,
    trigger_rules: Vec<u64>,
    /// Built on the first [`Redactor::redact`]: the pipeline never needs it (its scanner has its
    /// own table), and init is what it would cost. `None`: it could not be built.
    triggers: OnceLock<Option<AhoCorasick>>,
    /// Rules with no trigger run on every line.
    always: u64,
}

/// Redactions made, per rule, in rule order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedactionCounts(pub Vec<u64>);

impl RedactionCounts {
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl Redactor {
    /// The rules shipped in `config/log-processing.toml`.
    pub fn with_default_rules() -> Result<Redactor, RuleError> {
        Self::build(crate::compiled::rules(), |p: Text| Pattern::shipped(p))
    }

    pub fn from_toml(text: &str) -> Result<Redactor, RuleError> {
        let file: RulesFile = toml::from_str(text)?;
        Self::new(file.redaction.rules)
    }

    /// Compiles the enabled rules; a bad rule is an error naming it, never a silently skipped rule.
    pub fn new(configs: Vec<RuleConfig>) -> Result<Redactor, RuleError> {
        Self::build(configs, |p: Text| Pattern::new(p))
    }

    /// As [`Redactor::new`], each pattern checked and held by `pattern` (tests lower its size limit).
    fn build(
        configs: Vec<RuleConfig>,
        pattern: impl Fn(Text) -> Result<Pattern, PatternError>,
    ) -> Result<Redactor, RuleError> {
        let mut names = BTreeSet::new();
        let mut rules = Vec::new();
        let mut literals: Vec<Text> = Vec::new();
        let mut trigger_rules: Vec<u64> = Vec::new();
        let mut always = 0u64;
        for config in configs {
            let fail = |message: String| RuleError::Rule { rule: config.name.to_string(), message };
            if !names.insert(config.name.clone()) {
                return Err(fail("is defined twice".into()));
            }
            let matcher = match (&config.pattern, config.kind.as_deref()) {
                (Some(p), None) => Matcher::Pattern(
                    pattern(p.clone())
                        .map_err(|source| RuleError::Pattern { rule: config.name.to_string(), source })?,
                ),
                (None, Some("card-number")) => Matcher::CardNumber,
                (None, Some(other)) => return Err(fail(format!("unknown kind `{other}` (known: card-number)"))),
                _ => return Err(fail("needs exactly one of `pattern` and `kind`".into())),
            };
            if !config.enabled {
                continue;
            }
            if rules.len() == 64 {
                return Err(fail("more than 64 enabled rules".into()));
            }
            let bit = 1u64 << rules.len();
            if config.triggers.is_empty() {
                always |= bit;
            }
            for t in &config.triggers {
                if t.is_empty() {
                    return Err(fail("has an empty trigger".into()));
                }
                let lower = crate::ascii_lowercase(t);
                match literals.iter().position(|l| *l == lower) {
                    Some(i) => trigger_rules[i] |= bit,
                    None => {
                        literals.push(lower);
                        trigger_rules.push(bit);
                    }
                }
            }
            rules.push(Rule { replacement: [MARKER, &config.name, "]"].concat(), name: config.name, matcher });
        }
        Ok(Redactor { rules, literals, trigger_rules, triggers: OnceLock::new(), always })
    }

    /// Names of the enabled rules, in the order of [`RedactionCounts`].
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| &*r.name)
    }

    pub fn new_counts(&self) -> RedactionCounts {
        RedactionCounts(vec![0; self.rules.len()])
    }

    /// Trigger literals (lower case) with the rules each arms, for a scanner shared with the classifier.
    pub(crate) fn triggers(&self) -> impl Iterator<Item = (&str, u64)> {
        self.literals.iter().map(|l| &**l).zip(self.trigger_rules.iter().copied())
    }

    /// Rules that run whether or not a trigger was seen.
    pub(crate) fn always_armed(&self) -> u64 {
        self.always
    }

    /// The card-number rules (a bit each): a scanner that sees no card-length digit chain in a
    /// text leaves them unarmed ([`crate::scan::Scanner`]).
    pub(crate) fn card_rules(&self) -> u64 {
        let cards = self.rules.iter().enumerate().filter(|(_, r)| matches!(r.matcher, Matcher::CardNumber));
        cards.fold(0, |bits, (i, _)| bits | 1 << i)
    }

    /// `text` with every secret replaced; borrowed, untouched, when there is none.
    pub fn redact<'a>(&self, text: &'a str, counts: &mut RedactionCounts) -> Cow<'a, str> {
        let automaton = self.triggers.get_or_init(|| case_insensitive(&self.literals));
        let armed = match automaton {
            Some(automaton) => automaton
                .find_overlapping_iter(text)
                .fold(self.always, |armed, m| armed | self.trigger_rules[m.pattern().as_usize()]),
            // Fails closed: with no trigger search, every rule runs.
            None => u64::MAX,
        };
        self.redact_armed(text, armed, counts)
    }

    /// Runs only the rules in `armed` (a bit per rule, as the triggers set them).
    // Not inlined: a profile shows each stage as its own (one call per text costs nothing).
    #[inline(never)]
    pub(crate) fn redact_armed<'a>(&self, text: &'a str, armed: u64, counts: &mut RedactionCounts) -> Cow<'a, str> {
        if armed == 0 {
            return Cow::Borrowed(text);
        }
        let mut out = Cow::Borrowed(text);
        for (i, rule) in self.rules.iter().enumerate() {
            if armed & (1 << i) == 0 {
                continue;
            }
            let (replaced, n) = match &rule.matcher {
                Matcher::Pattern(pattern) => match pattern.regex() {
                    Ok(re) => replace_secret(re, &out, &rule.replacement),
                    // Fails closed: a text its rule cannot be checked on leaves as the marker.
                    Err(_) => (rule.replacement.clone(), 1),
                },
                Matcher::CardNumber => crate::cards::replace_cards(&out, &rule.replacement),
            };
            if n > 0 {
                if let Some(slot) = counts.0.get_mut(i) {
                    *slot += n;
                }
                out = Cow::Owned(replaced);
            }
        }
        out
    }
}

/// One automaton over `literals`, ignoring ASCII case, of the kind cheapest to build; `None` when
/// the crate refuses them (it limits sizes, none of which a rules file comes near).
pub(crate) fn case_insensitive(literals: &[Text]) -> Option<AhoCorasick> {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::NoncontiguousNFA))
        .build(literals.iter().map(|l| l.as_bytes()))
        .ok()
}

/// Replaces the `secret` group of every match (the whole match when the pattern has none).
fn replace_secret(re: &Regex, text: &str, replacement: &str) -> (String, u64) {
    let mut out = String::new();
    let mut last = 0;
    let mut n = 0;
    for caps in re.captures_iter(text) {
        let Some(m) = caps.name("secret").or_else(|| caps.get(0)) else { continue };
        // A key=value rule after another would take that rule's marker for the value (`token=`
        // then `[REDACTED:jwt]`), mangle it and count the secret twice.
        if m.start() < last || m.is_empty() || text[m.start()..].starts_with(MARKER) {
            continue;
        }
        out.push_str(&text[last..m.start()]);
        out.push_str(replacement);
        last = m.end();
        n += 1;
    }
    if n > 0 {
        out.push_str(&text[last..]);
    }
    (out, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::with_default_rules().expect("shipped rules compile")
    }

    fn redact(text: &str) -> (String, RedactionCounts) {
        let r = redactor();
        let mut counts = r.new_counts();
        let out = r.redact(text, &mut counts).into_owned();
        (out, counts)
    }

    /// Patterns compile when a line first arms their rule; one that cannot be compiled then
    /// (past the size limit) replaces the whole text with its marker rather than let it through.
    #[test]
    fn a_rule_whose_pattern_cannot_compile_fails_closed() {
        let rule = |name: &'static str, pattern: &'static str| RuleConfig {
            name: name.into(),
            enabled: true,
            triggers: vec!["secret".into()],
            pattern: Some(pattern.into()),
            kind: None,
        };
        let rules = vec![rule("tiny", r"secret=(?P<secret>\w{40})")];
        let r = Redactor::build(rules, |p| Pattern::with_size_limit(p, 100)).expect("the syntax is fine");
        let mut counts = r.new_counts();
        assert_eq!(r.redact("nothing to see", &mut counts), "nothing to see", "unarmed: not compiled, untouched");
        assert_eq!(r.redact("a secret=abc in here", &mut counts), "[REDACTED:tiny]");
        assert_eq!(counts.0, vec![1]);
        assert!(matches!(
            Redactor::new(vec![rule("empty", "x*")]),
            Err(RuleError::Pattern { rule, source: PatternError::MatchesEmpty }) if rule == "empty"
        ));
    }

    #[test]
    fn clean_lines_are_borrowed_untouched() {
        let r = redactor();
        let mut counts = r.new_counts();
        let line = "2026-11-24 10:00:00 INFO order 123456 filled at 101.25 for account 42";
        assert!(matches!(r.redact(line, &mut counts), Cow::Borrowed(_)));
        assert_eq!(counts.total(), 0);
    }

    #[test]
    fn counts_are_per_rule() {
        let (out, counts) = redact("key AKIAIOSFODNN7EXAMPLE and AKIAI44QH8DHBEXAMPLE, card 4111 1111 1111 1111");
        assert!(!out.contains("AKIA") && !out.contains("4111"), "{out}");
        let r = redactor();
        let names: Vec<&str> = r.rule_names().collect();
        let by_name = |n: &str| counts.0[names.iter().position(|x| *x == n).expect("rule")];
        assert_eq!(by_name("aws-access-key-id"), 2);
        assert_eq!(by_name("card-number"), 1);
        assert_eq!(counts.total(), 3);
    }

    #[test]
    fn a_disabled_rule_does_not_redact() {
        let text =
            DEFAULT_RULES.replace("name = \"card-number\"\nenabled = true", "name = \"card-number\"\nenabled = false");
        let r = Redactor::from_toml(&text).expect("rules");
        let mut counts = r.new_counts();
        assert_eq!(r.redact("card 4111111111111111", &mut counts), "card 4111111111111111");
        assert!(!r.rule_names().any(|n| n == "card-number"));
    }

    #[test]
    fn bad_rules_are_named() {
        let bad = "[[redaction.rules]]\nname = \"x\"\nenabled = true\npattern = \"(unclosed\"\n";
        assert!(matches!(
            Redactor::from_toml(bad),
            Err(RuleError::Pattern { rule, source: PatternError::Syntax(_) }) if rule == "x"
        ));
        let empty = "[[redaction.rules]]\nname = \"y\"\nenabled = true\npattern = \"a*\"\n";
        assert!(Redactor::from_toml(empty).is_err());
        let both = "[[redaction.rules]]\nname = \"z\"\nenabled = true\npattern = \"a\"\nkind = \"card-number\"\n";
        assert!(Redactor::from_toml(both).is_err());
        let unknown = "[[redaction.rules]]\nname = \"w\"\nenabled = true\nkind = \"iban\"\n";
        assert!(Redactor::from_toml(unknown).is_err());
    }
}
