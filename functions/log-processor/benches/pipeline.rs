//! The hot path on a realistic 10,000-line CloudWatch Logs delivery (~1 MB as sent).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use log_processor::decode;
use log_processor::pipeline::{Pipeline, Processed};
use log_processor::synthetic;

const LINES: usize = 10_000;

fn pipeline(c: &mut Criterion) {
    let data = synthetic::awslogs_data(LINES, 42);
    let pipeline = Pipeline::new("dev").expect("pipeline");
    let mut group = c.benchmark_group("log-processor");
    group.throughput(Throughput::Elements(LINES as u64));
    group.sample_size(30);

    group.bench_function("decode+inflate+parse batch (floor)", |b| {
        b.iter(|| {
            let mut json = decode::decode_awslogs(black_box(data.as_bytes())).expect("decodes");
            black_box(decode::parse_batch(&mut json).expect("parses").log_events.len())
        })
    });
    group.bench_function("end to end: decode, parse lines, redact, classify, metrics, records", |b| {
        b.iter(|| {
            let mut out = Processed::default();
            pipeline.process_encoded(black_box(data.as_bytes()), &mut out).expect("processes");
            black_box(out.records.len())
        })
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
