//! Several `hookbook serve` processes on one PostgreSQL database: events
//! sent to all of them, one node killed with SIGKILL while runs are in
//! flight. Every acknowledged event keeps exactly one job, every job ends,
//! and no notebook runs twice at the same time: each run leaves ticks in an
//! evidence file, tagged with its kernel's process id.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use base64::Engine as _;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use crate::common::nodes::{add_admin, form, ready, start_node, Node, PASSWORD};
use crate::common::wait::eventually;

const JOBS: &str = "/notebooks/admin/notebooks/jobs";

/// Ticks 30 times, 0.1 s apart (3 s: as long as a lease), each a line `n pid time`.
fn notebook(port: u16) -> String {
    let tick = format!(
        "{}import time\nfor _ in range(30):\n    evidence(f\"{{webhookPayload['n']}} KERNEL {{time.time()}}\")\n    time.sleep(0.1)",
        crate::common::evidence::sender(port)
    );
    serde_json::json!({
        "cells": [
            {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "source": "webhookPayload = {}", "outputs": [], "execution_count": null},
            {"cell_type": "code", "id": "t", "metadata": {}, "source": tick, "outputs": [], "execution_count": null}
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5
    })
    .to_string()
}

fn sign(body: &[u8]) -> String {
    let m = crate::common::events::mac(crate::common::SECRET.as_bytes(), &[body]);
    format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(m)
    )
}

