//! The scaler's adapters against the emulator: guard table, nodegroup and ASG resizes, Container Insights.

// The guard table's conditional writes (exactly one winner), resizing a nodegroup and an Auto Scaling
// group, and reading Container Insights, in a member account through the role.

use std::sync::Arc;

use alarm_scaler::alarm::{Direction, Target};
use alarm_scaler::aws::{ContainerInsights, GuardTable, MemberGroups};
use alarm_scaler::demand::Reservation;
use alarm_scaler::guardrails::Capacity;
use alarm_scaler::ports::{AuditRecord, Claim, Groups, Guard, PodDemand};
use chrono::{Duration, Utc};
use emulator::Emulator;
use platform_core::aws::{AwsContext, MemberClients};
use platform_core::capacity::AuditDecision;

const MEMBER: &str = "222222222222";

async fn guard_table(emulator: &Emulator) -> GuardTable {
    GuardTable::create(aws_sdk_dynamodb::Client::new(&emulator.sdk_config()), "guard").await.expect("table")
}

/// GIVEN the same transition delivered eight times at once THEN exactly one delivery wins.
#[tokio::test(flavor = "multi_thread")]
async fn a_transition_is_claimed_once_however_many_deliveries_race() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let guard = Arc::new(guard_table(&emulator).await);
    let now = Utc::now();
    let claims = futures_like_join((0..8).map(|i| {
        let guard = guard.clone();
        tokio::spawn(
            async move { guard.claim_transition("dev-nodes-cpu-high#ALARM#t1", &format!("exec-{i}"), now).await },
        )
    }))
    .await;
    let won = claims.iter().filter(|c| **c == Claim::Won).count();
    assert_eq!(won, 1, "{claims:?}");
    assert_eq!(guard.claim_transition("dev-nodes-cpu-high#ALARM#t1", "late", now).await.expect("claim"), Claim::Taken);
    assert_eq!(guard.claim_transition("dev-nodes-cpu-high#ALARM#t2", "next", now).await.expect("claim"), Claim::Won);
    // The winner asking again (its first answer lost, the call retried) still holds it.
    let winner =
        (0..8).zip(&claims).find(|(_, c)| **c == Claim::Won).map(|(i, _)| format!("exec-{i}")).expect("one won");
    assert_eq!(guard.claim_transition("dev-nodes-cpu-high#ALARM#t1", &winner, now).await.expect("claim"), Claim::Won);
}

async fn futures_like_join(
    handles: impl Iterator<Item = tokio::task::JoinHandle<Result<Claim, platform_core::error::AwsError>>>,
) -> Vec<Claim> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task").expect("claim"));
    }
    out
}

/// GIVEN two alarms for one target THEN one holds the lock; it can be released, and a lock whose
/// time is up is taken over.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_is_locked_by_one_at_a_time() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let guard = guard_table(&emulator).await;
    let now = Utc::now();
    assert_eq!(guard.lock_target("k", "a", now, 60).await.expect("lock"), Claim::Won);
    assert_eq!(guard.lock_target("k", "b", now, 60).await.expect("lock"), Claim::Taken);
    assert_eq!(guard.lock_target("k", "a", now, 60).await.expect("lock"), Claim::Won, "a's own lock again");
    guard.unlock_target("k", "b").await.expect("not b's: a no-op");
    assert_eq!(guard.lock_target("k", "b", now, 60).await.expect("lock"), Claim::Taken, "still a's");
    guard.unlock_target("k", "a").await.expect("unlock");
    assert_eq!(guard.lock_target("k", "b", now, 60).await.expect("lock"), Claim::Won);
    assert_eq!(
        guard.lock_target("k", "c", now + Duration::seconds(61), 60).await.expect("lock"),
        Claim::Won,
        "expired"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_trail_keeps_actions_for_the_guardrails() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let guard = guard_table(&emulator).await;
    let target = Target::AutoScalingGroup { name: "w".into() };
    let t0 = Utc::now() - Duration::minutes(30);
    let record = |minutes: i64, decision, direction| AuditRecord {
        at: t0 + Duration::minutes(minutes),
        alarm: "a".into(),
        account: MEMBER.into(),
        target: target.clone(),
        decision,
        direction,
        from: 2,
        to: 3,
        guardrail: None,
        reason: "test".into(),
    };
    guard.record("k", &record(0, AuditDecision::Scale, Some(Direction::Out))).await.expect("record");
    guard.record("k", &record(5, AuditDecision::Refuse, Some(Direction::In))).await.expect("record");
    guard.record("k", &record(10, AuditDecision::Scale, Some(Direction::In))).await.expect("record");
    let history = guard.history("k").await.expect("history");
    assert_eq!(
        history.iter().map(|a| a.direction).collect::<Vec<_>>(),
        [Direction::Out, Direction::In],
        "refusals are not actions"
    );
    assert!(history[0].at < history[1].at);
}

/// The adapter, and a context inside the member account to arrange and check what it does.
async fn member_groups(emulator: &Emulator) -> (MemberGroups, AwsContext) {
    let members = members(emulator);
    let member = members.context(MEMBER);
    (MemberGroups::new(members), member)
}

fn members(emulator: &Emulator) -> MemberClients {
    let ctx = AwsContext::from_config(emulator.sdk_config()).expect("region");
    ctx.members(ctx.sessions("abc-trading-automation", "alarm-scaler"))
}

