//! The local world: the organisation and the dev environment as they exist before automation, seeded into the emulator.

use std::collections::BTreeMap;
use std::time::Duration;

use platform_core::aws::{AwsContext, SsmParameterStore};
use platform_core::config::{self, AlarmTarget, ConfigTree, Environment, PublishReport};
use platform_core::error::{AwsError, ClassifyExt, ErrorClass, build_error};
use serde::Serialize;

/// Role Organizations creates in every new account, trusted by the management account.
const BOOTSTRAP_ROLE: &str = "OrganizationAccountAccessRole";
/// The environment whose member account exists before automation (the seed's hand-built dev).
pub const SEEDED_ENVIRONMENT: &str = "dev";

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(
        "world seeding only runs against a local emulator; endpoint is {0:?} (set AWS_ENDPOINT_URL to a loopback address)"
    )]
    NotLocal(Option<String>),
    #[error("config has no environment `{0}`")]
    MissingEnvironment(String),
    #[error("unexpected emulator response: {0}")]
    Unexpected(String),
}

/// What seeding did to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    Exists,
    Updated,
}

/// One line of the seeding log: a resource and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub resource: String,
    pub outcome: Outcome,
}

#[derive(Debug, Default, Serialize)]
pub struct SeedReport {
    pub steps: Vec<Step>,
    pub config: PublishReport,
}

impl SeedReport {
    fn record(&mut self, resource: impl Into<String>, outcome: Outcome) {
        let resource = resource.into();
        tracing::info!(%resource, ?outcome, "seed");
        self.steps.push(Step { resource, outcome });
    }

    pub fn created(&self) -> usize {
        self.steps.iter().filter(|s| s.outcome == Outcome::Created).count()
    }
}

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

/// The email the seeded member account of `env` is registered with.
pub fn member_email(tree: &ConfigTree, env: &str) -> String {
    format!("{}-{env}@accounts.{}", tree.organization.name_prefix, "abc-limited.example")
}

/// Refuses anything but a loopback endpoint: seeding must never touch a real organisation.
/// Per-service endpoint variables (`AWS_ENDPOINT_URL_IAM`, ...) would redirect single clients
/// past this check, so their presence is refused too.
pub fn ensure_local(endpoint: Option<&str>) -> Result<(), WorldError> {
    let endpoint = endpoint.map(str::to_string);
    if let Some((var, _)) = std::env::vars().find(|(k, _)| k.starts_with("AWS_ENDPOINT_URL_")) {
        return Err(WorldError::NotLocal(Some(format!("{endpoint:?}, but {var} is set"))));
    }
    if endpoint.as_deref().is_some_and(is_loopback_url) { Ok(()) } else { Err(WorldError::NotLocal(endpoint)) }
}

/// `http://127.0.0.1:5000`, `http://localhost:5000/`, `http://[::1]:5000`; not `http://127.0.0.1@host/`.
fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Seeds the world from `tree`. Every step looks before it creates, so seeding twice changes nothing.
pub async fn seed(ctx: &AwsContext, tree: &ConfigTree) -> Result<SeedReport, WorldError> {
    ensure_local(ctx.endpoint_url())?;
    let env = tree
        .environment(SEEDED_ENVIRONMENT)
        .ok_or_else(|| WorldError::MissingEnvironment(SEEDED_ENVIRONMENT.into()))?;
    let mut report = SeedReport::default();
    let org = Org { client: ctx.client::<aws_sdk_organizations::Client>() };

    org.ensure_organization(&mut report).await?;
    let root = org.root_id().await?;
    let mut ous = BTreeMap::new();
    let ou_names = tree
        .environments
        .values()
        .map(|e| e.organizational_unit.clone())
        .chain([tree.organization.quarantine_ou.clone()]);
    for name in ou_names {
        let id = org.ensure_ou(&root, &name, &mut report).await?;
        ous.insert(name, id);
    }
    let email = member_email(tree, &env.name);
    let account_name = tree.resource_prefix(&env.name);
    let account_id = org.ensure_account(&account_name, &email, &env.name, &mut report).await?;
    org.ensure_parent(&account_id, &root, &ous[&env.organizational_unit], &mut report).await?;

    let member_admin = ctx.in_account(&ctx.sessions(BOOTSTRAP_ROLE, "world-seed"), &account_id);
    let management_account = caller_account(ctx).await?;
    ensure_automation_role(&member_admin, tree, &management_account, &mut report).await?;

    // From here on the seed uses the automation role, as every flow will.
    let automation = ctx.sessions(tree.organization.automation_role.clone(), "world-seed");
    let member = Member { ctx: ctx.in_account(&automation, &account_id), tree, env, report: &mut report };
    member.seed().await?;

    let store = SsmParameterStore::new(ctx.client::<aws_sdk_ssm::Client>());
    report.config = config::publish(tree, &store, false).await?;
    Ok(report)
}

