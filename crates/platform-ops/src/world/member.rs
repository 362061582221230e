//! The seeded member account's resources: roles, network, cluster, nodegroup, workers, alarms, log groups.

use platform_core::aws::AwsContext;
use platform_core::config::{ConfigTree, Environment};
use platform_core::error::{AwsError, ClassifyExt, ErrorClass, build_error};

use super::alarms::{health_alarms, seeded_alarms};
use super::snapshot::{describe_stack, log_groups};
use super::{Outcome, SeedReport, WorldError};

/// The member roles, as the baseline makes them: the automation role (vending's reads, and what
/// seeding builds the account with) and one per function (`<automation role>-scaler`, `-deploy`,
/// `-schedules`, the template's defaults), each trusted by the automation account. The emulator
/// lets anyone assume any role name, so a function pointed at a role no account has would pass
/// here and fail on AWS: seeding them keeps the names honest (the world test checks each one).
pub(super) async fn ensure_automation_role(
    member_admin: &AwsContext,
    tree: &ConfigTree,
    trusted_account: &str,
    report: &mut SeedReport,
) -> Result<(), AwsError> {
    let iam = member_admin.client::<aws_sdk_iam::Client>();
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{trusted_account}:root")},
            "Action": "sts:AssumeRole"
        }]
    });
    for (role, actions) in member_roles(&tree.organization.automation_role) {
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "PlatformOperations", "Effect": "Allow", "Action": actions, "Resource": "*"}]
        });
        let (outcome, _) = ensure_role(&iam, &role, &trust.to_string()).await?;
        iam.put_role_policy()
            .role_name(&role)
            .policy_name("platform-operations")
            .policy_document(policy.to_string())
            .send()
            .await
            .classify("PutRolePolicy")?;
        report.record(format!("role {role}"), outcome);
    }
    Ok(())
}

/// Each member role with what its holder does in the account.
pub fn member_roles(automation_role: &str) -> Vec<(String, Vec<&'static str>)> {
    vec![
        (
            automation_role.to_string(),
            vec![
                "eks:Describe*",
                "eks:List*",
                "eks:UpdateNodegroupConfig",
                "autoscaling:Describe*",
                "autoscaling:UpdateAutoScalingGroup",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:PutMetricAlarm",
                "logs:DescribeLogGroups",
                "logs:CreateLogGroup",
                "logs:PutSubscriptionFilter",
                "cloudformation:Describe*",
                "ssm:GetParameter*",
                "ssm:PutParameter",
                "iam:PassRole",
            ],
        ),
        (
            format!("{automation_role}-scaler"),
            vec![
                "eks:DescribeNodegroup",
                "eks:UpdateNodegroupConfig",
                "eks:DescribeUpdate",
                "autoscaling:Describe*",
                "autoscaling:UpdateAutoScalingGroup",
                "cloudwatch:GetMetricData",
            ],
        ),
        (
            format!("{automation_role}-deploy"),
            vec![
                "eks:DescribeCluster",
                "eks:DescribeAccessEntry",
                "eks:CreateAccessEntry",
                "eks:ListAssociatedAccessPolicies",
                "eks:AssociateAccessPolicy",
                "ssm:GetParameter*",
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeLoadBalancerTargetGroups",
                "autoscaling:AttachLoadBalancerTargetGroups",
                "route53:ListResourceRecordSets",
                "route53:ChangeResourceRecordSets",
            ],
        ),
        (
            format!("{automation_role}-schedules"),
            vec![
                "eks:DescribeNodegroup",
                "eks:UpdateNodegroupConfig",
                "autoscaling:Describe*",
                "rds:DescribeDBInstances",
                "rds:DescribeDBSnapshots",
                "rds:RestoreDBInstanceFromDBSnapshot",
                "rds:AddTagsToResource",
                "rds:DeleteDBInstance",
            ],
        ),
    ]
}

/// The role `name` with `trust`, and its ARN (from the lookup or the create: no second read).
async fn ensure_role(iam: &aws_sdk_iam::Client, name: &str, trust: &str) -> Result<(Outcome, String), AwsError> {
    match iam.get_role().role_name(name).send().await.classify("GetRole") {
        Ok(found) => {
            // The trust policy is part of what the world is: re-assert it, as seeding is idempotent.
            iam.update_assume_role_policy()
                .role_name(name)
                .policy_document(trust)
                .send()
                .await
                .classify("UpdateAssumeRolePolicy")?;
            return Ok((Outcome::Exists, found.role.map(|r| r.arn).unwrap_or_default()));
        }
        Err(e) if e.class == ErrorClass::NotFound => {}
        Err(e) => return Err(e),
    }
    let tag = aws_sdk_iam::types::Tag::builder()
        .key("managed-by")
        .value("platform-ops")
        .build()
        .map_err(|e| build_error("CreateRole", e))?;
    let created = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .tags(tag)
        .send()
        .await
        .classify("CreateRole")?;
    Ok((Outcome::Created, created.role.map(|r| r.arn).unwrap_or_default()))
}

