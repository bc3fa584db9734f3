//! What follows a job on both databases: replays of its event, retry policies
//! after a lost node or a failed attempt, and failure notices made with its
//! end.

use crate::common::db::{event, stores};
use hookbook::domain::ids::{ItemId, JobId, NodeId, ReceiverId};
use hookbook::domain::job::JobStatus;
use hookbook::domain::notice::{Channel, NoticeStatus};
use hookbook::domain::retry::PolicyScope;
use hookbook::domain::retry::{Failure, RetryPolicy};
use hookbook::domain::time::Millis;
use hookbook::domain::user::Username;
use hookbook::store::{Acceptance, NewReplay, Orphans, Store};
use std::collections::HashSet;

use super::{ended, lease, new_job};

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
