//! What `/healthz` says of this node beyond intake's storage (which
//! `intake::health` keeps): why runs are not walled off or not run, and
//! whether kernels start cold because the fork server is down. The metrics
//! show the same as gauges; this is the state itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use prometheus_client::metrics::gauge::Gauge;

/// This node's health, as `/healthz` reads it.
#[derive(Default)]
pub struct Health {
    /// Why this node's runs are not walled off, or not run at all.
    walls: OnceLock<String>,
    /// Kernels are meant to be forked, but the fork server died or could
    /// not start (not merely starting, or stopped with the server).
    fork_down: Arc<AtomicBool>,
}

impl Health {
    /// Says (once) why runs are not walled off or not run.
    pub fn set_walls_note(&self, note: String) {
        let _ = self.walls.set(note);
    }

    pub fn walls_note(&self) -> Option<&str> {
        self.walls.get().map(String::as_str)
    }

    /// Kernels are meant to be forked, but the fork server is down.
    pub fn kernels_start_cold(&self) -> bool {
        self.fork_down.load(Ordering::Relaxed)
    }

    /// What the default fork server reports through: `gauge` and whether
    /// kernels start cold.
    pub fn fork_server(&self, gauge: Gauge) -> ForkHealth {
        ForkHealth {
            gauge,
            down: self.fork_down.clone(),
        }
    }
}

/// What a fork server reports of itself: its gauge, and (the default
/// one's) whether kernels start cold because it is down.
#[derive(Clone)]
pub struct ForkHealth {
    gauge: Gauge,
    down: Arc<AtomicBool>,
}

impl ForkHealth {
    /// A runtime version's fork server: only its gauge (its kernels
    /// starting cold is not the node's default fork server being down).
    pub fn gauge_only(gauge: Gauge) -> Self {
        Self {
            gauge,
            down: Arc::default(),
        }
    }

    pub fn up(&self) {
        self.gauge.set(1);
        self.down.store(false, Ordering::Relaxed);
    }

    /// It died or could not start: kernels start cold.
    pub fn down(&self) {
        self.gauge.set(0);
        self.down.store(true, Ordering::Relaxed);
    }

    /// Stopped with the server.
    pub fn stopped(&self) {
        self.gauge.set(0);
    }
}
