//! The batch JSON read in one pass where it has the shape CloudWatch writes; simd-json reads any other.

// simd-json reads any JSON: an index of every structural byte, then a tape read back through
// serde. On a delivery that was about 2,950 instructions per event, most of them spent finding
// structure this shape fixes (three fields per event). This reader answers only where it reads
// what simd-json reads and declines everything else: escaped keys, duplicate or missing fields,
// nulls, unknown fields holding anything but a plain string, number or literal, lone surrogates,
// control characters, any syntax error. A declined batch is read by simd-json, which decides.
// The differential tests and fuzz target hold the two to the same answer.
//
// Strings without escapes are borrowed from the JSON as it is; escaped ones are unescaped into a
// scratch buffer kept between deliveries, sixteen bytes at a time. The reading is two steps: a plan
// of where every string is (needing the scratch buffer mutably), then the batch borrowing from
// both buffers, so that a declined batch leaves the JSON untouched for simd-json.

use std::borrow::Cow;

use crate::decode::{DecodeError, LogBatch, LogEvent};
use crate::jsonline::{Punctuation, special, specials};

/// Memory the reader keeps from one delivery for the next.
#[derive(Debug, Default)]
pub struct Scratch {
    unescaped: Vec<u8>,
    events: Vec<RawEvent>,
    filters: Vec<Span>,
}

impl Scratch {
    /// Bytes and events held, to give back memory an outsized delivery left.
    pub(crate) fn capacity_bytes(&self) -> usize {
        self.unescaped.capacity()
            + self.events.capacity() * std::mem::size_of::<RawEvent>()
            + self.filters.capacity() * std::mem::size_of::<Span>()
    }
}

/// Where a string of the batch is: in the JSON (it has no escapes) or unescaped in the scratch buffer.
#[derive(Debug, Clone, Copy)]
enum Span {
    Json(usize, usize),
    Unescaped(usize, usize),
}

#[derive(Debug, Clone, Copy)]
struct RawEvent {
    id: Option<Span>,
    timestamp: i64,
    message: Span,
}

/// Where a read batch's strings are; its events and filters are in the [`Scratch`] it was read with.
#[derive(Debug)]
pub(crate) struct Plan {
    message_type: Span,
    owner: Option<Span>,
    log_group: Option<Span>,
    log_stream: Option<Span>,
    unescaped: usize,
}

/// The batch `json` holds, or `None` where this reader declines it (simd-json decides those).
/// An answer can still be an error: JSON that is not UTF-8, as simd-json refuses it too.
pub fn read<'a>(json: &'a [u8], scratch: &'a mut Scratch) -> Option<Result<LogBatch<'a>, DecodeError>> {
    let plan = plan(json, scratch)?;
    Some(build(json, &plan, scratch))
}

/// The first step: every string located (escaped ones unescaped into `scratch`), or `None`.
pub(crate) fn plan(json: &[u8], scratch: &mut Scratch) -> Option<Plan> {
    scratch.events.clear();
    scratch.filters.clear();
    let Scratch { unescaped, events, filters } = scratch;
    // An escape is never shorter than what it stands for, so room for the JSON and a block is room
    // for every string unescaped: the loops store whole blocks with no check for growth. The
    // buffer is sized (and zeroed) once, by the first delivery this large, and kept.
    let room = json.len() + 16;
    if unescaped.len() < room {
        *unescaped = vec![0; room];
    }
    let mut reader = Reader { json, at: 0, out: unescaped, w: 0 };
    let (mut message_type, mut owner, mut log_group, mut log_stream) = (None, None, None, None);
    let mut seen = 0u8;
    reader.whitespace();
    reader.items(b'{', b'}', |r| {
        let key = r.key()?;
        let bit = match key {
            b"messageType" => 1,
            b"owner" => 2,
            b"logGroup" => 4,
            b"logStream" => 8,
            b"subscriptionFilters" => 16,
            b"logEvents" => 32,
            _ => return r.skip_plain(),
        };
        if seen & bit != 0 {
            return None; // serde: "duplicate field"
        }
        seen |= bit;
        match bit {
            1 => message_type = Some(r.string()?),
            2 => owner = Some(r.string()?),
            4 => log_group = Some(r.string()?),
            8 => log_stream = Some(r.string()?),
            16 => r.items(b'[', b']', |r| r.string().map(|s| filters.push(s)))?,
            _ => r.items(b'[', b']', |r| r.event().map(|e| events.push(e)))?,
        }
        Some(())
    })?;
    reader.whitespace();
    (reader.at == json.len()).then_some(())?;
    Some(Plan { message_type: message_type?, owner, log_group, log_stream, unescaped: reader.w })
}

