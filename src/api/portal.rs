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
use serde::Serialize;

use super::caller::Caller;
use super::directory::API_VERSION;
use super::negotiate::{Format, Reply};
use super::path::Id;
use super::schema::SharingError;
use crate::domain::user::{Privilege, Role, User, Username};
use crate::error::{Error, Result};
use crate::service::auth::SignIn;
use crate::service::Settings;
use crate::ui::Page;

pub use crate::domain::search::PORTAL_ID;

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route("/sharing/rest/info", get(info))
        .route("/sharing/rest/portals/self", get(portal_self))
        .route("/sharing/rest/portals/self/servers", get(servers))
        // POST too: the ArcGIS API for Python posts it when it signs in.
        .route(
            "/sharing/rest/portals/self/roles",
            get(roles).post(roles_posted),
        )
        .route("/sharing/rest/portals/{portal}/servers", get(servers_of))
        .route("/sharing/rest/community/self", get(community_self))
        .route(
            "/sharing/rest/community/users/{username}",
            get(community_user),
        )
}

// The answers, as the description gives them.

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct PortalInfo {
    owning_system_url: String,
    #[schema(inline)]
    auth_info: AuthInfo,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct AuthInfo {
    token_services_url: String,
    is_token_based_security: bool,
}

/// A user as the portal describes one: Esri's role and privilege strings,
/// with hookbook's own beside them.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct PortalUser {
    username: String,
    full_name: String,
    id: String,
    org_id: &'static str,
    #[schema(inline)]
    role: EsriRole,
    #[schema(inline)]
    role_id: EsriRole,
    #[schema(inline)]
    hookbook_role: HookbookRole,
    privileges: Vec<&'static str>,
    user_license_type_id: &'static str,
    level: &'static str,
    access: &'static str,
    /// Always empty: there are no groups here.
    groups: Vec<String>,
}

