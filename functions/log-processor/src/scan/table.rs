//! The scanner's automaton as a dense transition table: built from literals here, or at build time (build.rs includes this file).

use std::borrow::Cow;

/// Why the scanner could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ScannerError {
    #[error("the literal scanner was given an empty literal")]
    EmptyLiteral,
    #[error("the literal scanner's table is too large for 32-bit states")]
    TooLarge,
}

/// The DFA as a dense table over byte classes, match states last. The tables are borrowed when
/// the build script made them for the compiled-in rules (`crate::compiled::scanner_table`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    /// Bytes of the longest literal (at least 1).
    pub(crate) longest: usize,
    /// `trans[state + class]`: the next state; states are premultiplied by `stride`.
    pub(crate) trans: Cow<'static, [u32]>,
    pub(crate) classes: [u8; 256],
    /// States at or past this (premultiplied) are match states.
    pub(crate) first_match: u32,
    /// Per match state (from `first_match`, in order) where its literals are in `outputs`,
    /// which hold the indices of the literals ending there.
    pub(crate) output_spans: Cow<'static, [(u32, u32)]>,
    pub(crate) outputs: Cow<'static, [u32]>,
    pub(crate) stride: u32,
}

/// Entries a small table is padded to: a walk over it masks its index into a fixed-size array
/// instead of checking it (the shipped literals' table has 30,955 entries).
pub(crate) const SMALL: usize = 1 << 15;

/// A step of the automaton, however its table is held.
#[allow(dead_code)] // the build script includes this file and walks nothing
pub(crate) trait Step: Copy {
    /// The state after `byte` from `state`.
    fn step(&self, state: u32, byte: u8) -> u32;
    /// States at or past this (premultiplied) are match states.
    fn first_match(&self) -> u32;
}

/// What a walk reads, borrowed from the table once per text: a step is then a class load and a
/// table load, whether the table is the build script's or one built at run time.
#[derive(Clone, Copy)]
#[allow(dead_code)]
pub(crate) struct Walker<'a> {
    trans: &'a [u32],
    classes: &'a [u8; 256],
    first_match: u32,
}

impl Step for Walker<'_> {
    /// Every entry is a state the table holds, so the lookup never misses; a miss would restart
    /// the walk rather than panic.
    #[inline(always)]
    fn step(&self, state: u32, byte: u8) -> u32 {
        let at = state as usize + usize::from(self.classes[usize::from(byte)]);
        self.trans.get(at).copied().unwrap_or(0)
    }

    fn first_match(&self) -> u32 {
        self.first_match
    }
}

/// A walk over a table padded to [`SMALL`] entries: every index a state and a class make is
/// below its real length, so masking it changes nothing and spares the check (two
/// instructions of the five a step took).
#[derive(Clone, Copy)]
#[allow(dead_code)]
pub(crate) struct SmallWalker<'a> {
    trans: &'a [u32; SMALL],
    classes: &'a [u8; 256],
    first_match: u32,
}

impl Step for SmallWalker<'_> {
    #[inline(always)]
    fn step(&self, state: u32, byte: u8) -> u32 {
        self.trans[(state as usize + usize::from(self.classes[usize::from(byte)])) & (SMALL - 1)]
    }

    fn first_match(&self) -> u32 {
        self.first_match
    }
}

