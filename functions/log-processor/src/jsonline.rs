//! A JSON log line's record fields, read in one pass that leaves to serde_json every line it cannot read exactly as serde_json would.

// serde_json's derived reading is the definition ([`read_serde`]); the one-pass reader
// ([`read_fast`]) answers only where it agrees with it and declines everything else: escaped keys,
// control characters, duplicate fields, deep nesting, any syntax error. Values it does not
// convert itself (a string field with escapes, a duration other than a short unsigned integer)
// serde_json converts from their own text. A declined line costs one extra partial pass; the lines
// the services write are read once. The differential fuzz target and the tests hold the two
// readers to the same answer.

use std::borrow::Cow;

use serde::Deserialize;

/// What a record is built from: the fields of a JSON line the processor reads.
#[derive(Debug, Default, PartialEq)]
pub struct Fields<'a> {
    pub level: Option<Cow<'a, str>>,
    pub logger_name: Option<Cow<'a, str>>,
    pub message: Option<Cow<'a, str>>,
    pub stack_trace: Option<Cow<'a, str>>,
    pub trace_id: Option<Cow<'a, str>>,
    pub service: Option<Cow<'a, str>>,
    pub duration_ms: Option<f64>,
    /// Fluent Bit / Container Insights: the container's own line as the JSON writes it (a quoted,
    /// escaped string, or whatever value stood there).
    pub log: Option<&'a str>,
    pub kubernetes: Option<Kubernetes<'a>>,
}

#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct Kubernetes<'a> {
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub pod_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub namespace_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub container_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub labels: Option<Labels<'a>>,
}

#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct Labels<'a> {
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub app: Option<Cow<'a, str>>,
}

/// A line's fields: the one-pass reading, or serde_json's where that declines. `None`: the line
/// is no JSON object of the expected shape.
#[inline]
pub fn read(line: &str) -> Option<Fields<'_>> {
    read_fast(line).or_else(|| read_serde(line).ok())
}

/// serde_json's reading of a line, which [`read_fast`] must agree with wherever it answers.
pub fn read_serde(line: &str) -> Result<Fields<'_>, serde_json::Error> {
    let json: JsonLine<'_> = serde_json::from_str(line)?;
    Ok(Fields {
        level: json.level,
        logger_name: json.logger_name,
        message: json.message,
        stack_trace: json.stack_trace,
        trace_id: json.trace_id,
        service: json.service,
        duration_ms: json.duration_ms,
        log: json.log.map(serde_json::value::RawValue::get),
        kubernetes: json.kubernetes,
    })
}

/// The fields of JSON in serde_json's names; everything else is skipped without being built.
#[derive(Deserialize)]
struct JsonLine<'a> {
    #[serde(borrow, default, deserialize_with = "opt_cow", alias = "severity", alias = "lvl", alias = "log.level")]
    level: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "opt_cow", alias = "logger")]
    logger_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "opt_cow", alias = "msg")]
    message: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "opt_cow", alias = "stackTrace", alias = "exception")]
    stack_trace: Option<Cow<'a, str>>,
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_cow",
        rename = "traceId",
        alias = "trace_id",
        alias = "X-B3-TraceId"
    )]
    trace_id: Option<Cow<'a, str>>,
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_cow",
        alias = "app",
        alias = "service_name",
        alias = "application"
    )]
    service: Option<Cow<'a, str>>,
    #[serde(default, alias = "durationMs", alias = "elapsed_ms", alias = "latency_ms", alias = "took_ms")]
    duration_ms: Option<f64>,
    #[serde(borrow, default)]
    log: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    kubernetes: Option<Kubernetes<'a>>,
}

/// `Option<Cow<str>>` that borrows: serde only borrows a `Cow` it sees directly, not inside an
/// `Option`, and every copied field would cost an allocation per line.
fn opt_cow<'de: 'a, 'a, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Borrowed<'a>>::deserialize(d)?.map(|b| b.0))
}

/// The one-pass reading; `None` declines (the line may still be valid: [`read_serde`] decides).
#[inline]
pub fn read_fast(line: &str) -> Option<Fields<'_>> {
    let mut reader = Reader { text: line, at: 0 };
    let fields = reader.line()?;
    reader.whitespace();
    (reader.at == line.len()).then_some(fields)
}

/// A top-level key, by serde's names and aliases above; each has a bit for duplicate detection.
#[derive(Clone, Copy)]
enum Key {
    Level,
    Logger,
    Message,
    StackTrace,
    TraceId,
    Service,
    Duration,
    Log,
    Kubernetes,
    Other,
}

impl Key {
    fn of(name: &str) -> Key {
        match name {
            "level" | "severity" | "lvl" | "log.level" => Key::Level,
            "logger_name" | "logger" => Key::Logger,
            "message" | "msg" => Key::Message,
            "stack_trace" | "stackTrace" | "exception" => Key::StackTrace,
            "traceId" | "trace_id" | "X-B3-TraceId" => Key::TraceId,
            "service" | "app" | "service_name" | "application" => Key::Service,
            "duration_ms" | "durationMs" | "elapsed_ms" | "latency_ms" | "took_ms" => Key::Duration,
            "log" => Key::Log,
            "kubernetes" => Key::Kubernetes,
            _ => Key::Other,
        }
    }
}

