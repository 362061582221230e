//! The templates' IAM policies evaluated offline (crate iam-policy): what each environment's roles may and may not do.

use std::collections::BTreeMap;
use std::path::Path;

use iam_policy::{Decision, Policy, Principal, Request, evaluate, evaluate_with_boundary};
use serde_json::{Value as Json, json};
use serde_norway::Value as Yaml;

const AUTOMATION: &str = "222222222222";
const MANAGEMENT: &str = "111111111111";
const MEMBER: &str = "333333333333";
const ORG: &str = "o-abcltd00000";

/// One template, its intrinsics resolved as CloudFormation would for one stack.
struct Stack {
    doc: Yaml,
    account: String,
    parameters: BTreeMap<String, String>,
}

impl Stack {
    fn load(file: &str, account: &str, parameters: &[(&str, &str)]) -> Stack {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let doc: Yaml = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut values: BTreeMap<String, String> = doc
            .get("Parameters")
            .and_then(Yaml::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(k, p)| Some((k.as_str()?.to_string(), scalar(p.get("Default")?)?)))
            .collect();
        values.extend(parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Stack { doc, account: account.to_string(), parameters: values }
    }

    fn resource(&self, id: &str) -> &Yaml {
        self.doc.get("Resources").and_then(|r| r.get(id)).unwrap_or_else(|| panic!("no resource {id}"))
    }

    fn property(&self, id: &str, path: &[&str]) -> Json {
        let mut v = self.resource(id).get("Properties").unwrap_or_else(|| panic!("{id} has no Properties"));
        for key in path {
            v = v.get(*key).unwrap_or_else(|| panic!("{id} has no {key}"));
        }
        self.resolve(v).unwrap_or(Json::Null)
    }

    /// An inline policy of a role (`Policies[i].PolicyDocument`), or a SAM resource's `Statement` entries.
    fn inline_policies(&self, id: &str) -> Vec<Policy> {
        let policies = self.property(id, &["Policies"]);
        policies
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                p.get("PolicyDocument")
                    .cloned()
                    .or_else(|| p.get("Statement").map(|s| json!({"Version": "2012-10-17", "Statement": s})))
            })
            .map(|d| Policy::from_value(&d).unwrap_or_else(|e| panic!("{id}: {e}\n{d:#}")))
            .collect()
    }

    fn managed_policy(&self, id: &str) -> Policy {
        let d = self.property(id, &["PolicyDocument"]);
        Policy::from_value(&d).unwrap_or_else(|e| panic!("{id}: {e}\n{d:#}"))
    }

    fn document(&self, id: &str, path: &[&str]) -> Policy {
        let d = self.property(id, path);
        Policy::from_value(&d).unwrap_or_else(|e| panic!("{id}: {e}\n{d:#}"))
    }

    /// `None` is `AWS::NoValue`, dropped from the list or mapping that holds it.
    fn resolve(&self, v: &Yaml) -> Option<Json> {
        Some(match v {
            Yaml::Null => Json::Null,
            Yaml::Bool(b) => Json::Bool(*b),
            Yaml::Number(n) => json!(n.to_string()),
            Yaml::String(s) => Json::String(s.clone()),
            Yaml::Sequence(items) => Json::Array(items.iter().filter_map(|i| self.resolve(i)).collect()),
            Yaml::Tagged(t) => return self.function(t.tag.to_string().trim_start_matches('!'), &t.value),
            Yaml::Mapping(m) => {
                if m.len() == 1
                    && let Some((Yaml::String(k), arg)) = m.iter().next()
                    && (k == "Ref" || k.starts_with("Fn::"))
                {
                    return self.function(k.trim_start_matches("Fn::"), arg);
                }
                Json::Object(m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), self.resolve(v)?))).collect())
            }
        })
    }

    fn function(&self, name: &str, arg: &Yaml) -> Option<Json> {
        let text = |v: &Json| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
        Some(match name {
            "Ref" => return self.reference(arg.as_str().expect("!Ref name")),
            "GetAtt" => {
                let (id, attribute) = match arg {
                    Yaml::String(s) => s.split_once('.').expect("Resource.Attribute"),
                    Yaml::Sequence(s) => (s[0].as_str().expect("id"), s[1].as_str().expect("attribute")),
                    _ => panic!("!GetAtt {arg:?}"),
                };
                Json::String(self.attribute(id, attribute))
            }
            "Sub" => {
                let (template, vars) = match arg {
                    Yaml::String(s) => (s.clone(), BTreeMap::new()),
                    Yaml::Sequence(s) => (
                        s[0].as_str().expect("!Sub text").to_string(),
                        s[1].as_mapping()
                            .expect("!Sub variables")
                            .iter()
                            .map(|(k, v)| {
                                (
                                    k.as_str().unwrap_or_default().to_string(),
                                    text(&self.resolve(v).unwrap_or(Json::Null)),
                                )
                            })
                            .collect(),
                    ),
                    _ => panic!("!Sub {arg:?}"),
                };
                let mut out = String::new();
                let mut rest = template.as_str();
                while let Some(start) = rest.find("${") {
                    out.push_str(&rest[..start]);
                    let end = rest[start..].find('}').expect("closed ${") + start;
                    let name = &rest[start + 2..end];
                    let value = match vars.get(name) {
                        Some(v) => v.clone(),
                        None => match name.split_once('.') {
                            Some((id, attribute)) if !name.starts_with("AWS::") => self.attribute(id, attribute),
                            _ => text(&self.reference(name).unwrap_or(Json::Null)),
                        },
                    };
                    out.push_str(&value);
                    rest = &rest[end + 1..];
                }
                out.push_str(rest);
                Json::String(out)
            }
            "If" => {
                let s = arg.as_sequence().expect("!If [condition, then, else]");
                let branch = if self.condition(s[0].as_str().expect("condition")) { &s[1] } else { &s[2] };
                return self.resolve(branch);
            }
            "Join" => {
                let s = arg.as_sequence().expect("!Join");
                let items = self.resolve(&s[1]).unwrap_or(Json::Null);
                Json::String(
                    items
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(text)
                        .collect::<Vec<_>>()
                        .join(s[0].as_str().unwrap_or("")),
                )
            }
            "Equals" => {
                let s = arg.as_sequence().expect("!Equals");
                Json::Bool(self.resolve(&s[0]) == self.resolve(&s[1]))
            }
            "Or" | "And" => {
                let values: Vec<bool> = arg
                    .as_sequence()
                    .expect("list")
                    .iter()
                    .map(|c| self.resolve(c) == Some(Json::Bool(true)))
                    .collect();
                Json::Bool(if name == "Or" { values.iter().any(|b| *b) } else { values.iter().all(|b| *b) })
            }
            "Not" => Json::Bool(self.resolve(&arg.as_sequence().expect("!Not")[0]) != Some(Json::Bool(true))),
            "Condition" => Json::Bool(self.condition(arg.as_str().expect("condition"))),
            other => panic!("intrinsic {other} is not resolved here"),
        })
    }

    fn condition(&self, name: &str) -> bool {
        let c = self.doc.get("Conditions").and_then(|c| c.get(name)).unwrap_or_else(|| panic!("no condition {name}"));
        self.resolve(c) == Some(Json::Bool(true))
    }

    fn reference(&self, name: &str) -> Option<Json> {
        Some(Json::String(match name {
            "AWS::NoValue" => return None,
            "AWS::AccountId" => self.account.clone(),
            "AWS::Partition" => "aws".into(),
            "AWS::Region" => "us-east-1".into(),
            p if self.parameters.contains_key(p) => self.parameters[p].clone(),
            id => {
                let kind = self.resource(id).get("Type").and_then(Yaml::as_str).unwrap_or_default();
                match kind {
                    "AWS::IAM::ManagedPolicy" => format!("arn:aws:iam::{}:policy/{}", self.account, self.name(id)),
                    "AWS::IAM::OIDCProvider" => {
                        format!("arn:aws:iam::{}:oidc-provider/token.actions.githubusercontent.com", self.account)
                    }
                    _ => self.name(id),
                }
            }
        }))
    }

    fn name(&self, id: &str) -> String {
        let props = self.resource(id).get("Properties");
        ["RoleName", "ManagedPolicyName", "TableName", "BucketName", "Name", "FunctionName", "DeliveryStreamName"]
            .iter()
            .find_map(|k| props.and_then(|p| p.get(*k)))
            .and_then(|v| self.resolve(v))
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| id.to_string())
    }

    fn attribute(&self, id: &str, attribute: &str) -> String {
        let kind = self.resource(id).get("Type").and_then(Yaml::as_str).unwrap_or_default();
        let (account, name) = (&self.account, self.name(id));
        match (kind, attribute) {
            ("AWS::IAM::Role", "Arn") => format!("arn:aws:iam::{account}:role/{name}"),
            ("AWS::Events::EventBus", "Arn") => format!("arn:aws:events:us-east-1:{account}:event-bus/{name}"),
            ("AWS::DynamoDB::Table", "Arn") => format!("arn:aws:dynamodb:us-east-1:{account}:table/{name}"),
            ("AWS::Kinesis::Stream", "Arn") => format!("arn:aws:kinesis:us-east-1:{account}:stream/{name}"),
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{name}"),
            ("AWS::KMS::Key", "Arn") => format!("arn:aws:kms:us-east-1:{account}:key/{id}"),
            ("AWS::Serverless::Function", "Arn") => format!("arn:aws:lambda:us-east-1:{account}:function:{name}"),
            _ => format!("arn:aws:{kind}:{account}:{id}/{attribute}"),
        }
    }
}