async fn caller_account(ctx: &AwsContext) -> Result<String, AwsError> {
    let sts = ctx.client::<aws_sdk_sts::Client>();
    let who = sts.get_caller_identity().send().await.classify("GetCallerIdentity")?;
    who.account.ok_or_else(|| AwsError::new(ErrorClass::Unclassified, "GetCallerIdentity", "no account in response"))
}

struct Org {
    client: aws_sdk_organizations::Client,
}

impl Org {
    async fn ensure_organization(&self, report: &mut SeedReport) -> Result<String, AwsError> {
        match self.client.describe_organization().send().await.classify("DescribeOrganization") {
            Ok(out) => {
                report.record("organization", Outcome::Exists);
                Ok(out.organization.and_then(|o| o.id).unwrap_or_default())
            }
            Err(e) if e.class == ErrorClass::NotFound => {
                let out = self
                    .client
                    .create_organization()
                    .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
                    .send()
                    .await
                    .classify("CreateOrganization")?;
                report.record("organization", Outcome::Created);
                Ok(out.organization.and_then(|o| o.id).unwrap_or_default())
            }
            Err(e) => Err(e),
        }
    }

    async fn root_id(&self) -> Result<String, AwsError> {
        let out = self.client.list_roots().send().await.classify("ListRoots")?;
        out.roots
            .unwrap_or_default()
            .into_iter()
            .find_map(|r| r.id)
            .ok_or_else(|| AwsError::new(ErrorClass::NotFound, "ListRoots", "organization has no root"))
    }

    async fn ous(&self, parent: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let mut pages = self.client.list_organizational_units_for_parent().parent_id(parent).into_paginator().send();
        let mut out = BTreeMap::new();
        while let Some(page) = pages.next().await {
            for ou in page.classify("ListOrganizationalUnitsForParent")?.organizational_units.unwrap_or_default() {
                if let (Some(name), Some(id)) = (ou.name, ou.id) {
                    out.entry(name).or_insert(id);
                }
            }
        }
        Ok(out)
    }

    async fn ensure_ou(&self, root: &str, name: &str, report: &mut SeedReport) -> Result<String, AwsError> {
        if let Some(id) = self.ous(root).await?.remove(name) {
            report.record(format!("ou {name}"), Outcome::Exists);
            return Ok(id);
        }
        let out = self
            .client
            .create_organizational_unit()
            .parent_id(root)
            .name(name)
            .send()
            .await
            .classify("CreateOrganizationalUnit")?;
        report.record(format!("ou {name}"), Outcome::Created);
        out.organizational_unit
            .and_then(|ou| ou.id)
            .ok_or_else(|| AwsError::new(ErrorClass::Unclassified, "CreateOrganizationalUnit", "no id returned"))
    }

