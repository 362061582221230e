//! Adapters: the guard table on DynamoDB; nodegroups (EKS), groups (Auto Scaling) and Container Insights in member accounts.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use platform_core::aws::MemberClients;
use platform_core::error::{AwsError, ClassifyExt, ErrorClass};

use crate::alarm::{Direction, Target};
use crate::demand::Reservation;
use crate::guardrails::{Capacity, PastAction};
use crate::ports::{AuditRecord, Claim, GroupState, Groups, Guard, PodDemand};

/// How long a transition claim is kept: far longer than any redelivery window.
const CLAIM_TTL_SECONDS: i64 = 7 * 24 * 3600;
/// How long the audit trail of a target is kept.
const AUDIT_TTL_SECONDS: i64 = 90 * 24 * 3600;
/// Actions read back for cooldowns and flapping.
const HISTORY_LIMIT: i32 = 20;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The guard table (`pk`, `sk`, TTL on `expires_at`), shared with the other flows.
#[derive(Debug, Clone)]
pub struct GuardTable {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl GuardTable {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        GuardTable { client, table: table.into() }
    }

    /// A conditional put: `Won` when the condition held, `Taken` when it did not.
    async fn put_if(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: &str,
        values: Option<HashMap<String, AttributeValue>>,
    ) -> Result<Claim, AwsError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .send()
            .await
            .classify("PutItem");
        match result {
            Ok(_) => Ok(Claim::Won),
            Err(e) if e.class == ErrorClass::ConditionFailed => Ok(Claim::Taken),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Guard for GuardTable {
    async fn claim_transition(&self, transition: &str, owner: &str, now: DateTime<Utc>) -> Result<Claim, AwsError> {
        let item = HashMap::from([
            ("pk".to_string(), s(format!("transition#{transition}"))),
            ("sk".to_string(), s("claim")),
            ("owner".to_string(), s(owner)),
            ("claimed_at".to_string(), s(now.to_rfc3339())),
            ("expires_at".to_string(), n(now.timestamp() + CLAIM_TTL_SECONDS)),
        ]);
        self.put_if(item, "attribute_not_exists(pk)", None).await
    }

    async fn lock_target(
        &self,
        target_key: &str,
        owner: &str,
        now: DateTime<Utc>,
        seconds: i64,
    ) -> Result<Claim, AwsError> {
        let item = HashMap::from([
            ("pk".to_string(), s(format!("target#{target_key}"))),
            ("sk".to_string(), s("lock")),
            ("owner".to_string(), s(owner)),
            ("lock_until".to_string(), n(now.timestamp() + seconds)),
            ("expires_at".to_string(), n(now.timestamp() + seconds + 3600)),
        ]);
        let values = HashMap::from([(":now".to_string(), n(now.timestamp()))]);
        self.put_if(item, "attribute_not_exists(pk) OR lock_until < :now", Some(values)).await
    }

    async fn unlock_target(&self, target_key: &str, owner: &str) -> Result<(), AwsError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("target#{target_key}")))
            .key("sk", s("lock"))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await
            .classify("DeleteItem");
        match result {
            // Someone took over an expired lock: it is theirs now, nothing to release.
            Err(e) if e.class != ErrorClass::ConditionFailed => Err(e),
            _ => Ok(()),
        }
    }

    async fn history(&self, target_key: &str) -> Result<Vec<PastAction>, AwsError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :action)")
            .expression_attribute_values(":pk", s(format!("target#{target_key}")))
            .expression_attribute_values(":action", s("action#"))
            .scan_index_forward(false)
            .limit(HISTORY_LIMIT)
            .send()
            .await
            .classify("Query")?;
        let mut actions: Vec<PastAction> = out
            .items()
            .iter()
            .filter_map(|item| {
                let at = item.get("at")?.as_s().ok()?;
                let at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
                let direction = match item.get("direction")?.as_s().ok()?.as_str() {
                    "out" => Direction::Out,
                    "in" => Direction::In,
                    _ => return None,
                };
                Some(PastAction { at, direction })
            })
            .collect();
        actions.reverse();
        Ok(actions)
    }

    async fn record(&self, target_key: &str, r: &AuditRecord) -> Result<(), AwsError> {
        // Refusals go to the audit trail too, but only actions count for cooldowns and flapping.
        let sort = if r.decision == "scale" {
            format!("action#{}", r.at.to_rfc3339())
        } else {
            format!("audit#{}", r.at.to_rfc3339())
        };
        let mut item = HashMap::from([
            ("pk".to_string(), s(format!("target#{target_key}"))),
            ("sk".to_string(), s(sort)),
            ("at".to_string(), s(r.at.to_rfc3339())),
            ("alarm".to_string(), s(&r.alarm)),
            ("account".to_string(), s(&r.account)),
            ("target".to_string(), s(r.target.to_string())),
            ("decision".to_string(), s(&r.decision)),
            ("from".to_string(), n(i64::from(r.from))),
            ("to".to_string(), n(i64::from(r.to))),
            ("reason".to_string(), s(&r.reason)),
            ("expires_at".to_string(), n(r.at.timestamp() + AUDIT_TTL_SECONDS)),
        ]);
        if let Some(d) = r.direction {
            item.insert("direction".into(), s(if d == Direction::Out { "out" } else { "in" }));
        }
        if let Some(g) = &r.guardrail {
            item.insert("guardrail".into(), s(g));
        }
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.classify("PutItem")?;
        Ok(())
    }
}

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

