//! The execution report: what it shows of recorded runs, that it escapes what executions carry, its size for a large fleet, and the fleet scenario's report as headless Chromium renders it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use asl::{Event, Execution, StateMachine, Status};
use chrono::{DateTime, Utc};
use platform_ops::report;
use platform_ops::runtime::record::{Parent, Recorded};
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).expect("time")
}

fn record(machine: &str, definition: &Arc<StateMachine>, input: Value, execution: Execution) -> Recorded {
    Recorded {
        machine: machine.to_string(),
        arn: format!("arn:aws:states:us-east-1:123456789012:stateMachine:{machine}"),
        definition: definition.clone(),
        input,
        execution,
        parent: None,
    }
}

/// The `<g>` of a state in the page's graphs, with its classes.
fn state_class<'a>(html: &'a str, state: &str) -> Vec<&'a str> {
    let needle = format!(r#"" data-state="{state}">"#);
    html.match_indices(&needle)
        .filter_map(|(i, _)| {
            html[..i].rfind('<').filter(|&s| html[s..].starts_with("<g class=\"")).map(|s| &html[s + 10..i])
        })
        .collect()
}

#[tokio::test]
async fn a_run_shows_its_states_the_path_taken_and_where_it_failed_with_hostile_text_escaped() {
    let definition = Arc::new(
        StateMachine::from_value(&json!({"StartAt": "Prepare", "States": {
            "Prepare": {"Type": "Pass", "Result": {"n": 0}, "Next": "Count"},
            "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Enough"},
            "Enough": {"Type": "Choice", "Default": "Count", "Choices": [
                {"Variable": "$.n", "NumericGreaterThanEquals": 3, "Next": "Explode"},
                {"Variable": "$.n", "NumericLessThan": 0, "Next": "Celebrate"}]},
            "Explode": {"Type": "Fail", "Error": "Broken",
                        "Cause": "<script>alert('x')</script> & \"quoted\" <img src=x onerror=alert(1)>"},
            "Celebrate": {"Type": "Succeed"}}}))
        .expect("definition"),
    );
    let start = asl::Start::named("<b>hostile-name</b>");
    let execution = asl::execute(&definition, json!({}), start, Arc::new(asl::NoTasks)).await;
    assert_eq!(execution.status, Status::Failed);
    let html = report::render("a <small> run", &[record("counter", &definition, json!({}), execution)]);

    for state in ["Prepare", "Count", "Enough", "Explode", "Celebrate"] {
        assert_eq!(state_class(&html, state).len(), 1, "{state} drawn once: {html}");
    }
    assert_eq!(state_class(&html, "Explode"), ["st failed"], "{html}");
    assert_eq!(state_class(&html, "Count"), ["st in"], "{html}");
    assert_eq!(state_class(&html, "Celebrate"), ["st"], "never entered: {html}");
    assert!(html.contains("Pass ×3</text>"), "Count entered three times: {html}");
    assert!(html.contains("✗ failed at <b>Explode</b>: <code>Broken</code>"), "{html}");
    assert!(html.contains("✗ Broken</text>"), "the error on the failed state's box: {html}");

    // Whatever an execution carries is text, never markup.
    let lower = html.to_lowercase();
    for tag in ["<script", "<img", "<b>hostile", "<small> run", "<iframe", "<link", "<object"] {
        if let Some(i) = lower.find(tag) {
            let around: String = html[i.saturating_sub(80)..].chars().take(200).collect();
            panic!("{tag} appears as a tag: ...{around}...");
        }
    }
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot; &lt;img src=x"),
        "{html}"
    );
    assert!(html.contains("&lt;b&gt;hostile-name&lt;/b&gt;"), "{html}");
    // Self-contained: nothing is fetched from anywhere.
    assert!(!lower.contains("http://") && !lower.contains("https://"), "{html}");
    assert!(html.matches("url(").count() == html.matches("url(#").count(), "only in-page references: {html}");
}

fn event(id: u64, kind: &str, when: &str, state: Option<&str>, details: Value) -> Event {
    Event { id, kind: kind.into(), timestamp: at(when), state: state.map(str::to_string), details }
}

