//! EKS nodegroups and Auto Scaling groups in member accounts, through the automation role.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::{Capacity, GroupState, GroupStatus, Groups, Target};
use crate::aws::MemberClients;
use crate::error::{AwsError, ClassifyExt, ErrorClass};

/// EKS nodegroups and Auto Scaling groups in member accounts, through the automation role.
#[derive(Debug, Clone)]
pub struct MemberGroups(MemberClients);

impl MemberGroups {
    pub fn new(members: MemberClients) -> Self {
        MemberGroups(members)
    }

    fn eks(&self, account: &str) -> aws_sdk_eks::Client {
        self.0.client(account)
    }

    fn autoscaling(&self, account: &str) -> aws_sdk_autoscaling::Client {
        self.0.client(account)
    }
}

#[async_trait]
impl Groups for MemberGroups {
    async fn describe(&self, account: &str, target: &Target) -> Result<GroupState, AwsError> {
        match target {
            Target::Nodegroup { cluster, nodegroup } => {
                let eks = self.eks(account);
                let out = eks
                    .describe_nodegroup()
                    .cluster_name(cluster)
                    .nodegroup_name(nodegroup)
                    .send()
                    .await
                    .classify("DescribeNodegroup")?;
                let ng = out.nodegroup().ok_or_else(|| {
                    AwsError::new(ErrorClass::NotFound, "DescribeNodegroup", format!("no nodegroup {nodegroup}"))
                })?;
                let sc = ng.scaling_config();
                let capacity = Capacity {
                    min: size(sc.and_then(|c| c.min_size()), "minSize", "DescribeNodegroup")?,
                    desired: size(sc.and_then(|c| c.desired_size()), "desiredSize", "DescribeNodegroup")?,
                    max: size(sc.and_then(|c| c.max_size()), "maxSize", "DescribeNodegroup")?,
                };
                let tags: BTreeMap<String, String> =
                    ng.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
                let status =
                    ng.status().map_or_else(|| GroupStatus::Other("UNKNOWN".into()), |s| GroupStatus::from(s.as_str()));
                Ok(GroupState { capacity, tags, status })
            }
            Target::AutoScalingGroup { name } => {
                let asg = self.autoscaling(account);
                let out = asg
                    .describe_auto_scaling_groups()
                    .auto_scaling_group_names(name)
                    .send()
                    .await
                    .classify("DescribeAutoScalingGroups")?;
                let group = out.auto_scaling_groups().first().ok_or_else(|| {
                    AwsError::new(
                        ErrorClass::NotFound,
                        "DescribeAutoScalingGroups",
                        format!("no auto scaling group {name}"),
                    )
                })?;
                let capacity = Capacity {
                    min: size(group.min_size(), "MinSize", "DescribeAutoScalingGroups")?,
                    desired: size(group.desired_capacity(), "DesiredCapacity", "DescribeAutoScalingGroups")?,
                    max: size(group.max_size(), "MaxSize", "DescribeAutoScalingGroups")?,
                };
                let tags = group
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
                    .collect();
                Ok(GroupState { capacity, tags, status: GroupStatus::Active })
            }
        }
    }

    async fn resize(
        &self,
        account: &str,
        target: &Target,
        to: Capacity,
        token: &str,
    ) -> Result<Option<String>, AwsError> {
        match target {
            Target::Nodegroup { cluster, nodegroup } => {
                let eks = self.eks(account);
                let scaling = aws_sdk_eks::types::NodegroupScalingConfig::builder()
                    .min_size(i32_of(to.min))
                    .desired_size(i32_of(to.desired))
                    .max_size(i32_of(to.max))
                    .build();
                let out = eks
                    .update_nodegroup_config()
                    .cluster_name(cluster)
                    .nodegroup_name(nodegroup)
                    .scaling_config(scaling)
                    .client_request_token(token)
                    .send()
                    .await
                    .classify("UpdateNodegroupConfig")?;
                Ok(out.update().and_then(|u| u.id()).map(str::to_string))
            }
            Target::AutoScalingGroup { name } => {
                let asg = self.autoscaling(account);
                // One call whether or not the bounds move: UpdateAutoScalingGroup sets all three.
                asg.update_auto_scaling_group()
                    .auto_scaling_group_name(name)
                    .min_size(i32_of(to.min))
                    .desired_capacity(i32_of(to.desired))
                    .max_size(i32_of(to.max))
                    .send()
                    .await
                    .classify("UpdateAutoScalingGroup")?;
                Ok(None)
            }
        }
    }
}

fn size(v: Option<i32>, what: &'static str, operation: &'static str) -> Result<u32, AwsError> {
    v.and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| AwsError::new(ErrorClass::Unclassified, operation, format!("the response has no {what}")))
}

fn i32_of(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
