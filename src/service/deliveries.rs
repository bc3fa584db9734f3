//! A receiver's delivery log, for the administrator asking "why did my
//! webhook not run?".

use crate::domain::delivery::Delivery;

use crate::domain::ids::ReceiverId;
use crate::domain::user::User;
use crate::error::Result;

use super::receivers::Receivers;

/// Lines a log shows when not told otherwise, and at most.
pub const DEFAULT_DELIVERIES: u32 = 100;
pub const MAX_DELIVERIES: u32 = 1000;

impl Receivers {
    pub async fn deliveries(
        &self,
        caller: &User,
        id: &ReceiverId,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        self.receiver(caller, id).await?;
        Ok(self
            .log
            .deliveries(id, limit.clamp(1, MAX_DELIVERIES))
            .await?)
    }
}
