//! A crash under load: signed deliveries from 16 connections at once, the
//! server killed with SIGKILL at a random moment and restarted, three times
//! or more, until at least 2,000 deliveries were acknowledged. Every
//! delivery that got a 200 has its job, no payload is stored twice, and
//! after the last restart every job reaches a final state. The moment is
//! random in progress, not in time (after a random number of this round's
//! deliveries were acknowledged), so a slow machine only makes it longer.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::nodes::{add_admin, admin_token, form, ready_at, serve};
use crate::common::wait::eventually;
use hookbook::domain::ids::JobId;
use hookbook::domain::job::JobStatus;
use rand::Rng as _;
use serde_json::Value;

/// At least this many kills, and more until 2,000 deliveries were
/// acknowledged; each round kills after 300 to 900 acknowledgements.
const ROUNDS: usize = 3;
const PER_ROUND: usize = 1500;
const CONNECTIONS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliveries_survive_sigkill_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let database = crate::common::db::database_url(dir.path());
    let key = crate::common::nodes::key();
    add_admin(&database);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .unwrap();
    let (mut child, base) = serve(dir.path(), &database, &key, &["--max-concurrent-runs", "0"]);
    ready_at(&client, &base).await;
    let token = admin_token(&client, &base).await;
    let (item, receiver_id) = crate::common::nodes::notebook_receiver(
        &client,
        &base,
        &token,
        "crash",
        crate::common::NOTEBOOK,
    )
    .await;
    let path = format!("/notebooks/rest/events/webhooks/{receiver_id}");

    // n -> the job its 200 named.
    let mut acknowledged: HashMap<u64, JobId> = HashMap::new();
    let mut base = base;
    let mut round = 0;
    while round < ROUNDS || acknowledged.len() < 2000 {
        let url = format!("{base}{path}");
        let kill_after = rand::thread_rng().gen_range(300..900);
        let counted = Arc::new(AtomicUsize::new(0));
        let mut senders = Vec::new();
        for c in 0..CONNECTIONS {
            let (client, url, counted) = (client.clone(), url.clone(), counted.clone());
            senders.push(tokio::spawn(async move {
                let mut answers = Vec::new();
                for i in (c..PER_ROUND).step_by(CONNECTIONS) {
                    let n = (round * PER_ROUND + i) as u64;
                    let body = format!(r#"{{"n": {n}}}"#);
                    let sent = client
                        .post(&url)
                        .header(
                            "x-esrihook-signature",
                            crate::common::events::esri(body.as_bytes()),
                        )
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await;
                    let Ok(r) = sent else { break };
                    if r.status() != 200 {
                        break;
                    }
                    let Ok(v) = r.json::<Value>().await else {
                        break;
                    };
                    let job = JobId::parse(v["jobId"].as_str().unwrap()).unwrap();
                    answers.push((n, job));
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                answers
            }));
        }
        let what = format!("round {round}: {kill_after} deliveries acknowledged");
        eventually(&what, Duration::from_secs(300), || async {
            match counted.load(Ordering::Relaxed) {
                n if n >= kill_after => Ok(()),
                n => Err(format!("only {n} of {kill_after} acknowledged")),
            }
        })
        .await;
        child.kill();
        let mut this_round = 0;
        for s in senders {
            for (n, job) in s.await.unwrap() {
                assert!(acknowledged.insert(n, job).is_none());
                this_round += 1;
            }
        }
        eprintln!(
            "round {round}: killed after {kill_after} acknowledgements, {this_round} acknowledged"
        );
        let (next, next_base) = serve(dir.path(), &database, &key, &["--max-concurrent-runs", "0"]);
        child = next;
        base = next_base;
        ready_at(&client, &base).await;
        round += 1;
    }

    // Every acknowledged delivery has its job; no payload was stored twice.
    let store = crate::common::db::store(dir.path()).await;
    let mut payloads = HashSet::new();
    let mut jobs = 0;
    let mut after = None;
    loop {
        let page = store.jobs_after(after, 500).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for job in page {
            jobs += 1;
            let event = store.event(&job.event_id.unwrap()).await.unwrap().unwrap();
            let body: Value = serde_json::from_slice(&event.body).unwrap();
            let n = body["n"].as_u64().unwrap();
            assert!(payloads.insert(n), "delivery {n} was stored twice");
            if let Some(acked) = acknowledged.get(&n) {
                assert_eq!(*acked, job.id, "delivery {n} kept the job its 200 named");
            }
        }
    }
    for n in acknowledged.keys() {
        assert!(payloads.contains(n), "acknowledged delivery {n} was lost");
    }
    eprintln!(
        "{} acknowledged, {jobs} stored (the rest were cut off by the kills)",
        acknowledged.len()
    );

    // Every job ends: with its notebook gone, each run fails at once,
    // saying why, on a server that runs jobs.
    let token = admin_token(&client, &base).await;
    form(
        &client,
        format!("{base}/notebooks/sharing/rest/content/users/admin/items/{item}/delete"),
        &[("token", &token), ("f", "json")],
    )
    .await;
    child.kill();
    let (mut child, base) = serve(dir.path(), &database, &key, &["--max-concurrent-runs", "2"]);
    ready_at(&client, &base).await;
    eventually(
        "no job waiting or executing",
        Duration::from_secs(240),
        || async {
            let waiting = store.queue_depth().await.unwrap();
            let (executing, _) = store
                .jobs(&hookbook::store::JobFilter {
                    status: Some(JobStatus::Executing),
                    limit: 1,
                    ..Default::default()
                })
                .await
                .unwrap();
            if waiting == 0 && executing.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{waiting} jobs still waiting, {} executing",
                    if executing.is_empty() { "none" } else { "some" }
                ))
            }
        },
    )
    .await;
    for job in acknowledged.values() {
        let record = store.job(job).await.unwrap().unwrap();
        assert_eq!(record.status, JobStatus::Failed, "{record:?}");
        assert!(
            record.messages[0].contains("no longer exists"),
            "{record:?}"
        );
    }
    child.kill();
}
