//! Rules for an environment's `[edge]` and `[backup]`: what the templates and the restore test accept.

use std::path::Path;

use super::names::is_region;
use crate::config::{Environment, Issues, NODE_PORT_RANGE, ServiceCatalog, ServiceKind};

/// ACM starts renewing a certificate 60 days before it expires: a threshold at or above that
/// would fail every deploy during a renewal that is going well.
const ACM_RENEWAL_DAYS: u32 = 60;

pub(crate) fn serving(file: &Path, env: &Environment, issues: &mut Issues) {
    let edge = &env.edge;
    if !NODE_PORT_RANGE.contains(&edge.node_port) {
        issues.push(
            file,
            "edge.node_port",
            format!(
                "{} is outside Kubernetes' NodePort range {}..={}",
                edge.node_port,
                NODE_PORT_RANGE.start(),
                NODE_PORT_RANGE.end()
            ),
        );
    }
    if edge.min_certificate_days == 0 || edge.min_certificate_days >= ACM_RENEWAL_DAYS {
        issues.push(
            file,
            "edge.min_certificate_days",
            format!(
                "{} must be between 1 and {} (ACM renews {ACM_RENEWAL_DAYS} days before expiry)",
                edge.min_certificate_days,
                ACM_RENEWAL_DAYS - 1
            ),
        );
    }

    let backup = &env.backup;
    if !(1..=36500).contains(&backup.retention_days) {
        issues.push(file, "backup.retention_days", format!("{} must be between 1 and 36500", backup.retention_days));
    }
    // AWS Backup's shortest schedule is hourly: a tighter promise could never be kept by it.
    if backup.rpo_minutes < 60 {
        issues.push(
            file,
            "backup.rpo_minutes",
            format!("{} is below 60, AWS Backup's shortest schedule", backup.rpo_minutes),
        );
    }
    if backup.rto_minutes == 0 {
        issues.push(file, "backup.rto_minutes", "must be at least 1");
    }
    match &backup.copy_region {
        Some(region) if !is_region(region) => {
            issues.push(file, "backup.copy_region", format!("`{region}` is not an AWS region name"));
        }
        Some(region) if region == env.primary_region() => {
            issues.push(
                file,
                "backup.copy_region",
                format!("`{region}` is the home region: a copy there survives nothing the original does not"),
            );
        }
        Some(region) if !env.regions.contains(region) => issues.push(
            file,
            "backup.copy_region",
            format!(
                "`{region}` is not one of the environment's regions ({}): the baseline makes the copy vault only there",
                env.regions.join(", ")
            ),
        ),
        Some(_) => {}
        None if env.name == "prod" => {
            issues.push(file, "backup.copy_region", "prod's recovery points must be copied to a second region");
        }
        None => {}
    }
    if env.name == "prod" && !backup.restore_test {
        issues.push(file, "backup.restore_test", "prod's backups must be restore-tested");
    }
}

/// The edge service must be one the catalogue serves: a Deployment with an HTTP port.
pub(crate) fn edge_service(file: &Path, env: &Environment, catalog: &ServiceCatalog, issues: &mut Issues) {
    let name = &env.edge.service;
    match catalog.services.get(name) {
        None => issues.push(file, "edge.service", format!("`{name}` is not a service of services.toml")),
        Some(s) if s.kind == ServiceKind::Job => {
            issues.push(file, "edge.service", format!("`{name}` is a job: it serves nothing"));
        }
        Some(_) => {}
    }
}
