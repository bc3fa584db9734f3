//! A running job's progress in the store, on both databases: kept only by
//! the node holding the job, read only while it executes, replaced by the
//! next, gone when the attempt ends.

use hookbook::domain::ids::{ItemId, JobId, NodeId};
use hookbook::domain::job::{JobEnd, JobInputs, JobStatus, Lease};
use hookbook::domain::time::Millis;
use hookbook::domain::user::Username;
use hookbook::store::NewJob;

use crate::common::db::stores;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_node_running_a_job_keeps_its_progress_and_it_goes_with_the_attempt() {
    for (name, store, _dir) in stores().await {
        let job = NewJob {
            id: JobId::generate(),
            item_id: ItemId::generate(),
            username: Username::parse("alice").unwrap(),
            parameters: "{}".into(),
            timeout_minutes: None,
            inputs: JobInputs::default(),
            submitted: Millis(1_000),
        };
        store.add_job(&job).await.unwrap();
        let node = NodeId::generate();
        let now = Millis::now();
        // Waiting: nobody runs it, so nothing is kept.
        assert!(
            !store
                .save_progress(&node, &job.id, b"{}", now)
                .await
                .unwrap(),
            "{name}"
        );
        let lease = Lease {
            node,
            until: Millis(now.0 + 60_000),
        };
        let claimed = store.claim_job(now, &lease, 0).await.unwrap().unwrap();
        assert_eq!(claimed.id, job.id, "{name}");
        assert!(
            store.job_progress(&job.id).await.unwrap().is_none(),
            "{name}"
        );
        let other = NodeId::generate();
        assert!(
            !store
                .save_progress(&other, &job.id, b"{\"x\":0}", now)
                .await
                .unwrap(),
            "{name}: another node's progress is refused"
        );
        assert!(
            store
                .save_progress(&node, &job.id, b"{\"x\":1}", now)
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            store
                .save_progress(&node, &job.id, b"{\"x\":2}", now)
                .await
                .unwrap(),
            "{name}"
        );
        assert_eq!(
            store.job_progress(&job.id).await.unwrap().as_deref(),
            Some(&b"{\"x\":2}"[..]),
            "{name}: the latest"
        );
        let end = JobEnd {
            status: JobStatus::Completed,
            end: Millis::now(),
            messages: &[],
            notebook: None,
            first_cell: None,
            item: None,
        };
        assert!(
            store.finish_job(&node, &job.id, &end).await.unwrap(),
            "{name}"
        );
        assert!(
            store.job_progress(&job.id).await.unwrap().is_none(),
            "{name}: an ended job shows no progress"
        );
        store.clear_progress(&job.id).await.unwrap();
        assert!(
            !store
                .save_progress(&node, &job.id, b"{}", now)
                .await
                .unwrap(),
            "{name}"
        );
    }
}
