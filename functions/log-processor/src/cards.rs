//! Card numbers: chains of 13 to 19 digits that pass the Luhn check, found without a regex.

/// Finds runs of 13-19 digits (single spaces or dashes allowed between digits) standing alone
/// and passing the Luhn check, and replaces them.
pub(crate) fn replace_cards(text: &str, replacement: &str) -> (String, u64) {
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
pub(crate) const CARD_MIN_DIGITS: usize = 13;

/// The most bytes a chain's first [`CARD_MIN_DIGITS`] digits span (a separator between each two).
pub(crate) const CARD_SPAN: usize = 2 * CARD_MIN_DIGITS - 1;

/// Whether [`longest_digit_chain`] of `bytes` reaches [`CARD_MIN_DIGITS`], reading about one
/// byte pair in twelve plus the digit runs those pairs land in, instead of every byte.
///
/// Why probing is exact: from its first to its thirteenth digit a chain is 13 to 25 bytes of
/// digits and single separators, so every two adjacent bytes in it hold a digit, and it covers
/// some pair `(p, p + 1)` with `p` a multiple of 12. A pair with no digit rules out every chain
/// through it; a pair with one is settled by measuring the chain through that digit, and the
/// next chain starts after it, where the probing resumes.
///
/// Measured slower on the benchmark's lines (all digits, ids and timestamps): a word-at-a-time
/// pass (digit and separator bit masks per 64 bytes, chains as runs of set bits, digits by
/// population count) at 260 ns a line against 196, and a branch-free byte walk at 550.
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
pub(crate) fn longest_digit_chain(bytes: &[u8]) -> u32 {
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

    /// The probing gate agrees with the full chain pass on every text, chains at any offset (the
    /// scanner's table is held to the same pass in scan.rs).
    #[test]
    fn the_gate_agrees_with_the_chain_pass() {
        let alphabet = b"0123456789 -x.";
        let mut rng = crate::synthetic::Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let len = rng.below(80) as usize;
            // Mostly digits, so chains near 13 are common.
            let text: Vec<u8> = (0..len)
                .map(|_| match rng.below(10) {
                    0..=6 => b'0' + rng.below(10) as u8,
                    _ => alphabet[rng.below(alphabet.len() as u64) as usize],
                })
                .collect();
            let expected = longest_digit_chain(&text) >= 13;
            assert_eq!(has_card_length_chain(&text), expected, "{text:?}");
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
}
