//! The `platform-ops` binary as an operator runs it: settings from the standard AWS variables,
//! readable output, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use emulator::Emulator;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn platform_ops(args: &[&str], emulator: Option<&Emulator>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_platform-ops"));
    cmd.args(args).current_dir(root()).env("RUST_LOG", "warn");
    for var in ["AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"] {
        cmd.env_remove(var);
    }
    if let Some(e) = emulator {
        cmd.envs(e.env_vars());
    }
    cmd.output().expect("run platform-ops")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// AWS_ENDPOINT_URL, AWS_REGION and the key variables are honoured by the one config loader:
/// publish goes to the emulator, and a second publish changes nothing.
#[test]
fn config_publish_uses_the_standard_aws_variables_and_is_idempotent() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let first = platform_ops(&["config", "publish"], Some(&emulator));
    assert!(first.status.success(), "{}{}", stdout(&first), String::from_utf8_lossy(&first.stderr));
    assert!(stdout(&first).contains("+ /abc-trading/config/environments/dev (create)"), "{}", stdout(&first));
    assert!(stdout(&first).contains("48 created, 0 updated, 0 deleted, 0 unchanged"), "{}", stdout(&first));

    let second = platform_ops(&["config", "publish"], Some(&emulator));
    assert!(stdout(&second).contains("0 created, 0 updated, 0 deleted, 48 unchanged"), "{}", stdout(&second));
}

#[test]
fn world_seed_and_show_through_the_binary() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let seeded = platform_ops(&["world", "seed"], Some(&emulator));
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let shown = platform_ops(&["world", "show", "--json"], Some(&emulator));
    let world: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("world json");
    let dev = world["accounts"].as_array().expect("accounts").iter().find(|a| a["name"] == "abc-trading-dev");
    assert_eq!(dev.expect("the dev account")["resources"]["nodegroup"], "abc-trading-dev-nodes");
}

