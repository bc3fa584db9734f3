//! The HTTP surface: the admin API (`/C/admin/...`), the sharing API
//! (`/C/sharing/rest/...`) and `/healthz`. Handlers parse input into domain
//! types, call `service`, and answer with a [`negotiate::Reply`] that the
//! format layer turns into JSON or a page.

mod caller;
mod credentials;
mod dashboard;
mod directory;
mod error;
mod events;
mod forms;
mod headers;
mod items;
mod jobs;
mod live;
mod negotiate;
mod notices;
mod oauth;
mod openapi;
mod path;
mod portal;
mod receivers;
mod replays;
mod retries;
mod runtimes;
mod schema;
mod search;
mod session;
mod system;
mod test_events;
mod tokens;
mod unrouted;
mod uploads;

use std::sync::Arc;

use axum::extract::FromRef;
use axum::routing::get;
use axum::Router;

use crate::health::Health;
use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::service::auth::SignIn;
use crate::service::dashboard::Dashboards;
use crate::service::items::Items;
use crate::service::jobs::Jobs;
use crate::service::notices::Notices;
use crate::service::receivers::Receivers;
use crate::service::retries::Retries;
use crate::service::runtimes::Runtimes;
use crate::service::system::System;
use crate::service::{Services, Settings};

use negotiate::Negotiation;
pub use negotiate::{Format, Surface};
pub use openapi::document as openapi_document;

/// What handlers work with: the administration's services, intake, health
/// and metrics. A handler names the part it needs (`State<Arc<Jobs>>`).
#[derive(Clone)]
pub struct Site {
    pub services: Services,
    pub intake: Arc<Intake>,
    pub health: Arc<Health>,
    pub metrics: Arc<Metrics>,
}

/// Each part of the site a handler may ask for as its state.
macro_rules! parts_of_site {
    ($($part:ty => |$site:ident| $get:expr),* $(,)?) => {
        $(impl FromRef<Site> for $part {
            fn from_ref($site: &Site) -> Self {
                $get.clone()
            }
        })*
    };
}

parts_of_site! {
    Arc<SignIn> => |s| s.services.sign_in,
    Arc<Items> => |s| s.services.items,
    Arc<Receivers> => |s| s.services.receivers,
    Arc<Jobs> => |s| s.services.jobs,
    Arc<Runtimes> => |s| s.services.runtimes,
    Arc<Notices> => |s| s.services.notices,
    Arc<Retries> => |s| s.services.retries,
    Arc<Dashboards> => |s| s.services.dashboards,
    Arc<System> => |s| s.services.system,
    Arc<Settings> => |s| s.services.settings,
    Arc<Intake> => |s| s.intake,
    Arc<Health> => |s| s.health,
    Arc<Metrics> => |s| s.metrics,
}

/// The whole router; tests can call it without a socket.
pub fn router(site: Site) -> Router {
    let settings = site.services.settings.clone();
    let callers = site.services.sign_in.clone();
    let context = format!("/{}", settings.context);
    let sign_in: Arc<str> = format!("{context}/signin").into();
    let layer = |surface| {
        axum::middleware::from_fn_with_state(
            Negotiation {
                callers: callers.clone(),
                surface,
                sign_in: sign_in.clone(),
                context: settings.context.clone().into(),
                secure: settings.public_url.starts_with("https://"),
            },
            negotiate::negotiate,
        )
    };
    let admin = directory::admin_routes()
        .merge(receivers::routes())
        .merge(test_events::routes())
        .merge(replays::routes())
        .merge(retries::routes())
        .merge(runtimes::routes())
        .merge(notices::routes())
        .merge(dashboard::routes())
        .merge(jobs::routes())
        .merge(system::routes())
        .layer(layer(Surface::Admin))
        .layer(live::LiveLayer::new(site.services.jobs.clone()));
    let sharing = directory::sharing_routes()
        .merge(tokens::routes())
        .merge(items::routes())
        .merge(uploads::routes())
        .merge(search::routes())
        .merge(portal::routes())
        .merge(oauth::routes())
        .merge(session::routes())
        .layer(layer(Surface::Sharing));
    let contextual = Router::new()
        .merge(admin)
        .merge(sharing)
        .merge(events::routes())
        .merge(openapi::routes());
    Router::new()
        .route("/", get(session::home))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .nest(&context, contextual)
        .fallback(unrouted::unknown_resource)
        .method_not_allowed_fallback(unrouted::wrong_method)
        .layer(axum::middleware::from_fn(headers::secure))
        .with_state(site)
}

