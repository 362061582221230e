//! The alarms `monitoring.toml` makes, by name: member health alarms, and per client account the error-rate and SLO burn alarms of the monitoring account.

mod budget;
mod sync;

use serde::{Deserialize, Serialize};

pub use budget::{Budget, IndicatorSums, SumQuery, error_budgets, remaining_percent};
pub use sync::{AlarmDefinition, AlarmStore, StoredAlarm, SyncReport, sync_account_alarms};

use crate::config::{AlarmSeverity, ConfigTree, HealthAlarm, HealthSource, Indicator, Per};

/// The namespace the log processor writes to (its EMF documents).
pub const LOG_NAMESPACE: &str = "ABC/Trading";

/// What an alarm name says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmRoute {
    pub severity: AlarmSeverity,
    /// The anchor of the alarm's section in docs/runbook.md.
    pub runbook: String,
    /// The client account the name carries (monitoring-account alarms); a member's own alarm
    /// carries none and is the sender's.
    pub account: Option<String>,
    pub description: String,
    /// For a burn-rate window, the other window of its pair: the page opens only when both are in ALARM.
    pub partner: Option<String>,
}

/// One member health alarm as rendered: its name after `<prefix>-<env>-`, the config entry and
/// the tier or service it is for.
#[derive(Debug, Clone)]
pub struct MemberAlarm<'a> {
    pub suffix: String,
    pub alarm: &'a HealthAlarm,
    pub per: Option<String>,
}

/// Every member health alarm of the tree (one per tier or service where the alarm says so).
pub fn member_alarms(tree: &ConfigTree) -> Vec<MemberAlarm<'_>> {
    let mut out = Vec::new();
    for h in tree.monitoring.health.iter().filter(|h| h.source.in_member()) {
        match h.per {
            None => out.push(MemberAlarm { suffix: format!("health-{}", h.name), alarm: h, per: None }),
            Some(Per::Tier) => out.extend(tree.catalog.serving_tiers().map(|t| MemberAlarm {
                suffix: format!("health-{}-{}", h.name, t.name),
                alarm: h,
                per: Some(t.name.clone()),
            })),
            Some(Per::Service) => out.extend(tree.catalog.serving().map(|s| &s.name).map(|s| MemberAlarm {
                suffix: format!("health-{}-{s}", h.name),
                alarm: h,
                per: Some(s.clone()),
            })),
        }
    }
    out
}

/// One metric of an alarm's query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricQuery {
    pub id: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub statistic: String,
}

/// An alarm of the monitoring account on the log processor's metrics for one client account:
/// `expression` over `metrics` (each at `period_seconds`) compared with `threshold`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountAlarm {
    pub name: String,
    pub description: String,
    pub severity: AlarmSeverity,
    pub runbook: String,
    pub metrics: Vec<MetricQuery>,
    pub expression: String,
    pub period_seconds: u32,
    pub evaluation_periods: u32,
    pub threshold: f64,
    pub comparison: String,
}

