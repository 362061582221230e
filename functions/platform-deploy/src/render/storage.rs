//! The StorageClass the platform's volumes claim: encrypted gp3 on the baseline's key, from the EBS CSI driver.

use std::collections::BTreeMap;

use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use platform_core::config::Environment;

use super::{PART_OF, labels};

/// The class Axon Server's claim names.
pub const STORAGE_CLASS: &str = "gp3-encrypted";
/// The EBS CSI driver (the `aws-ebs-csi-driver` add-on of the platform template).
pub const EBS_PROVISIONER: &str = "ebs.csi.aws.com";
/// AWS Backup selects what it backs up by this tag (the plan in the platform template).
const BACKUP_TAG: &str = "abc-trading:backup=platform";

/// Encrypted gp3 volumes under the baseline's key (named by its alias, so no lookup is needed),
/// created in the zone of the pod that first claims them, kept when the claim goes, and growable.
pub fn storage_class(env: &Environment, account: &str) -> StorageClass {
    let key = format!("arn:aws:kms:{}:{account}:alias/abc-trading-{}", env.primary_region(), env.name);
    StorageClass {
        metadata: ObjectMeta {
            name: Some(STORAGE_CLASS.into()),
            labels: Some(labels(&[PART_OF])),
            ..Default::default()
        },
        provisioner: EBS_PROVISIONER.into(),
        parameters: Some(BTreeMap::from([
            ("type".to_string(), "gp3".to_string()),
            ("encrypted".to_string(), "true".to_string()),
            ("kmsKeyId".to_string(), key),
            ("tagSpecification_1".to_string(), BACKUP_TAG.to_string()),
        ])),
        volume_binding_mode: Some("WaitForFirstConsumer".into()),
        // An event store is not thrown away with its claim: the volume outlives a deleted set.
        reclaim_policy: Some("Retain".into()),
        allow_volume_expansion: Some(true),
        ..Default::default()
    }
}
