//! Dashboards: `GET /C/admin/notebooks/dashboard` (the site's;
//! administrators) and `.../webhookReceivers/{id}/dashboard` (a
//! receiver's; its owner and administrators), `window=hour|day|week`.
//! JSON gives the series; the page draws them.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use super::caller::Caller;
use super::negotiate::{Params, Reply};
use super::path::Id;
use crate::domain::dashboard::{Series, Window};
use crate::domain::ids::ReceiverId;
use crate::error::{Error, Result};
use crate::service::dashboard::Dashboards;
use crate::service::dashboard::Figures;
use crate::service::Settings;
use crate::ui::charts::{Axis, Kind};
use crate::ui::pages::dashboard::{dashboard_page, Figure};
use crate::ui::Page;

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route("/admin/notebooks/dashboard", get(site))
        .route(
            "/admin/notebooks/webhookReceivers/{id}/dashboard",
            get(receiver),
        )
}

fn window(params: &Params) -> Result<Window> {
    params
        .non_empty("window")
        .map_or(Ok(Window::Hour), Window::parse)
        .map_err(Error::invalid("window"))
}

fn named(series: &[Series]) -> Value {
    let map: Map<String, Value> = series
        .iter()
        .map(|s| (s.name.clone(), json!(s.values)))
        .collect();
    Value::Object(map)
}

fn figures_json(f: &Figures) -> Value {
    let mut v = json!({
        "window": f.window.as_str(),
        "from": f.buckets.from.0,
        "bucketMs": f.buckets.size_ms,
        "buckets": f.buckets.count,
        "deliveries": named(&f.deliveries),
        "runs": named(&f.runs),
        "runSeconds": named(&f.durations),
        "firstCellSeconds": named(&f.first_cell),
        "runTimesCapped": f.times_capped,
    });
    if !f.queue.is_empty() {
        v["queue"] = named(&f.queue);
    }
    v
}

fn page(settings: &Settings, title: String, base: &str, f: &Figures) -> Page {
    let per = f.window.per();
    let mut charts = vec![
        Figure {
            title: format!("Deliveries {per}, by outcome"),
            kind: Kind::Bars,
            series: &f.deliveries,
        },
        Figure {
            title: format!("Runs {per}, by final state"),
            kind: Kind::Bars,
            series: &f.runs,
        },
        Figure {
            title: "Run duration (seconds)".into(),
            kind: Kind::Lines,
            series: &f.durations,
        },
        Figure {
            title: "From webhook to first cell (seconds)".into(),
            kind: Kind::Lines,
            series: &f.first_cell,
        },
    ];
    if !f.queue.is_empty() {
        charts.push(Figure {
            title: "Jobs waiting and warm kernels (the busiest minute)".into(),
            kind: Kind::Lines,
            series: &f.queue,
        });
    }
    let axis = Axis {
        from: f.buckets.from,
        size_ms: f.buckets.size_ms,
        count: usize::try_from(f.buckets.count).unwrap_or(0),
    };
    dashboard_page(&super::urls(settings), title, base, f.window, axis, &charts)
}

async fn site(
    State(service): State<Arc<Dashboards>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let f = service.site_dashboard(&caller, window(&params)?).await?;
    let base = format!("{}/dashboard", super::urls(&settings).notebooks());
    let page = page(&settings, "The site".into(), &base, &f);
    Ok(Reply::new(figures_json(&f), async move { Ok(page) }))
}

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
    let page = page(&settings, r.name.as_str().to_string(), &base, &f).link(
        "The receiver",
        format!("{}/{id}", super::urls(&settings).receivers()),
    );
    Ok(Reply::new(figures_json(&f), async move { Ok(page) }))
}
