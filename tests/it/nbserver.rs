//! The Notebook Server resources as Esri's 11.4 pages shape them: jobs with
//! Esri's fields, `system/jobs/deleteAll`, `executeNotebook`'s defaults
//! (the item gets the executed notebook) and every form of its
//! `notebookParameters`, runtimes' `maxCPU`, `restore` and
//! `validateRuntimes`, `admin/info`, `system/properties`, the notebooks
//! resource and the refused `openNotebook`. Errors are read from the body
//! (`code`, `messages`), never from the HTTP status.

use crate::common::runs::{finished, setup, JOBS};
use crate::common::{spawn_app, spawn_app_in, TestApp};
use serde_json::{json, Value};

const ADMIN: &str = "/notebooks/admin";
const RUNTIMES: &str = "/notebooks/admin/notebooks/runtimes";
const EXECUTE: &str = "/notebooks/admin/notebooks/executeNotebook";

/// The first message of an admin error, which must carry `code`.
fn refusal(r: &crate::common::Reply, code: u64) -> String {
    assert_eq!(r.json["status"], "error", "{}", r.json);
    assert_eq!(r.json["code"].as_u64(), Some(code), "{}", r.json);
    r.json["messages"][0]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The id of `username`'s first item.
async fn first_item(app: &TestApp, token: &str, username: &str) -> String {
    let items = app
        .get(
            &format!("/notebooks/sharing/rest/content/users/{username}"),
            Some(token),
        )
        .await;
    items.json["items"][0]["id"].as_str().unwrap().to_string()
}

/// The printed text of a code cell.
fn printed(cell: &Value) -> String {
    cell["outputs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| {
            o["text"].as_str().map(str::to_string).or_else(|| {
                o["text"]
                    .as_array()
                    .map(|parts| parts.iter().filter_map(Value::as_str).collect::<String>())
            })
        })
        .collect()
}

