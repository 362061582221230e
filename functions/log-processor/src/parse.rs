//! Tolerant line parsing: service JSON (logstash style), the Fluent Bit / Container Insights envelope, plain text.

use std::borrow::Cow;

use serde::Serialize;

use crate::jsonline::{self, Fields};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Unknown,
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    /// `ERROR`, `error`, `Err`, `WARNING`, `critical`, `E`, ... as the services and tools write them.
    pub fn parse(s: &str) -> Level {
        let s = s.trim();
        let eq = |w: &str| s.eq_ignore_ascii_case(w);
        if eq("error") || eq("err") || eq("e") || eq("severe") {
            Level::Error
        } else if eq("warn") || eq("warning") || eq("w") {
            Level::Warn
        } else if eq("info") || eq("information") || eq("notice") || eq("i") {
            Level::Info
        } else if eq("debug") || eq("d") || eq("fine") {
            Level::Debug
        } else if eq("trace") || eq("t") || eq("finest") {
            Level::Trace
        } else if eq("fatal") || eq("critical") || eq("crit") || eq("panic") || eq("emerg") || eq("alert") {
            Level::Fatal
        } else {
            Level::Unknown
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Unknown => "UNKNOWN",
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }
}

/// Which shape the line had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Kubernetes,
    Text,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Kubernetes => "kubernetes",
            Format::Text => "text",
        }
    }
}

/// One log line, normalised. Fields borrow from the batch unless the JSON had escapes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record<'a> {
    pub timestamp: i64,
    pub level: Level,
    pub format: Format,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Cow<'a, str>>,
    pub message: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logger: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// The line looked like JSON but did not parse: kept as text, and counted.
    #[serde(skip)]
    pub malformed: bool,
}

/// The service a log group belongs to, by the `/abc-trading/<env>/<service>` convention.
pub fn service_from_log_group(log_group: &str) -> Option<&str> {
    let mut parts = log_group.strip_prefix("/abc-trading/")?.split('/');
    let (_env, service) = (parts.next()?, parts.next()?);
    (parts.next().is_none() && !service.is_empty()).then_some(service)
}

/// Parses one line; never fails: a line that is not JSON is text, a broken JSON line is text too.
/// `group_service` is the service the log group names, used when the line does not say.
#[inline(never)]
pub fn parse_line<'a>(line: &'a str, timestamp: i64, group_service: Option<&'a str>) -> Record<'a> {
    let trimmed = line.trim_end_matches(['\n', '\r']);
    let looks_json = trimmed.trim_start().starts_with('{');
    if looks_json
        && let Some(json) = jsonline::read(trimmed)
        && let Some(record) = from_json(json, trimmed, timestamp, group_service)
    {
        return record;
    }
    let mut record = text_record(Cow::Borrowed(trimmed), timestamp, group_service.map(Cow::Borrowed));
    record.malformed = looks_json;
    record
}

/// The record of a parsed JSON line; `None` when its shape is wrong (a `log` that is no string).
fn from_json<'a>(json: Fields<'a>, raw: &'a str, timestamp: i64, group_service: Option<&'a str>) -> Option<Record<'a>> {
    if let Some(log) = json.log {
        let inner = container_line(log)?;
        // The envelope wraps the container's line, which is itself JSON or text.
        let k8s = json.kubernetes.unwrap_or_default();
        let app = k8s.labels.and_then(|l| l.app);
        let service = app.or(k8s.container_name).or_else(|| group_service.map(Cow::Borrowed));
        let mut record = match inner {
            Cow::Borrowed(s) => parse_line(s, timestamp, None),
            // An inner line with escapes besides its trailing breaks was unescaped into a copy:
            // text takes the copy as it is; JSON (always escaped: its quotes) is parsed from it
            // and its fields copied out.
            Cow::Owned(mut s) if !s.trim_start().starts_with('{') => {
                let end = s.trim_end_matches(['\n', '\r']).len();
                s.truncate(end);
                text_record(Cow::Owned(s), timestamp, None)
            }
            Cow::Owned(s) => owned(parse_line(&s, timestamp, None)),
        };
        record.format = Format::Kubernetes;
        record.service = record.service.or(service);
        record.pod = k8s.pod_name;
        record.namespace = k8s.namespace_name;
        return Some(record);
    }
    let level = json.level.as_deref().map_or(Level::Unknown, Level::parse);
    let message = json.message.unwrap_or(Cow::Borrowed(raw));
    Some(Record {
        timestamp,
        level: if level == Level::Unknown && json.stack_trace.is_some() { Level::Error } else { level },
        format: Format::Json,
        service: json.service.or_else(|| group_service.map(Cow::Borrowed)),
        message,
        logger: json.logger_name,
        trace_id: json.trace_id,
        stack_trace: json.stack_trace,
        pod: None,
        namespace: None,
        duration_ms: json.duration_ms.filter(|d| d.is_finite() && *d >= 0.0),
        malformed: false,
    })
}

