//! The member, management and control-plane templates' IAM evaluated offline: trust per environment, each role's reach.

use iam_policy::{Decision, Policy, Request, evaluate, evaluate_with_boundary};
use serde_json::json;

#[path = "support/iam_stacks.rs"]
mod iam_stacks;
use iam_stacks::*;

// ---------------------------------------------------------------- findings 3 to 5: trust per environment

fn member(env: &str) -> Stack {
    Stack::load(
        "stacksets/member-baseline.yaml",
        MEMBER,
        &[
            ("Environment", env),
            ("AutomationAccountId", AUTOMATION),
            ("OrganizationId", ORG),
            ("HomeRegion", "us-east-1"),
            ("DomainName", "acme.abc-trading-dev.com"),
        ],
    )
}

fn assumes(trust: &Policy, role: &str) -> bool {
    let request =
        Request::new(session(role, AUTOMATION), "sts:AssumeRole", format!("arn:aws:iam::{MEMBER}:role/target"))
            .with_context("aws:PrincipalOrgID", ORG)
            .with_context("aws:PrincipalTag/managed-by", "platform-ops");
    evaluate(std::slice::from_ref(trust), &request).is_allowed()
}

/// GIVEN a prod member account THEN its roles refuse dev's function roles (tagged managed-by as
/// they are) and the pipeline's roles, and take prod's.
#[test]
fn member_roles_trust_only_their_environments_function_roles() {
    let prod = member("prod");
    for role in ["AutomationRole", "ScalerRole", "DeployRole", "SchedulesRole"] {
        let trust = prod.document(role, &["AssumeRolePolicyDocument"]);
        assert!(assumes(&trust, "abc-trading-prod-platform-ops-AlarmScalerFunctio-AB12"), "{role}");
        assert!(!assumes(&trust, "abc-trading-dev-platform-ops-AlarmScalerFunctio-AB12"), "{role}");
        assert!(!assumes(&trust, "abc-trading-prod-platform-ops-pipeline"), "{role}");
        assert!(!assumes(&trust, "someone-tagged-managed-by-platform-ops"), "{role}");
    }
}

/// GIVEN one role per function THEN only the deploy's may touch access entries, and only its own,
/// with cluster admin at cluster scope; the scaler resizes, and cannot let anyone into the cluster.
#[test]
fn each_member_role_does_only_what_its_function_does() {
    let dev = member("dev");
    let cluster = format!("arn:aws:eks:us-east-1:{MEMBER}:cluster/abc-trading-dev");
    let entry =
        |role: &str| format!("arn:aws:eks:us-east-1:{MEMBER}:access-entry/abc-trading-dev/role/{MEMBER}/{role}/x");
    let deploy = dev.inline_policies("DeployRole");
    let caller = session("abc-trading-automation-deploy", MEMBER);
    let own = format!("arn:aws:iam::{MEMBER}:role/abc-trading-automation-deploy");
    let create = |principal: &str| {
        Request::new(caller.clone(), "eks:CreateAccessEntry", cluster.clone())
            .with_context("eks:principalArn", principal)
    };
    assert!(allowed(&evaluate(&deploy, &create(&own))));
    assert!(!allowed(&evaluate(&deploy, &create(&format!("arn:aws:iam::{MEMBER}:role/intruder")))));
    let associate = |role: &str, policy: &str| {
        Request::new(caller.clone(), "eks:AssociateAccessPolicy", entry(role))
            .with_context("eks:policyArn", format!("arn:aws:eks::aws:cluster-access-policy/{policy}"))
            .with_context("eks:accessScope", "cluster")
    };
    assert!(allowed(&evaluate(&deploy, &associate("abc-trading-automation-deploy", "AmazonEKSClusterAdminPolicy"))));
    assert!(!allowed(&evaluate(&deploy, &associate("abc-trading-automation-scaler", "AmazonEKSClusterAdminPolicy"))));
    let scaler = dev.inline_policies("ScalerRole");
    let scaler_caller = session("abc-trading-automation-scaler", MEMBER);
    let nodegroup = format!("arn:aws:eks:us-east-1:{MEMBER}:nodegroup/abc-trading-dev/abc-trading-dev-nodes/1");
    assert!(allowed(&evaluate(&scaler, &Request::new(scaler_caller.clone(), "eks:UpdateNodegroupConfig", nodegroup))));
    for action in ["eks:CreateAccessEntry", "eks:AssociateAccessPolicy"] {
        assert!(
            !allowed(&evaluate(&scaler, &Request::new(scaler_caller.clone(), action, cluster.clone()))),
            "{action}"
        );
    }
}

