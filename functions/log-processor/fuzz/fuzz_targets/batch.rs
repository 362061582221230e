//! Arbitrary bytes through both batch readers: wherever the one-pass reader answers, simd-json
//! reads the bytes too, to the same batch (or refuses them too: JSON that is not UTF-8).
#![no_main]

use libfuzzer_sys::fuzz_target;
use log_processor::batch::{Scratch, read};
use log_processor::decode::parse_batch;

fuzz_target!(|data: &[u8]| {
    let mut scratch = Scratch::default();
    let Some(fast) = read(data, &mut scratch) else { return };
    let mut copy = data.to_vec();
    match (fast, parse_batch(&mut copy)) {
        (Ok(fast), Ok(reference)) => assert_eq!(fast, reference),
        (Err(_), Err(_)) => {}
        (fast, reference) => panic!("the one-pass reader gave {fast:?}, simd-json {reference:?}"),
    }
});
