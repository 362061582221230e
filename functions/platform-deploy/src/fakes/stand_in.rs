//! A load balancer stand-in for the local runtime: real TLS and HTTP listeners on loopback, reached only through the client's alias record.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Datelike, Duration, Utc};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use serde_json::Value;

use platform_core::config::ConfigTree;
use platform_core::stacksets::StackSets;

use super::MemoryEdge;
use crate::cluster::{MemoryClusters, WorkloadApplier};
use crate::edge::{Addresses, Edge, EdgeRouting, EndpointError, EndpointTarget, Resolve, TlsProbe};
use crate::render::namespace_of;

/// How the stand-in behaves: a healthy one by default; each field is one way an endpoint fails.
#[derive(Debug, Clone)]
pub struct StandInOptions {
    /// The names the certificate covers (`*.dev.abc-trading.com`, ...), as ACM issued it.
    pub names: Vec<String>,
    /// Days from now to the certificate's expiry; zero or below: already expired.
    pub valid_days: i64,
    /// Whether plain HTTP is answered with a 301 to HTTPS (the listener's redirect action).
    pub redirect: bool,
}

impl StandInOptions {
    pub fn new(names: Vec<String>) -> Self {
        StandInOptions { names, valid_days: 90, redirect: true }
    }
}

/// What answers behind the load balancer: the edge service, through its NodePort.
#[async_trait]
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// The status of a GET of `path` for the client `host`.
    async fn get(&self, host: &str, path: &str) -> u16;
}

/// A backend that answers every path with one status.
#[derive(Debug, Clone, Copy)]
pub struct Fixed(pub u16);

#[async_trait]
impl Backend for Fixed {
    async fn get(&self, _host: &str, _path: &str) -> u16 {
        self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StandInError {
    #[error("making the stand-in's certificates")]
    Certificate(#[from] rcgen::Error),
    #[error("configuring the stand-in's TLS")]
    Tls(#[from] rustls::Error),
    #[error("binding the stand-in's listeners")]
    Bind(#[from] std::io::Error),
}

/// The listeners, and the private CA that signed their certificate (what the probe trusts here,
/// as a client trusts Amazon's roots).
#[derive(Debug, Clone)]
pub struct StandIn {
    pub addresses: Addresses,
    ca: CertificateDer<'static>,
}

impl StandIn {
    /// Binds both listeners on loopback and serves them on the current Tokio runtime (it must be
    /// called inside one).
    pub fn start(options: StandInOptions, backend: Arc<dyn Backend>) -> Result<StandIn, StandInError> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "platform-ops local CA");
        let ca = ca_params.self_signed(&ca_key)?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(options.names.clone())?;
        let now = Utc::now();
        // Valid to the day, as rcgen takes dates.
        let day = |at: chrono::DateTime<Utc>| rcgen::date_time_ymd(at.year(), at.month() as u8, at.day() as u8);
        params.not_before = day(now - Duration::days(30));
        params.not_after = day(now + Duration::days(options.valid_days));
        let leaf = params.signed_by(&key, &ca, &ca_key)?;
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], private)?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let https = listener()?;
        let http = listener()?;
        let addresses = Addresses { https: https.local_addr()?, http: http.local_addr()? };
        let served = backend.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = https.accept().await {
                let (acceptor, backend) = (acceptor.clone(), served.clone());
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        answer(&mut tls, |host, path| {
                            let backend = backend.clone();
                            async move { (backend.get(&host, &path).await, None) }
                        })
                        .await;
                    }
                });
            }
        });
        let redirect = options.redirect;
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = http.accept().await {
                tokio::spawn(async move {
                    answer(&mut tcp, |host, path| async move {
                        if redirect { (301, Some(format!("https://{host}{path}"))) } else { (200, None) }
                    })
                    .await;
                });
            }
        });
        Ok(StandIn { addresses, ca: ca.der().clone() })
    }

    /// The roots a probe of this stand-in trusts: its CA only.
    pub fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        // The CA was made above: a certificate rustls cannot parse would be a bug in rcgen.
        let _ = roots.add(self.ca.clone());
        roots
    }
}

fn listener() -> std::io::Result<TcpListener> {
    let std = std::net::TcpListener::bind("127.0.0.1:0")?;
    std.set_nonblocking(true)?;
    TcpListener::from_std(std)
}

/// One environment's edge service, as its load balancers forward to it.
#[derive(Debug, Clone)]
pub struct Site {
    pub environment: String,
    /// Client names are `<client>.<domain>`.
    pub domain: String,
    pub namespace: String,
    pub service: String,
    pub port: u16,
    pub node_port: u16,
}

/// The edge service behind each account's load balancer, in that account's in-memory cluster:
/// reached on its NodePort (a Service of another type, or on another port, has no target), then
/// as the pods answer. The host names the account through its alias record.
#[derive(Debug, Clone)]
pub struct ClusterBackend {
    pub clusters: Arc<MemoryClusters>,
    pub routes: Arc<MemoryEdge>,
    pub sites: Vec<Site>,
}