fn management(env: &str) -> Stack {
    Stack::load(
        "stacksets/management-access.yaml",
        MANAGEMENT,
        &[
            ("Environment", env),
            ("AutomationAccountId", AUTOMATION),
            ("OrganizationId", ORG),
            ("RootId", "r-ab12"),
            ("EnvironmentOuId", "ou-ab12-prod0000"),
            ("QuarantineOuId", "ou-ab12-quar0000"),
        ],
    )
}

/// GIVEN prod's management roles THEN dev's functions cannot assume them, and prod's vending moves
/// accounts only between the root, prod's OU and Quarantine, never one tagged for another environment.
#[test]
fn management_roles_are_per_environment_and_reach_only_its_ous() {
    let prod = management("prod");
    for role in ["OrgVendingRole", "PlatformDeployRole", "SchedulesRole", "FleetPlanRole"] {
        let trust = prod.document(role, &["AssumeRolePolicyDocument"]);
        assert!(assumes(&trust, "abc-trading-prod-platform-ops-AccountVendingFun-CD34"), "{role}");
        assert!(!assumes(&trust, "abc-trading-dev-platform-ops-AccountVendingFun-CD34"), "{role}");
    }
    // The fleet plan reads the platform StackSet's instances and changes nothing.
    let plan = prod.inline_policies("FleetPlanRole");
    let planner = session("abc-trading-prod-fleet-plan", MANAGEMENT);
    let platform = format!("arn:aws:cloudformation:us-east-1:{MANAGEMENT}:stackset/abc-trading-platform:1a2b");
    let on = |action: &str| Request::new(planner.clone(), action, platform.clone());
    assert!(allowed(&evaluate(&plan, &on("cloudformation:DescribeStackInstance"))));
    for action in ["cloudformation:CreateStackInstances", "cloudformation:UpdateStackInstances"] {
        assert!(!allowed(&evaluate(&plan, &on(action))), "{action}");
    }
    let vending = prod.inline_policies("OrgVendingRole");
    let caller = session("abc-trading-prod-org-vending", MANAGEMENT);
    let arn = |tail: &str| format!("arn:aws:organizations::{MANAGEMENT}:{tail}");
    let moves = |resource: String, env: Option<&str>| {
        let request = Request::new(caller.clone(), "organizations:MoveAccount", resource);
        let request = match env {
            Some(e) => request.with_context("aws:ResourceTag/environment", e),
            None => request,
        };
        evaluate(&vending, &request).is_allowed()
    };
    assert!(moves(arn(&format!("account/{ORG}/444455556666")), Some("prod")));
    assert!(moves(arn(&format!("account/{ORG}/444455556666")), None));
    assert!(!moves(arn(&format!("account/{ORG}/444455556666")), Some("dev")));
    assert!(moves(arn(&format!("ou/{ORG}/ou-ab12-quar0000")), None));
    assert!(!moves(arn(&format!("ou/{ORG}/ou-ab12-security")), None));
    assert!(!moves(arn(&format!("account/{ORG}/{MANAGEMENT}")), None));
    let create = |env: &str| {
        Request::new(caller.clone(), "organizations:CreateAccount", "*")
            .with_context("aws:RequestTag/environment", env)
            .with_context("aws:RequestTag/managed-by", "platform-ops")
            .with_context_values("aws:TagKeys", ["environment", "managed-by"])
    };
    assert!(allowed(&evaluate(&vending, &create("prod"))));
    assert!(!allowed(&evaluate(&vending, &create("dev"))));
}

// ---------------------------------------------------------------- findings 8 and 9: publishing and audit

fn template() -> Stack {
    Stack::load(
        "template.yaml",
        AUTOMATION,
        &[
            ("Environment", "dev"),
            ("OrganizationId", ORG),
            ("ManagementAccountId", MANAGEMENT),
            ("AutomationAccountId", AUTOMATION),
            ("ImageRegistry", AUTOMATION),
            ("MemberRegions", "us-east-1"),
            ("DomainName", "abc-trading-dev.com"),
        ],
    )
}

