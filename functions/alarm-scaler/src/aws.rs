//! Adapters: Container Insights in member accounts (the guard table and the groups are platform-core's).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_core::aws::MemberClients;
use platform_core::error::{AwsError, ClassifyExt};

use crate::demand::Reservation;
use crate::ports::PodDemand;

pub use platform_core::capacity::MemberGroups;
pub use platform_core::guard::GuardTable;

/// The pods' reservation of a cluster from Container Insights in its member account.
#[derive(Debug, Clone)]
pub struct ContainerInsights(MemberClients);

/// The window a reading must fall in: older figures describe a cluster that may have changed.
const RESERVATION_WINDOW_SECONDS: i64 = 10 * 60;

impl ContainerInsights {
    pub fn new(members: MemberClients) -> Self {
        ContainerInsights(members)
    }
}

#[async_trait]
impl PodDemand for ContainerInsights {
    async fn reservation(
        &self,
        account: &str,
        cluster: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Reservation>, AwsError> {
        use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
        let query = |id: &str, metric: &str| {
            MetricDataQuery::builder()
                .id(id)
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("ContainerInsights")
                                .metric_name(metric)
                                .dimensions(Dimension::builder().name("ClusterName").value(cluster).build())
                                .build(),
                        )
                        .period(60)
                        // The busiest minute: a floor for scale-in should not average a peak away.
                        .stat("Maximum")
                        .build(),
                )
                .return_data(true)
                .build()
        };
        // One call for all three figures.
        let out = self
            .0
            .client::<aws_sdk_cloudwatch::Client>(account)
            .get_metric_data()
            .start_time(aws_smithy_types::DateTime::from_secs(now.timestamp() - RESERVATION_WINDOW_SECONDS))
            .end_time(aws_smithy_types::DateTime::from_secs(now.timestamp() + 1))
            .metric_data_queries(query("cpu", "node_cpu_reserved_capacity"))
            .metric_data_queries(query("memory", "node_memory_reserved_capacity"))
            .metric_data_queries(query("nodes", "cluster_node_count"))
            .send()
            .await
            .classify("GetMetricData")?;
        // The newest datapoint of each query, whatever order the service returns them in.
        let latest = |id: &str| {
            let result = out.metric_data_results().iter().find(|r| r.id() == Some(id))?;
            result
                .timestamps()
                .iter()
                .zip(result.values())
                .max_by_key(|(t, _)| (t.secs(), t.subsec_nanos()))
                .map(|(_, v)| *v)
        };
        Ok(match (latest("cpu"), latest("memory"), latest("nodes")) {
            (Some(cpu_percent), Some(memory_percent), Some(cluster_nodes)) => {
                Some(Reservation { cpu_percent, memory_percent, cluster_nodes })
            }
            _ => None,
        })
    }
}
