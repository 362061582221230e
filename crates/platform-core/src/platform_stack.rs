//! The platform StackSet's parameters for one client account, and how an instance's differ from them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigTree, Environment};

/// `<client>.<domain>`: the client account's zone (vending delegates it), its certificate's name
/// and its endpoint's.
pub fn client_domain(client: &str, domain: &str) -> String {
    format!("{client}.{}", domain.trim_end_matches('.'))
}

/// The parameters of `stacksets/platform.yaml` for an environment's account whose client zone is
/// `client_domain` (`<client>.<domain>`: the certificate's name, validated in that zone). The baseline's network, key
/// and zone are passed as the names of its SSM exports: CloudFormation resolves them in the
/// member account, so no id is ever copied.
pub fn platform_parameters(tree: &ConfigTree, env: &Environment, client_domain: &str) -> BTreeMap<String, String> {
    let exports = format!("{}/{}/baseline", tree.organization.parameter_prefix, env.name);
    let n = &env.nodegroup;
    BTreeMap::from([
        ("Environment".to_string(), env.name.clone()),
        ("KubernetesVersion".to_string(), env.kubernetes.version.clone()),
        ("NodeInstanceType".to_string(), n.instance_types.first().cloned().unwrap_or_default()),
        ("NodeMinSize".to_string(), n.min_size.to_string()),
        ("NodeDesiredSize".to_string(), n.desired_size.to_string()),
        ("NodeMaxSize".to_string(), n.max_size.to_string()),
        ("DatabaseInstanceClass".to_string(), env.database.instance_class.clone()),
        ("DatabaseStorageGiB".to_string(), env.database.allocated_storage_gib.to_string()),
        ("DatabaseMultiAz".to_string(), env.database.multi_az.to_string()),
        ("DomainName".to_string(), client_domain.to_string()),
        ("VpcId".to_string(), format!("{exports}/vpc-id")),
        ("PrivateSubnetIds".to_string(), format!("{exports}/private-subnet-ids")),
        ("PublicSubnetIds".to_string(), format!("{exports}/public-subnet-ids")),
        ("KmsKeyArn".to_string(), format!("{exports}/kms-key-arn")),
        ("HostedZoneId".to_string(), format!("{exports}/hosted-zone-id")),
        ("EdgeNodePort".to_string(), env.edge.node_port.to_string()),
        ("EdgeWaf".to_string(), env.edge.waf.to_string()),
        ("BackupRetentionDays".to_string(), env.backup.retention_days.to_string()),
        ("BackupCopyRegion".to_string(), env.backup.copy_region.clone().unwrap_or_default()),
        ("BackupSchedule".to_string(), env.backup.schedule_expression().to_string()),
    ])
}

/// One parameter an instance has other than config wants (`from` absent: not set there;
/// `to` absent: set there, not wanted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterChange {
    pub name: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The parameters whose value differs between `wanted` and the instance's `current` overrides, by name.
pub fn differences(wanted: &BTreeMap<String, String>, current: &BTreeMap<String, String>) -> Vec<ParameterChange> {
    let mut out: Vec<ParameterChange> = wanted
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| ParameterChange { name: k.clone(), from: current.get(k).cloned(), to: Some(v.clone()) })
        .collect();
    out.extend(current.iter().filter(|(k, _)| !wanted.contains_key(*k)).map(|(k, v)| ParameterChange {
        name: k.clone(),
        from: Some(v.clone()),
        to: None,
    }));
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
