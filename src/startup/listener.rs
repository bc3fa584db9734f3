//! The listener: plain HTTP, or HTTPS with the operator's certificate
//! (`--tls-cert`, `--tls-key`, PEM) through rustls. Each connection is
//! admitted by the register of connections as it is accepted (before its
//! handshake), so a client past its share costs nothing more; handshakes
//! run each in a task of its own, so a slow or silent client never holds
//! up the others, and one that does not finish in ten seconds is dropped.

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

use super::connections::{Connections, Ticket};

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection as the router reads it: plain, or TLS.
pub type Connection = Either<TcpStream, TlsStream<TcpStream>>;

pub struct Listener {
    tcp: TcpListener,
    tls: Option<Tls>,
    connections: Connections,
}

/// A connection the register admitted.
pub struct Admitted {
    pub io: Connection,
    pub addr: SocketAddr,
    pub ticket: Ticket,
}

struct Tls {
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Option<(TlsStream<TcpStream>, SocketAddr, Ticket)>>,
}

impl Listener {
    /// Binds `addr`; HTTPS when `cert` and `key` (PEM files) are given;
    /// every connection is admitted by `connections`.
    pub async fn bind(
        addr: SocketAddr,
        tls: Option<(&Path, &Path)>,
        connections: Connections,
    ) -> anyhow::Result<Self> {
        let tls = tls
            .map(|(cert, key)| server_config(cert, key))
            .transpose()?
            .map(|config| Tls {
                acceptor: TlsAcceptor::from(Arc::new(config)),
                handshakes: JoinSet::new(),
            });
        let tcp = listen(addr).with_context(|| format!("cannot listen on {addr}"))?;
        Ok(Self {
            tcp,
            tls,
            connections,
        })
    }

    /// Whether it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// Connections the kernel completes and queues for `accept` (capped by
/// `net.core.somaxconn`): a burst of new connections waits in it rather
/// than having its handshakes dropped and retried a second later.
const BACKLOG: u32 = 4096;

/// A listening socket on `addr`, as `TcpListener::bind` makes it but with
/// a deeper queue.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
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

impl Listener {
    /// The next connection admitted, handshaken when TLS.
    pub async fn accept(&mut self) -> Admitted {
        loop {
            let Some(tls) = &mut self.tls else {
                let (stream, addr, ticket) = admitted_tcp(&self.tcp, &self.connections).await;
                return Admitted {
                    io: Either::Left(stream),
                    addr,
                    ticket,
                };
            };
            tokio::select! {
                (stream, addr, ticket) = admitted_tcp(&self.tcp, &self.connections) => {
                    let acceptor = tls.acceptor.clone();
                    tls.handshakes.spawn(async move {
                        let done = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                        match done {
                            Ok(Ok(stream)) => Some((stream, addr, ticket)),
                            Ok(Err(e)) => {
                                tracing::debug!(%addr, "a TLS handshake failed: {e}");
                                None
                            }
                            Err(_) => None,
                        }
                    });
                }
                Some(done) = tls.handshakes.join_next(), if !tls.handshakes.is_empty() => {
                    if let Ok(Some((stream, addr, ticket))) = done {
                        return Admitted { io: Either::Right(stream), addr, ticket };
                    }
                }
            }
        }
    }
}

/// The next TCP connection the register admits; those it turns away are
/// closed at once and counted.
async fn admitted_tcp(
    tcp: &TcpListener,
    connections: &Connections,
) -> (TcpStream, SocketAddr, Ticket) {
    loop {
        let (stream, addr) = accept_tcp(tcp).await;
        if let Ok(ticket) = connections.admit(addr.ip()) {
            return (stream, addr, ticket);
        }
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
