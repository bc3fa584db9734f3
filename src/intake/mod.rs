//! Event intake: what faces the internet. A delivery to
//! `/C/rest/events/webhooks/{id}` is checked (receiver, limits, size,
//! signature on the exact bytes) and then stored durably with its job
//! through the group committer before it is acknowledged.

pub mod cache;
pub mod committer;
pub mod health;
pub mod limits;
mod receive;
pub mod signature;
mod test_event;

use std::sync::Arc;

use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::security::vault::Vault;
use crate::store::{IntakeStore, ReceiverStore, Store};

pub use crate::domain::refusal::Refusal;
pub use receive::{Delivered, Gate, Incoming};

use cache::ReceiverCache;
use committer::Committer;
use health::StorageHealth;
use limits::RateLimiter;

/// The most lines a receiver's delivery log keeps (give or take one trim).
pub const DELIVERY_LOG_LINES: u32 = 1000;

/// Refusals per receiver per second (on each node) that are written to
/// the receiver's delivery log; the rest are only counted in the metrics.
pub const LOGGED_REFUSALS_PER_SECOND: u32 = 10;

/// Limits fixed at start.
#[derive(Debug, Clone)]
pub struct IntakeSettings {
    pub max_payload_bytes: u64,
    /// Deliveries per second per receiver; 0 is no limit.
    pub receiver_rate_limit: u32,
    pub max_queue_depth: u64,
}

/// Event intake on this node: what a delivery needs, owned here. The
/// receiver cache is shared with the administration, which invalidates
/// what it changes; the rate limiter's share is set by the cluster.
pub struct Intake {
    /// Where receivers are read from when the cache does not hold them.
    store: Arc<dyn ReceiverStore>,
    vault: Vault,
    settings: IntakeSettings,
    committer: Committer,
    /// Verified deliveries per receiver per second.
    limiter: RateLimiter,
    /// Refused deliveries that get a delivery-log line, per receiver per
    /// second: their own budget, so forgeries neither use up the rate of
    /// real deliveries nor flood the log.
    logged_refusals: RateLimiter,
    receivers: Arc<ReceiverCache>,
    metrics: Arc<Metrics>,
    /// Whether deliveries can be stored now.
    health: Arc<StorageHealth>,
}

impl Intake {
    /// Starts the group committer, so it must be called inside the async
    /// runtime; `accepted` is notified after each batch that stored a job.
    pub fn start(
        store: Arc<dyn Store>,
        vault: Vault,
        settings: IntakeSettings,
        receivers: Arc<ReceiverCache>,
        metrics: Arc<Metrics>,
        accepted: Arc<Notify>,
    ) -> Self {
        let health = Arc::new(StorageHealth::new(metrics.storage_up()));
        let committer = Committer::start(
            store.clone() as Arc<dyn IntakeStore>,
            settings.max_queue_depth,
            accepted,
            metrics.clone(),
            health.clone(),
        );
        let limiter = RateLimiter::new(settings.receiver_rate_limit);
        Self {
            store,
            vault,
            settings,
            committer,
            limiter,
            logged_refusals: RateLimiter::new(LOGGED_REFUSALS_PER_SECOND),
            receivers,
            metrics,
            health,
        }
    }

    /// Why deliveries cannot be stored, and for how long, if they cannot.
    pub fn storage_problem(&self) -> Option<(std::time::Duration, String)> {
        self.health.problem()
    }

    /// The largest body a delivery may have.
    pub fn max_payload_bytes(&self) -> u64 {
        self.settings.max_payload_bytes
    }

    /// How many nodes take events, so each admits its share of the rate.
    pub fn set_nodes(&self, nodes: u32) {
        self.limiter.set_nodes(nodes);
    }
}