/// GIVEN the publishers' policies THEN the log processor raises only FailureSignatureDetected and
/// vending only AccountReady: neither can start another flow.
#[test]
fn publishers_put_only_their_own_detail_type() {
    let stack = template();
    let bus = format!("arn:aws:events:us-east-1:{AUTOMATION}:event-bus/abc-trading-dev");
    let put = |id: &str, detail_type: &str| {
        let request = Request::new(session("abc-trading-dev-x", AUTOMATION), "events:PutEvents", bus.clone())
            .with_context("events:source", "abc.platform")
            .with_context("events:detail-type", detail_type);
        evaluate(&stack.inline_policies(id), &request).is_allowed()
    };
    assert!(put("LogProcessorFunction", "FailureSignatureDetected"));
    assert!(!put("LogProcessorFunction", "AccountRequested"));
    assert!(!put("LogProcessorFunction", "ReleaseRequested"));
    assert!(put("AccountVendingStateMachine", "AccountReady"));
    assert!(!put("AccountVendingStateMachine", "ReleaseRequested"));
}

/// GIVEN the guard table THEN the functions write only their own partitions, nobody deletes an
/// audit partition, and the pipeline cannot reopen the log archive once it exists.
#[test]
fn audit_records_are_out_of_reach() {
    let stack = template();
    let table = format!("arn:aws:dynamodb:us-east-1:{AUTOMATION}:table/abc-trading-dev-guard");
    let write = |id: &str, action: &str, partition: &str| {
        let request = Request::new(session("abc-trading-dev-x", AUTOMATION), action, table.clone())
            .with_context_values("dynamodb:LeadingKeys", [partition]);
        evaluate(&stack.inline_policies(id), &request).is_allowed()
    };
    assert!(write("AlarmScalerFunction", "dynamodb:DeleteItem", "target#123/abc-trading-dev-nodes"));
    assert!(!write("AlarmScalerFunction", "dynamodb:PutItem", "vending#v-1"));
    assert!(!write("AlarmScalerFunction", "dynamodb:PutItem", "drift"));
    assert!(write("AccountVendingFunction", "dynamodb:UpdateItem", "vending#v-1"));
    assert!(!write("AccountVendingFunction", "dynamodb:DeleteItem", "vending#v-1"));
    assert!(!write("AccountVendingFunction", "dynamodb:PutItem", "target#123/x"));
    let table_policy = [stack.document("GuardTable", &["ResourcePolicy", "PolicyDocument"])];
    let anyone = |action: &str, partition: &str| {
        let request = Request::new(session("Admin", AUTOMATION), action, table.clone())
            .with_context_values("dynamodb:LeadingKeys", [partition]);
        evaluate(&table_policy, &request)
    };
    assert!(matches!(anyone("dynamodb:DeleteItem", "vending#v-1"), Decision::ExplicitDeny(_)));
    assert!(matches!(anyone("dynamodb:UpdateItem", "drift"), Decision::ExplicitDeny(_)));
    assert_eq!(anyone("dynamodb:DeleteItem", "target#123/x"), Decision::ImplicitDeny);
    let archive = [stack.document("LogArchiveBucketPolicy", &["PolicyDocument"])];
    let bucket = format!("arn:aws:s3:::abc-trading-dev-logs-{AUTOMATION}");
    let by_pipeline =
        Request::new(session("abc-trading-dev-platform-ops-cfn-exec", AUTOMATION), "s3:PutBucketPolicy", bucket)
            .with_context("aws:SecureTransport", "true");
    assert!(
        matches!(evaluate(&archive, &by_pipeline), Decision::ExplicitDeny(Some(sid)) if sid == "ThePipelineCannotReopenTheArchive")
    );
}

// ---------------------------------------------------------------- monitoring and on-call

