//! The endpoint check as a client makes it: the name resolved, TLS 1.2+ with chain and name verified, a GET, and the plain-HTTP redirect.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{Addresses, EndpointProbe, EndpointTarget};

/// What a client saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointFacts {
    /// `TLSv1_2` or `TLSv1_3`.
    pub tls_version: String,
    pub certificate_expires: DateTime<Utc>,
    /// When the handshake was made (the certificate's days are counted from it).
    pub checked_at: DateTime<Utc>,
    /// The smoke path's status over HTTPS (2xx, or the check failed).
    pub status: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("{host} does not resolve: {reason}")]
    Unresolved { host: String, reason: String },
    #[error("connecting to {host} at {address}")]
    Connect {
        host: String,
        address: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The chain does not lead to a trusted root, the name is not the certificate's, it has
    /// expired, or the server offers nothing at TLS 1.2 or above.
    #[error("TLS handshake with {host}")]
    Handshake {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{host} is not a name a certificate can be checked for")]
    BadName { host: String },
    #[error("{host} presented a certificate whose expiry cannot be read")]
    Certificate { host: String },
    #[error("{host} negotiated {version}, below TLS 1.2")]
    OldProtocol { host: String, version: String },
    #[error("{host}'s certificate expires {expires} ({days} days), fewer than the {min} days required")]
    Expiring { host: String, expires: DateTime<Utc>, days: i64, min: u32 },
    #[error("GET https://{host}{path} answered {status}")]
    Status { host: String, path: String, status: u16 },
    #[error("http://{host}/ answered {status} (location {location:?}), not a redirect to https://{host}/")]
    NoRedirect { host: String, status: u16, location: Option<String> },
    #[error("{host} answered something that is not HTTP/1.1")]
    Malformed { host: String },
    #[error("{host} did not answer within {seconds} s")]
    Timeout { host: String, seconds: u64 },
    #[error("reading {host}'s answer")]
    Io {
        host: String,
        #[source]
        source: std::io::Error,
    },
}

/// Where a name leads.
#[async_trait]
pub trait Resolve: Send + Sync + std::fmt::Debug {
    async fn resolve(&self, target: &EndpointTarget) -> Result<Addresses, EndpointError>;
}

/// The public DNS, as any client resolves the name: 443 and 80 of its first address.
#[derive(Debug, Default, Clone, Copy)]
pub struct DnsResolver;

#[async_trait]
impl Resolve for DnsResolver {
    async fn resolve(&self, target: &EndpointTarget) -> Result<Addresses, EndpointError> {
        let unresolved = |reason: String| EndpointError::Unresolved { host: target.host.clone(), reason };
        let mut found =
            tokio::net::lookup_host((target.host.as_str(), 443)).await.map_err(|e| unresolved(e.to_string()))?;
        let https = found.next().ok_or_else(|| unresolved("no address".into()))?;
        let mut http = https;
        http.set_port(80);
        Ok(Addresses { https, http })
    }
}

/// The check, over rustls with TLS 1.2 and 1.3 only, trusting `roots`.
#[derive(Debug, Clone)]
pub struct TlsProbe {
    resolver: Arc<dyn Resolve>,
    config: Arc<ClientConfig>,
    timeout: Duration,
}

impl TlsProbe {
    pub fn new(resolver: Arc<dyn Resolve>, roots: RootCertStore) -> Result<Self, rustls::Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsProbe { resolver, config: Arc::new(config), timeout: Duration::from_secs(10) })
    }

    /// The public DNS and the system's trusted roots (what a client's browser trusts, near enough).
    pub fn public() -> Result<Self, rustls::Error> {
        let mut roots = RootCertStore::empty();
        // Unreadable system certificates are skipped: the roots that load are the ones trusted.
        let _ = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        TlsProbe::new(Arc::new(DnsResolver), roots)
    }

    async fn timed<T>(
        &self,
        host: &str,
        f: impl std::future::Future<Output = Result<T, EndpointError>>,
    ) -> Result<T, EndpointError> {
        tokio::time::timeout(self.timeout, f)
            .await
            .map_err(|_| EndpointError::Timeout { host: host.into(), seconds: self.timeout.as_secs() })?
    }
}

