//! The hot path on a realistic 10,000-line CloudWatch Logs delivery (~1 MB as sent).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use log_processor::decode;
use log_processor::pipeline::Pipeline;
use log_processor::synthetic;

const LINES: usize = 10_000;

fn pipeline(c: &mut Criterion) {
    let data = synthetic::awslogs_data(LINES, 42);
    let pipeline = Pipeline::new("dev").expect("pipeline");
    let mut group = c.benchmark_group("log-processor");
    group.throughput(Throughput::Elements(LINES as u64));
    group.sample_size(30);

    // As a warm Lambda runs: the decode buffers and the record buffers kept between deliveries.
    let mut buffers = decode::DecodeBuffers::default();
    group.bench_function("decode+inflate+parse batch (floor)", |b| {
        b.iter(|| {
            let events = buffers.awslogs(black_box(data.as_bytes())).expect("decodes").log_events.len();
            buffers.release();
            black_box(events)
        })
    });
    for (name, pipeline) in [
        ("end to end on one core: decode, parse lines, redact, classify, metrics, records", pipeline.with_workers(1)),
        ("end to end split across the cores", Pipeline::new("dev").expect("pipeline")),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut out = pipeline.processed();
                pipeline.process_encoded(black_box(data.as_bytes()), &mut out).expect("processes");
                black_box(out.records.len());
                pipeline.recycle(out.records);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
