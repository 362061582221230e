//! The one-pass reader against serde_json's: the same fields wherever it answers, and an answer for the lines services write.

use super::*;
use crate::synthetic::{self, Rng};

/// Equal down to the float's bits and each text's characters.
fn same(fast: &Fields<'_>, line: &str) {
    let serde = read_serde(line)
        .unwrap_or_else(|e| panic!("the one-pass reader read a line serde_json refuses ({e}): {line:?}"));
    assert_eq!(format!("{fast:?}"), format!("{serde:?}"), "{line:?}");
    assert_eq!(fast.duration_ms.map(f64::to_bits), serde.duration_ms.map(f64::to_bits), "{line:?}");
}

/// Holds the reader to serde_json on one line; whether it answered.
fn check(line: &str) -> bool {
    match read_fast(line) {
        Some(fast) => {
            same(&fast, line);
            true
        }
        None => false,
    }
}

#[test]
fn every_json_line_of_the_benchmark_payload_is_read_in_one_pass() {
    let lines = synthetic::lines(3_000, 7);
    let json: Vec<&String> = lines.iter().filter(|l| l.starts_with('{')).collect();
    assert!(json.len() > 1_500, "two in three lines are JSON");
    for line in json {
        assert!(check(line), "declined: {line}");
    }
}

