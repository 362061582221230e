//! Scenarios acting on and reading the stand-ins for what the emulator lacks: hand edits to the platform StackSet, the clusters' workloads.

use platform_core::stacksets::{ResourceDrift, StackSets};

use super::{Runtime, RuntimeError};

impl Runtime {
    /// Someone changes resources of `stack_set`'s instance in `account` and `region` by hand, as
    /// drift detection will find them. Only the stand-in platform StackSet has drift detection
    /// here (the emulator has none); an instance it does not hold is refused, as CloudFormation
    /// has nothing to drift there.
    pub async fn edit_by_hand(
        &self,
        stack_set: &str,
        account: &str,
        region: &str,
        drifts: Vec<ResourceDrift>,
    ) -> Result<(), RuntimeError> {
        let sets = &self.stand_ins.stack_sets;
        let instances = sets
            .instances(stack_set, account)
            .await
            .map_err(|e| RuntimeError::Invalid(format!("instances of {stack_set} in {account}: {e}")))?;
        if !instances.iter().any(|i| i.region == region) {
            return Err(RuntimeError::Invalid(format!(
                "no instance of {stack_set} in {account}/{region} to edit by hand: only the platform StackSet's \
                 instances that platform deploy created can drift in the local runtime"
            )));
        }
        sets.edit_by_hand(stack_set, account, region, drifts);
        Ok(())
    }

    /// The container images of workload `service` in the cluster of `account` in `environment`,
    /// as last applied (empty when there is no such cluster or workload).
    pub fn workload_images(&self, environment: &str, account: &str, service: &str) -> Vec<String> {
        self.stand_ins.clusters.cluster_of(account, environment).map(|c| c.images_of(service)).unwrap_or_default()
    }
}
