//! Redaction: secrets are replaced before any record leaves the function, counted per rule.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use regex::Regex;
use serde::Deserialize;

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
    pub name: String,
    pub enabled: bool,
    #[serde(default)]
    pub triggers: Vec<String>,
    pub pattern: Option<String>,
    pub kind: Option<String>,
}

#[derive(Debug)]
enum Matcher {
    Pattern(Pattern),
    CardNumber,
}

#[derive(Debug)]
struct Rule {
    name: String,
    replacement: String,
    matcher: Matcher,
}

/// Compiled rules plus one multi-literal automaton over every trigger, built once per process.
#[derive(Debug)]
pub struct Redactor {
    rules: Vec<Rule>,
    /// Trigger literals (lower case), and for each the bit set of the rules it arms (at most 64).
    literals: Vec<String>,
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
        Self::build(crate::compiled::rules(), Pattern::shipped)
    }

    pub fn from_toml(text: &str) -> Result<Redactor, RuleError> {
        let file: RulesFile = toml::from_str(text)?;
        Self::new(file.redaction.rules)
    }

    /// Compiles the enabled rules; a bad rule is an error naming it, never a silently skipped rule.
    pub fn new(configs: Vec<RuleConfig>) -> Result<Redactor, RuleError> {
        Self::build(configs, Pattern::new)
    }

    /// As [`Redactor::new`], each pattern checked and held by `pattern` (tests lower its size limit).
    fn build(
        configs: Vec<RuleConfig>,
        pattern: impl Fn(&str) -> Result<Pattern, PatternError>,
    ) -> Result<Redactor, RuleError> {
        let mut names = BTreeSet::new();
        let mut rules = Vec::new();
        let mut literals: Vec<String> = Vec::new();
        let mut trigger_rules: Vec<u64> = Vec::new();
        let mut always = 0u64;
        for config in configs {
            let fail = |message: String| RuleError::Rule { rule: config.name.clone(), message };
            if !names.insert(config.name.clone()) {
                return Err(fail("is defined twice".into()));
            }
            let matcher = match (&config.pattern, config.kind.as_deref()) {
                (Some(p), None) => Matcher::Pattern(
                    pattern(p).map_err(|source| RuleError::Pattern { rule: config.name.clone(), source })?,
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
                let lower = t.to_ascii_lowercase();
                match literals.iter().position(|l| *l == lower) {
                    Some(i) => trigger_rules[i] |= bit,
                    None => {
                        literals.push(lower);
                        trigger_rules.push(bit);
                    }
                }
            }
            rules.push(Rule { replacement: format!("{MARKER}{}]", config.name), name: config.name, matcher });
        }
        Ok(Redactor { rules, literals, trigger_rules, triggers: OnceLock::new(), always })
    }

    /// Names of the enabled rules, in the order of [`RedactionCounts`].
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    pub fn new_counts(&self) -> RedactionCounts {
        RedactionCounts(vec![0; self.rules.len()])
    }

    /// Trigger literals (lower case) with the rules each arms, for a scanner shared with the classifier.
    pub(crate) fn triggers(&self) -> impl Iterator<Item = (&str, u64)> {
        self.literals.iter().map(String::as_str).zip(self.trigger_rules.iter().copied())
    }

    /// Rules that run whether or not a trigger was seen.
    pub(crate) fn always_armed(&self) -> u64 {
        self.always
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
                Matcher::CardNumber => replace_cards(&out, &rule.replacement),
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
pub(crate) fn case_insensitive(literals: &[String]) -> Option<AhoCorasick> {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::NoncontiguousNFA))
        .build(literals)
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

/// Finds runs of 13-19 digits (single spaces or dashes allowed between digits) standing alone
/// and passing the Luhn check, and replaces them.
fn replace_cards(text: &str, replacement: &str) -> (String, u64) {
    let bytes = text.as_bytes();
    if !has_card_length_chain(bytes) {
        return (String::new(), 0);
    }
    let mut out = String::new();
    let mut last = 0;
    let mut n = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Start only at a digit that is not glued to a preceding word or number.
        if !bytes[i].is_ascii_digit() || (i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')) {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits: [u8; 19] = [0; 19];
        let mut count = 0usize;
        let mut end = i;
        let mut j = i;
        while j < bytes.len() {
            let b = bytes[j];
            if b.is_ascii_digit() {
                if count == 19 {
                    count += 1;
                    break;
                }
                digits[count] = b - b'0';
                count += 1;
                end = j + 1;
                j += 1;
            } else if (b == b' ' || b == b'-') && j + 1 < bytes.len() && bytes[j + 1].is_ascii_digit() && count > 0 {
                j += 1;
            } else {
                break;
            }
        }
        let standalone = end >= bytes.len() || !(bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_');
        if (13..=19).contains(&count) && standalone && luhn(&digits[..count]) {
            out.push_str(&text[last..start]);
            out.push_str(replacement);
            last = end;
            n += 1;
        }
        i = end.max(start + 1);
        // Skip the rest of an over-long digit run so its tail is not read as a card.
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
    }
    if n > 0 {
        out.push_str(&text[last..]);
    }
    (out, n)
}

/// Fewest digits a card number has.
const CARD_MIN_DIGITS: usize = 13;

/// Whether [`longest_digit_chain`] of `bytes` reaches [`CARD_MIN_DIGITS`], reading about one
/// byte pair in twelve plus the digit runs those pairs land in, instead of every byte.
///
/// Why probing is exact: from its first to its thirteenth digit a chain is 13 to 25 bytes of
/// digits and single separators, so every two adjacent bytes in it hold a digit, and it covers
/// some pair `(p, p + 1)` with `p` a multiple of 12. A pair with no digit rules out every chain
/// through it; a pair with one is settled by measuring the chain through that digit, and the
/// next chain starts after it, where the probing resumes.
fn has_card_length_chain(bytes: &[u8]) -> bool {
    const STRIDE: usize = CARD_MIN_DIGITS - 1;
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    let separator = |i: usize| matches!(bytes.get(i), Some(b' ' | b'-'));
    let mut p = 0;
    while p + 1 < bytes.len() {
        let q = if digit(p) {
            p
        } else if digit(p + 1) {
            p + 1
        } else {
            p += STRIDE;
            continue;
        };
        // Left: digits, and a separator only with a digit before it.
        let mut count = 1;
        let mut i = q;
        while i > 0 {
            if digit(i - 1) {
                count += 1;
                i -= 1;
            } else if i >= 2 && separator(i - 1) && digit(i - 2) {
                i -= 1;
            } else {
                break;
            }
        }
        // Right: digits, and a separator only with a digit after it.
        let mut end = q + 1;
        while end < bytes.len() {
            if digit(end) {
                count += 1;
                end += 1;
            } else if separator(end) && digit(end + 1) {
                end += 1;
            } else {
                break;
            }
        }
        if count >= CARD_MIN_DIGITS {
            return true;
        }
        p = end.div_ceil(STRIDE) * STRIDE;
    }
    false
}

/// Digits in the longest run of digits joined by single spaces or dashes: the definition
/// [`has_card_length_chain`] is tested against.
#[cfg(test)]
fn longest_digit_chain(bytes: &[u8]) -> u32 {
    let (mut best, mut run, mut after_separator) = (0u32, 0u32, false);
    for &b in bytes {
        let digit = b.wrapping_sub(b'0') < 10;
        let separator = (b == b' ') | (b == b'-');
        run = if digit {
            run + 1
        } else if separator & !after_separator {
            run
        } else {
            0
        };
        after_separator = separator;
        best = best.max(run);
    }
    best
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
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
        let rule = |name: &str, pattern: &str| RuleConfig {
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
    fn luhn_accepts_real_test_cards_only() {
        let digits = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<_>>();
        assert!(luhn(&digits("4111111111111111")));
        assert!(luhn(&digits("5500005555555559")));
        assert!(!luhn(&digits("4111111111111112")));
    }

    #[test]
    fn digit_chains_allow_single_separators_only() {
        assert_eq!(longest_digit_chain(b"4111 1111 1111 1111"), 16);
        assert_eq!(longest_digit_chain(b"4111-1111-1111-1111 x"), 16);
        assert_eq!(longest_digit_chain(b"2026-11-24 10:00:00.123"), 10);
        assert_eq!(longest_digit_chain(b"4111  1111 1111 1111"), 12);
        assert_eq!(longest_digit_chain(b"no digits"), 0);
    }

    /// The probing gate agrees with the full chain pass on every text, chains at any offset.
    #[test]
    fn probing_gate_agrees_with_the_chain_pass() {
        let alphabet = b"0123456789 -x.";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 80) as usize;
            // Mostly digits, so chains near 13 are common.
            let text: Vec<u8> = (0..len)
                .map(|_| match next() % 10 {
                    0..=6 => b'0' + (next() % 10) as u8,
                    _ => alphabet[(next() % alphabet.len() as u64) as usize],
                })
                .collect();
            assert_eq!(has_card_length_chain(&text), longest_digit_chain(&text) >= 13, "{text:?}");
        }
        for pad in 0..30 {
            let mut text = vec![b'x'; pad];
            text.extend_from_slice(b"4-1-1-1-1-1-1-1-1-1-1-1-1");
            assert!(has_card_length_chain(&text), "{pad}");
            text.pop();
            text.pop();
            assert!(!has_card_length_chain(&text), "{pad}");
        }
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
