//! CloudWatch GetMetricData adapter: the log processor's sums over an SLO window, in one call.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use chrono::{DateTime, Utc};

use crate::error::{AwsError, ClassifyExt};
use crate::monitoring::{IndicatorSums, LOG_NAMESPACE, SumQuery};

/// GetMetricData takes at most 500 queries.
const QUERY_BATCH: usize = 500;

#[derive(Debug, Clone)]
pub struct CloudWatchIndicators {
    client: Client,
}

impl CloudWatchIndicators {
    pub fn new(client: Client) -> Self {
        CloudWatchIndicators { client }
    }
}

#[async_trait]
impl IndicatorSums for CloudWatchIndicators {
    async fn sums(&self, queries: &[SumQuery], from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<f64>, AwsError> {
        // One bucket as long as the window (whole minutes, as CloudWatch wants periods); a
        // window not aligned to it returns two buckets, summed below.
        let period = i32::try_from(((to - from).num_seconds().max(60) / 60) * 60).unwrap_or(i32::MAX);
        let mut out = Vec::with_capacity(queries.len());
        for batch in queries.chunks(QUERY_BATCH) {
            let data: Vec<MetricDataQuery> = batch
                .iter()
                .enumerate()
                .map(|(i, q)| {
                    let dimensions =
                        q.dimensions.iter().map(|(k, v)| Dimension::builder().name(k).value(v).build()).collect();
                    let metric = Metric::builder()
                        .namespace(LOG_NAMESPACE)
                        .metric_name(&q.metric)
                        .set_dimensions(Some(dimensions))
                        .build();
                    MetricDataQuery::builder()
                        .id(format!("q{i}"))
                        .metric_stat(MetricStat::builder().metric(metric).period(period).stat("Sum").build())
                        .return_data(true)
                        .build()
                })
                .collect();
            let mut sums: BTreeMap<String, f64> = BTreeMap::new();
            let mut pages = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(data))
                .start_time(AwsDateTime::from_millis(from.timestamp_millis()))
                .end_time(AwsDateTime::from_millis(to.timestamp_millis()))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.classify("GetMetricData")?;
                for r in page.metric_data_results() {
                    let Some(id) = r.id() else { continue };
                    *sums.entry(id.to_string()).or_default() += r.values().iter().sum::<f64>();
                }
            }
            out.extend((0..batch.len()).map(|i| sums.get(&format!("q{i}")).copied().unwrap_or(0.0)));
        }
        Ok(out)
    }
}