/// GIVEN the environment's bus policy THEN a member account of the organisation may forward its
/// alarms' state changes (remediation and health alike: the rules tell them apart by name), and
/// still nothing else, and no account outside the organisation may.
#[test]
fn members_forward_only_alarm_state_changes_to_the_bus() {
    let stack = template();
    let statement = stack.property("PlatformEventBusPolicy", &["Statement"]);
    let policy = [Policy::from_value(&json!({"Version": "2012-10-17", "Statement": statement})).expect("policy")];
    let bus = format!("arn:aws:events:us-east-1:{AUTOMATION}:event-bus/abc-trading-dev");
    let put = |org: &str, source: &str, detail_type: &str| {
        let request = Request::new(session("forwarder", MEMBER), "events:PutEvents", bus.clone())
            .with_context("aws:PrincipalOrgID", org)
            .with_context("events:source", source)
            .with_context("events:detail-type", detail_type);
        evaluate(&policy, &request).is_allowed()
    };
    assert!(put(ORG, "aws.cloudwatch", "CloudWatch Alarm State Change"));
    assert!(!put(ORG, "abc.platform", "ReleaseRequested"));
    assert!(!put(ORG, "aws.cloudwatch", "CloudWatch Alarm Configuration Change"));
    assert!(!put("o-elsewhere000", "aws.cloudwatch", "CloudWatch Alarm State Change"));
}

/// GIVEN on-call's policy THEN it pages only through the paging topic, reads only its paging key,
/// writes only incident records of the guard table and reads only its environment's alarms.
#[test]
fn on_call_pages_through_its_topic_and_writes_only_incidents() {
    let stack = template();
    let policies = stack.inline_policies("OnCallFunction");
    let caller = session("abc-trading-dev-platform-ops-OnCallFunction-AB12", AUTOMATION);
    let can = |request: Request| evaluate(&policies, &request).is_allowed();
    let call = |action: &str, resource: &str| Request::new(caller.clone(), action, resource);
    let paging = stack.reference("PagingTopic").and_then(|v| v.as_str().map(str::to_string)).expect("topic");
    let notifications =
        stack.reference("NotificationsTopic").and_then(|v| v.as_str().map(str::to_string)).expect("topic");
    assert!(can(call("sns:Publish", &paging)));
    assert!(!can(call("sns:Publish", &notifications)));
    let parameter = |name: &str| format!("arn:aws:ssm:us-east-1:{AUTOMATION}:parameter{name}");
    assert!(can(call("ssm:GetParameter", &parameter("/abc-trading/dev/on-call/paging-key"))));
    assert!(!can(call("ssm:GetParameter", &parameter("/abc-trading/prod/on-call/paging-key"))));
    let table = format!("arn:aws:dynamodb:us-east-1:{AUTOMATION}:table/abc-trading-dev-guard");
    let write = |partition: &str| {
        can(call("dynamodb:PutItem", &table).with_context_values("dynamodb:LeadingKeys", [partition]))
    };
    assert!(write("incident#dev#333333333333#abc-trading-dev-health-rds-cpu-high"));
    assert!(!write("vending#v-1"));
    assert!(!write("target#123/x"));
    assert!(!can(call("dynamodb:DeleteItem", &table).with_context_values("dynamodb:LeadingKeys", ["incident#x"])));
    let alarm = |name: &str| format!("arn:aws:cloudwatch:us-east-1:{AUTOMATION}:alarm:{name}");
    assert!(can(call(
        "cloudwatch:DescribeAlarms",
        &alarm("abc-trading-dev-333333333333-slo-core-availability-fast-short")
    )));
    assert!(!can(call(
        "cloudwatch:DescribeAlarms",
        &alarm("abc-trading-prod-333333333333-slo-core-availability-fast-short")
    )));
    assert!(can(call("ssm:UpdateOpsItem", &format!("arn:aws:ssm:us-east-1:{AUTOMATION}:opsitem/oi-0123456789ab"))));
}

/// GIVEN platform deploy's policy THEN it manages the client accounts' alarms of its environment
/// in this account (`abc-trading-<env>-<account>-*`), never the control plane's own alarms nor
/// another environment's.
#[test]
fn platform_deploy_manages_only_the_client_accounts_alarms() {
    let stack = template();
    let policies = stack.inline_policies("PlatformDeployFunction");
    let caller = session("abc-trading-dev-platform-ops-PlatformDeployFunc-CD34", AUTOMATION);
    let put = |name: &str| {
        let alarm = format!("arn:aws:cloudwatch:us-east-1:{AUTOMATION}:alarm:{name}");
        evaluate(&policies, &Request::new(caller.clone(), "cloudwatch:PutMetricAlarm", alarm)).is_allowed()
    };
    assert!(put("abc-trading-dev-333333333333-slo-core-availability-fast-long"));
    assert!(put("abc-trading-dev-333333333333-health-errors-audit"));
    assert!(!put("abc-trading-dev-dlq-not-empty"));
    assert!(!put("abc-trading-dev-platform-deploy-failed"));
    assert!(!put("abc-trading-prod-333333333333-health-errors-audit"));
}

