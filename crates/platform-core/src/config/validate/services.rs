//! Rules for `services.toml`: tiers, services with defaults applied, resources and smoke checks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::names::{is_dns_label, is_ecr_repository};
use crate::config::{Issues, RawServicesFile, Resources, Service, ServiceCatalog, ServiceKind, SmokeCheck};

/// Resolves `services.toml` (defaults applied) and checks every service sits in exactly one tier.
pub(crate) fn catalog(file: &Path, raw: RawServicesFile, issues: &mut Issues) -> Option<ServiceCatalog> {
    let before = issues.0.len();
    check_resources(file, "defaults.resources", &raw.defaults.resources, issues);

    let mut tier_of: BTreeMap<&str, &str> = BTreeMap::new();
    let mut tier_names = BTreeSet::new();
    for (i, tier) in raw.tiers.iter().enumerate() {
        let key = format!("tiers[{i}]");
        if !tier_names.insert(tier.name.as_str()) {
            issues.push(file, format!("{key}.name"), format!("tier `{}` is defined twice", tier.name));
        }
        if tier.services.is_empty() {
            issues.push(file, format!("{key}.services"), format!("tier `{}` has no services", tier.name));
        }
        for name in &tier.services {
            if let Some(first) = tier_of.insert(name, &tier.name) {
                issues.push(
                    file,
                    format!("{key}.services"),
                    format!("service `{name}` is in tier `{first}` and again in tier `{}`", tier.name),
                );
            }
            if !raw.services.contains_key(name) {
                issues.push(
                    file,
                    format!("{key}.services"),
                    format!("tier `{}` names service `{name}`, which is not defined under [services]", tier.name),
                );
            }
        }
    }

    let mut services = BTreeMap::new();
    for (name, svc) in raw.services {
        let key = format!("services.{name}");
        if !is_dns_label(&name) {
            issues.push(file, &key, format!("`{name}` is not a valid Kubernetes service name (DNS-1035 label)"));
        }
        let Some(tier) = tier_of.get(name.as_str()) else {
            issues.push(file, &key, format!("service `{name}` is in no tier"));
            continue;
        };
        let job = svc.kind == ServiceKind::Job;
        // A Job runs once, to completion: it serves nothing and has no replicas to set.
        if job && (svc.port.is_some() || svc.grpc_port.is_some() || svc.health_path.is_some() || svc.replicas.is_some())
        {
            issues.push(file, &key, "a job serves nothing: no port, grpc_port, health_path or replicas");
        }
        let port = svc.port.unwrap_or(raw.defaults.port);
        if port == 0 {
            issues.push(file, format!("{key}.port"), "port 0 is not a valid port");
        }
        if svc.grpc_port.is_some_and(|g| g == port || g == 0) {
            issues.push(
                file,
                format!("{key}.grpc_port"),
                format!("grpc_port must be non-zero and differ from port {port}"),
            );
        }
        let health_path = svc.health_path.unwrap_or_else(|| raw.defaults.health_path.clone());
        if !health_path.starts_with('/') {
            issues.push(file, format!("{key}.health_path"), format!("`{health_path}` must start with `/`"));
        }
        let replicas = if job { 1 } else { svc.replicas.unwrap_or(raw.defaults.replicas) };
        if replicas == 0 {
            issues.push(file, format!("{key}.replicas"), "replicas must be at least 1");
        }
        if !is_ecr_repository(&svc.image) {
            issues.push(
                file,
                format!("{key}.image"),
                format!(
                    "`{}` is not an ECR repository name (lowercase path, no tag: tags come from the release)",
                    svc.image
                ),
            );
        }
        let resources = match svc.resources {
            Some(r) => {
                check_resources(file, &format!("{key}.resources"), &r, issues);
                r
            }
            None => raw.defaults.resources.clone(),
        };
        services.insert(
            name.clone(),
            Service {
                name,
                tier: (*tier).to_string(),
                kind: svc.kind,
                image: svc.image,
                port,
                grpc_port: svc.grpc_port,
                health_path,
                replicas,
                resources,
                database: svc.database,
            },
        );
    }
    let mut smoke_checks = Vec::new();
    let mut check_names = BTreeSet::new();
    for (i, c) in raw.smoke_checks.into_iter().enumerate() {
        let key = format!("smoke_checks[{i}]");
        if !check_names.insert(c.name.clone()) {
            issues.push(file, format!("{key}.name"), format!("smoke check `{}` is defined twice", c.name));
        }
        if !c.path.starts_with('/') {
            issues.push(file, format!("{key}.path"), format!("`{}` must start with `/`", c.path));
        }
        let Some(svc) = services.get(&c.service) else {
            issues.push(
                file,
                format!("{key}.service"),
                format!("smoke check `{}` names unknown service `{}`", c.name, c.service),
            );
            continue;
        };
        if svc.kind == ServiceKind::Job {
            issues.push(
                file,
                format!("{key}.service"),
                format!("smoke check `{}` names job `{}`, which serves nothing", c.name, c.service),
            );
            continue;
        }
        let port = c.port.unwrap_or(svc.port);
        if port != svc.port && Some(port) != svc.grpc_port {
            issues.push(
                file,
                format!("{key}.port"),
                format!("service `{}` does not expose port {port} (it has {})", c.service, svc.port),
            );
        }
        smoke_checks.push(SmokeCheck { name: c.name, service: c.service, port, path: c.path });
    }
    (issues.0.len() == before).then_some(ServiceCatalog { tiers: raw.tiers, services, smoke_checks })
}

