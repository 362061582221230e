//! Platform deploy's edge in the local runtime: what the platform stack would make, and a load balancer stand-in behind the client's record.

use std::sync::Arc;

use platform_core::fakes::MemoryStackSets;
use platform_deploy::cluster::MemoryClusters;
use platform_deploy::fakes::stand_in_edge;
use platform_deploy::handler::Deps;

/// The edge wired for the emulator: alias records in its Route 53, through the real adapter.
/// Should the stand-in not start, the deploy keeps its real probe, which resolves no such name:
/// every release then fails its endpoint check, loudly.
pub(super) fn local(deps: &mut Deps, stack_sets: Arc<MemoryStackSets>, clusters: Arc<MemoryClusters>) {
    let zones = deps.edge.routing.clone();
    match stand_in_edge(&deps.tree, stack_sets, clusters, Some(zones), |o| o) {
        Ok((edge, _)) => deps.edge = edge,
        Err(error) => tracing::error!(%error, "the load balancer stand-in did not start: endpoint checks will fail"),
    }
}