#[tokio::test]
async fn execute_notebook_saves_the_executed_notebook_into_its_item_by_default() {
    let s = setup(&["print(layer * 2)"], &[]).await;
    let item = first_item(&s.app, &s.token, "admin").await;
    // The pairs without their braces, as the ArcGIS API for Python
    // describes them.
    let r = s
        .app
        .post_form(
            EXECUTE,
            Some(&s.token),
            &[("itemId", &item), ("notebookParameters", r#""layer": 21"#)],
        )
        .await;
    let job = r.json["jobId"].as_str().expect("a job").to_string();
    let j = finished(&s, &job).await;
    assert_eq!(j["status"], "COMPLETED", "{j}");
    assert_eq!(j["inputs"]["updatePortalItem"], true, "{j}");
    assert_eq!(j["inputs"]["saveInjectedParameters"], false, "{j}");
    assert_eq!(j["inputs"]["notebookParameters"], json!({"layer": 21}));
    // Esri's fields beside hookbook's.
    assert_eq!(j["name"], "executeNotebook");
    assert_eq!(j["id"], job.as_str());
    assert_eq!(j["dateCreated"], j["submitted"]);
    assert_eq!(j["revision"], j["endTime"]);
    assert!(j["url"].as_str().unwrap().ends_with(&job), "{j}");
    assert_eq!(j["notebookRuntimeName"], "Default", "{j}");
    assert_eq!(j["notebookRuntimeId"], Value::Null);

    let data = s
        .app
        .get(
            &format!("/notebooks/sharing/rest/content/items/{item}/data"),
            Some(&s.token),
        )
        .await
        .json;
    let cells = data["cells"].as_array().expect("the item is a notebook");
    assert!(
        cells
            .iter()
            .all(|c| c["metadata"]["tags"][0] != "injected-parameters"),
        "the item keeps its own parameters: {data}"
    );
    assert_eq!(printed(cells.last().unwrap()), "42\n", "{data}");

    // Every other form reads as the same object; false leaves the item be.
    for form in [
        r#"{"layer": 1}"#,
        r#"["\"layer\": 1"]"#,
        r#"[{"name": "layer", "value": 1}]"#,
        r#"[{"layer": 1}]"#,
    ] {
        let r = s
            .app
            .post_form(
                EXECUTE,
                Some(&s.token),
                &[
                    ("itemId", &item),
                    ("notebookParameters", form),
                    ("updatePortalItem", "false"),
                ],
            )
            .await;
        let job = r.json["jobId"].as_str().expect("a job").to_string();
        let j = finished(&s, &job).await;
        assert_eq!(
            j["inputs"]["notebookParameters"],
            json!({"layer": 1}),
            "{form}"
        );
    }
    let again = s
        .app
        .get(
            &format!("/notebooks/sharing/rest/content/items/{item}/data"),
            Some(&s.token),
        )
        .await
        .json;
    assert_eq!(
        printed(again["cells"].as_array().unwrap().last().unwrap()),
        "42\n"
    );

    let bad = s
        .app
        .post_form(
            EXECUTE,
            Some(&s.token),
            &[("itemId", &item), ("notebookParameters", "[1]")],
        )
        .await;
    assert!(refusal(&bad, 400).contains("notebookParameters"));
}

#[tokio::test]
async fn delete_all_removes_finished_jobs_only_and_a_users_own_only() {
    // No runs: jobs wait until cancelled.
    let s = setup(&["print(1)"], &["--max-concurrent-runs", "0"]).await;
    let item = first_item(&s.app, &s.token, "admin").await;
    let mut jobs = Vec::new();
    for _ in 0..3 {
        let r = s
            .app
            .post_form(EXECUTE, Some(&s.token), &[("itemId", &item)])
            .await;
        jobs.push(r.json["jobId"].as_str().expect("a job").to_string());
    }
    for job in &jobs[..2] {
        let c = s
            .app
            .post_form(&format!("{JOBS}/{job}/cancel"), Some(&s.token), &[])
            .await;
        assert_eq!(c.json["status"], "success", "{}", c.json);
    }
    // Another user's deleteAll takes none of the administrator's jobs.
    s.app
        .add_user("eve", "user", &["notebooks:create", "notebooks:webhooks"])
        .await;
    let eve = s.app.token("eve").await;
    let hers = s
        .app
        .post_form(&format!("{ADMIN}/system/jobs/deleteAll"), Some(&eve), &[])
        .await;
    assert_eq!(hers.json, json!({"status": "success"}));
    let listed = s
        .app
        .get(&format!("{ADMIN}/system/jobs"), Some(&s.token))
        .await;
    assert_eq!(listed.json["asyncJobs"].as_array().unwrap().len(), 3);
    assert_eq!(listed.json["total"], 3);

    let r = s
        .app
        .post_form(
            &format!("{ADMIN}/system/jobs/deleteAll"),
            Some(&s.token),
            &[],
        )
        .await;
    assert_eq!(r.json, json!({"status": "success"}));
    let left = s.app.get(JOBS, Some(&s.token)).await.json;
    assert_eq!(left["total"], 1, "{left}");
    assert_eq!(left["jobs"][0]["jobId"], jobs[2].as_str());
    assert_eq!(left["jobs"][0]["status"], "SUBMITTED");
    for job in &jobs[..2] {
        let gone = s.app.get(&format!("{JOBS}/{job}"), Some(&s.token)).await;
        refusal(&gone, 404);
    }
}

#[tokio::test]
async fn info_properties_and_the_notebooks_resource_answer_as_esri_shapes_them() {
    let app = spawn_app().await;
    let cast = app.cast().await;

    let info = app
        .get(&format!("{ADMIN}/info"), Some(&cast.alice))
        .await
        .json;
    assert_eq!(info["fullVersion"], "11.4.0", "{info}");
    assert_eq!(info["currentversion"], "11.4");
    assert_eq!(info["loggedInUser"], "alice");
    assert_eq!(info["loggedInUserPrivilege"], "ACCESS");
    let info = app
        .get(&format!("{ADMIN}/info"), Some(&cast.admin))
        .await
        .json;
    assert_eq!(info["loggedInUserPrivilege"], "ADMINISTER");

    let properties = format!("{ADMIN}/system/properties");
    let defaults = app.get(&properties, Some(&cast.alice)).await.json;
    assert_eq!(defaults["webSocketSize"], 16, "{defaults}");
    let update = format!("{properties}/update");
    let r = app
        .post_form(
            &update,
            Some(&cast.admin),
            &[(
                "properties",
                r#"{"webSocketSize": 32, "idleNotebookThreshold": 60}"#,
            )],
        )
        .await;
    assert_eq!(r.json, json!({"status": "success"}));
    let now = app.get(&properties, Some(&cast.admin)).await.json;
    assert_eq!(
        now,
        json!({"webSocketSize": 32, "idleNotebookThreshold": 60})
    );
    let theirs = app
        .post_form(&update, Some(&cast.alice), &[("properties", "{}")])
        .await;
    refusal(&theirs, 403);
    let bad = app
        .post_form(&update, Some(&cast.admin), &[("properties", "[1]")])
        .await;
    assert!(refusal(&bad, 400).contains("properties"));
    assert_eq!(app.get(&properties, Some(&cast.admin)).await.json, now);

    let notebooks = app
        .get(&format!("{ADMIN}/notebooks"), Some(&cast.alice))
        .await
        .json;
    assert_eq!(notebooks["notebooks"], json!([]), "{notebooks}");
    let open = app
        .post_form(
            &format!("{ADMIN}/notebooks/openNotebook"),
            Some(&cast.alice),
            &[("itemId", "0123456789abcdef0123456789abcdef")],
        )
        .await;
    assert!(refusal(&open, 405).contains("headless"), "{}", open.json);
}

#[tokio::test]
async fn runtimes_take_max_cpu_and_the_presets_are_restored_and_validated() {
    let app = spawn_app_in(tempfile::tempdir().unwrap(), &[]).await;
    let cast = app.cast().await;
    let r = app
        .post_form(
            &format!("{RUNTIMES}/register"),
            Some(&cast.admin),
            &[("name", "Small"), ("maxCPU", "1.5")],
        )
        .await;
    assert_eq!(r.json["status"], "success", "{}", r.json);
    let id = r.json["id"].as_str().unwrap().to_string();
    assert_eq!(r.json["notebookRuntime"]["id"], id.as_str());
    let got = app
        .get(&format!("{RUNTIMES}/{id}"), Some(&cast.admin))
        .await
        .json;
    assert_eq!(
        (got["maxCPU"].as_f64(), got["maxCpu"].as_f64()),
        (Some(1.5), Some(1.5))
    );
    // `maxCpu`, as the package's `Runtime.update` sends it, is read too.
    let r = app
        .post_form(
            &format!("{RUNTIMES}/{id}/update"),
            Some(&cast.admin),
            &[("maxCpu", "0.5")],
        )
        .await;
    assert_eq!(r.json["status"], "success", "{}", r.json);
    let got = app
        .get(&format!("{RUNTIMES}/{id}"), Some(&cast.admin))
        .await
        .json;
    assert_eq!(got["maxCPU"].as_f64(), Some(0.5));
    let bad = app
        .post_form(
            &format!("{RUNTIMES}/{id}/update"),
            Some(&cast.admin),
            &[("maxCPU", "many")],
        )
        .await;
    assert!(refusal(&bad, 400).contains("maxCPU"), "{}", bad.json);

    let restore = format!("{RUNTIMES}/restore");
    for _ in 0..2 {
        let r = app.post_form(&restore, Some(&cast.admin), &[]).await;
        assert_eq!(r.json, json!({"status": "success"}));
    }
    let list = app.get(RUNTIMES, Some(&cast.admin)).await.json;
    let standard: Vec<&Value> = list["runtimes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == "ArcGIS Notebook Python 3 Standard")
        .collect();
    assert_eq!(standard.len(), 1, "{list}");
    assert!(
        standard[0]["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q.as_str().is_some_and(|q| q.starts_with("arcgis"))),
        "{list}"
    );
    let theirs = app.post_form(&restore, Some(&cast.alice), &[]).await;
    refusal(&theirs, 403);

    // Nothing is built on a node that runs nothing: each says so.
    let v = app
        .post_form(
            &format!("{RUNTIMES}/validateRuntimes"),
            Some(&cast.admin),
            &[],
        )
        .await
        .json;
    assert_eq!(v["status"], "success", "{v}");
    assert_eq!(v["valid"], false, "{v}");
    let runtimes = v["runtimes"].as_array().unwrap();
    assert_eq!(runtimes.len(), 2, "{v}");
    for r in runtimes {
        assert_eq!(r["valid"], false, "{v}");
        assert!(r["messages"][0].as_str().unwrap().contains("lock"), "{v}");
    }
}
