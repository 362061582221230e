//! Arbitrary text through both JSON-line readers: wherever the one-pass reader answers, serde_json
//! reads the line too, to the same fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use log_processor::jsonline::{read_fast, read_serde};

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else { return };
    if let Some(fast) = read_fast(line) {
        let serde = read_serde(line).expect("the one-pass reader read a line serde_json refuses");
        assert_eq!(format!("{fast:?}"), format!("{serde:?}"));
        assert_eq!(fast.duration_ms.map(f64::to_bits), serde.duration_ms.map(f64::to_bits));
    }
});