/// Lines `n pid time` of the evidence file, as runs: per event number, per
/// kernel, the first and last tick and how many.
fn runs(evidence: &std::path::Path) -> BTreeMap<u64, BTreeMap<u64, (f64, f64, u32)>> {
    let text = std::fs::read_to_string(evidence).unwrap_or_default();
    let mut runs: BTreeMap<u64, BTreeMap<u64, (f64, f64, u32)>> = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(n), Some(pid), Some(t)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        // A kernel killed as it sent its line (the node this test stops)
        // is gone before the collector could name its process: that tick
        // has no kernel to count under.
        let Ok(pid) = pid.parse::<u64>() else {
            assert!(pid.starts_with("dir:"), "an evidence line: {line}");
            continue;
        };
        let (n, t): (u64, f64) = (n.parse().unwrap(), t.parse().unwrap());
        let run = runs.entry(n).or_default().entry(pid).or_insert((t, t, 0));
        run.0 = run.0.min(t);
        run.1 = run.1.max(t);
        run.2 += 1;
    }
    runs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_lose_one_and_every_acknowledged_event_runs_once_at_a_time() {
    let database = crate::common::db::fresh_postgres();
    let key = crate::common::nodes::key();
    let evidence_dir = tempfile::tempdir().unwrap();
    let evidence = evidence_dir.path().join("ticks.txt");
    let collector = crate::common::evidence::collect(&evidence);
    add_admin(&database);
    let flags = ["--max-concurrent-runs", "2", "--job-lease-seconds", "3"];
    let mut nodes: Vec<Node> = (0..3)
        .map(|_| start_node(&database, &key, &flags))
        .collect();
    let client = reqwest::Client::new();
    for node in &nodes {
        ready(&client, node).await;
    }
    let first = nodes[0].base.clone();
    let token = form(
        &client,
        format!("{first}/notebooks/sharing/rest/generateToken"),
        &[("username", "admin"), ("password", PASSWORD), ("f", "json")],
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, id) = crate::common::nodes::notebook_receiver(
        &client,
        &first,
        &token,
        "ticks",
        &notebook(collector),
    )
    .await;
    let path = format!("/notebooks/rest/events/webhooks/{id}");

    // 30 events, round robin over the three nodes, all at once.
    let mut sends = Vec::new();
    for n in 0..30u64 {
        let url = format!("{}{path}", nodes[n as usize % 3].base);
        let client = client.clone();
        sends.push(tokio::spawn(async move {
            let body = format!(r#"{{"n": {n}}}"#);
            let r = client
                .post(url)
                .header("x-esrihook-signature", sign(body.as_bytes()))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "every node accepts");
            let v: Value = r.json().await.unwrap();
            (n, v["jobId"].as_str().unwrap().to_string())
        }));
    }
    let mut acknowledged = BTreeMap::new();
    for s in sends {
        let (n, job) = s.await.unwrap();
        acknowledged.insert(n, job);
    }
    // Runs take 3 s each, six at a time: kill the second node mid-way
    // through one of its runs. Wait until one of its kernels has ticked
    // (a tick from a process descending from that node), freeze that kernel
    // so it cannot finish meanwhile, kill the node, then let the kernel go
    // on: it must notice its node's death and stop, unfinished.
    let victim = nodes[1].child.id();
    let frozen = eventually(
        "node 1 runs a notebook, frozen mid-run",
        Duration::from_secs(300),
        || async {
            let mid_run = runs(&evidence).values().find_map(|by_kernel| {
                by_kernel.iter().find_map(|(pid, span)| {
                    let pid = i32::try_from(*pid).ok()?;
                    (span.2 < 30 && crate::common::process::descends_from(pid, victim))
                        .then_some(pid)
                })
            });
            if let Some(pid) = mid_run {
                let pid = Pid::from_raw(pid);
                kill(pid, Signal::SIGSTOP).unwrap();
                let ticks = runs(&evidence)
                    .values()
                    .find_map(|k| k.get(&(pid.as_raw() as u64)).map(|s| s.2))
                    .unwrap_or(0);
                if ticks < 30 {
                    return Ok(pid);
                }
                // It finished between the two reads: pick another.
                kill(pid, Signal::SIGCONT).unwrap();
            }
            Err(format!("{:?}", runs(&evidence)))
        },
    )
    .await;
    nodes[1].child.kill();
    kill(frozen, Signal::SIGCONT).unwrap();

    let all = eventually("every job ends", Duration::from_secs(180), || async {
        let all = jobs(&client, &first, &token, &id).await;
        let done = all.iter().all(|j| {
            ["COMPLETED", "FAILED", "CANCELLED"].contains(&j["status"].as_str().unwrap_or(""))
        });
        if done && all.len() >= acknowledged.len() {
            Ok(all)
        } else {
            Err(format!("{all:?}"))
        }
    })
    .await;
    drop(nodes);

    // Exactly one job per acknowledged event.
    let stored: HashSet<String> = all
        .iter()
        .map(|j| j["jobId"].as_str().unwrap().to_string())
        .collect();
    let sent: HashSet<String> = acknowledged.values().cloned().collect();
    assert_eq!(
        all.len(),
        acknowledged.len(),
        "one job per acknowledged event"
    );
    assert_eq!(stored, sent);
    // Every job finished; a job lost twice may fail, saying so.
    for j in &all {
        match j["status"].as_str().unwrap() {
            "COMPLETED" => {}
            "FAILED" => {
                let job = j["jobId"].as_str().unwrap();
                let detail: Value = client
                    .get(format!("{first}{JOBS}/{job}"))
                    .query(&[("f", "json"), ("token", &token)])
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let message = detail["messages"][0].as_str().unwrap_or("");
                assert!(message.contains("node was lost"), "{detail}");
            }
            other => panic!("job ended {other}: {j}"),
        }
    }
    // No event's notebook ran twice at once; each completed event has a
    // whole run of 30 ticks.
    let runs = runs(&evidence);
    let mut interrupted = 0;
    for (n, by_kernel) in &runs {
        let mut spans: Vec<_> = by_kernel.values().collect();
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        for pair in spans.windows(2) {
            assert!(
                pair[0].1 < pair[1].0,
                "event {n} ran on two kernels at once: {by_kernel:?}"
            );
        }
        interrupted += spans.iter().filter(|s| s.2 < 30).count();
        let job = &acknowledged[n];
        let status = all.iter().find(|j| j["jobId"] == job.as_str()).unwrap()["status"].clone();
        if status == "COMPLETED" {
            assert!(spans.iter().any(|s| s.2 == 30), "event {n}: {by_kernel:?}");
        }
    }
    assert_eq!(runs.len(), 30, "every event's notebook ran");
    assert!(
        interrupted > 0,
        "the killed node was running notebooks, which stopped with it"
    );
    let frozen_ticks = runs
        .values()
        .find_map(|k| k.get(&(frozen.as_raw() as u64)).map(|s| s.2));
    assert!(
        frozen_ticks.is_some_and(|t| t < 30),
        "the run on the killed node stopped unfinished: {frozen_ticks:?} ticks"
    );
}

async fn jobs(client: &reqwest::Client, base: &str, token: &str, receiver: &str) -> Vec<Value> {
    let r: Value = client
        .get(format!("{base}{JOBS}"))
        .query(&[
            ("f", "json"),
            ("token", token),
            ("receiverId", receiver),
            ("num", "100"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["jobs"].as_array().cloned().unwrap_or_default()
}
