//! The delivery log: one line per delivery to a receiver, and what became
//! of it.

use super::ids::{JobId, ReceiverId};
use super::job::JobStatus;
use super::time::Millis;

/// One line of a receiver's delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub receiver_id: ReceiverId,
    pub time: Millis,
    pub outcome: DeliveryOutcome,
    /// Why a delivery was refused; empty otherwise.
    pub reason: String,
    pub job_id: Option<JobId>,
    pub size: i64,
}

/// A line of the log as it is read back: the delivery, and where the run
/// it made (or, for a duplicate, the first one's) is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedDelivery {
    pub delivery: Delivery,
    pub run: Option<DeliveryRun>,
}

/// Where a delivery's run is: its state, when it started and ended, and
/// the first line of what it said last when it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRun {
    pub status: JobStatus,
    pub started: Option<Millis>,
    pub ended: Option<Millis>,
    pub error: Option<String>,
}

impl DeliveryRun {
    /// How long the run took, once it has ended.
    pub fn duration_ms(&self) -> Option<i64> {
        Some(self.ended?.0 - self.started?.0).filter(|d| *d >= 0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Accepted,
    Duplicate,
    Rejected,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Accepted => "accepted",
            DeliveryOutcome::Duplicate => "duplicate",
            DeliveryOutcome::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "accepted" => Some(DeliveryOutcome::Accepted),
            "duplicate" => Some(DeliveryOutcome::Duplicate),
            "rejected" => Some(DeliveryOutcome::Rejected),
            _ => None,
        }
    }
}
