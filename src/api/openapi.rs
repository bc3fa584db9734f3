//! The OpenAPI 3.1 description of the whole HTTP surface, served at
//! `/<context>/openapi.json` with this server's URLs. `tests/it/openapi.rs`
//! keeps it in step with the routes.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::service::Settings;

const DOCUMENT: &str = include_str!("openapi.json");

pub fn routes() -> Router<super::Site> {
    Router::new().route("/openapi.json", get(describe))
}

async fn describe(State(settings): State<Arc<Settings>>) -> Result<Json<Value>> {
    let mut doc: Value = serde_json::from_str(DOCUMENT)
        .map_err(|e| Error::Internal(anyhow::anyhow!("the OpenAPI document is not JSON: {e}")))?;
    let s = &settings;
    doc["servers"] = json!([{"url": format!("{}/{}", s.public_url, s.context)}]);
    // Health and metrics live outside the context path.
    let outside = json!([{"url": s.public_url}]);
    if let Some(paths) = doc["paths"].as_object_mut() {
        let text = json!({"text/plain": {"schema": {"type": "string"}}});
        for (path, summary, unavailable) in [
            (
                "/healthz",
                "Answers ok while the server runs",
                Some("Deliveries cannot be stored: the database cannot be reached or written (the text says why and for how long)"),
            ),
            ("/metrics", "Prometheus metrics", None),
        ] {
            let mut responses = json!({"200": {"description": summary, "content": text}});
            if let Some(why) = unavailable {
                responses["503"] = json!({"description": why, "content": text});
            }
            paths.insert(
                path.into(),
                json!({
                    "servers": outside,
                    "get": {"summary": summary, "tags": ["meta"], "responses": responses}
                }),
            );
        }
    }
    Ok(Json(doc))
}
