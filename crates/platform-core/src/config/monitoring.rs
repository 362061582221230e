//! Health alarms, service level objectives and paging (`monitoring.toml`): what watches a client's platform and who hears about it.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Issues, ServiceCatalog, is_anchor};

/// How urgently people must act on an alarm.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum AlarmSeverity {
    /// On-call now, through the paging provider.
    Page,
    /// A ticket someone picks up in working hours.
    Ticket,
}

/// The incident format of the paging topic's HTTPS subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum PageProvider {
    /// PagerDuty Events API v2.
    Pagerduty,
    /// Opsgenie Alert API.
    Opsgenie,
}

/// Where tickets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum TicketSystem {
    /// Systems Manager OpsCenter.
    OpsItems,
    /// Systems Manager Incident Manager.
    IncidentManager,
}

/// `[paging]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    pub provider: PageProvider,
    pub tickets: TicketSystem,
    pub page_response_minutes: u32,
    pub ticket_response_hours: u32,
}

/// Where a health alarm's metric comes from, which decides its namespace and dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum HealthSource {
    /// `AWS/RDS`, the platform's database instance.
    Rds,
    /// `ContainerInsights`, the cluster (or a tier's namespace with `per = "tier"`).
    ContainerInsights,
    /// `ContainerInsights`, Axon Server's pod in the foundation namespace.
    Axon,
    /// `AWS/ApplicationELB`, the edge load balancer (rendered only where the platform has one).
    LoadBalancer,
    /// The log processor's per-account metrics, in the monitoring account: a share of errors.
    ServiceErrors,
}

impl HealthSource {
    /// Alarms on the log processor's metrics live in the monitoring account, one set per client
    /// account; the rest live in the member account, in the platform template.
    pub fn in_member(self) -> bool {
        self != HealthSource::ServiceErrors
    }
}

/// One alarm per tier namespace or per workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Per {
    Tier,
    Service,
}

/// One `[[health]]` alarm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthAlarm {
    pub name: String,
    pub source: HealthSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<Per>,
    pub metric: String,
    #[serde(default = "average")]
    pub statistic: String,
    pub comparison: String,
    pub threshold: f64,
    #[serde(default = "five_minutes")]
    pub period_seconds: u32,
    pub evaluation_periods: u32,
    /// Required: an alarm nobody is routed to is a finding.
    #[serde(default)]
    pub severity: Option<AlarmSeverity>,
    /// Required: the anchor of the alarm's section in docs/runbook.md.
    #[serde(default)]
    pub runbook: Option<String>,
    pub description: String,
}

fn average() -> String {
    "Average".into()
}

fn five_minutes() -> u32 {
    300
}

/// One `[[slo.burn]]` pair of windows: both in breach (burn rate above `factor`) raise the alarm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurnRate {
    pub name: String,
    pub factor: f64,
    pub long_minutes: u32,
    pub short_minutes: u32,
    pub severity: AlarmSeverity,
}

/// One tier's objectives, in per cent over the SLO window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    pub tier: String,
    pub availability: f64,
    pub latency_ms: u32,
    pub latency: f64,
}

/// The two indicators every tier has.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Indicator {
    /// Log events that are not errors, of all the tier's log events.
    Availability,
    /// Requests faster than the tier's `latency_ms`, of all its requests.
    Latency,
}

impl Objective {
    /// The objective of `indicator`, in per cent.
    pub fn target(&self, indicator: Indicator) -> f64 {
        match indicator {
            Indicator::Availability => self.availability,
            Indicator::Latency => self.latency,
        }
    }

    /// The share of events allowed to be bad (the error budget), as a fraction.
    pub fn budget(&self, indicator: Indicator) -> f64 {
        (100.0 - self.target(indicator)) / 100.0
    }
}

/// `[slo]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    pub window_days: u32,
    pub runbook: String,
    pub burn: Vec<BurnRate>,
    pub objectives: Vec<Objective>,
}

impl Slo {
    pub fn objective(&self, tier: &str) -> Option<&Objective> {
        self.objectives.iter().find(|o| o.tier == tier)
    }
}

