//! Pages that keep themselves up to date. A `GET` of a page asking for
//! `text/event-stream` (the `EventSource` the layout's script opens on a
//! page marked `data-updates`) is answered with a stream of the page's
//! `<main>`, rendered again by the page's own route (so with the same
//! rights, the same bounds and the same markup) when a run of this node
//! changes (a job's page at most four times a second, a list every two
//! seconds), and after two seconds without a change (what other nodes did
//! reaches the database, not this node's signal); an update is sent only
//! when the page differs. The stream ends when the page says it no longer
//! updates (the job ended: that last page is sent), when the page cannot
//! be read (signed out, gone), when the server stops, or after ten minutes
//! (the browser opens it again). A stream opens only once its first
//! rendering shows the reader may read the page (else 406, no place
//! taken); at most 64 are open on a node and 16 from one client address
//! (`slots`), rendered one at a time; past them the page answers 503 and
//! stays as it was loaded, saying so.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use axum::http::header::{ACCEPT, CACHE_CONTROL, COOKIE, RETRY_AFTER, VARY};
use axum::http::{request, HeaderValue, Method, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use tokio::sync::{watch, Semaphore};
use tower::{Layer, Service, ServiceExt};

use crate::service::jobs::Jobs;

mod slots;

use slots::{Full, Slot, Slots, MAX_STREAMS, PER_CLIENT};

/// The least time between two renderings of a page playing a job (one
/// marked `data-live-job`); any other page (a list) is rendered at most
/// every two seconds, however fast runs change.
const QUICKEST: Duration = Duration::from_millis(250);
const QUICKEST_LIST: Duration = Duration::from_secs(2);
/// The most time between two renderings of one page.
const SLOWEST: Duration = Duration::from_secs(2);
/// How long one stream lasts before the browser opens it again.
const LONGEST: Duration = Duration::from_secs(600);
/// The largest page read (pages bound what they show well below this).
const MAX_PAGE: usize = 32 << 20;
/// Renderings for streams happen one at a time on a node, so that however
/// many pages are watched they take at most about one core from intake and
/// runs (updates come later instead).
static RENDERING: Semaphore = Semaphore::const_new(1);

/// Adds event streams to the routes it wraps.
#[derive(Clone)]
pub struct LiveLayer {
    jobs: Arc<Jobs>,
    slots: Slots,
}

impl LiveLayer {
    pub fn new(jobs: Arc<Jobs>) -> Self {
        Self {
            jobs,
            slots: Slots::default(),
        }
    }
}

impl<S> Layer<S> for LiveLayer {
    type Service = LivePages<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LivePages {
            inner,
            layer: self.clone(),
        }
    }
}

/// A route whose pages may be watched.
#[derive(Clone)]
pub struct LivePages<S> {
    inner: S,
    layer: LiveLayer,
}

impl<S> Service<Request> for LivePages<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if !asks_for_stream(&request) {
            return Box::pin(self.inner.call(request));
        }
        let inner = self.inner.clone();
        let layer = self.layer.clone();
        Box::pin(async move { Ok(layer.stream(inner, request).await) })
    }
}

/// A `GET` that accepts an event stream (and not a page or JSON).
fn asks_for_stream(request: &Request) -> bool {
    request.method() == Method::GET
        && request
            .headers()
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().starts_with("text/event-stream"))
}

impl LiveLayer {
    /// The page's stream, once its first rendering shows the reader may
    /// read it (no place is taken for anyone else) and there is a place.
    async fn stream<S>(&self, inner: S, request: Request) -> Response
    where
        S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
        S::Future: Send + 'static,
    {
        let (parts, _) = request.into_parts();
        let client = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let mut watch = Watch {
            jobs: self.jobs.clone(),
            inner,
            parts,
            signal: self.jobs.live_signal(),
            last: None,
            pause: QUICKEST,
            started: Instant::now(),
            first: None,
            done: false,
            _slot: None,
        };
        let Some(first) = watch.render().await else {
            return refused(
                StatusCode::NOT_ACCEPTABLE,
                "Only a page the reader may open is kept up to date: open this address as a page \
                 (signed in) to read it.",
            );
        };
        match self.slots.take(client) {
            Ok(slot) => watch._slot = Some(slot),
            Err(full) => {
                let why = match full {
                    Full::Server => {
                        format!("This server keeps {MAX_STREAMS} pages up to date at once")
                    }
                    Full::Client => {
                        format!("This address keeps {PER_CLIENT} pages up to date at once")
                    }
                };
                let mut answer = refused(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("{why}, and that many are open: this page stays as it was loaded (refresh it to see more)."),
                );
                answer
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("60"));
                return answer;
            }
        }
        watch.first = Some(first);
        let events = futures_util::stream::unfold(watch, |mut watch| async move {
            let event = watch.next().await?;
            Some((Ok::<_, Infallible>(event), watch))
        });
        let mut answer = Sse::new(events)
            .keep_alive(KeepAlive::default())
            .into_response();
        let headers = answer.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(VARY, HeaderValue::from_static("Accept"));
        // Proxies pass each update on as it comes.
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        answer
    }
}

