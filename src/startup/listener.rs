//! The listener: plain HTTP, or HTTPS with the operator's certificate
//! (`--tls-cert`, `--tls-key`, PEM) through rustls. Handshakes run each in
//! a task of its own, so a slow or silent client never holds up the
//! others; one that does not finish in ten seconds is dropped.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::either::Either;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection as the router reads it: plain, or TLS.
pub type Connection = Either<TcpStream, TlsStream<TcpStream>>;

pub struct Incoming {
    tcp: TcpListener,
    tls: Option<Tls>,
}

struct Tls {
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Option<(TlsStream<TcpStream>, SocketAddr)>>,
}

impl Incoming {
    /// Binds `addr`; HTTPS when `cert` and `key` (PEM files) are given.
    pub async fn bind(addr: SocketAddr, tls: Option<(&Path, &Path)>) -> anyhow::Result<Self> {
        let tls = tls
            .map(|(cert, key)| server_config(cert, key))
            .transpose()?
            .map(|config| Tls {
                acceptor: TlsAcceptor::from(Arc::new(config)),
                handshakes: JoinSet::new(),
            });
        let tcp = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        Ok(Self { tcp, tls })
    }

    /// Whether it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// rustls's server configuration from a certificate chain and its key.
fn server_config(cert: &Path, key: &Path) -> anyhow::Result<ServerConfig> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read the certificate {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("{} holds no PEM certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("{} holds no PEM private key", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("no TLS version is available")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the certificate and the key do not go together")
}

impl axum::serve::Listener for Incoming {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Some(tls) = &mut self.tls else {
                let (stream, addr) = accept_tcp(&self.tcp).await;
                return (Either::Left(stream), addr);
            };
            tokio::select! {
                (stream, addr) = accept_tcp(&self.tcp) => {
                    let acceptor = tls.acceptor.clone();
                    tls.handshakes.spawn(async move {
                        let done = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                        match done {
                            Ok(Ok(stream)) => Some((stream, addr)),
                            Ok(Err(e)) => {
                                tracing::debug!(%addr, "a TLS handshake failed: {e}");
                                None
                            }
                            Err(_) => None,
                        }
                    });
                }
                Some(done) = tls.handshakes.join_next(), if !tls.handshakes.is_empty() => {
                    if let Ok(Some((stream, addr))) = done {
                        return (Either::Right(stream), addr);
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The next TCP connection; an error (too many open files, a connection
/// reset before it was accepted) is logged and waited out.
async fn accept_tcp(tcp: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match tcp.accept().await {
            Ok(accepted) => return accepted,
            Err(e) => {
                tracing::warn!("accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
