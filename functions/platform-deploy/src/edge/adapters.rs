//! Adapters: the platform's exports in the member's Parameter Store, its Auto Scaling groups and client zone.

use async_trait::async_trait;
use aws_sdk_autoscaling::types::Filter;
use aws_sdk_route53::types::{
    AliasTarget as Route53Alias, Change, ChangeAction, ChangeBatch, ResourceRecordSet, RrType,
};
use platform_core::aws::{MemberClients, SsmParameterStore};
use platform_core::error::ClassifyExt;
use platform_core::ports::ParameterStore;

use super::{AliasTarget, EXPORT_NAMES, EdgeError, EdgeRouting, PlatformExportSource, PlatformExports};

/// `<prefix>/<env>/platform/*` in the member account, read as the automation role.
#[derive(Debug, Clone)]
pub struct SsmPlatformExports {
    members: MemberClients,
    prefix: String,
}

impl SsmPlatformExports {
    pub fn new(members: MemberClients, prefix: impl Into<String>) -> Self {
        SsmPlatformExports { members, prefix: prefix.into() }
    }
}

#[async_trait]
impl PlatformExportSource for SsmPlatformExports {
    async fn exports(&self, account: &str, environment: &str, region: &str) -> Result<PlatformExports, EdgeError> {
        let root = format!("{}/{environment}/platform", self.prefix);
        let names: Vec<String> = EXPORT_NAMES.iter().map(|n| format!("{root}/{n}")).collect();
        // The stack exports in its own region: the cluster's.
        let store = SsmParameterStore::new(self.members.client_in(account, region));
        let found = store.get_many(&names).await?;
        PlatformExports::from_parameters(&root, &found, account)
    }
}

/// The nodegroup's Auto Scaling groups and the client's zone, as the automation role.
#[derive(Debug, Clone)]
pub struct AutoScalingRoute53Routing {
    members: MemberClients,
}

impl AutoScalingRoute53Routing {
    pub fn new(members: MemberClients) -> Self {
        AutoScalingRoute53Routing { members }
    }

    fn autoscaling(&self, account: &str, region: &str) -> aws_sdk_autoscaling::Client {
        self.members.client_in(account, region)
    }

    fn route53(&self, account: &str) -> aws_sdk_route53::Client {
        self.members.client(account)
    }
}

/// Route 53 names end with a dot; the record is looked up and written as it answers.
fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

#[async_trait]
impl EdgeRouting for AutoScalingRoute53Routing {
    async fn nodegroup_groups(
        &self,
        account: &str,
        region: &str,
        cluster: &str,
        nodegroup: &str,
    ) -> Result<Vec<String>, EdgeError> {
        let mut pages = self
            .autoscaling(account, region)
            .describe_auto_scaling_groups()
            .filters(Filter::builder().name("tag:eks:nodegroup-name").values(nodegroup).build())
            .into_paginator()
            .send();
        let mut groups = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.classify("DescribeAutoScalingGroups")?;
            for g in page.auto_scaling_groups() {
                // A nodegroup of the same name in another cluster of the account is not ours.
                let of_cluster =
                    g.tags().iter().any(|t| t.key() == Some("eks:cluster-name") && t.value() == Some(cluster));
                if of_cluster && let Some(name) = g.auto_scaling_group_name() {
                    groups.push(name.to_string());
                }
            }
        }
        Ok(groups)
    }

    async fn attached(&self, account: &str, region: &str, group: &str) -> Result<Vec<String>, EdgeError> {
        let out = self
            .autoscaling(account, region)
            .describe_load_balancer_target_groups()
            .auto_scaling_group_name(group)
            .send()
            .await
            .classify("DescribeLoadBalancerTargetGroups")?;
        Ok(out
            .load_balancer_target_groups()
            .iter()
            .filter_map(|t| t.load_balancer_target_group_arn().map(str::to_string))
            .collect())
    }

    async fn attach(&self, account: &str, region: &str, group: &str, target_group: &str) -> Result<(), EdgeError> {
        self.autoscaling(account, region)
            .attach_load_balancer_target_groups()
            .auto_scaling_group_name(group)
            .target_group_arns(target_group)
            .send()
            .await
            .classify("AttachLoadBalancerTargetGroups")?;
        Ok(())
    }

    async fn alias(&self, account: &str, zone_id: &str, name: &str) -> Result<Option<AliasTarget>, EdgeError> {
        let name = fqdn(name);
        let out = self
            .route53(account)
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .start_record_name(&name)
            .start_record_type(RrType::A)
            .max_items(1)
            .send()
            .await
            .classify("ListResourceRecordSets")?;
        Ok(out
            .resource_record_sets()
            .iter()
            .find(|r| r.name().eq_ignore_ascii_case(&name) && r.r#type() == &RrType::A)
            .and_then(|r| r.alias_target())
            .map(|a| AliasTarget { dns_name: a.dns_name().to_string(), zone_id: a.hosted_zone_id().to_string() }))
    }

    async fn upsert_alias(
        &self,
        account: &str,
        zone_id: &str,
        name: &str,
        target: &AliasTarget,
    ) -> Result<(), EdgeError> {
        let invalid = |e: aws_sdk_route53::error::BuildError| {
            EdgeError::Aws(platform_core::error::AwsError::new(
                platform_core::error::ErrorClass::InvalidRequest,
                "ChangeResourceRecordSets",
                e.to_string(),
            ))
        };
        let alias = Route53Alias::builder()
            .dns_name(&target.dns_name)
            .hosted_zone_id(&target.zone_id)
            .evaluate_target_health(true)
            .build()
            .map_err(invalid)?;
        let record = ResourceRecordSet::builder()
            .name(fqdn(name))
            .r#type(RrType::A)
            .alias_target(alias)
            .build()
            .map_err(invalid)?;
        let change =
            Change::builder().action(ChangeAction::Upsert).resource_record_set(record).build().map_err(invalid)?;
        let batch = ChangeBatch::builder()
            .comment("platform deploy: the client's name to the platform load balancer")
            .changes(change)
            .build()
            .map_err(invalid)?;
        self.route53(account)
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch)
            .send()
            .await
            .classify("ChangeResourceRecordSets")?;
        Ok(())
    }
}
