//! Dashboards: `GET /C/admin/notebooks/dashboard` (the site's;
//! administrators) and `.../webhookReceivers/{id}/dashboard` (a
//! receiver's; its owner and administrators), `window=hour|day|week`.
//! JSON gives the series; the page draws them.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use super::caller::Caller;
use super::negotiate::{Format, Params, Reply};
use super::path::Id;
use super::schema::AdminError;
use crate::domain::dashboard::{Series, Window};
use crate::domain::ids::ReceiverId;
use crate::domain::time::Millis;
use crate::error::{Error, Result};
use crate::service::dashboard::Dashboards;
use crate::service::dashboard::Figures;
use crate::service::Settings;
use crate::ui::charts::{no_failures, Axis, Kind};
use crate::ui::pages::dashboard::{dashboard_page, Figure, Headline};
use crate::ui::Page;

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route("/admin/notebooks/dashboard", get(site))
        .route(
            "/admin/notebooks/webhookReceivers/{id}/dashboard",
            get(receiver),
        )
}

/// A dashboard: series by name, each a value per bucket, oldest first,
/// null where there is none.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Dashboard)]
struct DashboardOut {
    #[schema(inline)]
    window: WindowName,
    from: i64,
    bucket_ms: i64,
    buckets: i64,
    deliveries: BTreeMap<String, Vec<Option<f64>>>,
    runs: BTreeMap<String, Vec<Option<f64>>>,
    run_seconds: BTreeMap<String, Vec<Option<f64>>>,
    first_cell_seconds: BTreeMap<String, Vec<Option<f64>>>,
    run_times_capped: bool,
    /// The site's dashboard only.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    queue: BTreeMap<String, Vec<Option<f64>>>,
}