fn check_resources(file: &Path, key: &str, r: &Resources, issues: &mut Issues) {
    let cpu = |field: &str, v: &str, issues: &mut Issues| {
        let parsed = parse_cpu_millis(v);
        if parsed.is_none() {
            issues.push(file, format!("{key}.{field}"), format!("`{v}` is not a CPU quantity (like `250m` or `1`)"));
        }
        parsed
    };
    let mem = |field: &str, v: &str, issues: &mut Issues| {
        let parsed = parse_memory_bytes(v);
        if parsed.is_none() {
            issues.push(
                file,
                format!("{key}.{field}"),
                format!("`{v}` is not a memory quantity (like `512Mi` or `1Gi`)"),
            );
        }
        parsed
    };
    if let (Some(req), Some(lim)) = (cpu("cpu_request", &r.cpu_request, issues), cpu("cpu_limit", &r.cpu_limit, issues))
        && req > lim
    {
        issues.push(
            file,
            format!("{key}.cpu_request"),
            format!("request {} is above limit {}", r.cpu_request, r.cpu_limit),
        );
    }
    if let (Some(req), Some(lim)) =
        (mem("memory_request", &r.memory_request, issues), mem("memory_limit", &r.memory_limit, issues))
        && req > lim
    {
        issues.push(
            file,
            format!("{key}.memory_request"),
            format!("request {} is above limit {}", r.memory_request, r.memory_limit),
        );
    }
}

/// `250m` -> 250, `1` -> 1000, `1.5` -> 1500.
fn parse_cpu_millis(v: &str) -> Option<u64> {
    if let Some(m) = v.strip_suffix('m') {
        return m.parse::<u64>().ok().filter(|n| *n > 0);
    }
    let cores: f64 = v.parse().ok()?;
    (cores.is_finite() && cores > 0.0).then(|| (cores * 1000.0).round() as u64)
}

/// `512Mi` -> bytes; binary suffixes only, as the platform's manifests use.
fn parse_memory_bytes(v: &str) -> Option<u64> {
    let (digits, factor) = [("Ki", 1u64 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40)]
        .into_iter()
        .find_map(|(suffix, f)| v.strip_suffix(suffix).map(|d| (d, f)))?;
    digits.parse::<u64>().ok().filter(|n| *n > 0).and_then(|n| n.checked_mul(factor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_as_kubernetes_reads_them() {
        assert_eq!(parse_cpu_millis("250m"), Some(250));
        assert_eq!(parse_cpu_millis("1"), Some(1000));
        assert_eq!(parse_cpu_millis("1.5"), Some(1500));
        assert_eq!(parse_cpu_millis("0"), None);
        assert_eq!(parse_cpu_millis("lots"), None);
        assert_eq!(parse_memory_bytes("512Mi"), Some(512 << 20));
        assert_eq!(parse_memory_bytes("1Gi"), Some(1 << 30));
        assert_eq!(parse_memory_bytes("512MB"), None);
    }
}
