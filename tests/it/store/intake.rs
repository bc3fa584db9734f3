//! What intake's store promises on both databases: events keep which part was
//! signed, duplicates are caught however they race, and the queue limit
//! refuses what does not fit.

use crate::common::db::{event, stores};
use hookbook::domain::event::SignedPart;
use hookbook::domain::ids::{NodeId, ReceiverId};
use hookbook::domain::time::Millis;
use hookbook::store::{Acceptance, NewEvent};
use std::collections::HashSet;

use super::lease;

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