/// `monitoring.toml`, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    pub paging: Paging,
    pub health: Vec<HealthAlarm>,
    pub slo: Slo,
}

impl Default for Monitoring {
    /// What a function reads from a tree published before monitoring existed: nothing watched,
    /// pages and tickets by the defaults.
    fn default() -> Self {
        Monitoring {
            paging: Paging {
                provider: PageProvider::Pagerduty,
                tickets: TicketSystem::OpsItems,
                page_response_minutes: 5,
                ticket_response_hours: 24,
            },
            health: Vec::new(),
            slo: Slo { window_days: 30, runbook: "slo-burn".into(), burn: Vec::new(), objectives: Vec::new() },
        }
    }
}

impl Monitoring {
    pub fn health_alarm(&self, name: &str) -> Option<&HealthAlarm> {
        self.health.iter().find(|h| h.name == name)
    }

    /// Every runbook anchor the file names, for the check that docs/runbook.md has each.
    pub fn runbook_anchors(&self) -> BTreeSet<&str> {
        let mut anchors: BTreeSet<&str> = self.health.iter().filter_map(|h| h.runbook.as_deref()).collect();
        anchors.insert(self.slo.runbook.as_str());
        anchors
    }
}

const COMPARISONS: &[&str] =
    &["GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"];

fn statistic_is_valid(s: &str) -> bool {
    const STATISTICS: &[&str] = &["Average", "Maximum", "Minimum", "Sum", "SampleCount"];
    STATISTICS.contains(&s)
        || s.strip_prefix('p').and_then(|p| p.parse::<f64>().ok()).is_some_and(|p| p > 0.0 && p < 100.0)
}

