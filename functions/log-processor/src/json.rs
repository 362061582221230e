//! Output records written as JSON by hand: a string that needs no escaping is copied whole.

// serde_json escapes byte by byte; almost every log message needs no escaping at all, so a
// branch-free check (which the compiler vectorises) followed by one copy is several times faster.

/// Newline-terminated JSON records in one buffer: one growing allocation per invocation instead
/// of one per record.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Records {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Records {
    pub fn with_capacity(records: usize, bytes: usize) -> Records {
        Records { data: Vec::with_capacity(bytes), ends: Vec::with_capacity(records) }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes held across all records.
    pub fn total_bytes(&self) -> usize {
        self.data.len()
    }

    pub fn reserve(&mut self, records: usize, bytes: usize) {
        self.ends.reserve(records);
        self.data.reserve(bytes);
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.data.get(start..end)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let record = &self.data[start..end];
            start = end;
            record
        })
    }

    /// Bytes the buffers can hold without growing.
    pub fn capacity_bytes(&self) -> usize {
        self.data.capacity() + self.ends.capacity() * std::mem::size_of::<usize>()
    }

    /// No records, the memory kept.
    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }

    /// `later`'s records after these.
    pub fn append(&mut self, later: &Records) {
        let offset = self.data.len();
        self.ends.extend(later.ends.iter().map(|end| end + offset));
        self.data.extend_from_slice(&later.data);
    }

    /// Every record as a slice, for the delivery calls.
    pub fn slices(&self) -> Vec<&[u8]> {
        self.iter().collect()
    }

    /// Appends one complete record (a newline is added when missing).
    pub fn push(&mut self, record: &[u8]) {
        self.data.extend_from_slice(record);
        if record.last() != Some(&b'\n') {
            self.data.push(b'\n');
        }
        self.ends.push(self.data.len());
    }

    /// The buffer to write the next record into; [`Records::finish`] closes it.
    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }

    /// Closes the record written since the previous one with a newline.
    pub(crate) fn finish(&mut self) {
        self.data.push(b'\n');
        self.ends.push(self.data.len());
    }
}

impl std::ops::Index<usize> for Records {
    type Output = [u8];

    fn index(&self, i: usize) -> &[u8] {
        match self.get(i) {
            Some(record) => record,
            None => panic!("record index {i} out of range for {} records", self.len()),
        }
    }
}

/// `"s"`, escaped as JSON requires.
#[inline]
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    push_rest(out, s.as_bytes());
}

/// `,"key":"value"`: `key` is one of ours and never needs escaping. Inlined into the record
/// writer (one call per field otherwise: about 230 instructions per event), where each key is
/// a constant its copy is folded into.
#[inline(always)]
pub fn push_field(out: &mut Vec<u8>, key: &str, value: &str) {
    push_key(out, key, value.len());
    push_rest(out, value.as_bytes());
}

/// A string's text, escaped where it must be (copied whole where nothing needs it), and its
/// closing quote.
#[inline(always)]
fn push_rest(out: &mut Vec<u8>, bytes: &[u8]) {
    if needs_escape(bytes) {
        push_escaped(out, bytes);
    } else {
        out.extend_from_slice(bytes);
    }
    out.push(b'"');
}

/// `,"key":"value"` for a value of ours that needs no escaping (a level's or format's name).
#[inline(always)]
pub(crate) fn push_plain_field(out: &mut Vec<u8>, key: &str, value: &'static str) {
    debug_assert!(!needs_escape(value.as_bytes()), "{value:?} needs escaping");
    push_key(out, key, value.len());
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
}

/// `,"key":"`, with room for the rest of a field whose value is `value_len` bytes unescaped.
#[inline(always)]
fn push_key(out: &mut Vec<u8>, key: &str, value_len: usize) {
    out.reserve(key.len() + value_len + 6);
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":\"");
}

