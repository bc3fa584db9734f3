//! The delivery log: one line per delivery to a receiver, and what became
//! of it.

use super::ids::{JobId, ReceiverId};
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
