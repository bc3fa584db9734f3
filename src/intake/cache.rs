//! A short-lived cache of receivers for intake, so a delivery does not read
//! and decrypt its receiver on every request. Changes made on this node
//! take effect at once (they invalidate); changes made by another node
//! sharing the database take effect within the time to live.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::ids::ReceiverId;
use crate::domain::receiver::Receiver;
use crate::security::vault::Vault;
use crate::store::sealed::open_receiver;
use crate::store::{ReceiverStore, StoreResult};

pub const RECEIVER_TTL: Duration = Duration::from_secs(1);
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct ReceiverCache {
    entries: Mutex<HashMap<ReceiverId, (Instant, Arc<Receiver>)>>,
}

impl ReceiverCache {
    /// The receiver from the cache, or read from the store, opened and
    /// cached; `None` when it does not exist.
    pub async fn load(
        &self,
        store: &dyn ReceiverStore,
        vault: &Vault,
        id: &ReceiverId,
    ) -> StoreResult<Option<Arc<Receiver>>> {
        if let Some(receiver) = self.get(id) {
            return Ok(Some(receiver));
        }
        let Some(record) = store.receiver(id).await? else {
            return Ok(None);
        };
        let receiver = Arc::new(open_receiver(vault, record)?);
        self.put(receiver.clone());
        Ok(Some(receiver))
    }

    pub fn get(&self, id: &ReceiverId) -> Option<Arc<Receiver>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(id)
            .filter(|(at, _)| at.elapsed() < RECEIVER_TTL)
            .map(|(_, r)| r.clone())
    }

    pub fn put(&self, receiver: Arc<Receiver>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < RECEIVER_TTL);
        }
        entries.insert(receiver.id, (Instant::now(), receiver));
    }

    pub fn invalidate(&self, id: &ReceiverId) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}
