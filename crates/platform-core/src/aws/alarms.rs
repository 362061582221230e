//! CloudWatch alarms adapter: the monitoring account's per-account alarms as metric-math alarms.

use async_trait::async_trait;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension, Metric, MetricAlarm, MetricDataQuery, MetricStat, Tag,
};

use crate::error::{AwsError, ClassifyExt};
use crate::monitoring::{AccountAlarm, AlarmDefinition, AlarmStore, LOG_NAMESPACE, MetricQuery, StoredAlarm};

/// DeleteAlarms takes at most 100 names.
const DELETE_BATCH: usize = 100;
/// The expression's query id: the one the alarm evaluates.
const EXPRESSION_ID: &str = "burn";

#[derive(Debug, Clone)]
pub struct CloudWatchAlarms {
    client: Client,
}

impl CloudWatchAlarms {
    pub fn new(client: Client) -> Self {
        CloudWatchAlarms { client }
    }
}

fn query(m: &MetricQuery, period: u32) -> MetricDataQuery {
    let dimensions = m.dimensions.iter().map(|(k, v)| Dimension::builder().name(k).value(v).build()).collect();
    let metric =
        Metric::builder().namespace(LOG_NAMESPACE).metric_name(&m.metric).set_dimensions(Some(dimensions)).build();
    MetricDataQuery::builder()
        .id(&m.id)
        .metric_stat(MetricStat::builder().metric(metric).period(period as i32).stat(&m.statistic).build())
        .return_data(false)
        .build()
}

/// The definition `a` reads as, when it has the shape `put` writes; anything else is `None`.
fn definition(a: &MetricAlarm) -> Option<AlarmDefinition> {
    let mut metrics = Vec::new();
    let mut expression = None;
    let mut period = None;
    for q in a.metrics() {
        match (q.metric_stat(), q.expression()) {
            (Some(stat), None) => {
                let metric = stat.metric()?;
                if metric.namespace() != Some(LOG_NAMESPACE) {
                    return None;
                }
                period = stat.period();
                metrics.push(MetricQuery {
                    id: q.id()?.to_string(),
                    metric: metric.metric_name()?.to_string(),
                    dimensions: metric
                        .dimensions()
                        .iter()
                        .map(|d| Some((d.name()?.to_string(), d.value()?.to_string())))
                        .collect::<Option<_>>()?,
                    statistic: stat.stat()?.to_string(),
                });
            }
            (None, Some(e)) if q.id() == Some(EXPRESSION_ID) => expression = Some(e.to_string()),
            _ => return None,
        }
    }
    Some(AlarmDefinition {
        description: a.alarm_description()?.to_string(),
        metrics,
        expression: expression?,
        period_seconds: u32::try_from(period?).ok()?,
        evaluation_periods: u32::try_from(a.evaluation_periods()?).ok()?,
        threshold: a.threshold()?,
        comparison: a.comparison_operator()?.as_str().to_string(),
    })
}

#[async_trait]
impl AlarmStore for CloudWatchAlarms {
    async fn alarms(&self, prefix: &str) -> Result<Vec<StoredAlarm>, AwsError> {
        let mut pages = self
            .client
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .alarm_types(AlarmType::MetricAlarm)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.classify("DescribeAlarms")?;
            for a in page.metric_alarms() {
                let Some(name) = a.alarm_name() else { continue };
                out.push(StoredAlarm { name: name.to_string(), definition: definition(a) });
            }
        }
        Ok(out)
    }

    async fn put(&self, alarm: &AccountAlarm, tags: &[(String, String)]) -> Result<(), AwsError> {
        let mut metrics: Vec<MetricDataQuery> = alarm.metrics.iter().map(|m| query(m, alarm.period_seconds)).collect();
        metrics.push(
            MetricDataQuery::builder()
                .id(EXPRESSION_ID)
                .expression(&alarm.expression)
                .label(&alarm.name)
                .return_data(true)
                .build(),
        );
        let tags: Vec<Tag> = tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        self.client
            .put_metric_alarm()
            .alarm_name(&alarm.name)
            .alarm_description(alarm.full_description())
            .set_metrics(Some(metrics))
            .evaluation_periods(alarm.evaluation_periods as i32)
            .threshold(alarm.threshold)
            .comparison_operator(ComparisonOperator::from(alarm.comparison.as_str()))
            // No traffic is no breach: an account without load must not page.
            .treat_missing_data("notBreaching")
            .set_tags(Some(tags))
            .send()
            .await
            .classify("PutMetricAlarm")?;
        Ok(())
    }

    async fn delete(&self, names: &[String]) -> Result<(), AwsError> {
        for batch in names.chunks(DELETE_BATCH) {
            self.client.delete_alarms().set_alarm_names(Some(batch.to_vec())).send().await.classify("DeleteAlarms")?;
        }
        Ok(())
    }
}