fn scalar(v: &Yaml) -> Option<String> {
    v.as_str()
        .map(str::to_string)
        .or_else(|| v.as_bool().map(|b| b.to_string()))
        .or_else(|| v.as_u64().map(|n| n.to_string()))
}

fn pipeline(env: &str) -> Stack {
    Stack::load("stacksets/pipeline-access.yaml", AUTOMATION, &[("Environment", env)])
}

fn exec_role_policies(stack: &Stack) -> Vec<Policy> {
    let mut policies = stack.inline_policies("CloudFormationExecutionRole");
    policies.push(stack.managed_policy("ExecutionRoleIdentities"));
    policies
}

fn session(role: &str, account: &str) -> Principal {
    Principal::from_arn(&format!("arn:aws:sts::{account}:assumed-role/{role}/session")).expect("session")
}

fn boundary_arn(env: &str) -> String {
    format!("arn:aws:iam::{AUTOMATION}:policy/abc-trading-{env}-permissions-boundary")
}

fn allowed(d: &Decision) -> bool {
    d.is_allowed()
}

// ---------------------------------------------------------------- finding 2: the pipeline

/// GIVEN dev's execution role THEN a role is created only with dev's boundary, only under dev's
/// names, and the boundary never comes off.
#[test]
fn the_dev_execution_role_creates_only_bounded_dev_roles() {
    let dev = pipeline("dev");
    let policies = exec_role_policies(&dev);
    let exec = session("abc-trading-dev-platform-ops-cfn-exec", AUTOMATION);
    let role = |name: &str| format!("arn:aws:iam::{AUTOMATION}:role/{name}");
    let create = |name: &str| Request::new(exec.clone(), "iam:CreateRole", role(name));
    let bounded =
        create("abc-trading-dev-platform-ops-Fn").with_context("iam:PermissionsBoundary", boundary_arn("dev"));
    assert!(allowed(&evaluate(&policies, &bounded)));
    let unbounded = create("abc-trading-dev-platform-ops-Fn");
    assert_eq!(
        evaluate(&policies, &unbounded),
        Decision::ExplicitDeny(Some("NoPolicyOnARoleWithoutTheBoundary".into()))
    );
    let prods_boundary =
        create("abc-trading-dev-platform-ops-Fn").with_context("iam:PermissionsBoundary", boundary_arn("prod"));
    assert!(!allowed(&evaluate(&policies, &prods_boundary)));
    let prod_named =
        create("abc-trading-prod-platform-ops-Fn").with_context("iam:PermissionsBoundary", boundary_arn("dev"));
    assert!(!allowed(&evaluate(&policies, &prod_named)));
    let unbound =
        Request::new(exec.clone(), "iam:DeleteRolePermissionsBoundary", role("abc-trading-dev-platform-ops-Fn"));
    assert_eq!(evaluate(&policies, &unbound), Decision::ExplicitDeny(Some("TheBoundaryStays".into())));
    let inline_on_unbounded = Request::new(exec, "iam:PutRolePolicy", role("abc-trading-dev-by-hand"));
    assert!(!allowed(&evaluate(&policies, &inline_on_unbounded)));
}

