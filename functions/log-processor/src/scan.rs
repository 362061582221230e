//! One automaton pass per text for both the redaction triggers and the signature literals.

use aho_corasick::AhoCorasick;

use crate::classify::{Classifier, Seen};
use crate::redact::Redactor;

/// What a text showed: the redaction rules armed and the signature groups seen.
#[derive(Debug, Clone)]
pub(crate) struct Scan {
    pub armed: u64,
    pub seen: Seen,
}

/// Both literal sets merged into one case-insensitive automaton, so a line is read once.
///
/// Tried and measured no faster on the benchmark payload: a plain `is_match` before the
/// overlapping walk, a DFA instead of the default automaton, and a Teddy (SIMD) gate on a rare
/// five-byte piece of every literal over a lower-cased copy (60 literals overload its buckets).
#[derive(Debug)]
pub(crate) struct Scanner {
    automaton: AhoCorasick,
    /// Per literal: redaction rules it arms, and signature groups it satisfies.
    arms: Vec<u64>,
    groups: Vec<Vec<(usize, u32)>>,
    always: u64,
}

impl Scanner {
    pub fn new(redactor: &Redactor, classifier: &Classifier) -> Result<Scanner, aho_corasick::BuildError> {
        let mut literals: Vec<&str> = Vec::new();
        let mut arms = Vec::new();
        let mut groups: Vec<Vec<(usize, u32)>> = Vec::new();
        let mut slot = |literal| match literals.iter().position(|l| *l == literal) {
            Some(at) => at,
            None => {
                literals.push(literal);
                arms.push(0);
                groups.push(Vec::new());
                literals.len() - 1
            }
        };
        let mut redaction = Vec::new();
        for (literal, bits) in redactor.triggers() {
            redaction.push((slot(literal), bits));
        }
        let mut signature = Vec::new();
        for (literal, pairs) in classifier.literals() {
            signature.push((slot(literal), pairs));
        }
        for (at, bits) in redaction {
            arms[at] |= bits;
        }
        for (at, pairs) in signature {
            groups[at].extend_from_slice(pairs);
        }
        let automaton = AhoCorasick::builder().ascii_case_insensitive(true).build(&literals)?;
        Ok(Scanner { automaton, arms, groups, always: redactor.always_armed() })
    }

    pub fn scan(&self, text: &str) -> Scan {
        let mut scan = Scan { armed: self.always, seen: Seen::default() };
        for m in self.automaton.find_overlapping_iter(text) {
            let at = m.pattern().as_usize();
            scan.armed |= self.arms[at];
            scan.seen.add(&self.groups[at]);
        }
        scan
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::RedactionCounts;

    /// The shared scan gives the same redactions and signatures as each engine's own scan.
    #[test]
    fn one_scan_agrees_with_the_separate_ones() {
        let redactor = Redactor::with_default_rules().expect("rules");
        let classifier = Classifier::with_default_catalogue().expect("catalogue");
        let scanner = Scanner::new(&redactor, &classifier).expect("scanner");
        let lines = [
            "Connection to database-service:5432 refused, password=hunter2 for jdbc:postgresql://u:p@db/x",
            "Authorization: Bearer abcdefghijklmnop upstream returned status=503",
            "AKIAIOSFODNN7EXAMPLE throttled: ThrottlingException Rate exceeded",
            "card 4111 1111 1111 1111 and nothing else",
            "order 42 filled",
            "CONNECTION TO Database-Service:5432 TIMED OUT",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig",
        ];
        for line in lines {
            let scan = scanner.scan(line);
            let (mut alone, mut shared): (RedactionCounts, RedactionCounts) =
                (redactor.new_counts(), redactor.new_counts());
            assert_eq!(
                redactor.redact(line, &mut alone),
                redactor.redact_armed(line, scan.armed, &mut shared),
                "{line}"
            );
            assert_eq!(alone, shared);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            classifier.classify(line, &mut a);
            classifier.evaluate(line, &scan.seen, &mut b);
            assert_eq!(a, b, "{line}");
        }
    }
}
