//! `generateToken`: a user name and password for a token.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;

use super::caller::{Caller, ClientAddress};
use super::negotiate::{Format, Params, Reply};
use super::path::Id;
use super::schema::{always_true, Operation, SharingError};
use crate::domain::user::Username;
use crate::domain::ParseError;
use crate::error::{Error, Result};
use crate::service::auth::SignIn;
use crate::service::Settings;
use crate::ui::{FieldKind, Form, Page};

// The answers and the form, as the description gives them.

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Token)]
struct TokenOut {
    token: String,
    expires: i64,
    ssl: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Revoked {
    #[schema(schema_with = always_true)]
    success: bool,
    username: String,
    revoked: u64,
}

/// A user name and password for a token.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the form that `generate` reads field by field.
struct TokenFields {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    expiration: String,
    #[serde(default)]
    client: String,
    #[serde(default)]
    f: String,
}

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route("/sharing/rest/generateToken", get(describe).post(generate))
        .route(
            "/sharing/rest/community/users/{username}/revokeTokens",
            post(revoke),
        )
}

/// Revokes every token of a user (the user or an administrator); the
/// user's receivers stop running until they are updated.
#[utoipa::path(post, path = "/sharing/rest/community/users/{username}/revokeTokens", tag = "sharing",
    summary = "Revoke every token of a user (the user or an administrator); the user's receivers stop running until updated",
    params(Format, Caller, Id<Username>),
    responses(
        (status = 200, description = "How many tokens were revoked",
            content((Revoked = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
)]
async fn revoke(
    State(service): State<Arc<SignIn>>,
    Caller(caller): Caller,
    Id(username): Id<Username>,
) -> Result<Reply> {
    let revoked = service.revoke_tokens(&caller, &username).await?;
    let answer = Revoked {
        success: true,
        username: username.as_str().to_string(),
        revoked,
    };
    Reply::new(answer, async move {
        Ok(Page::new(format!("Tokens of {username} revoked")))
    })
}

fn sign_in_form(settings: &Settings) -> Form {
    Form::post(
        "Generate token",
        format!("/{}/sharing/rest/generateToken", settings.context),
    )
    .field(FieldKind::Text, "username", "Username", "")
    .field(FieldKind::Password, "password", "Password", "")
    .field(FieldKind::Text, "expiration", "Expiration (minutes)", "60")
}

/// A GET shows the operation and its form; tokens are only issued on POST
/// so that passwords stay out of URLs and logs.
#[utoipa::path(get, path = "/sharing/rest/generateToken", tag = "sharing",
    summary = "Describe generateToken",
    params(Format),
    responses(
        (status = 200, description = "How to call it",
            content((Operation = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
    security(()),
)]
async fn describe(State(settings): State<Arc<Settings>>) -> Result<Reply> {
    let answer = Operation {
        operation: "generateToken",
        methods: &["POST"],
        parameters: &["username", "password", "expiration", "client", "f"],
    };
    Reply::new(answer, async move {
        Ok(Page::new("Generate token").form(sign_in_form(&settings)))
    })
}

#[utoipa::path(post, path = "/sharing/rest/generateToken", tag = "sharing",
    summary = "Sign in for a token",
    params(Format),
    request_body(content = inline(Option<TokenFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token",
            content((TokenOut = "application/json"), (String = "text/html"))),
        (status = "default", response = SharingError),
    ),
    security(()),
)]
async fn generate(
    State(service): State<Arc<SignIn>>,
    State(settings): State<Arc<Settings>>,
    ClientAddress(from): ClientAddress,
    params: Params,
) -> Result<Reply> {
    let minutes = match params.non_empty("expiration") {
        None => None,
        Some(text) => Some(
            text.trim()
                .parse::<u64>()
                .ok()
                .filter(|m| *m > 0)
                .ok_or_else(|| Error::Invalid {
                    field: "expiration",
                    problem: ParseError::new("must be a whole number of minutes greater than 0"),
                })?,
        ),
    };
    let issued = service
        .generate_token(
            params.get("username").unwrap_or(""),
            params.get("password").unwrap_or(""),
            minutes,
            from,
        )
        .await?;
    let c = settings.context.clone();
    let token = issued.token.expose();
    let encoded: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
    let answer = TokenOut {
        token: token.to_string(),
        expires: issued.expires.0,
        ssl: false,
    };
    // The token is shown once, on the answer to the form itself.
    Ok(Reply::new(answer, async move {
        Ok(Page::new("Token")
            .link(
                "Administrator directory",
                format!("/{c}/admin/notebooks?token={encoded}"),
            )
            .link(
                "Webhook receivers",
                format!("/{c}/admin/notebooks/webhookReceivers?token={encoded}"),
            ))
    })?
    .shown_in_place())
}