#[async_trait]
impl EndpointProbe for TlsProbe {
    async fn check(&self, target: &EndpointTarget) -> Result<EndpointFacts, EndpointError> {
        let host = target.host.as_str();
        let addresses = self.resolver.resolve(target).await?;
        let name = ServerName::try_from(host.to_string()).map_err(|_| EndpointError::BadName { host: host.into() })?;
        let connect = |address| async move {
            TcpStream::connect(address).await.map_err(|source| EndpointError::Connect {
                host: host.into(),
                address,
                source,
            })
        };
        let (facts, status) = self
            .timed(host, async {
                let tcp = connect(addresses.https).await?;
                let mut tls = TlsConnector::from(self.config.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|source| EndpointError::Handshake { host: host.into(), source })?;
                let checked_at = Utc::now();
                let (_, connection) = tls.get_ref();
                let version = connection.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default();
                // Only 1.2 and 1.3 are offered, so anything else means the connection is not what it seems.
                if !matches!(version.as_str(), "TLSv1_2" | "TLSv1_3") {
                    return Err(EndpointError::OldProtocol { host: host.into(), version });
                }
                let expires = connection
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .and_then(|leaf| super::not_after(leaf))
                    .ok_or_else(|| EndpointError::Certificate { host: host.into() })?;
                let (status, _) = get(&mut tls, host, &target.path).await?;
                Ok((EndpointFacts { tls_version: version, certificate_expires: expires, checked_at, status }, status))
            })
            .await?;
        if !(200..300).contains(&status) {
            return Err(EndpointError::Status { host: host.into(), path: target.path.clone(), status });
        }
        let (status, location) = self
            .timed(host, async {
                let mut tcp = connect(addresses.http).await?;
                get(&mut tcp, host, "/").await
            })
            .await?;
        let secure = location.as_deref().is_some_and(|l| l.starts_with(&format!("https://{host}/")));
        if !matches!(status, 301 | 308) || !secure {
            return Err(EndpointError::NoRedirect { host: host.into(), status, location });
        }
        Ok(facts)
    }
}

/// One HTTP/1.1 GET, the connection closed after it: the status and the `Location` header.
async fn get<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    host: &str,
    path: &str,
) -> Result<(u16, Option<String>), EndpointError> {
    let io = |source| EndpointError::Io { host: host.into(), source };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: platform-deploy\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    // The head is all the check reads; a body larger than this is not waited for.
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        let n = match stream.read(&mut buf).await {
            Ok(n) => n,
            // A server closing without TLS close_notify after a complete head is common enough.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !head.is_empty() => 0,
            Err(e) => return Err(io(e)),
        };
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    parse_head(&head).ok_or_else(|| EndpointError::Malformed { host: host.into() })
}

/// The status code and `Location` of an HTTP/1.x response head.
fn parse_head(head: &[u8]) -> Option<(u16, Option<String>)> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let mut status_line = lines.next()?.split(' ');
    if !status_line.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let status = status_line.next()?.parse().ok()?;
    let location = lines.take_while(|l| !l.is_empty()).find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("location").then(|| value.trim().to_string())
    });
    Some((status, location))
}

#[cfg(test)]
mod tests {
    use super::parse_head;

    #[test]
    fn heads_are_read_or_refused() {
        assert_eq!(
            parse_head(b"HTTP/1.1 301 Moved Permanently\r\nlocation: https://a.example/\r\n\r\n"),
            Some((301, Some("https://a.example/".into())))
        );
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n"), Some((200, None)));
        assert_eq!(parse_head(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_head(b"HTTP/1.1 abc\r\n\r\n"), None);
    }
}
