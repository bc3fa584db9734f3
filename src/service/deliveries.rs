//! A receiver's delivery log, for the administrator asking "why did my
//! webhook not run?".

use crate::domain::delivery::LoggedDelivery;

use crate::domain::ids::ReceiverId;
use crate::domain::receiver::Receiver;
use crate::domain::user::User;
use crate::error::Result;

use super::receivers::Receivers;

/// Lines a log shows when not told otherwise, and at most.
pub const DEFAULT_DELIVERIES: u32 = 100;
pub const MAX_DELIVERIES: u32 = 1000;
/// Lines read per receiver for the list's latest delivery and run.
const LATEST: u32 = 20;

impl Receivers {
    pub async fn deliveries(
        &self,
        caller: &User,
        id: &ReceiverId,
        limit: u32,
    ) -> Result<Vec<LoggedDelivery>> {
        self.receiver(caller, id).await?;
        Ok(self
            .log
            .deliveries(id, limit.clamp(1, MAX_DELIVERIES))
            .await?)
    }

    /// The newest lines of each receiver's log, enough to find its latest
    /// run among refusals (the caller may see the receivers: they come
    /// from [`Receivers::receivers`]).
    pub async fn latest_deliveries(
        &self,
        receivers: &[Receiver],
    ) -> Result<Vec<Vec<LoggedDelivery>>> {
        let mut latest = Vec::with_capacity(receivers.len());
        for receiver in receivers {
            latest.push(self.log.deliveries(&receiver.id, LATEST).await?);
        }
        Ok(latest)
    }
}