/// GIVEN the monitoring sink THEN only the organisation's accounts link to it, and only their
/// metrics, log groups and traces.
#[test]
fn only_the_organisations_telemetry_links_to_the_sink() {
    let stack = template();
    let policy = [stack.document("ObservabilitySink", &["Policy"])];
    let link = |org: &str, types: &[&str]| {
        let request = Request::new(session("stackset-execution", MEMBER), "oam:CreateLink", "*")
            .with_context("aws:PrincipalOrgID", org)
            .with_context_values("oam:ResourceTypes", types.iter().copied());
        evaluate(&policy, &request).is_allowed()
    };
    assert!(link(ORG, &["AWS::CloudWatch::Metric", "AWS::Logs::LogGroup", "AWS::XRay::Trace"]));
    assert!(!link(ORG, &["AWS::CloudWatch::Metric", "AWS::ApplicationInsights::Application"]));
    assert!(!link("o-elsewhere000", &["AWS::CloudWatch::Metric"]));
}

/// GIVEN dev's boundary THEN what on-call and platform deploy are granted for monitoring is
/// within it (alarms, OpsItems, the paging topic and key), and prod's alarms are not.
#[test]
fn the_monitoring_grants_fit_inside_the_boundary() {
    let stack = template();
    let boundary = [pipeline("dev").managed_policy("PermissionsBoundary")];
    let caller = session("abc-trading-dev-platform-ops-OnCallFunction-AB12", AUTOMATION);
    let allowed_for = |id: &str, action: &str, resource: &str| {
        let request = Request::new(caller.clone(), action, resource)
            .with_context_values("dynamodb:LeadingKeys", ["incident#dev#333333333333#x"]);
        evaluate_with_boundary(&stack.inline_policies(id), &boundary, &request).is_allowed()
    };
    let alarm = |name: &str| format!("arn:aws:cloudwatch:us-east-1:{AUTOMATION}:alarm:{name}");
    let paging = format!("arn:aws:sns:us-east-1:{AUTOMATION}:abc-trading-dev-paging");
    let opsitem = format!("arn:aws:ssm:us-east-1:{AUTOMATION}:opsitem/oi-0123456789ab");
    let key = format!("arn:aws:ssm:us-east-1:{AUTOMATION}:parameter/abc-trading/dev/on-call/paging-key");
    let table = format!("arn:aws:dynamodb:us-east-1:{AUTOMATION}:table/abc-trading-dev-guard");
    assert!(allowed_for("OnCallFunction", "ssm:CreateOpsItem", "*"));
    assert!(allowed_for("OnCallFunction", "ssm:UpdateOpsItem", &opsitem));
    assert!(allowed_for("OnCallFunction", "ssm:GetParameter", &key));
    assert!(allowed_for("OnCallFunction", "dynamodb:PutItem", &table));
    assert!(allowed_for(
        "OnCallFunction",
        "cloudwatch:DescribeAlarms",
        &alarm("abc-trading-dev-333333333333-slo-x-long")
    ));
    let dev_alarm = alarm("abc-trading-dev-333333333333-health-errors-audit");
    for action in
        ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:DescribeAlarms"]
    {
        assert!(allowed_for("PlatformDeployFunction", action, &dev_alarm), "{action}");
    }
    let admin = [Policy::from_value(
        &json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}),
    )
    .expect("policy")];
    let prod_alarm = alarm("abc-trading-prod-333333333333-health-errors-audit");
    let request = Request::new(caller.clone(), "cloudwatch:PutMetricAlarm", prod_alarm);
    assert!(!evaluate_with_boundary(&admin, &boundary, &request).is_allowed());
    // The paging topic by its name (template.yaml names it abc-trading-<env>-paging).
    let publish = Request::new(caller, "sns:Publish", paging);
    assert!(evaluate_with_boundary(&admin, &boundary, &publish).is_allowed());
}