/// Nesting the skipper follows before it declines (serde_json has its own limit; a line this
/// deep is no service's and is left to it).
const MAX_DEPTH: u32 = 16;

struct Reader<'a> {
    text: &'a str,
    at: usize,
}

/// JSON's punctuation as both one-pass readers (this one and `crate::batch`'s) read it: bytes and a
/// position in them.
pub(crate) trait Punctuation: Sized {
    fn input(&self) -> &[u8];
    fn at(&self) -> usize;
    fn advance(&mut self, bytes: usize);

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.input().get(self.at()).copied()
    }

    #[inline(always)]
    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.advance(1))
    }

    /// JSON's whitespace, no other.
    #[inline(always)]
    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.advance(1);
        }
    }

    /// An object's members or an array's values between `open` and `close`, comma-separated with
    /// no trailing comma (as serde_json and simd-json), each read by `item` (positioned at it).
    #[inline(always)]
    fn items(&mut self, open: u8, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(open)?;
        self.whitespace();
        if self.eat(close).is_some() {
            return Some(());
        }
        loop {
            item(self)?;
            self.whitespace();
            match self.peek()? {
                b',' => {
                    self.advance(1);
                    self.whitespace();
                }
                byte if byte == close => {
                    self.advance(1);
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

impl Punctuation for Reader<'_> {
    fn input(&self) -> &[u8] {
        self.text.as_bytes()
    }

    fn at(&self) -> usize {
        self.at
    }

    fn advance(&mut self, bytes: usize) {
        self.at += bytes;
    }
}

impl<'a> Reader<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The top-level object.
    fn line(&mut self) -> Option<Fields<'a>> {
        let mut fields = Fields::default();
        let mut seen = 0u16;
        self.whitespace();
        self.object(|reader, name| {
            let key = Key::of(name);
            if !matches!(key, Key::Other) {
                let bit = 1 << key as u16;
                if seen & bit != 0 {
                    return None; // serde_json: "duplicate field"
                }
                seen |= bit;
            }
            match key {
                Key::Level => fields.level = reader.text_or_null()?,
                Key::Logger => fields.logger_name = reader.text_or_null()?,
                Key::Message => fields.message = reader.text_or_null()?,
                Key::StackTrace => fields.stack_trace = reader.text_or_null()?,
                Key::TraceId => fields.trace_id = reader.text_or_null()?,
                Key::Service => fields.service = reader.text_or_null()?,
                Key::Duration => fields.duration_ms = reader.number_or_null()?,
                Key::Log => fields.log = reader.raw_or_null()?,
                Key::Kubernetes => fields.kubernetes = reader.kubernetes()?,
                Key::Other => reader.skip(0)?,
            }
            Some(())
        })?;
        Some(fields)
    }

    fn kubernetes(&mut self) -> Option<Option<Kubernetes<'a>>> {
        if self.null() {
            return Some(None);
        }
        let mut k8s = Kubernetes::default();
        let mut seen = 0u8;
        self.object(|reader, name| {
            let bit = match name {
                "pod_name" => 1,
                "namespace_name" => 2,
                "container_name" => 4,
                "labels" => 8,
                _ => return reader.skip(1),
            };
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            match bit {
                1 => k8s.pod_name = reader.text_or_null()?,
                2 => k8s.namespace_name = reader.text_or_null()?,
                4 => k8s.container_name = reader.text_or_null()?,
                _ => k8s.labels = reader.labels()?,
            }
            Some(())
        })?;
        Some(Some(k8s))
    }

    fn labels(&mut self) -> Option<Option<Labels<'a>>> {
        if self.null() {
            return Some(None);
        }
        let mut labels = Labels::default();
        let mut seen = false;
        self.object(|reader, name| {
            if name != "app" {
                return reader.skip(2);
            }
            if std::mem::replace(&mut seen, true) {
                return None;
            }
            labels.app = reader.text_or_null()?;
            Some(())
        })?;
        Some(Some(labels))
    }

    /// An object whose keys have no escapes, each value read by `member` (positioned at it).
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.items(b'{', b'}', |reader| {
            let (start, end, escaped) = reader.string()?;
            if escaped {
                return None; // an escaped key is matched after unescaping: serde_json's to do
            }
            let name = reader.text.get(start..end)?;
            reader.whitespace();
            reader.eat(b':')?;
            reader.whitespace();
            member(reader, name)
        })
    }

    /// `null`, consumed, or nothing consumed.
    fn null(&mut self) -> bool {
        let found = self.bytes()[self.at..].starts_with(b"null");
        if found {
            self.at += 4;
        }
        found
    }

    /// A string field (borrowed unless escaped) or `null`.
    fn text_or_null(&mut self) -> Option<Option<Cow<'a, str>>> {
        if self.null() {
            return Some(None);
        }
        let (start, end, escaped) = self.string()?;
        if !escaped {
            return Some(Some(Cow::Borrowed(self.text.get(start..end)?)));
        }
        // Unescaping (and its surrogate rules) as serde_json does it, on the quoted text.
        let quoted = self.text.get(start - 1..end + 1)?;
        serde_json::from_str::<String>(quoted).ok().map(|s| Some(Cow::Owned(s)))
    }

    /// A number field (as serde_json reads it into `f64`) or `null`.
    fn number_or_null(&mut self) -> Option<Option<f64>> {
        if self.null() {
            return Some(None);
        }
        let start = self.at;
        let plain = self.number()?;
        let digits = self.text.get(start..self.at)?;
        if plain && digits.len() <= 18 {
            // A short unsigned integer: serde_json reads it as a u64 and converts, as here.
            return Some(Some(digits.parse::<u64>().ok()? as f64));
        }
        serde_json::from_str::<f64>(digits).ok().map(Some)
    }

    /// Any value, as its text, or `null`.
    fn raw_or_null(&mut self) -> Option<Option<&'a str>> {
        if self.null() {
            return Some(None);
        }
        let start = self.at;
        self.skip(1)?;
        self.text.get(start..self.at).map(Some)
    }

    /// Past any value, checked as serde_json checks a value it ignores.
    fn skip(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' if depth < MAX_DEPTH => self.object(|reader, _| reader.skip(depth + 1)),
            b'[' if depth < MAX_DEPTH => self.items(b'[', b']', |reader| reader.skip(depth + 1)),
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.null().then_some(()),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            _ => None,
        }
    }

    fn word(&mut self, word: &[u8]) -> Option<()> {
        self.bytes()[self.at..].starts_with(word).then(|| self.at += word.len())
    }

    /// Past a number in JSON's grammar; `true` when it is digits alone (no sign, fraction or
    /// exponent).
    fn number(&mut self) -> Option<bool> {
        let negative = self.eat(b'-').is_some();
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        let mut plain = !negative;
        if self.eat(b'.').is_some() {
            self.peek().filter(u8::is_ascii_digit)?;
            self.digits();
            plain = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.peek().filter(u8::is_ascii_digit)?;
            self.digits();
            plain = false;
        }
        Some(plain)
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }

    /// Past a string at the reader (its opening quote): the text between the quotes (`start..end`)
    /// and whether it holds escapes. `None` for what serde_json refuses in any string (a control
    /// character, an unknown escape, no closing quote).
    #[inline(always)]
    fn string(&mut self) -> Option<(usize, usize, bool)> {
        self.eat(b'"')?;
        let bytes = self.bytes();
        let start = self.at;
        let mut escaped = false;
        let mut at = start;
        loop {
            at = special(bytes, at)?;
            match bytes[at] {
                b'"' => {
                    self.at = at + 1;
                    return Some((start, at, escaped));
                }
                b'\\' => {
                    escaped = true;
                    at += match *bytes.get(at + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
                        b'u' if bytes.get(at + 2..at + 6)?.iter().all(u8::is_ascii_hexdigit) => 6,
                        _ => return None,
                    };
                }
                _ => return None, // a control character
            }
        }
    }
}

