//! `platform-ops validate` against the repository and against fixtures broken one check at a time.

use std::path::{Path, PathBuf};

use platform_ops::actions::{self, ActionCatalogue};
use platform_ops::validate::{Inputs, Report, run_with};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// The repository's config and tools, with the template and state machines of one fixture.
fn fixture(name: &str) -> Inputs {
    let root = root();
    let dir = root.join("tests/fixtures/validate").join(name);
    let mut inputs = Inputs::for_root(&root);
    inputs.today = today();
    inputs.template = dir.join("template.yaml");
    inputs.stacksets_dir = dir.join("stacksets");
    inputs.state_machines_dir = dir.join("state-machines");
    inputs.samconfig = dir.join("samconfig.toml");
    inputs
}

/// Validation results must not change with the calendar: Kubernetes support windows are judged
/// as of a fixed day in tests.
fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("date")
}

fn vending() -> ActionCatalogue {
    ActionCatalogue::default()
        .with_function("account-vending", ["CreateAccount", "AwaitAccount", "PlaceInOu"])
        .with_errors("account-vending", platform_core::ErrorClass::NAMES.iter().copied())
}

fn messages(report: &Report, check: &str) -> Vec<String> {
    report
        .check(check)
        .unwrap_or_else(|| panic!("no check {check}"))
        .findings
        .iter()
        .map(|f| format!("{} {} {}", f.file, f.location.clone().unwrap_or_default(), f.message))
        .collect()
}

/// Every check except `failing` is clean, and `failing` reports what `expected` says.
fn assert_only(report: &Report, failing: &str, expected: &[&str]) {
    for c in &report.checks {
        if c.check == failing {
            let found = messages(report, failing).join("\n");
            assert!(!c.findings.is_empty(), "{failing} found nothing:\n{report}");
            for e in expected {
                assert!(found.contains(e), "{failing} should report `{e}`, got:\n{found}");
            }
        } else {
            assert!(c.findings.is_empty(), "{} should pass:\n{report}", c.check);
        }
    }
}

/// On the real date, on purpose: a Kubernetes version past EKS standard support is a finding CI
/// must show the day it happens (the config is then upgraded); every other test, the demo and
/// the flows judge config on their own day and never fail on the calendar.
#[test]
fn the_repository_validates_clean_on_the_real_date() {
    let report = run_with(&Inputs::for_root(&root()), &actions::linked());
    assert!(report.passed(), "{report}");
}

/// GIVEN the repository's config judged 30 days before its Kubernetes version leaves support
/// THEN validate passes with a warning naming the day; the day after it ends, loading as of that
/// day is a finding naming the version, and loading config for work still succeeds.
#[test]
fn a_version_leaving_support_warns_then_is_a_finding_and_never_stops_work() {
    use chrono::{Days, NaiveDate};
    use platform_core::config::{self, SUPPORTED_KUBERNETES_VERSIONS};
    let dir = root().join("config");
    let tree = config::load(&dir).expect("config loads whatever the day");
    let version = &tree.environment("prod").expect("prod").kubernetes.version;
    let (_, (y, m, d)) = SUPPORTED_KUBERNETES_VERSIONS.iter().find(|(v, _)| v == version).expect("a known version");
    let ends = NaiveDate::from_ymd_opt(*y, *m, *d).expect("date");
    let mut inputs = Inputs::for_root(&root());
    inputs.today = ends - Days::new(30);
    let report = run_with(&inputs, &actions::linked());
    assert!(report.passed(), "{report}");
    let warned = report.warnings.iter().find(|w| w.file.ends_with("prod.toml")).expect("prod warned");
    assert!(warned.message.contains(&format!("leaves EKS standard support on {ends} (30 days")), "{}", warned.message);
    let after = config::load_as_of(&dir, ends + Days::new(1)).expect_err("past support");
    assert!(after.to_string().contains(&format!("`{version}` left EKS standard support")), "{after}");
}

#[test]
fn the_good_fixture_passes_every_check() {
    let report = run_with(&fixture("good"), &vending());
    assert!(report.passed(), "{report}");
    assert_eq!(report.checks.len(), 10);
}

#[test]
fn a_broken_config_is_reported_by_file_and_key() {
    let mut inputs = fixture("good");
    inputs.config_dir = root().join("tests/fixtures/validate/broken-config/config");
    let report = run_with(&inputs, &vending());
    assert_only(
        &report,
        "config",
        &[
            "environments/dev.toml domain_name `<xxx-xxxxxxxx-dev.com>` is a placeholder",
            "environments/staging.toml nodegroup.desired_size desired_size 7 is above max_size 6",
        ],
    );
}