/// GIVEN dev's execution role THEN only SAM's managed policies attach, and roles pass only to the
/// services that run them.
#[test]
fn managed_policies_and_passed_roles_are_allow_listed() {
    let dev = pipeline("dev");
    let policies = exec_role_policies(&dev);
    let exec = session("abc-trading-dev-platform-ops-cfn-exec", AUTOMATION);
    let role = format!("arn:aws:iam::{AUTOMATION}:role/abc-trading-dev-platform-ops-Fn");
    let attach = |policy: &str| {
        Request::new(exec.clone(), "iam:AttachRolePolicy", role.clone())
            .with_context("iam:PolicyARN", policy)
            .with_context("iam:PermissionsBoundary", boundary_arn("dev"))
    };
    assert!(allowed(&evaluate(&policies, &attach("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"))));
    assert!(!allowed(&evaluate(&policies, &attach("arn:aws:iam::aws:policy/AdministratorAccess"))));
    let pass = |service: &str| {
        Request::new(exec.clone(), "iam:PassRole", role.clone()).with_context("iam:PassedToService", service)
    };
    assert!(allowed(&evaluate(&policies, &pass("lambda.amazonaws.com"))));
    assert!(!allowed(&evaluate(&policies, &pass("ec2.amazonaws.com"))));
}