impl Table {
    #[allow(dead_code)]
    pub(crate) fn walker(&self) -> Walker<'_> {
        Walker { trans: &self.trans, classes: &self.classes, first_match: self.first_match }
    }

    /// The masked walk, for a table padded to [`SMALL`] entries.
    #[allow(dead_code)]
    pub(crate) fn small_walker(&self) -> Option<SmallWalker<'_>> {
        let trans = self.trans.first_chunk::<SMALL>().filter(|_| self.trans.len() == SMALL)?;
        Some(SmallWalker { trans, classes: &self.classes, first_match: self.first_match })
    }

    /// The literals (indices) match state `state` ends.
    #[allow(dead_code)]
    pub(crate) fn outputs(&self, state: u32) -> &[u32] {
        // A state below the match states ends no literal (callers only pass match states).
        let Some(past) = state.checked_sub(self.first_match) else { return &[] };
        let index = (past / self.stride) as usize;
        let (start, end) = self.output_spans.get(index).copied().unwrap_or_default();
        self.outputs.get(start as usize..end as usize).unwrap_or_default()
    }

    /// The Aho-Corasick automaton of `literals` (lower case; matched ignoring ASCII case) as a
    /// complete transition table: the trie, then each state's missing transitions and outputs
    /// taken from its failure state, breadth first, so a shallower state is always complete
    /// before a deeper one reads it. Then the same run in step with the card-number digit chain
    /// ([`with_chain`]): a chain of [`CHAIN_DIGITS`] digits ends as literal `literals.len()`.
    pub(crate) fn build(literals: &[&str]) -> Result<Table, ScannerError> {
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
        // The digits and separators no literal holds: a class each kind, so that every class is
        // one kind of byte to the chain (a literal's class is one byte and its other case).
        for kind in [Kind::Digit, Kind::Separator] {
            let mut class = None;
            for byte in 0..=255u8 {
                if Kind::of(byte) == kind && classes[usize::from(byte)] == 0 {
                    let class = *class.get_or_insert(stride);
                    classes[usize::from(byte)] = u8::try_from(class).map_err(too_large)?;
                }
            }
            stride += usize::from(class.is_some());
        }
        // States are u32 and premultiplied by `stride` in the finished table; the trie's and the
        // breadth-first pass's work in state numbers, checked to fit once here.
        const NONE: u32 = u32::MAX;
        let literal_bytes = literals.iter().map(|l| l.len()).sum::<usize>();
        let most_states = literal_bytes.saturating_add(1);
        if most_states.checked_mul(stride).is_none_or(|n| n >= NONE as usize) {
            return Err(ScannerError::TooLarge);
        }
        // At most one state per literal byte, plus the start: room for all at once, not by doubling
        // (up to 4 MiB ahead: a run-time rule file of absurd literals grows it, and fails, as before).
        // The one table is built, completed and renumbered in place: a copy, and usize entries,
        // made the compiled-in rules' cold start touch 348 KiB instead of 116.
        let mut next: Vec<u32> = Vec::with_capacity((most_states * stride).min(1 << 20));
        next.resize(stride, NONE);
        let mut outputs: Vec<Vec<usize>> = vec![Vec::new()];
        for (i, literal) in literals.iter().enumerate() {
            if literal.is_empty() {
                return Err(ScannerError::EmptyLiteral);
            }
            let mut state = 0usize;
            for &byte in literal.as_bytes() {
                let at = state * stride + usize::from(classes[usize::from(byte.to_ascii_lowercase())]);
                if next[at] == NONE {
                    // Below `most_states`, which was checked to fit.
                    next[at] = outputs.len() as u32;
                    outputs.push(Vec::new());
                    next.resize(next.len() + stride, NONE);
                }
                state = next[at] as usize;
            }
            outputs[state].push(i);
        }
        let mut fail = vec![0u32; outputs.len()];
        let mut queue = std::collections::VecDeque::new();
        for slot in &mut next[..stride] {
            match *slot {
                NONE => *slot = 0,
                child => queue.push_back(child as usize),
            }
        }
        while let Some(state) = queue.pop_front() {
            let f = fail[state] as usize;
            if !outputs[f].is_empty() {
                let inherited = outputs[f].clone();
                outputs[state].extend(inherited);
            }
            // The failure state is shallower, not always numbered lower (a later literal can add it).
            let (row, via_fail) = if f < state {
                let (low, high) = next.split_at_mut(state * stride);
                (&mut high[..stride], &low[f * stride..(f + 1) * stride])
            } else {
                let (low, high) = next.split_at_mut(f * stride);
                (&mut low[state * stride..(state + 1) * stride], &high[..stride])
            };
            for (slot, &via) in row.iter_mut().zip(via_fail) {
                match *slot {
                    NONE => *slot = via,
                    child => {
                        fail[child as usize] = via;
                        queue.push_back(child as usize);
                    }
                }
            }
        }
        let (mut next, outputs) = with_chain(&next, &outputs, &classes, stride, literals.len())?;
        // Non-match states first; the start stays 0 (it never matches: no literal is empty).
        // A stable partition, in two passes: sorting by key cost 0.2M instructions at init.
        let states = 0..outputs.len();
        let order: Vec<usize> = (states.clone().filter(|&s| outputs[s].is_empty()))
            .chain(states.filter(|&s| !outputs[s].is_empty()))
            .collect();
        let mut renumbered = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            renumbered[old] = (new * stride) as u32;
        }
        for to in &mut next {
            *to = renumbered[*to as usize];
        }
        permute_rows(&mut next, stride, &order);
        if next.len() <= SMALL {
            next.resize(SMALL, 0);
        }
        let first_match = order.iter().position(|&s| !outputs[s].is_empty()).unwrap_or(order.len());
        let (mut output_spans, mut flat) = (Vec::new(), Vec::new());
        for &s in &order[first_match..] {
            // A literal index is below the literal count, itself below the checked state bound.
            let start = flat.len() as u32;
            flat.extend(outputs[s].iter().map(|&literal| literal as u32));
            output_spans.push((start, flat.len() as u32));
        }
        Ok(Table {
            longest: literals.iter().map(|l| l.len()).max().unwrap_or(1),
            trans: Cow::Owned(next),
            classes,
            first_match: (first_match * stride) as u32,
            output_spans: Cow::Owned(output_spans),
            outputs: Cow::Owned(flat),
            stride: stride as u32,
        })
    }
}

