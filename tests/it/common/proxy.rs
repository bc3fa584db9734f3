//! A TCP proxy the test controls, between a server and its database: it
//! passes bytes, closes every connection (a database stopped: refused and
//! reset), or holds them and passes nothing (a cable cut: silence).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::Aborting;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bytes pass both ways.
    Pass,
    /// Every connection is closed, and new ones as they come.
    Closed,
    /// Connections stay open and nothing passes, until `Pass` again.
    Blackhole,
}

pub struct Proxy {
    pub addr: SocketAddr,
    mode: Arc<watch::Sender<Mode>>,
    _task: Aborting,
}

impl Proxy {
    /// A proxy to `upstream`, passing bytes.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(watch::channel(Mode::Pass).0);
        let watching = mode.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let mode = watching.subscribe();
                connections.spawn(connection(client, upstream, mode));
                while connections.try_join_next().is_some() {}
            }
        });
        Proxy {
            addr,
            mode,
            _task: Aborting(task),
        }
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

/// One connection through the proxy, as the mode says.
async fn connection(mut client: TcpStream, upstream: SocketAddr, mut mode: watch::Receiver<Mode>) {
    if *mode.borrow_and_update() == Mode::Closed {
        return;
    }
    // A new connection during a blackhole waits, silent, for the light.
    while *mode.borrow_and_update() == Mode::Blackhole {
        if mode.changed().await.is_err() {
            return;
        }
    }
    if *mode.borrow() == Mode::Closed {
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut to_client, mut to_server) = ([0u8; 16384], [0u8; 16384]);
    loop {
        let passing = *mode.borrow_and_update() == Mode::Pass;
        tokio::select! {
            changed = mode.changed() => {
                if changed.is_err() || *mode.borrow() == Mode::Closed {
                    return;
                }
            }
            n = client.read(&mut to_server), if passing => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => if server.write_all(&to_server[..n]).await.is_err() { return },
            },
            n = server.read(&mut to_client), if passing => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => if client.write_all(&to_client[..n]).await.is_err() { return },
            },
        }
    }
}