/// GIVEN keys told apart by their environment tag THEN dev's execution role neither uses nor tags
/// prod's key, tags a new key only as dev's, and cannot move its own key to prod.
#[test]
fn the_dev_execution_role_cannot_touch_prods_key() {
    let dev = pipeline("dev");
    let policies = exec_role_policies(&dev);
    let exec = session("abc-trading-dev-platform-ops-cfn-exec", AUTOMATION);
    let key = format!("arn:aws:kms:us-east-1:{AUTOMATION}:key/prod-key");
    let of = |env: &str, action: &str| {
        Request::new(exec.clone(), action, key.clone())
            .with_context("aws:ResourceTag/environment", env)
            .with_context("aws:ResourceTag/project", "abc-trading")
    };
    assert!(allowed(&evaluate(&policies, &of("dev", "kms:PutKeyPolicy"))));
    assert!(!allowed(&evaluate(&policies, &of("prod", "kms:PutKeyPolicy"))));
    let retag_prods = of("prod", "kms:TagResource").with_context("aws:RequestTag/environment", "dev");
    assert!(!allowed(&evaluate(&policies, &retag_prods)));
    let move_own = of("dev", "kms:TagResource").with_context("aws:RequestTag/environment", "prod");
    assert!(!allowed(&evaluate(&policies, &move_own)));
    let new_key = |env: &str| {
        Request::new(exec.clone(), "kms:TagResource", format!("arn:aws:kms:us-east-1:{AUTOMATION}:key/new"))
            .with_context("aws:RequestTag/environment", env)
            .with_context("aws:RequestTag/project", "abc-trading")
    };
    assert!(allowed(&evaluate(&policies, &new_key("dev"))));
    assert!(!allowed(&evaluate(&policies, &new_key("prod"))));
}

