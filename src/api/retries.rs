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
use serde_json::{json, Value};

use super::caller::Caller;
use super::negotiate::{Params, Reply};
use super::path::Id;
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

fn policy_json(p: &RetryPolicy) -> Value {
    json!({
        "maxAttempts": p.max_attempts(),
        "delaySeconds": p.delay_seconds(),
        "backoffFactor": p.backoff_factor(),
        "maxDelaySeconds": p.max_delay_seconds(),
        "retryOn": p.retry_on().iter().map(|f| f.as_str()).collect::<Vec<_>>(),
    })
}

fn scoped_json(s: &ScopedPolicy) -> Value {
    let mut v = policy_json(&s.policy);
    v["inherited"] = json!(s.scope == PolicyScope::Site);
    v
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
    let retry_on = match params.get("retryOn") {
        None => current.retry_on().to_vec(),
        Some(list) => Failure::parse_list(list).map_err(Error::invalid("retryOn"))?,
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

async fn receiver_policy(
    State(service): State<Arc<Retries>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    Id(id): Id<ReceiverId>,
) -> Result<Reply> {
    let scoped = service.receiver_retry_policy(&caller, &id).await?;
    Ok(Reply::new(
        scoped_json(&scoped),
        receiver_page(service, settings.clone(), caller, id),
    ))
}

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
    let mut value = scoped_json(&scoped);
    value["status"] = json!("success");
    Ok(Reply::new(
        value,
        receiver_page(service, settings.clone(), caller, id),
    ))
}

async fn site_page(service: Arc<Retries>, settings: Arc<Settings>, caller: User) -> Result<Page> {
    let policy = service.site_retry_policy().await?;
    Ok(site_policy_page(
        &super::urls(&settings),
        &policy,
        caller.is_admin(),
    ))
}

async fn site_policy(
    State(service): State<Arc<Retries>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
) -> Result<Reply> {
    let policy = service.site_retry_policy().await?;
    Ok(Reply::new(
        policy_json(&policy),
        site_page(service, settings.clone(), caller),
    ))
}

async fn update_site_policy(
    State(service): State<Arc<Retries>>,
    State(settings): State<Arc<Settings>>,
    Caller(caller): Caller,
    params: Params,
) -> Result<Reply> {
    let policy = service
        .set_site_retry_policy(&caller, |current| changed(&params, current))
        .await?;
    let mut value = policy_json(&policy);
    value["status"] = json!("success");
    Ok(Reply::new(
        value,
        site_page(service, settings.clone(), caller),
    ))
}
