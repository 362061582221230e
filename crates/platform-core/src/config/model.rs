//! The typed config tree: organisation conventions, the service catalogue and the environments.

use std::collections::BTreeMap;

use chrono::{NaiveTime, Weekday};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// The whole validated tree under `config/`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigTree {
    pub organization: Organization,
    pub catalog: ServiceCatalog,
    pub environments: BTreeMap<String, Environment>,
    /// The member-side alarms remediation reacts to (`remediation-alarms.toml`).
    pub alarms: Vec<RemediationAlarm>,
    /// How each failure signature is routed, and the triage's settings (`log-signatures.toml`).
    pub signals: super::SignalRouting,
    /// Health alarms, SLOs and paging (`monitoring.toml`).
    pub monitoring: super::Monitoring,
}

impl ConfigTree {
    /// The environment named `name`, if the tree has one.
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.get(name)
    }

    /// `abc-trading-<env>`: the prefix of every AWS resource of an environment.
    pub fn resource_prefix(&self, env: &str) -> String {
        self.organization.resource_prefix(env)
    }

    /// EKS cluster name of an environment.
    pub fn cluster_name(&self, env: &str) -> String {
        self.resource_prefix(env)
    }

    /// Managed nodegroup name of an environment.
    pub fn nodegroup_name(&self, env: &str) -> String {
        self.organization.nodegroup_name(env)
    }

    /// Auto Scaling group of an environment's workers.
    pub fn workers_group_name(&self, env: &str) -> String {
        self.organization.workers_group_name(env)
    }

    /// Log group of one service in one environment, as the subscription filters expect it.
    pub fn log_group(&self, env: &str, service: &str) -> String {
        format!("{}/{env}/{service}", self.organization.parameter_prefix)
    }
}

/// `config/organization.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    pub name_prefix: String,
    pub parameter_prefix: String,
    pub event_source: String,
    pub home_region: String,
    pub automation_role: String,
    pub quarantine_ou: String,
    pub remediation: RemediationConvention,
    pub vending: Vending,
    /// Defaulted so a function built before `[deploy]` existed still reads the published
    /// organisation, and this one reads an organisation published before it.
    #[serde(default)]
    pub deploy: DeploySettings,
    /// What a release's images must be before a deploy touches anything; defaulted so an
    /// organisation published before `[images]` still reads.
    #[serde(default)]
    pub images: super::ImagePolicy,
}

/// How platform deploy provisions an environment's infrastructure (`[deploy]` in organization.toml).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploySettings {
    /// The StackSet of the platform's infrastructure (stacksets/platform.yaml): one instance per
    /// environment account, in the environment's primary region.
    pub platform_stack_set: String,
}

impl Default for DeploySettings {
    fn default() -> Self {
        DeploySettings { platform_stack_set: "abc-trading-platform".into() }
    }
}

/// How account vending rolls the baseline out (`[vending]` in organization.toml).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vending {
    /// The StackSet every member account gets (stacksets/member-baseline.yaml).
    pub baseline_stack_set: String,
    /// Vendings in flight at once across the organisation (Organizations and StackSets limits).
    pub max_in_flight: u32,
    /// StackSet operation preferences: regions that may fail before the operation stops.
    pub failure_tolerance_count: u32,
    /// StackSet operation preferences: regions worked on at once.
    pub max_concurrent_count: u32,
}

impl Organization {
    /// `abc-trading-<env>`: the prefix of every AWS resource of an environment.
    pub fn resource_prefix(&self, env: &str) -> String {
        format!("{}-{env}", self.name_prefix)
    }

    /// Managed nodegroup name of an environment.
    pub fn nodegroup_name(&self, env: &str) -> String {
        format!("{}-nodes", self.resource_prefix(env))
    }

    /// Auto Scaling group of an environment's workers.
    pub fn workers_group_name(&self, env: &str) -> String {
        format!("{}-workers", self.resource_prefix(env))
    }
}

/// `remediation-alarms.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationAlarmsFile {
    pub alarms: Vec<RemediationAlarm>,
}