/// GIVEN a dev role whose template granted it everything THEN dev's boundary still keeps it off
/// prod's table, bus and member roles.
#[test]
fn the_boundary_keeps_a_dev_role_in_dev() {
    let boundary = [pipeline("dev").managed_policy("PermissionsBoundary")];
    let admin = [Policy::from_value(
        &json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}),
    )
    .expect("policy")];
    let role = session("abc-trading-dev-platform-ops-AnyRole-1", AUTOMATION);
    let call = |action: &str, resource: &str| {
        evaluate_with_boundary(&admin, &boundary, &Request::new(role.clone(), action, resource))
    };
    let table = |env: &str| format!("arn:aws:dynamodb:us-east-1:{AUTOMATION}:table/abc-trading-{env}-guard");
    assert!(allowed(&call("dynamodb:PutItem", &table("dev"))));
    assert!(!allowed(&call("dynamodb:PutItem", &table("prod"))));
    let bus = |env: &str| format!("arn:aws:events:us-east-1:{AUTOMATION}:event-bus/abc-trading-{env}");
    assert!(allowed(&call("events:PutEvents", &bus("dev"))));
    assert!(!allowed(&call("events:PutEvents", &bus("prod"))));
    assert!(!allowed(&call("iam:CreateRole", &format!("arn:aws:iam::{AUTOMATION}:role/abc-trading-dev-x"))));
    let assume = |env: &str| {
        let request =
            Request::new(role.clone(), "sts:AssumeRole", format!("arn:aws:iam::{MEMBER}:role/abc-trading-automation"))
                .with_context("aws:ResourceTag/environment", env);
        evaluate_with_boundary(&admin, &boundary, &request)
    };
    assert!(allowed(&assume("dev")));
    assert!(!allowed(&assume("prod")));
}

/// GIVEN the OIDC trust THEN only the deploy workflow at main, in the environment, gets the deploy
/// role: not a pull request's run, not another workflow of the repository.
#[test]
fn only_the_deploy_workflow_at_main_assumes_the_deploy_role() {
    let prod = pipeline("prod");
    let trust = [prod.document("PipelineDeployRole", &["AssumeRolePolicyDocument"])];
    let provider = format!("arn:aws:iam::{AUTOMATION}:oidc-provider/token.actions.githubusercontent.com");
    let token = |sub: &str| {
        Request::new(Principal::federated(provider.clone()), "sts:AssumeRoleWithWebIdentity", "*")
            .with_context("token.actions.githubusercontent.com:aud", "sts.amazonaws.com")
            .with_context("token.actions.githubusercontent.com:sub", sub)
    };
    let workflow = "abc-limited/platform-ops/.github/workflows";
    let sub = |env: &str, file: &str, git_ref: &str| {
        format!("repo:abc-limited/platform-ops:environment:{env}:job_workflow_ref:{workflow}/{file}@{git_ref}")
    };
    assert!(allowed(&evaluate(&trust, &token(&sub("prod", "deploy-environment.yml", "refs/heads/main")))));
    assert!(!allowed(&evaluate(&trust, &token(&sub("prod", "deploy-environment.yml", "refs/heads/feature")))));
    assert!(!allowed(&evaluate(&trust, &token(&sub("prod", "ci.yml", "refs/heads/main")))));
    assert!(!allowed(&evaluate(&trust, &token(&sub("dev", "deploy-environment.yml", "refs/heads/main")))));
    assert!(!allowed(&evaluate(&trust, &token("repo:abc-limited/platform-ops:environment:prod"))));
}

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
    for role in ["OrgVendingRole", "PlatformDeployRole", "SchedulesRole"] {
        let trust = prod.document(role, &["AssumeRolePolicyDocument"]);
        assert!(assumes(&trust, "abc-trading-prod-platform-ops-AccountVendingFun-CD34"), "{role}");
        assert!(!assumes(&trust, "abc-trading-dev-platform-ops-AccountVendingFun-CD34"), "{role}");
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
