//! `bench fleet`, `bench alarms` and `bench init`: fleet releases per fleet size, alarm deliveries under contention, cold starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use platform_ops::bench;
use platform_ops::bench_alarms::{self, AlarmFigures, AlarmLoad};
use platform_ops::bench_init::{self, InitRow};
use platform_ops::runtime::local;

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// A dev fleet of each size in a fresh emulator: the first release and an upgrade, each with
    /// its virtual time, billed transitions and cost, and the local runtime's wall time.
    Fleet {
        /// Fleet sizes (accounts, ABC's own included).
        #[arg(long, value_delimiter = ',', default_value = "8,50,200")]
        accounts: Vec<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Alarm transitions for several targets, each delivered more than once, all at once, through
    /// the alarm scaler's decide on the guard table in a fresh emulator: one claim per
    /// transition, the table's conflicts and retries, decision times. Fails when a transition
    /// did not get exactly one claim, or a guarantee broke.
    Alarms {
        #[arg(long, default_value_t = AlarmLoad::default().transitions)]
        transitions: u32,
        /// Targets (nodegroups, one per member account).
        #[arg(long, default_value_t = AlarmLoad::default().targets)]
        targets: u32,
        /// Deliveries of each transition.
        #[arg(long, default_value_t = AlarmLoad::default().deliveries)]
        deliveries: u32,
        /// Deliveries in flight at once.
        #[arg(long, default_value_t = AlarmLoad::default().concurrency)]
        concurrency: u32,
        /// Leave moto's conditional writes as they are: not atomic per item, unlike DynamoDB's,
        /// so racing duplicates can both win a claim.
        #[arg(long)]
        raw_emulator: bool,
        #[arg(long)]
        json: bool,
    },
    /// Every function binary's cold start (process start to its first request for work, Lambda's
    /// Init Duration) beside a hello-world lambda_runtime binary, against a Runtime API stand-in;
    /// the functions that read the published config at init read it from a seeded emulator.
    /// scripts/init-bench.sh builds the binaries (--release) and runs this.
    Init {
        /// Where the binaries are (hello-lambda and each function's).
        #[arg(long, default_value = "target/release")]
        bin_dir: PathBuf,
        /// Cold starts of each binary (interleaved), after one unmeasured start each.
        #[arg(long, default_value_t = 30)]
        rounds: usize,
        /// AWS_LAMBDA_FUNCTION_MEMORY_SIZE given to every binary.
        #[arg(long, default_value_t = 512)]
        memory_mb: u32,
        /// Another build of a function, measured in the same run with that function's
        /// environment: `FUNCTION=PATH`, the function named by its logical id or its binary
        /// (`log-processor=/tmp/before/log-processor`). Repeatable.
        #[arg(long, value_parser = candidate)]
        candidate: Vec<(String, PathBuf)>,
        #[arg(long)]
        json: bool,
    },
}

fn candidate(arg: &str) -> Result<(String, PathBuf), String> {
    match arg.split_once('=') {
        Some((function, path)) if !function.is_empty() && !path.is_empty() => {
            Ok((function.to_string(), PathBuf::from(path)))
        }
        _ => Err(format!("`{arg}` is not FUNCTION=PATH")),
    }
}

impl BenchCommand {
    pub async fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        match self {
            BenchCommand::Fleet { accounts, json } => fleet(root, accounts, json).await,
            BenchCommand::Alarms { transitions, targets, deliveries, concurrency, raw_emulator, json } => {
                let load = AlarmLoad { transitions, targets, deliveries, concurrency };
                eprintln!(
                    "  .. {transitions} transitions for {targets} targets, {deliveries} deliveries each, {concurrency} in flight"
                );
                let figures = bench_alarms::alarms(root, &load, !raw_emulator).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&figures)?);
                } else {
                    print_alarms(&figures);
                }
                let problems = figures.problems();
                for p in &problems {
                    eprintln!("error: {p}");
                }
                if raw_emulator && !figures.misclaimed.is_empty() {
                    eprintln!(
                        "note: moto checks a condition and writes without a lock; DynamoDB does both atomically per item"
                    );
                }
                Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
            }
            BenchCommand::Init { bin_dir, rounds, memory_mb, candidate, json } => {
                init(root, &bin_dir, rounds, memory_mb, &candidate, json).await
            }
        }
    }
}

