//! The OpenAPI 3.1 description of the whole HTTP surface, generated from
//! the handlers' `#[utoipa::path]` annotations and the wire types they
//! name, served at `/<context>/openapi.json` with this server's URLs.
//! `tests/it/openapi.rs` keeps it in step with the routes.

use std::sync::{Arc, LazyLock};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::schema::{AnyOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Ref, RefOr, Server};
use utoipa::{Modify, OpenApi};

use super::schema::{AdminError, SharingError};
use super::{
    dashboard, directory, events, items, jobs, notices, oauth, portal, receivers, replays, retries,
    runtimes, search, session, system, test_events, tokens, uploads,
};
use crate::service::Settings;

#[derive(OpenApi)]
#[openapi(
    info(description = "Webhook receivers that run Jupyter notebooks: the ArcGIS Notebook Server admin API for receivers, the part of the sharing API they need, event intake and the pages' sessions. Every resource answers f=json, f=pjson or f=html (the default). Errors of the admin and sharing APIs asked for as f=json or f=pjson come with HTTP 200 and the error JSON, its code in the body (400, 403, 404, 498 invalid token, 499 token required, 429...), as ArcGIS Enterprise answers; pages (f=html) and intake answer with the real HTTP status, which the responses below name. Tokens: on GET, the token query parameter, a bearer header or the session cookie; on POST, a token field in the body, a bearer header (Authorization or X-Esri-Authorization) or the session cookie with its csrf field, never the URL. A body over 64 KiB is read only once its caller is known (a header, the cookie, or a token field before the file). Sign-in is refused with code 429 and a Retry-After header past 5 failures a minute for a user name from one address, 30 from one address whatever the names, or 100 for a user name from all addresses (which never holds back an address the name signed in from before)."),
    paths(
        directory::admin_root, directory::admin_root_slash, directory::notebooks_root,
        receivers::list, receivers::create, receivers::fetch, receivers::update,
        receivers::delete, receivers::validate, receivers::enable, receivers::disable,
        test_events::send_test_event,
        replays::replay, replays::cancel, receivers::deliveries,
        jobs::list, jobs::fetch, jobs::notebook, jobs::cancel, jobs::replay, jobs::execute,
        directory::sharing_root, tokens::describe, tokens::generate, tokens::revoke,
        items::list, items::add, items::describe, items::describe_posted, items::data,
        items::update, items::delete,
        uploads::add_part, uploads::commit, uploads::status, uploads::status_posted,
        search::search, search::search_posted, search::users, search::users_posted,
        search::org_users, search::org_users_posted,
        session::sign_in_page, session::sign_in, session::sign_out, session::my_content, session::home,
        events::receive, events::check, describe,
        retries::receiver_policy, retries::update_receiver_policy,
        retries::site_policy, retries::update_site_policy,
        notices::destination, notices::update, notices::list,
        dashboard::site, dashboard::receiver,
        runtimes::list, runtimes::register, runtimes::resource, runtimes::update,
        runtimes::libraries, runtimes::unregister, runtimes::restore, runtimes::validate,
        directory::sharing_root_slash, portal::info, portal::portal_self, portal::servers,
        portal::servers_of, portal::roles, portal::roles_posted, portal::community_self, portal::community_user,
        system::system, system::list, system::fetch, system::cancel, system::delete_all,
        system::info, system::properties, system::update_properties, directory::open_notebook,
        oauth::authorize, oauth::sign_in, oauth::sign_in_rest,
        super::healthz, super::metrics,
    ),
    components(schemas(AdminError, SharingError), responses(AdminError, SharingError)),
    modifiers(&Schemes),
    security(("token" = []), ("bearer" = []), ("esri" = []), ("session" = [])),
)]
struct ApiDoc;

/// The ways a caller shows who it is.
struct Schemes;

impl Modify for Schemes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "A token in the query string: accepted on GET only. On a POST the token goes in the form or multipart body (a field named token), or in a header; a POST whose token is only in the URL is refused with code 499.",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "esri",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Esri-Authorization",
                "Bearer <token>",
            ))),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                super::credentials::SESSION_COOKIE,
                "The pages' session; changes need the csrf field.",
            ))),
        );
    }
}

/// The description, without servers: built once.
static DOCUMENT: LazyLock<Document> = LazyLock::new(|| {
    let mut doc = ApiDoc::openapi();
    for (path, item) in doc.paths.paths.iter_mut() {
        let error = if path.starts_with("/admin") {
            Some("AdminError")
        } else if path.starts_with("/sharing") {
            Some("SharingError")
        } else {
            None
        };
        // A POST carries its token in its body or a header, never its URL
        // (refused with 499): only a GET has the `token` query parameter.
        if let Some(parameters) = item.post.as_mut().and_then(|p| p.parameters.as_mut()) {
            parameters.retain(|p| !(p.name == "token" && p.parameter_in == ParameterIn::Query));
        }
        for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
            if let Some(error) = error {
                errors_as_200(operation, error);
            }
            // The ids would be the handlers' names, which repeat from one
            // resource to the next (`list`, `fetch`): operations have none.
            operation.operation_id = None;
            if let Some(body) = &mut operation.request_body {
                body.content
                    .values_mut()
                    .for_each(|c| not_null(&mut c.schema));
            }
        }
    }
    doc
});

/// Esri's convention: an error asked for as JSON comes with HTTP 200, so
/// the JSON of a 200 answer is the resource or the API's error shape.
fn errors_as_200(operation: &mut utoipa::openapi::path::Operation, error: &str) {
    let Some(RefOr::T(ok)) = operation.responses.responses.get_mut("200") else {
        return;
    };
    let Some(json) = ok.content.get_mut("application/json") else {
        return;
    };
    let Some(answer) = json.schema.take() else {
        return;
    };
    let either = AnyOfBuilder::new()
        .item(answer)
        .item(RefOr::Ref(Ref::from_schema_name(error)))
        .build();
    json.schema = Some(RefOr::T(Schema::AnyOf(either)));
}

/// A body that may be left out (`Option<T>`) is described as "T or null";
/// a form left out is no body at all, never a null, so it is T.
fn not_null(schema: &mut Option<RefOr<Schema>>) {
    let Some(RefOr::T(Schema::OneOf(either))) = schema else {
        return;
    };
    let null = |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
    if let [first, second] = either.items.as_slice() {
        if null(first) {
            *schema = Some(second.clone());
        }
    }
}

/// The description every server serves, without its servers (which name
/// the site): the source of the book's API reference.
pub fn document() -> Document {
    DOCUMENT.clone()
}

pub fn routes() -> Router<super::Site> {
    Router::new().route("/openapi.json", get(describe))
}

#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    summary = "This description",
    responses((status = 200, description = "OpenAPI 3.1", body = Object)),
    security(()),
)]
async fn describe(State(settings): State<Arc<Settings>>) -> Json<Document> {
    let mut doc = DOCUMENT.clone();
    let s = &settings;
    doc.servers = Some(vec![Server::new(format!("{}/{}", s.public_url, s.context))]);
    // Health and metrics live outside the context path.
    for path in ["/healthz", "/metrics"] {
        if let Some(item) = doc.paths.paths.get_mut(path) {
            item.servers = Some(vec![Server::new(s.public_url.clone())]);
        }
    }
    Json(doc)
}