#[test]
fn world_seed_without_a_local_endpoint_fails_with_a_clear_error() {
    let out = platform_ops(&["world", "seed"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("world seeding only runs against a local emulator"), "{err}");
}

#[test]
fn validate_exits_zero_on_the_repository_and_one_on_a_broken_config() {
    let ok = platform_ops(&["validate", "--as-of", "2026-11-24"], None);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert!(stdout(&ok).contains("validate: 10 checks, 0 finding(s)"), "{}", stdout(&ok));

    let broken = tempfile::tempdir().expect("tmp");
    let config = broken.path().join("config");
    std::fs::create_dir_all(config.join("environments")).expect("mkdir");
    let fixture = root().join("tests/fixtures/validate/broken-config/config");
    for f in [
        "organization.toml",
        "services.toml",
        "remediation-alarms.toml",
        "log-signatures.toml",
        "monitoring.toml",
        "environments/dev.toml",
        "environments/staging.toml",
        "environments/prod.toml",
    ] {
        std::fs::copy(fixture.join(f), config.join(f)).expect("copy");
    }
    // The runbook the signatures' anchors point into.
    std::fs::create_dir_all(broken.path().join("docs")).expect("mkdir");
    std::fs::copy(root().join("docs/runbook.md"), broken.path().join("docs/runbook.md")).expect("copy");
    let root_arg = broken.path().to_str().expect("utf-8 path");
    let out = platform_ops(&["--root", root_arg, "validate", "--json", "--as-of", "2026-11-24"], None);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    let config_findings = report["checks"][0]["findings"].as_array().expect("findings");
    assert_eq!(report["checks"][0]["check"], "config");
    assert_eq!(config_findings.len(), 4, "{config_findings:?}");
    let said = |text: &str| config_findings.iter().any(|f| f["message"].as_str().is_some_and(|m| m.contains(text)));
    assert!(said("health alarm `rds-cpu-high` has no severity (page or ticket)"), "{config_findings:?}");
    assert!(said("health alarm `rds-free-storage-low` has no runbook anchor"), "{config_findings:?}");
}

#[test]
fn config_errors_exit_two_and_name_file_and_key() {
    let fixture = root().join("tests/fixtures/validate/broken-config");
    let root_arg = fixture.to_str().expect("utf-8");
    let out = platform_ops(&["--root", root_arg, "config", "show"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("staging.toml: nodegroup.desired_size: desired_size 7 is above max_size 6"), "{err}");
}

/// The README's main job: the default scenario replays through the local runtime and every
/// expected outcome is met (exit 0), with the timeline printed for people.
#[test]
fn demo_replays_the_default_scenario() {
    let out = platform_ops(&["demo"], None);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("subscription PlatformOpsLogSubscription -> function LogProcessorFunction: ok"), "{text}");
    assert!(text.contains("GiveOnCallTime (5m00s)"), "virtual-clock durations in the timeline: {text}");
    // The log processor's delivery record (begun, then completed), the detection, the archive.
    assert!(text.contains("AWS changes: dynamodb PutItem x1, dynamodb UpdateItem x1, eventbridge PutEvents x1, firehose PutRecordBatch x1"), "{text}");
    // Alarm remediation: one scale-out, a duplicate that does nothing, a refused scale-in.
    assert!(text.contains("scale: nodegroup abc-trading-dev/abc-trading-dev-nodes: 2 -> 3 (out)"), "{text}");
    // The calls per action the README reports, counted by the runtime's interceptor.
    assert!(
        text.contains(
            "AWS changes: dynamodb DeleteItem x1, dynamodb PutItem x4, eks UpdateNodegroupConfig x1, sns Publish x1\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "AWS reads: dynamodb Query x2, eks DescribeNodegroup x2, ssm GetParameters x2, ssm GetParametersByPath x1, sts AssumeRole x1\n"
        ),
        "{text}"
    );
    assert!(text.contains("AWS reads: dynamodb Query x1, eks DescribeNodegroup x1\n"), "{text}");
    assert!(text.contains("duplicate: abc-trading-dev-remediate-nodes-cpu-high"), "{text}");
    assert!(text.contains("refuse: scale-in refused inside trading hours"), "{text}");
    // Account vending: the account in its OU, then a duplicate that joins.
    assert!(text.contains("one account aws+acme-dev@abc-trading.com, in OU Development (actual: "), "{text}");
    assert!(text.contains("      Joined ("), "{text}");
    // The calls per vended account the README reports (the hand-over's deploy takes and gives
    // back the account's lease: a PutItem and a DeleteItem).
    assert!(
        text.contains(
            "AWS changes: cloudformation CreateStackInstances x1, cloudwatch PutMetricAlarm x63, dynamodb DeleteItem x1, \
             dynamodb PutItem x5, dynamodb UpdateItem x2, eventbridge PutEvents x1, organizations CreateAccount x1, organizations MoveAccount x1, \
             route 53 ChangeResourceRecordSets x1, sns Publish x2, ssm PutParameter x15\n"
        ),
        "{text}"
    );
    assert!(
        // 40 s of vending, then the hand-over: the new account's platform infrastructure (2 minutes).
        text.contains("AccountVendingStateMachine: SUCCEEDED (28 transitions, 2m40s on the virtual clock)"),
        "{text}"
    );
    // Platform deploy: a clean release (its sender and environment received, infrastructure,
    // access, six gates (the migrations job, then five tiers), smoke checks), the same release for
    // the whole environment (the fleet release), then a broken image rolled back.
    assert!(
        text.contains("PlatformDeployStateMachine: SUCCEEDED (68 transitions, 5m00s on the virtual clock)"),
        "{text}"
    );
    // The whole environment: the fleet release (a child of 7 transitions' parent) plans it, skips
    // the dev account (already on it), deploys acme's as the canary and bakes it 5 minutes.
    assert!(
        text.contains("PlatformDeployStateMachine: SUCCEEDED (7 transitions, 8m00s on the virtual clock)"),
        "{text}"
    );
    for state in ["EnsureInfrastructure", "InfrastructureStatus", "EnsureAccess", "EnsureMonitoring", "Verify", "Fleet"]
    {
        assert!(text.contains(&format!("  {state} (")), "{state} in the timeline: {text}");
    }
    assert!(text.contains("PlatformDeployStateMachine: FAILED ImagePullBackOff"), "{text}");
    // A release naming an image nobody pushed: refused at Plan, before any tier (Start, Receive,
    // Route, Lease, Plan, ReleaseLeaseAfterRejection, NotifyRejected, Rejected, after the delivery
    // admitted: Deliveries, Admit).
    assert!(text.contains("PlatformDeployStateMachine: FAILED ImagesRefused (10 transitions, 0s"), "{text}");
    // Signal triage: every detection reaches it (only AccountReady, which nothing here consumes,
    // reaches no rule); a crash-loop in the bake window rolled back and an OOMKilled raised, each
    // through platform deploy (3m00s of deploy each); the repeat suppressed; a detection from an
    // account outside dev's ledger refused.
    assert_eq!(text.matches("refused at the rule").count(), 1, "{text}");
    assert_eq!(
        text.matches("SignalTriageStateMachine: SUCCEEDED (7 transitions, 3m00s on the virtual clock)").count(),
        2,
        "{text}"
    );
    assert_eq!(text.matches("      Remediate (3m00s)").count(), 2, "{text}");
    assert!(text.contains("      Suppressed (0s)"), "{text}");
    assert!(text.contains("SignalTriageStateMachine: FAILED Untrusted (5 transitions"), "{text}");
    // The weekly restore test: the dev account's database restored, probed, timed and deleted.
    assert!(text.contains("RestoreTestStateMachine: SUCCEEDED (21 transitions"), "{text}");
    assert!(text.contains("outcomes met") && text.contains("PASSED"), "{text}");
}

/// The fleet scenario (prod, nine client accounts): promotion, four eyes, waves with a bake that
/// catches an alarm and rolls its wave back, the trading-session refusal and an approval timeout.
#[test]
fn demo_replays_the_fleet_scenario() {
    let out = platform_ops(&["demo", "--scenario", "fleet"], None);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    // The approved release: canary, early and rest, 30-minute bakes, 20 minutes of waiting for bob.
    assert!(
        text.contains("PlatformDeployStateMachine: SUCCEEDED (7 transitions, 2h05m on the virtual clock)"),
        "{text}"
    );
    for error in ["NotPromoted", "Frozen", "WaveFailed", "Rejected"] {
        assert!(text.contains(&format!("PlatformDeployStateMachine: FAILED {error} (")), "{error}: {text}");
    }
    assert!(text.contains("outcomes met") && text.contains("PASSED"), "{text}");
}

/// The second vending scenario: a baseline that fails quarantines the account, audited and
/// notified, and the demo still passes because that is what the scenario expects.
#[test]
fn demo_replays_a_failing_vending() {
    let out = platform_ops(&["demo", "--scenario", "vending-failure"], None);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("AccountVendingStateMachine: FAILED"), "{text}");
    assert!(text.contains("in OU Quarantine (actual: ") && text.contains(" in Quarantine)"), "{text}");
    for state in ["Quarantine", "ReleaseSlotAfterFailure", "MarkFailed", "AuditFailure", "NotifyFailure"] {
        assert!(text.contains(&format!("      {state} (")), "{state} in the timeline: {text}");
    }
}