/// A remediated signature that names no remediation, and a runbook anchor that is no heading of
/// docs/runbook.md: notifications would send on-call nowhere, remediations would do nothing.
#[test]
fn a_signature_without_its_remediation_or_runbook_section_is_reported() {
    let mut inputs = fixture("good");
    inputs.config_dir = root().join("tests/fixtures/validate/broken-signatures/config");
    let report = run_with(&inputs, &vending());
    assert_only(
        &report,
        "config",
        &[
            "log-signatures.toml signatures[2].remediation signature `OOMKilled` is remediated but names no remediation (one of rollback, raise-memory)",
            "log-signatures.toml signatures[1].runbook anchor `signature-crash-loop` of signature `CrashLoopBackOff` is no heading of docs/runbook.md",
        ],
    );
    assert_eq!(messages(&report, "config").len(), 2, "{report}");
}

#[test]
fn cfn_lint_findings_name_rule_and_line() {
    let report = run_with(&fixture("broken-template"), &vending());
    let found = messages(&report, "cfn-lint").join("\n");
    assert!(found.contains("line 10:7 Resources/GuardTable/Properties/BillingMode E3030 error"), "{found}");
    assert!(found.contains("E3639"), "{found}");
}

#[test]
fn asl_validator_rejects_a_broken_definition() {
    let report = run_with(&fixture("broken-asl"), &vending());
    assert_only(
        &report,
        "asl-validator",
        &["bad.asl.json", "SCHEMA_VALIDATION_FAILED", "/States/AccountReady/Choices/0"],
    );
}

#[test]
fn an_unsupplied_substitution_is_reported() {
    let report = run_with(&fixture("broken-substitutions"), &vending());
    assert_only(
        &report,
        "substitutions",
        &[
            "${NotificationsTopicArn} `NotificationsTopicArn` is not supplied by DefinitionSubstitutions of VendingStateMachine",
        ],
    );
}

#[test]
fn an_action_missing_from_the_function_enum_is_reported() {
    let report = run_with(&fixture("broken-actions"), &vending());
    assert_only(
        &report,
        "actions",
        &[
            "States/CreateAccount action `Teleport` is not in account-vending's action enum (AwaitAccount, CreateAccount, PlaceInOu)",
        ],
    );
}

/// A misspelt error name would never match: the retry it configures would never happen.
#[test]
fn a_misspelt_error_name_is_reported() {
    let report = run_with(&fixture("broken-errors"), &vending());
    assert_only(
        &report,
        "errors",
        &[
            "States/CreateAccount/Retry[0] `Throttld` is raised by nothing this state runs",
            "States/CreateAccount/Catch[0] `Lambda.TooManyRequests` is raised by nothing this state runs",
            "States/Notify/Catch[0] `SNS` is raised by nothing this state runs",
        ],
    );
    let found = messages(&report, "errors");
    assert_eq!(found.len(), 3, "States.Timeout, SNS.AuthorizationErrorException and the classes are fine: {found:?}");
}

#[test]
fn a_function_without_a_crate_is_reported() {
    let report = run_with(&fixture("good"), &ActionCatalogue::default());
    assert_only(
        &report,
        "actions",
        &["function `account-vending` (VendingFunction) is not a function crate of this workspace"],
    );
}

#[test]
fn missing_tools_are_findings_not_panics() {
    let mut inputs = fixture("good");
    inputs.cfn_lint = PathBuf::from("/nonexistent/cfn-lint");
    let report = run_with(&inputs, &vending());
    assert_only(&report, "cfn-lint", &["run scripts/bootstrap.sh"]);
}

/// The baseline's alarms are the rendering of config/remediation-alarms.toml: a threshold
/// changed in config and not rendered is a finding, with the command that fixes it.
#[test]
fn a_baseline_out_of_date_with_the_alarm_config_is_reported() {
    let dir = tempfile::tempdir().expect("tmp");
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(from, to).expect("copy");
    };
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
        copy(&root().join("config").join(f), &dir.path().join("config").join(f));
    }
    for f in ["stacksets/member-baseline.yaml", "stacksets/platform.yaml", "template.yaml"] {
        copy(&root().join(f), &dir.path().join(f));
    }
    let alarms = dir.path().join("config/remediation-alarms.toml");
    let text = std::fs::read_to_string(&alarms).expect("read");
    std::fs::write(&alarms, text.replacen("threshold = 75.0", "threshold = 85.0", 1)).expect("write");
    let mut inputs = Inputs::for_root(dir.path());
    inputs.today = today();
    let report = run_with(&inputs, &actions::linked());
    let baseline = report.checks.iter().find(|c| c.check == "generated").expect("check");
    assert_eq!(baseline.findings.len(), 1, "{report}");
    assert_eq!(baseline.findings[0].file, "stacksets/member-baseline.yaml", "{report}");
    assert!(baseline.findings[0].message.contains("platform-ops config templates --write"), "{report}");
}

#[test]
fn a_checkov_skip_without_its_reason_is_reported() {
    let report = run_with(&fixture("broken-suppressions"), &vending());
    assert_only(
        &report,
        "suppressions",
        &[
            "Resources/VendingFunction/Metadata/checkov/skip/0 the skip of `CKV_AWS_117` needs a comment with its reason (found `not needed`)",
            "skip/1 `CKV_AWS_X` is not a checkov check id",
            "skip/2 CKV_AWS_117 is skipped twice",
        ],
    );
    assert_eq!(messages(&report, "suppressions").len(), 3, "{report}");
}

