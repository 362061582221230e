//! The world `state_machine.rs` runs the fleet release's definition against: the real handler on the ledger, approvals, alarms and reports in memory, each account's platform deploy a fake child.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asl::{
    Execution, Failure, Resolver, Start, StateMachine, TaskContext, TaskOutput, TaskRequest, TaskTokens, execute,
};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use fleet_release::aws::SsmFleetLedger;
use fleet_release::fakes::{MemoryAlarmStates, MemoryPlanReports};
use fleet_release::handler::{Deps, Request, handle};
use platform_core::config::{self, ConfigTree};
use platform_core::fakes::{FakeParameterStore, MemoryApprovals, MemoryStackSets};
use platform_core::ports::ParameterStore;
use platform_core::trust::Boundary;
use serde_json::{Value, json};

pub const PREFIX: &str = "/abc-trading";
pub const RELEASE: &str = "2026.12.1";
/// What every account of a world runs before (its rollback target).
pub const PREVIOUS: &str = "2026.11.3";
pub const ALICE: &str = "arn:aws:sts::222222222222:assumed-role/release/alice";
pub const BOB: &str = "arn:aws:sts::222222222222:assumed-role/release-approvers/bob";
pub const FUNCTION: &str = "arn:aws:lambda:us-east-1:222222222222:function:abc-trading-fleet-release";
pub const DEPLOY: &str = "arn:aws:states:us-east-1:222222222222:stateMachine:abc-trading-platform-deploy";
pub const FLEET: &str = "arn:aws:states:us-east-1:222222222222:stateMachine:abc-trading-fleet-release";
pub const TOPIC: &str = "arn:aws:sns:us-east-1:222222222222:abc-trading-notifications";
pub const TABLE: &str = "abc-trading-guard";
pub const BUCKET: &str = "abc-trading-reports-222222222222";

/// The definition as the template deploys it, its placeholders filled.
pub fn machine() -> StateMachine {
    let path = emulator::workspace_root().join("state-machines/fleet-release.asl.json");
    let text = std::fs::read_to_string(path)
        .expect("definition")
        .replace("${FleetReleaseFunctionArn}", FUNCTION)
        .replace("${NotificationsTopicArn}", TOPIC)
        .replace("${GuardTableName}", TABLE)
        .replace("${ReportBucketName}", BUCKET)
        .replace("${PlatformDeployStateMachineArn}", DEPLOY);
    if let Some(i) = text.find("${") {
        panic!("a placeholder is left: {}", text[i..].chars().take(60).collect::<String>());
    }
    StateMachine::parse(&text).expect("the definition loads in the engine")
}

pub fn tree() -> ConfigTree {
    config::load_as_of(&config::repository_config_dir(), NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"))
        .expect("config")
}

/// An instant on the virtual clock (RFC 3339).
pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("instant")
}

/// Tuesday 1 December 2026, 19:00 UTC: London's session closed hours ago, the next opens tomorrow.
pub fn evening() -> DateTime<Utc> {
    at("2026-12-01T19:00:00Z")
}

pub fn account(i: usize) -> String {
    format!("{:012}", 300_000_000_000 + i)
}

/// The release's tag for every workload of the catalogue.
pub fn tags(tag: &str) -> Value {
    Value::Object(tree().catalog.services.keys().map(|w| (w.clone(), json!(tag))).collect())
}

/// One platform deploy the fleet started: the state that started it, its name and input, and
/// when (the virtual clock at StartExecution).
#[derive(Debug, Clone, PartialEq)]
pub struct Child {
    pub state: String,
    pub name: String,
    pub input: Value,
    pub at: DateTime<Utc>,
}