/// Forged and foreign events: refused at the bus, at the rules, or by the handlers, and nothing
/// moved, scaled or deployed (issue 16's scenario; each expectation fails if a check regresses).
#[test]
fn demo_refuses_forged_events() {
    let out = platform_ops(&["demo", "--scenario", "forged"], None);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("refused at the bus: no statement of bus `abc-trading-dev`'s policy"), "{text}");
    assert!(text.contains("refused at the rule: no rule on `abc-trading-dev` matches"), "{text}");
    assert!(text.contains("is not a vended account of environment `dev`"), "{text}");
    assert!(text.contains("does not list abc-security@accounts.abc-limited.example for adoption"), "{text}");
    assert!(text.contains("environment `prod` is not this deployment's (`dev`)"), "{text}");
    for change in ["organizations MoveAccount", "eks UpdateNodegroupConfig", "CreateStackInstances", "TagResource"] {
        assert!(!text.contains(change), "{change} made by a forged event: {text}");
    }
}

/// The one-off commands against an emulator that is already running, with machine output.
#[test]
fn run_send_event_and_invoke_against_a_running_emulator() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let endpoint = emulator.endpoint_url();
    let dir = tempfile::tempdir().expect("tempdir");
    let machine = dir.path().join("hello.asl.json");
    std::fs::write(
        &machine,
        r#"{"StartAt": "Wait", "States": {
            "Wait": {"Type": "Wait", "Seconds": 90, "Next": "Hello"},
            "Hello": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hello {}', $.who)"}, "End": true}}}"#,
    )
    .expect("definition");
    let input = dir.path().join("input.json");
    std::fs::write(&input, r#"{"who": "ops"}"#).expect("input");
    let run = platform_ops(
        &[
            "run",
            machine.to_str().expect("path"),
            "--input",
            input.to_str().expect("path"),
            "--endpoint",
            &endpoint,
            "--output",
            "json",
        ],
        None,
    );
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let execution: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(execution["status"], "SUCCEEDED");
    assert_eq!(execution["output"], serde_json::json!({"greeting": "hello ops"}));
    assert_eq!(execution["duration"]["secs"], 90);

    let event = dir.path().join("event.json");
    std::fs::write(&event, r#"{"Source": "abc.platform", "DetailType": "Nothing Listens", "Detail": {"x": 1}}"#)
        .expect("event");
    let sent = platform_ops(
        &["send-event", event.to_str().expect("path"), "--bus", "abc-trading-dev", "--endpoint", &endpoint],
        None,
    );
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    assert!(stdout(&sent).contains("no rule on `abc-trading-dev` matches"), "{}", stdout(&sent));

    let fixture = root().join("tests/fixtures/events/cloudwatch-logs-subscription.json");
    // The crate's name, as a newcomer would type it, reaches the same function as its logical id.
    let invoked = platform_ops(
        &[
            "invoke",
            "log-processor",
            "--event",
            fixture.to_str().expect("path"),
            "--endpoint",
            &endpoint,
            "--output",
            "json",
        ],
        None,
    );
    assert!(invoked.status.success(), "{}", String::from_utf8_lossy(&invoked.stderr));
    let result: serde_json::Value = serde_json::from_slice(&invoked.stdout).expect("json");
    assert_eq!(result["dispatches"][0]["outcome"]["kind"], "invoked");
    assert!(result["dispatches"][0]["outcome"]["output"]["records"].as_u64().is_some_and(|n| n > 0), "{result}");
    assert!(!result["dispatches"][0]["outcome"]["metrics"].as_array().expect("metrics").is_empty(), "EMF captured");
    assert_eq!(result["dispatches"][0]["target"], "LogProcessorFunction");

    let unknown =
        platform_ops(&["invoke", "billing", "--event", fixture.to_str().expect("path"), "--endpoint", &endpoint], None);
    assert_eq!(unknown.status.code(), Some(2));
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(err.contains("no function `billing` in template.yaml (known: "), "{err}");
    assert!(err.contains("log-processor (LogProcessorFunction, abc-trading-dev-log-processor)"), "{err}");

    let remote = platform_ops(
        &[
            "invoke",
            "LogProcessorFunction",
            "--event",
            "x.json",
            "--endpoint",
            "https://lambda.eu-west-2.amazonaws.com",
        ],
        None,
    );
    assert_eq!(remote.status.code(), Some(2), "never real AWS");
}

/// `scaling explain` decides for an alarm file and prints every guardrail's verdict, acting on nothing.
#[test]
fn scaling_explain_prints_the_verdicts() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let low = root().join("scenarios/default/alarm-nodes-cpu-low-trading-hours.json");
    let out = platform_ops(
        &["scaling", "explain", "--alarm", low.to_str().expect("path"), "--endpoint", &emulator.endpoint_url()],
        None,
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.starts_with("decision: refuse - scale-in refused inside trading hours"), "{text}");
    assert!(text.contains("STOP trading-hours"), "{text}");
    let high = root().join("scenarios/default/alarm-nodes-cpu-high.json");
    let json = platform_ops(
        &[
            "scaling",
            "explain",
            "--alarm",
            high.to_str().expect("path"),
            "--endpoint",
            &emulator.endpoint_url(),
            "--output",
            "json",
        ],
        None,
    );
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!((plan["kind"].as_str(), plan["after"]["desired"].as_u64()), (Some("scale"), Some(3)));
    // Explaining twice is still a decision to scale: nothing was claimed.
    let again = platform_ops(
        &["scaling", "explain", "--alarm", high.to_str().expect("path"), "--endpoint", &emulator.endpoint_url()],
        None,
    );
    assert!(stdout(&again).starts_with("decision: scale"), "{}", stdout(&again));
}