/// Resources inside the dev member account, created through the automation role.
pub(super) struct Member<'a> {
    pub(super) ctx: AwsContext,
    pub(super) tree: &'a ConfigTree,
    pub(super) env: &'a Environment,
    pub(super) report: &'a mut SeedReport,
}

impl Member<'_> {
    fn prefix(&self) -> String {
        self.tree.resource_prefix(&self.env.name)
    }

    pub(super) async fn seed(mut self) -> Result<(), WorldError> {
        let network = self.ensure_network().await?;
        let (cluster_role, node_role) = self.ensure_eks_roles().await?;
        self.ensure_cluster(&cluster_role, &network.subnet_ids).await?;
        self.ensure_nodegroup(&node_role, &network.subnet_ids).await?;
        self.ensure_auto_scaling_group(&network).await?;
        self.ensure_alarms().await?;
        self.ensure_log_groups().await?;
        self.ensure_database().await?;
        Ok(())
    }

    async fn ensure_network(&mut self) -> Result<Network, WorldError> {
        let cfn = self.ctx.client::<aws_sdk_cloudformation::Client>();
        let name = format!("{}-network", self.prefix());
        let outcome = match describe_stack(&cfn, &name).await? {
            Some(_) => Outcome::Exists,
            None => {
                let tag = aws_sdk_cloudformation::types::Tag::builder().key("managed-by").value("platform-ops").build();
                cfn.create_stack()
                    .stack_name(&name)
                    .template_body(network_template(self.env))
                    .tags(tag)
                    .send()
                    .await
                    .classify("CreateStack")?;
                Outcome::Created
            }
        };
        let outputs = describe_stack(&cfn, &name)
            .await?
            .ok_or_else(|| WorldError::Unexpected(format!("stack {name} vanished after create")))?;
        self.report.record(format!("stack {name}"), outcome);
        let get = |k: &str| {
            outputs.get(k).cloned().ok_or_else(|| WorldError::Unexpected(format!("stack {name} has no output {k}")))
        };
        Ok(Network {
            subnet_ids: get("PrivateSubnetIds")?.split(',').map(str::to_string).collect(),
            launch_template_id: get("WorkersLaunchTemplateId")?,
        })
    }

    async fn ensure_eks_roles(&mut self) -> Result<(String, String), WorldError> {
        let iam = self.ctx.client::<aws_sdk_iam::Client>();
        let mut arns = Vec::new();
        for (suffix, service, policies) in [
            ("eks-cluster", "eks.amazonaws.com", &["AmazonEKSClusterPolicy"][..]),
            (
                "eks-node",
                "ec2.amazonaws.com",
                &["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"][..],
            ),
        ] {
            let name = format!("{}-{suffix}", self.prefix());
            let trust = serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]
            });
            let (outcome, arn) = ensure_role(&iam, &name, &trust.to_string()).await?;
            for policy in policies {
                iam.attach_role_policy()
                    .role_name(&name)
                    .policy_arn(format!("arn:aws:iam::aws:policy/{policy}"))
                    .send()
                    .await
                    .classify("AttachRolePolicy")?;
            }
            arns.push(arn);
            self.report.record(format!("role {name}"), outcome);
        }
        Ok((arns[0].clone(), arns[1].clone()))
    }

    async fn ensure_cluster(&mut self, role_arn: &str, subnets: &[String]) -> Result<(), AwsError> {
        let eks = self.ctx.client::<aws_sdk_eks::Client>();
        let name = self.tree.cluster_name(&self.env.name);
        let outcome = match eks.describe_cluster().name(&name).send().await.classify("DescribeCluster") {
            Ok(_) => Outcome::Exists,
            Err(e) if e.class == ErrorClass::NotFound => {
                eks.create_cluster()
                    .name(&name)
                    .version(&self.env.kubernetes.version)
                    .role_arn(role_arn)
                    .resources_vpc_config(
                        aws_sdk_eks::types::VpcConfigRequest::builder()
                            .set_subnet_ids(Some(subnets.to_vec()))
                            .endpoint_private_access(true)
                            .endpoint_public_access(false)
                            .build(),
                    )
                    .tags("environment", &self.env.name)
                    .tags("managed-by", "platform-ops")
                    .send()
                    .await
                    .classify("CreateCluster")?;
                Outcome::Created
            }
            Err(e) => return Err(e),
        };
        self.report.record(format!("eks cluster {name}"), outcome);
        Ok(())
    }

    async fn ensure_nodegroup(&mut self, node_role: &str, subnets: &[String]) -> Result<(), AwsError> {
        let eks = self.ctx.client::<aws_sdk_eks::Client>();
        let cluster = self.tree.cluster_name(&self.env.name);
        let name = self.tree.nodegroup_name(&self.env.name);
        let ng = &self.env.nodegroup;
        let outcome = match eks
            .describe_nodegroup()
            .cluster_name(&cluster)
            .nodegroup_name(&name)
            .send()
            .await
            .classify("DescribeNodegroup")
        {
            Ok(_) => Outcome::Exists,
            Err(e) if e.class == ErrorClass::NotFound => {
                eks.create_nodegroup()
                    .cluster_name(&cluster)
                    .nodegroup_name(&name)
                    .scaling_config(
                        aws_sdk_eks::types::NodegroupScalingConfig::builder()
                            .min_size(to_i32(ng.min_size))
                            .desired_size(to_i32(ng.desired_size))
                            .max_size(to_i32(ng.max_size))
                            .build(),
                    )
                    .set_instance_types(Some(ng.instance_types.clone()))
                    .set_subnets(Some(subnets.to_vec()))
                    .node_role(node_role)
                    .version(&self.env.kubernetes.version)
                    .tags("environment", &self.env.name)
                    .tags("managed-by", "platform-ops")
                    .send()
                    .await
                    .classify("CreateNodegroup")?;
                Outcome::Created
            }
            Err(e) => return Err(e),
        };
        self.report.record(format!("eks nodegroup {name}"), outcome);
        Ok(())
    }

    async fn ensure_auto_scaling_group(&mut self, network: &Network) -> Result<(), AwsError> {
        use aws_sdk_autoscaling::types::{LaunchTemplateSpecification, Tag};
        let asg = self.ctx.client::<aws_sdk_autoscaling::Client>();
        let name = self.tree.workers_group_name(&self.env.name);
        let existing = asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&name)
            .send()
            .await
            .classify("DescribeAutoScalingGroups")?;
        // CreateAutoScalingGroup on an existing name replaces the group in the emulator: only create when absent.
        let outcome = if existing.auto_scaling_groups.unwrap_or_default().is_empty() {
            let tag = |k: &str, v: &str| {
                Tag::builder()
                    .key(k)
                    .value(v)
                    .propagate_at_launch(true)
                    .resource_id(&name)
                    .resource_type("auto-scaling-group")
                    .build()
            };
            asg.create_auto_scaling_group()
                .auto_scaling_group_name(&name)
                .launch_template(
                    LaunchTemplateSpecification::builder()
                        .launch_template_id(&network.launch_template_id)
                        .version("$Latest")
                        .build(),
                )
                .min_size(1)
                .desired_capacity(1)
                .max_size(3)
                .vpc_zone_identifier(network.subnet_ids.join(","))
                .tags(tag("environment", &self.env.name))
                .tags(tag("managed-by", "platform-ops"))
                .send()
                .await
                .classify("CreateAutoScalingGroup")?;
            Outcome::Created
        } else {
            Outcome::Exists
        };
        self.report.record(format!("auto scaling group {name}"), outcome);
        Ok(())
    }

    /// Alarms named and tagged by the remediation convention (config/organization.toml).
    async fn ensure_alarms(&mut self) -> Result<(), AwsError> {
        let cw = self.ctx.client::<aws_sdk_cloudwatch::Client>();
        let tag = |k: &str, v: &str| aws_sdk_cloudwatch::types::Tag::builder().key(k).value(v).build();
        let alarms = seeded_alarms(self.tree, self.env).into_iter().chain(health_alarms(self.tree, self.env));
        for alarm in alarms {
            let existed = alarm_arn(&cw, &alarm.name).await?.is_some();
            let mut tags: Vec<_> = alarm.tags.iter().map(|(k, v)| tag(k, v)).collect();
            tags.push(tag("environment", &self.env.name));
            let dimensions = alarm
                .dimensions
                .iter()
                .map(|(k, v)| aws_sdk_cloudwatch::types::Dimension::builder().name(*k).value(v).build())
                .collect();
            cw.put_metric_alarm()
                .alarm_name(&alarm.name)
                .alarm_description(&alarm.description)
                .namespace(&alarm.namespace)
                .metric_name(&alarm.metric)
                .set_dimensions(Some(dimensions))
                .statistic(aws_sdk_cloudwatch::types::Statistic::from(alarm.statistic.as_str()))
                .period(alarm.period_seconds)
                .evaluation_periods(alarm.periods)
                .threshold(alarm.threshold)
                .comparison_operator(alarm.comparison)
                .treat_missing_data("notBreaching")
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .classify("PutMetricAlarm")?;
            // PutMetricAlarm overwrites in place, so re-putting is idempotent; it ignores tags on
            // an existing alarm, so the remediation tag is re-asserted explicitly.
            let arn = alarm_arn(&cw, &alarm.name).await?.ok_or_else(|| {
                AwsError::new(ErrorClass::NotFound, "DescribeAlarms", format!("alarm {} vanished", alarm.name))
            })?;
            cw.tag_resource().resource_arn(arn).set_tags(Some(tags)).send().await.classify("TagResource")?;
            self.report
                .record(format!("alarm {}", alarm.name), if existed { Outcome::Exists } else { Outcome::Created });
        }
        Ok(())
    }

    async fn ensure_log_groups(&mut self) -> Result<(), AwsError> {
        let logs = self.ctx.client::<aws_sdk_cloudwatchlogs::Client>();
        let existing =
            log_groups(&logs, &format!("{}/{}/", self.tree.organization.parameter_prefix, self.env.name)).await?;
        let mut created = 0;
        for service in self.tree.catalog.services.keys() {
            let name = self.tree.log_group(&self.env.name, service);
            if existing.contains(&name) {
                continue;
            }
            match logs
                .create_log_group()
                .log_group_name(&name)
                .tags("environment", &self.env.name)
                .tags("service", service)
                .send()
                .await
                .classify("CreateLogGroup")
            {
                Ok(_) | Err(AwsError { class: ErrorClass::AlreadyExists, .. }) => {}
                Err(e) => return Err(e),
            }
            logs.put_retention_policy()
                .log_group_name(&name)
                .retention_in_days(30)
                .send()
                .await
                .classify("PutRetentionPolicy")?;
            created += 1;
        }
        let total = self.tree.catalog.services.len();
        self.report.record(
            format!("log groups {}/{}/* ({total})", self.tree.organization.parameter_prefix, self.env.name),
            if created == 0 { Outcome::Exists } else { Outcome::Created },
        );
        Ok(())
    }
}