/// The container's line from an envelope's `log` value, possibly with its trailing line breaks.
/// Fluent Bit keeps the container's newline, an escape: a line whose only escapes are those
/// trailing breaks is borrowed as it stands in the batch, without them (they are trimmed anyway),
/// instead of unescaped into a copy; other escapes are undone into one. `None`: the value is no
/// string (or no valid one), which makes the line malformed, as any JSON of the wrong shape.
fn container_line(json: &str) -> Option<Cow<'_, str>> {
    let body = json.strip_prefix('"')?.strip_suffix('"')?;
    let mut bare = body;
    while let Some(rest) = bare.strip_suffix("\\n").or_else(|| bare.strip_suffix("\\r")) {
        bare = rest;
    }
    // The memchr crate's search reads 32 bytes a step where `str::contains` reads 16.
    if memchr::memchr(b'\\', bare.as_bytes()).is_none() {
        return Some(Cow::Borrowed(bare));
    }
    serde_json::from_str::<String>(json).ok().map(Cow::Owned)
}

fn owned(r: Record<'_>) -> Record<'static> {
    let own = |c: Option<Cow<'_, str>>| c.map(|c| Cow::Owned(c.into_owned()));
    Record {
        timestamp: r.timestamp,
        level: r.level,
        format: r.format,
        service: own(r.service),
        message: Cow::Owned(r.message.into_owned()),
        logger: own(r.logger),
        trace_id: own(r.trace_id),
        stack_trace: own(r.stack_trace),
        pod: own(r.pod),
        namespace: own(r.namespace),
        duration_ms: r.duration_ms,
        malformed: r.malformed,
    }
}

fn text_record<'a>(line: Cow<'a, str>, timestamp: i64, service: Option<Cow<'a, str>>) -> Record<'a> {
    Record {
        timestamp,
        level: text_level(&line),
        format: Format::Text,
        service,
        duration_ms: text_duration(&line),
        message: line,
        logger: None,
        trace_id: None,
        stack_trace: None,
        pod: None,
        namespace: None,
        malformed: false,
    }
}

/// Where plain-text formats put the level: Spring Boot (`... ERROR 1 --- [main]`), logfmt
/// (`level=error`), Kubernetes events (`Warning  BackOff`), `[WARN]`. Only the head is read.
fn text_level(line: &str) -> Level {
    let head = &line[..floor_char_boundary(line, 160)];
    if let Some(at) = level_key(head.as_bytes()) {
        let value = head[at + 6..].trim_start_matches('"');
        let end = value.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(value.len());
        let level = Level::parse(&value[..end]);
        if level != Level::Unknown {
            return level;
        }
    }
    level_word(head.as_bytes())
}

/// The level the first level word of `head` names: words are runs of ASCII letters, and every
/// level word starts with a capital, so only the capitals that start a word are read, found
/// sixteen bytes at a time (reading every byte for the start of a word was about 480
/// instructions a line).
fn level_word(head: &[u8]) -> Level {
    use wide::u8x16;
    let within =
        |v: u8x16, low: u8, high: u8| v.max(u8x16::splat(low)).simd_eq(v) & v.min(u8x16::splat(high)).simd_eq(v);
    let mut at = 0;
    let mut after_letter = 0;
    while at < head.len() {
        let v = u8x16::new(crate::jsonline::block_at(head, at, 0));
        let upper = within(v, b'A', b'Z');
        let letters = (upper | within(v, b'a', b'z')).to_bitmask();
        let mut starts = upper.to_bitmask() & !(letters << 1 | after_letter);
        while starts != 0 {
            let start = at + starts.trailing_zeros() as usize;
            starts &= starts - 1;
            let word = head.get(start..).unwrap_or_default();
            let len = word.iter().take(9).take_while(|b| b.is_ascii_alphabetic()).count();
            if let Some(level) = level_named(word.get(..len).unwrap_or_default()) {
                return level;
            }
        }
        after_letter = letters >> 15;
        at += 16;
    }
    Level::Unknown
}

/// The level a plain-text word names (the longest is eight letters).
fn level_named(word: &[u8]) -> Option<Level> {
    Some(match word {
        b"ERROR" | b"Error" => Level::Error,
        b"WARN" | b"WARNING" | b"Warning" => Level::Warn,
        b"INFO" => Level::Info,
        b"DEBUG" => Level::Debug,
        b"TRACE" => Level::Trace,
        b"FATAL" | b"CRITICAL" | b"PANIC" => Level::Fatal,
        _ => return None,
    })
}

/// Where the first `level=` starts. By its `=`, which plain-text heads seldom hold: a byte search
/// for it costs less than a substring searcher's set-up on a head of at most 160 bytes.
fn level_key(head: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'=', head).find(|&at| at >= 5 && &head[at - 5..at] == b"level").map(|at| at - 5)
}

