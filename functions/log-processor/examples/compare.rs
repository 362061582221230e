//! Writes the benchmark payload for the Python comparison and times the Rust pipeline on it.
//! `compare <payload-path> [rounds]`: prints `rust_ns_per_event=<n>` (best of the rounds).

use std::time::Instant;

use log_processor::pipeline::{Pipeline, Processed};
use log_processor::synthetic;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: compare <payload-path> [rounds]")?;
    let rounds: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(20);
    let lines = 10_000;
    let data = synthetic::awslogs_data(lines, 42);
    std::fs::write(&path, serde_json::json!({"awslogs": {"data": data}}).to_string())?;

    let pipeline = Pipeline::new("dev")?;
    let mut best = f64::MAX;
    let mut records = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        let mut out = Processed::default();
        pipeline.process_encoded(data.as_bytes(), &mut out)?;
        let ns = start.elapsed().as_nanos() as f64 / lines as f64;
        best = best.min(ns);
        records = out.records.len();
    }
    println!("payload_bytes={} events={lines} records={records}", data.len());
    println!("rust_ns_per_event={best:.0}");
    Ok(())
}
