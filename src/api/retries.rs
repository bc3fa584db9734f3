//! Retry policies: `GET /C/admin/notebooks/webhookReceivers/{id}/retryPolicy`
//! (the policy the receiver's jobs follow, its own or the site's) and
//! `.../retryPolicy/update` (fields to change, or `inherit=true` to follow
//! the site's again); `GET /C/admin/notebooks/retryPolicy` and
//! `.../retryPolicy/update` for the site's. The receiver's own JSON is
//! untouched.

use crate::domain::retry::{PolicyScope, ScopedPolicy};

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;

use super::caller::Caller;
use super::negotiate::{Format, Params, Reply};
use super::path::Id;
use super::schema::{AdminError, Succeeded};
use crate::domain::ids::ReceiverId;
use crate::domain::receiver::parse_flag;
use crate::domain::retry::{Failure, RetryPolicy};
use crate::domain::user::User;
use crate::domain::ParseError;
use crate::error::{Error, Result};
use crate::service::retries::Retries;
use crate::service::Settings;

use crate::ui::pages::retries::{receiver_policy_page, site_policy_page};
use crate::ui::Page;

pub fn routes() -> Router<super::Site> {
    Router::new()
        .route(
            "/admin/notebooks/webhookReceivers/{id}/retryPolicy",
            get(receiver_policy),
        )
        .route(
            "/admin/notebooks/webhookReceivers/{id}/retryPolicy/update",
            post(update_receiver_policy),
        )
        .route("/admin/notebooks/retryPolicy", get(site_policy))
        .route(
            "/admin/notebooks/retryPolicy/update",
            post(update_site_policy),
        )
}

// The answers and the forms, as the description gives them.

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = RetryPolicy)]
struct PolicyOut {
    #[schema(minimum = 1, maximum = 10)]
    max_attempts: u32,
    delay_seconds: u32,
    #[schema(minimum = 1, maximum = 10)]
    backoff_factor: f64,
    max_delay_seconds: u32,
    #[schema(inline)]
    retry_on: Vec<Retried>,
}

impl From<&RetryPolicy> for PolicyOut {
    fn from(p: &RetryPolicy) -> Self {
        Self {
            max_attempts: p.max_attempts(),
            delay_seconds: p.delay_seconds(),
            backoff_factor: p.backoff_factor(),
            max_delay_seconds: p.max_delay_seconds(),
            retry_on: p.retry_on().iter().map(|&f| f.into()).collect(),
        }
    }
}

/// A kind of failure a policy may retry.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
enum Retried {
    Error,
    Timeout,
    LostNode,
}