pub fn push_i64(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A finite number as JSON writes it (`12.5`, `35.0`); non-finite values are written as `null`,
/// which JSON has no number for.
pub fn push_f64(out: &mut Vec<u8>, n: f64) {
    // Whole numbers (most durations) are written as ryu writes them, `328.0`, by the integer
    // formatter, which is several times faster; below 1e15 ryu never switches to an exponent.
    if n.fract() == 0.0 && n.abs() < 1e15 {
        if n.is_sign_negative() {
            out.push(b'-');
        }
        out.extend_from_slice(itoa::Buffer::new().format(n.abs() as u64).as_bytes());
        out.extend_from_slice(b".0");
        return;
    }
    if n.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(n).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Whether `bytes` holds a byte JSON must escape. Every text is read as whole fixed-size windows,
/// overlapping where its length is no multiple of one, so that no loop runs on for a length the
/// branch predictor cannot know: reading the last 1-31 bytes one by one cost a mispredicted
/// branch per field written (most fields are a few bytes: a level, a service, a pod).
fn needs_escape(bytes: &[u8]) -> bool {
    fn any<const N: usize>(window: &[u8; N]) -> bool {
        // No early exit inside the window: the fold compiles to a few vector compares.
        window.iter().fold(false, |any, &b| any | (b < 0x20) | (b == b'"') | (b == b'\\'))
    }
    fn ends<const N: usize>(bytes: &[u8]) -> bool {
        matches!((bytes.first_chunk::<N>(), bytes.last_chunk::<N>()), (Some(a), Some(b)) if any(a) | any(b))
    }
    match bytes.len() {
        32.. => {
            let (chunks, _) = bytes.as_chunks::<32>();
            chunks.iter().any(any) || bytes.last_chunk::<32>().is_some_and(any)
        }
        16..32 => ends::<16>(bytes),
        8..16 => ends::<8>(bytes),
        4..8 => ends::<4>(bytes),
        _ => bytes.iter().fold(false, |found, &b| found | any(&[b])),
    }
}

fn push_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => &[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]],
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        out.extend_from_slice(short);
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        push_str(&mut out, s);
        out
    }

    #[test]
    fn strings_round_trip_through_a_json_parser() {
        let mut cases: Vec<String> = (0u8..0x80).map(|b| format!("a{}b", char::from(b))).collect();
        cases.extend(
            [
                "",
                "plain text with no escapes at all, longer than one thirty-two byte chunk of input",
                "quote \" and backslash \\ and newline \n and tab \t in the middle of a long line of text",
                "unicode: caf\u{e9} \u{2028} \u{1F600} \u{7f}",
                "\u{0}\u{1}\u{1f}",
            ]
            .map(String::from),
        );
        for s in cases {
            let out = written(&s);
            let back: String = serde_json::from_slice(&out).expect("valid JSON string");
            assert_eq!(back, s);
        }
    }

    /// The windowed check finds a byte to escape at any position of a text of any length.
    #[test]
    fn the_escape_check_sees_every_position_of_every_length() {
        for len in 0..100 {
            let clean = vec![b'a'; len];
            assert!(!needs_escape(&clean), "{len}");
            for at in 0..len {
                for special in [b'"', b'\\', b'\n', 0x1f, 0] {
                    let mut text = clean.clone();
                    text[at] = special;
                    assert!(needs_escape(&text), "{special} at {at} of {len}");
                }
                let mut text = clean.clone();
                text[at] = 0x20;
                assert!(!needs_escape(&text), "a space is no escape: {at} of {len}");
            }
        }
    }

    #[test]
    fn clean_strings_are_copied_verbatim() {
        assert_eq!(written("order 42 filled"), b"\"order 42 filled\"");
        assert_eq!(written("a\"b"), b"\"a\\\"b\"");
    }

    #[test]
    fn numbers_are_json() {
        let mut out = Vec::new();
        push_i64(&mut out, -42);
        out.push(b' ');
        push_f64(&mut out, 35.0);
        out.push(b' ');
        push_f64(&mut out, f64::NAN);
        assert_eq!(out, b"-42 35.0 null");
    }

    /// The whole-number path writes exactly what ryu writes.
    #[test]
    fn whole_numbers_are_written_as_ryu_writes_them() {
        let mut values: Vec<f64> = (-2_000..2_000).map(f64::from).collect();
        values.extend([
            -0.0,
            0.5,
            -0.5,
            1e14,
            1e15 - 1.0,
            1e15,
            1e16,
            123_456_789_012_345.0,
            4.2e-7,
            f64::MAX,
            f64::MIN,
        ]);
        let mut p = 1.0f64;
        while p < 1e300 {
            values.extend([p, p + 1.0, -p, p * 1.5]);
            p *= 7.0;
        }
        for v in values {
            let mut out = Vec::new();
            push_f64(&mut out, v);
            assert_eq!(String::from_utf8(out).expect("utf-8"), ryu::Buffer::new().format_finite(v), "{v:e}");
        }
    }

    #[test]
    fn records_share_one_buffer() {
        let mut r = Records::default();
        r.push(b"{\"a\":1}");
        r.buffer().extend_from_slice(b"{\"b\":2}");
        r.finish();
        assert_eq!(r.len(), 2);
        assert_eq!(&r[0], b"{\"a\":1}\n");
        assert_eq!(r.get(1), Some(&b"{\"b\":2}\n"[..]));
        assert_eq!(r.get(2), None);
        assert_eq!(r.iter().collect::<Vec<_>>(), r.slices());
        assert_eq!(r.total_bytes(), 16);
    }
}
