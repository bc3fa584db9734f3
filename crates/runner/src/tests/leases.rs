//! Leases: renewed while a run goes on; a run whose lease could not be
//! renewed, or that another node took over, stops.

use std::time::Duration;

use tokio::time::Instant;

use super::scripted::Script;
use super::{Bench, LEASE};
use crate::execute::RunEnd;
use crate::worker::stop_margin;
use hookbook_core::domain::ids::NodeId;
use hookbook_core::domain::job::JobStatus;

#[tokio::test(start_paused = true)]
async fn renewals_keep_a_run_longer_than_its_lease_going_to_its_end() {
    let bench = Bench::new();
    let id = bench.submit(&[Script::Takes(Duration::from_secs(100))]);
    let started = Instant::now();
    let (shutdown, worker) = bench.start(1);
    bench.kernels.killed(1).await;
    Bench::stop(shutdown, worker).await;

    let seen = bench.kernels.seen();
    assert_eq!(seen.len(), 1, "one kernel: the run was never stopped");
    assert_eq!(seen[0].end, Some(RunEnd::Completed));
    assert!(seen[0].killed.unwrap() - started >= Duration::from_secs(100));
    let job = bench.store.job(&id);
    assert_eq!(job.status, JobStatus::Completed, "{:?}", job.messages);
    assert_eq!((job.attempts, bench.store.claims()), (1, 1));
    assert!(
        bench.store.renewals() >= 9,
        "renewed every third of the lease: {}",
        bench.store.renewals()
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_whose_lease_cannot_be_renewed_stops_before_it_ends_and_goes_back_to_the_queue() {
    let bench = Bench::new();
    // The first attempt would run for ever; the next takes 20 s, while
    // renewals still fail.
    let id = bench.submit(&[Script::Hangs, Script::Takes(Duration::from_secs(20))]);
    bench.store.refuse_renewals();
    let started = Instant::now();
    let (shutdown, worker) = bench.start(1);
    bench.kernels.killed(1).await;

    let first = &bench.kernels.seen()[0];
    assert_eq!(first.end, Some(RunEnd::Cancelled));
    assert_eq!(
        first.killed.unwrap() - started,
        LEASE - stop_margin(LEASE),
        "killed before the lease ends, by the margin"
    );
    // Put back, not counted, and claimed again; the node goes on.
    bench.kernels.killed(2).await;
    assert_eq!(bench.kernels.seen()[1].end, Some(RunEnd::Completed));
    Bench::stop(shutdown, worker).await;
    let job = bench.store.job(&id);
    assert_eq!(job.status, JobStatus::Completed, "{:?}", job.messages);
    assert_eq!(job.attempts, 1, "the stopped attempt does not count");
    assert_eq!(bench.store.claims(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_run_another_node_took_over_stops_at_the_next_renewal_and_records_nothing() {
    let bench = Bench::new();
    let id = bench.submit(&[Script::Hangs]);
    let started = Instant::now();
    let (shutdown, worker) = bench.start(1);
    bench.kernels.running(1).await;
    let other = NodeId::generate();
    bench.store.take_over(&id, other);
    bench.kernels.killed(1).await;
    Bench::stop(shutdown, worker).await;

    let seen = bench.kernels.seen();
    assert_eq!(seen[0].end, Some(RunEnd::Cancelled));
    assert_eq!(seen[0].killed.unwrap() - started, LEASE / 3);
    let job = bench.store.job(&id);
    assert_eq!(job.status, JobStatus::Executing);
    assert_eq!(bench.store.holder(&id), Some(other));
    assert!(job.messages.is_empty(), "{:?}", job.messages);
    assert_eq!(bench.store.claims(), 1);
}