#[async_trait]
impl Backend for ClusterBackend {
    async fn get(&self, host: &str, path: &str) -> u16 {
        // No healthy target in the group: what an ALB answers.
        const NO_TARGET: u16 = 503;
        let host = host.split(':').next().unwrap_or_default().to_ascii_lowercase();
        let Some(site) = self.sites.iter().find(|s| host.ends_with(&format!(".{}", s.domain))) else {
            return NO_TARGET;
        };
        let Some(account) = self.routes.account_for(&host) else { return NO_TARGET };
        let Some(cluster) = self.clusters.cluster_of(&account, &site.environment) else { return NO_TARGET };
        let service = cluster.object("Service", &site.namespace, &site.service);
        let spec = service.as_ref().and_then(|s| s.get("spec"));
        let node_port = spec.filter(|s| s.get("type").and_then(Value::as_str) == Some("NodePort")).is_some_and(|s| {
            s.get("ports").and_then(Value::as_array).into_iter().flatten().any(|p| {
                p.get("nodePort").and_then(Value::as_u64) == Some(u64::from(site.node_port))
                    && p.get("port").and_then(Value::as_u64) == Some(u64::from(site.port))
            })
        });
        if !node_port {
            return NO_TARGET;
        }
        match cluster.proxy_get(&site.namespace, &site.service, site.port, path).await {
            Ok(answer) => answer.status,
            Err(_) => NO_TARGET,
        }
    }
}

/// Reads one request head and writes one answer, then closes.
async fn answer<S, F, Fut>(stream: &mut S, respond: F)
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(String, String) -> Fut,
    Fut: std::future::Future<Output = (u16, Option<String>)>,
{
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let path = text.split(' ').nth(1).unwrap_or("/").to_string();
    let host = text
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("host")).map(|(_, v)| v.trim()))
        .unwrap_or_default()
        .to_string();
    let (status, location) = respond(host, path).await;
    let location = location.map(|l| format!("Location: {l}\r\n")).unwrap_or_default();
    let reply = format!("HTTP/1.1 {status} X\r\n{location}Content-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Resolves a client's name as public DNS would here: through its alias record in the member's
/// zone (the emulator's Route 53 locally), and only to a load balancer that is the stand-in's.
#[derive(Debug, Clone)]
pub struct StandInResolver {
    pub zones: Arc<dyn EdgeRouting>,
    pub addresses: Addresses,
    /// The stand-in answers for names under this suffix (`.elb.amazonaws.com`, the platform's ALBs).
    pub load_balancer_suffix: String,
}

#[async_trait]
impl Resolve for StandInResolver {
    async fn resolve(&self, target: &EndpointTarget) -> Result<Addresses, EndpointError> {
        let unresolved = |reason: String| EndpointError::Unresolved { host: target.host.clone(), reason };
        let alias = self
            .zones
            .alias(&target.account, &target.zone_id, &target.host)
            .await
            .map_err(|e| unresolved(format!("reading zone {}: {e}", target.zone_id)))?
            .ok_or_else(|| unresolved(format!("no record in zone {}", target.zone_id)))?;
        let name = alias.dns_name.trim_end_matches('.').to_ascii_lowercase();
        if !name.ends_with(&self.load_balancer_suffix) {
            return Err(unresolved(format!("its alias points at {name}, not at a load balancer")));
        }
        Ok(self.addresses)
    }
}

/// The edge as the local runtime and the tests run it: the platform stack's outputs and groups
/// in memory (alias records in `zones` when given), a stand-in load balancer in front of the
/// in-memory cluster's edge service, and a probe that trusts only the stand-in's CA and reaches
/// it only through the client's alias record.
pub fn stand_in_edge(
    tree: &ConfigTree,
    stack_sets: Arc<dyn StackSets>,
    clusters: Arc<MemoryClusters>,
    zones: Option<Arc<dyn EdgeRouting>>,
    options: impl FnOnce(StandInOptions) -> StandInOptions,
) -> Result<(Edge, Arc<MemoryEdge>), StandInError> {
    let mut memory =
        MemoryEdge::new(stack_sets, &tree.organization.deploy.platform_stack_set, &tree.organization.name_prefix);
    if let Some(zones) = zones {
        memory = memory.with_zones(zones);
    }
    let memory = Arc::new(memory);
    // ACM's certificate covers the client's name; one wildcard per environment covers every
    // client's here (a wildcard matches one label: `acme.dev.abc-trading.com`, not deeper).
    let names = tree.environments.values().map(|e| format!("*.{}", e.domain_name.trim_end_matches('.'))).collect();
    let sites = tree
        .environments
        .values()
        .map(|e| {
            let found = tree.catalog.services.get(&e.edge.service);
            Site {
                environment: e.name.clone(),
                domain: e.domain_name.trim_end_matches('.').to_ascii_lowercase(),
                namespace: namespace_of(&found.map(|s| s.tier.clone()).unwrap_or_default()),
                service: e.edge.service.clone(),
                port: found.map_or(0, |s| s.port),
                node_port: e.edge.node_port,
            }
        })
        .collect();
    let backend = ClusterBackend { clusters, routes: memory.clone(), sites };
    let stand_in = StandIn::start(options(StandInOptions::new(names)), Arc::new(backend))?;
    let resolver = StandInResolver {
        zones: memory.clone(),
        addresses: stand_in.addresses,
        load_balancer_suffix: ".elb.amazonaws.com".into(),
    };
    let probe = TlsProbe::new(Arc::new(resolver), stand_in.roots())?;
    Ok((Edge { exports: memory.clone(), routing: memory.clone(), probe: Arc::new(probe) }, memory))
}

/// An edge for tests that never reach it: no platform stack, so no exports, and a probe of the
/// public DNS trusting nothing.
pub fn idle_edge(tree: &ConfigTree) -> Result<Edge, rustls::Error> {
    let stack_sets = Arc::new(platform_core::fakes::MemoryStackSets::new(0));
    let memory = Arc::new(MemoryEdge::new(
        stack_sets,
        &tree.organization.deploy.platform_stack_set,
        &tree.organization.name_prefix,
    ));
    let probe = TlsProbe::new(Arc::new(crate::edge::DnsResolver), RootCertStore::empty())?;
    Ok(Edge { exports: memory.clone(), routing: memory, probe: Arc::new(probe) })
}
