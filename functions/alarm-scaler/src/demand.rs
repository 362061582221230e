//! The nodes the running pods need, from Container Insights' reservation figures (a scale-in floor).

use serde::{Deserialize, Serialize};

/// The cluster's reservation as Container Insights reports it (metrics with the `ClusterName`
/// dimension only: the cluster-wide figures).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    /// `node_cpu_reserved_capacity`: the pods' CPU requests over the nodes' allocatable CPU, in percent.
    pub cpu_percent: f64,
    /// `node_memory_reserved_capacity`: the same for memory.
    pub memory_percent: f64,
    /// `cluster_node_count`.
    pub cluster_nodes: f64,
}

/// Why a reading cannot be used (the decision then treats the need as unknown).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadingError {
    #[error("reservation reading {0:?} is not a finite, non-negative figure")]
    NotAFigure(Reservation),
    #[error("the cluster reports {cluster} node(s), fewer than the nodegroup's {group}")]
    FewerNodesThanTheGroup { cluster: f64, group: u32 },
}

/// Nodes of this nodegroup the pods' requests need, given the cluster's reservation.
///
/// The requests fill `cluster_nodes * max(cpu, memory) / 100` node-equivalents; nodes outside the
/// nodegroup are assumed to carry their full share, so the group needs the rest, rounded up.
/// The tighter of CPU and memory decides: a pod that cannot get its memory does not schedule.
pub fn nodes_needed(r: &Reservation, group_nodes: u32) -> Result<u32, ReadingError> {
    let finite = |v: f64| v.is_finite() && v >= 0.0;
    if !(finite(r.cpu_percent) && finite(r.memory_percent) && finite(r.cluster_nodes)) {
        return Err(ReadingError::NotAFigure(*r));
    }
    if r.cluster_nodes + 0.5 < f64::from(group_nodes) {
        // The metric lags a resize; a reading older than the group's size says nothing about it.
        return Err(ReadingError::FewerNodesThanTheGroup { cluster: r.cluster_nodes, group: group_nodes });
    }
    let reserved = r.cluster_nodes * r.cpu_percent.max(r.memory_percent) / 100.0;
    let others = (r.cluster_nodes - f64::from(group_nodes)).max(0.0);
    // Rounded to a hundredth first, so 2.0000000001 node-equivalents of float noise is 2 nodes.
    let need = ((reserved - others) * 100.0).round() / 100.0;
    Ok(need.ceil().max(0.0) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(cpu: f64, memory: f64, nodes: f64) -> Reservation {
        Reservation { cpu_percent: cpu, memory_percent: memory, cluster_nodes: nodes }
    }

    #[test]
    fn the_tighter_resource_decides_and_partial_nodes_round_up() {
        let cases = [
            // (cpu %, memory %, cluster nodes, group nodes, need)
            (55.0, 30.0, 2.0, 2, 2), // 1.1 node-equivalents of CPU
            (30.0, 55.0, 2.0, 2, 2), // memory is the tighter one
            (40.0, 45.0, 2.0, 2, 1), // 0.9
            (50.0, 50.0, 2.0, 2, 1), // exactly one node
            (33.333_333_334, 0.0, 3.0, 3, 1),
            (0.0, 0.0, 3.0, 3, 0),
            (90.0, 10.0, 5.0, 3, 3),  // 4.5 equivalents, 2 nodes elsewhere
            (20.0, 10.0, 5.0, 3, 0),  // the other nodes hold everything
            (120.0, 10.0, 2.0, 2, 3), // over-committed: more than is running
            (50.0, 50.0, 2.4, 2, 1),  // a fractional average over the period
        ];
        for (cpu, memory, nodes, group, need) in cases {
            assert_eq!(nodes_needed(&r(cpu, memory, nodes), group), Ok(need), "{cpu}% cpu {memory}% mem {nodes} nodes");
        }
    }

    #[test]
    fn readings_that_are_not_figures_are_refused() {
        assert!(matches!(nodes_needed(&r(f64::NAN, 1.0, 2.0), 2), Err(ReadingError::NotAFigure(_))));
        assert!(matches!(nodes_needed(&r(1.0, -1.0, 2.0), 2), Err(ReadingError::NotAFigure(_))));
        assert!(matches!(nodes_needed(&r(1.0, 1.0, f64::INFINITY), 2), Err(ReadingError::NotAFigure(_))));
        assert_eq!(
            nodes_needed(&r(50.0, 50.0, 1.0), 3),
            Err(ReadingError::FewerNodesThanTheGroup { cluster: 1.0, group: 3 })
        );
    }
}
