//! The OpenAPI 3.1 description of the whole HTTP surface, served at
//! `/<context>/openapi.json` with this server's URLs. `tests/openapi.rs`
//! keeps it in step with the routes.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::service::App;

const DOCUMENT: &str = include_str!("openapi.json");

pub fn routes() -> Router<super::Site> {
    Router::new().route("/openapi.json", get(describe))
}

async fn describe(State(app): State<Arc<App>>) -> Result<Json<Value>> {
    let mut doc: Value = serde_json::from_str(DOCUMENT)
        .map_err(|e| Error::Internal(anyhow::anyhow!("the OpenAPI document is not JSON: {e}")))?;
    let s = &app.settings;
    doc["servers"] = json!([{"url": format!("{}/{}", s.public_url, s.context)}]);
    // Health and metrics live outside the context path.
    let outside = json!([{"url": s.public_url}]);
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, summary, kind) in [
            ("/healthz", "Answers ok while the server runs", "text/plain"),
            ("/metrics", "Prometheus metrics", "text/plain"),
        ] {
            paths.insert(
                path.into(),
                json!({
                    "servers": outside,
                    "get": {"summary": summary, "tags": ["meta"], "responses": {"200": {
                        "description": summary,
                        "content": {kind: {"schema": {"type": "string"}}}
                    }}}
                }),
            );
        }
    }
    Ok(Json(doc))
}
