//! What an environment's platform promises its clients: the edge they reach and how it recovers (`[edge]`, `[backup]`).

use serde::{Deserialize, Serialize};

/// The internet-facing load balancer in front of the edge tier (`[edge]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Edge {
    /// The service clients reach: its Service is a NodePort on `node_port`, the load balancer's
    /// target; a service of the edge tier that serves HTTP.
    pub service: String,
    /// The edge Service's fixed NodePort the load balancer's target group forwards to.
    pub node_port: u16,
    /// AWS WAF (managed rule groups and a rate rule) in front of the load balancer.
    pub waf: bool,
    /// The deploy's endpoint check fails when the certificate expires in fewer days than this
    /// (ACM renews 60 days ahead, so a shorter remainder means renewal is stuck).
    pub min_certificate_days: u32,
}

impl Default for Edge {
    fn default() -> Self {
        Edge { service: "frontend".to_string(), node_port: 30080, waf: false, min_certificate_days: 30 }
    }
}

/// Kubernetes' default NodePort range, which the nodes' security group opens to the load balancer.
pub const NODE_PORT_RANGE: std::ops::RangeInclusive<u16> = 30000..=32767;

/// AWS Backup for the platform's data and the promise it is measured against (`[backup]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Backup {
    /// Days recovery points are kept, in the home region and in the copy.
    pub retention_days: u32,
    /// A second region (one of the environment's, where the baseline made the copy vault) every
    /// recovery point is copied to; absent: no copy.
    pub copy_region: Option<String>,
    /// Recovery point objective: the newest recovery point may be at most this old. Under a day,
    /// the backup plan runs hourly (AWS Backup's shortest schedule), else daily.
    pub rpo_minutes: u32,
    /// Recovery time objective: a restore, until the restored database answers, within this.
    pub rto_minutes: u32,
    /// Whether the scheduled restore test runs for the environment's accounts.
    pub restore_test: bool,
}

impl Default for Backup {
    fn default() -> Self {
        Backup { retention_days: 35, copy_region: None, rpo_minutes: 1440, rto_minutes: 240, restore_test: true }
    }
}

impl Backup {
    /// The backup plan's schedule (AWS Backup cron, UTC): hourly when the RPO is under a day,
    /// else daily at 03:00, outside every trading session in config.
    pub fn schedule_expression(&self) -> &'static str {
        if self.rpo_minutes < 24 * 60 { "cron(0 * ? * * *)" } else { "cron(0 3 * * ? *)" }
    }
}