/// The pods' reservation of a cluster from Container Insights in its member account.
#[derive(Debug, Clone)]
pub struct ContainerInsights(MemberClients);

/// The window a reading must fall in: older figures describe a cluster that may have changed.
const RESERVATION_WINDOW_SECONDS: i64 = 10 * 60;

impl ContainerInsights {
    pub fn new(members: MemberClients) -> Self {
        ContainerInsights(members)
    }
}

#[async_trait]
impl PodDemand for ContainerInsights {
    async fn reservation(
        &self,
        account: &str,
        cluster: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Reservation>, AwsError> {
        use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
        let query = |id: &str, metric: &str| {
            MetricDataQuery::builder()
                .id(id)
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("ContainerInsights")
                                .metric_name(metric)
                                .dimensions(Dimension::builder().name("ClusterName").value(cluster).build())
                                .build(),
                        )
                        .period(60)
                        // The busiest minute: a floor for scale-in should not average a peak away.
                        .stat("Maximum")
                        .build(),
                )
                .return_data(true)
                .build()
        };
        // One call for all three figures.
        let out = self
            .0
            .client::<aws_sdk_cloudwatch::Client>(account)
            .get_metric_data()
            .start_time(aws_smithy_types::DateTime::from_secs(now.timestamp() - RESERVATION_WINDOW_SECONDS))
            .end_time(aws_smithy_types::DateTime::from_secs(now.timestamp() + 1))
            .metric_data_queries(query("cpu", "node_cpu_reserved_capacity"))
            .metric_data_queries(query("memory", "node_memory_reserved_capacity"))
            .metric_data_queries(query("nodes", "cluster_node_count"))
            .send()
            .await
            .classify("GetMetricData")?;
        // The newest datapoint of each query, whatever order the service returns them in.
        let latest = |id: &str| {
            let result = out.metric_data_results().iter().find(|r| r.id() == Some(id))?;
            result
                .timestamps()
                .iter()
                .zip(result.values())
                .max_by_key(|(t, _)| (t.secs(), t.subsec_nanos()))
                .map(|(_, v)| *v)
        };
        Ok(match (latest("cpu"), latest("memory"), latest("nodes")) {
            (Some(cpu_percent), Some(memory_percent), Some(cluster_nodes)) => {
                Some(Reservation { cpu_percent, memory_percent, cluster_nodes })
            }
            _ => None,
        })
    }
}

fn size(v: Option<i32>, what: &'static str, operation: &'static str) -> Result<u32, AwsError> {
    v.and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| AwsError::new(ErrorClass::Unclassified, operation, format!("the response has no {what}")))
}

fn i32_of(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
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
                let status = ng.status().map(|s| s.as_str().to_string()).unwrap_or_else(|| "UNKNOWN".into());
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
                Ok(GroupState { capacity, tags, status: "ACTIVE".into() })
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
