//! Replay: a webhook job's stored event runs again as a new job that names
//! the one it repeats, with the receiver's notebook as it is now, so a run
//! that failed on a bug completes once the notebook is fixed. Only the
//! receiver's owner and administrators may; a replay is not a delivery.

use crate::common::events::esri;
use crate::common::jobs::finished;
use crate::common::{spawn_app_in, TestApp, SECRET};
use serde_json::{json, Value};

const JOBS: &str = "/notebooks/admin/notebooks/jobs";
const CONTENT: &str = "/notebooks/sharing/rest/content";

fn notebook(source: &str) -> String {
    json!({"cells": [{"cell_type": "code", "id": "a", "metadata": {}, "source": source, "outputs": [], "execution_count": null}],
           "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    .to_string()
}

async fn executed(app: &TestApp, token: &str, job: &str) -> Value {
    let r = app
        .client
        .get(app.url(&format!("{JOBS}/{job}/notebook")))
        .query(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// What the notebook's own (last) cell printed; the injected parameters
/// cell comes before it.
fn stdout(nb: &Value) -> String {
    let last = nb["cells"].as_array().unwrap().len() - 1;
    crate::common::runs::stdout(nb, last)
}

/// A server (one run at a time) where alice's receiver runs a notebook
/// that always fails.
struct Buggy {
    app: TestApp,
    cast: crate::common::Cast,
    item: String,
    receiver: String,
    url: String,
}

/// A receiver of `item` made with `token`: its id and its URL.
async fn receiver_of(app: &TestApp, token: &str, item: &str) -> (String, String) {
    let r = app
        .create_receiver(
            token,
            &[
                ("name", "r"),
                ("itemId", item),
                ("secret", SECRET),
                ("signatureHeaders", "x-esrihook-signature"),
            ],
        )
        .await;
    let receiver = &r.json["webhookReceiver"];
    let text = |v: &Value| v.as_str().unwrap().to_string();
    (text(&receiver["id"]), text(&receiver["url"]))
}

async fn buggy() -> Buggy {
    let app = spawn_app_in(
        tempfile::tempdir().unwrap(),
        &["--max-concurrent-runs", "1"],
    )
    .await;
    let cast = app.cast().await;
    let r = app
        .post_form(
            &format!("{CONTENT}/users/alice/addItem"),
            Some(&cast.alice),
            &[
                ("title", "buggy"),
                ("text", &notebook("raise RuntimeError('a bug')")),
            ],
        )
        .await;
    let item = r.json["id"].as_str().unwrap().to_string();
    let (receiver, url) = receiver_of(&app, &cast.alice, &item).await;
    Buggy {
        app,
        cast,
        item,
        receiver,
        url,
    }
}

#[tokio::test]
async fn a_failed_run_replayed_after_its_notebook_was_fixed_completes() {
    let Buggy {
        app,
        cast,
        item,
        receiver,
        url,
    } = buggy().await;
    let body = r#"{"events": [{"when": 1741189389713}]}"#;
    let sent = app
        .client
        .post(&url)
        .header("x-esrihook-signature", esri(body.as_bytes()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let original = sent.json::<Value>().await.unwrap()["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    let failed = finished(&app, &cast.alice, &original).await;
    assert_eq!(failed["status"], "FAILED", "{failed}");

    // Fixed: the notebook now prints what the event said.
    let fixed = notebook("print(webhookPayload['events'][0]['when'])");
    let r = app
        .post_form(
            &format!("{CONTENT}/users/alice/items/{item}/update"),
            Some(&cast.alice),
            &[("text", &fixed)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);

    // Nobody signed in and another user may not replay alice's job; a job
    // id that names no job is not found.
    let path = format!("{JOBS}/{original}/replay");
    let r = app.post_form(&path, None, &[]).await;
    assert_eq!(r.status, 499, "{}", r.json);
    let r = app.post_form(&path, Some(&cast.bob), &[]).await;
    assert_eq!(r.status, 403, "{}", r.json);
    let r = app
        .post_form(
            &format!("{JOBS}/{}/replay", uuid::Uuid::now_v7()),
            Some(&cast.alice),
            &[],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.json);

    let r = app.post_form(&path, Some(&cast.alice), &[]).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["status"], "success");
    assert_eq!(r.json["replayOf"], original.as_str());
    let replay = r.json["jobId"].as_str().unwrap().to_string();
    assert_ne!(replay, original);
    assert!(r.json["jobUrl"].as_str().unwrap().ends_with(&replay));

    let done = finished(&app, &cast.alice, &replay).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["replayOf"], original.as_str());
    assert_eq!(done["receiverId"], receiver.as_str());
    assert_eq!(
        stdout(&executed(&app, &cast.alice, &replay).await),
        "1741189389713\n"
    );
    let before = app
        .get(&format!("{JOBS}/{original}"), Some(&cast.alice))
        .await;
    assert_eq!(
        before.json["status"], "FAILED",
        "the original stays as it ended"
    );
    assert_eq!(before.json["replayOf"], Value::Null);

    // A replay is not a delivery: the log still shows one accepted line,
    // the original's; an administrator may replay too.
    let log = crate::common::events::deliveries(&app, &cast.alice, &receiver).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["jobId"], original.as_str());
    let r = app.post_form(&path, Some(&cast.admin), &[]).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let again = r.json["jobId"].as_str().unwrap().to_string();
    assert_eq!(
        finished(&app, &cast.admin, &again).await["status"],
        "COMPLETED"
    );
}

#[tokio::test]
async fn only_a_webhook_job_of_an_enabled_receiver_can_be_replayed() {
    let app = spawn_app_in(
        tempfile::tempdir().unwrap(),
        &["--max-concurrent-runs", "1"],
    )
    .await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.alice, "alice").await;
    let r = app
        .post_form(
            "/notebooks/admin/notebooks/executeNotebook",
            Some(&cast.alice),
            &[("itemId", &item)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let direct = r.json["jobId"].as_str().unwrap().to_string();
    finished(&app, &cast.alice, &direct).await;
    let r = app
        .post_form(&format!("{JOBS}/{direct}/replay"), Some(&cast.alice), &[])
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(
        r.json.to_string().contains("only a job a webhook made"),
        "{}",
        r.json
    );

    let (receiver, url) = receiver_of(&app, &cast.alice, &item).await;
    let recv = format!("/notebooks/admin/notebooks/webhookReceivers/{receiver}");
    let headers = [("x-esrihook-signature", esri(b"{}"))];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (status, _, answer) = crate::common::events::post(&app, &url, &headers, "{}").await;
    assert_eq!(status, 200, "{answer}");
    let job = answer["jobId"].as_str().unwrap().to_string();
    finished(&app, &cast.alice, &job).await;
    let r = app
        .post_form(&format!("{recv}/disable"), Some(&cast.alice), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = app
        .post_form(&format!("{JOBS}/{job}/replay"), Some(&cast.alice), &[])
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(r.json.to_string().contains("disabled"), "{}", r.json);
}

/// `hookbook replay` with `args`, as `token`; its JSON answer. Awaited, not
/// blocking: the server runs on this test's runtime.
async fn cli(app: &TestApp, token: &str, args: &[&str]) -> Value {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookbook"))
        .arg("replay")
        .args(["--url", &app.url("/notebooks")])
        .args(args)
        .env("HOOKBOOK_TOKEN", token)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(said.trim()).unwrap()
}

#[tokio::test]
async fn a_receivers_failed_jobs_replay_as_one_batch_that_can_be_seen_and_undone() {
    let Buggy {
        app,
        cast,
        item,
        receiver,
        url,
    } = buggy().await;
    let mut originals = Vec::new();
    for n in 0..3 {
        let body = format!(r#"{{"n": {n}}}"#);
        let headers = [("x-esrihook-signature", esri(body.as_bytes()))];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(a, b)| (*a, b.as_str())).collect();
        let (status, _, answer) = crate::common::events::post(&app, &url, &headers, body).await;
        assert_eq!(status, 200, "{answer}");
        originals.push(answer["jobId"].as_str().unwrap().to_string());
    }
    for job in &originals {
        assert_eq!(finished(&app, &cast.alice, job).await["status"], "FAILED");
    }
    let r = app
        .post_form(
            &format!("{CONTENT}/users/alice/items/{item}/update"),
            Some(&cast.alice),
            &[("text", &notebook("print(webhookPayload['n'])"))],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);

    // A selection that cannot be asked for is refused, saying why; bob
    // may not replay alice's receiver.
    let replay = format!("/notebooks/admin/notebooks/webhookReceivers/{receiver}/replay");
    let r = app
        .post_form(&replay, Some(&cast.alice), &[("status", "EXECUTING")])
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(r.json.to_string().contains("status"), "{}", r.json);
    let r = app
        .post_form(&replay, Some(&cast.alice), &[("from", "20"), ("to", "10")])
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    // A range as the page's date-time inputs give it, in UTC: here none
    // of the jobs (all made today) is from 2001.
    let r = app
        .post_form(
            &replay,
            Some(&cast.alice),
            &[("from", "2001-01-01T00:00"), ("to", "2001-12-31T23:59")],
        )
        .await;
    assert_eq!(
        (r.status, r.json["jobs"].as_u64()),
        (200, Some(0)),
        "{}",
        r.json
    );
    let r = app
        .post_form(&replay, Some(&cast.alice), &[("from", "last tuesday")])
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(r.json.to_string().contains("'from'"), "{}", r.json);
    let r = app.post_form(&replay, Some(&cast.bob), &[]).await;
    assert_eq!(r.status, 403, "{}", r.json);

    // The failed jobs run again, from the command line, as one batch.
    let first = cli(&app, &cast.alice, &["--receiver", &receiver]).await;
    assert_eq!(first["status"], "success", "{first}");
    assert_eq!(
        (first["jobs"].as_u64(), first["alreadyReplayed"].as_u64()),
        (Some(3), Some(0))
    );
    let batch = first["batchId"].as_str().unwrap().to_string();
    let replays = replays_of(&app, &cast.alice, &receiver, &batch).await;
    assert_eq!(replays.len(), 3);
    let mut printed = Vec::new();
    for job in &replays {
        let done = finished(&app, &cast.alice, job["jobId"].as_str().unwrap()).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        assert!(originals.contains(&done["replayOf"].as_str().unwrap().to_string()));
        printed.push(stdout(
            &executed(&app, &cast.alice, done["jobId"].as_str().unwrap()).await,
        ));
    }
    printed.sort();
    assert_eq!(
        printed,
        ["0\n", "1\n", "2\n"],
        "each replay ran its own event"
    );

    // The same selection again by mistake: the answer says all three had
    // been replayed before, and the batch is undone from the command line.
    let second = cli(
        &app,
        &cast.alice,
        &["--receiver", &receiver, "--status", "failed"],
    )
    .await;
    assert_eq!(second["alreadyReplayed"], 3, "{second}");
    let again = second["batchId"].as_str().unwrap().to_string();
    let undone = cli(
        &app,
        &cast.alice,
        &["--receiver", &receiver, "--cancel", &again],
    )
    .await;
    let cancelled = undone["cancelled"].as_u64().unwrap();
    let second_jobs = replays_of(&app, &cast.alice, &receiver, &again).await;
    assert_eq!(second_jobs.len(), 3);
    let mut seen_cancelled = 0;
    for job in &second_jobs {
        let end = finished(&app, &cast.alice, job["jobId"].as_str().unwrap()).await;
        if end["status"] == "CANCELLED" {
            seen_cancelled += 1;
            assert!(
                end["messages"]
                    .to_string()
                    .contains("Cancelled with the replay"),
                "{end}"
            );
        }
    }
    assert_eq!(
        seen_cancelled, cancelled,
        "the answer counts what it cancelled"
    );
    // Replays are never selected: every completed job is a replay, so a
    // replay of COMPLETED jobs makes none.
    let none = cli(
        &app,
        &cast.admin,
        &["--receiver", &receiver, "--status", "COMPLETED"],
    )
    .await;
    assert_eq!(none["jobs"], 0, "{none}");
}

/// The receiver's jobs that a batch made, each as its resource.
async fn replays_of(app: &TestApp, token: &str, receiver: &str, batch: &str) -> Vec<Value> {
    let list = app
        .get(
            &format!("{JOBS}?receiverId={receiver}&num=100"),
            Some(token),
        )
        .await
        .json;
    let mut found = Vec::new();
    for j in list["jobs"].as_array().unwrap() {
        let id = j["jobId"].as_str().unwrap();
        let job = app.get(&format!("{JOBS}/{id}"), Some(token)).await.json;
        if job["replayBatch"] == batch {
            found.push(job);
        }
    }
    found
}

#[tokio::test]
async fn jobs_made_through_the_api_count_against_the_queue_limit() {
    // Runs off: what is queued stays queued.
    let app = spawn_app_in(tempfile::tempdir().unwrap(), &["--max-queue-depth", "1"]).await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.alice, "alice").await;
    let execute = "/notebooks/admin/notebooks/executeNotebook";
    let r = app
        .post_form(execute, Some(&cast.alice), &[("itemId", &item)])
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = app
        .post_form(execute, Some(&cast.alice), &[("itemId", &item)])
        .await;
    assert_eq!(r.status, 503, "{}", r.json);
    assert!(
        r.json.to_string().contains("Too many jobs are waiting"),
        "{}",
        r.json
    );
    // Intake sees the same queue.
    let (_, url) = receiver_of(&app, &cast.alice, &item).await;
    let headers = [("x-esrihook-signature", esri(b"{}"))];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (status, _, answer) = crate::common::events::post(&app, &url, &headers, "{}").await;
    assert_eq!(status, 503, "{answer}");
}

/// The admin API answers a refusal with HTTP 200 and the error in the
/// body, as ArcGIS does; `hookbook replay` still fails, printing it.
#[tokio::test]
async fn a_refused_replay_fails_the_command_with_the_servers_message() {
    let app = crate::common::spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookbook"))
        .arg("replay")
        .args(["--url", &app.url("/notebooks")])
        .args(["--job", "0123456789abcdef0123456789abcdef"])
        .env("HOOKBOOK_TOKEN", &token)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said} {errors}");
    assert!(said.contains("does not exist"), "{said}");
    assert!(errors.contains("code 404"), "{errors}");
}
