//! A claim: the oldest due job, and none that is not due yet.

use std::time::Duration;

use super::scripted::Script;
use super::Bench;
use crate::worker::Step;
use hookbook_core::domain::job::JobStatus;
use hookbook_core::domain::time::Millis;

#[tokio::test(start_paused = true)]
async fn a_step_runs_the_oldest_due_job_and_leaves_one_not_due_yet() {
    let bench = Bench::new();
    let hour = Duration::from_secs(3600);
    let not_due = bench.submit_as(&[], |j| {
        j.submitted = Millis(j.submitted.0 - 2_000);
        j.retry_at = Some(Millis::now().plus(hour));
    });
    let newer = bench.submit(&[Script::Takes(Duration::from_secs(1))]);
    let older = bench.submit_as(&[Script::Takes(Duration::from_secs(1))], |j| {
        j.submitted = Millis(j.submitted.0 - 1_000);
    });
    let worker = bench.worker(1);

    assert_eq!(worker.run_once().await.unwrap(), Step::Ran(older));
    assert_eq!(worker.run_once().await.unwrap(), Step::Ran(newer));
    assert_eq!(worker.run_once().await.unwrap(), Step::Empty);

    for id in [older, newer] {
        let job = bench.store.job(&id);
        assert_eq!(job.status, JobStatus::Completed, "{:?}", job.messages);
        assert_eq!(job.attempts, 1);
        assert_eq!(job.messages, ["The notebook ran to its end."]);
        assert!(job.has_notebook, "the executed notebook is stored");
    }
    let waiting = bench.store.job(&not_due);
    assert_eq!(waiting.status, JobStatus::Submitted);
    assert_eq!(waiting.attempts, 0);
    assert_eq!(bench.store.claims(), 2);
    assert_eq!(bench.tokens_ended(), 2, "each run's token ends with it");
}
