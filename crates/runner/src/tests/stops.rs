//! A run stopped from outside: a cancel, and the node's stop.

use std::time::Duration;

use tokio::time::Instant;

use super::scripted::Script;
use super::{Bench, STOP_GRACE};
use crate::execute::RunEnd;
use crate::worker::Step;
use hookbook_core::domain::job::JobStatus;

#[tokio::test(start_paused = true)]
async fn a_cancelled_run_ends_cancelled_and_its_kernel_is_killed_before_the_step_ends() {
    let bench = Bench::new();
    let id = bench.submit(&[Script::Hangs]);
    let worker = bench.worker(1);
    let (step, ()) = tokio::join!(worker.run_once(), async {
        bench.kernels.running(1).await;
        bench.runner.runs.cancel(&id);
    });
    assert_eq!(step.unwrap(), Step::Ran(id));

    let kernel = &bench.kernels.seen()[0];
    assert_eq!(kernel.end, Some(RunEnd::Cancelled));
    assert!(
        kernel.killed.is_some(),
        "the run waits for its kernel's end"
    );
    let job = bench.store.job(&id);
    assert_eq!((job.status, job.attempts), (JobStatus::Cancelled, 1));
    assert_eq!(job.messages, ["The job was cancelled."]);
    assert!(job.end_time.is_some());
    assert_eq!(bench.tokens_ended(), 1);
}

#[tokio::test(start_paused = true)]
async fn stopping_gives_running_notebooks_the_grace_period_then_puts_the_rest_back_in_the_queue() {
    let bench = Bench::new();
    let short = bench.submit(&[Script::Takes(Duration::from_secs(5))]);
    let long = bench.submit(&[Script::Hangs]);
    let (shutdown, worker) = bench.start(2);
    bench.kernels.running(2).await;
    let stopping = Instant::now();
    Bench::stop(shutdown, worker).await;
    assert_eq!(stopping.elapsed(), STOP_GRACE);

    let done = bench.store.job(&short);
    assert_eq!((done.status, done.attempts), (JobStatus::Completed, 1));
    let back = bench.store.job(&long);
    assert_eq!((back.status, back.attempts), (JobStatus::Submitted, 0));
    assert_eq!(bench.store.holder(&long), None);
    assert!(back.messages.is_empty(), "{:?}", back.messages);
    let seen = bench.kernels.seen();
    let of = |id| seen.iter().find(|k| k.job == Some(id)).expect("a kernel");
    assert_eq!(of(short).end, Some(RunEnd::Completed));
    assert_eq!(of(long).end, Some(RunEnd::Cancelled));
    assert!(of(long).killed.is_some());
    assert_eq!(bench.store.claims(), 2, "nothing is claimed once stopping");
}
