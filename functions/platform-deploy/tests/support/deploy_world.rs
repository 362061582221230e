//! The world `state_machine.rs` runs the deploy's definition against: the real handler on the
//! in-memory cluster, StackSets, ledger and registry, tasks resolved in process.

use std::sync::{Arc, Mutex};

use asl::{Failure, Resolver, Start, StateMachine, Status, TaskContext, TaskOutput, TaskRequest, execute};
use async_trait::async_trait;
use platform_core::config;
use platform_core::fakes::{MemoryAlarms, MemoryStackSets};
use platform_core::trust::Boundary;
use platform_deploy::cluster::{MemoryCluster, MemoryClusters};
use platform_deploy::fakes::{MemoryEdge, MemoryImages, MemoryReleaseLedger, StandInOptions, stand_in_edge};
use platform_deploy::handler::{Deps, Request, handle};
use platform_deploy::render::Registry;
use serde_json::{Value, json};

pub fn machine() -> StateMachine {
    let path = emulator::workspace_root().join("state-machines/platform-deploy.asl.json");
    let text = std::fs::read_to_string(path)
        .expect("definition")
        .replace(
            "${PlatformDeployFunctionArn}",
            "arn:aws:lambda:us-east-1:123456789012:function:abc-trading-dev-platform-deploy",
        )
        .replace("${NotificationsTopicArn}", "arn:aws:sns:us-east-1:123456789012:abc-trading-dev-notifications")
        .replace("${FleetReleaseStateMachineArn}", FLEET);
    StateMachine::parse(&text).expect("the definition loads in the engine")
}

/// The fleet release's machine: its own crate runs it; here it answers as `fleet` says.
pub const FLEET: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:abc-trading-dev-fleet-release";

pub struct World {
    pub deps: Deps,
    /// Each fleet release started (its name and input), and how the next one ends: its output,
    /// or its error and cause.
    pub fleets: Mutex<Vec<(String, Value)>>,
    /// Which release holds each account.
    pub leases: Arc<platform_core::fakes::MemoryLeases>,
    pub fleet: Mutex<Result<Value, (String, String)>>,
    pub cluster: Arc<MemoryCluster>,
    pub ledger: Arc<MemoryReleaseLedger>,
    pub stack_sets: Arc<MemoryStackSets>,
    pub alarms: Arc<MemoryAlarms>,
    pub images: Arc<MemoryImages>,
    /// The platform stack's edge outputs, the nodegroup's groups and the client zones.
    pub edge: Arc<MemoryEdge>,
    pub children: Mutex<Vec<String>>,
    pub notified: Mutex<Vec<(String, String)>>,
    pub actions: Mutex<Vec<String>>,
    /// Each answer as it went on the wire, by action.
    pub responses: Mutex<Vec<(String, Value)>>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("World")
    }
}

/// Runs the tasks of an execution (and of the child executions it starts) against one world.
#[derive(Debug)]
pub struct Runner(pub Arc<World>);

impl std::ops::Deref for Runner {
    type Target = World;
    fn deref(&self) -> &World {
        &self.0
    }
}

#[async_trait]
impl Resolver for Runner {
    async fn run(&self, request: TaskRequest, context: &TaskContext) -> Result<TaskOutput, Failure> {
        match request {
            TaskRequest::StartExecution { state_machine_arn, input, sync: true, name }
                if state_machine_arn == FLEET =>
            {
                self.fleets.lock().expect("lock").push((name.unwrap_or_default(), input));
                match self.fleet.lock().expect("lock").clone() {
                    Ok(output) => Ok(TaskOutput::now(output)),
                    Err((error, cause)) => Err(Failure::new(
                        "States.TaskFailed",
                        serde_json::json!({"Status": "FAILED", "Error": error, "Cause": cause}).to_string(),
                    )),
                }
            }
            TaskRequest::StartExecution { input, sync: true, .. } => {
                let name = format!("{}-{}", context.execution_name, self.children.lock().expect("lock").len());
                self.children.lock().expect("lock").push(name.clone());
                let start = Start { started: context.now, ..Start::named(name) };
                let child = execute(&machine(), input, start, Arc::new(Runner(self.0.clone()))).await;
                match child.status {
                    // The engine wraps it as `.sync:2` does (Output as JSON).
                    Status::Succeeded => {
                        Ok(TaskOutput { value: child.output.unwrap_or(Value::Null), duration: child.duration })
                    }
                    _ => Err(Failure::new("States.TaskFailed", child.cause.unwrap_or_default())),
                }
            }
            TaskRequest::Lambda { payload, .. } => {
                let action = payload["action"].as_str().unwrap_or("?").to_string();
                self.actions.lock().expect("lock").push(action.clone());
                let request: Request =
                    serde_json::from_value(payload).map_err(|e| Failure::new("InvalidRequest", e.to_string()))?;
                let response = handle(request, &self.deps).await.map_err(|e| {
                    // As Lambda reports it: the message with its sources.
                    let d = platform_core::lambda::diagnostic(e.error_type(), &e);
                    Failure::new(e.error_type(), d.error_message)
                })?;
                let wire = serde_json::to_value(response).expect("a response serialises");
                self.responses.lock().expect("lock").push((action, wire.clone()));
                Ok(TaskOutput::now(wire))
            }
            TaskRequest::Service { service, action, parameters } if service == "sns" && action == "publish" => {
                let text = |k: &str| parameters[k].as_str().unwrap_or_default().to_string();
                self.notified.lock().expect("lock").push((text("Subject"), text("Message")));
                Ok(TaskOutput::now(json!({"MessageId": "m-1"})))
            }
            other => panic!("unexpected task {other:?}"),
        }
    }
}

