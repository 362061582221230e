//! Each client account's remaining error budget per tier and indicator, over the SLO window, from the log processor's sums.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigTree, Indicator};
use crate::error::AwsError;

/// One metric's sum over a time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumQuery {
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
}

/// The log processor's metrics, summed (CloudWatch GetMetricData in the monitoring account).
#[async_trait]
pub trait IndicatorSums: Send + Sync + std::fmt::Debug {
    /// The sum of each query over `[from, to)`, in order; `0` where there is no data.
    async fn sums(&self, queries: &[SumQuery], from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<f64>, AwsError>;
}

/// One tier's indicator over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub tier: String,
    pub indicator: Indicator,
    /// The objective, in per cent.
    pub objective: f64,
    pub bad: f64,
    pub total: f64,
    /// What is left of the budget, in per cent (negative: overspent); `None` without traffic.
    pub remaining_percent: Option<f64>,
}

/// The share of the budget left when `bad` of `total` events were bad and `budget` (a fraction)
/// may be.
pub fn remaining_percent(bad: f64, total: f64, budget: f64) -> Option<f64> {
    (total > 0.0 && budget > 0.0).then(|| 100.0 * (1.0 - (bad / total) / budget))
}

fn indicator_metrics(i: Indicator) -> (&'static str, &'static str) {
    match i {
        Indicator::Availability => ("Errors", "Events"),
        Indicator::Latency => ("SlowRequests", "Requests"),
    }
}

/// Every tier's budgets for `account` in `env`, over the SLO window ending `now`: one read.
pub async fn error_budgets(
    source: &dyn IndicatorSums,
    tree: &ConfigTree,
    env: &str,
    account: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Budget>, AwsError> {
    let slo = &tree.monitoring.slo;
    let mut queries = Vec::new();
    let mut rows = Vec::new();
    for o in &slo.objectives {
        let dimensions = vec![
            ("Environment".into(), env.into()),
            ("Account".into(), account.into()),
            ("Tier".into(), o.tier.clone()),
        ];
        for i in [Indicator::Availability, Indicator::Latency] {
            let (bad, total) = indicator_metrics(i);
            queries.push(SumQuery { metric: bad.into(), dimensions: dimensions.clone() });
            queries.push(SumQuery { metric: total.into(), dimensions: dimensions.clone() });
            rows.push((o, i));
        }
    }
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    let from = now - Duration::days(i64::from(slo.window_days));
    let sums = source.sums(&queries, from, now).await?;
    Ok(rows
        .into_iter()
        .zip(sums.chunks(2))
        .map(|((o, i), pair)| {
            let (bad, total) = (pair.first().copied().unwrap_or(0.0), pair.get(1).copied().unwrap_or(0.0));
            Budget {
                tier: o.tier.clone(),
                indicator: i,
                objective: o.target(i),
                bad,
                total,
                remaining_percent: remaining_percent(bad, total, o.budget(i)),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::remaining_percent;

    #[test]
    fn the_budget_left_is_the_bad_share_against_the_allowed_share() {
        // 99.9%: 1 bad in 10,000 spends a tenth of the budget.
        let r = remaining_percent(1.0, 10_000.0, 0.001).expect("traffic");
        assert!((r - 90.0).abs() < 1e-9, "{r}");
        // Twice the allowed share: overspent by the whole budget again.
        let r = remaining_percent(20.0, 10_000.0, 0.001).expect("traffic");
        assert!((r + 100.0).abs() < 1e-9, "{r}");
        assert_eq!(remaining_percent(0.0, 0.0, 0.001), None, "no traffic spends nothing and says so");
    }
}
