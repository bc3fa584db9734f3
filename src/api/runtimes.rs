//! Runtimes, as ArcGIS Notebook Server's administrator directory has them:
//! `GET /C/admin/notebooks/runtimes` (list), `.../runtimes/register`,
//! `.../runtimes/{id}` (resource), `.../{id}/update`, `.../{id}/manifest`,
//! `.../{id}/unregister`, `.../runtimes/restore` (the presets put back)
//! and `.../runtimes/validateRuntimes`; administrators only. Esri's field names where
//! they apply (`name`, `version`, `maxCPU`, also read and answered as
//! `maxCpu`, `maxMemory`, `maxMemoryUnit`);
//! its Docker fields (`imageId`, `imagePullString`, `containerType`) have
//! no meaning here: accepted, ignored, and answered as `null`. hookbook's
//! own: `requirements`, `preload`, `state` and `message`.

use crate::domain::runtime::{self, Runtime, RuntimeChange};

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;

use super::caller::Caller;
use super::negotiate::{Format, Params, Reply};
use super::path::Id;
use super::schema::{always_null, AdminError, Succeeded, Success};
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
        .route("/admin/notebooks/runtimes/restore", post(restore))
        .route("/admin/notebooks/runtimes/validateRuntimes", post(validate))
        .route("/admin/notebooks/runtimes/{id}", get(resource))
        .route("/admin/notebooks/runtimes/{id}/update", post(update))
        .route("/admin/notebooks/runtimes/{id}/manifest", get(libraries))
        .route(
            "/admin/notebooks/runtimes/{id}/unregister",
            post(unregister),
        )
}

// The answers and the form, as the description gives them.

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Runtime)]
struct RuntimeOut {
    id: String,
    name: String,
    version: String,
    /// Cores per run; null: no limit.
    #[schema(required)]
    max_cpu: Option<f64>,
    /// The same as `maxCpu`, under the name Esri's register operation gives it.
    #[serde(rename = "maxCPU")]
    #[schema(required)]
    max_cpu_esri: Option<f64>,
    /// Null: no limit.
    #[schema(required)]
    max_memory: Option<u64>,
    #[schema(required)]
    max_memory_unit: Option<&'static str>,
    requires_advanced_privileges: bool,
    #[schema(schema_with = always_null)]
    image_id: (),
    #[schema(schema_with = always_null)]
    image_pull_string: (),
    #[schema(schema_with = always_null)]
    container_type: (),
    requirements: Vec<String>,
    preload: Vec<String>,
    #[schema(inline)]
    state: RuntimeState,
    message: String,
    created: i64,
    modified: i64,
}

