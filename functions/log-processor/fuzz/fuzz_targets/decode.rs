//! Arbitrary bytes as a subscription payload: base64, gzip (capped) and the batch JSON must
//! answer with a typed error or a batch, never panic or run away with memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use log_processor::decode;
use log_processor::pipeline::{Pipeline, Processed};

fuzz_target!(|data: &[u8]| {
    // Raw bytes as gzip (the Kinesis path), and as base64 text (the direct path).
    if let Ok(mut json) = decode::inflate(data, 1 << 20) {
        let _ = decode::parse_batch(&mut json);
    }
    let _ = decode::decode_awslogs(data);
    thread_local! {
        static PIPELINE: Pipeline = Pipeline::new("fuzz").expect("pipeline");
    }
    PIPELINE.with(|p| {
        let mut out = Processed::default();
        let _ = p.process_gzip(data, &mut out);
    });
});
