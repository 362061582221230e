//! One automaton pass per text for both the redaction triggers and the signature literals.

use crate::cards::CARD_SPAN;
use crate::classify::{Classifier, Seen};
use crate::redact::Redactor;

pub(crate) mod table;

pub use table::ScannerError;
use table::{Step, Table};

/// What a text showed: the redaction rules armed (by a trigger, or for card numbers by a digit
/// chain long enough for one) and the signature groups seen.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scan {
    pub armed: u64,
    pub seen: Seen,
}

/// Both literal sets merged into one case-insensitive automaton, so a line is read once.
///
/// The automaton is an Aho-Corasick DFA built here as a dense table this module walks: the
/// states numbered so that every match state comes after every other, the bytes folded into
/// classes (one per byte some literal holds, one for the digits and one for the separators no
/// literal holds, one for all the others). It follows the card-number digit chain too (a state
/// per pair of automaton and chain state: 755 for the shipped literals' 717), so the loop is a
/// class lookup, a table step and one comparison per byte; a match state (rare) is read in a function
/// of its own, for every literal ending there (a state holds the literals of its failure chain,
/// so this is the overlapping search). The aho-corasick crate's overlapping iterator, and a loop
/// over its `Automaton` interface, took about 2.7 times the instructions; building the table
/// from the crate's DFA took 8.4M instructions at init, building it here takes a fraction of it
/// (the tests check the walk against the crate's overlapping search).
///
/// Tried and measured no faster on the benchmark payload: a plain `is_match` before the
/// overlapping walk, and a Teddy (SIMD) gate on a rare five-byte piece of every literal over a
/// lower-cased copy (60 literals overload its buckets).
#[derive(Debug)]
pub(crate) struct Scanner {
    table: Table,
    /// Per literal: redaction rules it arms, and signature groups it satisfies; the last slot is
    /// the table's card-length chain.
    arms: Vec<u64>,
    groups: Vec<Vec<(usize, u32)>>,
    /// Rules armed on every text (the card-number rules are armed by the chain's slot instead).
    always: u64,
    /// How much longer than its share of a text each of two walks reads: enough that every
    /// literal, and every card-length chain, is whole in one of them.
    overlap: usize,
}

impl Scanner {
    pub fn new(redactor: &Redactor, classifier: &Classifier) -> Result<Scanner, ScannerError> {
        // The triggers first, then the signature literals no trigger is. Each list holds a literal
        // once already, so a signature literal is looked for among the triggers alone (a map of
        // every literal, or a search of the whole list, was 20k-36k instructions of init).
        let (mut literals, mut arms): (Vec<&str>, Vec<u64>) = redactor.triggers().unzip();
        let triggers = literals.len();
        let mut groups: Vec<Vec<(usize, u32)>> = vec![Vec::new(); triggers];
        for (literal, pairs) in classifier.literals() {
            match literals[..triggers].iter().position(|t| *t == literal) {
                Some(at) => groups[at].extend_from_slice(pairs),
                None => {
                    literals.push(literal);
                    arms.push(0);
                    groups.push(pairs.to_vec());
                }
            }
        }
        let table = match crate::compiled::scanner_table(&literals) {
            Some(table) => table,
            None => Table::build(&literals)?,
        };
        // A card rule the config gave triggers keeps to them: the chain stands in for a trigger
        // only where there is none (the shipped rule has none). The table ends a card-length
        // chain as the literal after the last.
        let cards = redactor.card_rules() & redactor.always_armed();
        arms.push(cards);
        groups.push(Vec::new());
        let overlap = (table.longest - 1).max(CARD_SPAN - 1);
        Ok(Scanner { table, arms, groups, always: redactor.always_armed() & !cards, overlap })
    }

    /// What `text` shows.
    #[cfg(test)]
    pub fn scan(&self, text: &str) -> Scan {
        let mut scan = Scan::default();
        self.scan_into(text, &mut scan);
        scan
    }

    /// What `text` shows, into `scan` (what it held is replaced): kept by the caller from text to
    /// text, so the groups seen are not zeroed and copied out for every one.
    // Not inlined: a profile shows each stage as its own (one call per text costs nothing).
    #[inline(never)]
    pub fn scan_into(&self, text: &str, scan: &mut Scan) {
        scan.armed = self.always;
        scan.seen.clear();
        match self.table.small_walker() {
            Some(walker) => self.scan_with(walker, text, scan),
            None => self.scan_with(self.table.walker(), text, scan),
        }
    }

