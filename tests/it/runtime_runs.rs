//! Notebooks run in the runtime they name (`esriNotebookRuntime`), built
//! for real with uv from PyPI, inside the same sandbox as every run: a
//! notebook naming a runtime with `six`, sent while the runtime is still
//! being built, waits for it and imports it (from `executeNotebook` and
//! from a signed webhook to its receiver); the same notebook naming no
//! runtime fails that import in the default environment, unless
//! `executeNotebook` names the runtime (`notebookRuntimeId`); a notebook
//! naming a runtime the site does not have fails saying which, unless the
//! operator mapped that name to another (`--runtime-alias`).

use crate::common::jobs::finished;
use crate::common::{spawn_app_in, TestApp};
use serde_json::{json, Value};

const RUNTIMES: &str = "/notebooks/admin/notebooks/runtimes";

/// A notebook printing six's version, naming `runtime` when given.
fn notebook(runtime: Option<&str>) -> String {
    let mut metadata = json!({"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}});
    if let Some(name) = runtime {
        metadata["esriNotebookRuntime"] =
            json!({"notebookRuntimeName": name, "notebookRuntimeVersion": "11.0"});
    }
    json!({
        "cells": [{"cell_type": "code", "id": "a", "metadata": {}, "execution_count": null,
                   "outputs": [], "source": "import six\nprint('six', six.__version__)"}],
        "metadata": metadata, "nbformat": 4, "nbformat_minor": 5
    })
    .to_string()
}

/// Runs `text` as an item of the admin's; the job's id and its resource
/// once finished.
async fn run(app: &TestApp, token: &str, text: &str) -> (String, Value) {
    run_with(app, token, text, &[]).await
}

/// Like [`run`], with more `executeNotebook` fields.
async fn run_with(
    app: &TestApp,
    token: &str,
    text: &str,
    more: &[(&str, &str)],
) -> (String, Value) {
    let item = app
        .post_form(
            "/notebooks/sharing/rest/content/users/admin/addItem",
            Some(token),
            &[("type", "Notebook"), ("title", "Runtime"), ("text", text)],
        )
        .await;
    assert_eq!(item.status, 200, "{}", item.json);
    let mut fields = vec![("itemId", item.json["id"].as_str().unwrap())];
    fields.extend_from_slice(more);
    let r = app
        .post_form(
            "/notebooks/admin/notebooks/executeNotebook",
            Some(token),
            &fields,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let job = r.json["jobId"].as_str().unwrap().to_string();
    let done = finished(app, token, &job).await;
    (job, done)
}

fn messages(job: &Value) -> String {
    job["messages"].to_string()
}

#[tokio::test]
async fn a_notebook_runs_in_the_runtime_it_names_and_fails_clearly_on_one_the_site_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let alias = "ArcGIS Notebook Python 3 Advanced=Default";
    let app = spawn_app_in(
        dir,
        &["--max-concurrent-runs", "1", "--runtime-alias", alias],
    )
    .await;
    let cast = app.cast().await;
    let r = app
        .post_form(
            &format!("{RUNTIMES}/register"),
            Some(&cast.admin),
            &[("name", "Six Runtime"), ("requirements", "six==1.16.0")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let id = r.json["id"].as_str().unwrap().to_string();
    // Sent at once: the run waits for the runtime's build.
    let (job, in_runtime) = run(&app, &cast.admin, &notebook(Some("six runtime"))).await;
    assert_eq!(in_runtime["status"], "COMPLETED", "{in_runtime}");
    let executed: Value = app
        .client
        .get(app.url(&format!("/notebooks/admin/notebooks/jobs/{job}/notebook")))
        .query(&[("token", &cast.admin)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(executed.to_string().contains("six 1.16.0"), "{executed}");
    let state = app
        .get(&format!("{RUNTIMES}/{id}"), Some(&cast.admin))
        .await
        .json;
    assert_eq!(state["state"], "ready", "{state}");

    let (_, default) = run(&app, &cast.admin, &notebook(None)).await;
    assert_eq!(default["status"], "FAILED", "{default}");
    assert!(
        messages(&default).contains("No module named 'six'"),
        "{default}"
    );

    // A receiver's runs use its notebook's runtime too.
    let item = app
        .post_form(
            "/notebooks/sharing/rest/content/users/admin/addItem",
            Some(&cast.admin),
            &[
                ("type", "Notebook"),
                ("title", "Hooked"),
                ("text", &notebook(Some("Six Runtime"))),
            ],
        )
        .await;
    let receiver = app
        .receiver_on(&cast.admin, item.json["id"].as_str().unwrap())
        .await;
    let body = crate::common::events::BODY.as_bytes();
    let (status, _, answer) = crate::common::events::post(
        &app,
        &app.url(&format!("/notebooks/rest/events/webhooks/{receiver}")),
        &[
            ("x-esrihook-signature", &crate::common::events::esri(body)),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let hooked = finished(&app, &cast.admin, answer["jobId"].as_str().unwrap()).await;
    assert_eq!(hooked["status"], "COMPLETED", "{hooked}");

    // executeNotebook's notebookRuntimeId wins over the notebook's own.
    let (_, chosen) = run_with(
        &app,
        &cast.admin,
        &notebook(None),
        &[("notebookRuntimeId", &id)],
    )
    .await;
    assert_eq!(chosen["status"], "COMPLETED", "{chosen}");
    let item = app
        .post_form(
            "/notebooks/sharing/rest/content/users/admin/addItem",
            Some(&cast.admin),
            &[
                ("type", "Notebook"),
                ("title", "Runtime"),
                ("text", &notebook(None)),
            ],
        )
        .await;
    let unknown = app
        .post_form(
            "/notebooks/admin/notebooks/executeNotebook",
            Some(&cast.admin),
            &[
                ("itemId", item.json["id"].as_str().unwrap()),
                ("notebookRuntimeId", "0123456789abcdef0123456789abcdef"),
            ],
        )
        .await;
    assert_eq!(unknown.status, 400, "{}", unknown.json);
    assert!(
        unknown.json.to_string().contains("notebookRuntimeId"),
        "{}",
        unknown.json
    );

    // Mapped by the operator to the default environment: it runs there
    // (and so lacks six).
    let (_, mapped) = run(
        &app,
        &cast.admin,
        &notebook(Some("arcgis notebook python 3 advanced")),
    )
    .await;
    assert_eq!(mapped["status"], "FAILED", "{mapped}");
    assert!(
        messages(&mapped).contains("No module named 'six'"),
        "{mapped}"
    );

    let (_, missing) = run(
        &app,
        &cast.admin,
        &notebook(Some("ArcGIS Notebook Python 3 Standard")),
    )
    .await;
    assert_eq!(missing["status"], "FAILED", "{missing}");
    assert!(
        messages(&missing).contains("no runtime named 'ArcGIS Notebook Python 3 Standard'"),
        "{missing}"
    );
    app.stop().await;
}
