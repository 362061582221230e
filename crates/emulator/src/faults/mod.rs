//! A fault-injecting HTTP layer between SDK clients and the emulator, with a journal of what took effect.
//!
//! Every request an SDK client sends passes through [`FaultyHttpClient`]. By a seeded choice
//! per request it answers in the emulator's place with the service's own throttling error, a 500
//! or 503, a connection reset or a read timeout, or, hardest of all, forwards the request (the
//! emulator applies it) and then loses the response. Whatever the emulator answered is
//! journaled, so a run can count the writes that took effect, not the ones that were attempted.

mod wire;

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, Metadata};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

pub use wire::{Protocol, throttling_code};

/// What can go wrong with one request.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum FaultKind {
    /// The service's own throttling error, in its protocol's format.
    Throttled,
    /// 500 InternalFailure.
    ServerError,
    /// 503 ServiceUnavailable.
    Unavailable,
    /// The connection reset before the request was read: nothing applied.
    Reset,
    /// No answer within the client's read timeout: nothing applied.
    Timeout,
    /// Applied by the emulator, then the connection dropped before the response arrived.
    ResponseLost,
}

impl FaultKind {
    pub const ALL: [FaultKind; 6] = [
        FaultKind::Throttled,
        FaultKind::ServerError,
        FaultKind::Unavailable,
        FaultKind::Reset,
        FaultKind::Timeout,
        FaultKind::ResponseLost,
    ];
}

/// Which requests may fail: `service` (as the SDK names it, lowercase: `dynamodb`, `eks`) or
/// `service:Operation` (`organizations:CreateAccount`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub service: String,
    pub operation: Option<String>,
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Scope, String> {
        let (service, operation) = match s.split_once(':') {
            Some((s, o)) => (s, Some(o.to_string())),
            None => (s, None),
        };
        if service.is_empty() || operation.as_deref() == Some("") {
            return Err(format!("fault scope `{s}` is not `service` or `service:Operation`"));
        }
        Ok(Scope { service: service.to_lowercase(), operation })
    }
}

/// How often, how and where faults are injected. A zero rate injects nothing and still journals.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    /// The share of requests (0..=1) that fail.
    pub rate: f64,
    pub seed: u64,
    /// Empty: every service.
    pub scope: Vec<Scope>,
    /// The kinds drawn from, uniformly.
    pub kinds: Vec<FaultKind>,
    /// How long a timed-out request hangs before the client gives up on it.
    pub timeout_after: Duration,
}

impl FaultPlan {
    pub fn new(rate: f64, seed: u64) -> FaultPlan {
        FaultPlan {
            rate: rate.clamp(0.0, 1.0),
            seed,
            scope: Vec::new(),
            kinds: FaultKind::ALL.to_vec(),
            timeout_after: Duration::from_millis(200),
        }
    }

    /// Journals every request and injects nothing: the fault-free run to compare against.
    pub fn none() -> FaultPlan {
        FaultPlan::new(0.0, 0)
    }

    fn covers(&self, service: &str, operation: &str) -> bool {
        self.scope.is_empty()
            || self.scope.iter().any(|s| s.service == service && s.operation.as_deref().is_none_or(|o| o == operation))
    }
}

/// A request the emulator answered: what it was, whether it was applied (2xx) and whether the
/// client ever saw the answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Answered {
    pub service: String,
    pub operation: String,
    pub status: u16,
    /// Identifies the request's body: an SDK's retry sends the same body again.
    pub digest: u64,
    /// The response was dropped after the emulator applied the request.
    pub lost: bool,
    /// The request carries an idempotency token (`clientRequestToken`, `ClientToken`, a
    /// StackSet `OperationId`): AWS answers the same request again without acting again.
    pub token: bool,
}

impl Answered {
    pub fn applied(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What one run's faults did, read at its end.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FaultStats {
    pub injected: BTreeMap<FaultKind, u64>,
    /// Operations the SDK clients started (each may take several attempts).
    pub operations: u64,
    /// Attempts sent, retries included.
    pub attempts: u64,
}

impl FaultStats {
    pub fn retries(&self) -> u64 {
        self.attempts.saturating_sub(self.operations)
    }