struct Network {
    subnet_ids: Vec<String>,
    launch_template_id: String,
}

/// The environment's network as the hand-built world had it: a VPC, one private subnet per
/// availability zone, and the worker launch template.
fn network_template(env: &Environment) -> String {
    let subnets: Vec<String> = env
        .network
        .vpc_cidr
        .subnets(env.network.vpc_cidr.prefix_len().saturating_add(4).min(28))
        .map(|it| it.take(env.network.availability_zones.len()).map(|n| n.to_string()).collect())
        .unwrap_or_default();
    let mut resources = serde_json::Map::new();
    resources.insert(
        "Vpc".into(),
        serde_json::json!({"Type": "AWS::EC2::VPC", "Properties": {
            "CidrBlock": env.network.vpc_cidr.to_string(), "EnableDnsSupport": true, "EnableDnsHostnames": true}}),
    );
    let mut refs = Vec::new();
    for (i, (az, cidr)) in env.network.availability_zones.iter().zip(&subnets).enumerate() {
        let id = format!("PrivateSubnet{i}");
        resources.insert(
            id.clone(),
            serde_json::json!({"Type": "AWS::EC2::Subnet", "Properties": {
                "VpcId": {"Ref": "Vpc"}, "CidrBlock": cidr, "AvailabilityZone": az}}),
        );
        refs.push(serde_json::json!({"Ref": id}));
    }
    resources.insert(
        "WorkersLaunchTemplate".into(),
        serde_json::json!({"Type": "AWS::EC2::LaunchTemplate", "Properties": {
            "LaunchTemplateName": format!("abc-trading-{}-workers", env.name),
            "LaunchTemplateData": {"InstanceType": env.nodegroup.instance_types.first(), "ImageId": "ami-0c02fb55956c7d316"}}}),
    );
    serde_json::json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("{} network as built by hand before platform-ops", env.name),
        "Resources": resources,
        "Outputs": {
            "VpcId": {"Value": {"Ref": "Vpc"}},
            "PrivateSubnetIds": {"Value": {"Fn::Join": [",", refs]}},
            "WorkersLaunchTemplateId": {"Value": {"Ref": "WorkersLaunchTemplate"}}
        }
    })
    .to_string()
}

async fn alarm_arn(cw: &aws_sdk_cloudwatch::Client, name: &str) -> Result<Option<String>, AwsError> {
    let out = cw.describe_alarms().alarm_names(name).send().await.classify("DescribeAlarms")?;
    Ok(out.metric_alarms.unwrap_or_default().into_iter().find_map(|a| a.alarm_arn))
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
