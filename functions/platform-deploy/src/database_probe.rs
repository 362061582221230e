//! The restore test's probe: whether a restored database accepts a connection and answers PostgreSQL's SSLRequest.

// Why here: the scratch instance is private to the member's VPC, and platform deploy is the
// function that reaches into member accounts' networks (its cluster access). What a TCP probe from
// a Lambda needs on AWS: the function attached to subnets that route to the member VPC (the
// `DeploySubnetIds` Transit Gateway route the private cluster endpoints already need) and the
// database's security group admitting them. Without that route the probe times out and the
// restore test reports `failed`, loudly; the route that needs no network path from the automation
// account is an in-cluster Job (`pg_isready` in the client's cluster, read back through the API
// server), not built yet (docs/architecture.md).

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// PostgreSQL's SSLRequest: length 8, code 80877103. Every PostgreSQL server answers it with
/// one byte, before any authentication: `S` (TLS offered) or `N` (not).
pub const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// How long a connection and its answer may take: a restored instance that answers at all
/// answers within milliseconds; the state machine's timeout bounds the rest.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Why a probe did not get its answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeFailure {
    #[error("connecting to {0} timed out")]
    ConnectTimeout(String),
    #[error("connecting to {address}: {reason}")]
    Connect { address: String, reason: String },
    #[error("{0} accepted the connection but sent no answer in time")]
    NoAnswer(String),
    #[error("{address} closed the connection without answering")]
    Closed { address: String },
    #[error("{address} answered {byte:#04x}, not a PostgreSQL answer to an SSLRequest (S or N)")]
    NotPostgres { address: String, byte: u8 },
    #[error("{0} does not resolve")]
    Unresolved(String),
}

/// Asks a database at `host:port` the SSLRequest and returns its one-byte answer.
#[async_trait]
pub trait DatabaseProbe: Send + Sync + std::fmt::Debug {
    async fn answer(&self, host: &str, port: u16) -> Result<char, ProbeFailure>;
}

/// A request the probe refuses before connecting anywhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// Only an RDS endpoint in the environment's region is probed: the payload never points the
    /// deploy's network access at an arbitrary host.
    #[error("host `{host}` is not an RDS endpoint in {region} (`<instance>.<id>.{region}.rds.amazonaws.com`)")]
    NotAnRdsEndpoint { host: String, region: String },
    #[error("port {0} is not a database port")]
    BadPort(u16),
}

/// What the probe found: `answered` (with `S` or `N`) or `failed` (with the reason). The restore
/// test's report quotes it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probed {
    pub state: String,
    /// Null rather than absent: the state machine's `ResultSelector` names every field.
    pub answer: Option<String>,
    pub reason: Option<String>,
    /// The state machine's clock when it asked.
    pub at: DateTime<Utc>,
}

/// `probe-database`: `host` checked to be an RDS endpoint of `region`, then asked.
pub async fn probe(
    probe: &dyn DatabaseProbe,
    region: &str,
    host: &str,
    port: u16,
    now: DateTime<Utc>,
) -> Result<Probed, ProbeError> {
    if !is_rds_endpoint(host, region) {
        return Err(ProbeError::NotAnRdsEndpoint { host: host.to_string(), region: region.to_string() });
    }
    if port < 1024 {
        return Err(ProbeError::BadPort(port));
    }
    Ok(match probe.answer(host, port).await {
        Ok(c) => Probed { state: "answered".into(), answer: Some(c.to_string()), reason: None, at: now },
        Err(e) => Probed { state: "failed".into(), answer: None, reason: Some(e.to_string()), at: now },
    })
}

