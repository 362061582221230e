//! One automaton pass per text for both the redaction triggers and the signature literals.

use crate::classify::{Classifier, Seen};
use crate::redact::Redactor;

/// Why the scanner could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ScannerError {
    #[error("the literal scanner was given an empty literal")]
    EmptyLiteral,
    #[error("the literal scanner's table is too large for 32-bit states")]
    TooLarge,
}

/// What a text showed: the redaction rules armed and the signature groups seen.
#[derive(Debug, Clone)]
pub(crate) struct Scan {
    pub armed: u64,
    pub seen: Seen,
}

/// Both literal sets merged into one case-insensitive automaton, so a line is read once.
///
/// The automaton is an Aho-Corasick DFA built here as a dense table this module walks: the
/// states numbered so that every match state comes after every other, the bytes folded into
/// classes (one per byte some literal holds, one for all the others). The loop is then a class
/// lookup, a table step and one comparison per byte; a match state (rare) is read in a function
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
    /// Per literal: redaction rules it arms, and signature groups it satisfies.
    arms: Vec<u64>,
    groups: Vec<Vec<(usize, u32)>>,
    always: u64,
}

impl Scanner {
    pub fn new(redactor: &Redactor, classifier: &Classifier) -> Result<Scanner, ScannerError> {
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
        let table = Table::build(&literals)?;
        Ok(Scanner { table, arms, groups, always: redactor.always_armed() })
    }

    // Not inlined: a profile shows each stage as its own (one call per text costs nothing).
    #[inline(never)]
    pub fn scan(&self, text: &str) -> Scan {
        let mut scan = Scan { armed: self.always, seen: Seen::default() };
        let bytes = text.as_bytes();
        let overlap = self.table.longest - 1;
        // Four walks measured no faster than two on the benchmark's messages (155 bytes on average).
        if bytes.len() >= TWO_WALKS_FROM.max(2 * overlap) {
            self.walks::<2>(bytes, overlap, &mut scan);
        } else {
            self.walk(0, bytes, &mut scan);
        }
        scan
    }

    /// `bytes` read as `K` walks in step. Each step loads the next state from the one before, so
    /// one walk waits on a load per byte; walks over different parts of the text are independent
    /// and overlap in the core. Walk `j` starts `j * step` in, and each is `overlap` (a literal's
    /// length less one) longer than `step`, so every literal is whole in some walk (maybe in two:
    /// the scan's results are sets). The last walk ends at the end of the text, up to `K - 1`
    /// bytes before the others, which finish alone.
    #[inline(always)]
    fn walks<const K: usize>(&self, bytes: &[u8], overlap: usize, scan: &mut Scan) {
        let table = &self.table;
        let step = bytes.len().saturating_sub(overlap).div_ceil(K);
        let together = bytes.len().saturating_sub((K - 1) * step);
        let lanes: [&[u8]; K] = std::array::from_fn(|j| bytes.get(j * step..).unwrap_or_default());
        let mut states = [0u32; K];
        for i in 0..together {
            for j in 0..K {
                states[j] = table.step(states[j], lanes[j].get(i).copied().unwrap_or(0));
            }
            if states.iter().any(|&s| s >= table.first_match) {
                for &s in &states {
                    if s >= table.first_match {
                        self.matched(s, scan);
                    }
                }
            }
        }
        for j in 0..K - 1 {
            let end = (step + overlap).min(lanes[j].len());
            self.walk(states[j], lanes[j].get(together..end).unwrap_or_default(), scan);
        }
    }

    /// One walk over `bytes` from `state`.
    #[inline(always)]
    fn walk(&self, mut state: u32, bytes: &[u8], scan: &mut Scan) {
        for &byte in bytes {
            state = self.table.step(state, byte);
            if state >= self.table.first_match {
                self.matched(state, scan);
            }
        }
    }

    /// The literals of match state `state`, added to `scan`.
    #[cold]
    #[inline(never)]
    fn matched(&self, state: u32, scan: &mut Scan) {
        let index = ((state - self.table.first_match) / self.table.stride) as usize;
        for &at in self.table.outputs.get(index).map(Vec::as_slice).unwrap_or_default() {
            scan.armed |= self.arms[at];
            scan.seen.add(&self.groups[at]);
        }
    }
}

/// Texts this long (and at least twice a literal's length) are read as two walks: below it the
/// second walk's head start and the set-up cost more than they save.
const TWO_WALKS_FROM: usize = 64;

/// The DFA as a dense table over byte classes, match states last.
#[derive(Debug)]
struct Table {
    /// Bytes of the longest literal (at least 1).
    longest: usize,
    /// `trans[state + class]`: the next state; states are premultiplied by `stride`.
    trans: Vec<u32>,
    classes: [u8; 256],
    /// States at or past this (premultiplied) are match states.
    first_match: u32,
    /// Per match state (from `first_match`, in order): the literals ending there.
    outputs: Vec<Vec<usize>>,
    stride: u32,
}

