//! What nodes tell each other through the store: who is alive and taking
//! events, and PostgreSQL's signals of new jobs and cancellations.

use crate::common::db::{event, stores};
use hookbook::domain::ids::{NodeId, ReceiverId};
use hookbook::domain::time::Millis;
use hookbook::store::Signal;
use std::time::Duration;

use super::lease;

#[tokio::test]
async fn nodes_count_those_taking_events_and_forget_those_gone() {
    for (name, store, _dir) in stores().await {
        let now = Millis::now();
        let (api, worker) = (NodeId::generate(), NodeId::generate());
        assert_eq!(
            store
                .node_alive(&api, true, now, Millis(now.0 - 6000))
                .await
                .unwrap(),
            1,
            "{name}"
        );
        assert_eq!(
            store
                .node_alive(&worker, false, now, Millis(now.0 - 6000))
                .await
                .unwrap(),
            1,
            "{name}: a worker is not counted, the api node is"
        );
        let other = NodeId::generate();
        assert_eq!(
            store
                .node_alive(&other, true, now, Millis(now.0 - 6000))
                .await
                .unwrap(),
            2,
            "{name}"
        );
        // Seen too long ago: no longer counted.
        let later = Millis(now.0 + 60_000);
        assert_eq!(
            store
                .node_alive(&other, true, later, Millis(later.0 - 6000))
                .await
                .unwrap(),
            1,
            "{name}"
        );
        store.node_gone(&other).await.unwrap();
        assert_eq!(
            store
                .node_alive(&api, true, later, Millis(later.0 - 6000))
                .await
                .unwrap(),
            1,
            "{name}"
        );
    }
}

#[tokio::test]
async fn postgres_tells_other_nodes_about_new_jobs_and_cancellations() {
    for (name, store, _dir) in stores().await {
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let watching = store.watch(tx).await.unwrap();
        assert_eq!(watching, name == "postgres", "{name}");
        if !watching {
            continue;
        }
        store
            .accept_events(vec![event(ReceiverId::generate(), None)], 10)
            .await
            .unwrap();
        assert_eq!(next(&mut rx).await, Signal::Queued);
        let node = NodeId::generate();
        let job = store
            .claim_job(Millis::now(), &lease(node, 60_000), 0)
            .await
            .unwrap()
            .unwrap();
        store.cancel_job(&job.id, Millis::now()).await.unwrap();
        assert_eq!(next(&mut rx).await, Signal::Cancelled(job.id));
    }
}

async fn next(rx: &mut tokio::sync::mpsc::Receiver<Signal>) -> Signal {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a signal within 10 s")
        .unwrap()
}
