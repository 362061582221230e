//! The fleet release measured for N client accounts: virtual time, billed transitions and their cost, wall time.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use crate::runtime::{Outcome, local};
use crate::world::WorldOptions;

/// Step Functions Standard: $0.025 per 1,000 state transitions (us-east-1, 2026).
pub const USD_PER_TRANSITION: f64 = 0.025 / 1000.0;

/// One fleet release, measured.
#[derive(Debug, Clone, Serialize)]
pub struct FleetFigures {
    pub accounts: u32,
    pub release: String,
    pub status: String,
    /// The top-level execution's length on the virtual clock.
    pub virtual_seconds: f64,
    /// Every execution's transitions (parent, fleet, each account's deploy and rollback).
    pub transitions: u64,
    pub cost_usd: f64,
    /// What the local runtime took to run it (seeding excluded).
    pub wall_seconds: f64,
}

/// For a dev fleet of `accounts` (ABC's own and `accounts - 1` clients, seeded in a fresh
/// emulator): the first release to every account (2026.11.3: each account's infrastructure
/// created), then an upgrade (2026.11.5), each measured.
pub async fn fleet(root: &Path, accounts: u32) -> anyhow::Result<Vec<FleetFigures>> {
    let options = WorldOptions { environment: "dev".into(), clients: accounts.saturating_sub(1) };
    let up = local::start_with(root, None, &options).await?;
    let bus = up.tree.resource_prefix(&options.environment);
    let mut out = Vec::new();
    for (release, at) in [("2026.11.3", "2026-12-01T19:00:00Z"), ("2026.11.5", "2026-12-02T19:00:00Z")] {
        let event = json!({
            "version": "0", "id": uuid::Uuid::new_v4().to_string(), "detail-type": "ReleaseRequested",
            "source": up.tree.organization.event_source, "account": "", "time": at,
            "region": up.tree.organization.home_region, "resources": [],
            "detail": {"environment": options.environment, "release": release},
        });
        let before = up.runtime.transitions();
        let started = Instant::now();
        let dispatches = up.runtime.send_event(&bus, event).await?;
        let wall_seconds = started.elapsed().as_secs_f64();
        let transitions = up.runtime.transitions() - before;
        let (status, virtual_seconds) = dispatches
            .iter()
            .find_map(|d| match &d.outcome {
                Outcome::Execution { status, duration_s, .. } => Some((status.to_string(), *duration_s)),
                _ => None,
            })
            .unwrap_or_else(|| ("NOT STARTED".into(), 0.0));
        out.push(FleetFigures {
            accounts,
            release: release.into(),
            status,
            virtual_seconds,
            transitions,
            cost_usd: transitions as f64 * USD_PER_TRANSITION,
            wall_seconds,
        });
    }
    Ok(out)
}

/// `12m30s`.
pub fn minutes(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m{:02}s", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}
