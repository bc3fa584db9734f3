//! Serving HTTP/1.1 on the listener, with the bounds a server facing the
//! internet needs: a request's headers (and an idle kept-alive
//! connection's next request) must arrive within `HEADER_TIMEOUT`, a body
//! must keep the least pace of `slow`, and every connection is one the
//! register admitted, which closes it to make room when it is idle and the
//! server is full. axum's own `serve` sets none of these.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming as HyperBody;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use super::listener::{Admitted, Listener};
use super::slow::Paced;

/// How long a client may take to send a request's headers, and how long a
/// kept-alive connection may wait idle for its next request.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a stop waits for connections to finish their requests.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` until `shutdown` is cancelled, then lets the requests
/// in flight finish and returns once every connection is closed, or after
/// [`CLOSE_TIMEOUT`].
pub async fn serve(mut listener: Listener, router: Router, shutdown: CancellationToken) {
    // Each connection holds a receiver; the sender sees them all gone.
    let (open_tx, open_rx) = watch::channel(());
    loop {
        let admitted = tokio::select! {
            _ = shutdown.cancelled() => break,
            admitted = listener.accept() => admitted,
        };
        let open = open_rx.clone();
        let router = router.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            connection(admitted, router, stop).await;
            drop(open);
        });
    }
    drop(listener);
    drop(open_rx);
    // A client that never reads its answers would hold the stop forever.
    if tokio::time::timeout(CLOSE_TIMEOUT, open_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            "{} connections did not close within {CLOSE_TIMEOUT:?} of the stop; they are dropped",
            open_tx.receiver_count()
        );
    }
}

/// One connection, until the client closes it, a bound is crossed, it is
/// evicted for room, or the server stops (after its request in flight).
async fn connection(admitted: Admitted, router: Router, shutdown: CancellationToken) {
    let Admitted { io, addr, ticket } = admitted;
    let evicted = ticket.evicted();
    let ticket = std::sync::Arc::new(ticket);
    let service = hyper::service::service_fn(move |request: hyper::Request<HyperBody>| {
        let busy = ticket.busy();
        let router = router.clone();
        async move {
            let response = router.oneshot(prepare(request, addr)).await;
            drop(busy);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::trace!(%addr, "a connection ended: {e}");
                }
                return;
            }
            _ = evicted.cancelled() => {
                tracing::debug!(%addr, "an idle connection was closed to make room");
                return;
            }
            _ = shutdown.cancelled(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// The request as the router takes it: its body paced, its peer address
/// known to the handlers.
fn prepare(request: hyper::Request<HyperBody>, addr: SocketAddr) -> axum::extract::Request {
    let mut request = request.map(|body| Body::new(Paced::new(body)));
    request.extensions_mut().insert(ConnectInfo(addr));
    request
}
