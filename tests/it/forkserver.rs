//! Kernels forked from the fork server: they are its children rather than
//! cold Python starts, runs on them work, a fork server that dies takes its
//! kernels with it and is started again, and a fork server that cannot
//! start leaves kernels starting cold, said by `/healthz` and the metrics.

use std::time::Duration;

use crate::common::nodes::{add_admin, admin_token, notebook_receiver, ready_at, serve};
use crate::common::process::children_of;
use crate::common::wait::eventually;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

/// Whether `pid` exists and is not a zombie (an orphan may wait for init
/// to reap it).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat[stat.rfind(')').unwrap_or(0) + 1..]
            .split_whitespace()
            .next();
        !matches!(state, Some("Z") | Some("X") | None)
    })
}

async fn text(client: &reqwest::Client, url: String) -> String {
    match client.get(url).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits (bounded) until `path` of `base` shows `needle`.
async fn shows(client: &reqwest::Client, base: &str, path: &str, needle: &str) {
    let what = format!("{path} shows {needle:?}");
    eventually(&what, Duration::from_secs(120), || async {
        let page = text(client, format!("{base}{path}")).await;
        if page.contains(needle) {
            Ok(())
        } else {
            Err(page)
        }
    })
    .await;
}

/// Sends one signed event and waits for its job to end; returns the job.
async fn run(client: &reqwest::Client, base: &str, token: &str, receiver: &str) -> Value {
    let body = r#"{"n": 1}"#;
    let answer: Value = client
        .post(format!("{base}/notebooks/rest/events/webhooks/{receiver}"))
        .header(
            "x-esrihook-signature",
            crate::common::events::esri(body.as_bytes()),
        )
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job = answer["jobId"].as_str().expect("a job").to_string();
    eventually("the run ends", Duration::from_secs(120), || async {
        let j: Value = client
            .get(format!("{base}/notebooks/admin/notebooks/jobs/{job}"))
            .query(&[("f", "json"), ("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ["COMPLETED", "FAILED", "CANCELLED"].contains(&j["status"].as_str().unwrap_or("")) {
            Ok(j)
        } else {
            Err(j.to_string())
        }
    })
    .await
}

#[tokio::test]
async fn kernels_are_forked_and_a_fork_server_that_dies_is_started_again() {
    let dir = tempfile::tempdir().unwrap();
    let database = crate::common::db::database_url(dir.path());
    let key = crate::common::nodes::key();
    add_admin(&database);
    let client = reqwest::Client::new();
    let (server, base) = serve(dir.path(), &database, &key, &["--max-concurrent-runs", "2"]);
    ready_at(&client, &base).await;
    let token = admin_token(&client, &base).await;
    let (_, receiver) =
        notebook_receiver(&client, &base, &token, "forked", crate::common::NOTEBOOK).await;
    shows(&client, &base, "/metrics", "hookbook_warm_kernels 2").await;
    shows(&client, &base, "/metrics", "hookbook_fork_server_up 1").await;

    // The server has one child, the fork server; the warm kernels are its
    // children.
    let fork_servers = children_of(server.id());
    assert_eq!(fork_servers.len(), 1, "{fork_servers:?}");
    let fork_server = fork_servers[0];
    let kernels = children_of(fork_server as u32);
    assert_eq!(kernels.len(), 2, "{kernels:?}");
    let done = run(&client, &base, &token, &receiver).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");

    // Killed, the fork server takes its kernels with it; the next kernel
    // starts it again.
    kill(Pid::from_raw(fork_server), Signal::SIGKILL).unwrap();
    eventually(
        "the kernels end with their fork server",
        Duration::from_secs(30),
        || async {
            let alive: Vec<_> = kernels.iter().filter(|k| running(**k)).collect();
            if alive.is_empty() {
                Ok(())
            } else {
                Err(format!("kernels {alive:?} still running"))
            }
        },
    )
    .await;
    let done = run(&client, &base, &token, &receiver).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    eventually(
        "the fork server is started again (/healthz ok)",
        Duration::from_secs(60),
        || async {
            let health = text(&client, format!("{base}/healthz")).await;
            if health == "ok\n" {
                Ok(())
            } else {
                Err(health)
            }
        },
    )
    .await;
    shows(&client, &base, "/metrics", "hookbook_fork_server_up 1").await;
    let again = children_of(server.id());
    assert_eq!(again.len(), 1, "{again:?}");
    assert_ne!(again[0], fork_server, "a new fork server");
}

#[tokio::test]
async fn without_a_fork_server_kernels_start_cold_and_health_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let database = crate::common::db::database_url(dir.path());
    let key = crate::common::nodes::key();
    add_admin(&database);
    let client = reqwest::Client::new();
    // A preload that cannot be imported: the fork server never starts.
    let flags = [
        "--max-concurrent-runs",
        "1",
        "--preload",
        "hookbook_no_such_module",
    ];
    let (_server, base) = serve(dir.path(), &database, &key, &flags);
    ready_at(&client, &base).await;
    let token = admin_token(&client, &base).await;
    let (_, receiver) =
        notebook_receiver(&client, &base, &token, "cold", crate::common::NOTEBOOK).await;
    shows(&client, &base, "/metrics", "hookbook_warm_kernels 1").await;
    let metrics = text(&client, format!("{base}/metrics")).await;
    assert!(metrics.contains("hookbook_fork_server_up 0"), "{metrics}");
    assert_eq!(
        text(&client, format!("{base}/healthz")).await,
        "ok\nkernels start cold: the fork server is down\n"
    );
    let done = run(&client, &base, &token, &receiver).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
}
