//! Reading the seeded world back from the emulator, and showing it.

use std::collections::BTreeMap;

use platform_core::aws::{AwsContext, SsmParameterStore};
use platform_core::config::{ConfigTree, Environment};
use platform_core::error::{AwsError, ClassifyExt, ErrorClass};
use platform_core::organization::MemberDirectory;
use serde::Serialize;

use super::organisation::Org;
use super::{WorldError, ensure_local, member_email};

/// Everything seeding produces, read back from the emulator: equal snapshots mean equal worlds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct World {
    pub endpoint: String,
    pub organization_id: String,
    pub management_account_id: String,
    pub root_id: String,
    pub organizational_units: BTreeMap<String, String>,
    pub accounts: Vec<AccountFacts>,
    pub config_parameters: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountFacts {
    pub name: String,
    pub id: String,
    pub email: String,
    pub organizational_unit: String,
    pub environment: Option<String>,
    pub resources: Option<MemberResources>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberResources {
    pub automation_role: String,
    pub network_stack: String,
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub cluster: String,
    pub cluster_version: String,
    pub nodegroup: String,
    /// min / desired / max.
    pub nodegroup_scaling: [i32; 3],
    pub auto_scaling_group: String,
    pub auto_scaling_group_capacity: [i32; 3],
    pub alarms: Vec<String>,
    pub log_groups: Vec<String>,
}

/// Reads the world back from the emulator.
pub async fn snapshot(ctx: &AwsContext, tree: &ConfigTree) -> Result<World, WorldError> {
    ensure_local(ctx.endpoint_url())?;
    let org = Org::new(ctx);
    let description = org.client.describe_organization().send().await.classify("DescribeOrganization")?;
    let organization =
        description.organization.unwrap_or_else(|| aws_sdk_organizations::types::Organization::builder().build());
    let root_id = org.root_id().await?;
    let organizational_units = org.ous(&root_id).await?;

    let sessions = ctx.sessions(tree.organization.automation_role.clone(), "world-show");

    let mut accounts = Vec::new();
    for account in MemberDirectory::members(&org.directory).await? {
        let (id, email) = (account.id.clone(), account.email.clone());
        let environment = tree.environments.keys().find(|env| member_email(tree, env) == email).cloned();
        let resources = match &environment {
            Some(env) => Some(member_resources(&ctx.in_account(&sessions, &id), tree, &tree.environments[env]).await?),
            None => None,
        };
        accounts.push(AccountFacts {
            name: account.name,
            id,
            email,
            // Directly under the root, an account's place is the root's id.
            organizational_unit: account.ou.unwrap_or_else(|| root_id.clone()),
            environment,
            resources,
        });
    }
    accounts.sort_by(|a, b| a.name.cmp(&b.name));

    let store = SsmParameterStore::new(ctx.client());
    let params = platform_core::ports::ParameterStore::get_by_path(
        &store,
        &format!("{}/config/", tree.organization.parameter_prefix),
    )
    .await?;
    Ok(World {
        endpoint: ctx.endpoint_url().unwrap_or_default().to_string(),
        organization_id: organization.id.unwrap_or_default(),
        management_account_id: organization.master_account_id.unwrap_or_default(),
        root_id,
        organizational_units,
        accounts,
        config_parameters: params.into_keys().collect(),
    })
}

async fn member_resources(
    member: &AwsContext,
    tree: &ConfigTree,
    env: &Environment,
) -> Result<MemberResources, WorldError> {
    let prefix = tree.resource_prefix(&env.name);
    let cfn = member.client::<aws_sdk_cloudformation::Client>();
    let stack = format!("{prefix}-network");
    let outputs = describe_stack(&cfn, &stack).await?.unwrap_or_default();
    let eks = member.client::<aws_sdk_eks::Client>();
    let cluster_name = tree.cluster_name(&env.name);
    let cluster = eks.describe_cluster().name(&cluster_name).send().await.classify("DescribeCluster")?.cluster;
    let nodegroup_name = tree.nodegroup_name(&env.name);
    let ng = eks
        .describe_nodegroup()
        .cluster_name(&cluster_name)
        .nodegroup_name(&nodegroup_name)
        .send()
        .await
        .classify("DescribeNodegroup")?
        .nodegroup;
    let scaling = ng.and_then(|n| n.scaling_config);
    let asg_name = tree.workers_group_name(&env.name);
    let asg = member
        .client::<aws_sdk_autoscaling::Client>()
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&asg_name)
        .send()
        .await
        .classify("DescribeAutoScalingGroups")?
        .auto_scaling_groups
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or_else(|| WorldError::Unexpected(format!("auto scaling group {asg_name} is missing")))?;
    let cw = member.client::<aws_sdk_cloudwatch::Client>();
    let mut alarms: Vec<String> = cw
        .describe_alarms()
        .alarm_name_prefix(format!("{prefix}{}", tree.organization.remediation.alarm_name_marker))
        .send()
        .await
        .classify("DescribeAlarms")?
        .metric_alarms
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| a.alarm_name)
        .collect();
    alarms.sort();
    let logs = member.client::<aws_sdk_cloudwatchlogs::Client>();
    let log_groups = log_groups(&logs, &format!("{}/{}/", tree.organization.parameter_prefix, env.name)).await?;
    Ok(MemberResources {
        automation_role: tree.organization.automation_role.clone(),
        network_stack: stack,
        vpc_id: outputs.get("VpcId").cloned().unwrap_or_default(),
        subnet_ids: outputs
            .get("PrivateSubnetIds")
            .map(|s| s.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        cluster: cluster_name,
        cluster_version: cluster.and_then(|c| c.version).unwrap_or_default(),
        nodegroup: nodegroup_name,
        nodegroup_scaling: [
            scaling.as_ref().and_then(|s| s.min_size).unwrap_or_default(),
            scaling.as_ref().and_then(|s| s.desired_size).unwrap_or_default(),
            scaling.as_ref().and_then(|s| s.max_size).unwrap_or_default(),
        ],
        auto_scaling_group: asg_name,
        auto_scaling_group_capacity: [
            asg.min_size.unwrap_or_default(),
            asg.desired_capacity.unwrap_or_default(),
            asg.max_size.unwrap_or_default(),
        ],
        alarms,
        log_groups,
    })
}