/// The second step: the batch `plan` located, borrowing from `json` and `scratch`.
pub(crate) fn build<'a>(json: &'a [u8], plan: &Plan, scratch: &'a Scratch) -> Result<LogBatch<'a>, DecodeError> {
    let json_error = |kind| DecodeError::Json(simd_json::Error::generic(kind));
    let text = simdutf8::basic::from_utf8(json).map_err(|_| json_error(simd_json::ErrorType::InvalidUtf8))?;
    // Copied from `text` between ASCII quotes and backslashes, and valid escapes: UTF-8 whenever
    // `text` is, checked rather than assumed.
    let written = scratch.unescaped.get(..plan.unescaped).unwrap_or_default();
    let unescaped = simdutf8::basic::from_utf8(written).map_err(|_| json_error(simd_json::ErrorType::InvalidUtf8))?;
    // Every span was cut at a quote or backslash, so at a character boundary of its buffer.
    let get = |span: Span| -> Result<Cow<'a, str>, DecodeError> {
        let found = match span {
            Span::Json(start, end) => text.get(start..end),
            Span::Unescaped(start, end) => unescaped.get(start..end),
        };
        found.map(Cow::Borrowed).ok_or_else(|| json_error(simd_json::ErrorType::InternalError))
    };
    let optional = |span: Option<Span>| span.map_or(Ok(Cow::Borrowed("")), get);
    let log_events = scratch
        .events
        .iter()
        .map(|e| Ok(LogEvent { id: optional(e.id)?, timestamp: e.timestamp, message: get(e.message)? }))
        .collect::<Result<_, DecodeError>>()?;
    Ok(LogBatch {
        message_type: get(plan.message_type)?,
        owner: optional(plan.owner)?,
        log_group: optional(plan.log_group)?,
        log_stream: optional(plan.log_stream)?,
        subscription_filters: scratch.filters.iter().map(|&s| get(s)).collect::<Result<_, _>>()?,
        log_events,
    })
}

struct Reader<'j, 's> {
    json: &'j [u8],
    at: usize,
    /// Unescaped strings, written from `w`; may hold bytes past `w` (blocks are stored whole).
    out: &'s mut [u8],
    w: usize,
}

impl Punctuation for Reader<'_, '_> {
    fn input(&self) -> &[u8] {
        self.json
    }

    fn at(&self) -> usize {
        self.at
    }

    fn advance(&mut self, bytes: usize) {
        self.at += bytes;
    }
}

impl Reader<'_, '_> {
    /// A member's key (without escapes: an escaped key is matched after unescaping, simd-json's to
    /// do) and its colon; the reader is left at the value.
    fn key(&mut self) -> Option<&[u8]> {
        self.eat(b'"')?;
        let start = self.at;
        let end = special(self.json, start)?;
        (self.json[end] == b'"').then_some(())?;
        self.at = end + 1;
        self.whitespace();
        self.eat(b':')?;
        self.whitespace();
        self.json.get(start..end)
    }

    /// One event: its id and timestamp (both optional) and message.
    fn event(&mut self) -> Option<RawEvent> {
        // As CloudWatch writes every event: its three fields in this order, no whitespace. Read
        // as fixed text between the values; anything else is read member by member from the start.
        let (at, w) = (self.at, self.w);
        let mut canonical = || {
            self.literal(b"{\"id\":")?;
            let id = self.string()?;
            self.literal(b",\"timestamp\":")?;
            let timestamp = self.integer()?;
            self.literal(b",\"message\":")?;
            let message = self.string()?;
            self.literal(b"}")?;
            Some(RawEvent { id: Some(id), timestamp, message })
        };
        if let Some(event) = canonical() {
            return Some(event);
        }
        (self.at, self.w) = (at, w);
        let (mut id, mut timestamp, mut message) = (None, 0, None);
        let mut seen = 0u8;
        self.items(b'{', b'}', |r| {
            let bit = match r.key()? {
                b"id" => 1,
                b"timestamp" => 2,
                b"message" => 4,
                _ => return r.skip_plain(),
            };
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            match bit {
                1 => id = Some(r.string()?),
                2 => timestamp = r.integer()?,
                _ => message = Some(r.string()?),
            }
            Some(())
        })?;
        Some(RawEvent { id, timestamp, message: message? })
    }

    /// Past `text`, if it is next.
    #[inline(always)]
    fn literal(&mut self, text: &[u8]) -> Option<()> {
        self.json.get(self.at..)?.starts_with(text).then(|| self.at += text.len())
    }

    /// A plain integer (no sign on zero, no fraction or exponent, at most 18 digits: always an
    /// `i64`, read as serde reads it from simd-json).
    fn integer(&mut self) -> Option<i64> {
        let negative = self.eat(b'-').is_some();
        let start = self.at;
        let mut value = 0i64;
        while let Some(digit) = self.peek().map(|b| b.wrapping_sub(b'0')).filter(|&d| d < 10) {
            if self.at - start == 18 {
                return None;
            }
            value = value * 10 + i64::from(digit);
            self.at += 1;
        }
        let leading_zero = self.json.get(start) == Some(&b'0') && (self.at - start > 1 || negative);
        if self.at == start || leading_zero || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(if negative { -value } else { value })
    }