/// A world whose StackSet operations run for `polls` status polls.
pub fn world_with(polls: u32) -> Arc<World> {
    world_on(polls, chrono::Duration::seconds(20))
}

/// A world whose StackSet operations run for `polls` status polls and whose workloads are ready
/// `ready_after` they are applied.
pub fn world_on(polls: u32, ready_after: chrono::Duration) -> Arc<World> {
    world_edge(polls, ready_after, |o| o)
}

/// A world whose load balancer stand-in is made with `options` (an expired certificate, no redirect...).
pub fn world_edge(
    polls: u32,
    ready_after: chrono::Duration,
    options: impl FnOnce(StandInOptions) -> StandInOptions,
) -> Arc<World> {
    let tree = config::load(&config::repository_config_dir()).expect("config");
    let cluster = Arc::new(MemoryCluster::new(ready_after, vec!["2026.11.4-broken".into()]));
    let ledger = Arc::new(MemoryReleaseLedger::default());
    let stack_sets = Arc::new(MemoryStackSets::new(polls));
    let alarms = Arc::new(MemoryAlarms::default());
    let clusters = Arc::new(MemoryClusters::new(cluster.clone()));
    let (edge_deps, edge) =
        stand_in_edge(&tree, stack_sets.clone(), clusters.clone(), None, options).expect("the stand-in starts");
    let images = Arc::new(
        MemoryImages::default()
            .with_tags(&tree, &["2026.11.3", "2026.11.4", "2026.11.4-broken", "2026.11.5", "2026.11.5-ui.2"]),
    );
    let leases = Arc::new(platform_core::fakes::MemoryLeases::default());
    Arc::new(World {
        leases: leases.clone(),
        deps: Deps {
            boundary: Boundary {
                environment: "dev".into(),
                automation_account_id: "123456789012".into(),
                management_account_id: "111111111111".into(),
            },
            tree,
            clusters,
            ledger: ledger.clone(),
            stack_sets: stack_sets.clone(),
            alarms: alarms.clone(),
            images: images.clone(),
            registry: Registry { account: "123456789012".into(), region: "us-east-1".into() },
            edge: edge_deps,
            leases: leases.clone(),
            database_probe: Arc::new(platform_deploy::database_probe::TcpDatabaseProbe::new(
                std::time::Duration::from_secs(1),
            )),
        },
        cluster,
        ledger,
        stack_sets,
        alarms,
        images,
        edge,
        children: Mutex::default(),
        fleets: Mutex::default(),
        fleet: Mutex::new(Ok(serde_json::json!({"outcome": {"deployed": 2, "failed": 0}}))),
        notified: Mutex::default(),
        actions: Mutex::default(),
        responses: Mutex::default(),
    })
}

/// The release the ledger holds as the account's current one in dev; none fails the test.
pub fn current(w: &World, account: &str) -> String {
    let recorded = w.ledger.recorded();
    recorded.get(&("dev".to_string(), account.to_string())).map(|r| r.name.clone()).expect("a release recorded")
}

pub fn world() -> Arc<World> {
    world_with(0)
}

pub fn request(release: &str, versions: Value) -> Value {
    json!({"environment": "dev", "accountId": "222233334444", "release": release, "versions": versions})
}

/// The account a request names was vended (its facts published) before it is deployed to:
/// the deploy refuses any other (tests/trust.rs).
pub fn vended(w: &World, input: &Value) {
    if let (Some(env), Some(account)) = (input["environment"].as_str(), input["accountId"].as_str()) {
        vend(w, env, account);
    }
}

/// What vending leaves for an account: its facts in the ledger (client and zone among them),
/// and its client zone `<client>.<domain>`.
pub fn vend(w: &World, env: &str, account: &str) {
    w.ledger.add_account(env, account);
    let (client, zone) = client_of(account);
    w.ledger.set_client(env, account, &client, &zone);
    let domain = w.deps.tree.environment(env).map(|e| e.domain_name.clone()).unwrap_or_default();
    w.edge.add_zone(account, &zone, &format!("{client}.{domain}"));
}

/// The client vending named for an account here, and its zone's id.
pub fn client_of(account: &str) -> (String, String) {
    (format!("client-{account}"), format!("Z0{account}"))
}

/// An execution that starts when `before` ended on the virtual clock.
pub async fn run_after(w: &Arc<World>, name: &str, input: Value, before: &asl::Execution) -> asl::Execution {
    vended(w, &input);
    let started = before.started + chrono::Duration::from_std(before.duration).expect("duration");
    execute(&machine(), input, Start { started, ..Start::named(name) }, Arc::new(Runner(w.clone()))).await
}

pub async fn run(w: &Arc<World>, name: &str, input: Value) -> asl::Execution {
    vended(w, &input);
    execute(&machine(), input, Start::named(name), Arc::new(Runner(w.clone()))).await
}

/// The image a workload runs, as `<registry>/<repository>:<tag>`: the manifest pins a digest
/// of the central registry, which must be the one the tag was pushed with.
pub fn image_of(w: &World, namespace: &str, name: &str) -> String {
    let object = w.cluster.object("Deployment", namespace, name).expect("deployment");
    let image = object["spec"]["template"]["spec"]["containers"][0]["image"].as_str().expect("image");
    tagged(w, image)
}

pub fn tagged(w: &World, image: &str) -> String {
    let (named, digest) = image.split_once('@').unwrap_or_else(|| panic!("{image} is not pinned by digest"));
    let (reference, tag) = named.rsplit_once(':').expect("repository:tag");
    let (host, repository) = reference.split_once('/').expect("registry/repository");
    assert_eq!(host, "123456789012.dkr.ecr.us-east-1.amazonaws.com", "the central registry");
    assert_eq!(w.images.tag_of(repository, digest).as_deref(), Some(tag), "{image}: the digest of its tag");
    named.to_string()
}