#[derive(Debug)]
pub struct World {
    pub env: String,
    pub params: Arc<FakeParameterStore>,
    pub approvals: Arc<MemoryApprovals>,
    pub alarms: Arc<MemoryAlarmStates>,
    pub reports: Arc<MemoryPlanReports>,
    pub deps: Deps,
    /// How long one account's deploy (or rollback) takes on the virtual clock.
    pub deploy_time: Duration,
    /// Accounts whose deploy fails (platform deploy rolled them back itself).
    pub failing: Mutex<BTreeSet<String>>,
    /// The handler's actions, in the order they ran.
    pub actions: Mutex<Vec<String>>,
    pub deploys: Mutex<Vec<Child>>,
    pub rollbacks: Mutex<Vec<Child>>,
    /// Every child execution name started, with its input: a name is one execution.
    pub names: Mutex<BTreeMap<String, Value>>,
    /// The guard table's audit items, each attribute's S or N as a string.
    pub audits: Mutex<Vec<BTreeMap<String, String>>>,
    /// (subject, message) of each notification.
    pub notified: Mutex<Vec<(String, String)>>,
}

impl World {
    /// `n` vended accounts of `env` on 2026.11.3 (the first is ABC's own, the canary client),
    /// releases 2026.11.3 and 2026.12.1 published.
    pub fn new(env: &str, n: usize) -> Arc<World> {
        let params = Arc::new(FakeParameterStore::default());
        for i in 0..n {
            let id = account(i);
            let root = format!("{PREFIX}/accounts/{env}/{id}");
            params.insert(&format!("{root}/id"), &id);
            params.insert(&format!("{root}/client"), if i == 0 { "abc" } else { "client" });
            params.insert(&format!("{root}/release"), &json!({"name": PREVIOUS, "tags": tags(PREVIOUS)}).to_string());
        }
        for name in [PREVIOUS, RELEASE] {
            params.insert(
                &format!("{PREFIX}/{env}/releases/{name}"),
                &json!({"name": name, "default_tag": name}).to_string(),
            );
        }
        params.insert(&format!("{PREFIX}/{env}/current-release"), PREVIOUS);
        let approvals = Arc::new(MemoryApprovals::default());
        let alarms = Arc::new(MemoryAlarmStates::default());
        let reports = Arc::new(MemoryPlanReports::default());
        let clients: Vec<(String, &str)> =
            (0..n).map(|i| (account(i), if i == 0 { "abc" } else { "client" })).collect();
        let deps = Deps {
            stack_sets: deployed_instances(&tree(), env, &clients),
            boundary: Boundary {
                environment: env.into(),
                automation_account_id: "222222222222".into(),
                management_account_id: "111111111111".into(),
            },
            tree: tree(),
            ledger: Arc::new(SsmFleetLedger::new(params.clone(), PREFIX)),
            approvals: approvals.clone(),
            alarms: alarms.clone(),
            reports: reports.clone(),
        };
        Arc::new(World {
            env: env.into(),
            params,
            approvals,
            alarms,
            reports,
            deps,
            deploy_time: Duration::from_secs(150),
            failing: Mutex::default(),
            actions: Mutex::default(),
            deploys: Mutex::default(),
            rollbacks: Mutex::default(),
            names: Mutex::default(),
            audits: Mutex::default(),
            notified: Mutex::default(),
        })
    }

    /// Staging's fleet release of 2026.12.1 finished: what prod's promotion asks.
    pub fn staging_finished(&self) {
        let outcome = json!({"release": RELEASE, "succeeded": true, "execution": "s-1",
            "finished_at": "2026-12-01T20:00:00Z", "deployed": 3, "failed": 0});
        self.params.insert(&format!("{PREFIX}/staging/fleet/{RELEASE}"), &outcome.to_string());
    }

    /// Account `i` runs `name` with its tags (or nothing: never deployed).
    pub async fn runs(&self, i: usize, name: Option<&str>) {
        let key = format!("{PREFIX}/accounts/{}/{}/release", self.env, account(i));
        match name {
            Some(n) => self.params.insert(&key, &json!({"name": n, "tags": tags(n)}).to_string()),
            None => self.params.delete(std::slice::from_ref(&key)).await.expect("delete"),
        }
    }

    pub fn fail_deploy_of(&self, i: usize) {
        self.failing.lock().expect("lock").insert(account(i));
    }