fn finished(name: &str, status: Status, when: &str, minutes: u64, history: Vec<Event>) -> Execution {
    let failed = status != Status::Succeeded;
    Execution {
        name: name.into(),
        status,
        output: (!failed).then(|| json!({})),
        error: failed.then(|| "Failed".to_string()),
        cause: failed.then(|| "it failed".to_string()),
        started: at(when),
        duration: Duration::from_secs(minutes * 60),
        transitions: history.len() as u64,
        history,
        redrive: None,
    }
}

/// A fleet that planned `waves` (name, [(account, client)]) and failed with `cause`.
fn fleet(definition: &Arc<StateMachine>, name: &str, waves: &[(&str, Vec<(String, String)>)], cause: &str) -> Recorded {
    let plan = json!({"plan": {"waves": waves.iter().map(|(w, accounts)| json!({
        "name": w,
        "accounts": accounts.iter().map(|(a, c)| json!({"account": a, "client": c, "previous": "1.0"})).collect::<Vec<_>>(),
    })).collect::<Vec<_>>()}});
    let t = "2026-12-01T19:00:00Z";
    let history = vec![
        event(1, "ExecutionStarted", t, None, json!({"input": "{}"})),
        event(2, "TaskStateEntered", t, Some("Plan"), json!({"input": "{}"})),
        event(3, "TaskStateExited", t, Some("Plan"), json!({"output": plan.to_string()})),
        event(4, "ExecutionFailed", t, None, json!({"error": "WaveFailed", "cause": cause})),
    ];
    let mut execution = finished(name, Status::Failed, t, 90, history);
    execution.error = Some("WaveFailed".into());
    execution.cause = Some(cause.into());
    record("abc-trading-dev-fleet-release", definition, json!({"request": {"release": "2.0"}}), execution)
}

fn child(
    definition: &Arc<StateMachine>,
    fleet: &str,
    state: &str,
    name: &str,
    input: Value,
    status: Status,
) -> Recorded {
    let mut r = record(
        "abc-trading-dev-platform-deploy",
        definition,
        input,
        finished(name, status, "2026-12-01T19:05:00Z", 3, Vec::new()),
    );
    r.parent = Some(Parent { execution: fleet.into(), state: state.into() });
    r
}

fn plan_definition() -> Arc<StateMachine> {
    Arc::new(
        StateMachine::from_value(&json!({"StartAt": "Plan", "States": {"Plan": {"Type": "Pass", "End": true}}}))
            .expect("definition"),
    )
}

