//! Cross-account sessions: the request STS sees, caching until near expiry, one call per account
//! under concurrency, and a real round trip through the emulator.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use platform_core::aws::AwsContext;
use platform_core::error::ErrorClass;
use platform_core::fakes::{FakeRoleAssumer, ManualClock};
use platform_core::sessions::{MemberSessions, SessionSettings};

const DEV: &str = "111111111111";
const PROD: &str = "222222222222";

fn sessions(external_id: Option<&str>) -> (Arc<ManualClock>, Arc<FakeRoleAssumer>, Arc<MemberSessions>) {
    let clock = Arc::new(ManualClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)));
    let sts = Arc::new(FakeRoleAssumer::new(clock.clone()));
    let settings = SessionSettings::new("abc-trading-automation", "alarm-scaler", "us-east-1")
        .with_external_id(external_id.map(str::to_string));
    let sessions = Arc::new(MemberSessions::new(sts.clone(), clock.clone(), settings));
    (clock, sts, sessions)
}

#[tokio::test]
async fn the_request_names_role_caller_and_external_id() {
    let (_, sts, sessions) = sessions(Some("abc-ext-42"));
    sessions.credentials(DEV).await.expect("session");
    let calls = sts.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].role_arn, "arn:aws:iam::111111111111:role/abc-trading-automation");
    assert_eq!(calls[0].session_name, "platform-ops-alarm-scaler");
    assert_eq!(calls[0].external_id.as_deref(), Some("abc-ext-42"));
    assert_eq!(calls[0].duration_seconds, 3600);
}

#[tokio::test]
async fn credentials_are_reused_until_shortly_before_expiry() {
    let (clock, sts, sessions) = sessions(None);
    let first = sessions.credentials(DEV).await.expect("session");
    // 54 minutes on, 6 minutes of validity left: more than the 5-minute margin, so reused.
    clock.advance(Duration::from_secs(54 * 60));
    assert_eq!(sessions.credentials(DEV).await.expect("cached"), first);
    assert_eq!(sts.calls().len(), 1);
    // 56 minutes on, 4 minutes left: inside the margin, so renewed before any call can use them.
    clock.advance(Duration::from_secs(2 * 60));
    let renewed = sessions.credentials(DEV).await.expect("renewed");
    assert_ne!(renewed, first);
    assert_eq!(sts.calls().len(), 2);
}

#[tokio::test]
async fn each_account_has_its_own_session() {
    let (_, sts, sessions) = sessions(None);
    let dev = sessions.credentials(DEV).await.expect("dev");
    let prod = sessions.credentials(PROD).await.expect("prod");
    sessions.credentials(DEV).await.expect("dev again");
    assert_ne!(dev.access_key_id, prod.access_key_id);
    assert_eq!(sts.calls().len(), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_assume_role() {
    let clock = Arc::new(ManualClock::at(SystemTime::now()));
    let mut fake = FakeRoleAssumer::new(clock.clone());
    fake.latency = Duration::from_millis(50);
    let sts = Arc::new(fake);
    let sessions = Arc::new(MemberSessions::new(
        sts.clone(),
        clock,
        SessionSettings::new("abc-trading-automation", "t", "us-east-1"),
    ));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let s = sessions.clone();
            tokio::spawn(async move { s.credentials(DEV).await.expect("session").access_key_id })
        })
        .collect();
    let mut keys = Vec::new();
    for t in tasks {
        keys.push(t.await.expect("join"));
    }
    assert_eq!(sts.calls().len(), 1, "one AssumeRole for 16 concurrent callers");
    assert!(keys.iter().all(|k| k == &keys[0]));
}

#[tokio::test]
async fn a_malformed_account_id_is_refused_before_sts() {
    let (_, sts, sessions) = sessions(None);
    for bad in ["12345", "12345678901x", "arn:aws:iam::111111111111:root"] {
        let err = sessions.credentials(bad).await.expect_err("refused");
        assert_eq!(err.class, ErrorClass::InvalidRequest);
        assert!(err.message.contains(bad), "{err}");
    }
    assert!(sts.calls().is_empty());
}

#[test]
fn partitions_and_session_names_follow_sts_rules() {
    let gov = SessionSettings::new("r", "x", "us-gov-west-1");
    assert_eq!(gov.partition, "aws-us-gov");
    assert_eq!(SessionSettings::new("r", "x", "cn-north-1").partition, "aws-cn");
    let long =
        SessionSettings::new("r", "a caller with spaces and a very long name that goes on and on and on", "us-east-1");
    let name = long.session_name();
    assert!(name.len() <= 64 && !name.contains(' '), "{name}");
}