/// The rules `monitoring.toml` must keep, reported against `file`; `catalog` names the tiers.
pub(crate) fn validate(file: &Path, m: &Monitoring, catalog: Option<&ServiceCatalog>, issues: &mut Issues) {
    // On-call would refuse every ticket: better said here than on the first alarm.
    if m.paging.tickets == TicketSystem::IncidentManager {
        issues.push(
            file,
            "paging.tickets",
            "incident-manager is not supported yet: on-call opens OpsItems (ops-items)",
        );
    }
    if m.paging.page_response_minutes == 0 || m.paging.ticket_response_hours == 0 {
        issues.push(file, "paging", "page_response_minutes and ticket_response_hours must be at least 1");
    }
    let mut names = BTreeSet::new();
    for (i, h) in m.health.iter().enumerate() {
        let key = |field: &str| format!("health[{i}].{field}");
        if !names.insert(h.name.as_str()) {
            issues.push(file, key("name"), format!("health alarm `{}` is defined twice", h.name));
        }
        if h.name.is_empty() || !is_anchor(&h.name) {
            issues.push(file, key("name"), format!("`{}` must be lowercase letters, digits and dashes", h.name));
        }
        if h.severity.is_none() {
            issues.push(file, key("severity"), format!("health alarm `{}` has no severity (page or ticket)", h.name));
        }
        match &h.runbook {
            None => issues.push(
                file,
                key("runbook"),
                format!("health alarm `{}` has no runbook anchor in docs/runbook.md", h.name),
            ),
            Some(a) if !is_anchor(a) => issues.push(
                file,
                key("runbook"),
                format!("`{a}` is not an anchor (lowercase letters, digits and dashes, without `#`)"),
            ),
            Some(_) => {}
        }
        if !COMPARISONS.contains(&h.comparison.as_str()) {
            issues.push(
                file,
                key("comparison"),
                format!("`{}` is not one of {}", h.comparison, COMPARISONS.join(", ")),
            );
        }
        if !statistic_is_valid(&h.statistic) {
            issues.push(file, key("statistic"), format!("`{}` is not a statistic CloudWatch knows", h.statistic));
        }
        if h.evaluation_periods == 0 {
            issues.push(file, key("evaluation_periods"), "evaluation_periods must be at least 1");
        }
        if h.period_seconds < 60 || h.period_seconds % 60 != 0 {
            issues.push(file, key("period_seconds"), format!("period {} must be a multiple of 60", h.period_seconds));
        }
        // CloudWatch evaluates at most a day of periods.
        if u64::from(h.period_seconds) * u64::from(h.evaluation_periods) > 86_400 {
            issues.push(file, key("evaluation_periods"), "period times evaluation_periods must be at most one day");
        }
        match (h.source, h.per) {
            (HealthSource::ServiceErrors, Some(Per::Service)) | (HealthSource::ContainerInsights, Some(Per::Tier)) => {}
            (HealthSource::ServiceErrors, _) => {
                issues.push(file, key("per"), "a service-errors alarm is per = \"service\"");
            }
            (_, Some(per)) => issues.push(
                file,
                key("per"),
                format!("per = \"{per}\" is for container-insights (tier) or service-errors (service) alarms"),
            ),
            (_, None) => {}
        }
        if h.source == HealthSource::ServiceErrors && !(h.threshold > 0.0 && h.threshold < 100.0) {
            issues.push(
                file,
                key("threshold"),
                format!("{} must be a share in per cent, above 0 and below 100", h.threshold),
            );
        }
    }
    let s = &m.slo;
    if !is_anchor(&s.runbook) {
        issues.push(file, "slo.runbook", format!("`{}` is not an anchor", s.runbook));
    }
    if !(1..=90).contains(&s.window_days) {
        issues.push(file, "slo.window_days", format!("{} must be between 1 and 90 days", s.window_days));
    }
    if s.burn.is_empty() {
        issues.push(file, "slo.burn", "at least one burn-rate pair is needed");
    }
    let mut burns = BTreeSet::new();
    for (i, b) in s.burn.iter().enumerate() {
        let key = |field: &str| format!("slo.burn[{i}].{field}");
        if !burns.insert(b.name.as_str()) || !is_anchor(&b.name) {
            issues.push(file, key("name"), format!("`{}` must be a unique lowercase name", b.name));
        }
        if b.factor <= 1.0 {
            issues.push(
                file,
                key("factor"),
                format!("{} must be above 1 (a budget burning faster than allowed)", b.factor),
            );
        }
        if b.short_minutes == 0 || b.short_minutes >= b.long_minutes {
            issues.push(
                file,
                key("short_minutes"),
                format!("{} must be above 0 and below long_minutes", b.short_minutes),
            );
        }
        for (field, minutes) in [("long_minutes", b.long_minutes), ("short_minutes", b.short_minutes)] {
            // One datapoint of the window's length: CloudWatch periods are multiples of a minute, at most a day.
            if minutes == 0 || minutes > 1440 {
                issues.push(file, key(field), format!("{minutes} minutes is not a CloudWatch period (1 to 1440)"));
            }
        }
        if u64::from(b.long_minutes) > u64::from(s.window_days) * 1440 {
            issues.push(file, key("long_minutes"), "a burn window cannot be longer than the SLO window");
        }
    }
    let mut tiers = BTreeSet::new();
    for (i, o) in s.objectives.iter().enumerate() {
        let key = |field: &str| format!("slo.objectives[{i}].{field}");
        if !tiers.insert(o.tier.as_str()) {
            issues.push(file, key("tier"), format!("tier `{}` has two objectives", o.tier));
        }
        if let Some(c) = catalog {
            if !c.tiers.iter().any(|t| t.name == o.tier) {
                issues.push(file, key("tier"), format!("`{}` is not a tier of services.toml", o.tier));
            } else if !c.serving_tiers().any(|t| t.name == o.tier) {
                // A tier of Jobs serves no request: nothing to measure an objective on.
                issues.push(file, key("tier"), format!("tier `{}` runs jobs only and has no SLO", o.tier));
            }
        }
        for (field, v) in [("availability", o.availability), ("latency", o.latency)] {
            if !(50.0..100.0).contains(&v) {
                issues.push(file, key(field), format!("{v} must be a share in per cent, at least 50 and below 100"));
            }
        }
        if o.latency_ms == 0 {
            issues.push(file, key("latency_ms"), "latency_ms must be at least 1");
        }
    }
    if let Some(c) = catalog {
        for t in c.serving_tiers() {
            if !tiers.contains(t.name.as_str()) {
                issues.push(file, "slo.objectives", format!("tier `{}` has no objective", t.name));
            }
        }
    }
}