/// One alarm every environment's member account carries for alarm remediation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationAlarm {
    /// The part after the remediation marker; ends in `-high` (scale out) or `-low` (scale in).
    pub name: String,
    pub target: AlarmTarget,
    pub namespace: String,
    pub metric: String,
    #[serde(default = "average")]
    pub statistic: String,
    pub comparison: String,
    pub threshold: f64,
    pub evaluation_periods: u32,
    #[serde(default = "sixty")]
    pub period_seconds: u32,
    pub description: String,
}

fn average() -> String {
    "Average".into()
}

fn sixty() -> u32 {
    60
}

/// Which of the environment's groups an alarm watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlarmTarget {
    /// The EKS managed nodegroup: dimension ClusterName (Container Insights has no nodegroup
    /// dimension; the scaler reads the cluster as its managed nodegroup, by the naming convention).
    Nodegroup,
    /// The workers Auto Scaling group (dimension AutoScalingGroupName).
    Workers,
}

/// How alarms are marked for remediation (the EventBridge rule filters on the name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationConvention {
    pub alarm_name_prefix: String,
    pub alarm_name_marker: String,
    pub tag_key: String,
}

/// `config/services.toml`, resolved: defaults applied, tiers in rollout order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceCatalog {
    pub tiers: Vec<Tier>,
    pub services: BTreeMap<String, Service>,
    /// What a deploy checks once every tier is out, through the API server's service proxy.
    pub smoke_checks: Vec<SmokeCheck>,
}

/// One smoke check: a GET through the API server's service proxy
/// (`/api/v1/namespaces/<tier ns>/services/<service>:<port>/proxy<path>`) that must answer 2xx
/// and, when the body is an actuator health document, `"status": "UP"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmokeCheck {
    /// What the check stands for (`backend-to-database`), named in failures.
    pub name: String,
    pub service: String,
    pub port: u16,
    pub path: String,
}

impl ServiceCatalog {
    /// Services in rollout order: tier by tier, in the order each tier lists them.
    pub fn in_rollout_order(&self) -> impl Iterator<Item = &Service> {
        self.tiers.iter().flat_map(|t| t.services.iter()).filter_map(|name| self.services.get(name))
    }

    /// The long-running workloads (Deployments, StatefulSets): what serves, scales and alarms.
    pub fn serving(&self) -> impl Iterator<Item = &Service> {
        self.services.values().filter(|s| s.kind != ServiceKind::Job)
    }

    /// The tiers with something that serves: a tier of Jobs only has no alarms, SLOs or dashboard.
    pub fn serving_tiers(&self) -> impl Iterator<Item = &Tier> {
        self.tiers
            .iter()
            .filter(|t| t.services.iter().any(|n| self.services.get(n).is_some_and(|s| s.kind != ServiceKind::Job)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub name: String,
    pub services: Vec<String>,
}

/// Whether a workload is one of the 20 trading services or part of the platform around them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    #[default]
    Trading,
    Platform,
    /// Runs to completion once per release (schema migrations): a Job, no Service, no replicas.
    Job,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    pub tier: String,
    pub kind: ServiceKind,
    pub image: String,
    pub port: u16,
    pub grpc_port: Option<u16>,
    pub health_path: String,
    pub replicas: u32,
    pub resources: Resources,
    /// Talks to PostgreSQL: gets a Pod Identity association to the database secret and its ARN.
    pub database: bool,
}

/// Kubernetes requests and limits, as quantities (`250m`, `1`, `512Mi`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    pub cpu_request: String,
    pub cpu_limit: String,
    pub memory_request: String,
    pub memory_limit: String,
}

/// `config/environments/<name>.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    pub name: String,
    pub organizational_unit: String,
    /// The first region is the environment's home; the baseline is rolled out to all of them.
    pub regions: Vec<String>,
    pub domain_name: String,
    pub network: Network,
    pub kubernetes: Kubernetes,
    pub nodegroup: Nodegroup,
    pub database: Database,
    pub scaling: Scaling,
    pub trading_hours: TradingHours,
    #[serde(default)]
    pub schedules: Schedules,
    /// The load balancer clients reach; defaulted so config published before `[edge]` still reads.
    #[serde(default)]
    pub edge: super::Edge,
    /// Backups and their objectives; defaulted as `[edge]` is.
    #[serde(default)]
    pub backup: super::Backup,
    /// How a release reaches the environment's fleet; defaulted as `[edge]` is.
    #[serde(default)]
    pub release: super::ReleasePolicy,
    /// Accounts without platform-ops tags that vending may adopt into this environment (their
    /// root e-mails, listed by hand after review): any other untagged account is refused, so a
    /// request naming, say, the security account's e-mail moves nothing.
    #[serde(default)]
    pub adopt: Vec<String>,
}