impl From<&User> for PortalUser {
    fn from(user: &User) -> Self {
        let (role, esri_role) = match user.role {
            Role::Administrator => (HookbookRole::Administrator, EsriRole::OrgAdmin),
            Role::User => (HookbookRole::User, EsriRole::OrgUser),
        };
        let mut privileges: Vec<&str> = Vec::new();
        if user.is_admin() || user.privileges.contains(&Privilege::NotebooksCreate) {
            privileges.push("premium:user:createNotebooks");
        }
        privileges.extend(user.privileges.iter().map(|p| p.as_str()));
        Self {
            username: user.username.as_str().to_string(),
            full_name: user.username.as_str().to_string(),
            id: user.username.as_str().to_string(),
            org_id: PORTAL_ID,
            role: esri_role,
            role_id: esri_role,
            hookbook_role: role,
            privileges,
            user_license_type_id: "creatorUT",
            level: "2",
            access: "org",
            groups: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum EsriRole {
    OrgAdmin,
    OrgUser,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum HookbookRole {
    Administrator,
    User,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Portal {
    id: &'static str,
    name: &'static str,
    portal_name: &'static str,
    portal_hostname: String,
    custom_base_url: String,
    is_portal: bool,
    portal_mode: &'static str,
    current_version: &'static str,
    #[serde(rename = "allSSL")]
    all_ssl: bool,
    #[serde(rename = "supportsOAuth")]
    supports_oauth: bool,
    #[schema(inline)]
    helper_services: HelperServices,
    /// The signed-in user, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    user: Option<PortalUser>,
}

/// None: an empty object.
#[derive(Serialize, utoipa::ToSchema)]
struct HelperServices {}

#[derive(Serialize, utoipa::ToSchema)]
struct PortalServers {
    #[schema(inline)]
    servers: Vec<PortalServer>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct PortalServer {
    id: &'static str,
    name: String,
    url: String,
    admin_url: String,
    server_type: &'static str,
    server_role: &'static str,
    server_function: &'static str,
    is_hosted: bool,
}

/// This site's portal URL: its public URL and context path.
fn portal_url(settings: &Settings) -> String {
    format!("{}/{}", settings.public_url, settings.context)
}

/// Where tokens are made, and that this portal uses them.
#[utoipa::path(get, path = "/sharing/rest/info", tag = "sharing",
    summary = "Where tokens are made",
    params(Format),
    responses(
        (status = 200, description = "The portal's URL and its token service",
            content((PortalInfo = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
    security(()),
)]
async fn info(State(settings): State<Arc<Settings>>) -> Result<Reply> {
    let portal = portal_url(&settings);
    let answer = PortalInfo {
        auth_info: AuthInfo {
            token_services_url: format!("{portal}/sharing/rest/generateToken"),
            is_token_based_security: true,
        },
        owning_system_url: portal,
    };
    let page = Page::new("Server information");
    Reply::new(answer, async move { Ok(page) })
}

/// The portal: its name and version, and the signed-in user, if any.
#[utoipa::path(get, path = "/sharing/rest/portals/self", tag = "sharing",
    summary = "The portal, and the signed-in user if any",
    params(Format, Caller),
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
    let answer = Portal {
        id: PORTAL_ID,
        name: "hookbook",
        portal_name: "hookbook",
        portal_hostname: host,
        custom_base_url: settings.context.clone(),
        is_portal: true,
        portal_mode: "singletenant",
        current_version: API_VERSION,
        all_ssl: https,
        supports_oauth: false,
        helper_services: HelperServices {},
        user: user.as_ref().map(PortalUser::from),
    };
    let page = Page::new("Portal");
    Reply::new(answer, async move { Ok(page) })
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
fn servers_of_portal(settings: &Settings) -> PortalServers {
    let url = portal_url(settings);
    let server = PortalServer {
        id: "hookbook",
        name: url
            .split_once("://")
            .map_or(url.as_str(), |(_, rest)| rest)
            .to_string(),
        admin_url: url.clone(),
        url,
        server_type: "ArcGIS",
        server_role: "FEDERATED_SERVER",
        server_function: "NotebookServer",
        is_hosted: false,
    };
    PortalServers {
        servers: vec![server],
    }
}

#[utoipa::path(get, path = "/sharing/rest/portals/self/servers", tag = "sharing",
    summary = "The portal's servers: this notebook server",
    params(Format, Caller),
    responses(
        (status = 200, description = "One server",
            content((PortalServers = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn servers(State(settings): State<Arc<Settings>>, Caller(_): Caller) -> Result<Reply> {
    servers_reply(&settings)
}

#[utoipa::path(get, path = "/sharing/rest/portals/{portal}/servers", tag = "sharing",
    summary = "The portal's servers, by portal id",
    params(Format, Caller,
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
    servers_reply(&settings)
}

fn servers_reply(settings: &Settings) -> Result<Reply> {
    let page = Page::new("Servers");
    Reply::new(servers_of_portal(settings), async move { Ok(page) })
}

#[utoipa::path(get, path = "/sharing/rest/community/self", tag = "sharing",
    summary = "The signed-in user",
    params(Format, Caller),
    responses(
        (status = 200, description = "The user",
            content((PortalUser = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn community_self(Caller(caller): Caller) -> Result<Reply> {
    let page = Page::new("User");
    Reply::new(PortalUser::from(&caller), async move { Ok(page) })
}

/// The organization's custom roles: none (hookbook's roles are Esri's
/// built-in administrator and user, named on each user).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Roles {
    total: u32,
    start: u32,
    num: u32,
    next_start: i32,
    roles: Vec<serde_json::Value>,
}

#[utoipa::path(get, path = "/sharing/rest/portals/self/roles", tag = "sharing",
    summary = "The organization's custom roles: none",
    params(Format, Caller),
    responses(
        (status = 200, description = "No custom roles",
            content((Roles = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn roles(Caller(_): Caller) -> Result<Reply> {
    let answer = Roles {
        total: 0,
        start: 1,
        num: 0,
        next_start: -1,
        roles: Vec::new(),
    };
    Reply::new(answer, async move { Ok(Page::new("Custom roles")) })
}

#[utoipa::path(post, path = "/sharing/rest/portals/self/roles", tag = "sharing",
    summary = "The organization's custom roles: none (POST, as the ArcGIS API for Python asks)",
    params(Format, Caller),
    request_body(content = inline(Option<super::schema::CallerFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "No custom roles",
            content((Roles = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn roles_posted(caller: Caller) -> Result<Reply> {
    roles(caller).await
}

/// A user's profile: the user's own, or any for an administrator.
#[utoipa::path(get, path = "/sharing/rest/community/users/{username}", tag = "sharing",
    summary = "A user's profile: one's own, or any for an administrator",
    params(Format, Caller, Id<Username>),
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
    let page = Page::new("User");
    Reply::new(PortalUser::from(&user), async move { Ok(page) })
}