fn dims(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The error-rate and SLO burn-rate alarms of one client account, in the monitoring account.
/// A burn window's expression is the burn rate itself (bad / total over the window, divided by
/// the budget); missing data (no traffic) is not a breach.
pub fn account_alarms(tree: &ConfigTree, env: &str, account: &str) -> Vec<AccountAlarm> {
    let prefix = format!("{}-{account}", tree.resource_prefix(env));
    let mut out = Vec::new();
    for h in tree.monitoring.health.iter().filter(|h| h.source == HealthSource::ServiceErrors) {
        let (Some(severity), Some(runbook)) = (h.severity, h.runbook.clone()) else { continue };
        for service in tree.catalog.serving().map(|s| &s.name) {
            let d = dims(&[("Environment", env), ("Account", account), ("Service", service)]);
            out.push(AccountAlarm {
                name: format!("{prefix}-health-{}-{service}", h.name),
                description: format!("{service} in account {account}: {}", h.description),
                severity,
                runbook: runbook.clone(),
                metrics: vec![
                    MetricQuery {
                        id: "bad".into(),
                        metric: h.metric.clone(),
                        dimensions: d.clone(),
                        statistic: "Sum".into(),
                    },
                    MetricQuery { id: "total".into(), metric: "Events".into(), dimensions: d, statistic: "Sum".into() },
                ],
                expression: "100 * bad / total".into(),
                period_seconds: h.period_seconds,
                evaluation_periods: h.evaluation_periods,
                threshold: h.threshold,
                comparison: h.comparison.clone(),
            });
        }
    }
    let slo = &tree.monitoring.slo;
    for o in &slo.objectives {
        for indicator in [Indicator::Availability, Indicator::Latency] {
            let (bad, total) = match indicator {
                Indicator::Availability => ("Errors", "Events"),
                Indicator::Latency => ("SlowRequests", "Requests"),
            };
            let d = dims(&[("Environment", env), ("Account", account), ("Tier", &o.tier)]);
            for b in &slo.burn {
                for (window, minutes) in [("long", b.long_minutes), ("short", b.short_minutes)] {
                    out.push(AccountAlarm {
                        name: format!("{prefix}-slo-{}-{indicator}-{}-{window}", o.tier, b.name),
                        description: format!(
                            "{} {indicator} of account {account} burns its {}-day budget ({}%) more than {}x over {minutes} min",
                            o.tier,
                            slo.window_days,
                            o.target(indicator),
                            b.factor
                        ),
                        severity: b.severity,
                        runbook: slo.runbook.clone(),
                        metrics: vec![
                            MetricQuery { id: "bad".into(), metric: bad.into(), dimensions: d.clone(), statistic: "Sum".into() },
                            MetricQuery {
                                id: "total".into(),
                                metric: total.into(),
                                dimensions: d.clone(),
                                statistic: "Sum".into(),
                            },
                        ],
                        expression: format!("(bad / total) / {}", o.budget(indicator)),
                        period_seconds: minutes * 60,
                        evaluation_periods: 1,
                        threshold: b.factor,
                        comparison: "GreaterThanThreshold".into(),
                    });
                }
            }
        }
    }
    out
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// What `alarm_name` is, if it is one of `env`'s health or SLO alarms; `None` for any other name.
pub fn route(tree: &ConfigTree, env: &str, alarm_name: &str) -> Option<AlarmRoute> {
    let rest = alarm_name.strip_prefix(&format!("{}-", tree.resource_prefix(env)))?;
    let (account, rest) = match rest.split_once('-') {
        Some((id, rest)) if is_account_id(id) => (Some(id.to_string()), rest),
        _ => (None, rest),
    };
    if let Some(health) = rest.strip_prefix("health-") {
        let alarm = tree.monitoring.health.iter().find(|h| {
            // The member's alarms carry no account; the monitoring account's always do.
            h.source.in_member() == account.is_none()
                && match (health.strip_prefix(h.name.as_str()), h.per) {
                    (Some(""), None) => true,
                    (Some(per), Some(Per::Tier)) => {
                        per.strip_prefix('-').is_some_and(|t| tree.catalog.serving_tiers().any(|x| x.name == t))
                    }
                    (Some(per), Some(Per::Service)) => {
                        per.strip_prefix('-').is_some_and(|s| tree.catalog.serving().any(|x| x.name == s))
                    }
                    _ => false,
                }
        })?;
        return Some(AlarmRoute {
            severity: alarm.severity?,
            runbook: alarm.runbook.clone()?,
            account,
            description: alarm.description.clone(),
            partner: None,
        });
    }
    if !rest.starts_with("slo-") {
        return None;
    }
    let alarms = account_alarms(tree, env, account.as_deref()?);
    let this = alarms.iter().find(|a| a.name == alarm_name)?;
    let partner = match alarm_name.rsplit_once('-')? {
        (stem, "long") => format!("{stem}-short"),
        (stem, "short") => format!("{stem}-long"),
        _ => return None,
    };
    Some(AlarmRoute {
        severity: this.severity,
        runbook: this.runbook.clone(),
        account,
        description: this.description.clone(),
        partner: Some(partner),
    })
}