impl From<&Runtime> for RuntimeOut {
    fn from(r: &Runtime) -> Self {
        let (max_memory, max_memory_unit) = memory(r.limits.max_memory).unzip();
        Self {
            id: r.id.as_str().to_string(),
            name: r.name.as_str().to_string(),
            version: r.version.to_string(),
            max_cpu: r.limits.max_cpu,
            max_cpu_esri: r.limits.max_cpu,
            max_memory,
            max_memory_unit,
            requires_advanced_privileges: false,
            image_id: (),
            image_pull_string: (),
            container_type: (),
            requirements: r
                .requirements
                .iter()
                .map(|q| q.as_str().to_string())
                .collect(),
            preload: r.preload.modules().to_vec(),
            state: r.state.into(),
            message: r.message.clone(),
            created: r.created.0,
            modified: r.modified.0,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum RuntimeState {
    Building,
    Ready,
    Failed,
}

impl From<runtime::RuntimeState> for RuntimeState {
    fn from(state: runtime::RuntimeState) -> Self {
        match state {
            runtime::RuntimeState::Building => RuntimeState::Building,
            runtime::RuntimeState::Ready => RuntimeState::Ready,
            runtime::RuntimeState::Failed => RuntimeState::Failed,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct RuntimeList {
    runtimes: Vec<RuntimeOut>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct RuntimeRegistered {
    #[schema(inline)]
    status: Succeeded,
    id: String,
    /// The runtime registered: the ArcGIS API for Python's
    /// `RuntimeManager.add` reads its `id` here.
    notebook_runtime: RuntimeOut,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Manifest {
    #[schema(inline)]
    libraries: Vec<Library>,
}

/// A package, in Esri's manifest shape; conda's fields are null.
#[derive(Serialize, utoipa::ToSchema)]
struct Library {
    name: String,
    version: String,
    dist_name: String,
    #[schema(inline)]
    channel: Pypi,
    #[schema(schema_with = always_null)]
    build_string: (),
    #[schema(schema_with = always_null)]
    build_number: (),
    #[schema(schema_with = always_null)]
    base_url: (),
    #[schema(schema_with = always_null)]
    platform: (),
}

impl Library {
    fn new(name: String, version: String) -> Self {
        Self {
            dist_name: format!("{name}-{version}"),
            name,
            version,
            channel: Pypi::Pypi,
            build_string: (),
            build_number: (),
            base_url: (),
            platform: (),
        }
    }
}

/// `"pypi"`, where every package comes from.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum Pypi {
    Pypi,
}

/// A runtime's fields; Esri's Docker fields are accepted and ignored.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes the form that `change` reads field by field.
struct RuntimeFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    requirements: String,
    #[serde(default)]
    preload: String,
    #[serde(default, rename = "maxCPU")]
    max_cpu_esri: String,
    /// An alias of `maxCPU`.
    #[serde(default)]
    max_cpu: String,
    #[serde(default)]
    max_memory: String,
    #[serde(default)]
    max_memory_unit: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    image_id: String,
    #[serde(default)]
    image_pull_string: String,
    #[serde(default)]
    container_type: String,
    #[serde(default)]
    requires_advanced_privileges: String,
}

/// The fields of both forms, described once.
macro_rules! runtime_fields {
    () => {
        "Fields: `name` (1 to 100 characters, unique without regard to case, as notebooks name runtimes in `esriNotebookRuntime`), `requirements` (as in a requirements file, one per line, commas between, or a JSON list; no installer options, URLs or paths), `preload` (modules the runtime's fork server imports, commas between), `maxCPU` (cores per run; empty or 0: no limit; `maxCpu`, the spelling of Esri's update page and of the ArcGIS API for Python's `Runtime.update`, is read when `maxCPU` is not given), `maxMemory` and `maxMemoryUnit` (`b`, `k`, `m`, `g`; at least 16 MB; empty or 0: no limit). Esri's `version`, `imageId`, `imagePullString`, `containerType` and `requiresAdvancedPrivileges` are about Docker images and have no meaning here: they are accepted and ignored."
    };
}

/// `maxMemory` and `maxMemoryUnit`: the largest unit that divides it.
fn memory(bytes: Option<u64>) -> Option<(u64, &'static str)> {
    let b = bytes?;
    for (unit, size) in [("g", 1u64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
        if b % size == 0 {
            return Some((b / size, unit));
        }
    }
    Some((b, "b"))
}

/// `maxCPU`, Esri's name for a runtime's cores (its register page's), else
/// `maxCpu` (its update page's and the resource's, and what the ArcGIS API
/// for Python's `Runtime.update` sends).
fn max_cpu(params: &Params) -> Option<&str> {
    params.get("maxCPU").or_else(|| params.get("maxCpu"))
}

/// The fields a request gives; `register` requires a name.
fn change(params: &Params) -> Result<RuntimeChange> {
    let cpu = max_cpu(params);
    // A refusal names the field that was wrong.
    if let Some(text) = cpu {
        Limits::parse(Some(text), None, None).map_err(Error::invalid("maxCPU"))?;
    }
    let limits = (cpu.is_some()
        || ["maxMemory", "maxMemoryUnit"]
            .iter()
            .any(|f| params.get(f).is_some()))
    .then(|| Limits::parse(cpu, params.get("maxMemory"), params.get("maxMemoryUnit")))
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

#[utoipa::path(get, path = "/admin/notebooks/runtimes", tag = "admin",
    summary = "The runtimes",
    description = "Administrators only. Every runtime, by name, with the state of its current version (`building`, `ready` or `failed`, with uv's words in `message`).",
    params(Format, Caller),
    responses(
        (status = 200, description = "Done",
            content((RuntimeList = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn list(
    State(service): State<Arc<Runtimes>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
) -> Result<Reply> {
    let runtimes = service.runtimes(&caller).await?;
    let answer = RuntimeList {
        runtimes: runtimes.iter().map(RuntimeOut::from).collect(),
    };
    let urls = super::urls(&settings);
    Reply::new(answer, async move { Ok(runtimes_page(&urls)) })
}

async fn page(settings: Arc<Settings>, r: Runtime) -> Result<Page> {
    let (memory, unit) = memory(r.limits.max_memory)
        .map(|(m, unit)| (m.to_string(), unit.to_string()))
        .unwrap_or_default();
    let requirements = r.requirements.to_file();
    let preload = r.preload.modules().join(",");
    let cpu = r.limits.max_cpu.map(|c| c.to_string()).unwrap_or_default();
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

#[utoipa::path(get, path = "/admin/notebooks/runtimes/{id}", tag = "admin",
    summary = "A runtime",
    description = "Administrators only. `maxCpu` (also as `maxCPU`), `maxMemory` and `maxMemoryUnit` are null when there is no limit; `imageId`, `imagePullString` and `containerType` are always null (no Docker images here).",
    params(Format, Caller, Id<RuntimeId>),
    responses(
        (status = 200, description = "Done",
            content((RuntimeOut = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn resource(
    State(service): State<Arc<Runtimes>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<RuntimeId>,
) -> Result<Reply> {
    let r = service.runtime(&caller, &id).await?;
    Reply::new(RuntimeOut::from(&r), page(settings.clone(), r))
}

#[utoipa::path(post, path = "/admin/notebooks/runtimes/register", tag = "admin",
    summary = "Register a runtime",
    description = concat!(
        "Administrators only. Stores the runtime (version 1); nodes that run notebooks resolve its requirements with uv into a lock, store the lock, and build it. ",
        runtime_fields!(),
        " `name` is required."
    ),
    params(Format, Caller),
    request_body(content = inline(Option<RuntimeFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Done",
            content((RuntimeRegistered = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn register(
    State(service): State<Arc<Runtimes>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let r = service.register_runtime(&caller, change(&params)?).await?;
    let answer = RuntimeRegistered {
        status: Succeeded::Success,
        id: r.id.as_str().to_string(),
        notebook_runtime: RuntimeOut::from(&r),
    };
    Reply::new(answer, page(settings.clone(), r))
}

#[utoipa::path(post, path = "/admin/notebooks/runtimes/{id}/update", tag = "admin",
    summary = "Change a runtime",
    description = concat!(
        "Administrators only. A field left out keeps its value. New `requirements` (or any given after a failed build) make a new version, resolved and built afresh. ",
        runtime_fields!()
    ),
    params(Format, Caller, Id<RuntimeId>),
    request_body(content = inline(Option<RuntimeFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Done",
            content((Success = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
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
    Reply::new(Success::DONE, page(settings.clone(), r))
}

/// What `validateRuntimes` found.
#[derive(Serialize, utoipa::ToSchema)]
struct Validated {
    #[schema(inline)]
    status: Succeeded,
    /// Whether every runtime is as its lock says.
    valid: bool,
    #[schema(inline)]
    runtimes: Vec<RuntimeValidity>,
}

/// One runtime's current version, and what is wrong with it (nothing when
/// `valid`).
#[derive(Serialize, utoipa::ToSchema)]
struct RuntimeValidity {
    id: String,
    name: String,
    version: String,
    valid: bool,
    messages: Vec<String>,
}

#[utoipa::path(post, path = "/admin/notebooks/runtimes/restore", tag = "admin",
    summary = "Put back the runtimes hookbook ships",
    description = "Administrators only. Each preset (`ArcGIS Notebook Python 3 Standard`: the `arcgis` package and the libraries that runtime is known for, as PyPI has them) gets back its requirements, preload list and no limits; a missing one is registered. Other runtimes stay. Esri's Advanced runtime (ArcPy) is not on PyPI and is not shipped.",
    params(Format, Caller),
    request_body(content = inline(Option<super::schema::CallerFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Done",
            content((Success = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn restore(
    State(service): State<Arc<Runtimes>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
) -> Result<Reply> {
    service.restore_presets(&caller).await?;
    let urls = super::urls(&settings);
    Reply::new(Success::DONE, async move { Ok(runtimes_page(&urls)) })
}

#[utoipa::path(post, path = "/admin/notebooks/runtimes/validateRuntimes", tag = "admin",
    summary = "Check each runtime against its lock",
    description = "Administrators only. For each runtime's current version: whether its requirements are resolved into a lock and, on a node that runs notebooks, whether its environment there was built from that lock and holds exactly the lock's packages (as `uv pip freeze` lists them); `messages` say what is wrong. A node that runs no notebooks checks the lock and the build state only.",
    params(Format, Caller),
    request_body(content = inline(Option<super::schema::CallerFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "What was found",
            content((Validated = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn validate(
    State(service): State<Arc<Runtimes>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
) -> Result<Reply> {
    let found = service.validate(&caller).await?;
    let runtimes: Vec<RuntimeValidity> = found
        .into_iter()
        .map(|v| RuntimeValidity {
            id: v.runtime.id.as_str().to_string(),
            name: v.runtime.name.as_str().to_string(),
            version: v.runtime.version.to_string(),
            valid: v.problems.is_empty(),
            messages: v.problems,
        })
        .collect();
    let answer = Validated {
        status: Succeeded::Success,
        valid: runtimes.iter().all(|r| r.valid),
        runtimes,
    };
    let urls = super::urls(&settings);
    Reply::new(answer, async move { Ok(runtimes_page(&urls)) })
}

#[utoipa::path(post, path = "/admin/notebooks/runtimes/{id}/unregister", tag = "admin",
    summary = "Unregister a runtime",
    description = "Administrators only. Removes the runtime; each node removes its environments.",
    params(Format, Caller, Id<RuntimeId>),
    responses(
        (status = 200, description = "Done",
            content((Success = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn unregister(
    State(service): State<Arc<Runtimes>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<RuntimeId>,
) -> Result<Reply> {
    service.unregister_runtime(&caller, &id).await?;
    let urls = super::urls(&settings);
    let location = format!("{}/runtimes", urls.notebooks());
    Ok(
        Reply::new(Success::DONE, async move { Ok(runtimes_page(&urls)) })?
            .then_see(location, format!("Unregistered the runtime {id}.")),
    )
}

#[utoipa::path(get, path = "/admin/notebooks/runtimes/{id}/manifest", tag = "admin",
    summary = "A runtime's packages",
    description = "Administrators only. The packages the current version's lock installs (empty until its requirements are resolved), in Esri's manifest shape; `channel` is `pypi`.",
    params(Format, Caller, Id<RuntimeId>),
    responses(
        (status = 200, description = "Done",
            content((Manifest = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn libraries(
    State(service): State<Arc<Runtimes>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<RuntimeId>,
) -> Result<Reply> {
    let r = service.runtime(&caller, &id).await?;
    let answer = Manifest {
        libraries: manifest(r.lock.as_deref().unwrap_or(""))
            .into_iter()
            .map(|(name, version)| Library::new(name, version))
            .collect(),
    };
    let urls = super::urls(&settings);
    Reply::new(answer, async move {
        Ok(manifest_page(&urls, &r.id, r.name.as_str()))
    })
}