    /// The fleet outcome the ledger holds for 2026.12.1 in this environment.
    pub fn outcome(&self) -> Option<Value> {
        let text = self.params.snapshot().get(&format!("{PREFIX}/{}/fleet/{RELEASE}", self.env)).cloned()?;
        Some(serde_json::from_str(&text).expect("an outcome reads"))
    }

    pub fn actions(&self) -> Vec<String> {
        self.actions.lock().expect("lock").clone()
    }

    pub fn deploys(&self) -> Vec<Child> {
        self.deploys.lock().expect("lock").clone()
    }

    pub fn rollbacks(&self) -> Vec<Child> {
        self.rollbacks.lock().expect("lock").clone()
    }

    /// The audit items of `event` (`refused`, `approved`, `stopped`...).
    pub fn audits(&self, event: &str) -> Vec<BTreeMap<String, String>> {
        let audits = self.audits.lock().expect("lock");
        audits.iter().filter(|a| a.get("event").map(String::as_str) == Some(event)).cloned().collect()
    }

    pub fn subjects(&self) -> Vec<String> {
        self.notified.lock().expect("lock").iter().map(|(s, _)| s.clone()).collect()
    }

    pub fn notified(&self) -> Vec<(String, String)> {
        self.notified.lock().expect("lock").clone()
    }

    /// The fleet's request for 2026.12.1 in this environment, with `extra` fields (force, emergency).
    pub fn input(&self, extra: Value) -> Value {
        let mut request = json!({"environment": self.env, "release": RELEASE, "requestedBy": ALICE});
        if let (Some(r), Value::Object(extra)) = (request.as_object_mut(), extra) {
            r.extend(extra);
        }
        json!({"request": request})
    }

    fn child(&self, context: &TaskContext, name: Option<String>, input: Value) -> Result<TaskOutput, Failure> {
        let name = name.ok_or_else(|| Failure::new("States.Runtime", "a child execution without a name"))?;
        {
            let mut names = self.names.lock().expect("lock");
            if names.get(&name).is_some_and(|before| *before != input) {
                return Err(Failure::new(
                    "StepFunctions.ExecutionAlreadyExistsException",
                    format!("execution {name} already exists with another input"),
                ));
            }
            names.insert(name.clone(), input.clone());
        }
        let child = Child { state: context.state_name.clone(), name, input: input.clone(), at: context.now };
        let account = input["accountId"].as_str().unwrap_or_default().to_string();
        if context.state_name == "RollbackAccount" {
            self.rollbacks.lock().expect("lock").push(child);
        } else {
            self.deploys.lock().expect("lock").push(child);
            if self.failing.lock().expect("lock").contains(&account) {
                let cause = json!({"Status": "FAILED", "Error": "DeployFailed", "Cause": format!("{account}: a tier failed its gate")});
                return Err(Failure::new("States.TaskFailed", cause.to_string()));
            }
        }
        // What platform deploy's `Deployed` state returns (its deployment, trimmed).
        let output = json!({"environment": input["environment"], "account_id": account, "label": input["release"]});
        Ok(TaskOutput { value: output, duration: self.deploy_time })
    }
}

/// Runs the fleet's tasks: the real handler for its Lambda tasks, fakes for the rest.
#[derive(Debug)]
pub struct Runner(pub Arc<World>);

fn unexpected(what: String) -> Failure {
    // Never caught (States.ALL leaves States.Runtime alone): the execution fails naming it.
    Failure::new("States.Runtime", format!("unexpected task: {what}"))
}