#[test]
fn edge_cases_are_read_as_serde_json_reads_them_or_left_to_it() {
    // (line, whether the one-pass reader answers)
    let cases: &[(&str, bool)] = &[
        (r#"{}"#, true),
        (" \t{ } \r\n ", true),
        (r#"{"level":"ERROR","message":"a \"quoted\" word\n\tat x","traceId":"t"}"#, true),
        (r#"{"msg":"caf\u00e9 \ud83d\ude00"}"#, true),
        (r#"{"msg":"lone \ud800"}"#, false),
        (r#"{"other":"lone \ud800 is fine where ignored"}"#, true),
        (r#"{"msg":"bad \x escape"}"#, false),
        ("{\"msg\":\"raw \u{1} control\"}", false),
        ("{\"other\":\"raw \u{1f} control\"}", false),
        (r#"{"level":null,"message":null,"logger":null,"kubernetes":null,"log":null,"took_ms":null}"#, true),
        (r#"{"level":"a","severity":"b"}"#, false),
        (r#"{"log":"x","log":"y"}"#, false),
        (r#"{"x":1,"x":2}"#, true),
        (r#"{"lev\u0065l":"ERROR"}"#, false),
        (r#"{"level":5}"#, false),
        (r#"{"duration_ms":"12"}"#, false),
        (r#"{"duration_ms":0}"#, true),
        (r#"{"duration_ms":12}"#, true),
        (r#"{"durationMs":12.5}"#, true),
        (r#"{"elapsed_ms":-0}"#, true),
        (r#"{"latency_ms":-3.5e2}"#, true),
        (r#"{"took_ms":1e400}"#, false),
        (r#"{"duration_ms":012}"#, false),
        (r#"{"duration_ms":123456789012345678}"#, true),
        (r#"{"duration_ms":12345678901234567890123}"#, true),
        (r#"{"duration_ms":1.}"#, false),
        (r#"{"duration_ms":-}"#, false),
        (r#"{"duration_ms":.5}"#, false),
        (r#"{"extra":{"deep":[1,2.5e-3,true,false,null,"s",{},[]]},"message":"m"}"#, true),
        (r#"{"extra":[1,]}"#, false),
        (r#"{"a":1,}"#, false),
        (r#"{"a":1}x"#, false),
        (r#"{"a":1} {"b":2}"#, false),
        (r#"{"a":tru}"#, false),
        (r#"{"a":nul"#, false),
        (r#"{"a" 1}"#, false),
        (r#"{a:1}"#, false),
        (r#"[1,2]"#, false),
        (r#"{"log":"line\n","kubernetes":{"pod_name":"p","labels":{"app":"a","tier":"x"},"host":"h"}}"#, true),
        (r#"{"log":{"nested":[1]},"kubernetes":{}}"#, true),
        (r#"{"log":5}"#, true),
        (r#"{"kubernetes":["p","n"]}"#, false),
        (r#"{"kubernetes":{"pod_name":"a","pod_name":"b"}}"#, false),
        (r#"{"kubernetes":{"labels":{"app":"a","app":"b"}}}"#, false),
        (r#"{"kubernetes":{"labels":null}}"#, true),
        (r#"{"kubernetes":"k"}"#, false),
        ("{\"message\":\"multi-byte ünïcödé ✓\",\"x\":\"日本\"}", true),
    ];
    for &(line, answers) in cases {
        assert_eq!(check(line), answers, "{line}");
    }
    let deep = format!(r#"{{"x":{}1{}}}"#, "[".repeat(40), "]".repeat(40));
    assert!(!check(&deep), "nesting past the limit is left to serde_json");
    assert!(read_serde(&deep).is_ok());
}

/// Every name and alias serde reads a field by, read the same in one pass: a name the one-pass
/// reader missed would read as an unknown key there and differ here.
#[test]
fn every_field_name_and_alias_is_read_in_one_pass() {
    let texts = [
        "level",
        "severity",
        "lvl",
        "log.level",
        "logger_name",
        "logger",
        "message",
        "msg",
        "stack_trace",
        "stackTrace",
        "exception",
        "traceId",
        "trace_id",
        "X-B3-TraceId",
        "service",
        "app",
        "service_name",
        "application",
        "log",
    ];
    let numbers = ["duration_ms", "durationMs", "elapsed_ms", "latency_ms", "took_ms"];
    let lines = texts
        .iter()
        .map(|name| format!(r#"{{"{name}":"v"}}"#))
        .chain(numbers.iter().map(|name| format!(r#"{{"{name}":5}}"#)))
        .chain(
            ["pod_name", "namespace_name", "container_name"]
                .map(|name| format!(r#"{{"kubernetes":{{"{name}":"v"}}}}"#)),
        )
        .chain([r#"{"kubernetes":{"labels":{"app":"v"}}}"#.to_string()]);
    for line in lines {
        assert!(check(&line), "declined: {line}");
        let fields = read_fast(&line).expect("read");
        assert_ne!(fields, Fields::default(), "no field read: {line}");
        if let Some(k8s) = &fields.kubernetes {
            assert_ne!(k8s, &Kubernetes::default(), "no field read: {line}");
        }
    }
}

/// Lines a byte or a few away from valid ones: the two readers never differ where the one-pass
/// reader answers.
#[test]
fn mutated_lines_never_read_differently() {
    let mut seeds: Vec<String> = synthetic::lines(60, 3).into_iter().filter(|l| l.starts_with('{')).collect();
    seeds.push(r#"{"level":"warn","message":"a \"b\" \u00e9\n","duration_ms":12.5,"kubernetes":{"labels":{"app":"x"}},"n":[1,-2e3,null,true,{"k":"v"}]}"#.into());
    const ALPHABET: &[u8] = b"{}[]\":,\\ \t\nnultrefas0123456789-+.eEu\x01\x1f";
    let mut rng = Rng(0x5eed);
    let (mut answered, mut total) = (0, 0);
    for round in 0..40_000 {
        let mut line = seeds[round % seeds.len()].clone().into_bytes();
        for _ in 0..=rng.below(3) {
            let at = rng.below(line.len() as u64 + 1) as usize;
            let byte = ALPHABET[rng.below(ALPHABET.len() as u64) as usize];
            match rng.below(3) {
                0 => line.insert(at, byte),
                1 if at < line.len() => line[at] = byte,
                _ if at < line.len() => drop(line.remove(at)),
                _ => line.push(byte),
            }
        }
        let Ok(line) = String::from_utf8(line) else { continue };
        total += 1;
        answered += usize::from(check(&line));
    }
    assert!(answered * 4 > total, "the reader answered {answered} of {total} mutated lines");
}

#[test]
fn special_finds_the_first_quote_backslash_or_control_character() {
    let plain = [b'a', b' ', b'!', b'#', b'[', b']', 0x7f, 0x80, 0xa0, 0xdd, 0xff, b'~'];
    let special_bytes = [b'"', b'\\', 0x00, 0x0a, 0x1f];
    for len in 0..40 {
        let base: Vec<u8> = (0..len).map(|i| plain[i % plain.len()]).collect();
        for from in 0..=len {
            assert_eq!(special(&base, from), None, "len {len} from {from}");
        }
        for at in 0..len {
            for &kind in &special_bytes {
                let mut bytes = base.clone();
                bytes[at] = kind;
                // A second one later must not hide the first.
                if at + 3 < len {
                    bytes[at + 3] = b'"';
                }
                for from in 0..=at {
                    assert_eq!(special(&bytes, from), Some(at), "len {len} at {at} from {from} byte {kind:#x}");
                }
            }
        }
    }
    assert_eq!(special(b"abc", 4), None, "past the end");
}
