//! A site of several nodes on PostgreSQL: node roles, a cancel that reaches
//! a run on another node, a page on one node playing a run on another, the rate limit shared by the nodes, `hookbook
//! migrate`, and `hookbook copy` from SQLite with nothing lost.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::nodes::{add_admin, admin_token, form, ready, start_node, BIN};
use crate::common::wait::{eventually, eventually_blocking};
use base64::Engine as _;
use serde_json::Value;

const JOBS: &str = "/notebooks/admin/notebooks/jobs";

fn sign(body: &[u8]) -> String {
    let m = crate::common::events::mac(crate::common::SECRET.as_bytes(), &[body]);
    format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(m)
    )
}

/// A notebook whose one cell runs `code`.
fn notebook(code: &str) -> String {
    serde_json::json!({
        "cells": [
            {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "source": "webhookPayload = {}", "outputs": [], "execution_count": null},
            {"cell_type": "code", "id": "c", "metadata": {}, "source": code, "outputs": [], "execution_count": null}
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5
    })
    .to_string()
}

/// Adds a notebook running `code` and a receiver on it through `base`;
/// returns the receiver's event path.
async fn receiver(client: &reqwest::Client, base: &str, token: &str, code: &str) -> String {
    let item = form(
        client,
        format!("{base}/notebooks/sharing/rest/content/users/admin/addItem"),
        &[
            ("title", "t"),
            ("text", &notebook(code)),
            ("token", token),
            ("f", "json"),
        ],
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = form(
        client,
        format!("{base}/notebooks/admin/notebooks/webhookReceivers/create"),
        &[
            ("name", "r"),
            ("itemId", &item),
            ("secret", crate::common::SECRET),
            ("signatureHeaders", "x-esrihook-signature"),
            ("token", token),
            ("f", "json"),
        ],
    )
    .await;
    let id = r["webhookReceiver"]["id"].as_str().unwrap();
    format!("/notebooks/rest/events/webhooks/{id}")
}

async fn send(client: &reqwest::Client, url: &str, body: &str) -> (u16, Value) {
    let r = client
        .post(url)
        .header("x-esrihook-signature", sign(body.as_bytes()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn job(client: &reqwest::Client, base: &str, token: &str, id: &str) -> Value {
    client
        .get(format!("{base}{JOBS}/{id}"))
        .query(&[("f", "json"), ("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn wait_status(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    id: &str,
    want: &str,
) -> Value {
    let what = format!("job {id} becomes {want}");
    eventually(&what, Duration::from_secs(60), || async {
        let j = job(client, base, token, id).await;
        if j["status"] == want {
            Ok(j)
        } else {
            Err(j.to_string())
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_one_node_plays_a_run_on_another() {
    use crate::live_pages::{html, Events, STEPS};
    let database = crate::common::db::fresh_postgres();
    let key = crate::common::nodes::key();
    add_admin(&database);
    let client = reqwest::Client::new();
    let api = start_node(&database, &key, &["--role", "api"]);
    ready(&client, &api).await;
    let worker = start_node(
        &database,
        &key,
        &["--role", "worker", "--max-concurrent-runs", "1"],
    );
    ready(&client, &worker).await;
    let token = admin_token(&client, &api.base).await;
    let path = receiver(&client, &api.base, &token, STEPS).await;
    let (status, answer) = send(&client, &format!("{}{path}", api.base), "{}").await;
    assert_eq!(status, 200);
    let id = answer["jobId"].as_str().unwrap().to_string();
    let page = format!("{}{JOBS}/{id}?token={token}", api.base);
    let mut events = Events::of(Events::open(&page).await);
    let running = events
        .page_where("the worker's steps on the api node", |p| {
            html(p).contains("step 2")
        })
        .await;
    assert!(html(&running).contains("In [*]:"), "{}", html(&running));
    let later = events
        .page_where("later steps", |p| html(p).contains("step 30"))
        .await;
    assert!(html(&later).contains("step 0"));
    let cancelled = form(
        &client,
        format!("{}{JOBS}/{id}/cancel", api.base),
        &[("token", &token), ("f", "json")],
    )
    .await;
    assert_eq!(cancelled["status"], "success", "{cancelled}");
    let end = events.page_where("the end", |p| p["end"] == true).await;
    assert!(end["title"].as_str().unwrap().contains("CANCELLED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_node_takes_events_a_worker_runs_them_and_a_cancel_reaches_the_worker() {
    let database = crate::common::db::fresh_postgres();
    let key = crate::common::nodes::key();
    add_admin(&database);
    let client = reqwest::Client::new();
    let api = start_node(&database, &key, &["--role", "api"]);
    ready(&client, &api).await;
    let token = admin_token(&client, &api.base).await;
    let evidence = api.dir.path().join("ticks");
    let collector = crate::common::evidence::collect(&evidence);
    let code = format!(
        "{}import time\nif webhookPayload.get('long'):\n    for _ in range(600):\n        evidence('KERNEL')\n        time.sleep(0.05)\nprint('ran')",
        crate::common::evidence::sender(collector)
    );
    let path = receiver(&client, &api.base, &token, &code).await;
    let (status, answer) = send(&client, &format!("{}{path}", api.base), "{}").await;
    assert_eq!(status, 200);
    let first = answer["jobId"].as_str().unwrap().to_string();
    // No node runs jobs yet.
    assert_eq!(
        job(&client, &api.base, &token, &first).await["status"],
        "SUBMITTED"
    );

    let worker = start_node(
        &database,
        &key,
        &["--role", "worker", "--max-concurrent-runs", "1"],
    );
    ready(&client, &worker).await;
    wait_status(&client, &api.base, &token, &first, "COMPLETED").await;
    // The worker takes no events and serves no admin API; it has metrics.
    let refused = client
        .post(format!("{}{path}", worker.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
    let metrics = client
        .get(format!("{}/metrics", worker.base))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics
        .text()
        .await
        .unwrap()
        .contains(r#"hookbook_runs_total{status="COMPLETED"} 1"#));

    // A long run on the worker, cancelled through the api node: woken by
    // the database, the worker stops it at once.
    let (_, answer) = send(&client, &format!("{}{path}", api.base), r#"{"long": 1}"#).await;
    let long = answer["jobId"].as_str().unwrap().to_string();
    wait_status(&client, &api.base, &token, &long, "EXECUTING").await;
    let kernel = eventually("the long run ticks", Duration::from_secs(120), || async {
        let text = std::fs::read_to_string(&evidence).unwrap_or_default();
        match text.lines().next().filter(|_| text.ends_with('\n')) {
            Some(pid) => Ok(pid.trim().to_string()),
            None => Err(format!("evidence {text:?}")),
        }
    })
    .await;
    let cancelled = form(
        &client,
        format!("{}{JOBS}/{long}/cancel", api.base),
        &[("token", &token), ("f", "json")],
    )
    .await;
    assert_eq!(cancelled["status"], "success", "{cancelled}");
    wait_status(&client, &api.base, &token, &long, "CANCELLED").await;
    // The kernel that ran it is gone, so nothing ticks any more.
    let what = format!("the run on the worker (kernel {kernel}) stops");
    eventually(&what, Duration::from_secs(60), || async {
        if std::path::Path::new(&format!("/proc/{kernel}")).exists() {
            Err(format!("/proc/{kernel} still exists"))
        } else {
            Ok(())
        }
    })
    .await;
    let ticks = std::fs::read_to_string(&evidence).unwrap();
    assert!(
        ticks.lines().count() < 600,
        "the run was stopped, not finished"
    );
    // The api node ran nothing: every run was the worker's.
    let api_metrics = client
        .get(format!("{}/metrics", api.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !api_metrics.contains("hookbook_runs_total{"),
        "{api_metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_rate_limit() {
    let database = crate::common::db::fresh_postgres();
    let key = crate::common::nodes::key();
    add_admin(&database);
    let client = reqwest::Client::new();
    let flags = ["--role", "api", "--receiver-rate-limit", "10"];
    let nodes = [
        start_node(&database, &key, &flags),
        start_node(&database, &key, &flags),
    ];
    for node in &nodes {
        ready(&client, node).await;
    }
    let token = admin_token(&client, &nodes[0].base).await;
    let path = receiver(&client, &nodes[0].base, &token, "print(1)").await;
    // Both nodes have reported themselves (every 2 s) and learnt of each other.
    for node in &nodes {
        let what = format!("{} learns of the other node", node.base);
        eventually(&what, Duration::from_secs(60), || async {
            let text = client
                .get(format!("{}/metrics", node.base))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if text.contains("hookbook_nodes_taking_events 2") {
                Ok(())
            } else {
                Err(text)
            }
        })
        .await;
    }
    // A burst of 20 deliveries per node, early in one second.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1000 - u64::from(now.subsec_millis()))).await;
    let second = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let first_second = second();
    let mut sends = Vec::new();
    for i in 0..40 {
        let url = format!("{}{path}", nodes[i % 2].base);
        let client = client.clone();
        sends.push(tokio::spawn(async move {
            (
                i % 2,
                send(&client, &url, &format!(r#"{{"i": {i}}}"#)).await.0,
            )
        }));
    }
    let mut accepted = [0, 0];
    for s in sends {
        match s.await.unwrap() {
            (node, 200) => accepted[node] += 1,
            (_, 429) => {}
            (_, other) => panic!("unexpected status {other}"),
        }
    }
    // On a loaded machine the burst may spill into the next second, where
    // each node may admit its share again.
    let seconds = second() - first_second + 1;
    for (node, n) in accepted.iter().enumerate() {
        assert!(
            *n >= 5 && *n as u64 <= 5 * seconds,
            "node {node} admitted {n} in {seconds} s: each node's share is 5 of 10 per second"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_queue_limit() {
    let database = crate::common::db::fresh_postgres();
    let key = crate::common::nodes::key();
    add_admin(&database);
    let client = reqwest::Client::new();
    let flags = ["--role", "api", "--max-queue-depth", "7"];
    let nodes = [
        start_node(&database, &key, &flags),
        start_node(&database, &key, &flags),
    ];
    for node in &nodes {
        ready(&client, node).await;
    }
    let token = admin_token(&client, &nodes[0].base).await;
    let path = receiver(&client, &nodes[0].base, &token, "print(1)").await;
    let mut sends = Vec::new();
    for i in 0..20 {
        let url = format!("{}{path}", nodes[i % 2].base);
        let client = client.clone();
        sends.push(tokio::spawn(async move {
            send(&client, &url, &format!(r#"{{"i": {i}}}"#)).await.0
        }));
    }
    let mut statuses = Vec::new();
    for s in sends {
        statuses.push(s.await.unwrap());
    }
    let accepted = statuses.iter().filter(|s| **s == 200).count();
    let full = statuses.iter().filter(|s| **s == 503).count();
    assert_eq!((accepted, full), (7, 13), "{statuses:?}");
}

#[tokio::test]
async fn migrate_creates_the_tables_and_can_run_again() {
    let database = crate::common::db::fresh_postgres();
    for _ in 0..2 {
        let out = Command::new(BIN)
            .args(["migrate", "--database-url", &database])
            .current_dir(tempfile::tempdir().unwrap().path())
            .env_remove("HOOKBOOK_ENCRYPTION_KEY")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("is up to date"), "{said}");
    }
    add_admin(&database);
    let bad = Command::new(BIN)
        .args([
            "migrate",
            "--database-url",
            "postgres://root@127.0.0.1:1/nowhere",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(
        said.contains("cannot connect to the database postgres://root@127.0.0.1:1/nowhere"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_moves_a_sqlite_installation_to_postgres_with_nothing_lost() {
    let client = reqwest::Client::new();
    let key = crate::common::nodes::key();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("hookbook.db").display());
    add_admin(&sqlite);
    let flags = ["--max-concurrent-runs", "1"];
    let old = start_node(&sqlite, &key, &flags);
    ready(&client, &old).await;
    let token = admin_token(&client, &old.base).await;
    let path = receiver(&client, &old.base, &token, "print(webhookPayload)").await;
    let (status, answer) = send(&client, &format!("{}{path}", old.base), r#"{"a": 1}"#).await;
    assert_eq!(status, 200);
    let ran = answer["jobId"].as_str().unwrap().to_string();
    wait_status(&client, &old.base, &token, &ran, "COMPLETED").await;
    // A replay shares its original's event: both come along, linked.
    let replayed: Value = client
        .post(format!("{}{JOBS}/{ran}/replay", old.base))
        .form(&[("f", "json"), ("token", &token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let replay = replayed["jobId"].as_str().expect("a replay").to_string();
    wait_status(&client, &old.base, &token, &replay, "COMPLETED").await;
    // Retry policies come along: the site's and the receiver's own.
    let receiver_id = path.rsplit('/').next().unwrap().to_string();
    let policies = [
        "/notebooks/admin/notebooks/retryPolicy".to_string(),
        format!("/notebooks/admin/notebooks/webhookReceivers/{receiver_id}/retryPolicy"),
    ];
    for (policy, attempts) in policies.iter().zip(["3", "4"]) {
        let r = client
            .post(format!("{}{policy}/update", old.base))
            .form(&[("f", "json"), ("token", &token), ("maxAttempts", attempts)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // So do the system properties.
    let properties = "/notebooks/admin/system/properties";
    let r = client
        .post(format!("{}{properties}/update", old.base))
        .form(&[
            ("f", "json"),
            ("token", &token),
            ("properties", r#"{"webSocketSize": 32}"#),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let notebook_before = client
        .get(format!("{}{JOBS}/{ran}/notebook", old.base))
        .query(&[("token", &token)])
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let receivers_before: Value = client
        .get(format!(
            "{}/notebooks/admin/notebooks/webhookReceivers",
            old.base
        ))
        .query(&[("f", "json"), ("token", &token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    drop(old);

    let postgres = crate::common::db::fresh_postgres();
    let out = Command::new(BIN)
        .args(["copy", "--from", &sqlite, "--to", &postgres])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("copied 1 users, 1 items, 1 receivers and 2 jobs"),
        "{said}"
    );
    // Copying again into the now full database is refused, saying why.
    let again = Command::new(BIN)
        .args(["copy", "--from", &sqlite, "--to", &postgres])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds users or jobs"));

    let new = start_node(&postgres, &key, &flags);
    ready(&client, &new).await;
    let token = admin_token(&client, &new.base).await;
    let properties_after: Value = client
        .get(format!("{}{properties}", new.base))
        .query(&[("f", "json"), ("token", &token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(properties_after, serde_json::json!({"webSocketSize": 32}));
    let receivers_after: Value = client
        .get(format!(
            "{}/notebooks/admin/notebooks/webhookReceivers",
            new.base
        ))
        .query(&[("f", "json"), ("token", &token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let strip = |v: &Value| {
        let mut v = v["webhookReceivers"].clone();
        for r in v.as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("url");
        }
        v
    };
    assert_eq!(strip(&receivers_before), strip(&receivers_after));
    for (policy, attempts) in policies.iter().zip([3, 4]) {
        let copied: Value = client
            .get(format!("{}{policy}", new.base))
            .query(&[("f", "json"), ("token", &token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(copied["maxAttempts"], attempts, "{policy}: {copied}");
    }
    let old_job = job(&client, &new.base, &token, &ran).await;
    assert_eq!(old_job["status"], "COMPLETED", "{old_job}");
    let replay_job = job(&client, &new.base, &token, &replay).await;
    assert_eq!(replay_job["replayOf"], ran.as_str(), "{replay_job}");
    let notebook_after = client
        .get(format!("{}{JOBS}/{ran}/notebook", new.base))
        .query(&[("token", &token)])
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        notebook_before, notebook_after,
        "the executed notebook came along"
    );
    // The sealed secret still verifies; the copied event id is a duplicate
    // no more than before, and a new delivery runs.
    let (status, answer) = send(&client, &format!("{}{path}", new.base), r#"{"b": 2}"#).await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["jobId"].as_str().unwrap().to_string();
    wait_status(&client, &new.base, &token, &id, "COMPLETED").await;
}

/// Waits (bounded) for a process that must end by itself; its exit and
/// standard error.
fn ends_by_itself(mut process: crate::common::process::Process) -> (bool, String) {
    let status = eventually_blocking("it stops by itself", Duration::from_secs(120), || {
        process
            .try_wait()
            .unwrap()
            .ok_or("still running".to_string())
    });
    let mut err = String::new();
    use std::io::Read as _;
    process
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.success(), err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_or_migrate_with_another_key_refuses_to_start_naming_the_key() {
    let database = crate::common::db::fresh_postgres();
    let key = crate::common::nodes::key();
    add_admin(&database);
    let client = reqwest::Client::new();
    let node = start_node(&database, &key, &["--max-concurrent-runs", "0"]);
    ready(&client, &node).await;
    let other = crate::common::nodes::key();
    let dir = tempfile::tempdir().unwrap();
    let wrong = crate::common::process::Process::spawn(
        Command::new(BIN)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--max-concurrent-runs",
                "0",
            ])
            .args([
                "--database-url",
                &database,
                "--encryption-key",
                &other,
                "--log",
                "warn",
            ])
            .args(["--data-dir", dir.path().to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped()),
    );
    let (ok, err) = ends_by_itself(wrong);
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--encryption-key"), "{err}");
    assert!(err.contains("cannot open this site's secrets"), "{err}");
    for (given, works) in [(&other, false), (&key, true)] {
        let out = Command::new(BIN)
            .args([
                "migrate",
                "--database-url",
                &database,
                "--encryption-key",
                given,
            ])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(
            out.status.success(),
            works,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The node with the site's key is unaffected.
    let health = client
        .get(format!("{}/healthz", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
