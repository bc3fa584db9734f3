//! The `Store` contract, on both databases in one run: a fresh SQLite file
//! and a fresh PostgreSQL database per test. What the queue promises (one
//! claim per job, leases, takeover once, late results refused), what intake
//! promises (duplicates, the queue limit) and what nodes tell each other.

use hookbook::domain::job::{JobEnd, Lease};

use hookbook::domain::retry::PolicyScope;

use hookbook::domain::notice::{Channel, NoticeStatus};

use crate::common::db::{event, stores};

use std::collections::HashSet;
use std::time::Duration;

use hookbook::domain::event::SignedPart;
use hookbook::domain::ids::{ItemId, JobId, NodeId, ReceiverId};
use hookbook::domain::job::{JobInputs, JobStatus};
use hookbook::domain::retry::{Failure, RetryPolicy};
use hookbook::domain::time::Millis;
use hookbook::domain::user::Username;
use hookbook::store::{Acceptance, NewEvent, NewJob, NewReplay, Orphans, Signal, Store};

fn new_job(submitted: i64) -> NewJob {
    NewJob {
        id: JobId::generate(),
        item_id: ItemId::generate(),
        username: Username::parse("alice").unwrap(),
        parameters: "{}".into(),
        timeout_minutes: None,
        inputs: JobInputs::default(),
        submitted: Millis(submitted),
    }
}

/// A job's end now, with `status` and nothing else.
fn ended(status: JobStatus) -> JobEnd<'static> {
    JobEnd {
        status,
        end: Millis::now(),
        messages: &[],
        notebook: None,
        first_cell: None,
        item: None,
    }
}