impl From<&Figures> for DashboardOut {
    fn from(f: &Figures) -> Self {
        Self {
            window: f.window.into(),
            from: f.buckets.from.0,
            bucket_ms: f.buckets.size_ms,
            buckets: f.buckets.count,
            deliveries: named(&f.deliveries),
            runs: named(&f.runs),
            run_seconds: named(&f.durations),
            first_cell_seconds: named(&f.first_cell),
            run_times_capped: f.times_capped,
            queue: named(&f.queue),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum WindowName {
    Hour,
    Day,
    Week,
}

impl From<Window> for WindowName {
    fn from(window: Window) -> Self {
        match window {
            Window::Hour => WindowName::Hour,
            Window::Day => WindowName::Day,
            Window::Week => WindowName::Week,
        }
    }
}

/// Both dashboards' series, described once.
macro_rules! series {
    () => {
        "Series of values per bucket, oldest first: `deliveries` by outcome (accepted: webhook jobs other than replays; duplicate; and each refusal's reason, from the delivery log, which records at most 10 refusals a second per receiver), `runs` by final state (bucketed by their end), `runSeconds` (p50, p95, max) and `firstCellSeconds` (p50, p95: from the webhook to the first cell), null where no run ended."
    };
}

fn window(params: &Params) -> Result<Window> {
    params
        .non_empty("window")
        .map_or(Ok(Window::Hour), Window::parse)
        .map_err(Error::invalid("window"))
}

/// Series by name.
fn named(series: &[Series]) -> BTreeMap<String, Vec<Option<f64>>> {
    series
        .iter()
        .map(|s| (s.name.clone(), s.values.clone()))
        .collect()
}

/// The jobs a bar counts: the runs that ended in its bucket in its state,
/// or the jobs its accepted deliveries made (refusals made none), of the
/// receiver when the dashboard is a receiver's.
fn jobs_of_bar(
    jobs: &str,
    receiver: Option<ReceiverId>,
    series: &str,
    from: Millis,
    to: Millis,
) -> Option<String> {
    let mut query = form_urlencoded::Serializer::new(String::new());
    match series {
        "COMPLETED" | "FAILED" | "CANCELLED" => {
            query.append_pair("status", series);
        }
        "accepted" => {}
        _ => return None,
    }
    if let Some(receiver) = receiver {
        query.append_pair("receiverId", &receiver.to_string());
    }
    query.append_pair("from", &from.0.to_string());
    query.append_pair("to", &to.0.to_string());
    Some(format!("{jobs}?{}", query.finish()))
}

fn page(
    settings: &Settings,
    title: String,
    base: &str,
    receiver: Option<ReceiverId>,
    f: &Figures,
) -> Page {
    let per = f.window.per();
    let jobs = format!("/{}/admin/notebooks/jobs", settings.context);
    let link =
        |series: &str, from: Millis, to: Millis| jobs_of_bar(&jobs, receiver, series, from, to);
    let mut charts = vec![
        Figure {
            title: format!("Deliveries {per}, by outcome"),
            kind: Kind::Bars,
            series: &f.deliveries,
            link: Some(&link),
            // Each refusal's reason is a series of its own.
            failed: |name| !matches!(name, "accepted" | "duplicate"),
        },
        Figure {
            title: format!("Runs {per}, by final state"),
            kind: Kind::Bars,
            series: &f.runs,
            link: Some(&link),
            failed: |name| name == "FAILED",
        },
        Figure {
            title: "Run duration (seconds)".into(),
            kind: Kind::Lines,
            series: &f.durations,
            link: None,
            failed: no_failures,
        },
        Figure {
            title: "From webhook to first cell (seconds)".into(),
            kind: Kind::Lines,
            series: &f.first_cell,
            link: None,
            failed: no_failures,
        },
    ];
    if !f.queue.is_empty() {
        charts.push(Figure {
            title: "Jobs waiting and warm kernels (the busiest minute)".into(),
            kind: Kind::Lines,
            series: &f.queue,
            link: None,
            failed: no_failures,
        });
    }
    let axis = Axis {
        from: f.buckets.from,
        size_ms: f.buckets.size_ms,
        count: usize::try_from(f.buckets.count).unwrap_or(0),
    };
    let headline = Headline {
        deliveries: &f.deliveries,
        runs: &f.runs,
    };
    dashboard_page(
        &super::urls(settings),
        title,
        base,
        f.window,
        axis,
        &headline,
        &charts,
    )
}

#[utoipa::path(get, path = "/admin/notebooks/dashboard", tag = "admin",
    summary = "The site's dashboard",
    description = concat!(
        "Administrators only. ",
        series!(),
        " `queue`: the most jobs waiting and warm kernels (all nodes together) in each bucket's busiest sampled minute."
    ),
    params(Format, Caller,
        ("window" = Option<String>, Query, description = "hour (60 buckets of a minute, the default), day (96 of 15 minutes) or week (168 of an hour)."),),
    responses(
        (status = 200, description = "Done",
            content((DashboardOut = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn site(
    State(service): State<Arc<Dashboards>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let f = service.site_dashboard(&caller, window(&params)?).await?;
    let base = format!("{}/dashboard", super::urls(&settings).notebooks());
    let page = page(&settings, "The site".into(), &base, None, &f);
    Reply::new(DashboardOut::from(&f), async move { Ok(page) })
}

#[utoipa::path(get, path = "/admin/notebooks/webhookReceivers/{id}/dashboard", tag = "admin",
    summary = "A receiver's dashboard",
    description = concat!("Owners of the receiver and administrators. ", series!()),
    params(Format, Caller, Id<ReceiverId>,
        ("window" = Option<String>, Query, description = "hour (60 buckets of a minute, the default), day (96 of 15 minutes) or week (168 of an hour)."),),
    responses(
        (status = 200, description = "Done",
            content((DashboardOut = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn receiver(
    State(service): State<Arc<Dashboards>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
    params: Params,
) -> Result<Reply> {
    let (r, f) = service
        .receiver_dashboard(&caller, &id, window(&params)?)
        .await?;
    let base = format!("{}/{id}/dashboard", super::urls(&settings).receivers());
    let page = page(
        &settings,
        r.name.as_str().to_string(),
        &base,
        Some(r.id),
        &f,
    )
    .link(
        "The receiver",
        format!("{}/{id}", super::urls(&settings).receivers()),
    );
    Reply::new(DashboardOut::from(&f), async move { Ok(page) })
}