    async fn accounts(&self) -> Result<Vec<aws_sdk_organizations::types::Account>, AwsError> {
        let mut pages = self.client.list_accounts().into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            out.extend(page.classify("ListAccounts")?.accounts.unwrap_or_default());
        }
        Ok(out)
    }

    /// Organizations has no idempotency token for CreateAccount: look the email up first.
    async fn ensure_account(
        &self,
        name: &str,
        email: &str,
        env: &str,
        report: &mut SeedReport,
    ) -> Result<String, AwsError> {
        if let Some(id) = self.accounts().await?.into_iter().find(|a| a.email() == Some(email)).and_then(|a| a.id) {
            report.record(format!("account {name} ({id})"), Outcome::Exists);
            return Ok(id);
        }
        let tag = |k: &str, v: &str| {
            aws_sdk_organizations::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| build_error("CreateAccount", e))
        };
        let out = self
            .client
            .create_account()
            .account_name(name)
            .email(email)
            .tags(tag("environment", env)?)
            .tags(tag("managed-by", "platform-ops")?)
            .send()
            .await
            .classify("CreateAccount")?;
        let mut status = out.create_account_status;
        for _ in 0..30 {
            use aws_sdk_organizations::types::CreateAccountState;
            match status.as_ref().and_then(|s| s.state.clone()) {
                Some(CreateAccountState::Succeeded) => break,
                Some(CreateAccountState::Failed) => {
                    let reason = status.and_then(|s| s.failure_reason).map(|r| r.as_str().to_string());
                    return Err(AwsError::new(
                        ErrorClass::InvalidRequest,
                        "CreateAccount",
                        format!("account {name} failed: {}", reason.unwrap_or_default()),
                    ));
                }
                _ => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let id = status.as_ref().and_then(|s| s.id.clone()).unwrap_or_default();
                    status = self
                        .client
                        .describe_create_account_status()
                        .create_account_request_id(id)
                        .send()
                        .await
                        .classify("DescribeCreateAccountStatus")?
                        .create_account_status;
                }
            }
        }
        let id = status.and_then(|s| s.account_id).ok_or_else(|| {
            AwsError::new(ErrorClass::Transient, "CreateAccount", format!("account {name} not created in time"))
        })?;
        report.record(format!("account {name} ({id})"), Outcome::Created);
        Ok(id)
    }

    async fn parent(&self, account_id: &str) -> Result<String, AwsError> {
        let out = self.client.list_parents().child_id(account_id).send().await.classify("ListParents")?;
        out.parents
            .unwrap_or_default()
            .into_iter()
            .find_map(|p| p.id)
            .ok_or_else(|| AwsError::new(ErrorClass::NotFound, "ListParents", format!("{account_id} has no parent")))
    }

    async fn ensure_parent(
        &self,
        account_id: &str,
        root: &str,
        ou: &str,
        report: &mut SeedReport,
    ) -> Result<(), AwsError> {
        let current = self.parent(account_id).await?;
        if current == ou {
            report.record(format!("placement {account_id} -> {ou}"), Outcome::Exists);
            return Ok(());
        }
        let source = if current.is_empty() { root.to_string() } else { current };
        self.client
            .move_account()
            .account_id(account_id)
            .source_parent_id(source)
            .destination_parent_id(ou)
            .send()
            .await
            .classify("MoveAccount")?;
        report.record(format!("placement {account_id} -> {ou}"), Outcome::Updated);
        Ok(())
    }
}

/// The automation role, trusted by the management (automation) account, scoped to what the flows do.
async fn ensure_automation_role(
    member_admin: &AwsContext,
    tree: &ConfigTree,
    trusted_account: &str,
    report: &mut SeedReport,
) -> Result<(), AwsError> {
    let iam = member_admin.client::<aws_sdk_iam::Client>();
    let role = &tree.organization.automation_role;
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{trusted_account}:root")},
            "Action": "sts:AssumeRole"
        }]
    });
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PlatformOperations",
            "Effect": "Allow",
            "Action": [
                "eks:Describe*", "eks:List*", "eks:UpdateNodegroupConfig", "eks:CreateAccessEntry",
                "eks:AssociateAccessPolicy", "autoscaling:Describe*", "autoscaling:SetDesiredCapacity",
                "autoscaling:UpdateAutoScalingGroup", "cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm",
                "logs:DescribeLogGroups", "logs:CreateLogGroup", "logs:PutSubscriptionFilter",
                "cloudformation:Describe*", "ssm:GetParameter*", "ssm:PutParameter", "iam:PassRole"
            ],
            "Resource": "*"
        }]
    });
    let (outcome, _) = ensure_role(&iam, role, &trust.to_string()).await?;
    iam.put_role_policy()
        .role_name(role)
        .policy_name("platform-operations")
        .policy_document(policy.to_string())
        .send()
        .await
        .classify("PutRolePolicy")?;
    report.record(format!("role {role}"), outcome);
    Ok(())
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
struct Member<'a> {
    ctx: AwsContext,
    tree: &'a ConfigTree,
    env: &'a Environment,
    report: &'a mut SeedReport,
}