/// The environment's scheduled operations (`[schedules]`); absent: none of the optional ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schedules {
    /// The nodegroup's desired size outside working hours; absent: never scaled down on a
    /// schedule (production).
    pub off_hours_desired: Option<u32>,
    /// Minutes before the trading session opens that the nodegroup is back at its size.
    pub wake_minutes_before_open: u32,
    /// Re-apply StackSet instances of this environment's accounts that drift detection finds
    /// drifted (never in production unless set there on purpose).
    pub remediate_drift: bool,
}

impl Default for Schedules {
    fn default() -> Self {
        Schedules { off_hours_desired: None, wake_minutes_before_open: 60, remediate_drift: false }
    }
}

impl Environment {
    pub fn primary_region(&self) -> &str {
        self.regions.first().map(String::as_str).unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub vpc_cidr: Ipv4Net,
    pub availability_zones: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kubernetes {
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nodegroup {
    pub instance_types: Vec<String>,
    pub min_size: u32,
    pub desired_size: u32,
    pub max_size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub instance_class: String,
    pub allocated_storage_gib: u32,
    pub multi_az: bool,
}

/// The alarm scaler's guardrails for this environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scaling {
    pub min_size: u32,
    pub max_size: u32,
    /// Nodes per action; `step_percent` instead makes it a share of the current size (at least one).
    #[serde(default = "one")]
    pub step: u32,
    #[serde(default)]
    pub step_percent: Option<u32>,
    pub max_step: u32,
    pub scale_out_cooldown_seconds: u32,
    pub scale_in_cooldown_seconds: u32,
    pub scale_in_stabilisation_seconds: u32,
    pub flap_limit: u32,
    pub flap_window_seconds: u32,
    /// Decide and report only, for the whole environment.
    pub dry_run: bool,
    /// Decide and report only for these groups (nodegroup or Auto Scaling group names).
    #[serde(default)]
    pub dry_run_targets: Vec<String>,
}

fn one() -> u32 {
    1
}

/// The market's trading session: scale-in is frozen inside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradingHours {
    pub time_zone: crate::zone::MarketZone,
    #[serde(with = "hh_mm")]
    pub open: NaiveTime,
    #[serde(with = "hh_mm")]
    pub close: NaiveTime,
    #[serde(with = "weekdays")]
    pub days: Vec<Weekday>,
    /// Market holidays (local dates): no session, so nothing is frozen on them.
    #[serde(default)]
    pub holidays: Vec<chrono::NaiveDate>,
}

mod hh_mm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&t.format("%H:%M"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let raw = String::deserialize(d)?;
        NaiveTime::parse_from_str(&raw, "%H:%M")
            .map_err(|_| D::Error::custom(format!("time `{raw}` is not HH:MM (24-hour)")))
    }
}

mod weekdays {
    use chrono::Weekday;
    use serde::{Deserialize, Deserializer, Serializer, de::Error, ser::SerializeSeq};

    pub fn serialize<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(days.len()))?;
        for d in days {
            seq.serialize_element(&d.to_string())?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Weekday>, D::Error> {
        Vec::<String>::deserialize(d)?
            .into_iter()
            .map(|raw| {
                raw.parse::<Weekday>().map_err(|_| D::Error::custom(format!("day `{raw}` is not a weekday (Mon..Sun)")))
            })
            .collect()
    }
}
