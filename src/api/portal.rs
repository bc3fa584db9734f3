//! The portal resources the ArcGIS API for Python reads when it signs in
//! (`GIS(url, token=...)`) and finds its notebook server, answered from
//! hookbook's own users: `sharing/rest/info`, `portals/self`, the
//! portal's servers (one: this notebook server), `community/self` and
//! `community/users/<name>`. hookbook is the portal and the notebook
//! server at once; its portal id is the one every ArcGIS Enterprise portal
//! has.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::caller::Caller;
use super::directory::API_VERSION;
use super::negotiate::Reply;
use super::path::Id;
use super::schema::{FormatQuery, SharingError, TokenQuery};
use crate::domain::user::{Privilege, Role, User, Username};
use crate::error::{Error, Result};
use crate::service::auth::SignIn;
use crate::service::Settings;
use crate::ui::Page;

/// The id of an ArcGIS Enterprise portal (every one has this id).
pub const PORTAL_ID: &str = "0123456789ABCDEF";

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route("/sharing/rest/info", get(info))
        .route("/sharing/rest/portals/self", get(portal_self))
        .route("/sharing/rest/portals/self/servers", get(servers))
        .route("/sharing/rest/portals/{portal}/servers", get(servers_of))
        .route("/sharing/rest/community/self", get(community_self))
        .route(
            "/sharing/rest/community/users/{username}",
            get(community_user),
        )
}