/// GIVEN the deploy's member role THEN it attaches only the platform's own edge target group, only
/// to the groups of the environment's cluster, and writes only the A record of the client's own
/// name, by UPSERT: no other record of the zone (validation, delegation) and no delete.
#[test]
fn the_deploy_role_wires_only_the_clients_own_edge() {
    let dev = member("dev");
    let deploy = dev.inline_policies("DeployRole");
    let caller = session("abc-trading-automation-deploy", MEMBER);
    let group = format!(
        "arn:aws:autoscaling:us-east-1:{MEMBER}:autoScalingGroup:0f1e:autoScalingGroupName/eks-abc-trading-dev-nodes-1a2b"
    );
    let target =
        |name: &str| format!("arn:aws:elasticloadbalancing:us-east-1:{MEMBER}:targetgroup/{name}/6d0ecf831eec9f09");
    let attach = |cluster: &str, target_group: String| {
        Request::new(caller.clone(), "autoscaling:AttachLoadBalancerTargetGroups", group.clone())
            .with_context("aws:ResourceTag/eks:cluster-name", cluster)
            .with_context_values("autoscaling:TargetGroupARNs", [target_group])
    };
    assert!(evaluate(&deploy, &attach("abc-trading-dev", target("abc-trading-dev-edge"))).is_allowed());
    assert!(!evaluate(&deploy, &attach("abc-trading-prod", target("abc-trading-dev-edge"))).is_allowed());
    assert!(!evaluate(&deploy, &attach("abc-trading-dev", target("someone-elses"))).is_allowed());
    let zone = "arn:aws:route53:::hostedzone/acme.abc-trading-dev.com";
    let change = |zone: &str, name: &str, kind: &str, action: &str| {
        Request::new(caller.clone(), "route53:ChangeResourceRecordSets", zone.to_string())
            .with_context_values("route53:ChangeResourceRecordSetsNormalizedRecordNames", [name.to_string()])
            .with_context_values("route53:ChangeResourceRecordSetsRecordTypes", [kind.to_string()])
            .with_context_values("route53:ChangeResourceRecordSetsActions", [action.to_string()])
    };
    assert!(evaluate(&deploy, &change(zone, "acme.abc-trading-dev.com", "A", "UPSERT")).is_allowed());
    for (name, kind, action) in [
        ("acme.abc-trading-dev.com", "A", "DELETE"),
        ("acme.abc-trading-dev.com", "NS", "UPSERT"),
        ("_3f2a.acme.abc-trading-dev.com", "CNAME", "UPSERT"),
        ("www.acme.abc-trading-dev.com", "A", "UPSERT"),
    ] {
        assert!(!evaluate(&deploy, &change(zone, name, kind, action)).is_allowed(), "{name} {kind} {action}");
    }
    let other = "arn:aws:route53:::hostedzone/Z0OTHER";
    assert!(!evaluate(&deploy, &change(other, "acme.abc-trading-dev.com", "A", "UPSERT")).is_allowed());
}