    #[inline(always)]
    fn scan_with(&self, table: impl Step, text: &str, scan: &mut Scan) {
        let bytes = text.as_bytes();
        let overlap = self.overlap;
        // Four walks measured no faster than two on the benchmark's messages (155 bytes on average).
        if bytes.len() >= TWO_WALKS_FROM.max(2 * overlap) {
            self.walks(table, bytes, overlap, scan);
        } else {
            self.walk(table, 0, bytes, scan);
        }
    }

    /// `bytes` read as two walks in step. Each step loads the next state from the one before, so
    /// one walk waits on a load per byte; walks over different parts of the text are independent
    /// and overlap in the core. The second starts `step` in and reads to the end of the text; the
    /// first reads `overlap` (a literal's length less one, at least a card chain's span) past where
    /// the second starts, alone once the second is done. So every literal, and every card-length
    /// chain's first digits, is whole in some walk (maybe in both: the scan's results are sets; a
    /// walk that starts inside a chain sees a part of it, never more).
    #[inline(always)]
    fn walks(&self, table: impl Step, bytes: &[u8], overlap: usize, scan: &mut Scan) {
        let first_match = table.first_match();
        let step = bytes.len().saturating_sub(overlap).div_ceil(2);
        let together = bytes.len().saturating_sub(step);
        // Both exactly `together` long, read in step by a zip: no bounds check per byte.
        let first = bytes.get(..together).unwrap_or_default();
        let second = bytes.get(step..).unwrap_or_default();
        let mut states = [0u32; 2];
        for (&a, &b) in first.iter().zip(second) {
            states = [table.step(states[0], a), table.step(states[1], b)];
            if states[0].max(states[1]) >= first_match {
                for s in states {
                    if s >= first_match {
                        self.matched(s, scan);
                    }
                }
            }
        }
        // The first walk goes on alone for its overlap; the second ended with the text.
        let end = (step + overlap).min(bytes.len());
        self.walk(table, states[0], bytes.get(together..end).unwrap_or_default(), scan);
    }

    /// One walk over `bytes` from `state`.
    #[inline(always)]
    fn walk(&self, table: impl Step, mut state: u32, bytes: &[u8], scan: &mut Scan) {
        let first_match = table.first_match();
        for &byte in bytes {
            state = table.step(state, byte);
            if state >= first_match {
                self.matched(state, scan);
            }
        }
    }

    /// The literals of match state `state`, added to `scan`.
    #[cold]
    #[inline(never)]
    fn matched(&self, state: u32, scan: &mut Scan) {
        for &at in self.table.outputs(state) {
            let at = at as usize;
            scan.armed |= self.arms[at];
            scan.seen.add(&self.groups[at]);
        }
    }
}

