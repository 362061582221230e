//! Times the log pipeline on a CloudWatch Logs subscription event (a file, or the synthetic payload) and prints its parity summary.

// Output, one `key=value` per line: payload_bytes, events, records, rust_ns_per_event (best of
// the rounds, per event of the decoded batch, on one core), workers and rust_wall_ns_per_event
// (the batch split across that many threads) and parity (a JSON object that
// scripts/compare_python.py prints too, from its own results, for scripts/bench.sh to compare);
// then what a cold start adds: pipeline_new_us, first_delivery_ms beside best_delivery_ms.

// Beside this file, not in examples/ itself, where Cargo would take it for an example of its own.
#[path = "compare/parity.rs"]
mod parity;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use log_processor::decode;
use log_processor::pipeline::{Pipeline, Processed};
use log_processor::synthetic;
use serde_json::Value;

const USAGE: &str = "usage: compare [--payload FILE] [--write FILE] [--rounds N] [--dump DIR]
  --payload FILE  time the pipeline on FILE, a CloudWatch Logs subscription event as Lambda
                  receives it: {\"awslogs\":{\"data\":\"<base64 of the gzipped batch>\"}}
  --write FILE    without --payload: also write the synthetic payload to FILE (same shape)
  --rounds N      timed rounds, the best is reported (default 20)
  --one-core      time one core only (no split run; what scripts/bench.sh profiles)
  --dump DIR      write the records and the EMF documents (keys sorted) to DIR/rust-records.jsonl
                  and DIR/rust-emf.jsonl, to diff with compare_python.py --dump when parity fails";

/// Events in the synthetic payload: a full delivery, about 1 MB as CloudWatch sends it.
const SYNTHETIC_EVENTS: usize = 10_000;
/// The synthetic payload's seed: the same payload on every machine and every run.
const SYNTHETIC_SEED: u64 = 42;

#[derive(Debug)]
struct Args {
    payload: Option<PathBuf>,
    write: Option<PathBuf>,
    dump: Option<PathBuf>,
    rounds: usize,
    one_core: bool,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args_os().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("compare: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compare: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The arguments, or `None` when help was asked for.
fn parse_args(mut it: impl Iterator<Item = std::ffi::OsString>) -> Result<Option<Args>, String> {
    let mut args = Args { payload: None, write: None, dump: None, rounds: 20, one_core: false };
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.to_str() {
            Some("--payload") => args.payload = Some(value("--payload")?.into()),
            Some("--write") => args.write = Some(value("--write")?.into()),
            Some("--dump") => args.dump = Some(value("--dump")?.into()),
            Some("--one-core") => args.one_core = true,
            Some("--rounds") => {
                let v = value("--rounds")?;
                args.rounds = v
                    .to_str()
                    .and_then(|s| s.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--rounds takes a whole number of at least 1, not {v:?}"))?;
            }
            Some("-h" | "--help") => return Ok(None),
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    if args.payload.is_some() && args.write.is_some() {
        return Err("--write writes the synthetic payload, which --payload replaces".into());
    }
    Ok(Some(args))
}

fn run(args: &Args) -> Result<(), String> {
    let (name, data) = match &args.payload {
        Some(path) => (path.display().to_string(), read_event(path)?),
        None => {
            let data = synthetic::awslogs_data(SYNTHETIC_EVENTS, SYNTHETIC_SEED);
            if let Some(path) = &args.write {
                let event = serde_json::json!({"awslogs": {"data": data}}).to_string();
                std::fs::write(path, event).map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
            }
            ("the synthetic payload".to_string(), data)
        }
    };
    // Decoded once untimed, for the event count and for errors that name the file.
    let events = {
        let mut json = decode::decode_awslogs(data.as_bytes()).map_err(|e| format!("{name}: awslogs.data: {e}"))?;
        decode::parse_batch(&mut json).map_err(|e| format!("{name}: awslogs.data: {e}"))?.log_events.len()
    };
    if events == 0 {
        return Err(format!("{name}: the batch holds no log events to time"));
    }

    let built = Instant::now();
    let pipeline = Pipeline::new("dev").map_err(|e| format!("the pipeline does not build: {e}"))?;
    let pipeline_new = built.elapsed();
    let workers = if args.one_core { 1 } else { pipeline.workers() };
    // One core (the figure compared with Python), then the batch split across the cores. The
    // first output is summarised and dropped before the second run, so the peak RSS of a run
    // with --rounds 1 is one delivery's.
    let one_core = pipeline.with_workers(1);
    let (best, first, (out, emf)) = time(&one_core, &data, &name, args.rounds, events)?;
    let summary = parity::summary(&out, events, &emf);
    let records = out.records.len();
    if let Some(dir) = &args.dump {
        dump(dir, &out, &emf).map_err(|e| format!("{}: cannot write: {e}", dir.display()))?;
    }
    drop((out, emf));
    let wall = if args.one_core {
        best
    } else {
        let (wall, _, (split_out, split_emf)) =
            time(&one_core.with_workers(workers), &data, &name, args.rounds, events)?;
        if parity::summary(&split_out, events, &split_emf) != summary {
            return Err(format!("{name}: split across {workers} threads, the output differs from one thread's"));
        }
        wall
    };

    println!("payload_bytes={}", data.len());
    println!("events={events}");
    println!("records={records}");
    println!("rust_ns_per_event={best:.0}");
    println!("workers={workers}");
    println!("rust_wall_ns_per_event={wall:.0}");
    // What a cold start pays besides the best round: building the pipeline (in Lambda's init),
    // and its first delivery, which compiles the patterns the delivery's lines arm.
    println!("pipeline_new_us={:.0}", pipeline_new.as_secs_f64() * 1e6);
    println!("first_delivery_ms={:.2}", first * events as f64 / 1e6);
    println!("best_delivery_ms={:.2}", best * events as f64 / 1e6);
    println!("parity={summary}");
    Ok(())
}

/// The best and the first of `rounds` runs of `pipeline` on `data`, per event, with the last
/// run's output and EMF documents.
fn time(
    pipeline: &Pipeline,
    data: &str,
    name: &str,
    rounds: usize,
    events: usize,
) -> Result<(f64, f64, (Processed, String)), String> {
    let mut best = f64::MAX;
    let mut first = None;
    let mut last = None;
    for _ in 0..rounds {
        let start = Instant::now();
        // As the handler does: the records go into a buffer an earlier delivery gave back.
        let mut out = pipeline.processed();
        pipeline.process_encoded(data.as_bytes(), &mut out).map_err(|e| format!("{name}: awslogs.data: {e}"))?;
        // The EMF documents are part of what the function produces, and Python writes them too.
        let emf = out.metrics.to_emf(pipeline.environment(), parity::EMF_TIMESTAMP_MS);
        let took = start.elapsed().as_nanos() as f64 / events as f64;
        best = best.min(took);
        first.get_or_insert(took);
        if let Some((previous, _)) = last.replace((out, emf)) {
            pipeline.recycle(previous.records);
        }
    }
    match (first, last) {
        (Some(first), Some(last)) => Ok((best, first, last)),
        _ => Err("no round ran".to_string()),
    }
}

fn dump(dir: &Path, out: &Processed, emf: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("rust-records.jsonl"), out.records.iter().flatten().copied().collect::<Vec<u8>>())?;
    let mut documents = String::new();
    for line in emf.lines() {
        parity::write_canonical(&serde_json::from_str(line).unwrap_or(Value::Null), &mut documents);
        documents.push('\n');
    }
    std::fs::write(dir.join("rust-emf.jsonl"), documents)
}

/// `awslogs.data` of the subscription event in `path`.
fn read_event(path: &Path) -> Result<String, String> {
    let name = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
    let mut event: Value = serde_json::from_slice(&bytes).map_err(|e| format!("{name}: not JSON: {e}"))?;
    match event.pointer_mut("/awslogs/data").map(Value::take) {
        Some(Value::String(data)) => Ok(data),
        Some(_) => Err(format!("{name}: awslogs.data is not a string")),
        None => Err(format!(
            "{name}: no awslogs.data; a CloudWatch Logs subscription event is {{\"awslogs\":{{\"data\":\"<base64 gzip>\"}}}}"
        )),
    }
}
