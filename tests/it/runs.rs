//! Notebook runs end to end on a real ipykernel: a signed webhook runs the
//! receiver's notebook with its payload, headers and parameters; failures,
//! time limits, cancellation, executeNotebook, and recovery after a crash.

use std::time::Duration;

use crate::common::events::esri;
use crate::common::runs::{deliver, executed, finished, setup, stdout, Setup, JOBS};
use crate::common::wait::eventually;
use crate::common::{spawn_app_in, RECEIVERS};
use hookbook::domain::ids::JobId;
use hookbook::domain::job::{JobInputs, JobStatus};
use serde_json::{json, Value};

/// Waits (at most a minute) until the job is executing.
async fn executing(s: &Setup, job: &str) {
    let what = format!("job {job} executes");
    eventually(&what, Duration::from_secs(60), || async {
        let j = s
            .app
            .get(&format!("{JOBS}/{job}"), Some(&s.token))
            .await
            .json;
        if j["status"] == "EXECUTING" {
            Ok(())
        } else {
            Err(j.to_string())
        }
    })
    .await
}

#[tokio::test]
async fn a_webhook_runs_the_notebook_with_payload_headers_and_parameters() {
    let s = setup(
        &[
            "print(layer, limit, flag, type(webhookPayload).__name__, webhookPayload['events'][0]['when'])",
            "print(sorted(k for k in webhookHeaders if k.startswith('x-')), 'authorization' in webhookHeaders)",
            "import os; print(os.environ['HOOKBOOK_URL'].endswith('/notebooks'), len(os.environ['HOOKBOOK_TOKEN']) > 20)",
        ],
        &[],
    )
    .await;
    let body = r#"{"events": [{"when": 1741189389713, "ok": true, "none": null}]}"#;
    let job = deliver(&s, body, "application/json").await;
    let j = finished(&s, &job).await;
    assert_eq!(j["status"], "COMPLETED", "{j}");
    assert_eq!(j["type"], "webhook");
    assert!(j["startTime"].as_i64() >= j["submitted"].as_i64());
    assert!(j["endTime"].as_i64() >= j["startTime"].as_i64());
    assert!(j["results"]["notebookUrl"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/jobs/{job}/notebook")));
    let nb = executed(&s, &job).await;
    assert_eq!(nb["cells"][1]["metadata"]["tags"][0], "injected-parameters");
    assert_eq!(stdout(&nb, 2), "roads 1.0 None dict 1741189389713\n");
    assert_eq!(
        stdout(&nb, 3),
        "['x-custom'] False\n",
        "signature headers are not passed"
    );
    assert_eq!(stdout(&nb, 4), "True True\n");
    assert_eq!(nb["metadata"]["papermill"]["exception"], false);
    crate::common::assert_valid_notebook(&nb);
}

#[tokio::test]
async fn form_and_plain_text_payloads_reach_the_notebook() {
    let s = setup(&["print(repr(webhookPayload))"], &[]).await;
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", r#"{"a": [1, 2.5]}"#)
        .finish();
    let job = deliver(&s, &form, "application/x-www-form-urlencoded").await;
    assert_eq!(finished(&s, &job).await["status"], "COMPLETED");
    assert_eq!(stdout(&executed(&s, &job).await, 2), "{'a': [1, 2.5]}\n");
    let job = deliver(&s, "just text", "text/plain").await;
    assert_eq!(finished(&s, &job).await["status"], "COMPLETED");
    assert_eq!(stdout(&executed(&s, &job).await, 2), "'just text'\n");
}

#[tokio::test]
async fn a_form_signed_over_its_payload_field_runs_with_that_field_alone() {
    let s = setup(&["import json; print(json.dumps(webhookPayload))"], &[]).await;
    // A genuine payload and its signature, captured; the attacker wraps
    // the payload field in a JSON body of their own.
    let genuine = r#"{"action": "update"}"#;
    let encoded: String = form_urlencoded::byte_serialize(genuine.as_bytes()).collect();
    let body = format!(r#"{{"action":"delete_everything","pad":"&payload={encoded}&"}}"#);
    let r = s
        .app
        .client
        .post(&s.url)
        .header("x-esrihook-signature", esri(genuine.as_bytes()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let job = r.json::<Value>().await.unwrap()["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(finished(&s, &job).await["status"], "COMPLETED");
    let nb = executed(&s, &job).await;
    assert_eq!(stdout(&nb, 2), "{\"action\": \"update\"}\n");
}

#[tokio::test]
async fn an_error_fails_the_job_with_the_exception_and_stops_the_run() {
    let s = setup(&["raise KeyError('missing-layer')", "print('never')"], &[]).await;
    let job = deliver(&s, "{}", "application/json").await;
    let j = finished(&s, &job).await;
    assert_eq!(j["status"], "FAILED");
    let message = j["messages"][0].as_str().unwrap();
    assert!(
        message.contains("KeyError") && message.contains("missing-layer"),
        "{message}"
    );
    let nb = executed(&s, &job).await;
    crate::common::assert_valid_notebook(&nb);
    let statuses: Vec<&str> = nb["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["metadata"]["papermill"]["status"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(statuses.last(), Some(&"pending"), "{statuses:?}");
}

#[tokio::test]
async fn a_run_past_its_time_limit_is_failed_and_its_processes_killed() {
    // The child is found from outside by its unusual argument.
    let marker = "300.7131";
    let code = format!(
        "import subprocess, time\nchild = subprocess.Popen(['sleep', '{marker}'])\ntime.sleep(120)"
    );
    let s = setup(&[&code], &["--execution-timeout-minutes", "0.03"]).await;
    let job = deliver(&s, "{}", "application/json").await;
    eventually(
        "the notebook starts its child",
        Duration::from_secs(60),
        || async {
            if crate::common::process::with_argument(marker).is_empty() {
                Err(format!("no process with the argument {marker}"))
            } else {
                Ok(())
            }
        },
    )
    .await;
    let j = finished(&s, &job).await;
    assert_eq!(j["status"], "FAILED");
    assert!(
        j["messages"][0].as_str().unwrap().contains("timed out"),
        "{j}"
    );
    assert!(
        crate::common::process::gone(marker, 10).await,
        "the notebook's child process outlived the time limit"
    );
    crate::common::assert_valid_notebook(&executed(&s, &job).await);
}

#[tokio::test]
async fn execute_notebook_records_its_inputs_and_a_running_job_can_be_cancelled() {
    let s = setup(&["import time; time.sleep(120)"], &[]).await;
    let item = s
        .app
        .get(
            "/notebooks/sharing/rest/content/users/admin",
            Some(&s.token),
        )
        .await
        .json["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .app
        .post_form(
            "/notebooks/admin/notebooks/executeNotebook",
            Some(&s.token),
            &[
                ("itemId", &item),
                ("notebookParameters", r#"{"layer": "x"}"#),
                ("executionTimeoutInMinutes", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let job = r.json["jobId"].as_str().unwrap().to_string();
    assert!(r.json["jobUrl"].as_str().unwrap().ends_with(&job));
    let j = s
        .app
        .get(&format!("{JOBS}/{job}"), Some(&s.token))
        .await
        .json;
    assert_eq!(j["type"], "executeNotebook");
    assert_eq!(j["inputs"]["executionTimeoutInMinutes"], 1);
    // Cancel it while it sleeps.
    executing(&s, &job).await;
    let c = s
        .app
        .post_form(&format!("{JOBS}/{job}/cancel"), Some(&s.token), &[])
        .await;
    assert_eq!(c.json, json!({"status": "success"}));
    let j = finished(&s, &job).await;
    assert_eq!(j["status"], "CANCELLED");
    let again = s
        .app
        .post_form(&format!("{JOBS}/{job}/cancel"), Some(&s.token), &[])
        .await;
    assert_eq!(again.status, 400, "a finished job cannot be cancelled");
}

#[tokio::test]
async fn the_jobs_list_pages_filters_and_shows_users_only_their_own() {
    let s = setup(&["print(1)"], &[]).await;
    let mut jobs = Vec::new();
    for i in 0..3 {
        jobs.push(deliver(&s, &format!("{{\"n\": {i}}}"), "application/json").await);
    }
    for j in &jobs {
        finished(&s, j).await;
    }
    let page = s
        .app
        .get(&format!("{JOBS}?num=2"), Some(&s.token))
        .await
        .json;
    assert_eq!(page["total"], 3);
    assert_eq!(page["num"], 2);
    assert_eq!(page["start"], 1);
    assert_eq!(page["nextStart"], 3);
    assert_eq!(page["jobs"][0]["jobId"], jobs[2].as_str(), "newest first");
    let mut keys: Vec<_> = page["jobs"][0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "dateCreated",
            "endTime",
            "id",
            "itemId",
            "jobId",
            "name",
            "notebookRuntimeId",
            "notebookRuntimeName",
            "notebookRuntimeVersion",
            "receiverId",
            "revision",
            "startTime",
            "status",
            "submitted",
            "type",
            "url",
            "username"
        ]
    );
    let last = s
        .app
        .get(&format!("{JOBS}?start=3&num=2"), Some(&s.token))
        .await
        .json;
    assert_eq!(last["nextStart"], -1);
    let done = s
        .app
        .get(&format!("{JOBS}?status=completed"), Some(&s.token))
        .await
        .json;
    assert_eq!(done["total"], 3);
    let bad = s
        .app
        .get(&format!("{JOBS}?status=DONE"), Some(&s.token))
        .await;
    assert_eq!(bad.status, 400);
    s.app
        .add_user("alice", "user", &["notebooks:create", "notebooks:webhooks"])
        .await;
    let alice = s.app.token("alice").await;
    assert_eq!(s.app.get(JOBS, Some(&alice)).await.json["total"], 0);
    assert_eq!(
        s.app
            .get(&format!("{JOBS}/{}", jobs[0]), Some(&alice))
            .await
            .status,
        403
    );
    assert_eq!(
        s.app
            .get(&format!("{JOBS}/not-a-job"), Some(&s.token))
            .await
            .status,
        404
    );
    let _ = RECEIVERS;
}

#[tokio::test]
async fn jobs_left_executing_by_a_killed_server_are_finished_honestly_after_restart() {
    use hookbook::domain::time::Millis;
    let s = setup(&["print('ran')"], &[]).await;
    let dir = s.app.stop().await;
    let store = crate::common::db::store(dir.path()).await;
    let user = hookbook::domain::user::Username::parse("admin").unwrap();
    let item = store.items_of(&user).await.unwrap()[0].id.clone();
    let add = |id| hookbook::store::NewJob {
        id,
        item_id: item.clone(),
        username: user.clone(),
        parameters: "{}".into(),
        timeout_minutes: None,
        inputs: JobInputs::default(),
        submitted: Millis::now(),
    };
    // Job A was lost twice (claimed, recovered, claimed again); job B once.
    // The leases of the dead node ended already, so that a restart takes
    // the jobs over on either database.
    let dead = hookbook::domain::job::Lease {
        node: hookbook::domain::ids::NodeId::generate(),
        until: Millis(Millis::now().0 - 1),
    };
    let (a, b) = (JobId::generate(), JobId::generate());
    store.add_job(&add(a)).await.unwrap();
    assert_eq!(
        store
            .claim_job(Millis::now(), &dead, 0)
            .await
            .unwrap()
            .unwrap()
            .id,
        a
    );
    assert_eq!(
        store
            .recover_jobs(Millis::now(), "lost", hookbook::store::Orphans::Expired)
            .await
            .unwrap(),
        (1, 0)
    );
    assert_eq!(
        store
            .claim_job(Millis::now(), &dead, 0)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        2
    );
    store.add_job(&add(b)).await.unwrap();
    assert_eq!(
        store
            .claim_job(Millis::now(), &dead, 0)
            .await
            .unwrap()
            .unwrap()
            .id,
        b
    );
    drop(store);

    let app = spawn_app_in(dir, &["--max-concurrent-runs", "1"]).await;
    let token = app.token("admin").await;
    let s = Setup {
        app,
        token,
        url: String::new(),
    };
    let ja = finished(&s, &a.to_string()).await;
    assert_eq!(ja["status"], "FAILED");
    assert!(ja["messages"][0].as_str().unwrap().contains("node"), "{ja}");
    let jb = finished(&s, &b.to_string()).await;
    assert_eq!(jb["status"], "COMPLETED", "queued again once and run: {jb}");
    let executing = s
        .app
        .get(&format!("{JOBS}?status=EXECUTING"), Some(&s.token))
        .await
        .json;
    assert_eq!(executing["total"], 0);
}

#[tokio::test]
async fn metrics_show_runs_queue_depth_and_warm_kernels() {
    let s = setup(&["print(1)"], &[]).await;
    let job = deliver(&s, "{}", "application/json").await;
    finished(&s, &job).await;
    eventually(
        "the metrics show the run and a refilled pool",
        Duration::from_secs(30),
        || async {
            let text = s
                .app
                .client
                .get(s.app.url("/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let ok = text.contains(r#"hookbook_runs_total{status="COMPLETED"} 1"#)
                && text.contains("hookbook_queue_depth 0")
                && text.contains("hookbook_warm_kernels 1")
                && text.contains("hookbook_run_start_seconds_count 1");
            if ok {
                Ok(())
            } else {
                Err(text)
            }
        },
    )
    .await;
}

#[tokio::test]
async fn finished_jobs_are_pruned_with_their_events() {
    use hookbook::domain::time::Millis;
    let s = setup(&["print(1)"], &[]).await;
    let job = deliver(&s, "{}", "application/json").await;
    finished(&s, &job).await;
    let dir = s.app.stop().await;
    let store = crate::common::db::store(dir.path()).await;
    let id = JobId::parse(&job).unwrap();
    let event = store.job(&id).await.unwrap().unwrap().event_id.unwrap();
    assert_eq!(
        store.prune_jobs(Millis(0)).await.unwrap(),
        0,
        "nothing ended before the epoch"
    );
    assert_eq!(store.prune_jobs(Millis(i64::MAX)).await.unwrap(), 1);
    assert!(store.job(&id).await.unwrap().is_none());
    assert!(store.event(&event).await.unwrap().is_none());
}

#[tokio::test]
async fn a_receiver_limit_keeps_its_runs_one_at_a_time() {
    let s = setup(
        &["import time\nstart = time.time()\ntime.sleep(0.4)\nprint(start, time.time())"],
        // Two runs at once are allowed on the node, one per receiver.
        &["--max-concurrent-runs", "2", "--max-runs-per-receiver", "1"],
    )
    .await;
    let (a, b) = (
        deliver(&s, "{}", "application/json").await,
        deliver(&s, "[]", "application/json").await,
    );
    let mut spans = Vec::new();
    for job in [&a, &b] {
        assert_eq!(finished(&s, job).await["status"], "COMPLETED");
        let text = stdout(&executed(&s, job).await, 2);
        let times: Vec<f64> = text
            .split_whitespace()
            .map(|t| t.parse().unwrap())
            .collect();
        spans.push((times[0], times[1]));
    }
    spans.sort_by(|x, y| x.0.total_cmp(&y.0));
    assert!(
        spans[1].0 >= spans[0].1,
        "the two runs overlapped: {spans:?}"
    );
}

#[tokio::test]
async fn sigterm_puts_a_run_that_outlives_the_grace_period_back_in_the_queue() {
    let s = setup(
        &["import time; time.sleep(60)"],
        &["--stop-grace-seconds", "1"],
    )
    .await;
    let job = deliver(&s, "{}", "application/json").await;
    executing(&s, &job).await;
    let dir = s.app.stop().await;
    let store = crate::common::db::store(dir.path()).await;
    let record = store
        .job(&JobId::parse(&job).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.status,
        JobStatus::Submitted,
        "stopped and queued again, not lost"
    );
    assert_eq!(
        record.attempts, 0,
        "a graceful stop does not count as a lost node"
    );
}

#[tokio::test]
async fn revoking_the_owners_tokens_stops_its_receivers_until_they_are_updated() {
    let s = setup(&["print('ran')"], &[]).await;
    let id = s.url.rsplit('/').next().unwrap().to_string();
    let ran = deliver(&s, "{}", "application/json").await;
    assert_eq!(finished(&s, &ran).await["status"], "COMPLETED");
    let r = s
        .app
        .post_form(
            "/notebooks/sharing/rest/community/users/admin/revokeTokens",
            Some(&s.token),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.json["revoked"].as_u64().unwrap() >= 1);
    // The revoked token no longer works; a new sign-in does.
    assert_eq!(s.app.get(JOBS, Some(&s.token)).await.status, 498);
    let token = s.app.token("admin").await;
    let s = Setup { token, ..s };
    // Revocation needs no wait: the owner is read afresh for every run.
    let stopped = deliver(&s, "{}", "application/json").await;
    let job = finished(&s, &stopped).await;
    assert_eq!(job["status"], "FAILED", "{job}");
    assert!(
        job["messages"][0]
            .as_str()
            .unwrap()
            .contains("were revoked"),
        "{job}"
    );
    let validation = s
        .app
        .get(&format!("{RECEIVERS}/{id}/validate"), Some(&s.token))
        .await;
    assert_eq!(validation.json["success"], "false", "{}", validation.json);
    assert!(validation.json["messages"][0]
        .as_str()
        .unwrap()
        .contains("were revoked"));
    // Updating the receiver confirms it: it runs again.
    let r = s
        .app
        .post_form(
            &format!("{RECEIVERS}/{id}/update"),
            Some(&s.token),
            &[("name", "confirmed")],
        )
        .await;
    // An update on this node reaches its receiver cache at once.
    assert_eq!(r.status, 200);
    let again = deliver(&s, "{}", "application/json").await;
    assert_eq!(finished(&s, &again).await["status"], "COMPLETED");
    assert_eq!(
        s.app
            .get(&format!("{RECEIVERS}/{id}/validate"), Some(&s.token))
            .await
            .json["success"],
        "true"
    );
}
