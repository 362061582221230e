//! One wiring path: the Lambda binaries and the local runtime build each function's dependencies
//! through the same `platform_core::lambda::deps_from`, from the environment the template gives it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use platform_core::aws::AwsContext;
use platform_core::lambda::{Function, InitError, deps_from};
use platform_ops::runtime::functions::{self, FunctionError, NAMES};
use platform_ops::runtime::template::Template;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn template() -> Template {
    let parameters: BTreeMap<String, String> = [
        ("Environment", "dev"),
        ("OrganizationId", "o-abcdefghij"),
        ("ManagementAccountId", "123456789012"),
        ("AutomationAccountId", "123456789012"),
        ("ImageRegistry", "123456789012"),
        ("MemberRegions", "eu-west-2"),
        ("DomainName", "abc-trading-dev.com"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Template::load(&root().join("template.yaml"), &parameters).expect("template")
}

/// A context that reaches nothing: no dependency here gets as far as a call.
fn unreachable_context() -> AwsContext {
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-2"))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    AwsContext::from_config(config).expect("region")
}

/// How the Lambda path's cold start of `name` ends on `vars`: `Ok` or the error's text.
async fn lambda_init(name: &str, vars: &BTreeMap<String, String>) -> Result<(), String> {
    let vars = vars.iter().map(|(k, v)| (k.clone(), v.clone()));
    let ctx = unreachable_context();
    let text = |e: InitError| e.to_string();
    match name {
        n if n == log_processor::function::LogProcessor::NAME => {
            deps_from::<log_processor::function::LogProcessor>(vars, &ctx).await.map(drop).map_err(text)
        }
        n if n == alarm_scaler::function::AlarmScaler::NAME => {
            deps_from::<alarm_scaler::function::AlarmScaler>(vars, &ctx).await.map(drop).map_err(text)
        }
        n if n == account_vending::function::AccountVending::NAME => {
            deps_from::<account_vending::function::AccountVending>(vars, &ctx).await.map(drop).map_err(text)
        }
        n if n == platform_deploy::function::PlatformDeploy::NAME => {
            deps_from::<platform_deploy::function::PlatformDeploy>(vars, &ctx).await.map(drop).map_err(text)
        }
        n if n == scheduled_ops::function::ScheduledOps::NAME => {
            deps_from::<scheduled_ops::function::ScheduledOps>(vars, &ctx).await.map(drop).map_err(text)
        }
        n if n == signal_triage::function::SignalTriage::NAME => {
            deps_from::<signal_triage::function::SignalTriage>(vars, &ctx).await.map(drop).map_err(text)
        }
        n if n == on_call::function::OnCall::NAME => {
            deps_from::<on_call::function::OnCall>(vars, &ctx).await.map(drop).map_err(text)
        }
        n if n == fleet_release::function::FleetRelease::NAME => {
            deps_from::<fleet_release::function::FleetRelease>(vars, &ctx).await.map(drop).map_err(text)
        }
        other => panic!("no function `{other}`"),
    }
}

/// GIVEN each function's environment from template.yaml WITHOUT one of its variables THEN the
/// local runtime's start of it ends exactly as the Lambda path's does (the same missing variable
/// named, or the same failure further on): both read the same typed environment through the same
/// function. Nothing here reaches AWS: the endpoint refuses connections.
#[tokio::test]
async fn the_runtime_and_lambda_refuse_the_same_missing_variable() {
    let template = template();
    let mut seen = Vec::new();
    for f in template.functions.values() {
        seen.push(f.binary.clone());
        let mut refused = 0;
        for variable in f.environment.keys() {
            let mut vars = f.environment.clone();
            vars.remove(variable);
            let runtime =
                match functions::build(&f.binary, &vars, &unreachable_context(), &functions::StandIns::default()).await
                {
                    Ok(_) => Ok(()),
                    Err(FunctionError::Init { source, .. }) => Err(source.to_string()),
                    Err(other) => panic!("{}: {other}", f.binary),
                };
            assert_eq!(runtime, lambda_init(&f.binary, &vars).await, "{} without {variable}", f.binary);
            if runtime == Err(format!("environment variable {variable} is not set")) {
                refused += 1;
            }
        }
        assert!(refused >= 3, "{}: only {refused} variables are required", f.binary);
    }
    seen.sort();
    let mut names = NAMES.to_vec();
    names.sort();
    assert_eq!(seen, names, "every function in the template is in the runtime's registry");
}

/// Each Lambda binary's `main.rs` is the shared `serve` of its crate's `Function`, nothing else.
#[test]
fn every_main_serves_its_function_through_platform_core() {
    for name in NAMES {
        let path = root().join("functions").join(name).join("src/main.rs");
        let main = std::fs::read_to_string(&path).expect("main.rs");
        let crate_name = name.replace('-', "_");
        assert!(
            main.contains(&format!("platform_core::lambda::serve::<{crate_name}::function::")),
            "{}: {main}",
            path.display()
        );
        assert!(main.lines().count() <= 15, "{} is {} lines", path.display(), main.lines().count());
    }
}

/// An unknown binary names the ones there are.
#[tokio::test]
async fn an_unknown_binary_lists_the_known_ones() {
    let err = functions::build("billing", &BTreeMap::new(), &unreachable_context(), &functions::StandIns::default())
        .await
        .expect_err("unknown");
    assert!(err.to_string().contains("log-processor, alarm-scaler, account-vending"), "{err}");
}

/// The action names derived from each request enum are the ones serde accepts: strum and serde
/// agree on every variant's spelling, and a name outside the enum is refused as unknown.
#[test]
fn derived_action_names_are_the_accepted_ones() {
    fn check<F: Function>() {
        assert!(!F::ACTIONS.is_empty(), "{} has no actions", F::NAME);
        for action in F::ACTIONS.iter().chain(["teleport"].iter()) {
            let err = serde_json::from_value::<F::Request>(serde_json::json!({ "action": action }))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert_eq!(err.contains("unknown variant"), *action == "teleport", "{} `{action}`: {err}", F::NAME);
        }
        assert!(F::error_names().iter().all(|n| !n.is_empty() && !n.contains(' ')), "{}", F::NAME);
    }
    check::<alarm_scaler::function::AlarmScaler>();
    check::<account_vending::function::AccountVending>();
    check::<platform_deploy::function::PlatformDeploy>();
    check::<scheduled_ops::function::ScheduledOps>();
    check::<signal_triage::function::SignalTriage>();
    check::<on_call::function::OnCall>();
}

/// The fakes stay out of the Lambda binaries: no function crate's normal dependencies enable a
/// `fakes` feature (tests enable them as dev-dependencies; the local runtime in platform-ops).
#[test]
fn no_lambda_binary_carries_the_fakes() {
    for name in NAMES {
        let path = root().join("functions").join(name).join("Cargo.toml");
        let manifest: toml::Table = std::fs::read_to_string(&path).expect("manifest").parse().expect("toml");
        let deps = manifest.get("dependencies").and_then(|d| d.as_table()).expect("dependencies");
        for (dep, spec) in deps {
            let features = spec.get("features").and_then(|f| f.as_array()).cloned().unwrap_or_default();
            assert!(
                !features.iter().any(|f| f.as_str().is_some_and(|f| f == "fakes" || f.ends_with("/fakes"))),
                "{}: {dep} enables fakes",
                path.display()
            );
        }
        let default = manifest.get("features").and_then(|f| f.get("default")).and_then(|d| d.as_array());
        assert!(default.is_none_or(|d| !d.iter().any(|f| f.as_str() == Some("fakes"))), "{name} defaults to fakes");
    }
}
