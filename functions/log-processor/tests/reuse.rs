//! Memory kept between deliveries changes nothing a delivery produces: not after a larger one, a failed one, or beside another thread.

use log_processor::pipeline::{Pipeline, Processed};
use log_processor::synthetic;

fn processed(pipeline: &Pipeline, data: &str) -> Processed {
    let mut out = pipeline.processed();
    pipeline.process_encoded(data.as_bytes(), &mut out).expect("decodes");
    out
}

fn same(a: &Processed, b: &Processed) {
    assert_eq!(a.records, b.records);
    assert_eq!(a.metrics, b.metrics);
    assert_eq!(a.detections, b.detections);
}

/// A warm pipeline gives a small delivery exactly what a fresh one gives, though its buffers
/// still hold a larger delivery's bytes (split across threads, so the workers' record buffers
/// are kept and reused too), and after a payload that failed half way.
#[test]
fn a_warm_pipeline_gives_what_a_fresh_one_gives() {
    let large = synthetic::awslogs_data(6_000, 7);
    let small = synthetic::awslogs_data(300, 42);
    let fresh = processed(&Pipeline::new("dev").expect("pipeline"), &small);

    let warm = Pipeline::new("dev").expect("pipeline").with_workers(3);
    let first = processed(&warm, &large);
    assert_eq!(first.records.len(), 6_000);
    let capacity = first.records.capacity_bytes();
    warm.recycle(first.records);
    let reused = warm.processed();
    assert!(reused.records.is_empty(), "a kept buffer comes back empty");
    assert!(reused.records.capacity_bytes() >= capacity, "and keeps its memory");
    warm.recycle(reused.records);

    same(&processed(&warm, &small), &fresh);
    // Undecodable: dropped and counted; the buffers it half filled are emptied for the next.
    let mut dropped = warm.processed();
    let raw = base64_simd::STANDARD.decode_to_vec(large.as_bytes()).expect("b64");
    let cut = base64_simd::STANDARD.encode_to_string(&raw[..raw.len() / 2]);
    assert!(warm.process_encoded(cut.as_bytes(), &mut dropped).is_err());
    assert!(dropped.records.is_empty());
    same(&processed(&warm, &small), &fresh);
}

/// Two threads decoding through one pipeline at once (the kept buffers held by one of them) each
/// get the right result.
#[test]
fn threads_sharing_a_pipeline_do_not_share_buffers() {
    let pipeline = Pipeline::new("dev").expect("pipeline").with_workers(1);
    let payloads = [synthetic::awslogs_data(2_000, 1), synthetic::awslogs_data(1_500, 2)];
    let expected: Vec<Processed> =
        payloads.iter().map(|p| processed(&Pipeline::new("dev").expect("pipeline"), p)).collect();
    std::thread::scope(|scope| {
        for (payload, expected) in payloads.iter().zip(&expected) {
            let pipeline = &pipeline;
            scope.spawn(move || {
                for _ in 0..4 {
                    let out = processed(pipeline, payload);
                    same(&out, expected);
                    pipeline.recycle(out.records);
                }
            });
        }
    });
}