/// The bytes of `block` that are a quote, a backslash or a control character, one bit each
/// (bit `i` for byte `i`): three compares and a mask on SSE2 (x86-64) or NEON (arm64).
#[inline(always)]
pub(crate) fn specials(block: &[u8; 16]) -> u32 {
    use wide::u8x16;
    let v = u8x16::new(*block);
    let control = u8x16::splat(0x1f);
    (v.simd_eq(u8x16::splat(b'"')) | v.simd_eq(u8x16::splat(b'\\')) | v.max(control).simd_eq(control)).to_bitmask()
}

/// The first quote, backslash or control character at or after `from`, sixteen bytes at a time.
pub(crate) fn special(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(block) = bytes.get(at..).and_then(<[u8]>::first_chunk::<16>) {
        let found = specials(block);
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize);
        }
        at += 16;
    }
    // The last bytes in a block padded with a byte of no kind.
    let tail = bytes.get(at..)?.len();
    let found = specials(&block_at(bytes, at, b'a')).trailing_zeros() as usize;
    (found < tail).then_some(at + found)
}

/// The sixteen bytes of `bytes` from `at`, the ones past its end `pad`.
#[inline(always)]
pub(crate) fn block_at(bytes: &[u8], at: usize, pad: u8) -> [u8; 16] {
    match bytes.get(at..).and_then(<[u8]>::first_chunk::<16>) {
        Some(block) => *block,
        None => {
            let mut block = [pad; 16];
            let rest = bytes.get(at..).unwrap_or_default();
            let n = rest.len().min(16);
            block[..n].copy_from_slice(&rest[..n]);
            block
        }
    }
}

#[cfg(test)]
#[path = "jsonline_tests.rs"]
mod tests;