async fn init(
    root: &Path,
    bin_dir: &Path,
    rounds: usize,
    memory_mb: u32,
    candidates: &[(String, PathBuf)],
    json: bool,
) -> anyhow::Result<ExitCode> {
    let up = local::start(root, None).await?;
    let functions =
        up.runtime.template().functions.values().map(|f| (f.id.clone(), f.binary.clone(), f.environment.clone()));
    let targets = bench_init::with_candidates(bench_init::targets(bin_dir, functions, memory_mb), candidates)?;
    let common: BTreeMap<String, String> = emulator::Remote::new(&up.endpoint)?
        .env_vars()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .chain([
            ("AWS_LAMBDA_FUNCTION_VERSION".to_string(), "$LATEST".to_string()),
            ("AWS_LAMBDA_LOG_GROUP_NAME".to_string(), "/aws/lambda/init-bench".to_string()),
            ("AWS_LAMBDA_LOG_STREAM_NAME".to_string(), "init-bench".to_string()),
        ])
        .collect();
    eprintln!("  .. {rounds} cold starts of each of {} binaries in {}", targets.len(), bin_dir.display());
    let rows = bench_init::measure(&targets, &common, rounds)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_init(&rows);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_init(rows: &[InitRow]) {
    println!("| function | binary | size | init median | p90 | min | x hello world |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | `{}` | {:.1} MB | {:.2} ms | {:.2} ms | {:.2} ms | {:.2}x |",
            r.function,
            r.binary,
            r.binary_bytes as f64 / 1e6,
            r.median_ms,
            r.p90_ms,
            r.min_ms,
            r.ratio
        );
    }
}

async fn fleet(root: &Path, accounts: Vec<u32>, json: bool) -> anyhow::Result<ExitCode> {
    let mut rows = Vec::new();
    for n in accounts {
        eprintln!("  .. a fleet of {n} accounts");
        rows.extend(bench::fleet(root, n).await?);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "| accounts | release | status | virtual time | transitions | Step Functions cost | wall time | wall per account |"
        );
        println!("|---:|---|---|---:|---:|---:|---:|---:|");
        for r in &rows {
            println!(
                "| {} | {} | {} | {} | {} | ${:.4} | {:.1} s | {:.2} s |",
                r.accounts,
                r.release,
                r.status,
                bench::minutes(r.virtual_seconds),
                r.transitions,
                r.cost_usd,
                r.wall_seconds,
                r.wall_seconds / f64::from(r.accounts.max(1))
            );
        }
    }
    let ok = rows.iter().all(|r| r.status == "SUCCEEDED");
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_alarms(f: &AlarmFigures) {
    let l = &f.load;
    let counts = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ")
    };
    let claimed = l.transitions as usize - f.misclaimed.len();
    let rows = [
        (
            "load",
            format!(
                "{} transitions x {} deliveries, {} targets, {} in flight",
                l.transitions, l.deliveries, l.targets, l.concurrency
            ),
        ),
        (
            "conditional writes per item",
            (if f.atomic_items { "atomic, as DynamoDB" } else { "as moto applies them" }).into(),
        ),
        ("outcomes", counts(&f.outcomes)),
        ("refusals", counts(&f.refusals)),
        ("exactly one claim", format!("{claimed} of {} transitions", l.transitions)),
        ("without a reason", f.unexplained.to_string()),
        (
            "resizes",
            format!(
                "{} ({} inside a cooldown, at most {} at once per target)",
                f.scales.values().sum::<u32>(),
                f.scales_in_cooldown,
                f.max_concurrent_scales
            ),
        ),
        ("conditional writes", f.conditional_writes.to_string()),
        ("conflicts", format!("{} ({} duplicates + busy)", f.conflicts, f.expected_conflicts)),
        ("table calls / attempts / SDK retries", format!("{} / {} / {}", f.operations, f.attempts, f.retries)),
        ("decide retries", f.decide_retries.to_string()),
        (
            "decide p50 / p99 / max",
            format!("{:.1} / {:.1} / {:.1} ms", f.decide.p50_ms, f.decide.p99_ms, f.decide.max_ms),
        ),
        ("wall time", format!("{:.1} s", f.wall_seconds)),
        ("throughput", format!("{:.0} deliveries/s", f.deliveries_per_second)),
    ];
    println!("| figure | value |");
    println!("|---|---:|");
    for (name, value) in rows {
        println!("| {name} | {value} |");
    }
    println!();
    println!("| table operation | calls | conditional | attempts | conflicts | errors |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (op, c) in &f.table {
        println!("| {op} | {} | {} | {} | {} | {} |", c.operations, c.conditional, c.attempts, c.conflicts, c.errors);
    }
}