/// A searcher built once: building one per line cost more than the search.
static MS: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new("ms"));

/// `duration=123ms`, `took 45 ms`, `in 12.5ms`: request timings in plain text.
fn text_duration(line: &str) -> Option<f64> {
    MS.find_iter(line.as_bytes()).find_map(|at| {
        let before = line[..at].trim_end();
        // The number runs back from "ms" to the last character that is not a digit or a dot;
        // that character may be multi-byte, so the cut is taken after its full width.
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let number = &before[start..];
        let lead = before[..start].trim_end();
        let keyed = lead.ends_with("duration=")
            || lead.ends_with("took")
            || lead.ends_with("elapsed=")
            || lead.ends_with("latency=")
            || lead.ends_with(" in");
        if !keyed || number.is_empty() {
            return None;
        }
        number.parse::<f64>().ok().filter(|d| d.is_finite())
    })
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    (0..=max).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spring_boot_json_lines() {
        let line = r#"{"@timestamp":"2026-11-24T10:00:00.123Z","level":"ERROR","logger_name":"c.a.OrderService","message":"order 42 failed","stack_trace":"java.lang.IllegalStateException\n\tat x","traceId":"abc123","duration_ms":12.5,"extra":{"deep":[1,2,3]}}"#;
        let r = parse_line(line, 7, Some("order-management"));
        assert_eq!(r.format, Format::Json);
        assert_eq!(r.level, Level::Error);
        assert_eq!(r.message, "order 42 failed");
        assert_eq!(r.logger.as_deref(), Some("c.a.OrderService"));
        assert_eq!(r.trace_id.as_deref(), Some("abc123"));
        assert_eq!(r.service.as_deref(), Some("order-management"));
        assert_eq!(r.duration_ms, Some(12.5));
        assert_eq!(r.stack_trace.as_deref(), Some("java.lang.IllegalStateException\n\tat x"));
        assert!(matches!(r.message, Cow::Borrowed(_)));
    }

    #[test]
    fn fluent_bit_envelopes_name_pod_and_service() {
        let line = r#"{"log":"{\"level\":\"warn\",\"message\":\"slow quote\"}\n","stream":"stdout","kubernetes":{"pod_name":"quote-service-7d9f-abcde","namespace_name":"trading","container_name":"quote","labels":{"app":"quote-service"}}}"#;
        let r = parse_line(line, 1, Some("logging"));
        assert_eq!(r.format, Format::Kubernetes);
        assert_eq!(r.level, Level::Warn);
        assert_eq!(r.message, "slow quote");
        assert_eq!(r.service.as_deref(), Some("quote-service"), "labels.app wins over the log group");
        assert_eq!(r.pod.as_deref(), Some("quote-service-7d9f-abcde"));
        assert_eq!(r.namespace.as_deref(), Some("trading"));

        let plain = r#"{"log":"2026-11-24 10:00:00 ERROR 1 --- [main] connection refused","kubernetes":{"container_name":"audit"}}"#;
        let r = parse_line(plain, 1, None);
        assert_eq!((r.level, r.service.as_deref()), (Level::Error, Some("audit")));
    }

    /// The container's line is borrowed when its only escapes are the trailing line breaks, and
    /// read exactly like the unescaped copy otherwise; a `log` that is no string is malformed.
    #[test]
    fn an_envelopes_line_is_borrowed_when_it_can_be() {
        let cases = [
            (
                r#"{"log":"2026-11-24 ERROR 1 --- [main] refused\n","kubernetes":{}}"#,
                "2026-11-24 ERROR 1 --- [main] refused",
                true,
            ),
            (r#"{"log":"crlf\r\n"}"#, "crlf", true),
            (r#"{"log":"no break"}"#, "no break", true),
            (r#"{"log":"a\\n"}"#, "a\\n", false),
            (r#"{"log":"a\\\n"}"#, "a\\", false),
            (r#"{"log":"tab\there\n"}"#, "tab\there", false),
            (r#"{"log":"caf\u00e9\n"}"#, "caf\u{e9}", false),
            (r#"{"log":"{\"level\":\"error\",\"message\":\"inner\"}\n"}"#, "inner", false),
        ];
        for (line, message, borrowed) in cases {
            let r = parse_line(line, 0, None);
            assert_eq!((r.format, r.malformed), (Format::Kubernetes, false), "{line}");
            assert_eq!(r.message, message, "{line}");
            assert_eq!(matches!(r.message, Cow::Borrowed(_)), borrowed, "{line}");
        }
        let r = parse_line(r#"{"log":null,"message":"plain json"}"#, 0, None);
        assert_eq!((r.format, r.message.as_ref()), (Format::Json, "plain json"), "a null log is no envelope");
        for line in [r#"{"log":5}"#, r#"{"log":{"a":1}}"#, r#"{"log":"\ud800"}"#, r#"{"log":"x","log":"y"}"#] {
            let r = parse_line(line, 0, None);
            assert_eq!((r.format, r.malformed), (Format::Text, true), "{line}");
        }
    }

    #[test]
    fn plain_text_levels_and_durations() {
        let cases = [
            ("2026-11-24 10:00:00.123  ERROR 1 --- [nio-8080-exec-1] o.a.c.c.C.[.[.[/] : Servlet failed", Level::Error),
            ("2026-11-24 10:00:00.123  WARN 1 --- [main] slow start", Level::Warn),
            ("time=2026-11-24T10:00:00Z level=info msg=\"started\"", Level::Info),
            ("Warning  BackOff  pod/api-gateway-1  Back-off pulling image", Level::Warn),
            ("[FATAL] out of memory", Level::Fatal),
            ("just words here", Level::Unknown),
        ];
        for (line, level) in cases {
            assert_eq!(parse_line(line, 0, None).level, level, "{line}");
        }
        assert_eq!(parse_line("GET /quotes 200 duration=35ms", 0, None).duration_ms, Some(35.0));
        assert_eq!(parse_line("request took 12.5 ms", 0, None).duration_ms, Some(12.5));
        assert_eq!(parse_line("heap 512ms of nothing", 0, None).duration_ms, None);
    }

    /// The `=`-led search finds the first `level=` where a substring search does, on texts made
    /// of little but its letters.
    /// The reading of every byte `level_word` replaced: the first word of letters, of four or
    /// more starting with a capital, that names a level.
    fn level_word_bytewise(bytes: &[u8]) -> Level {
        let mut i = 0;
        while i < bytes.len() {
            if !bytes[i].is_ascii_alphabetic() {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            if i - start < 4 || !bytes[start].is_ascii_uppercase() {
                continue;
            }
            if let Some(level) = level_named(&bytes[start..i]) {
                return level;
            }
        }
        Level::Unknown
    }

    #[test]
    fn level_words_are_found_as_reading_every_byte_finds_them() {
        let words: &[&[u8]] = &[
            b"ERROR",
            b"Error",
            b"WARN",
            b"WARNING",
            b"Warning",
            b"INFO",
            b"DEBUG",
            b"TRACE",
            b"FATAL",
            b"CRITICAL",
            b"PANIC",
            b"INFOS",
            b"XINFO",
            b"Info",
            b"WARNINGS",
            b"CRITICALX",
            b"a",
            b"Z",
        ];
        let glue: &[&[u8]] = &[b" ", b"", b"-", b"[", b"1", "é".as_bytes(), b"x", b"Q"];
        let mut rng = crate::synthetic::Rng(0x0bad_cafe);
        for _ in 0..50_000 {
            let mut head = Vec::new();
            while head.len() < rng.below(60) as usize {
                head.extend_from_slice(glue[rng.below(glue.len() as u64) as usize]);
                if rng.below(3) == 0 {
                    head.extend_from_slice(words[rng.below(words.len() as u64) as usize]);
                }
            }
            assert_eq!(level_word(&head), level_word_bytewise(&head), "{}", String::from_utf8_lossy(&head));
        }
    }

    #[test]
    fn level_key_is_the_first_level_equals() {
        let mut rng = crate::synthetic::Rng(0x1e7e1);
        for _ in 0..20_000 {
            let len = rng.below(24) as usize;
            let text: Vec<u8> = (0..len).map(|_| b"level= x"[rng.below(8) as usize]).collect();
            let expected = memchr::memmem::find(&text, b"level=");
            assert_eq!(level_key(&text), expected, "{:?}", String::from_utf8_lossy(&text));
        }
        assert_eq!(level_key(b"level=info"), Some(0));
        assert_eq!(level_key(b"a=1 xlevel=warn level=error"), Some(5));
    }

    #[test]
    fn broken_json_is_kept_as_text() {
        let r = parse_line(r#"{"level":"ERROR","message":"cut off"#, 0, Some("audit"));
        assert_eq!(r.format, Format::Text);
        assert!(r.malformed);
        assert_eq!(r.level, Level::Error);
        assert_eq!(r.service.as_deref(), Some("audit"));
    }

    #[test]
    fn log_groups_name_services() {
        assert_eq!(service_from_log_group("/abc-trading/dev/trade-execution"), Some("trade-execution"));
        assert_eq!(service_from_log_group("/aws/eks/abc-trading-dev/cluster"), None);
        assert_eq!(service_from_log_group("abc-trading/dev/x"), None);
        assert_eq!(service_from_log_group("/aws/lambda/x"), None);
    }

    #[test]
    fn a_multibyte_character_before_ms_does_not_panic() {
        // Found by the `line` fuzz target: a two-byte character right before "ms".
        let crash =
            String::from_utf8(vec![0xc4, 0xa2, b'm', b's', b'g', b'F', b'O', 0xc4, 0xa2, 0xc4, 0xa2, 0xc4, 0xa2])
                .expect("utf-8");
        assert_eq!(parse_line(&crash, 0, None).duration_ms, None);
        assert_eq!(parse_line("Ģ took 7 ms", 0, None).duration_ms, Some(7.0));
        assert_eq!(parse_line("msg=start; request took 9ms", 0, None).duration_ms, Some(9.0), "not only the first ms");
    }

    #[test]
    fn multibyte_heads_do_not_panic() {
        let line = "é".repeat(200);
        assert_eq!(parse_line(&line, 0, None).level, Level::Unknown);
    }
}
