//! The least pace a request body must keep: a body may stall for
//! `GRACE`, and after that must have arrived at `MIN_RATE` on average since
//! it was first read, so a client that sends a byte every few seconds
//! cannot hold a connection (and a request's memory) for long.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

/// How long a body may take before its pace counts.
pub const GRACE: Duration = Duration::from_secs(10);
/// Bytes a second a body must average after `GRACE`.
pub const MIN_RATE: u64 = 8 * 1024;

/// A body read slower than the least pace.
#[derive(Debug, thiserror::Error)]
#[error("the request body came slower than {MIN_RATE} bytes a second (after {GRACE:?})")]
pub struct TooSlow;

/// A request body that fails once it falls behind the least pace.
pub struct Paced {
    inner: Incoming,
    /// When it was first read.
    started: Option<Instant>,
    received: u64,
    timer: Pin<Box<Sleep>>,
}

impl Paced {
    pub fn new(inner: Incoming) -> Self {
        Self {
            inner,
            started: None,
            received: 0,
            timer: Box::pin(tokio::time::sleep(GRACE)),
        }
    }

    /// When the body falls behind, given what it has sent so far.
    fn deadline(&self, started: Instant) -> Instant {
        started + GRACE + Duration::from_millis(self.received.saturating_mul(1000) / MIN_RATE)
    }
}

impl Body for Paced {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let started = *this.started.get_or_insert_with(Instant::now);
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        let deadline = this.deadline(started);
        if this.timer.deadline() != deadline {
            this.timer.as_mut().reset(deadline);
        }
        match this.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(TooSlow.into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