/// GIVEN the restore test's statements on the schedules role THEN it restores and deletes only
/// tagged `abc-trading-<env>-restore-*` instances: never the platform's own database, never
/// another environment's, never an untagged scratch instance.
#[test]
fn the_restore_test_deletes_only_its_own_scratch_instances() {
    let dev = member("dev");
    let schedules = dev.inline_policies("SchedulesRole");
    let caller = session("abc-trading-automation-schedules", MEMBER);
    let db = |name: &str| format!("arn:aws:rds:us-east-1:{MEMBER}:db:{name}");
    let delete = |name: &str, tagged: bool| {
        let request = Request::new(caller.clone(), "rds:DeleteDBInstance", db(name));
        if tagged { request.with_context("aws:ResourceTag/abc-trading:restore-test", "rt-1") } else { request }
    };
    assert!(evaluate(&schedules, &delete("abc-trading-dev-restore-1a2b", true)).is_allowed());
    assert!(!evaluate(&schedules, &delete("abc-trading-dev-restore-1a2b", false)).is_allowed());
    assert!(!evaluate(&schedules, &delete("abc-trading-dev", true)).is_allowed());
    assert!(!evaluate(&schedules, &delete("abc-trading-prod-restore-1a2b", true)).is_allowed());
    let restore = |target: &str, tagged: bool| {
        let request = Request::new(caller.clone(), "rds:RestoreDBInstanceFromDBSnapshot", db(target));
        if tagged { request.with_context("aws:RequestTag/abc-trading:restore-test", "rt-1") } else { request }
    };
    assert!(evaluate(&schedules, &restore("abc-trading-dev-restore-1a2b", true)).is_allowed());
    assert!(!evaluate(&schedules, &restore("abc-trading-dev-restore-1a2b", false)).is_allowed());
    assert!(!evaluate(&schedules, &restore("abc-trading-dev", true)).is_allowed());
    let snapshot = format!("arn:aws:rds:us-east-1:{MEMBER}:snapshot:rds:abc-trading-dev-2026-12-05-04-00");
    let from = Request::new(caller.clone(), "rds:RestoreDBInstanceFromDBSnapshot", snapshot)
        .with_context("aws:RequestTag/abc-trading:restore-test", "rt-1");
    assert!(evaluate(&schedules, &from).is_allowed());
    let modify = Request::new(caller, "rds:ModifyDBInstance", db("abc-trading-dev"));
    assert!(!evaluate(&schedules, &modify).is_allowed());
}

/// GIVEN the approvers' policy and the fleet's roles THEN an approver writes only the decision
/// fields of an approval (never its token, never a lease or an audit record), nobody deletes an
/// approval or a fleet audit record, and the deploy function touches only leases.
#[test]
fn approvers_decide_and_nothing_more() {
    let stack = template();
    let table = format!("arn:aws:dynamodb:us-east-1:{AUTOMATION}:table/abc-trading-dev-guard");
    let approver = [stack.managed_policy("ReleaseApproverPolicy")];
    let update = |partition: &str, attributes: &[&str]| {
        let request = Request::new(session("release-approvers", AUTOMATION), "dynamodb:UpdateItem", table.clone())
            .with_context_values("dynamodb:LeadingKeys", [partition])
            .with_context_values("dynamodb:Attributes", attributes.iter().map(|a| a.to_string()));
        evaluate(&approver, &request).is_allowed()
    };
    assert!(update("approval#fleet-1", &["pk", "sk", "verdict", "decided_by", "decided_at", "reason"]));
    assert!(!update("approval#fleet-1", &["verdict", "token"]), "the token is not the approver's to change");
    assert!(!update("approval#fleet-1", &["answer_by"]), "nor the deadline");
    assert!(!update("lease#dev#333333333333", &["holder"]));
    assert!(!update("fleet#fleet-1", &["event"]));
    let table_policy = [stack.document("GuardTable", &["ResourcePolicy", "PolicyDocument"])];
    for partition in ["approval#fleet-1", "fleet#fleet-1"] {
        let request = Request::new(session("Admin", AUTOMATION), "dynamodb:DeleteItem", table.clone())
            .with_context_values("dynamodb:LeadingKeys", [partition]);
        assert!(matches!(evaluate(&table_policy, &request), Decision::ExplicitDeny(_)), "{partition}");
    }
    let deploy = |action: &str, partition: &str| {
        let request = Request::new(session("abc-trading-dev-x", AUTOMATION), action, table.clone())
            .with_context_values("dynamodb:LeadingKeys", [partition]);
        evaluate(&stack.inline_policies("PlatformDeployFunction"), &request).is_allowed()
    };
    assert!(deploy("dynamodb:PutItem", "lease#dev#333333333333"));
    assert!(deploy("dynamodb:DeleteItem", "lease#dev#333333333333"));
    assert!(!deploy("dynamodb:PutItem", "approval#fleet-1"));
    let fleet = |action: &str, partition: &str| {
        let request = Request::new(session("abc-trading-dev-x", AUTOMATION), action, table.clone())
            .with_context_values("dynamodb:LeadingKeys", [partition]);
        evaluate(&stack.inline_policies("FleetReleaseFunction"), &request).is_allowed()
    };
    assert!(fleet("dynamodb:PutItem", "approval#fleet-1"));
    assert!(!fleet("dynamodb:DeleteItem", "approval#fleet-1"));
    assert!(!fleet("dynamodb:PutItem", "lease#dev#333333333333"));
}