#[async_trait]
impl Resolver for Runner {
    async fn run(&self, request: TaskRequest, context: &TaskContext) -> Result<TaskOutput, Failure> {
        let w = &self.0;
        match request {
            TaskRequest::Lambda { function, payload } if function == FUNCTION => {
                let action = payload["action"].as_str().unwrap_or("?").to_string();
                w.actions.lock().expect("lock").push(action);
                let request: Request =
                    serde_json::from_value(payload).map_err(|e| Failure::new("InvalidRequest", e.to_string()))?;
                let response =
                    handle(request, &w.deps).await.map_err(|e| Failure::new(e.error_type(), e.to_string()))?;
                Ok(TaskOutput::now(serde_json::to_value(response).expect("a response serialises")))
            }
            TaskRequest::StartExecution { state_machine_arn, input, name, sync: true }
                if state_machine_arn == DEPLOY =>
            {
                w.child(context, name, input)
            }
            TaskRequest::Service { service, action, parameters } => match (service.as_str(), action.as_str()) {
                ("dynamodb", "putItem") if parameters["TableName"] == TABLE => {
                    let item = parameters["Item"].as_object().cloned().unwrap_or_default();
                    let flat = item
                        .into_iter()
                        .map(|(k, v)| {
                            let s = v.get("S").or_else(|| v.get("N")).and_then(Value::as_str).unwrap_or_default();
                            (k, s.to_string())
                        })
                        .collect();
                    w.audits.lock().expect("lock").push(flat);
                    Ok(TaskOutput::now(json!({})))
                }
                ("sns", "publish") if parameters["TopicArn"] == TOPIC => {
                    let text = |k: &str| parameters[k].as_str().unwrap_or_default().to_string();
                    w.notified.lock().expect("lock").push((text("Subject"), text("Message")));
                    Ok(TaskOutput::now(json!({"MessageId": "m-1"})))
                }
                _ => Err(unexpected(format!("{service}:{action} {parameters}"))),
            },
            other => Err(unexpected(format!("{other:?}"))),
        }
    }
}

pub fn start(name: &str, started: DateTime<Utc>, tokens: &Arc<TaskTokens>) -> Start {
    Start { started, state_machine_arn: FLEET.into(), ..Start::named(name) }.with_tokens(tokens.clone())
}

/// The fleet release `name` of `input` from `started`, to its end: nobody answers a callback,
/// so one that is reached times out rather than waits for ever.
pub async fn run(w: &Arc<World>, name: &str, input: Value, started: DateTime<Utc>) -> Execution {
    let tokens = TaskTokens::new();
    tokens.advance_to_end();
    execute(&machine(), input, start(name, started, &tokens), Arc::new(Runner(w.clone()))).await
}

/// The fleet release started on its own task, its callbacks answered through `tokens`.
pub fn spawn(
    w: &Arc<World>,
    name: &str,
    input: Value,
    started: DateTime<Utc>,
    tokens: &Arc<TaskTokens>,
) -> tokio::task::JoinHandle<Execution> {
    let (machine, start, runner) = (machine(), start(name, started, tokens), Arc::new(Runner(w.clone())));
    tokio::spawn(async move { execute(&machine, input, start, runner).await })
}

/// Waits (30 s at most, real time) until the execution waits for `count` answers; fails the
/// test if it ended first.
pub async fn waiting(
    tokens: &TaskTokens,
    count: usize,
    execution: &mut tokio::task::JoinHandle<Execution>,
) -> Vec<asl::PendingTask> {
    let wait = async {
        tokio::select! {
            pending = tokens.wait_for(count) => pending,
            ended = execution => panic!("the execution ended before waiting: {:?}", ended.map(|e| (e.status, e.error, e.cause))),
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait).await.expect("the execution waits in time")
}

/// The execution's end (30 s at most, real time).
pub async fn ended(execution: tokio::task::JoinHandle<Execution>) -> Execution {
    tokio::time::timeout(Duration::from_secs(30), execution).await.expect("ends in time").expect("joins")
}

/// The instants the named state was entered, in the history's order.
pub fn entered(e: &Execution, state: &str) -> Vec<DateTime<Utc>> {
    e.history
        .iter()
        .filter(|h| h.kind.ends_with("StateEntered") && h.state.as_deref() == Some(state))
        .map(|h| h.timestamp)
        .collect()
}

/// Each account's platform instance as its last deploy left it: config's parameters.
fn deployed_instances(tree: &ConfigTree, env: &str, accounts: &[(String, &str)]) -> Arc<MemoryStackSets> {
    let stack_sets = Arc::new(MemoryStackSets::new(0));
    for (account, client) in accounts {
        stack_sets.seed_platform(tree, env, account, client);
    }
    stack_sets
}