/// A refusal in one line of text.
fn refused(status: StatusCode, why: &str) -> Response {
    let mut answer = (status, why.to_string()).into_response();
    answer
        .headers_mut()
        .insert(VARY, HeaderValue::from_static("Accept"));
    answer
}

/// One page being watched.
struct Watch<S> {
    jobs: Arc<Jobs>,
    inner: S,
    parts: request::Parts,
    signal: watch::Receiver<u64>,
    /// The `<main>` last sent.
    last: Option<String>,
    /// The least time until the next rendering.
    pause: Duration,
    started: Instant,
    /// The first rendering, not sent yet.
    first: Option<Rendered>,
    done: bool,
    _slot: Option<Slot>,
}

/// A page as the stream sends it.
struct Rendered {
    title: String,
    main: String,
    updates: bool,
    /// It plays a job (and so is rendered more often than a list).
    plays_job: bool,
}

impl<S> Watch<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    /// The next update to send; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if self.done || self.started.elapsed() > LONGEST || self.jobs.live_closed() {
                return None;
            }
            let page = match self.first.take() {
                Some(first) => Some(first),
                None => {
                    self.wait().await;
                    if self.jobs.live_closed() {
                        return None;
                    }
                    self.render().await
                }
            };
            let Some(page) = page else {
                self.done = true;
                return Some(
                    Event::default()
                        .event("end")
                        .data("the page cannot be read"),
                );
            };
            if !page.updates {
                self.done = true;
            } else if self.last.as_deref() == Some(page.main.as_str()) {
                continue;
            }
            let event = Event::default().event("page").json_data(serde_json::json!({
                "title": page.title,
                "html": page.main,
                "end": !page.updates,
            }));
            self.pause = if page.plays_job {
                QUICKEST
            } else {
                QUICKEST_LIST
            };
            self.last = Some(page.main);
            return event.ok();
        }
    }

    /// Until a run of this node changes or [`SLOWEST`] passes, then
    /// the page's pause more, so that what changes together is sent
    /// together.
    async fn wait(&mut self) {
        tokio::select! {
            _ = self.signal.changed() => {}
            _ = tokio::time::sleep(SLOWEST) => {}
        }
        tokio::time::sleep(self.pause).await;
        self.signal.mark_unchanged();
    }

    /// The page, as its route renders it for this reader now.
    async fn render(&mut self) -> Option<Rendered> {
        let _turn = RENDERING.acquire().await.ok()?;
        let mut request = Request::new(Body::empty());
        *request.method_mut() = Method::GET;
        *request.uri_mut() = self.parts.uri.clone();
        *request.version_mut() = self.parts.version;
        *request.headers_mut() = self.parts.headers.clone();
        *request.extensions_mut() = self.parts.extensions.clone();
        let headers = request.headers_mut();
        headers.insert(ACCEPT, HeaderValue::from_static("text/html"));
        // The notice the page showed when it loaded is shown once.
        if let Some(cookies) = without_notice(headers.get(COOKIE)) {
            headers.insert(COOKIE, cookies);
        }
        let response = self.inner.clone().oneshot(request).await.ok()?;
        if response.status() != StatusCode::OK {
            return None;
        }
        let bytes = axum::body::to_bytes(response.into_body(), MAX_PAGE)
            .await
            .ok()?;
        parse(std::str::from_utf8(&bytes).ok()?)
    }
}

/// The request's cookies without the one-time notice's.
fn without_notice(cookies: Option<&HeaderValue>) -> Option<HeaderValue> {
    let text = cookies?.to_str().ok()?;
    let kept: Vec<&str> = text
        .split(';')
        .map(str::trim)
        .filter(|c| !c.starts_with(super::forms::NOTICE_COOKIE))
        .collect();
    HeaderValue::from_str(&kept.join("; ")).ok()
}

/// A page's title, `<main>` and whether it still updates.
fn parse(html: &str) -> Option<Rendered> {
    let title = html
        .split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map_or("", |(t, _)| t);
    let (_, rest) = html.split_once("<main")?;
    let (open, rest) = rest.split_once('>')?;
    let (main, _) = rest.rsplit_once("</main>")?;
    Some(Rendered {
        title: title.to_string(),
        main: main.to_string(),
        updates: open.contains("data-updates"),
        plays_job: main.contains("data-live-job="),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_read_as_its_title_main_and_mark() {
        let page = parse(
            "<html><head><title>Job 1 · EXECUTING</title></head><body><main data-updates><h1>Job</h1></main></body>",
        )
        .expect("a page");
        assert_eq!(page.title, "Job 1 · EXECUTING");
        assert_eq!(page.main, "<h1>Job</h1>");
        assert!(page.updates);
        let ended = parse("<title>x</title><main><p>done</p></main>").expect("a page");
        assert!(!ended.updates);
        assert!(parse("no page").is_none());
    }

    #[test]
    fn the_notice_is_not_shown_again() {
        let cookies = HeaderValue::from_static("hookbook_session=abc; hookbook_notice=Saved");
        let kept = without_notice(Some(&cookies)).expect("cookies");
        assert_eq!(kept, "hookbook_session=abc");
    }
}