#[test]
fn deploy_profiles_are_checked_against_template_and_config() {
    let report = run_with(&fixture("broken-samconfig"), &vending());
    assert_only(
        &report,
        "samconfig",
        &[
            "dev.deploy.parameters.parameter_overrides `Colour` is not a parameter of the template",
            "dev.deploy.parameters.parameter_overrides `OrganizationId` is required by the template and not given",
            "MemberRegions=`us-east-1` but config/environments/dev.toml has `us-east-1,us-west-2`",
            "DomainName=`abc-trading.com` but config/environments/dev.toml has `abc-trading-dev.com`",
            "dev.deploy.parameters.stack_name `platform-ops-dev` must be `abc-trading-dev-platform-ops`",
            "dev.deploy.parameters.s3_prefix `platform-ops` must be `abc-trading-dev-platform-ops`",
            "Environment=`qa` is not one of dev, staging, prod",
            "Environment=`qa` in profile `staging`: they must be the same",
        ],
    );
    // prod is a correct profile: nothing about it.
    assert!(!messages(&report, "samconfig").iter().any(|m| m.contains("prod.")), "{report}");
}

/// The template is read once, by the local runtime's model: what it cannot load (a function that
/// names no binary), validate reports instead of checking around it.
#[test]
fn a_template_the_runtime_cannot_load_is_reported() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = root().join("tests/fixtures/validate/good");
    let template = std::fs::read_to_string(good.join("template.yaml")).expect("template");
    let broken = template.replace("        Binary: account-vending\n", "");
    assert_ne!(broken, template, "the fixture names its binary");
    std::fs::write(dir.path().join("template.yaml"), broken).expect("write");
    let mut inputs = fixture("good");
    inputs.template = dir.path().join("template.yaml");
    let report = run_with(&inputs, &vending());
    let found = messages(&report, "substitutions").join("\n");
    assert!(found.contains("template does not load") && found.contains("Binary"), "{found}");
}

/// Issue 16's rules a template can break: a role without the environment's boundary, a trust by
/// tag, events published with any detail-type, an execution role that makes unbounded roles.
#[test]
fn iam_rules_are_reported_by_resource() {
    let report = run_with(&fixture("broken-iam"), &vending());
    assert_only(
        &report,
        "iam",
        &[
            "Resources/VendingFunction AWS::Serverless::Function has no PermissionsBoundary",
            "Resources/TaggedTrustRole AWS::IAM::Role has no PermissionsBoundary",
            "Resources/TaggedTrustRole/AssumeRolePolicyDocument/Statement[0] trusts by aws:PrincipalTag/managed-by",
            "Resources/TaggedTrustRole/AssumeRolePolicyDocument/Statement[0] trusts every principal of an account",
            "Resources/VendingFunction/Policies[0] EventBridgePutEventsPolicy grants every detail-type",
            "Resources/VendingFunction/Policies[1]/Statement[0] allows events:PutEvents without an events:detail-type condition",
            "Resources/ExecutionRole/Policies[0]/Statement[0] allows iam:CreateRole without an iam:PermissionsBoundary condition",
            "does not deny iam:DeleteRolePermissionsBoundary",
            "does not deny iam:PutRolePolicy on roles without the boundary",
        ],
    );
    let found = messages(&report, "iam");
    assert_eq!(found.len(), 9, "the state machine has its boundary and the bus nothing to say: {found:#?}");
}

/// The member baseline's trust anchors (its Rules) are what the deploy profiles deploy: an
/// environment moved to an automation account of its own is moved in both, or validate says so.
#[test]
fn trust_anchors_that_disagree_with_the_profiles_are_reported() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("stacksets")).expect("mkdir");
    std::fs::copy(root().join("stacksets/member-baseline.yaml"), dir.path().join("stacksets/member-baseline.yaml"))
        .expect("copy");
    let samconfig = std::fs::read_to_string(root().join("samconfig.toml")).expect("samconfig");
    let moved = samconfig.replacen("\"Environment=staging\",\n  \"DomainName=abc-trading-staging.com\",\n  \"OrganizationId=o-abcltd00000\",\n  \"ManagementAccountId=111111111111\",\n  \"AutomationAccountId=222222222222\"", "\"Environment=staging\",\n  \"DomainName=abc-trading-staging.com\",\n  \"OrganizationId=o-abcltd00000\",\n  \"ManagementAccountId=111111111111\",\n  \"AutomationAccountId=444444444444\"", 1);
    assert_ne!(moved, samconfig, "the staging profile names its automation account");
    std::fs::write(dir.path().join("samconfig.toml"), moved).expect("write");
    let mut inputs = fixture("good");
    inputs.stacksets_dir = dir.path().join("stacksets");
    inputs.samconfig = dir.path().join("samconfig.toml");
    let report = run_with(&inputs, &vending());
    let found = messages(&report, "iam");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("Rules/TrustAnchors gives staging the automation account `222222222222` but samconfig.toml's staging profile has `444444444444`"),
        "{found:#?}"
    );
}