    pub fn total(&self) -> u64 {
        self.injected.values().sum()
    }
}

/// The shared state of one fault plan: the draw, the counts and the journal.
#[derive(Debug)]
pub struct Faults {
    plan: FaultPlan,
    /// Draws per (service, operation): concurrent calls to other operations do not shift the
    /// sequence an operation sees, so a seed replays the same faults.
    draws: Mutex<HashMap<(String, String), u64>>,
    injected: Mutex<BTreeMap<FaultKind, u64>>,
    operations: AtomicU64,
    attempts: AtomicU64,
    journal: Mutex<Vec<Answered>>,
}

impl Faults {
    pub fn new(plan: FaultPlan) -> Arc<Faults> {
        Arc::new(Faults {
            plan,
            draws: Mutex::new(HashMap::new()),
            injected: Mutex::new(BTreeMap::new()),
            operations: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
            journal: Mutex::new(Vec::new()),
        })
    }

    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    /// The fault for the next request to `service`'s `operation`, if any, counted when drawn.
    /// The in-process Lambda invocations of the local runtime draw here too (`lambda`, `Invoke`).
    pub fn draw(&self, service: &str, operation: &str) -> Option<FaultKind> {
        if self.plan.rate <= 0.0 || self.plan.kinds.is_empty() || !self.plan.covers(service, operation) {
            return None;
        }
        let n = {
            let mut draws = lock(&self.draws);
            let n = draws.entry((service.to_string(), operation.to_string())).or_default();
            *n += 1;
            *n
        };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.plan.seed, service, operation, n).hash(&mut h);
        let x = splitmix(h.finish());
        // 53 bits of the draw as a uniform number in [0, 1).
        let uniform = (x >> 11) as f64 / (1u64 << 53) as f64;
        if uniform >= self.plan.rate {
            return None;
        }
        let kind = self.plan.kinds[(splitmix(x) % self.plan.kinds.len() as u64) as usize];
        *lock(&self.injected).entry(kind).or_default() += 1;
        Some(kind)
    }

    pub fn stats(&self) -> FaultStats {
        FaultStats {
            injected: lock(&self.injected).clone(),
            operations: self.operations.load(Ordering::Relaxed),
            attempts: self.attempts.load(Ordering::Relaxed),
        }
    }

    /// Every request the emulator answered so far, in order.
    pub fn journal(&self) -> Vec<Answered> {
        lock(&self.journal).clone()
    }

    /// The requests answered since `*mark` (an earlier journal length), moving the mark.
    pub fn journal_since(&self, mark: &mut usize) -> Vec<Answered> {
        let journal = lock(&self.journal);
        let out = journal.get(*mark..).map(<[Answered]>::to_vec).unwrap_or_default();
        *mark = journal.len();
        out
    }

    fn answered(&self, a: Answered) {
        lock(&self.journal).push(a);
    }

    /// The HTTP client SDK clients use to reach the emulator through this plan.
    pub fn http_client(self: &Arc<Self>) -> SharedHttpClient {
        SharedHttpClient::new(FaultyHttpClient {
            inner: aws_smithy_http_client::Builder::new().build_http(),
            faults: self.clone(),
        })
    }

    /// The interceptor every client must carry: it names each request's operation for the
    /// HTTP layer (which sees only bytes) and counts operations and attempts.
    pub fn interceptor(self: &Arc<Self>) -> OperationTag {
        OperationTag(self.clone())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether a request body names an idempotency token, in JSON (`"clientRequestToken":`) or
/// query (`ClientRequestToken=`) form.
fn carries_token(body: &[u8]) -> bool {
    const NAMES: [&[u8]; 5] =
        [b"lientRequestToken", b"lientToken", b"OperationId", b"dempotencyToken", b"ClientRequestId"];
    NAMES.iter().any(|name| body.windows(name.len()).any(|w| w == *name))
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The operation a request belongs to, attached by [`OperationTag`].
#[derive(Debug, Clone)]
struct Operation {
    service: String,
    name: String,
}

#[derive(Debug, Clone)]
pub struct OperationTag(Arc<Faults>);

impl Intercept for OperationTag {
    fn name(&self) -> &'static str {
        "platform-ops-fault-operation-tag"
    }

    fn read_before_serialization(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.operations.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.attempts.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = cfg.load::<Metadata>() {
            let op = Operation { service: m.service().to_lowercase(), name: m.name().to_string() };
            context.request_mut().add_extension(op);
        }
        Ok(())
    }
}

#[derive(Debug)]
struct FaultyHttpClient {
    inner: SharedHttpClient,
    faults: Arc<Faults>,
}

impl HttpClient for FaultyHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultyConnector {
            inner: self.inner.http_connector(settings, components),
            faults: self.faults.clone(),
        })
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    faults: Arc<Faults>,
}

