//! What this node's runs are doing now, for the pages that watch them:
//! each running job's notebook as far as it has executed, and a signal
//! that something changed. A run copies its notebook here only while a
//! page watches (or once a second, so that a page opened in a long silent
//! cell, or on another node, sees where the run is), so runs shorter than
//! a second that nobody watches pay nothing for it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::watch;

use hookbook_core::domain::ids::JobId;

/// How often a watched run's notebook is copied while a cell prints.
const WATCHED_EVERY: Duration = Duration::from_millis(250);
/// How often a run nobody here watches copies its notebook: at a cell's
/// start, and while a cell prints when the run is shared with other nodes.
const UNWATCHED_EVERY: Duration = Duration::from_secs(1);

/// The runs of this node as pages see them.
pub struct Live {
    notebooks: Mutex<HashMap<JobId, Arc<Value>>>,
    changed: watch::Sender<u64>,
    closed: AtomicBool,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            notebooks: Mutex::default(),
            changed: watch::Sender::new(0),
            closed: AtomicBool::new(false),
        }
    }
}

impl Live {
    fn notebooks(&self) -> MutexGuard<'_, HashMap<JobId, Arc<Value>>> {
        self.notebooks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A signal that a run of this node changed: a cell started or
    /// printed, a run began or ended. Holding one makes runs report.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// The notebook of a job running on this node, as far as it has
    /// executed (its outputs as a watching page last asked).
    pub fn notebook(&self, job: &JobId) -> Option<Arc<Value>> {
        self.notebooks().get(job).cloned()
    }

    /// Says that a run changed.
    pub fn changed(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The server stops: the pages that watch end their streams.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.changed();
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Whether a page watches this node's runs.
    fn watched(&self) -> bool {
        self.changed.receiver_count() > 0
    }

    fn set(&self, job: &JobId, notebook: Value) {
        self.notebooks().insert(*job, Arc::new(notebook));
        self.changed();
    }

    /// Forgets a run that ended (its outcome is stored by now).
    pub fn ended(&self, job: &JobId) {
        let had = self.notebooks().remove(job).is_some();
        if had || self.watched() {
            self.changed();
        }
    }
}

/// One run's reports to [`Live`].
pub struct Progress {
    live: Arc<Live>,
    job: JobId,
    last: Instant,
    /// Pages on other nodes may watch (the site has several).
    shared: bool,
}

impl Progress {
    pub fn new(live: Arc<Live>, job: JobId) -> Self {
        Self {
            live,
            job,
            last: Instant::now(),
            shared: false,
        }
    }

    /// A run whose progress other nodes' pages read (from the store).
    pub fn shared(mut self) -> Self {
        self.shared = true;
        self
    }

    /// A cell starts: the notebook so far, when a page watches or a
    /// second has passed since the last copy.
    pub fn cell(&mut self, notebook: &Value) {
        let every = if self.live.watched() {
            Duration::ZERO
        } else {
            UNWATCHED_EVERY
        };
        if self.last.elapsed() >= every {
            self.publish(notebook.clone());
        }
    }

    /// Cell `index` has printed `outputs` so far: the notebook with them,
    /// when a page here watches, at most every quarter of a second (when
    /// the run is shared, every second). False when they were put off (too
    /// soon after the last copy): ask again a little later.
    pub fn output(&mut self, notebook: &Value, index: usize, outputs: &[Value]) -> bool {
        let every = if self.live.watched() {
            WATCHED_EVERY
        } else if self.shared {
            UNWATCHED_EVERY
        } else {
            return true;
        };
        if self.last.elapsed() < every {
            return false;
        }
        let mut copy = notebook.clone();
        if let Some(cell) = copy.pointer_mut(&format!("/cells/{index}")) {
            cell["outputs"] = Value::Array(outputs.to_vec());
        }
        self.publish(copy);
        true
    }

    fn publish(&mut self, notebook: Value) {
        self.last = Instant::now();
        self.live.set(&self.job, notebook);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job() -> JobId {
        JobId::parse("0123456789abcdef0123456789abcdef").expect("an id")
    }

    #[test]
    fn a_run_nobody_watches_copies_nothing_in_its_first_second() {
        let live = Arc::new(Live::default());
        let mut progress = Progress::new(live.clone(), job());
        let nb = json!({"cells": [{"outputs": []}]});
        progress.cell(&nb);
        assert!(
            progress.output(&nb, 0, &[json!({"text": "x"})]),
            "nothing to report"
        );
        assert!(live.notebook(&job()).is_none());
    }

    #[test]
    fn a_shared_run_copies_what_it_prints_once_a_second() {
        let live = Arc::new(Live::default());
        let mut progress = Progress::new(live.clone(), job()).shared();
        let nb = json!({"cells": [{"outputs": []}]});
        assert!(
            !progress.output(&nb, 0, &[json!({"text": "early"})]),
            "put off"
        );
        assert!(live.notebook(&job()).is_none(), "not in its first second");
        progress.last -= UNWATCHED_EVERY;
        assert!(progress.output(&nb, 0, &[json!({"text": "later"})]));
        let shown = live.notebook(&job()).expect("published");
        assert_eq!(shown["cells"][0]["outputs"][0]["text"], "later");
    }

    #[test]
    fn a_watched_run_shows_its_cells_and_their_outputs_so_far() {
        let live = Arc::new(Live::default());
        let mut signal = live.subscribe();
        let mut progress = Progress::new(live.clone(), job());
        let nb = json!({"cells": [{"outputs": []}]});
        progress.cell(&nb);
        assert!(signal.has_changed().expect("open"));
        signal.mark_unchanged();
        assert!(
            !progress.output(&nb, 0, &[json!({"text": "step 0"})]),
            "too soon"
        );
        progress.last -= WATCHED_EVERY;
        assert!(progress.output(&nb, 0, &[json!({"text": "step 1"})]));
        let shown = live.notebook(&job()).expect("published");
        assert_eq!(shown["cells"][0]["outputs"][0]["text"], "step 1");
        assert!(signal.has_changed().expect("open"));
        live.ended(&job());
        assert!(live.notebook(&job()).is_none());
    }
}
