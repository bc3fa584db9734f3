//! The runs of this node: what wakes the worker (and the runtime
//! builder), and how to stop a run (a cancel from the API or another node,
//! a lost lease, shutdown).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio::time::Instant;

use hookbook_core::domain::ids::JobId;
use tokio_util::sync::CancellationToken;

/// A run on this node: how to stop it, and since when it is held.
struct Running {
    stop: CancellationToken,
    since: Instant,
    /// Its lease is lost: another node may take it over, so it is put back
    /// in the queue rather than finished.
    lost: bool,
}

/// The runs of this node: what wakes the worker, and how to stop a run.
#[derive(Default)]
pub struct Runs {
    pub wake: Arc<Notify>,
    /// Wakes this node's runtime builder (a runtime was registered or
    /// changed).
    pub builds: Arc<Notify>,
    /// What the runs are doing now, for the pages that watch them.
    pub live: Arc<super::live::Live>,
    running: Mutex<HashMap<JobId, Running>>,
    stopping: AtomicBool,
}

impl Runs {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops a run on this node, if it is running here.
    pub fn cancel(&self, job: &JobId) {
        if let Some(run) = self.running().get(job) {
            run.stop.cancel();
        }
    }

    pub(super) fn register(&self, job: JobId) -> CancellationToken {
        let stop = CancellationToken::new();
        self.running().insert(
            job,
            Running {
                stop: stop.clone(),
                since: Instant::now(),
                lost: false,
            },
        );
        stop
    }

    /// Forgets a run; true when its lease was lost.
    pub(super) fn unregister(&self, job: &JobId) -> bool {
        self.running().remove(job).is_some_and(|r| r.lost)
    }

    /// After a renewal that began at `asked` and returned `held`: runs
    /// started before it that the database no longer gives this node were
    /// cancelled elsewhere or taken over, and stop.
    pub(super) fn keep_only(&self, held: &[JobId], asked: Instant) {
        for (id, run) in self.running().iter() {
            if run.since < asked && !held.contains(id) {
                run.stop.cancel();
            }
        }
    }

    /// Renewals failed for as long as a lease lasts: every run stops and
    /// goes back to the queue, since another node may take it over.
    pub(super) fn lose_all(&self) {
        for run in self.running().values_mut() {
            run.lost = true;
            run.stop.cancel();
        }
    }

    pub(super) fn stop_all(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for run in self.running().values() {
            run.stop.cancel();
        }
    }

    pub(super) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}
