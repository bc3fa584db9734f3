//! Runs as the run suites drive them: a server with a receiver of a
//! notebook, signed deliveries, and the executed notebooks they produce.

use serde_json::{json, Value};

use super::events::esri;
use super::{spawn_app_in, TestApp, SECRET};

pub const JOBS: &str = "/notebooks/admin/notebooks/jobs";

/// A notebook with a parameters cell, then `cells`.
pub fn notebook(cells: &[&str]) -> String {
    let mut all = vec![
        json!({"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "source": "layer = 'default'", "outputs": [], "execution_count": null}),
    ];
    for (i, c) in cells.iter().enumerate() {
        all.push(json!({"cell_type": "code", "id": format!("c{i}"), "metadata": {}, "source": c, "outputs": [], "execution_count": null}));
    }
    json!({"cells": all, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).to_string()
}

/// A server (one run at a time unless `extra` says otherwise) with an
/// administrator and a receiver of the notebook.
pub struct Setup {
    pub app: TestApp,
    pub token: String,
    pub url: String,
}

pub async fn setup(cells: &[&str], extra: &[&str]) -> Setup {
    let mut flags = if extra.contains(&"--max-concurrent-runs") {
        vec![]
    } else {
        vec!["--max-concurrent-runs", "1"]
    };
    flags.extend_from_slice(extra);
    let app = spawn_app_in(tempfile::tempdir().unwrap(), &flags).await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let r = app
        .post_form(
            "/notebooks/sharing/rest/content/users/admin/addItem",
            Some(&token),
            &[("title", "run"), ("text", &notebook(cells))],
        )
        .await;
    let item = r.json["id"].as_str().unwrap().to_string();
    let r = app
        .create_receiver(
            &token,
            &[
                ("name", "r"),
                ("itemId", &item),
                ("secret", SECRET),
                ("signatureHeaders", "x-esrihook-signature"),
                (
                    "parameters",
                    r#"{"layer": "roads", "limit": 1.0, "flag": null}"#,
                ),
            ],
        )
        .await;
    let url = r.json["webhookReceiver"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    Setup { app, token, url }
}

/// Posts a signed delivery and returns its job id.
pub async fn deliver(s: &Setup, body: &str, content_type: &str) -> String {
    let r = s
        .app
        .client
        .post(&s.url)
        .header("x-esrihook-signature", esri(body.as_bytes()))
        .header("content-type", content_type)
        .header("x-custom", "yes")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    super::events::job_id(r).await
}

/// Waits (bounded) until the job reaches a final state.
pub async fn finished(s: &Setup, job: &str) -> Value {
    super::jobs::finished(&s.app, &s.token, job).await
}

/// The executed notebook of a job.
pub async fn executed(s: &Setup, job: &str) -> Value {
    let r = s
        .app
        .client
        .get(s.app.url(&format!("{JOBS}/{job}/notebook")))
        .query(&[("token", &s.token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// What a cell printed.
pub fn stdout(nb: &Value, cell: usize) -> String {
    nb["cells"][cell]["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["output_type"] == "stream")
        .map(|o| o["text"].as_str().unwrap().to_string())
        .collect()
}
