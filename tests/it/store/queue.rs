//! The queue on both databases: one claim per job, the oldest first, leases
//! renewed and taken over once, requeues, the per-receiver limit, the queue's
//! depth, and deleting finished jobs.

use crate::common::db::{event, stores};
use hookbook::domain::ids::{NodeId, ReceiverId};
use hookbook::domain::job::JobStatus;
use hookbook::domain::time::Millis;
use hookbook::domain::user::Username;
use hookbook::store::{NewJob, Orphans};
use std::collections::HashSet;

use super::{ended, lease, new_job};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_never_take_the_same_job() {
    for (name, store, _dir) in stores().await {
        for i in 0..60 {
            store.add_job(&new_job(i)).await.unwrap();
        }
        let mut claimers = Vec::new();
        for _ in 0..6 {
            let store = store.clone();
            claimers.push(tokio::spawn(async move {
                let node = NodeId::generate();
                let mut mine = Vec::new();
                while let Some(job) = store
                    .claim_job(Millis::now(), &lease(node, 60_000), 0)
                    .await
                    .unwrap()
                {
                    assert_eq!(job.status, JobStatus::Executing);
                    mine.push(job.id);
                }
                mine
            }));
        }
        let mut all = Vec::new();
        for c in claimers {
            all.extend(c.await.unwrap());
        }
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(all.len(), 60, "{name}: every job claimed once");
        assert_eq!(unique.len(), 60, "{name}: no job claimed twice");
    }
}

