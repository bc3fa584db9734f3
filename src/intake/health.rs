//! Whether intake can store deliveries: set by each commit's outcome, said
//! once in the log when it changes (never once per request), and shown by
//! `hookbook_storage_up` and `/healthz`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus_client::metrics::gauge::Gauge;

/// The state of the database as intake last found it.
pub struct StorageHealth {
    gauge: Gauge,
    /// Since when, and why, deliveries cannot be stored.
    down: Mutex<Option<(Instant, String)>>,
}

impl StorageHealth {
    /// Up until a commit fails; `gauge` is `hookbook_storage_up`.
    pub fn new(gauge: Gauge) -> Self {
        gauge.set(1);
        Self {
            gauge,
            down: Mutex::new(None),
        }
    }

    /// A commit failed for `cause`; logged if intake could store until now.
    pub fn failed(&self, cause: impl FnOnce() -> String) {
        let mut down = self.lock();
        if down.is_none() {
            let cause = cause();
            tracing::error!(
                "deliveries cannot be stored: {cause}; intake answers 503 with Retry-After until the database can be written again"
            );
            self.gauge.set(0);
            *down = Some((Instant::now(), cause));
        }
    }

    /// A commit went through; logged if intake could not store until now.
    pub fn stored(&self) {
        let mut down = self.lock();
        if let Some((since, _)) = down.take() {
            let secs = since.elapsed().as_secs_f64();
            tracing::warn!("deliveries are stored again, after {secs:.1} s");
            self.gauge.set(1);
        }
    }

    /// Why deliveries cannot be stored, and for how long, if they cannot.
    pub fn problem(&self) -> Option<(Duration, String)> {
        self.lock()
            .as_ref()
            .map(|(since, cause)| (since.elapsed(), cause.clone()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, String)>> {
        self.down.lock().unwrap_or_else(|p| p.into_inner())
    }
}