/// Counts the operations of every client that carries it.
#[derive(Debug, Default, Clone)]
struct Counting(Arc<std::sync::Mutex<Vec<String>>>);

impl aws_smithy_runtime_api::client::interceptors::Intercept for Counting {
    fn name(&self) -> &'static str {
        "counting"
    }

    fn read_before_serialization(
        &self,
        _: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if let Some(m) = cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>() {
            self.0.lock().expect("lock").push(m.name().to_string());
        }
        Ok(())
    }
}

/// GIVEN the emulator WHEN a client is built from a member session THEN its calls run as the
/// member account, the session is opened once for many calls, and the context's interceptor sees
/// both the AssumeRole and the member's calls.
#[tokio::test]
async fn member_clients_run_in_the_member_account() {
    let emulator = emulator::Emulator::start_for_workspace().expect("emulator");
    let seen = Counting::default();
    let ctx = AwsContext::from_config(emulator.sdk_config()).expect("region").with_interceptor(seen.clone());
    let sessions = ctx.sessions("abc-trading-automation", "session-test");

    let member: aws_sdk_sts::Client = ctx.members(sessions.clone()).client(DEV);
    for _ in 0..3 {
        let who = member.get_caller_identity().send().await.expect("caller identity");
        assert_eq!(who.account(), Some(DEV));
        assert!(
            who.arn().is_some_and(|a| a.contains("assumed-role/abc-trading-automation/platform-ops-session-test")),
            "{who:?}"
        );
    }
    let creds = sessions.credentials(DEV).await.expect("cached");
    let left = creds.expires_at.duration_since(SystemTime::now()).expect("in the future");
    assert!(left > Duration::from_secs(3000) && left <= Duration::from_secs(3600), "{left:?}");

    let own = ctx.client::<aws_sdk_sts::Client>().get_caller_identity().send().await.expect("identity");
    assert_eq!(own.account(), Some(emulator::DEFAULT_ACCOUNT_ID));
    // The SDK resolves credentials (AssumeRole) after it has begun the member's first call.
    let mut seen = seen.0.lock().expect("lock").clone();
    seen.sort();
    assert_eq!(
        seen,
        ["AssumeRole", "GetCallerIdentity", "GetCallerIdentity", "GetCallerIdentity", "GetCallerIdentity"]
    );
}

/// A context without a region is refused: nothing guesses one.
#[test]
fn a_context_needs_a_region() {
    let config = aws_config::SdkConfig::builder().behavior_version(aws_config::BehaviorVersion::latest()).build();
    let err = AwsContext::from_config(config).expect_err("no region");
    assert_eq!(err.to_string(), "no AWS region is configured (set AWS_REGION)");
}

/// A member role that cannot be assumed keeps its class through the SDK's credential resolution,
/// instead of looking like a retryable network failure.
#[tokio::test]
async fn a_refused_assume_role_is_access_denied_for_the_member_client() {
    use async_trait::async_trait;
    use platform_core::error::{AwsError, ClassifyExt};
    use platform_core::ports::{AssumeRoleRequest, RoleAssumer, SessionCredentials};

    #[derive(Debug)]
    struct Refusing;
    #[async_trait]
    impl RoleAssumer for Refusing {
        async fn assume_role(&self, r: &AssumeRoleRequest) -> Result<SessionCredentials, AwsError> {
            Err(AwsError::new(
                ErrorClass::AccessDenied,
                "AssumeRole",
                format!("not authorized to assume {}", r.role_arn),
            ))
        }
    }
    let base = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let sessions = Arc::new(MemberSessions::new(
        Arc::new(Refusing),
        Arc::new(platform_core::ports::SystemClock),
        SessionSettings::new("abc-trading-automation", "test", "us-east-1"),
    ));
    let ssm = aws_sdk_ssm::Client::new(&sessions.sdk_config(&base, DEV));
    let err = ssm.get_parameter().name("/x").send().await.classify("GetParameter").expect_err("no credentials");
    assert_eq!(err.class, ErrorClass::AccessDenied, "{err}");
    // The message is the AWS error's own; why it happened is in its sources, kept, not copied in.
    let mut chain = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = next {
        chain.push(e.to_string());
        next = e.source();
    }
    assert_eq!(chain[0], "GetParameter failed (AccessDenied): request could not be sent");
    assert!(
        chain
            .iter()
            .any(|c| c.contains("not authorized to assume arn:aws:iam::111111111111:role/abc-trading-automation")),
        "{chain:?}"
    );
    assert!(chain.iter().skip(1).all(|c| !c.contains("GetParameter failed")), "each cause once: {chain:?}");
}