impl Table {
    /// The state after `byte` from `state`. Every entry is a state the table holds, so the
    /// lookup never misses; a miss would restart the walk rather than panic.
    #[inline(always)]
    fn step(&self, state: u32, byte: u8) -> u32 {
        let at = state as usize + usize::from(self.classes[usize::from(byte)]);
        self.trans.get(at).copied().unwrap_or(0)
    }

    /// The Aho-Corasick automaton of `literals` (lower case; matched ignoring ASCII case) as a
    /// complete transition table: the trie, then each state's missing transitions and outputs
    /// taken from its failure state, breadth first, so a shallower state is always complete
    /// before a deeper one reads it.
    fn build(literals: &[&str]) -> Result<Table, ScannerError> {
        let too_large = |_| ScannerError::TooLarge;
        // A byte in no literal takes every state where a mismatch does, so all such bytes are
        // one class (0); each byte a literal holds is a class of its own, both cases together.
        let mut classes = [0u8; 256];
        let mut stride = 1usize;
        for &byte in literals.iter().flat_map(|l| l.as_bytes()) {
            let lower = byte.to_ascii_lowercase();
            if classes[usize::from(lower)] == 0 {
                let class = u8::try_from(stride).map_err(too_large)?;
                classes[usize::from(lower)] = class;
                classes[usize::from(lower.to_ascii_uppercase())] = class;
                stride += 1;
            }
        }
        const NONE: usize = usize::MAX;
        // At most one state per literal byte, plus the start: room for all at once, not by doubling
        // (up to 8 MiB ahead: a run-time rule file of absurd literals grows it, and fails, as before).
        let bound = literals.iter().map(|l| l.len()).sum::<usize>().saturating_add(1).saturating_mul(stride);
        let mut next = Vec::with_capacity(bound.min(1 << 20));
        next.resize(stride, NONE);
        let mut outputs: Vec<Vec<usize>> = vec![Vec::new()];
        for (i, literal) in literals.iter().enumerate() {
            if literal.is_empty() {
                return Err(ScannerError::EmptyLiteral);
            }
            let mut state = 0;
            for &byte in literal.as_bytes() {
                let at = state * stride + usize::from(classes[usize::from(byte.to_ascii_lowercase())]);
                if next[at] == NONE {
                    next[at] = outputs.len();
                    outputs.push(Vec::new());
                    next.resize(next.len() + stride, NONE);
                }
                state = next[at];
            }
            outputs[state].push(i);
        }
        let mut fail = vec![0usize; outputs.len()];
        let mut queue = std::collections::VecDeque::new();
        for slot in &mut next[..stride] {
            match *slot {
                NONE => *slot = 0,
                child => queue.push_back(child),
            }
        }
        while let Some(state) = queue.pop_front() {
            let f = fail[state];
            if !outputs[f].is_empty() {
                let inherited = outputs[f].clone();
                outputs[state].extend(inherited);
            }
            for class in 0..stride {
                let at = state * stride + class;
                let via_fail = next[f * stride + class];
                match next[at] {
                    NONE => next[at] = via_fail,
                    child => {
                        fail[child] = via_fail;
                        queue.push_back(child);
                    }
                }
            }
        }
        // Non-match states first; the start stays 0 (it never matches: no literal is empty).
        // A stable partition, in two passes: sorting by key cost 0.2M instructions at init.
        let states = 0..outputs.len();
        let order: Vec<usize> = (states.clone().filter(|&s| outputs[s].is_empty()))
            .chain(states.filter(|&s| !outputs[s].is_empty()))
            .collect();
        let mut renumbered = vec![0usize; order.len()];
        for (new, &old) in order.iter().enumerate() {
            renumbered[old] = new;
        }
        let premultiplied = |s: usize| u32::try_from(s * stride).map_err(too_large);
        let mut trans = Vec::with_capacity(next.len());
        for &old in &order {
            for &to in &next[old * stride..(old + 1) * stride] {
                trans.push(premultiplied(renumbered[to])?);
            }
        }
        let first_match = order.iter().position(|&s| !outputs[s].is_empty()).unwrap_or(order.len());
        let outputs = order[first_match..].iter().map(|&s| std::mem::take(&mut outputs[s])).collect();
        Ok(Table {
            longest: literals.iter().map(|l| l.len()).max().unwrap_or(1),
            trans,
            classes,
            first_match: premultiplied(first_match)?,
            outputs,
            stride: u32::try_from(stride).map_err(too_large)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::RedactionCounts;

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
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
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