/// A worker node's router: health and metrics only.
pub fn worker_router(site: Site) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(unrouted::unknown_resource)
        .layer(axum::middleware::from_fn(headers::secure))
        .with_state(site)
}

/// Where this server is, for the links of pages.
fn urls(settings: &Settings) -> crate::ui::Urls {
    crate::ui::Urls {
        context: settings.context.clone(),
        public_url: settings.public_url.clone(),
    }
}

/// A stored notebook made ready for a page; `None` when the bytes are
/// not a notebook.
async fn notebook_cells(
    bytes: Vec<u8>,
) -> crate::error::Result<Option<Vec<crate::ui::NotebookCell>>> {
    rendered(move || {
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .map(|notebook| crate::ui::notebook_cells(&notebook))
    })
    .await
}

/// The notebook of a running job, as far as it has executed, made ready
/// for a page.
async fn live_cells(
    notebook: Arc<serde_json::Value>,
) -> crate::error::Result<Option<Vec<crate::ui::NotebookCell>>> {
    rendered(move || Some(crate::ui::notebook_cells(&notebook))).await
}

/// Renders a notebook off the async threads and two at a time (the
/// parsing, highlighting and sanitizing are CPU work, bounded in time by
/// the renderer), so that readers of pages cannot take every core from
/// intake and runs.
async fn rendered(
    work: impl FnOnce() -> Option<Vec<crate::ui::NotebookCell>> + Send + 'static,
) -> crate::error::Result<Option<Vec<crate::ui::NotebookCell>>> {
    static TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    let turn = TURNS.acquire().await.map_err(|e| {
        crate::error::Error::Internal(
            anyhow::Error::new(e).context("the notebook turns are closed"),
        )
    })?;
    tokio::task::spawn_blocking(move || {
        // Held until the work ends, even if the reader has gone.
        let _turn = turn;
        work()
    })
    .await
    .map_err(|e| {
        crate::error::Error::Internal(anyhow::Error::new(e).context("rendering a notebook failed"))
    })
}

#[utoipa::path(get, path = "/healthz", tag = "meta",
    summary = "Answers ok while the server runs",
    responses(
        (status = 200, description = "Answers ok while the server runs", body = String, content_type = "text/plain"),
        (status = 503, description = "Deliveries cannot be stored: the database cannot be reached or written (the text says why and for how long)",
            body = String, content_type = "text/plain"),
    ),
    security(()),
)]
/// `ok` while the node serves; further lines say when runs are not walled
/// off (or not run) because no sandbox can be made here, and when kernels
/// start cold because the fork server is down (runs still run, each a
/// second slower).
async fn healthz(
    axum::extract::State(health): axum::extract::State<Arc<Health>>,
    axum::extract::State(intake): axum::extract::State<Arc<crate::intake::Intake>>,
) -> (axum::http::StatusCode, String) {
    let mut status = axum::http::StatusCode::OK;
    let mut answer = String::from("ok\n");
    if let Some((how_long, cause)) = intake.storage_problem() {
        status = axum::http::StatusCode::SERVICE_UNAVAILABLE;
        answer = format!(
            "unavailable: deliveries cannot be stored (for {} s): {cause}\n",
            how_long.as_secs()
        );
    }
    if let Some(note) = health.walls_note() {
        answer.push_str(note);
        answer.push('\n');
    }
    if health.kernels_start_cold() {
        answer.push_str("kernels start cold: the fork server is down\n");
    }
    (status, answer)
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "meta",
    summary = "Prometheus metrics",
    responses((status = 200, description = "Prometheus metrics", body = String, content_type = "text/plain")),
    security(()),
)]
async fn metrics(
    axum::extract::State(metrics): axum::extract::State<Arc<Metrics>>,
) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(),
    )
}

/// A notebook file as a download, named after `name` (made safe for the
/// header), whatever `f` says: to the description, a JSON object.
struct Ipynb {
    bytes: Vec<u8>,
    name: String,
}

impl axum::response::IntoResponse for Ipynb {
    fn into_response(self) -> axum::response::Response {
        use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
        use axum::http::HeaderValue;
        let mut response = self.bytes.into_response();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-ipynb+json"),
        );
        let safe: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}.ipynb\""))
        {
            headers.insert(CONTENT_DISPOSITION, value);
        }
        response
    }
}