impl Member<'_> {
    fn prefix(&self) -> String {
        self.tree.resource_prefix(&self.env.name)
    }

    async fn seed(mut self) -> Result<(), WorldError> {
        let network = self.ensure_network().await?;
        let (cluster_role, node_role) = self.ensure_eks_roles().await?;
        self.ensure_cluster(&cluster_role, &network.subnet_ids).await?;
        self.ensure_nodegroup(&node_role, &network.subnet_ids).await?;
        self.ensure_auto_scaling_group(&network).await?;
        self.ensure_alarms().await?;
        self.ensure_log_groups().await?;
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
        for alarm in seeded_alarms(self.tree, self.env) {
            let existed = alarm_arn(&cw, &alarm.name).await?.is_some();
            let tags = vec![
                tag(&self.tree.organization.remediation.tag_key, alarm.action),
                tag("environment", &self.env.name),
            ];
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

/// An alarm of the seeded world, marked for remediation.
#[derive(Debug)]
pub struct SeededAlarm {
    pub name: String,
    pub description: String,
    pub namespace: String,
    pub metric: String,
    pub statistic: String,
    pub period_seconds: i32,
    pub dimensions: Vec<(&'static str, String)>,
    pub threshold: f64,
    pub periods: i32,
    pub comparison: aws_sdk_cloudwatch::types::ComparisonOperator,
    /// Value of the remediation tag: what the scaler should do when it fires.
    pub action: &'static str,
}

/// The environment's remediation alarms, from `config/remediation-alarms.toml`, with their full
/// names and the dimensions of the group each watches.
pub fn seeded_alarms(tree: &ConfigTree, env: &Environment) -> Vec<SeededAlarm> {
    let conv = &tree.organization.remediation;
    let prefix = tree.resource_prefix(&env.name);
    // The convention's prefix is organisation-wide; the resource prefix already starts with it.
    debug_assert!(prefix.starts_with(&conv.alarm_name_prefix));
    // Container Insights' node metrics carry the cluster only; the scaler reads such an alarm as
    // the cluster's managed nodegroup.
    let nodes = vec![("ClusterName", tree.cluster_name(&env.name))];
    let workers = vec![("AutoScalingGroupName", tree.workers_group_name(&env.name))];
    tree.alarms
        .iter()
        .map(|a| SeededAlarm {
            name: format!("{prefix}{}{}", conv.alarm_name_marker, a.name),
            description: a.description.clone(),
            namespace: a.namespace.clone(),
            metric: a.metric.clone(),
            statistic: a.statistic.clone(),
            period_seconds: i32::try_from(a.period_seconds).unwrap_or(60),
            dimensions: match a.target {
                AlarmTarget::Nodegroup => nodes.clone(),
                AlarmTarget::Workers => workers.clone(),
            },
            threshold: a.threshold,
            periods: i32::try_from(a.evaluation_periods).unwrap_or(1),
            comparison: aws_sdk_cloudwatch::types::ComparisonOperator::from(a.comparison.as_str()),
            action: if a.name.ends_with("-low") { "scale-in" } else { "scale-out" },
        })
        .collect()
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

/// A stack's outputs, or `None` when there is no such stack.
async fn describe_stack(
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

async fn log_groups(logs: &aws_sdk_cloudwatchlogs::Client, prefix: &str) -> Result<Vec<String>, AwsError> {
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

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Reads the world back from the emulator.
pub async fn snapshot(ctx: &AwsContext, tree: &ConfigTree) -> Result<World, WorldError> {
    ensure_local(ctx.endpoint_url())?;
    let org = Org { client: ctx.client::<aws_sdk_organizations::Client>() };
    let description = org.client.describe_organization().send().await.classify("DescribeOrganization")?;
    let organization =
        description.organization.unwrap_or_else(|| aws_sdk_organizations::types::Organization::builder().build());
    let root_id = org.root_id().await?;
    let organizational_units = org.ous(&root_id).await?;
    let ou_names: BTreeMap<&String, &String> = organizational_units.iter().map(|(n, id)| (id, n)).collect();

    let sessions = ctx.sessions(tree.organization.automation_role.clone(), "world-show");

    let mut accounts = Vec::new();
    for account in org.accounts().await? {
        let (Some(id), Some(email)) = (account.id.clone(), account.email.clone()) else { continue };
        if Some(id.as_str()) == organization.master_account_id() {
            continue;
        }
        let parent = org.parent(&id).await?;
        let environment = tree.environments.keys().find(|env| member_email(tree, env) == email).cloned();
        let resources = match &environment {
            Some(env) => Some(member_resources(&ctx.in_account(&sessions, &id), tree, &tree.environments[env]).await?),
            None => None,
        };
        accounts.push(AccountFacts {
            name: account.name.unwrap_or_default(),
            id,
            email,
            organizational_unit: ou_names.get(&parent).map(|s| s.to_string()).unwrap_or(parent),
            environment,
            resources,
        });
    }
    accounts.sort_by(|a, b| a.name.cmp(&b.name));

    let store = SsmParameterStore::new(ctx.client::<aws_sdk_ssm::Client>());
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

#[cfg(test)]
mod tests {
    use super::is_loopback_url;

    #[test]
    fn only_loopback_endpoints_pass() {
        for ok in ["http://127.0.0.1:5000", "http://localhost:4566/", "http://[::1]:5000", "http://127.1.2.3:80"] {
            assert!(is_loopback_url(ok), "{ok}");
        }
        for bad in [
            "http://127.0.0.1@evil.example/",
            "https://127.attacker.example",
            "https://organizations.us-east-1.amazonaws.com",
            "http://10.0.0.5:5000",
            "127.0.0.1:5000",
            "http://localhost.evil.example",
        ] {
            assert!(!is_loopback_url(bad), "{bad}");
        }
    }
}