/// Digits in a chain long enough for a card number (`crate::cards` defines the chain: digits
/// joined by single spaces or dashes; a test holds the two equal). The table follows the chain
/// beside the literals and reports one that long as a literal of its own.
pub(crate) const CHAIN_DIGITS: usize = 13;

/// A chain state: `2 * digits + after_separator` below [`CHAIN_DIGITS`] digits, then `FOUND`.
const FOUND: usize = 2 * CHAIN_DIGITS;

/// What a byte is to the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Digit,
    Separator,
    Other,
}

impl Kind {
    fn of(byte: u8) -> Kind {
        match byte {
            b'0'..=b'9' => Kind::Digit,
            b' ' | b'-' => Kind::Separator,
            _ => Kind::Other,
        }
    }
}

/// The chain state after a byte of `kind`. From `FOUND` the chain goes on as from one digit
/// short: a longer chain is found again (reported once more, harmlessly), and `FOUND` needs no
/// copy of the automaton of its own.
fn chain_step(state: usize, kind: Kind) -> usize {
    let state = if state == FOUND { FOUND - 2 } else { state };
    let (digits, after_separator) = (state / 2, state % 2 == 1);
    match kind {
        Kind::Digit if digits + 1 == CHAIN_DIGITS => FOUND,
        Kind::Digit => 2 * (digits + 1),
        // A first separator keeps the chain; a second one in a row ends it.
        Kind::Separator if after_separator => 1,
        Kind::Separator => 2 * digits + 1,
        Kind::Other => 0,
    }
}

/// The automaton (`next`, complete over `stride` classes; `outputs` per state) run in step with
/// the digit chain: a state for each pair of an automaton state and a chain state the start
/// reaches, a chain found reported as literal `chain_literal`. Following the chain in the walk
/// itself cost a table load and five instructions per byte and walk, and the registers two walks
/// in step need; the pairs the shipped literals reach are 755 against 717 states.
fn with_chain(
    next: &[u32],
    outputs: &[Vec<usize>],
    classes: &[u8; 256],
    stride: usize,
    chain_literal: usize,
) -> Result<(Vec<u32>, Vec<Vec<usize>>), ScannerError> {
    const CHAIN_STATES: usize = FOUND + 1;
    // Every byte of a class is one kind (see the classes in `Table::build`).
    let mut kinds = vec![Kind::Other; stride];
    for byte in 0..=255u8 {
        kinds[usize::from(classes[usize::from(byte)])] = Kind::of(byte);
    }
    let mut number = vec![u32::MAX; outputs.len() * CHAIN_STATES];
    let mut pairs = vec![(0usize, 0usize)];
    number[0] = 0;
    let mut table = Vec::with_capacity(next.len() + next.len() / 8);
    let mut at = 0;
    while let Some(&(state, chain)) = pairs.get(at) {
        for (class, &kind) in kinds.iter().enumerate() {
            let to = (next[state * stride + class] as usize, chain_step(chain, kind));
            let slot = &mut number[to.0 * CHAIN_STATES + to.1];
            if *slot == u32::MAX {
                *slot = u32::try_from(pairs.len()).map_err(|_| ScannerError::TooLarge)?;
                pairs.push(to);
            }
            table.push(*slot);
        }
        at += 1;
    }
    if pairs.len().checked_mul(stride).is_none_or(|n| n >= u32::MAX as usize) {
        return Err(ScannerError::TooLarge);
    }
    let outputs = pairs
        .iter()
        .map(|&(state, chain)| {
            let mut ends = outputs[state].clone();
            if chain == FOUND {
                ends.push(chain_literal);
            }
            ends
        })
        .collect();
    Ok((table, outputs))
}

/// Rows of `stride` entries moved so that row `n` holds what row `order[n]` held, one cycle of
/// the permutation at a time, through one spare row.
fn permute_rows(table: &mut [u32], stride: usize, order: &[usize]) {
    let mut placed = vec![false; order.len()];
    let mut spare = vec![0u32; stride];
    for start in 0..order.len() {
        if placed[start] || order[start] == start {
            continue;
        }
        spare.copy_from_slice(&table[start * stride..(start + 1) * stride]);
        let mut at = start;
        loop {
            placed[at] = true;
            let from = order[at];
            if from == start {
                table[at * stride..(at + 1) * stride].copy_from_slice(&spare);
                break;
            }
            table.copy_within(from * stride..(from + 1) * stride, at * stride);
            at = from;
        }
    }
}