impl std::fmt::Display for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "world at {}", self.endpoint)?;
        writeln!(
            f,
            "  organization {} (management account {}, root {})",
            self.organization_id, self.management_account_id, self.root_id
        )?;
        for (name, id) in &self.organizational_units {
            writeln!(f, "  ou {name:<12} {id}")?;
        }
        for a in &self.accounts {
            writeln!(f, "  account {} {} <{}> in {}", a.name, a.id, a.email, a.organizational_unit)?;
            if let Some(r) = &a.resources {
                writeln!(f, "    role        {}", r.automation_role)?;
                writeln!(
                    f,
                    "    network     {} (vpc {}, subnets {})",
                    r.network_stack,
                    r.vpc_id,
                    r.subnet_ids.join(", ")
                )?;
                writeln!(f, "    eks         {} (Kubernetes {})", r.cluster, r.cluster_version)?;
                let [min, desired, max] = r.nodegroup_scaling;
                writeln!(f, "    nodegroup   {} min {min} desired {desired} max {max}", r.nodegroup)?;
                let [min, desired, max] = r.auto_scaling_group_capacity;
                writeln!(f, "    asg         {} min {min} desired {desired} max {max}", r.auto_scaling_group)?;
                writeln!(f, "    alarms      {}", r.alarms.join(", "))?;
                writeln!(
                    f,
                    "    log groups  {} ({} .. {})",
                    r.log_groups.len(),
                    r.log_groups.first().map(String::as_str).unwrap_or("-"),
                    r.log_groups.last().map(String::as_str).unwrap_or("-")
                )?;
            }
        }
        write!(f, "  config parameters {}", self.config_parameters.len())
    }
}

/// A stack's outputs, or `None` when there is no such stack.
pub(super) async fn describe_stack(
    cfn: &aws_sdk_cloudformation::Client,
    name: &str,
) -> Result<Option<BTreeMap<String, String>>, AwsError> {
    use aws_sdk_cloudformation::types::StackStatus;
    match cfn.describe_stacks().stack_name(name).send().await.classify("DescribeStacks") {
        Ok(out) => {
            let Some(stack) = out.stacks.unwrap_or_default().into_iter().next() else { return Ok(None) };
            // A stack that exists but never completed is not the world we expect: say so.
            match stack.stack_status {
                Some(StackStatus::CreateComplete | StackStatus::UpdateComplete) => {}
                status => {
                    return Err(AwsError::new(
                        ErrorClass::InvalidRequest,
                        "DescribeStacks",
                        format!("stack {name} is {status:?}, not complete: delete it or fix it, then seed again"),
                    ));
                }
            }
            Ok(Some(
                stack
                    .outputs
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|o| Some((o.output_key?, o.output_value?)))
                    .collect(),
            ))
        }
        Err(e) if e.class == ErrorClass::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) async fn log_groups(logs: &aws_sdk_cloudwatchlogs::Client, prefix: &str) -> Result<Vec<String>, AwsError> {
    let mut pages = logs.describe_log_groups().log_group_name_prefix(prefix).into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        out.extend(
            page.classify("DescribeLogGroups")?
                .log_groups
                .unwrap_or_default()
                .into_iter()
                .filter_map(|g| g.log_group_name),
        );
    }
    out.sort();
    Ok(out)
}