/// Texts this long (and at least twice a literal's length) are read as two walks: below it the
/// second walk's head start and the set-up cost more than they save.
const TWO_WALKS_FROM: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::RedactionCounts;

    impl Scanner {
        /// The card-number rules: what the table's chain slot arms.
        fn cards(&self) -> u64 {
            self.arms.last().copied().unwrap_or_default()
        }
    }

    /// Texts stitched from pieces of the literals, in any case, overlapping: the DFA walk sees
    /// every literal the crate's overlapping search sees.
    #[test]
    fn the_walk_finds_what_the_overlapping_search_finds() {
        let redactor = Redactor::with_default_rules().expect("rules");
        let classifier = Classifier::with_default_catalogue().expect("catalogue");
        let scanner = Scanner::new(&redactor, &classifier).expect("scanner");
        let mut literals: Vec<String> = redactor.triggers().map(|(l, _)| l.to_string()).collect();
        for (l, _) in classifier.literals() {
            // The scanner's slots: each literal once, where it first appears.
            if !literals.iter().any(|k| k == l) {
                literals.push(l.to_string());
            }
        }
        let reference = aho_corasick::AhoCorasick::builder().ascii_case_insensitive(true).build(&literals).expect("ac");
        let mut rng = crate::synthetic::Rng(0x9e37_79b9_7f4a_7c15);
        let mut next = move || rng.next();
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..next() % 6 {
                let l = &literals[(next() % literals.len() as u64) as usize];
                let (from, to) = ((next() % 3) as usize, l.len() - (next() % 2) as usize);
                let piece = l.get(from.min(to)..to).unwrap_or(l);
                text.extend(piece.chars().map(|c| if next() % 2 == 0 { c.to_ascii_uppercase() } else { c }));
                text.push_str(["", " ", "x", "é"][(next() % 4) as usize]);
                // Filler too, so that texts of every length take both the one walk and the two,
                // with literals on and across the middle.
                for _ in 0..next() % 40 {
                    text.push(['a', ' ', 'é', '-'][(next() % 4) as usize]);
                }
            }
            let (mut armed, mut seen) = (scanner.always, Seen::default());
            if crate::cards::longest_digit_chain(text.as_bytes()) >= 13 {
                armed |= scanner.cards();
            }
            for m in reference.find_overlapping_iter(&text) {
                let at = m.pattern().as_usize();
                armed |= scanner.arms[at];
                seen.add(&scanner.groups[at]);
            }
            let scan = scanner.scan(&text);
            assert_eq!(scan.armed, armed, "{text}");
            let (mut a, mut b) = (Vec::new(), Vec::new());
            classifier.evaluate(&text, &scan.seen, &mut a);
            classifier.evaluate(&text, &seen, &mut b);
            assert_eq!(a, b, "{text}");
        }
    }

    /// The masked walk over a padded table steps as the checked walk does; a table too large to
    /// pad is walked with checks.
    #[test]
    fn the_small_table_walk_agrees_with_the_checked_one() {
        let redactor = Redactor::with_default_rules().expect("rules");
        let classifier = Classifier::with_default_catalogue().expect("catalogue");
        let scanner = Scanner::new(&redactor, &classifier).expect("scanner");
        let (small, checked) =
            (scanner.table.small_walker().expect("the shipped table is small"), scanner.table.walker());
        let mut rng = crate::synthetic::Rng(0xfeed_f00d);
        let (mut a, mut b) = (0, 0);
        for _ in 0..200_000 {
            let byte = rng.below(256) as u8;
            (a, b) = (small.step(a, byte), checked.step(b, byte));
            assert_eq!(a, b);
        }
        let many: Vec<String> = (0..3_000).map(|i| format!("literal-{i:05}-{}", i * 7919 % 1000)).collect();
        let large = Table::build(&many.iter().map(String::as_str).collect::<Vec<_>>()).expect("builds");
        assert!(large.trans.len() > table::SMALL && large.small_walker().is_none());
    }

    #[test]
    fn the_table_follows_the_chain_the_card_rule_redacts() {
        assert_eq!(table::CHAIN_DIGITS, crate::cards::CARD_MIN_DIGITS);
    }

    /// The card-number rules are armed exactly on texts with a card-length digit chain, wherever
    /// it lies: in one walk, in either of two, or across the point where the second starts.
    #[test]
    fn card_rules_are_armed_by_a_card_length_chain_anywhere() {
        let redactor = Redactor::with_default_rules().expect("rules");
        let classifier = Classifier::with_default_catalogue().expect("catalogue");
        let scanner = Scanner::new(&redactor, &classifier).expect("scanner");
        assert_ne!(scanner.cards(), 0, "the shipped rules redact card numbers");
        assert_eq!(scanner.always & scanner.cards(), 0, "card rules are armed by chains only");
        let mut rng = crate::synthetic::Rng(0x6a09_e667_f3bc_c908);
        let mut next = move || rng.next();
        let mut armed = 0;
        for _ in 0..30_000 {
            let len = (next() % 300) as usize;
            let digits = next() % 10;
            let text: String = (0..len)
                .map(|_| match next() % 10 {
                    d if d < digits => char::from(b'0' + (next() % 10) as u8),
                    _ => ['x', ' ', '-', '.', 'é'][(next() % 5) as usize],
                })
                .collect();
            let chain = crate::cards::longest_digit_chain(text.as_bytes()) >= 13;
            assert_eq!(scanner.scan(&text).armed & scanner.cards() != 0, chain, "{text}");
            armed += usize::from(chain);
        }
        assert!(armed > 1_000, "too few texts with chains to tell: {armed}");
        // Chains of 13 and 19 digits, and of 13 with a separator between each two; one digit
        // fewer is not a card.
        let chains = ["4".repeat(13), "4".repeat(19), ["4"; 13].join("-")];
        let short = ["4".repeat(12), ["4"; 12].join(" ")];
        for at in 0..200 {
            let text = |chain: &str| format!("{}{chain}{}", "x".repeat(at), "y".repeat(200 - at));
            for chain in &chains {
                assert!(scanner.scan(&text(chain)).armed & scanner.cards() != 0, "{chain} at {at}");
            }
            for chain in &short {
                assert_eq!(scanner.scan(&text(chain)).armed & scanner.cards(), 0, "{chain} at {at}");
            }
        }
    }

    /// A card rule with triggers of its own is armed by them, as the redactor's own scan arms it,
    /// and not by a digit chain alone.
    #[test]
    fn a_card_rule_with_triggers_keeps_to_them() {
        let rule = |triggers: Vec<crate::Text>| crate::redact::RuleConfig {
            name: "card-number".into(),
            enabled: true,
            triggers,
            pattern: None,
            kind: Some("card-number".into()),
        };
        let classifier = Classifier::with_default_catalogue().expect("catalogue");
        let triggered = Redactor::new(vec![rule(vec!["card".into()])]).expect("rule");
        let scanner = Scanner::new(&triggered, &classifier).expect("scanner");
        assert_eq!(scanner.scan("paid with 4111 1111 1111 1111").armed, 0, "a chain alone");
        assert_eq!(scanner.scan("card 4111 1111 1111 1111").armed, 1, "the trigger");
        let untriggered = Redactor::new(vec![rule(Vec::new())]).expect("rule");
        let scanner = Scanner::new(&untriggered, &classifier).expect("scanner");
        assert_eq!(scanner.scan("paid with 4111 1111 1111 1111").armed, 1, "the chain");
        assert_eq!(scanner.scan("paid with 4111 1111").armed, 0, "too short a chain");
    }

    /// Literals whose failure states a later literal adds (numbered after the states that fail
    /// to them), of every length, sharing prefixes and suffixes: every text's matches are the
    /// crate's overlapping matches, from the first walk and from a walk resumed mid-text.
    #[test]
    fn the_table_is_the_automaton_whatever_order_its_states_were_added_in() {
        let literals = ["xabcd", "abcd", "bcd", "cd", "d", "ab", "zzb", "b-c", "bcdx", "cdxa"];
        let table = Table::build(&literals).expect("table");
        let reference = aho_corasick::AhoCorasick::builder().ascii_case_insensitive(true).build(literals).expect("ac");
        let alphabet = ['a', 'b', 'C', 'd', 'x', 'z', '-', 'q'];
        for n in 0..8u32.pow(6) {
            let text: String = (0..6).map(|i| alphabet[(n / 8u32.pow(i) % 8) as usize]).collect();
            let mut expected: Vec<(usize, usize)> =
                reference.find_overlapping_iter(&text).map(|m| (m.end(), m.pattern().as_usize())).collect();
            let mut found = Vec::new();
            let mut state = 0;
            let walker = table.walker();
            for (i, &byte) in text.as_bytes().iter().enumerate() {
                state = walker.step(state, byte);
                if state >= table.first_match {
                    found.extend(table.outputs(state).iter().map(|&l| (i + 1, l as usize)));
                }
            }
            expected.sort_unstable();
            found.sort_unstable();
            assert_eq!(found, expected, "{text}");
        }
        assert!(matches!(Table::build(&["ok", ""]), Err(ScannerError::EmptyLiteral)));
    }

    /// The compiled-in rules take the build script's table, which is the one built here from the
    /// literals the rules give; any other literal set builds its own.
    #[test]
    fn the_compiled_in_rules_use_the_build_scripts_table_and_others_build_theirs() {
        use std::borrow::Cow;
        let redactor = Redactor::with_default_rules().expect("rules");
        let classifier = Classifier::with_default_catalogue().expect("catalogue");
        let scanner = Scanner::new(&redactor, &classifier).expect("scanner");
        assert!(matches!(scanner.table.trans, Cow::Borrowed(_)), "the build script's table was not taken");
        let mut literals: Vec<&str> = redactor.triggers().map(|(l, _)| l).collect();
        for (l, _) in classifier.literals() {
            if !literals.contains(&l) {
                literals.push(l);
            }
        }
        assert_eq!(scanner.table, Table::build(&literals).expect("table"));

        let fewer = Redactor::new(vec![crate::redact::RuleConfig {
            name: "only".into(),
            enabled: true,
            triggers: vec!["secret".into()],
            pattern: Some("secret=(?P<secret>\\S+)".into()),
            kind: None,
        }])
        .expect("one rule");
        let own = Scanner::new(&fewer, &classifier).expect("scanner");
        assert!(matches!(own.table.trans, Cow::Owned(_)));
        assert_ne!(own.table, scanner.table);
        assert_eq!(own.scan("a secret=x").armed, 1);
    }

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
