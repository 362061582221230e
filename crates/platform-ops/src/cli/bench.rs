//! `bench fleet`: the fleet release's figures for fleets of several sizes, as a table (or JSON).

use std::path::Path;
use std::process::ExitCode;

use platform_ops::bench;

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
}

impl BenchCommand {
    pub async fn run(self, root: &Path) -> anyhow::Result<ExitCode> {
        let BenchCommand::Fleet { accounts, json } = self;
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
}
