//! Event intake: what faces the internet. A delivery to
//! `/C/rest/events/webhooks/{id}` is checked (receiver, limits, size,
//! signature on the exact bytes) and then stored durably with its job
//! through the group committer before it is acknowledged.

pub mod cache;
pub mod committer;
pub mod limits;
mod receive;
pub mod signature;

pub use crate::domain::refusal::Refusal;
pub use receive::{Gate, Incoming};

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