/// `<labels>.<region>.rds.amazonaws.com`, every label a DNS label.
pub fn is_rds_endpoint(host: &str, region: &str) -> bool {
    let Some(name) = host.strip_suffix(&format!(".{region}.rds.amazonaws.com")) else { return false };
    !name.is_empty()
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// The SSLRequest over TCP, each step bounded by `timeout`.
#[derive(Debug, Clone)]
pub struct TcpDatabaseProbe {
    timeout: Duration,
    /// The local runtime's stand-in: every (already checked) RDS name reaches this address,
    /// since the emulator's endpoints resolve nowhere.
    redirect: Option<SocketAddr>,
}

impl TcpDatabaseProbe {
    pub fn new(timeout: Duration) -> Self {
        TcpDatabaseProbe { timeout, redirect: None }
    }

    /// Every name reaches `to` (the local runtime's stand-in database).
    pub fn redirected(to: SocketAddr, timeout: Duration) -> Self {
        TcpDatabaseProbe { timeout, redirect: Some(to) }
    }

    async fn connect(&self, host: &str, port: u16) -> Result<(TcpStream, String), ProbeFailure> {
        let (target, address) = match self.redirect {
            Some(to) => (to.to_string(), format!("{host}:{port} ({to})")),
            None => (format!("{host}:{port}"), format!("{host}:{port}")),
        };
        match tokio::time::timeout(self.timeout, TcpStream::connect(target)).await {
            Err(_) => Err(ProbeFailure::ConnectTimeout(address)),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound || e.to_string().contains("lookup") => {
                Err(ProbeFailure::Unresolved(host.to_string()))
            }
            Ok(Err(e)) => Err(ProbeFailure::Connect { address, reason: e.to_string() }),
            Ok(Ok(stream)) => Ok((stream, address)),
        }
    }
}

#[async_trait]
impl DatabaseProbe for TcpDatabaseProbe {
    async fn answer(&self, host: &str, port: u16) -> Result<char, ProbeFailure> {
        let (mut stream, address) = self.connect(host, port).await?;
        let exchange = async {
            stream.write_all(&SSL_REQUEST).await?;
            let mut byte = [0u8; 1];
            let n = stream.read(&mut byte).await?;
            Ok::<_, std::io::Error>((n, byte[0]))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Err(_) => Err(ProbeFailure::NoAnswer(address)),
            Ok(Err(e)) => Err(ProbeFailure::Connect { address, reason: e.to_string() }),
            Ok(Ok((0, _))) => Err(ProbeFailure::Closed { address }),
            Ok(Ok((_, b @ (b'S' | b'N')))) => Ok(char::from(b)),
            Ok(Ok((_, byte))) => Err(ProbeFailure::NotPostgres { address, byte }),
        }
    }
}

/// A stand-in PostgreSQL for the local runtime and tests: a loopback listener answering every
/// SSLRequest with `answer` (`N` as a server without TLS, or a byte no PostgreSQL sends).
/// Must be called inside a Tokio runtime, which serves it for as long as it runs.
#[cfg(feature = "fakes")]
pub fn stand_in(answer: u8) -> std::io::Result<SocketAddr> {
    let bound = std::net::TcpListener::bind("127.0.0.1:0")?;
    bound.set_nonblocking(true)?;
    let address = bound.local_addr()?;
    let listener = tokio::net::TcpListener::from_std(bound)?;
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 8];
                if tcp.read_exact(&mut request).await.is_ok() && request == SSL_REQUEST {
                    let _ = tcp.write_all(&[answer]).await;
                }
            });
        }
    });
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rds_endpoints_of_the_region_are_probed() {
        let region = "us-east-1";
        assert!(is_rds_endpoint("abc-trading-dev-restore-1a2b3c4d.cxyz.us-east-1.rds.amazonaws.com", region));
        for host in [
            "abc.cxyz.us-west-2.rds.amazonaws.com",
            "us-east-1.rds.amazonaws.com",
            ".us-east-1.rds.amazonaws.com",
            "evil.com/.us-east-1.rds.amazonaws.com",
            "169.254.169.254",
            "localhost",
            "a..us-east-1.rds.amazonaws.com",
        ] {
            assert!(!is_rds_endpoint(host, region), "{host}");
        }
    }
}