fn lease(node: NodeId, from_now_ms: i64) -> Lease {
    Lease {
        node,
        until: Millis(Millis::now().0 + from_now_ms),
    }
}

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
async fn an_event_keeps_which_part_its_signature_covered() {
    for (name, store, _dir) in stores().await {
        let receiver = ReceiverId::generate();
        let mut events = Vec::new();
        for signed in [SignedPart::Body, SignedPart::PayloadField] {
            events.push(NewEvent {
                signed,
                ..event(receiver, None)
            });
        }
        let ids: Vec<_> = events.iter().map(|e| e.event_id).collect();
        store.accept_events(events, 100).await.unwrap();
        let read = |id| {
            let store = store.clone();
            async move { store.event(&id).await.unwrap().unwrap().signed }
        };
        assert_eq!(read(ids[0]).await, SignedPart::Body, "{name}");
        assert_eq!(read(ids[1]).await, SignedPart::PayloadField, "{name}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicates_are_caught_within_a_batch_across_batches_and_racing() {
    for (name, store, _dir) in stores().await {
        let receiver = ReceiverId::generate();
        let answers = store
            .accept_events(
                vec![
                    event(receiver, Some("d1")),
                    event(receiver, Some("d1")),
                    event(receiver, None),
                    event(receiver, None),
                ],
                1000,
            )
            .await
            .unwrap();
        let Acceptance::Accepted { job_id: first } = answers[0] else {
            panic!("{name}: {answers:?}")
        };
        assert_eq!(answers[1], Acceptance::Duplicate { job_id: first });
        assert!(matches!(answers[2], Acceptance::Accepted { .. }));
        assert!(matches!(answers[3], Acceptance::Accepted { .. }));
        let later = store
            .accept_events(vec![event(receiver, Some("d1"))], 1000)
            .await
            .unwrap();
        assert_eq!(later, vec![Acceptance::Duplicate { job_id: first }]);
        // The same id at another receiver is another delivery.
        let elsewhere = store
            .accept_events(vec![event(ReceiverId::generate(), Some("d1"))], 1000)
            .await
            .unwrap();
        assert!(matches!(elsewhere[0], Acceptance::Accepted { .. }));
        // Ten batches racing with one delivery id: one job.
        let mut racers = Vec::new();
        for _ in 0..10 {
            let store = store.clone();
            racers.push(tokio::spawn(async move {
                store
                    .accept_events(vec![event(receiver, Some("race"))], 1000)
                    .await
                    .unwrap()[0]
            }));
        }
        let mut jobs = HashSet::new();
        let mut accepted = 0;
        for r in racers {
            match r.await.unwrap() {
                Acceptance::Accepted { job_id } => {
                    accepted += 1;
                    jobs.insert(job_id);
                }
                Acceptance::Duplicate { job_id } => {
                    jobs.insert(job_id);
                }
                Acceptance::QueueFull => panic!("{name}: the queue is not full"),
            }
        }
        assert_eq!((accepted, jobs.len()), (1, 1), "{name}");
        assert_eq!(store.queue_depth().await.unwrap(), 5, "{name}");
        let log = store.deliveries(&receiver, 100).await.unwrap();
        assert_eq!(log.len(), 15, "{name}: one line per delivery");
    }
}

#[tokio::test]
async fn the_queue_limit_refuses_what_does_not_fit() {
    for (name, store, _dir) in stores().await {
        let receiver = ReceiverId::generate();
        let answers = store
            .accept_events((0..5).map(|_| event(receiver, None)).collect(), 3)
            .await
            .unwrap();
        let full = answers
            .iter()
            .filter(|a| **a == Acceptance::QueueFull)
            .count();
        assert_eq!(full, 2, "{name}: {answers:?}");
        assert_eq!(store.queue_depth().await.unwrap(), 3, "{name}");
        let node = NodeId::generate();
        store
            .claim_job(Millis::now(), &lease(node, 60_000), 0)
            .await
            .unwrap()
            .unwrap();
        let more = store
            .accept_events(vec![event(receiver, None)], 3)
            .await
            .unwrap();
        assert!(matches!(more[0], Acceptance::Accepted { .. }), "{name}");
    }
}

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
async fn a_replay_runs_its_originals_event_and_keeps_it_when_the_original_goes() {
    for (name, store, _dir) in stores().await {
        let receiver = ReceiverId::generate();
        let e = event(receiver, Some("d-1"));
        let (original, event_id) = (e.job_id, e.event_id);
        store.accept_events(vec![e], 100).await.unwrap();
        let replay = NewReplay {
            id: JobId::generate(),
            of: original,
            item_id: ItemId::generate(),
            username: Username::parse("bob").unwrap(),
            parameters: r#"{"x": 1}"#.into(),
            submitted: Millis::now(),
        };
        assert!(store.replay_job(&replay).await.unwrap(), "{name}");
        let missing = NewReplay {
            id: JobId::generate(),
            of: JobId::generate(),
            ..replay.clone()
        };
        assert!(!store.replay_job(&missing).await.unwrap(), "{name}");
        let stored = store.job(&replay.id).await.unwrap().unwrap();
        assert_eq!(stored.replay_of, Some(original), "{name}");
        assert_eq!(stored.event_id, Some(event_id), "{name}");
        assert_eq!(stored.receiver_id, Some(receiver), "{name}");
        assert_eq!(stored.username.as_str(), "bob", "{name}");
        assert_eq!(store.queue_depth().await.unwrap(), 2, "{name}");
        // The same delivery again is still a duplicate of the original.
        let again = store
            .accept_events(vec![event(receiver, Some("d-1"))], 100)
            .await
            .unwrap();
        assert!(
            matches!(again[0], Acceptance::Duplicate { job_id } if job_id == original),
            "{name}: {again:?}"
        );
        // The original ends and is pruned; the replay still has its event.
        store.cancel_job(&original, Millis(1)).await.unwrap();
        assert_eq!(store.prune_jobs(Millis(2)).await.unwrap(), 1, "{name}");
        assert!(store.job(&original).await.unwrap().is_none(), "{name}");
        let kept = store.event(&event_id).await.unwrap();
        assert!(kept.is_some(), "{name}: the replay's event stays");
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

/// Accepts one delivery to `receiver` and returns its job's id.
async fn webhook_job(store: &dyn Store, receiver: ReceiverId) -> JobId {
    let e = event(receiver, None);
    let job = e.job_id;
    let accepted = store.accept_events(vec![e], 1_000).await.unwrap();
    assert_eq!(accepted, [Acceptance::Accepted { job_id: job }]);
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retry_policies_decide_what_a_lost_node_and_a_failed_attempt_get() {
    for (name, store, _dir) in stores().await {
        let (patient, strict) = (ReceiverId::generate(), ReceiverId::generate());
        let three = RetryPolicy::new(3, 0, 1.0, 0, vec![Failure::LostNode]).unwrap();
        let errors_only = RetryPolicy::new(5, 60, 2.0, 600, vec![Failure::Error]).unwrap();
        let scope = PolicyScope::Receiver;
        store
            .set_retry_policy(scope(patient), Some(&three))
            .await
            .unwrap();
        store
            .set_retry_policy(scope(strict), Some(&errors_only))
            .await
            .unwrap();
        let site = store.effective_retry_policy(None).await.unwrap();
        assert_eq!(site.scope, PolicyScope::Site, "{name}");
        assert_eq!(site.policy, RetryPolicy::default(), "{name}");
        let own = store.effective_retry_policy(Some(&patient)).await.unwrap();
        assert_eq!((own.scope, own.policy), (scope(patient), three.clone()));

        // A receiver that retries lost nodes three times: taken over twice,
        // then failed; the claim records the most attempts.
        let job = webhook_job(&*store, patient).await;
        for attempt in 1..=3 {
            let claimed = store
                .claim_job(Millis::now(), &lease(NodeId::generate(), -1), 0)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(claimed.id, job, "{name}");
            assert_eq!((claimed.attempts, claimed.max_attempts), (attempt, Some(3)));
            let expected = if attempt < 3 { (1, 0) } else { (0, 1) };
            let recovered = store
                .recover_jobs(Millis::now(), "lost", Orphans::Expired)
                .await
                .unwrap();
            assert_eq!(recovered, expected, "{name}: attempt {attempt}");
        }
        // One whose policy does not name lost nodes fails at the first loss.
        let job = webhook_job(&*store, strict).await;
        let claimed = store
            .claim_job(Millis::now(), &lease(NodeId::generate(), -1), 0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((claimed.id, claimed.max_attempts), (job, Some(5)), "{name}");
        let recovered = store
            .recover_jobs(Millis::now(), "lost", Orphans::Expired)
            .await
            .unwrap();
        assert_eq!(recovered, (0, 1), "{name}");

        // A failed attempt waits for its time: no claim takes it before.
        let job = webhook_job(&*store, strict).await;
        let node = NodeId::generate();
        store
            .claim_job(Millis::now(), &lease(node, 60_000), 0)
            .await
            .unwrap()
            .unwrap();
        let due = Millis(Millis::now().0 + 60_000);
        let messages = ["Attempt 1 of 5 failed".to_string()];
        assert!(store
            .retry_job(&node, &job, due, &messages, None)
            .await
            .unwrap());
        let waiting = store.job(&job).await.unwrap().unwrap();
        assert_eq!(waiting.status, JobStatus::Submitted, "{name}");
        assert_eq!((waiting.retry_at, waiting.messages.len()), (Some(due), 1));
        let early = store
            .claim_job(Millis::now(), &lease(node, 60_000), 0)
            .await
            .unwrap();
        assert!(early.is_none(), "{name}: claimed before it was due");
        let late = store
            .claim_job(Millis(due.0 + 1), &lease(node, 60_000), 0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((late.id, late.attempts, late.retry_at), (job, 2, None));
        assert!(
            !store
                .retry_job(&NodeId::generate(), &job, due, &messages, None)
                .await
                .unwrap(),
            "{name}: only the node holding the job puts it back"
        );

        // Removing a receiver's own policy makes it follow the site's; the
        // site's cannot be removed.
        store.set_retry_policy(scope(strict), None).await.unwrap();
        store
            .set_retry_policy(PolicyScope::Site, None)
            .await
            .unwrap();
        let follows = store.effective_retry_policy(Some(&strict)).await.unwrap();
        assert_eq!(follows.scope, PolicyScope::Site, "{name}");
        let all = store.retry_policies().await.unwrap();
        assert_eq!(all.len(), 2, "{name}: the site's and the patient one's");
        assert_eq!(all[0].scope, PolicyScope::Site, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_job_makes_its_notices_in_the_same_transaction_and_nodes_take_turns() {
    use hookbook::store::DestinationRecord;
    for (name, store, _dir) in stores().await {
        let alice = Username::parse("alice").unwrap();
        let destination = DestinationRecord {
            username: alice.clone(),
            url: Some("https://hooks.example.com/n".into()),
            secret: b"sealed".to_vec(),
            email: Some("ops@example.com".into()),
            modified: Millis::now(),
        };
        store
            .set_notice_destination(&alice, Some(&destination))
            .await
            .unwrap();
        // A completed job and a cancelled one make none; a failed one makes
        // one per channel.
        let node = NodeId::generate();
        let mut finished = Vec::new();
        for status in [JobStatus::Completed, JobStatus::Failed] {
            let job = new_job(1);
            store.add_job(&job).await.unwrap();
            store
                .claim_job(Millis::now(), &lease(node, 60_000), 0)
                .await
                .unwrap()
                .unwrap();
            assert!(store
                .finish_job(&node, &job.id, &ended(status))
                .await
                .unwrap());
            finished.push(job.id);
        }
        let notices = store.notices(Some(&alice), 10).await.unwrap();
        assert_eq!(notices.len(), 2, "{name}: {notices:?}");
        assert!(notices.iter().all(|n| n.job_id == finished[1]), "{name}");
        let channels: HashSet<Channel> = notices.iter().map(|n| n.channel).collect();
        assert_eq!(channels, HashSet::from([Channel::Webhook, Channel::Email]));

        // A claim keeps a notice from other nodes until its lease ends.
        let now = Millis::now();
        let first = store
            .claim_notice(now, Millis(now.0 + 60_000))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.attempts, 1, "{name}");
        let second = store
            .claim_notice(now, Millis(now.0 + 60_000))
            .await
            .unwrap()
            .unwrap();
        assert_ne!(first.channel, second.channel, "{name}: the other one");
        assert!(store
            .claim_notice(now, Millis(now.0 + 60_000))
            .await
            .unwrap()
            .is_none());
        // Tried again when due; delivered is final.
        store
            .record_notice(&first, NoticeStatus::Pending, now, "answered HTTP 503")
            .await
            .unwrap();
        let again = store
            .claim_notice(now, Millis(now.0 + 60_000))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((again.channel, again.attempts), (first.channel, 2));
        store
            .record_notice(&again, NoticeStatus::Delivered, now, "delivered (HTTP 200)")
            .await
            .unwrap();
        let after = store.notices(None, 10).await.unwrap();
        let delivered = after.iter().find(|n| n.channel == first.channel).unwrap();
        assert_eq!(delivered.status, NoticeStatus::Delivered, "{name}");
        assert_eq!(delivered.last_outcome, "delivered (HTTP 200)");

        // A job failed by a lost node's recovery makes its notices too.
        let job = new_job(2);
        store.add_job(&job).await.unwrap();
        store
            .claim_job(Millis::now(), &lease(node, -1), 0)
            .await
            .unwrap()
            .unwrap();
        let strict = RetryPolicy::new(1, 0, 1.0, 0, vec![]).unwrap();
        store
            .set_retry_policy(PolicyScope::Site, Some(&strict))
            .await
            .unwrap();
        let recovered = store
            .recover_jobs(Millis::now(), "lost", Orphans::Expired)
            .await
            .unwrap();
        assert_eq!(recovered, (0, 1), "{name}");
        let all = store.notices(Some(&alice), 10).await.unwrap();
        assert_eq!(
            all.iter().filter(|n| n.job_id == job.id).count(),
            2,
            "{name}"
        );
    }
}