#[test]
fn a_fleet_grid_colours_each_account_by_what_its_executions_did() {
    let d = plan_definition();
    let account = |n: u8| format!("{n}").repeat(12);
    let accounts: Vec<(String, String)> =
        (1..=5).map(|n| (account(n), if n == 1 { "abc".into() } else { format!("client-00{}", n - 1) })).collect();
    let waves = [("canary", accounts[..1].to_vec()), ("rest", accounts[1..].to_vec())];
    let cause = format!("alarms in ALARM during the bake of wave rest: [abc-trading-dev-{}-slo]", account(3));
    let deploy = |n: u8, status| {
        child(
            &d,
            "fleet-t",
            "DeployAccount",
            &format!("deploy-{n}"),
            json!({"accountId": account(n), "fleet": "fleet-t"}),
            status,
        )
    };
    let records = vec![
        fleet(&d, "fleet-t", &waves, &cause),
        deploy(1, Status::Succeeded),
        deploy(2, Status::Failed),
        deploy(3, Status::Succeeded),
        // SHA-1 of `fleet-t-333333333333-rollback`: the name alone says it is the rollback, here
        // without the usual RollbackAccount state to say it too.
        child(
            &d,
            "fleet-t",
            "Undo",
            "2c3d2f9740530b78428c3541a6e3f8fe1a2bc424",
            json!({"accountId": account(3), "release": "1.0"}),
            Status::Succeeded,
        ),
        deploy(5, Status::Succeeded),
    ];
    let html = report::render("fleet", &records);
    let cell = |client: &str| {
        let i = html.find(&format!(r#"data-client="{client}""#)).unwrap_or_else(|| panic!("{client}: {html}"));
        let start = html[..i].rfind("class=\"").expect("class") + 7;
        html[start..i].trim_end().trim_end_matches('"').to_string()
    };
    assert_eq!(cell("abc"), "cell deployed");
    assert_eq!(cell("client-001"), "cell failed");
    assert_eq!(cell("client-002"), "cell rolled-back named", "rolled back, and its alarm named it");
    assert_eq!(cell("client-003"), "cell not-started");
    assert_eq!(cell("client-004"), "cell deployed");
    assert!(html.contains(r#"<tr data-wave="canary">"#) && html.contains(r#"<tr data-wave="rest">"#), "{html}");
    assert!(html.contains("4 account(s): 1 deployed, 1 failed, 1 not started, 1 rolled back"), "{html}");
    // The timeline nests the accounts' executions under the fleet and names the rollback.
    assert!(html.contains("client-002 rollback</text>"), "{html}");
}

/// 200 accounts whose deploys went the same way cost one graph and a table row each: the page
/// stays far under 5 MB (a real 200-account dev fleet, both releases, measured 0.4 MB).
#[test]
fn a_fleet_of_two_hundred_accounts_stays_small() {
    let read = |name: &str| {
        let text = std::fs::read_to_string(root().join("state-machines").join(name)).expect("definition");
        Arc::new(StateMachine::parse(&text).expect("parses"))
    };
    let (fleet_definition, deploy) = (read("fleet-release.asl.json"), read("platform-deploy.asl.json"));
    let accounts: Vec<(String, String)> =
        (0..200).map(|n| (format!("{:012}", 100_000_000_000u64 + n), format!("client-{n:03}"))).collect();
    let waves =
        [("canary", accounts[..1].to_vec()), ("early", accounts[1..20].to_vec()), ("rest", accounts[20..].to_vec())];
    let mut records = vec![fleet(&fleet_definition, "fleet-big", &waves, "")];
    // A deploy's path with sizeable state payloads, as the real ones carry.
    let payload = json!({"manifests": "x".repeat(2000)}).to_string();
    let path = [
        "Start",
        "Route",
        "Lease",
        "Plan",
        "EnsureInfrastructure",
        "InfrastructureChanged",
        "EnsureAccess",
        "EnsureMonitoring",
        "WithRelease",
        "ApplyTier",
        "StartTierPolls",
        "WaitForTier",
        "TierHealth",
        "TierGate",
        "Advance",
        "MoreTiers",
        "Verify",
        "EnsureEdge",
        "Record",
        "Notify",
        "ReleaseLease",
        "Deployed",
    ];
    for (i, (account, _)) in accounts.iter().enumerate() {
        let t = "2026-12-01T19:05:00Z";
        let mut history = Vec::new();
        for state in path {
            let n = history.len() as u64;
            history.push(event(n + 1, "TaskStateEntered", t, Some(state), json!({"input": payload})));
            history.push(event(n + 2, "TaskStateExited", t, Some(state), json!({"output": payload})));
        }
        let mut r = record(
            "abc-trading-dev-platform-deploy",
            &deploy,
            json!({"accountId": account, "fleet": "fleet-big"}),
            finished(&format!("{i:040x}"), Status::Succeeded, t, 3, history),
        );
        r.parent = Some(Parent { execution: "fleet-big".into(), state: "DeployAccount".into() });
        records.push(r);
    }
    let started = Instant::now();
    let html = report::render("200 accounts", &records);
    assert!(html.len() < 5 * 1024 * 1024, "{} bytes", html.len());
    assert!(started.elapsed() < Duration::from_secs(20), "rendering took {:?}", started.elapsed());
    assert!(html.contains("200 execution(s): <span class=\"status ok\">SUCCEEDED</span>"), "one graph for all 200");
    assert_eq!(html.matches(r#"class="cell deployed" data-client="#).count(), 200);
}

/// Debian's Chromium (`scripts/bootstrap.sh` installs it), or `CHROMIUM` naming another.
fn chromium() -> String {
    let candidates = std::env::var("CHROMIUM").into_iter().chain(["chromium".into(), "/usr/bin/chromium".into()]);
    for c in candidates {
        let ok = Command::new(&c).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if ok.is_ok_and(|s| s.success()) {
            return c;
        }
    }
    panic!(
        "headless Chromium is needed to check the execution report and was not found: run scripts/bootstrap.sh (it installs Debian's chromium), or set CHROMIUM"
    );
}

/// Runs `cmd`, killed after `limit` (a browser that hangs must not hang the suite). Its output is
/// read as it comes: a full pipe would otherwise stop it (a DOM dump is far more than a pipe holds).
fn run_for(mut cmd: Command, limit: Duration) -> Output {
    use std::io::Read;
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("{cmd:?} took over {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output { status, stdout: stdout.join().expect("stdout"), stderr: stderr.join().expect("stderr") }
}

fn headless(chromium: &str, profile: &Path) -> Command {
    let mut cmd = Command::new(chromium);
    // Without the background-networking flags Chromium keeps reaching for Google's hosts.
    cmd.args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

#[test]
fn the_fleet_scenarios_report_renders_in_headless_chromium() {
    let chromium = chromium();
    let dir = tempfile::tempdir().expect("temp dir");
    let page = dir.path().join("report.html");
    let mut demo = Command::new(env!("CARGO_BIN_EXE_platform-ops"));
    demo.args(["demo", "--scenario", "fleet", "--report"]).arg(&page).current_dir(root()).env("RUST_LOG", "warn");
    for var in ["AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"] {
        demo.env_remove(var);
    }
    let out = run_for(demo, Duration::from_secs(280));
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let size = std::fs::metadata(&page).expect("the report").len();
    assert!(size < 5 * 1024 * 1024, "{size} bytes");

    let url = format!("file://{}", page.display());
    let mut dump = headless(&chromium, &dir.path().join("profile-dom"));
    dump.arg("--dump-dom").arg(&url);
    let out = run_for(dump, Duration::from_secs(60));
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success() && dom.contains("</html>"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!dom.to_lowercase().contains("<script"), "no script in the page");

    // The waves grid, and in the fleet that failed, client-007's wave rolled back.
    for wave in ["canary", "early", "rest"] {
        assert!(dom.contains(&format!(r#"<tr data-wave="{wave}">"#)), "wave {wave}");
    }
    for client in ["abc"].into_iter().map(String::from).chain((1..=8).map(|n| format!("client-{n:03}"))) {
        assert!(dom.contains(&format!(r#"data-client="{client}""#)), "{client} in the grid");
    }
    let failed_fleet = dom
        .split(r#"<div class="fleet""#)
        .find(|f| f.contains(">FAILED WaveFailed</span>"))
        .expect("the fleet that failed at a wave");
    let rest = failed_fleet.split("<tr ").find(|row| row.contains(r#"data-client="client-007""#)).expect("its row");
    assert!(rest.starts_with(r#"data-wave="rest""#), "{rest}");
    assert!(rest.contains(r#"<div class="cell rolled-back"#), "{rest}");
    assert!(!rest.contains("cell deployed"), "the whole wave rolled back: {rest}");
    // The failed state of that fleet, red in its graph, with its error.
    assert!(dom.contains("✗ failed at <b>WaveFailed</b>: <code>WaveFailed</code>"), "the failed state named");
    assert!(dom.contains(r#"<g class="st failed" data-state="WaveFailed">"#), "the failed state drawn red");
    assert!(dom.contains(r#"<section id="timeline">"#) && dom.contains(r#"<g class="bar bad">"#), "the timeline");

    let png = dir.path().join("report.png");
    let mut shot = headless(&chromium, &dir.path().join("profile-shot"));
    shot.arg(format!("--screenshot={}", png.display())).arg("--window-size=1400,2000").arg(&url);
    let out = run_for(shot, Duration::from_secs(60));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&png).expect("the screenshot");
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
    // A blank 1400x2000 page compresses to about 12 KB; the report's grids and bars to far more.
    assert!(bytes.len() > 20 * 1024, "{} bytes: nothing rendered?", bytes.len());
}
