//! The browsable roots of the directories: `/C/admin`, `/C/admin/notebooks`
//! and `/C/sharing/rest`.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;

use super::caller::Caller;
use super::negotiate::{Format, Reply};
use super::schema::{AdminError, Directory, SharingError};
use crate::error::Result;
use crate::service::Settings;
use crate::ui::{FieldKind, Form, Page};

/// The version of the ArcGIS API whose receivers hookbook speaks.
pub const API_VERSION: &str = "11.4";

pub fn admin_routes() -> Router<super::Site> {
    Router::new()
        .route("/admin", get(admin_root))
        .route("/admin/", get(admin_root_slash))
        .route("/admin/notebooks", get(notebooks_root))
        .route("/admin/notebooks/openNotebook", post(open_notebook))
}

pub fn sharing_routes() -> Router<super::Site> {
    Router::new()
        .route("/sharing/rest", get(sharing_root))
        .route("/sharing/rest/", get(sharing_root_slash))
}

#[utoipa::path(get, path = "/admin", tag = "admin",
    summary = "The administrator directory",
    params(Format, Caller),
    responses(
        (status = 200, description = "Its resources",
            content((Directory = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn admin_root(State(settings): State<Arc<Settings>>, Caller(_): Caller) -> Result<Reply> {
    let c = settings.context.clone();
    let answer = Directory {
        resources: &["notebooks", "system", "info"],
        current_version: API_VERSION,
        version: API_VERSION,
        ..Directory::default()
    };
    Reply::new(answer, async move {
        Ok(Page::new("Administrator directory")
            .link("notebooks", format!("/{c}/admin/notebooks"))
            .link("system", format!("/{c}/admin/system"))
            .link("info", format!("/{c}/admin/info")))
    })
}

/// `/admin/` answers as `/admin` does.
#[utoipa::path(get, path = "/admin/", tag = "admin",
    summary = "The administrator directory",
    params(Format, Caller),
    responses(
        (status = 200, description = "Its resources",
            content((Directory = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn admin_root_slash(settings: State<Arc<Settings>>, caller: Caller) -> Result<Reply> {
    admin_root(settings, caller).await
}

/// The notebooks resource: its resources and operations, and the open
/// notebooks Esri lists here (`notebooks`), always none: hookbook runs
/// notebooks headless, as jobs.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct NotebooksRoot {
    #[serde(flatten)]
    directory: Directory,
    /// Always empty: hookbook opens no notebook for editing.
    #[schema(value_type = Vec<Object>)]
    notebooks: Vec<serde_json::Value>,
}

#[utoipa::path(get, path = "/admin/notebooks", tag = "admin",
    summary = "The notebooks resource",
    params(Format, Caller),
    responses(
        (status = 200, description = "Its resources and operations, and no open notebooks",
            content((NotebooksRoot = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn notebooks_root(State(settings): State<Arc<Settings>>, Caller(_): Caller) -> Result<Reply> {
    let c = settings.context.clone();
    let answer = NotebooksRoot {
        directory: Directory {
            resources: &["webhookReceivers", "jobs", "runtimes"],
            operations: &["executeNotebook"],
            ..Directory::default()
        },
        notebooks: Vec::new(),
    };
    Reply::new(answer, async move {
        Ok(Page::new("Notebooks")
            .link(
                "webhookReceivers",
                format!("/{c}/admin/notebooks/webhookReceivers"),
            )
            .link("jobs", format!("/{c}/admin/notebooks/jobs"))
            .link("runtimes", format!("/{c}/admin/notebooks/runtimes"))
            .form(
                Form::post(
                    "Execute notebook",
                    format!("/{c}/admin/notebooks/executeNotebook"),
                )
                .field(FieldKind::Text, "itemId", "Notebook item id", "")
                .field(
                    FieldKind::Textarea,
                    "notebookParameters",
                    "Parameters (a JSON object)",
                    "{}",
                )
                .field(
                    FieldKind::Text,
                    "executionTimeoutInMinutes",
                    "Time limit (minutes)",
                    "",
                )
                .select(
                    "updatePortalItem",
                    "Save the executed notebook to the item",
                    "true",
                    &["true", "false"],
                ),
            ))
    })
}

/// Esri's `openNotebook` starts a notebook for a person to edit; hookbook
/// runs notebooks only headless, so it refuses, saying what to use instead.
#[utoipa::path(post, path = "/admin/notebooks/openNotebook", tag = "admin",
    summary = "Refused: hookbook runs notebooks headless",
    description = "Always refused (code 405, with a message): hookbook opens no notebook for editing; it runs notebooks headless, as jobs of `executeNotebook` or of webhook receivers.",
    params(Format, Caller),
    responses(
        (status = "default", response = AdminError),
    ),
)]
async fn open_notebook(Caller(_): Caller) -> crate::error::Error {
    crate::error::Error::WrongMethod(
        "openNotebook is not offered: hookbook runs notebooks headless and opens none for editing; run a notebook item with executeNotebook, or from a webhook receiver.".into(),
    )
}

#[utoipa::path(get, path = "/sharing/rest", tag = "sharing",
    summary = "The sharing directory",
    params(Format),
    responses(
        (status = 200, description = "Its version",
            content((Directory = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
    security(()),
)]
async fn sharing_root(State(settings): State<Arc<Settings>>) -> Result<Reply> {
    let c = settings.context.clone();
    let answer = Directory {
        current_version: API_VERSION,
        ..Directory::default()
    };
    Reply::new(answer, async move {
        Ok(Page::new("Sharing directory")
            .link("generateToken", format!("/{c}/sharing/rest/generateToken")))
    })
}

/// `/sharing/rest/` answers as `/sharing/rest` does.
#[utoipa::path(get, path = "/sharing/rest/", tag = "sharing",
    summary = "The sharing directory (with a trailing slash, as the ArcGIS API for Python asks for it)",
    params(Format),
    responses(
        (status = 200, description = "Its version",
            content((Directory = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
    security(()),
)]
async fn sharing_root_slash(settings: State<Arc<Settings>>) -> Result<Reply> {
    sharing_root(settings).await
}