/// `account request` validates and vends through the local runtime on a running emulator;
/// `account status` then reads the account, its vending's claim and its facts from there.
#[test]
fn account_request_then_status_against_a_running_emulator() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let endpoint = emulator.endpoint_url();
    let bad = platform_ops(
        &[
            "account",
            "request",
            "--name",
            "x",
            "--email",
            "not-an-email",
            "--env",
            "qa",
            "--client",
            "Acme",
            "--endpoint",
            &endpoint,
        ],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("email `not-an-email` is not an e-mail address") && err.contains("environment `qa`"), "{err}");

    let request = platform_ops(
        &[
            "account",
            "request",
            "--name",
            "globex-dev",
            "--email",
            "aws+globex-dev@abc-trading.com",
            "--env",
            "dev",
            "--client",
            "globex",
            "--endpoint",
            &endpoint,
        ],
        None,
    );
    let text = stdout(&request);
    assert!(request.status.success(), "{text}{}", String::from_utf8_lossy(&request.stderr));
    assert!(text.contains("AccountVendingStateMachine: SUCCEEDED"), "{text}");

    let status = platform_ops(&["account", "status", "globex-dev", "--endpoint", &endpoint], None);
    let text = stdout(&status);
    assert!(status.status.success(), "{text}{}", String::from_utf8_lossy(&status.stderr));
    assert!(text.contains("<aws+globex-dev@abc-trading.com> ACTIVE in Development"), "{text}");
    assert!(text.contains("vending  vend-dev-globex-") && text.contains(": done"), "{text}");
    assert!(text.contains("us-west-2/vpc-id"), "{text}");
    let missing = platform_ops(&["account", "status", "nobody", "--endpoint", &endpoint], None);
    assert_eq!(missing.status.code(), Some(1));
}