/// GIVEN a nodegroup at 1/2/4 in a member account WHEN resized to 3 THEN the emulator reports it.
#[tokio::test(flavor = "multi_thread")]
async fn a_nodegroup_is_resized_through_the_role() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let (groups, member) = member_groups(&emulator).await;
    let eks = member.client::<aws_sdk_eks::Client>();
    let vpc = aws_sdk_eks::types::VpcConfigRequest::builder().subnet_ids("subnet-1").build();
    eks.create_cluster()
        .name("c")
        .role_arn(format!("arn:aws:iam::{MEMBER}:role/eks"))
        .resources_vpc_config(vpc)
        .send()
        .await
        .expect("cluster");
    let scaling = aws_sdk_eks::types::NodegroupScalingConfig::builder().min_size(1).desired_size(2).max_size(4).build();
    eks.create_nodegroup()
        .cluster_name("c")
        .nodegroup_name("n")
        .scaling_config(scaling)
        .subnets("subnet-1")
        .node_role(format!("arn:aws:iam::{MEMBER}:role/node"))
        .tags("karpenter.sh/discovery", "no")
        .send()
        .await
        .expect("nodegroup");
    let target = Target::Nodegroup { cluster: "c".into(), nodegroup: "n".into() };
    let before = groups.describe(MEMBER, &target).await.expect("describe");
    assert_eq!(before.capacity, Capacity { min: 1, desired: 2, max: 4 });
    assert!(before.tags.contains_key("karpenter.sh/discovery"), "tags reach the autoscaler guardrail");
    groups.resize(MEMBER, &target, Capacity { min: 1, desired: 3, max: 4 }, "token-1").await.expect("resize");
    assert_eq!(groups.describe(MEMBER, &target).await.expect("describe").capacity.desired, 3);
}

/// GIVEN an Auto Scaling group at 1/1/3 WHEN resized to 4 (past its max) THEN max moves with it.
#[tokio::test(flavor = "multi_thread")]
async fn an_auto_scaling_group_is_resized_through_the_role() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let (groups, member) = member_groups(&emulator).await;
    let asg = member.client::<aws_sdk_autoscaling::Client>();
    asg.create_launch_configuration()
        .launch_configuration_name("lc")
        .image_id("ami-12345678")
        .instance_type("t3.medium")
        .send()
        .await
        .expect("launch configuration");
    asg.create_auto_scaling_group()
        .auto_scaling_group_name("w")
        .launch_configuration_name("lc")
        .min_size(1)
        .max_size(3)
        .desired_capacity(1)
        .availability_zones("us-east-1a")
        .send()
        .await
        .expect("group");
    let target = Target::AutoScalingGroup { name: "w".into() };
    groups.resize(MEMBER, &target, Capacity { min: 1, desired: 4, max: 4 }, "unused").await.expect("resize");
    assert_eq!(
        groups.describe(MEMBER, &target).await.expect("describe").capacity,
        Capacity { min: 1, desired: 4, max: 4 }
    );
    let missing =
        groups.describe(MEMBER, &Target::AutoScalingGroup { name: "nope".into() }).await.expect_err("missing");
    assert_eq!(missing.class, platform_core::error::ErrorClass::NotFound);
}

/// GIVEN Container Insights figures for two clusters in a member account, older and newer
/// datapoints THEN one read returns the newest of each for the asked cluster; a cluster with no
/// figures in the window reads as unknown.
#[tokio::test(flavor = "multi_thread")]
async fn the_pods_reservation_is_read_from_container_insights_through_the_role() {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let members = members(&emulator);
    let member = members.context(MEMBER);
    let insights = ContainerInsights::new(members);

    let now = Utc::now();
    let cw = member.client::<aws_sdk_cloudwatch::Client>();
    let datum = |cluster: &str, metric: &str, minutes_ago: i64, value: f64| {
        MetricDatum::builder()
            .metric_name(metric)
            .dimensions(Dimension::builder().name("ClusterName").value(cluster).build())
            .timestamp(aws_smithy_types::DateTime::from_secs((now - Duration::minutes(minutes_ago)).timestamp()))
            .value(value)
            .build()
    };
    cw.put_metric_data()
        .namespace("ContainerInsights")
        .metric_data(datum("dev", "node_cpu_reserved_capacity", 5, 20.0))
        .metric_data(datum("dev", "node_cpu_reserved_capacity", 2, 61.5))
        .metric_data(datum("dev", "node_memory_reserved_capacity", 2, 40.0))
        .metric_data(datum("dev", "cluster_node_count", 2, 3.0))
        .metric_data(datum("other", "node_cpu_reserved_capacity", 2, 99.0))
        // Outside the window: stale figures must not count.
        .metric_data(datum("stale", "node_cpu_reserved_capacity", 60, 50.0))
        .metric_data(datum("stale", "node_memory_reserved_capacity", 60, 50.0))
        .metric_data(datum("stale", "cluster_node_count", 60, 2.0))
        .send()
        .await
        .expect("put metric data");

    let dev = insights.reservation(MEMBER, "dev", now).await.expect("read");
    assert_eq!(dev, Some(Reservation { cpu_percent: 61.5, memory_percent: 40.0, cluster_nodes: 3.0 }));
    assert_eq!(alarm_scaler::demand::nodes_needed(&dev.expect("reading"), 3), Ok(2));
    assert_eq!(insights.reservation(MEMBER, "other", now).await.expect("read"), None, "memory and nodes missing");
    assert_eq!(insights.reservation(MEMBER, "stale", now).await.expect("read"), None, "older than the window");
}
