//! Runtimes, as ArcGIS Notebook Server's administrator directory has them:
//! `GET /C/admin/notebooks/runtimes` (list), `.../runtimes/register`,
//! `.../runtimes/{id}` (resource), `.../{id}/update`, `.../{id}/manifest`
//! and `.../{id}/unregister`; administrators only. Esri's field names where
//! they apply (`name`, `version`, `maxCpu`, `maxMemory`, `maxMemoryUnit`);
//! its Docker fields (`imageId`, `imagePullString`, `containerType`) have
//! no meaning here: accepted, ignored, and answered as `null`. hookbook's
//! own: `requirements`, `preload`, `state` and `message`.

use crate::domain::runtime::{Runtime, RuntimeChange};

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::caller::Caller;
use super::negotiate::{Params, Reply};
use super::path::Id;
use crate::domain::runtime::{manifest, Limits, Preload, Requirements, RuntimeId, RuntimeName};
use crate::error::{Error, Result};
use crate::service::runtimes::Runtimes;
use crate::service::Settings;
use crate::ui::pages::runtimes::{manifest_page, runtime_page, runtimes_page};
use crate::ui::Page;

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route("/admin/notebooks/runtimes", get(list))
        .route("/admin/notebooks/runtimes/register", post(register))
        .route("/admin/notebooks/runtimes/{id}", get(resource))
        .route("/admin/notebooks/runtimes/{id}/update", post(update))
        .route("/admin/notebooks/runtimes/{id}/manifest", get(libraries))
        .route(
            "/admin/notebooks/runtimes/{id}/unregister",
            post(unregister),
        )
}

/// `maxMemory` and `maxMemoryUnit`: the largest unit that divides it.
fn memory(bytes: Option<u64>) -> (Value, Value) {
    let Some(b) = bytes else {
        return (Value::Null, Value::Null);
    };
    for (unit, size) in [("g", 1u64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
        if b % size == 0 {
            return (json!(b / size), json!(unit));
        }
    }
    (json!(b), json!("b"))
}

fn runtime_json(r: &Runtime) -> Value {
    let (max_memory, unit) = memory(r.limits.max_memory);
    json!({
        "id": r.id.as_str(),
        "name": r.name.as_str(),
        "version": r.version.to_string(),
        "maxCpu": r.limits.max_cpu,
        "maxMemory": max_memory,
        "maxMemoryUnit": unit,
        "requiresAdvancedPrivileges": false,
        "imageId": null,
        "imagePullString": null,
        "containerType": null,
        "requirements": r.requirements.iter().map(|q| q.as_str()).collect::<Vec<_>>(),
        "preload": r.preload.modules(),
        "state": r.state.as_str(),
        "message": r.message,
        "created": r.created.0,
        "modified": r.modified.0,
    })
}

/// The fields a request gives; `register` requires a name.
fn change(params: &Params) -> Result<RuntimeChange> {
    let limits = ["maxCpu", "maxMemory", "maxMemoryUnit"]
        .iter()
        .any(|f| params.get(f).is_some())
        .then(|| {
            Limits::parse(
                params.get("maxCpu"),
                params.get("maxMemory"),
                params.get("maxMemoryUnit"),
            )
        })
        .transpose()
        .map_err(Error::invalid("maxMemory"))?;
    Ok(RuntimeChange {
        name: params
            .non_empty("name")
            .map(RuntimeName::parse)
            .transpose()
            .map_err(Error::invalid("name"))?,
        requirements: params
            .get("requirements")
            .map(Requirements::parse)
            .transpose()
            .map_err(Error::invalid("requirements"))?,
        preload: params
            .get("preload")
            .map(Preload::parse)
            .transpose()
            .map_err(Error::invalid("preload"))?,
        limits,
    })
}

async fn list(
    State(service): State<Arc<Runtimes>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
) -> Result<Reply> {
    let runtimes = service.runtimes(&caller).await?;
    let value = json!({ "runtimes": runtimes.iter().map(runtime_json).collect::<Vec<_>>() });
    let urls = super::urls(&settings);
    Ok(Reply::new(value, async move { Ok(runtimes_page(&urls)) }))
}

async fn page(settings: Arc<Settings>, r: Runtime) -> Result<Page> {
    let (memory, unit) = memory(r.limits.max_memory);
    let text = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let requirements = r.requirements.to_file();
    let preload = r.preload.modules().join(",");
    let cpu = r.limits.max_cpu.map(|c| c.to_string()).unwrap_or_default();
    let (memory, unit) = (text(&memory), text(&unit));
    Ok(runtime_page(
        &super::urls(&settings),
        &r.id,
        r.name.as_str(),
        [
            r.name.as_str(),
            &requirements,
            &preload,
            &cpu,
            &memory,
            &unit,
        ],
    ))
}

async fn resource(
    State(service): State<Arc<Runtimes>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<RuntimeId>,
) -> Result<Reply> {
    let r = service.runtime(&caller, &id).await?;
    Ok(Reply::new(runtime_json(&r), page(settings.clone(), r)))
}

async fn register(
    State(service): State<Arc<Runtimes>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let r = service.register_runtime(&caller, change(&params)?).await?;
    let value = json!({ "status": "success", "id": r.id.as_str() });
    Ok(Reply::new(value, page(settings.clone(), r)))
}

async fn update(
    State(service): State<Arc<Runtimes>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<RuntimeId>,
    params: Params,
) -> Result<Reply> {
    let r = service
        .update_runtime(&caller, &id, change(&params)?)
        .await?;
    Ok(Reply::new(
        json!({ "status": "success" }),
        page(settings.clone(), r),
    ))
}

async fn unregister(
    State(service): State<Arc<Runtimes>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<RuntimeId>,
) -> Result<Reply> {
    service.unregister_runtime(&caller, &id).await?;
    let urls = super::urls(&settings);
    Ok(Reply::new(json!({ "status": "success" }), async move {
        Ok(runtimes_page(&urls))
    }))
}

async fn libraries(
    State(service): State<Arc<Runtimes>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<RuntimeId>,
) -> Result<Reply> {
    let r = service.runtime(&caller, &id).await?;
    let libraries: Vec<Value> = manifest(r.lock.as_deref().unwrap_or(""))
        .into_iter()
        .map(|(name, version)| {
            json!({
                "name": name,
                "version": version,
                "dist_name": format!("{name}-{version}"),
                "channel": "pypi",
                "build_string": null,
                "build_number": null,
                "base_url": null,
                "platform": null,
            })
        })
        .collect();
    let urls = super::urls(&settings);
    Ok(Reply::new(json!({ "libraries": libraries }), async move {
        Ok(manifest_page(&urls, &r.id, r.name.as_str()))
    }))
}