#[tokio::test]
async fn claims_take_the_oldest_job_first() {
    for (name, store, _dir) in stores().await {
        let (late, early) = (new_job(2_000), new_job(1_000));
        store.add_job(&late).await.unwrap();
        store.add_job(&early).await.unwrap();
        let node = NodeId::generate();
        let first = store
            .claim_job(Millis::now(), &lease(node, 60_000), 0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.id, early.id, "{name}");
    }
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_once_then_the_job_fails() {
    for (name, store, _dir) in stores().await {
        let job = new_job(1);
        store.add_job(&job).await.unwrap();
        let (dead, alive) = (NodeId::generate(), NodeId::generate());
        let claimed = store
            .claim_job(Millis::now(), &lease(dead, -1), 0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.attempts, 1);
        assert_eq!(
            store
                .recover_jobs(Millis::now(), "lost", Orphans::Expired)
                .await
                .unwrap(),
            (1, 0),
            "{name}: queued again"
        );
        assert!(
            !store
                .finish_job(&dead, &job.id, &ended(JobStatus::Completed))
                .await
                .unwrap(),
            "{name}: the dead node's late result is refused"
        );
        let again = store
            .claim_job(Millis::now(), &lease(dead, -1), 0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.attempts, 2, "{name}");
        assert_eq!(
            store
                .recover_jobs(Millis::now(), "the node was lost", Orphans::Expired)
                .await
                .unwrap(),
            (0, 1),
            "{name}: failed the second time"
        );
        let failed = store.job(&job.id).await.unwrap().unwrap();
        assert_eq!(failed.status, JobStatus::Failed, "{name}");
        assert_eq!(failed.messages, vec!["the node was lost".to_string()]);
        // A lease that holds is never taken over.
        let held = new_job(2);
        store.add_job(&held).await.unwrap();
        store
            .claim_job(Millis::now(), &lease(alive, 60_000), 0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store
                .recover_jobs(Millis::now(), "lost", Orphans::Expired)
                .await
                .unwrap(),
            (0, 0),
            "{name}"
        );
        assert!(store
            .finish_job(&alive, &held.id, &ended(JobStatus::Completed))
            .await
            .unwrap());
    }
}

#[tokio::test]
async fn renewals_extend_leases_and_tell_which_jobs_are_still_held() {
    for (name, store, _dir) in stores().await {
        let node = NodeId::generate();
        let (a, b) = (new_job(1), new_job(2));
        store.add_job(&a).await.unwrap();
        store.add_job(&b).await.unwrap();
        for _ in 0..2 {
            store
                .claim_job(Millis::now(), &lease(node, -1), 0)
                .await
                .unwrap()
                .unwrap();
        }
        store.cancel_job(&b.id, Millis::now()).await.unwrap();
        let held = store.renew_leases(&lease(node, 60_000)).await.unwrap();
        assert_eq!(held, vec![a.id], "{name}: the cancelled job is not held");
        assert_eq!(
            store
                .recover_jobs(Millis::now(), "lost", Orphans::Expired)
                .await
                .unwrap(),
            (0, 0),
            "{name}: the renewed lease holds"
        );
        let other = store
            .renew_leases(&lease(NodeId::generate(), 60_000))
            .await
            .unwrap();
        assert!(other.is_empty(), "{name}");
    }
}

#[tokio::test]
async fn a_requeued_job_waits_again_without_counting_as_an_attempt() {
    for (name, store, _dir) in stores().await {
        let node = NodeId::generate();
        let job = new_job(1);
        store.add_job(&job).await.unwrap();
        store
            .claim_job(Millis::now(), &lease(node, 60_000), 0)
            .await
            .unwrap();
        store
            .requeue_job(&NodeId::generate(), &job.id, None)
            .await
            .unwrap();
        assert_eq!(
            store.job(&job.id).await.unwrap().unwrap().status,
            JobStatus::Executing,
            "{name}: another node cannot put it back"
        );
        store.requeue_job(&node, &job.id, None).await.unwrap();
        let back = store.job(&job.id).await.unwrap().unwrap();
        assert_eq!((back.status.as_str(), back.attempts), ("SUBMITTED", 0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_per_receiver_limit_holds_under_concurrent_claims() {
    for (name, store, _dir) in stores().await {
        let receiver = ReceiverId::generate();
        let events: Vec<_> = (0..10).map(|_| event(receiver, None)).collect();
        store.accept_events(events, 1000).await.unwrap();
        let mut claimers = Vec::new();
        for _ in 0..5 {
            let store = store.clone();
            claimers.push(tokio::spawn(async move {
                store
                    .claim_job(Millis::now(), &lease(NodeId::generate(), 60_000), 2)
                    .await
                    .unwrap()
            }));
        }
        let mut claimed = 0;
        for c in claimers {
            claimed += usize::from(c.await.unwrap().is_some());
        }
        assert_eq!(claimed, 2, "{name}: two runs of one receiver at most");
    }
}

#[tokio::test]
async fn the_queue_depth_follows_every_change_of_state() {
    for (name, store, _dir) in stores().await {
        let depth = || async { store.queue_depth().await.unwrap() };
        let node = NodeId::generate();
        let jobs: Vec<_> = (0..4).map(new_job).collect();
        for j in &jobs {
            store.add_job(j).await.unwrap();
        }
        assert_eq!(depth().await, 4, "{name}: added");
        let claimed = store
            .claim_job(Millis::now(), &lease(node, -1), 0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(depth().await, 3, "{name}: claimed");
        store.requeue_job(&node, &claimed.id, None).await.unwrap();
        assert_eq!(depth().await, 4, "{name}: requeued");
        store.cancel_job(&jobs[3].id, Millis::now()).await.unwrap();
        assert_eq!(depth().await, 3, "{name}: a waiting job cancelled");
        store
            .claim_job(Millis::now(), &lease(node, -1), 0)
            .await
            .unwrap()
            .unwrap();
        store
            .recover_jobs(Millis::now(), "lost", Orphans::Expired)
            .await
            .unwrap();
        assert_eq!(depth().await, 3, "{name}: taken over");
        let done = store
            .claim_job(Millis::now(), &lease(node, 60_000), 0)
            .await
            .unwrap()
            .unwrap();
        store
            .finish_job(&node, &done.id, &ended(JobStatus::Completed))
            .await
            .unwrap();
        assert_eq!(depth().await, 2, "{name}: finished");
        store.prune_jobs(Millis(i64::MAX)).await.unwrap();
        assert_eq!(depth().await, 2, "{name}: pruning keeps waiting jobs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_finished_jobs_takes_only_those_over_and_only_the_owners_when_asked() {
    for (name, store, _dir) in stores().await {
        let node = NodeId::generate();
        let bob = Username::parse("bob").unwrap();
        // alice: one of each end, one waiting, one running.
        let mut ends = Vec::new();
        for status in [JobStatus::Completed, JobStatus::Failed] {
            let job = new_job(1);
            store.add_job(&job).await.unwrap();
            let claimed = store
                .claim_job(Millis::now(), &lease(node, 60_000), 0)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(claimed.id, job.id, "{name}");
            store
                .finish_job(&node, &job.id, &ended(status))
                .await
                .unwrap();
            ends.push(job.id);
        }
        let cancelled = new_job(2);
        store.add_job(&cancelled).await.unwrap();
        store
            .cancel_job(&cancelled.id, Millis::now())
            .await
            .unwrap();
        ends.push(cancelled.id);
        let running = new_job(3);
        store.add_job(&running).await.unwrap();
        store
            .claim_job(Millis::now(), &lease(node, 60_000), 0)
            .await
            .unwrap()
            .unwrap();
        let waiting = new_job(4);
        store.add_job(&waiting).await.unwrap();
        // A finished webhook job, whose event goes with it.
        let e = event(ReceiverId::generate(), None);
        let (hooked, event_id) = (e.job_id, e.event_id);
        store.accept_events(vec![e], 100).await.unwrap();
        store.cancel_job(&hooked, Millis::now()).await.unwrap();
        ends.push(hooked);
        // bob's finished job.
        let bobs = NewJob {
            username: bob.clone(),
            ..new_job(5)
        };
        store.add_job(&bobs).await.unwrap();
        store.cancel_job(&bobs.id, Millis::now()).await.unwrap();

        let only_bob = store.delete_finished_jobs(Some(&bob)).await.unwrap();
        assert_eq!(only_bob, 1, "{name}: bob's own");
        assert!(store.job(&bobs.id).await.unwrap().is_none(), "{name}");
        for id in &ends {
            assert!(
                store.job(id).await.unwrap().is_some(),
                "{name}: alice's stay"
            );
        }
        assert_eq!(store.delete_finished_jobs(None).await.unwrap(), 4, "{name}");
        for id in &ends {
            assert!(
                store.job(id).await.unwrap().is_none(),
                "{name}: {id} is gone"
            );
        }
        assert!(
            store.event(&event_id).await.unwrap().is_none(),
            "{name}: its event too"
        );
        for id in [running.id, waiting.id] {
            assert!(
                store.job(&id).await.unwrap().is_some(),
                "{name}: {id} stays"
            );
        }
        assert_eq!(store.delete_finished_jobs(None).await.unwrap(), 0, "{name}");
    }
}