/// `render` writes the exact manifests a deploy would apply; a mutable tag is refused.
#[test]
fn render_writes_the_manifests_of_a_release() {
    let secret = "arn:aws:secretsmanager:us-east-1:222233334444:secret:rds!db-1a2b3c-AbCdEf";
    let out = platform_ops(
        &[
            "render",
            "--env",
            "dev",
            "--release",
            "2026.11.3",
            "--account",
            "222233334444",
            "--registry-account",
            "111122223333",
            "--database-secret-arn",
            secret,
        ],
        None,
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text.matches("---\n").count(), 148, "namespaces, the storage class and every workload's objects");
    assert!(
        text.contains(
            "\"image\": \"111122223333.dkr.ecr.us-east-1.amazonaws.com/abc-trading/trade-execution:2026.11.3\""
        ),
        "images come from the central registry"
    );
    assert!(text.contains("arn:aws:kms:us-east-1:222233334444:alias/abc-trading-dev"), "the member's key");
    assert!(text.contains(&format!("\"value\": \"aws-secretsmanager:{secret}\"")), "database workloads read it");
    let bad = platform_ops(
        &[
            "render",
            "--env",
            "dev",
            "--release",
            "latest",
            "--account",
            "222233334444",
            "--registry-account",
            "111122223333",
        ],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("tag `latest` of api-gateway is mutable"));
}

/// `deploy` checks the release first, then runs it through the local runtime on the world's
/// account of the environment.
#[test]
fn deploy_runs_a_release_through_the_local_runtime() {
    let bad = platform_ops(&["deploy", "--env", "dev", "--release", "latest"], None);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("tag `latest` of api-gateway is mutable"));
    let out = platform_ops(&["deploy", "--env", "dev", "--release", "2026.11.3", "--output", "json"], None);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(&text).expect("json");
    let found = report.to_string();
    assert!(found.contains("\"status\":\"SUCCEEDED\"") && found.contains("2026.11.3"), "{found}");
}

/// The three schedules run by hand against one emulator: off-hours acts once and then finds the
/// group already at its size, drift runs its state machine to the end, and `inventory` prints
/// the report the run wrote to the report bucket.
#[test]
fn schedules_run_by_hand_in_the_local_runtime() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let endpoint = emulator.endpoint_url();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint", &endpoint, "--output", "json"]);
        let out = platform_ops(&all, None);
        let text = stdout(&out);
        assert!(out.status.success(), "{args:?}: {text}{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_str::<serde_json::Value>(&text).expect("json").to_string()
    };

    // 19:00 UTC on a Wednesday is outside London's working hours: dev goes down to its off-hours size.
    let evening = run(&["schedule", "run", "off-hours", "--at", "2026-11-25T19:00:00Z"]);
    assert!(evening.contains(r#""scaled":1"#), "{evening}");
    // The next quarter-hour finds it there and changes nothing.
    let again = run(&["schedule", "run", "off-hours", "--at", "2026-11-25T19:15:00Z"]);
    assert!(again.contains(r#""scaled":0"#) && again.contains(r#""already":1"#), "{again}");

    let drift = run(&["schedule", "run", "drift", "--at", "2026-11-26T02:00:00Z"]);
    assert!(drift.contains(r#""status":"SUCCEEDED""#) && drift.contains(r#""drifted":0"#), "{drift}");

    let inventory = platform_ops(&["inventory", "--endpoint", &endpoint], None);
    let text = stdout(&inventory);
    assert!(inventory.status.success(), "{text}{}", String::from_utf8_lossy(&inventory.stderr));
    assert!(text.starts_with("# abc-trading inventory, "), "{text}");
    assert!(text.contains("| abc-trading-dev |"), "{text}");
    assert!(text.contains("| dev | Development |"), "{text}");

    let unknown = platform_ops(&["schedule", "run", "backups"], None);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("invalid value 'backups'"));
}