// The answers, as the description gives them; they are built with
// `json!`, so these types are never made.

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct PortalInfo {
    owning_system_url: String,
    #[schema(inline)]
    auth_info: AuthInfo,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct AuthInfo {
    token_services_url: String,
    is_token_based_security: bool,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct PortalUser {
    username: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    org_id: String,
    #[schema(inline)]
    role: EsriRole,
    #[serde(default)]
    role_id: String,
    #[serde(default)]
    #[schema(inline)]
    hookbook_role: HookbookRole,
    privileges: Vec<String>,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum EsriRole {
    OrgAdmin,
    OrgUser,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum HookbookRole {
    Administrator,
    User,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Portal {
    id: String,
    #[serde(default)]
    name: String,
    portal_name: String,
    #[serde(default)]
    portal_hostname: String,
    is_portal: bool,
    current_version: String,
    #[serde(default, rename = "allSSL")]
    all_ssl: bool,
    /// The signed-in user, when there is one.
    #[serde(default)]
    user: PortalUser,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct PortalServers {
    #[schema(inline)]
    servers: Vec<PortalServer>,
}

#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct PortalServer {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    url: String,
    admin_url: String,
    #[serde(default)]
    server_type: String,
    #[serde(default)]
    server_role: String,
    server_function: String,
    #[serde(default)]
    is_hosted: bool,
}

/// This site's portal URL: its public URL and context path.
fn portal_url(settings: &Settings) -> String {
    format!("{}/{}", settings.public_url, settings.context)
}

/// Where tokens are made, and that this portal uses them.
#[utoipa::path(get, path = "/sharing/rest/info", tag = "sharing",
    summary = "Where tokens are made",
    params(FormatQuery),
    responses(
        (status = 200, description = "The portal's URL and its token service",
            content((PortalInfo = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
    security(()),
)]
async fn info(State(settings): State<Arc<Settings>>) -> Result<Reply> {
    let portal = portal_url(&settings);
    let value = json!({
        "owningSystemUrl": portal,
        "authInfo": {
            "tokenServicesUrl": format!("{portal}/sharing/rest/generateToken"),
            "isTokenBasedSecurity": true,
        },
    });
    let page = Page::new("Server information");
    Ok(Reply::new(value, async move { Ok(page) }))
}

/// A user as the portal describes one: Esri's role and privilege strings,
/// with hookbook's own beside them.
fn user_json(user: &User) -> Value {
    let (role, esri_role) = match user.role {
        Role::Administrator => ("administrator", "org_admin"),
        Role::User => ("user", "org_user"),
    };
    let mut privileges: Vec<&str> = Vec::new();
    if user.is_admin() || user.privileges.contains(&Privilege::NotebooksCreate) {
        privileges.push("premium:user:createNotebooks");
    }
    privileges.extend(user.privileges.iter().map(|p| p.as_str()));
    json!({
        "username": user.username.as_str(),
        "fullName": user.username.as_str(),
        "id": user.username.as_str(),
        "orgId": PORTAL_ID,
        "role": esri_role,
        "roleId": esri_role,
        "hookbookRole": role,
        "privileges": privileges,
        "userLicenseTypeId": "creatorUT",
        "level": "2",
        "access": "org",
        "groups": [],
    })
}

/// The portal: its name and version, and the signed-in user, if any.
#[utoipa::path(get, path = "/sharing/rest/portals/self", tag = "sharing",
    summary = "The portal, and the signed-in user if any",
    params(FormatQuery, TokenQuery),
    responses(
        (status = 200, description = "The portal",
            content((Portal = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
    security(("token" = []), ("bearer" = []), ("esri" = []), ("session" = []), ()),
)]
async fn portal_self(
    State(settings): State<Arc<Settings>>,
    caller: std::result::Result<Caller, Error>,
) -> Result<Reply> {
    let user = signed_in(caller)?;
    let https = settings.public_url.starts_with("https://");
    let host = portal_url(&settings)
        .split_once("://")
        .map_or_else(String::new, |(_, rest)| rest.to_string());
    let mut value = json!({
        "id": PORTAL_ID,
        "name": "hookbook",
        "portalName": "hookbook",
        "portalHostname": host,
        "customBaseUrl": settings.context,
        "isPortal": true,
        "portalMode": "singletenant",
        "currentVersion": API_VERSION,
        "allSSL": https,
        "supportsOAuth": false,
        "helperServices": {},
    });
    if let Some(user) = &user {
        value["user"] = user_json(user);
    }
    let page = Page::new("Portal");
    Ok(Reply::new(value, async move { Ok(page) }))
}

/// The caller, or `None` when the request carries no credentials; a
/// token that is wrong or expired is an error, never anonymous access.
fn signed_in(caller: std::result::Result<Caller, Error>) -> Result<Option<User>> {
    match caller {
        Ok(Caller(user)) => Ok(Some(user)),
        Err(Error::TokenRequired) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The one server of this portal: this notebook server.
fn servers_json(settings: &Settings) -> Value {
    let url = portal_url(settings);
    json!({"servers": [{
        "id": "hookbook",
        "name": url.split_once("://").map_or(url.as_str(), |(_, rest)| rest),
        "url": url,
        "adminUrl": url,
        "isHosted": false,
        "serverType": "ArcGIS",
        "serverRole": "FEDERATED_SERVER",
        "serverFunction": "NotebookServer",
    }]})
}

#[utoipa::path(get, path = "/sharing/rest/portals/self/servers", tag = "sharing",
    summary = "The portal's servers: this notebook server",
    params(FormatQuery, TokenQuery),
    responses(
        (status = 200, description = "One server",
            content((PortalServers = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn servers(State(settings): State<Arc<Settings>>, Caller(_): Caller) -> Result<Reply> {
    Ok(servers_reply(&settings))
}

#[utoipa::path(get, path = "/sharing/rest/portals/{portal}/servers", tag = "sharing",
    summary = "The portal's servers, by portal id",
    params(FormatQuery, TokenQuery,
        ("portal" = String, Path, description = "The portal's id (0123456789ABCDEF)."),),
    responses(
        (status = 200, description = "One server",
            content((PortalServers = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn servers_of(
    State(settings): State<Arc<Settings>>,
    Caller(_): Caller,
    axum::extract::Path(portal): axum::extract::Path<String>,
) -> Result<Reply> {
    if portal != PORTAL_ID {
        return Err(Error::NotFound(format!(
            "Portal '{portal}' does not exist."
        )));
    }
    Ok(servers_reply(&settings))
}

fn servers_reply(settings: &Settings) -> Reply {
    let value = servers_json(settings);
    let page = Page::new("Servers");
    Reply::new(value, async move { Ok(page) })
}

#[utoipa::path(get, path = "/sharing/rest/community/self", tag = "sharing",
    summary = "The signed-in user",
    params(FormatQuery, TokenQuery),
    responses(
        (status = 200, description = "The user",
            content((PortalUser = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn community_self(Caller(caller): Caller) -> Result<Reply> {
    let value = user_json(&caller);
    let page = Page::new("User");
    Ok(Reply::new(value, async move { Ok(page) }))
}

/// A user's profile: the user's own, or any for an administrator.
#[utoipa::path(get, path = "/sharing/rest/community/users/{username}", tag = "sharing",
    summary = "A user's profile: one's own, or any for an administrator",
    params(FormatQuery, TokenQuery,
        ("username" = String, Path, description = "A username."),),
    responses(
        (status = 200, description = "The user",
            content((PortalUser = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn community_user(
    State(service): State<Arc<SignIn>>,
    Caller(caller): Caller,
    Id(username): Id<Username>,
) -> Result<Reply> {
    let user = service.user_profile(&caller, &username).await?;
    let value = user_json(&user);
    let page = Page::new("User");
    Ok(Reply::new(value, async move { Ok(page) }))
}
