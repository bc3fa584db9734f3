//! The browsable roots of the directories: `/C/admin`, `/C/admin/notebooks`
//! and `/C/sharing/rest`.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
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
        resources: &["notebooks", "system"],
        current_version: API_VERSION,
        version: API_VERSION,
        ..Directory::default()
    };
    Reply::new(answer, async move {
        Ok(Page::new("Administrator directory")
            .link("notebooks", format!("/{c}/admin/notebooks"))
            .link("system", format!("/{c}/admin/system")))
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

#[utoipa::path(get, path = "/admin/notebooks", tag = "admin",
    summary = "The notebooks resource",
    params(Format, Caller),
    responses(
        (status = 200, description = "Its resources and operations",
            content((Directory = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn notebooks_root(State(settings): State<Arc<Settings>>, Caller(_): Caller) -> Result<Reply> {
    let c = settings.context.clone();
    let answer = Directory {
        resources: &["webhookReceivers", "jobs", "runtimes"],
        operations: &["executeNotebook"],
        ..Directory::default()
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
