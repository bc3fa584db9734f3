//! A runtime updated while one of its runs executes, built for real with
//! uv: the run in progress finishes on the old version (its environment
//! still there to read from), a run started once the new version is built
//! uses the new one, and the old version's environment goes once no run
//! holds it (not before: the builder's round that would remove it is seen
//! to pass while the first run still reads from it).

use std::time::Duration;

use crate::common::jobs::finished;
use crate::common::wait::eventually;
use crate::common::{spawn_app_in, TestApp};
use serde_json::Value;

const RUNTIMES: &str = "/notebooks/admin/notebooks/runtimes";
const JOBS: &str = "/notebooks/admin/notebooks/jobs";

/// A notebook of `cells` naming the runtime "Moving".
fn notebook(cells: &[&str]) -> String {
    crate::common::jobs::notebook_of(Some("Moving"), cells)
}

/// Submits `text` as an item of the admin's; the job's id.
async fn submit(app: &TestApp, token: &str, text: &str) -> String {
    let item = app
        .post_form(
            "/notebooks/sharing/rest/content/users/admin/addItem",
            Some(token),
            &[("type", "Notebook"), ("title", "Moving"), ("text", text)],
        )
        .await;
    assert_eq!(item.status, 200, "{}", item.json);
    let r = app
        .post_form(
            "/notebooks/admin/notebooks/executeNotebook",
            Some(token),
            &[("itemId", item.json["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["jobId"].as_str().unwrap().to_string()
}

async fn executed(app: &TestApp, token: &str, job: &str) -> String {
    app.client
        .get(app.url(&format!("{JOBS}/{job}/notebook")))
        .query(&[("token", token)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits (at most five minutes: a build fetches from PyPI) until `check`
/// holds of the runtime's resource.
async fn runtime_until(app: &TestApp, token: &str, id: &str, check: impl Fn(&Value) -> bool) {
    let what = format!("runtime {id} gets there");
    eventually(&what, Duration::from_secs(300), || async {
        let r = app.get(&format!("{RUNTIMES}/{id}"), Some(token)).await.json;
        if check(&r) {
            Ok(())
        } else {
            Err(r.to_string())
        }
    })
    .await
}

/// Waits (at most two minutes) until `path` is removed, `what` is.
async fn removed(what: &str, path: &std::path::Path) {
    let what = format!("the removal of {what}");
    eventually(&what, Duration::from_secs(120), || async {
        if path.exists() {
            Err(format!("{} still exists", path.display()))
        } else {
            Ok(())
        }
    })
    .await
}

#[tokio::test]
async fn a_run_in_progress_finishes_on_the_old_version_and_new_runs_use_the_new() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir, &["--max-concurrent-runs", "2"]).await;
    let cast = app.cast().await;
    let token = cast.admin.clone();
    let r = app
        .post_form(
            &format!("{RUNTIMES}/register"),
            Some(&token),
            &[("name", "Moving"), ("requirements", "six==1.16.0")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let id = r.json["id"].as_str().unwrap().to_string();
    // A second runtime, unregistered later: its environment's removal
    // shows that the builder has been through its rounds.
    let r = app
        .post_form(
            &format!("{RUNTIMES}/register"),
            Some(&token),
            &[("name", "Spare"), ("requirements", "six==1.16.0")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let spare = r.json["id"].as_str().unwrap().to_string();
    runtime_until(&app, &token, &id, |r| r["state"] == "ready").await;
    runtime_until(&app, &token, &spare, |r| r["state"] == "ready").await;

    // Holds its kernel until the new version is built and another run
    // has completed on it; then reads six's metadata from its own
    // environment's files.
    let wait = format!(
        "import json, os, time, urllib.request\n\
         base, token = os.environ['HOOKBOOK_URL'], os.environ['HOOKBOOK_TOKEN']\n\
         def get(path):\n    return json.load(urllib.request.urlopen(f'{{base}}{{path}}?f=json&token={{token}}'))\n\
         while get('/admin/notebooks/runtimes/{id}')['version'] != '2' or \
               get('/admin/notebooks/runtimes/{id}')['state'] != 'ready':\n    time.sleep(0.1)\n\
         while not any(j['status'] == 'COMPLETED' for j in get('/admin/notebooks/jobs')['jobs']):\n    time.sleep(0.1)"
    );
    let first = submit(
        &app,
        &token,
        &notebook(&[
            "import six\nprint('before', six.__version__)",
            &wait,
            "import importlib.metadata as m\nprint('after', m.version('six'))",
        ]),
    )
    .await;
    eventually("the first run starts", Duration::from_secs(120), || async {
        let j = app.get(&format!("{JOBS}/{first}"), Some(&token)).await.json;
        if j["status"] == "EXECUTING" {
            Ok(())
        } else {
            Err(j.to_string())
        }
    })
    .await;

    let r = app
        .post_form(
            &format!("{RUNTIMES}/{id}/update"),
            Some(&token),
            &[("requirements", "six==1.17.0")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    runtime_until(&app, &token, &id, |r| {
        r["version"] == "2" && r["state"] == "ready"
    })
    .await;
    // A round of the builder after version 2 was ready: the one that
    // removes the unregistered runtime's environment (and would remove
    // version 1's, were the first run not holding it).
    let r = app
        .post_form(&format!("{RUNTIMES}/{spare}/unregister"), Some(&token), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let spare_dir = app.dir.path().join("runtimes").join(&spare);
    removed("the unregistered runtime's environment", &spare_dir).await;

    let second = submit(
        &app,
        &token,
        &notebook(&["import six\nprint('new', six.__version__)"]),
    )
    .await;
    let done = finished(&app, &token, &second).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert!(executed(&app, &token, &second).await.contains("new 1.17.0"));

    let done = finished(&app, &token, &first).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let text = executed(&app, &token, &first).await;
    assert!(text.contains("before 1.16.0"), "{text}");
    assert!(text.contains("after 1.16.0"), "{text}");

    let old = app.dir.path().join("runtimes").join(&id).join("1");
    let new = app.dir.path().join("runtimes").join(&id).join("2");
    removed("version 1's environment", &old).await;
    assert!(new.exists(), "version 2's environment went too");
    app.stop().await;
}