/// Hashes `value` with object keys in sorted order.
fn hash_json(value: &serde_json::Value, h: &mut impl Hasher) {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (k, v) in entries {
                k.hash(h);
                hash_json(v, h);
            }
            '}'.hash(h);
        }
        serde_json::Value::Array(items) => {
            for v in items {
                hash_json(v, h);
            }
            ']'.hash(h);
        }
        other => other.to_string().hash(h),
    }
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let op = request
            .extension::<Operation>()
            .cloned()
            .unwrap_or_else(|| Operation { service: "unknown".into(), name: "unknown".into() });
        let token = request.body().bytes().is_some_and(carries_token);
        let digest = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            // A JSON body by its content, not its bytes: the SDKs serialise maps (a DynamoDB
            // item) in no fixed order, so the same item sent twice differs byte for byte.
            match request.body().bytes().and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok()) {
                Some(json) => hash_json(&json, &mut h),
                None => request.body().bytes().hash(&mut h),
            }
            (request.method(), request.uri()).hash(&mut h);
            // Who asks: the same body from another account (another session's key) is another request.
            let authorization = request.headers().get("authorization").unwrap_or_default();
            authorization.split("Credential=").nth(1).and_then(|c| c.split('/').next()).hash(&mut h);
            h.finish()
        };
        let fault = self.faults.draw(&op.service, &op.name);
        match fault {
            Some(FaultKind::Throttled) => {
                return HttpConnectorFuture::ready(Ok(wire::throttled(&request, &op.service)));
            }
            Some(FaultKind::ServerError) => {
                return HttpConnectorFuture::ready(Ok(wire::server_error(&request, &op.service, 500)));
            }
            Some(FaultKind::Unavailable) => {
                return HttpConnectorFuture::ready(Ok(wire::server_error(&request, &op.service, 503)));
            }
            Some(FaultKind::Reset) => {
                return HttpConnectorFuture::ready(Err(ConnectorError::io(
                    "connection reset by peer (injected)".into(),
                )));
            }
            _ => {}
        }
        let (inner, faults) = (self.inner.clone(), self.faults.clone());
        HttpConnectorFuture::new(async move {
            if fault == Some(FaultKind::Timeout) {
                tokio::time::sleep(faults.plan.timeout_after).await;
                return Err(ConnectorError::timeout(
                    format!("no response within {:?} (injected)", faults.plan.timeout_after).into(),
                ));
            }
            let response = inner.call(request).await?;
            let lost = fault == Some(FaultKind::ResponseLost);
            let status = u16::from(response.status());
            faults.answered(Answered { service: op.service, operation: op.name, status, digest, lost, token });
            if lost {
                return Err(ConnectorError::io("connection reset after the request was sent (injected)".into()));
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GIVEN the same DynamoDB item serialised in two key orders THEN one digest; another value
    /// THEN another (a retry's identical write is recognised, a changed one is not).
    #[test]
    fn json_bodies_are_compared_by_content_not_key_order() {
        let digest = |text: &str| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            hash_json(&serde_json::from_str(text).expect("json"), &mut h);
            h.finish()
        };
        let a = digest(r#"{"Item": {"pk": {"S": "x"}, "owner": {"S": "e1"}}, "TableName": "t"}"#);
        let b = digest(r#"{"TableName": "t", "Item": {"owner": {"S": "e1"}, "pk": {"S": "x"}}}"#);
        let c = digest(r#"{"TableName": "t", "Item": {"owner": {"S": "e2"}, "pk": {"S": "x"}}}"#);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn a_seed_replays_the_same_faults_and_the_rate_holds() {
        let draws = |seed| {
            let f = Faults::new(FaultPlan::new(0.1, seed));
            (0..10_000).map(|_| f.draw("dynamodb", "PutItem")).collect::<Vec<_>>()
        };
        let a = draws(7);
        assert_eq!(a, draws(7));
        assert_ne!(a, draws(8));
        let hit = a.iter().filter(|d| d.is_some()).count();
        assert!((800..1200).contains(&hit), "{hit} faults in 10000 at 10%");
        for kind in FaultKind::ALL {
            assert!(a.contains(&Some(kind)), "{kind} never drawn");
        }
    }

    #[test]
    fn scope_limits_faults_to_a_service_or_an_operation() {
        let mut plan = FaultPlan::new(1.0, 1);
        plan.scope = vec!["eks:UpdateNodegroupConfig".parse().expect("scope"), "sns".parse().expect("scope")];
        let f = Faults::new(plan);
        assert!(f.draw("eks", "UpdateNodegroupConfig").is_some());
        assert!(f.draw("eks", "DescribeNodegroup").is_none());
        assert!(f.draw("sns", "Publish").is_some());
        assert!(f.draw("dynamodb", "PutItem").is_none());
        assert_eq!(f.stats().total(), 2);
        assert!("eks:".parse::<Scope>().is_err());
    }

    #[test]
    fn a_zero_rate_injects_nothing() {
        let f = Faults::new(FaultPlan::none());
        assert!((0..1000).all(|_| f.draw("sts", "AssumeRole").is_none()));
        assert_eq!(f.stats().total(), 0);
    }
}
