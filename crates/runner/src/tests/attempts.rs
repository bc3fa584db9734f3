//! The end of an attempt: retried as the job's retry policy says, or the
//! job's end; and a run that could not start.

use std::time::Duration;

use tokio::time::Instant;

use super::scripted::{Script, Scripted};
use super::{Bench, Rights};
use crate::execute::RunEnd;
use crate::worker::Step;
use hookbook_core::domain::ids::ItemId;
use hookbook_core::domain::job::JobStatus;
use hookbook_core::domain::retry::{Failure, RetryPolicy};
use hookbook_core::domain::time::Millis;

/// A policy of `max` attempts retrying `on`, `delay` seconds apart.
fn policy(max: u32, delay: u32, on: &[Failure]) -> RetryPolicy {
    RetryPolicy::new(max, delay, 1.0, delay, on.to_vec()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_failed_attempt_its_policy_retries_goes_back_to_the_queue_due_after_the_delay() {
    let bench = Bench::new();
    bench.store.set_policy(policy(3, 60, &[Failure::Error]));
    let id = bench.submit(&[Script::RaisesIn(2)]);
    let worker = bench.worker(1);
    let before = Millis::now();
    assert_eq!(worker.run_once().await.unwrap(), Step::Ran(id));
    let after = Millis::now();

    let job = bench.store.job(&id);
    assert_eq!(job.status, JobStatus::Submitted, "{:?}", job.messages);
    assert_eq!(job.attempts, 1);
    let due = job.retry_at.expect("a retry time");
    let delay = Duration::from_secs(60);
    assert!(
        before.plus(delay) <= due && due <= after.plus(delay),
        "{due:?}"
    );
    assert_eq!(job.messages.len(), 1);
    let message = &job.messages[0];
    let said = "Attempt 1 of 3 failed: ValueError: cell 2 raised. The next attempt is due at ";
    assert!(message.starts_with(said), "{message}");
    assert!(job.has_notebook, "the failed attempt's notebook is kept");
    assert_eq!(worker.run_once().await.unwrap(), Step::Empty, "not due yet");
}

#[tokio::test(start_paused = true)]
async fn attempts_are_counted_and_the_last_one_the_policy_gives_ends_the_job_failed() {
    let bench = Bench::new();
    bench.store.set_policy(policy(2, 0, &[Failure::Error]));
    let id = bench.submit(&[Script::RaisesIn(1), Script::Dies]);
    let worker = bench.worker(1);

    assert_eq!(worker.run_once().await.unwrap(), Step::Ran(id));
    let job = bench.store.job(&id);
    assert_eq!((job.status, job.attempts), (JobStatus::Submitted, 1));
    assert_eq!(worker.run_once().await.unwrap(), Step::Ran(id));
    assert_eq!(worker.run_once().await.unwrap(), Step::Empty);

    let job = bench.store.job(&id);
    assert_eq!((job.status, job.attempts), (JobStatus::Failed, 2));
    assert_eq!(job.messages.len(), 2, "{:?}", job.messages);
    assert!(job.messages[0].starts_with("Attempt 1 of 2 failed: ValueError: cell 1 raised."));
    assert_eq!(
        job.messages[1],
        "Attempt 2 of 2: The kernel was lost: the kernel's process ended"
    );
}

#[tokio::test(start_paused = true)]
async fn a_timeout_under_a_policy_that_retries_only_errors_ends_the_job_failed_at_its_limit() {
    let bench = Bench::new();
    bench.store.set_policy(policy(3, 0, &[Failure::Error]));
    let id = bench.submit_as(&[Script::Hangs], |j| j.timeout_minutes = Some(1));
    let started = Instant::now();
    assert_eq!(bench.worker(1).run_once().await.unwrap(), Step::Ran(id));

    let job = bench.store.job(&id);
    assert_eq!((job.status, job.attempts), (JobStatus::Failed, 1));
    assert_eq!(
        job.messages,
        ["The run timed out after 60 seconds and was stopped."]
    );
    let kernel = &bench.kernels.seen()[0];
    assert_eq!(kernel.end, Some(RunEnd::TimedOut));
    assert_eq!(kernel.killed.unwrap() - started, Duration::from_secs(60));
}

/// The notebook item a job of a case runs.
enum Notebook {
    Gone,
    NotJson,
    Fine,
}

#[tokio::test(start_paused = true)]
async fn a_run_that_could_not_start_fails_saying_why_and_is_never_retried() {
    let revoked = "The owner's tokens were revoked after the job was submitted.";
    let refusing = || Rights {
        refuse: Some(revoked.into()),
        ..Rights::default()
    };
    let cases = [
        (Rights::default(), Notebook::Gone, "no longer exists."),
        (
            Rights::default(),
            Notebook::NotJson,
            "The notebook item is not valid JSON: EOF while parsing",
        ),
        (refusing(), Notebook::Fine, revoked),
    ];
    for (rights, notebook, why) in cases {
        let bench = Bench::with(Scripted::default(), rights);
        bench.store.set_policy(policy(3, 0, &[Failure::Error]));
        let item = match notebook {
            Notebook::Gone => ItemId::generate(),
            Notebook::NotJson => bench.store.add_item(b"{"),
            Notebook::Fine => bench.item.clone(),
        };
        let id = bench.submit_as(&[], |j| j.item_id = item);
        let worker = bench.worker(1);
        assert_eq!(worker.run_once().await.unwrap(), Step::Ran(id));
        assert_eq!(worker.run_once().await.unwrap(), Step::Empty, "{why}");

        let job = bench.store.job(&id);
        assert_eq!((job.status, job.attempts), (JobStatus::Failed, 1), "{why}");
        assert_eq!(job.messages.len(), 1);
        assert!(job.messages[0].contains(why), "{:?}", job.messages);
        assert!(bench.kernels.seen().is_empty(), "no kernel was taken");
    }
}

#[tokio::test(start_paused = true)]
async fn a_kernel_that_cannot_start_fails_the_attempt_saying_why() {
    let bench = Bench::with(Scripted::broken(), Rights::default());
    bench.store.set_policy(policy(2, 0, &[Failure::Error]));
    let id = bench.submit(&[]);
    let worker = bench.worker(1);
    assert_eq!(worker.run_once().await.unwrap(), Step::Ran(id));
    assert_eq!(worker.run_once().await.unwrap(), Step::Ran(id));

    // Not a run refused, but an attempt that failed: its policy decides.
    let job = bench.store.job(&id);
    assert_eq!((job.status, job.attempts), (JobStatus::Failed, 2));
    let why = "No kernel could be started for the run: the kernel did not become ready within 30s";
    assert!(job.messages[0].starts_with(&format!("Attempt 1 of 2 failed: {why}.")));
    assert_eq!(job.messages[1], format!("Attempt 2 of 2: {why}"));
    assert_eq!(bench.tokens_ended(), 2, "each attempt's token ends with it");
}