impl From<Failure> for Retried {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Error => Retried::Error,
            Failure::Timeout => Retried::Timeout,
            Failure::LostNode => Retried::LostNode,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct ReceiverRetryPolicy {
    #[serde(flatten)]
    policy: PolicyOut,
    /// True when the receiver follows the site's policy.
    inherited: bool,
}

impl From<&ScopedPolicy> for ReceiverRetryPolicy {
    fn from(s: &ScopedPolicy) -> Self {
        Self {
            policy: PolicyOut::from(&s.policy),
            inherited: s.scope == PolicyScope::Site,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct RetryPolicyChanged {
    #[serde(flatten)]
    policy: PolicyOut,
    #[schema(inline)]
    status: Succeeded,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ReceiverRetryPolicyChanged {
    #[serde(flatten)]
    policy: ReceiverRetryPolicy,
    #[schema(inline)]
    status: Succeeded,
}

/// The fields of a policy to change; one left out keeps its value.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes the form that `changed` reads field by field.
struct PolicyFields {
    #[serde(default)]
    max_attempts: String,
    #[serde(default)]
    delay_seconds: String,
    #[serde(default)]
    backoff_factor: String,
    #[serde(default)]
    max_delay_seconds: String,
    #[serde(default)]
    retry_on: String,
    #[serde(default)]
    f: String,
    #[serde(default)]
    token: String,
}

/// A receiver's policy fields, or `inherit=true` to follow the site's.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes the form that `update_receiver_policy` reads field by field.
struct ReceiverPolicyFields {
    #[serde(default)]
    max_attempts: String,
    #[serde(default)]
    delay_seconds: String,
    #[serde(default)]
    backoff_factor: String,
    #[serde(default)]
    max_delay_seconds: String,
    #[serde(default)]
    retry_on: String,
    #[serde(default)]
    inherit: String,
    #[serde(default)]
    f: String,
    #[serde(default)]
    token: String,
}

/// The fields of a policy, described once for both forms.
macro_rules! policy_fields {
    () => {
        "Fields: `maxAttempts` (1, no retries, to 10), `delaySeconds` (the wait before the second attempt, 0 to 604800), `backoffFactor` (each later wait is the one before times this, 1 to 10), `maxDelaySeconds` (the longest wait, from delaySeconds to 604800), `retryOn` (which failures get another attempt: `error` (an exception, a lost kernel, the disk budget), `timeout`, `lostNode`; commas between, or a JSON list; empty retries nothing). A field left out keeps its value."
    };
}

/// `current` with the fields the request gives changed; a field left out
/// keeps its value, and an empty `retryOn` retries nothing.
fn changed(params: &Params, current: &RetryPolicy) -> Result<RetryPolicy> {
    let whole = |field: &'static str, now: u32| -> Result<u32> {
        params.non_empty(field).map_or(Ok(now), |t| {
            t.trim().parse::<u32>().map_err(|_| Error::Invalid {
                field,
                problem: ParseError::new("must be a whole number of zero or more"),
            })
        })
    };
    let factor = match params.non_empty("backoffFactor") {
        None => current.backoff_factor(),
        Some(t) => t.trim().parse::<f64>().map_err(|_| Error::Invalid {
            field: "backoffFactor",
            problem: ParseError::new("must be a number from 1 to 10"),
        })?,
    };
    // A page's boxes post the field once each (and once empty, so that
    // none ticked retries nothing); the API sends one list.
    let retry_on = match params.get("retryOn") {
        None => current.retry_on().to_vec(),
        Some(_) => {
            let given: Vec<&str> = params
                .all("retryOn")
                .filter(|v| !v.trim().is_empty())
                .collect();
            Failure::parse_list(&given.join(",")).map_err(Error::invalid("retryOn"))?
        }
    };
    RetryPolicy::new(
        whole("maxAttempts", current.max_attempts())?,
        whole("delaySeconds", current.delay_seconds())?,
        factor,
        whole("maxDelaySeconds", current.max_delay_seconds())?,
        retry_on,
    )
    .map_err(|(field, problem)| Error::Invalid { field, problem })
}

async fn receiver_page(
    service: Arc<Retries>,
    settings: Arc<Settings>,
    caller: User,
    id: ReceiverId,
) -> Result<Page> {
    let (receiver, scoped) = service.receiver_and_policy(&caller, &id).await?;
    Ok(receiver_policy_page(
        &super::urls(&settings),
        &id,
        receiver.name.as_str(),
        &scoped.policy,
        scoped.scope == PolicyScope::Site,
    ))
}

#[utoipa::path(get, path = "/admin/notebooks/webhookReceivers/{id}/retryPolicy", tag = "admin",
    summary = "The retry policy a receiver's jobs follow",
    description = "Owners of the receiver and administrators. The receiver's own policy, or the site's when it has none (`inherited`: true).",
    params(Format, Caller, Id<ReceiverId>),
    responses(
        (status = 200, description = "Done",
            content((ReceiverRetryPolicy = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn receiver_policy(
    State(service): State<Arc<Retries>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    let scoped = service.receiver_retry_policy(&caller, &id).await?;
    Reply::new(
        ReceiverRetryPolicy::from(&scoped),
        receiver_page(service, settings.clone(), caller, id),
    )
}

#[utoipa::path(post, path = "/admin/notebooks/webhookReceivers/{id}/retryPolicy/update", tag = "admin",
    summary = "Change a receiver's retry policy",
    description = concat!(
        "Owners of the receiver and administrators. Gives the receiver a policy of its own, starting from the one it follows now; `inherit=true` removes its own so that it follows the site's again. ",
        policy_fields!()
    ),
    params(Format, Caller, Id<ReceiverId>),
    request_body(content = inline(Option<ReceiverPolicyFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Done",
            content((ReceiverRetryPolicyChanged = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn update_receiver_policy(
    State(service): State<Arc<Retries>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
    params: Params,
) -> Result<Reply> {
    let inherit = params
        .non_empty("inherit")
        .map(parse_flag)
        .transpose()
        .map_err(Error::invalid("inherit"))?
        .unwrap_or(false);
    let scoped = service
        .set_receiver_retry_policy(&caller, &id, |current| {
            (!inherit).then(|| changed(&params, current)).transpose()
        })
        .await?;
    let answer = ReceiverRetryPolicyChanged {
        policy: ReceiverRetryPolicy::from(&scoped),
        status: Succeeded::Success,
    };
    Reply::new(answer, receiver_page(service, settings.clone(), caller, id))
}

async fn site_page(service: Arc<Retries>, settings: Arc<Settings>, caller: User) -> Result<Page> {
    let policy = service.site_retry_policy().await?;
    Ok(site_policy_page(
        &super::urls(&settings),
        &policy,
        caller.is_admin(),
    ))
}

#[utoipa::path(get, path = "/admin/notebooks/retryPolicy", tag = "admin",
    summary = "The site's retry policy",
    description = "Anyone signed in. The policy of every job whose receiver has none of its own, and of executeNotebook jobs. Until changed: 2 attempts, retrying only a job whose node was lost, at once.",
    params(Format, Caller),
    responses(
        (status = 200, description = "Done",
            content((PolicyOut = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn site_policy(
    State(service): State<Arc<Retries>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
) -> Result<Reply> {
    let policy = service.site_retry_policy().await?;
    Reply::new(
        PolicyOut::from(&policy),
        site_page(service, settings.clone(), caller),
    )
}

#[utoipa::path(post, path = "/admin/notebooks/retryPolicy/update", tag = "admin",
    summary = "Change the site's retry policy",
    description = concat!("Administrators only. ", policy_fields!()),
    params(Format, Caller),
    request_body(content = inline(Option<PolicyFields>), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Done",
            content((RetryPolicyChanged = "application/json"), (String = "text/html"))),
        (status = "default", response = AdminError),
    ),
)]
async fn update_site_policy(
    State(service): State<Arc<Retries>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let policy = service
        .set_site_retry_policy(&caller, |current| changed(&params, current))
        .await?;
    let answer = RetryPolicyChanged {
        policy: PolicyOut::from(&policy),
        status: Succeeded::Success,
    };
    Reply::new(answer, site_page(service, settings.clone(), caller))
}
