//! The one-pass batch reader against simd-json: the same batch wherever it answers, and an answer for the batches CloudWatch writes.

use super::*;
use crate::decode::parse_batch;
use crate::synthetic::{self, Rng};

/// Whether the one-pass reader answered `json`; wherever it does, simd-json reads the same batch
/// (or refuses it too, for the reader's one error: JSON that is not UTF-8).
fn agree(json: &[u8]) -> bool {
    let mut scratch = Scratch::default();
    let fast = read(json, &mut scratch);
    let mut copy = json.to_vec();
    let reference = parse_batch(&mut copy);
    match (fast, reference) {
        (None, _) => false,
        (Some(Ok(fast)), Ok(reference)) => {
            assert_eq!(fast, reference, "{}", String::from_utf8_lossy(json));
            true
        }
        (Some(Err(fast)), Err(_)) => {
            assert_eq!(fast.kind(), "json");
            true
        }
        (Some(fast), Err(reference)) => {
            panic!("read {fast:?} where simd-json refuses ({reference}): {}", String::from_utf8_lossy(json))
        }
        (Some(Err(fast)), Ok(_)) => panic!("refused ({fast}) where simd-json reads: {}", String::from_utf8_lossy(json)),
    }
}

const ONE: &str = r#"{"messageType":"DATA_MESSAGE","owner":"111111111111","logGroup":"/aws/eks/app","logStream":"pod-1","subscriptionFilters":["f1","f2"],"logEvents":[{"id":"36001","timestamp":1763978400000,"message":"{\"level\":\"ERROR\",\"message\":\"tab\there \\ slash\/ nl\n \u00e9 \ud83d\ude00 end\"}"},{"id":"36002","timestamp":-5,"message":"plain é line"}]}"#;

#[test]
fn the_synthetic_deliveries_are_read_as_simd_json_reads_them() {
    for seed in [1, 42] {
        let json = synthetic::batch_json(&synthetic::lines(3_000, seed));
        assert!(agree(json.as_bytes()), "the one-pass reader declined a synthetic delivery");
    }
}

#[test]
fn every_escape_and_the_shapes_cloudwatch_writes_are_answered() {
    let control = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
    let value: serde_json::Value = serde_json::from_str(ONE).expect("json");
    let pretty = serde_json::to_string_pretty(&value).expect("json");
    let reordered = r#"{"logEvents":[{"message":"m","timestamp":0,"id":"1"},{"message":"\"q\""}],"policyLevel":"ACCOUNT_LEVEL_POLICY","messageType":"DATA_MESSAGE","extra":12,"flag":true,"none":null}"#;
    for json in [ONE, control, &pretty, reordered] {
        assert!(agree(json.as_bytes()), "declined: {json}");
    }
    let mut scratch = Scratch::default();
    let batch = read(ONE.as_bytes(), &mut scratch).expect("answered").expect("read");
    assert_eq!(batch.log_events[0].message, "{\"level\":\"ERROR\",\"message\":\"tab\there \\ slash/ nl\n é 😀 end\"}");
    assert!(matches!(batch.log_events[1].message, Cow::Borrowed("plain é line")), "no escapes: borrowed");
    assert_eq!(batch.subscription_filters, ["f1", "f2"]);
    assert!(matches!(read(control.as_bytes(), &mut scratch), Some(Ok(b)) if b.is_control()));
}

#[test]
fn what_it_cannot_read_exactly_is_left_to_simd_json() {
    let declined = [
        r#"{"messageType":"D","logEvents":[{"message":"\ud800 lone"}]}"#,
        r#"{"messageType":"D","logEvents":[{"message":"\udc00 lone"}]}"#,
        r#"{"messageType":"D","messageType":"D"}"#,
        r#"{"messageType":"D","logEvents":[{"message":"a","message":"b"}]}"#,
        r#"{"messageType":"D","owner":null}"#,
        r#"{"messageType":"D","logEvents":[{"timestamp":1.5,"message":"a"}]}"#,
        r#"{"messageType":"D","logEvents":[{"timestamp":-0,"message":"a"}]}"#,
        r#"{"messageType":"D","logEvents":[{"timestamp":1234567890123456789,"message":"a"}]}"#,
        r#"{"message\u0054ype":"D"}"#,
        r#"{"messageType":"D","x":{"nested":1}}"#,
        r#"{"messageType":"D","x":"esc\"aped"}"#,
        "{\"messageType\":\"D\",\"logEvents\":[{\"message\":\"control \u{1} char\"}]}",
        r#"{"messageType":"D"} trailing"#,
        r#"{"messageType":"D","logEvents":[{"id":"1"}]}"#,
        r#"{"owner":"1"}"#,
        r#"{"messageType":"D",}"#,
        r#"{"messageType":"D","logEvents":[{"message":"unterminated}]}"#,
        "",
        "[]",
    ];
    for json in declined {
        let mut scratch = Scratch::default();
        assert!(read(json.as_bytes(), &mut scratch).is_none(), "answered: {json}");
        agree(json.as_bytes());
    }
}

#[test]
fn json_that_is_not_utf8_is_refused_as_simd_json_refuses_it() {
    let mut json = ONE.as_bytes().to_vec();
    let at = ONE.find("plain").expect("in ONE");
    json[at] = 0xff;
    let mut scratch = Scratch::default();
    assert!(matches!(read(&json, &mut scratch), Some(Err(_))));
    assert!(agree(&json));
}

/// Bytes changed, dropped and doubled anywhere in a batch: wherever the reader still answers,
/// simd-json reads the same. Many mutants stay readable (a letter for a letter), so the property
/// is tested, not only the declining.
#[test]
fn mutated_batches_never_read_differently() {
    let pieces: &[&[u8]] = &[
        b"\"",
        b"\\",
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"0",
        b"7",
        b"-",
        b"x",
        b" ",
        b"\\u",
        b"\\n",
        "é".as_bytes(),
        b"\x01",
        b"e",
        b".",
    ];
    let mut rng = Rng(0x5eed_ba7c);
    let mut answered = 0;
    for _ in 0..20_000 {
        let mut json = ONE.as_bytes().to_vec();
        for _ in 0..=rng.below(2) {
            let at = rng.below(json.len() as u64) as usize;
            match rng.below(3) {
                0 => {
                    json.remove(at);
                }
                1 => {
                    let piece = pieces[rng.below(pieces.len() as u64) as usize];
                    json.splice(at..at, piece.iter().copied());
                }
                _ => {
                    let piece = pieces[rng.below(pieces.len() as u64) as usize];
                    json.splice(at..(at + 1).min(json.len()), piece.iter().copied());
                }
            }
        }
        answered += usize::from(agree(&json));
    }
    assert!(answered > 5_000, "only {answered} of 20,000 mutants answered");
}

/// A scratch buffer kept from a longer delivery holds its bytes past the new one's end: only what
/// this delivery wrote is read.
#[test]
fn a_kept_scratch_reads_each_delivery_alone() {
    let mut scratch = Scratch::default();
    let long = synthetic::batch_json(&synthetic::lines(500, 7));
    let first = read(long.as_bytes(), &mut scratch).expect("answered").expect("read").log_events.len();
    assert_eq!(first, 500);
    let batch = read(ONE.as_bytes(), &mut scratch).expect("answered").expect("read");
    let mut copy = ONE.as_bytes().to_vec();
    assert_eq!(batch, parse_batch(&mut copy).expect("simd-json reads it"));
}