    /// Past a value of a field no one reads: a string without escapes, an integer, `true`,
    /// `false` or `null`. Anything else (objects, arrays, escapes, fractions) declines.
    fn skip_plain(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                let end = special(self.json, self.at + 1)?;
                (self.json[end] == b'"').then(|| self.at = end + 1)
            }
            b'-' | b'0'..=b'9' => self.integer().map(drop),
            _ => ["true", "false", "null"].iter().find(|w| self.json[self.at..].starts_with(w.as_bytes())).map(|w| {
                self.at += w.len();
            }),
        }
    }

    /// A string value: its span in the JSON when it has no escapes, else unescaped into `out`.
    #[inline(always)]
    fn string(&mut self) -> Option<Span> {
        self.eat(b'"')?;
        let start = self.at;
        let end = special(self.json, start)?;
        match self.json[end] {
            b'"' => {
                self.at = end + 1;
                Some(Span::Json(start, end))
            }
            b'\\' => self.unescape(start, end),
            _ => None, // a control character: simd-json's to judge
        }
    }

    /// The string from `start` (its first escape at `first`) unescaped into `out`: the text
    /// between escapes copied sixteen bytes at a time, each block stored whole at `w` and `w`
    /// moved past the bytes before the block's first quote, backslash or control character.
    fn unescape(&mut self, start: usize, first: usize) -> Option<Span> {
        let (json, from) = (self.json, self.w);
        let out = &mut *self.out;
        let prefix = json.get(start..first)?;
        let mut w = from + prefix.len();
        out.get_mut(from..w)?.copy_from_slice(prefix);
        let mut r = first;
        loop {
            // At a backslash.
            match ESCAPES[usize::from(*json.get(r + 1)?)] {
                0 => (r, w) = unicode(json, r, out, w)?,
                byte => {
                    *out.get_mut(w)? = byte;
                    w += 1;
                    r += 2;
                }
            }
            let special = loop {
                let Some(block) = json.get(r..).and_then(<[u8]>::first_chunk::<16>) else {
                    (r, w) = tail(json, r, out, w)?;
                    break *json.get(r)?;
                };
                out.get_mut(w..).and_then(<[u8]>::first_chunk_mut::<16>)?.copy_from_slice(block);
                let found = specials(block);
                if found != 0 {
                    let k = found.trailing_zeros() as usize;
                    r += k;
                    w += k;
                    break block[k & 15];
                }
                r += 16;
                w += 16;
            };
            match special {
                b'"' => {
                    self.at = r + 1;
                    self.w = w;
                    return Some(Span::Unescaped(from, w));
                }
                b'\\' => continue,
                _ => return None,
            }
        }
    }
}

/// What each escape (the byte after a backslash) stands for; 0 for `u` (see [`unicode`]) and for
/// the bytes that escape nothing.
static ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[b'/' as usize] = b'/';
    table[b'b' as usize] = 0x08;
    table[b'f' as usize] = 0x0c;
    table[b'n' as usize] = b'\n';
    table[b'r' as usize] = b'\r';
    table[b't' as usize] = b'\t';
    table
};

/// A `\uXXXX` escape at `r` (a surrogate pair takes two) written to `out` at `w` as UTF-8; the
/// positions after both. A lone surrogate, or a backslash escaping nothing, declines.
#[cold]
fn unicode(json: &[u8], r: usize, out: &mut [u8], w: usize) -> Option<(usize, usize)> {
    (json.get(r + 1) == Some(&b'u')).then_some(())?;
    let hex = |at: usize| -> Option<u32> {
        let digits = std::str::from_utf8(json.get(at..at + 4)?).ok()?;
        digits.bytes().all(|b| b.is_ascii_hexdigit()).then_some(())?;
        u32::from_str_radix(digits, 16).ok()
    };
    let unit = hex(r + 2)?;
    let (code, next) = match unit {
        0xD800..=0xDBFF => {
            (json.get(r + 6..r + 8)? == b"\\u").then_some(())?;
            let low = hex(r + 8)?;
            (0xDC00..=0xDFFF).contains(&low).then_some(())?;
            (0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), r + 12)
        }
        0xDC00..=0xDFFF => return None,
        _ => (unit, r + 6),
    };
    let mut utf8 = [0u8; 4];
    let bytes = char::from_u32(code)?.encode_utf8(&mut utf8).as_bytes();
    out.get_mut(w..w + bytes.len())?.copy_from_slice(bytes);
    Some((next, w + bytes.len()))
}

/// The last bytes of the JSON (fewer than a block) copied up to the next quote, backslash or
/// control character; the positions of it. `None` when there is none: the string is not closed.
#[cold]
fn tail(json: &[u8], mut r: usize, out: &mut [u8], mut w: usize) -> Option<(usize, usize)> {
    loop {
        let byte = *json.get(r)?;
        if matches!(byte, b'"' | b'\\') || byte < 0x20 {
            return Some((r, w));
        }
        *out.get_mut(w)? = byte;
        r += 1;
        w += 1;
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
