//! The streams a node keeps open: at most [`MAX_STREAMS`] in all and
//! [`PER_CLIENT`] from one client address, so that one client holding
//! streams cannot leave every other page without updates.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// The most pages one node keeps up to date at once.
pub const MAX_STREAMS: usize = 64;
/// The most of them one client address holds.
pub const PER_CLIENT: usize = 16;

/// The open streams, counted in all and per client address.
#[derive(Clone, Default)]
pub struct Slots(Arc<Mutex<Count>>);

#[derive(Default)]
struct Count {
    all: usize,
    per_client: HashMap<IpAddr, usize>,
}

/// Why no stream was opened.
#[derive(Debug, PartialEq, Eq)]
pub enum Full {
    Server,
    Client,
}

/// One open stream; its place is given back when it is dropped.
pub struct Slot {
    slots: Slots,
    client: Option<IpAddr>,
}

impl Slots {
    fn count(&self) -> MutexGuard<'_, Count> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for a stream of `client` (unknown in tests without a socket).
    pub fn take(&self, client: Option<IpAddr>) -> Result<Slot, Full> {
        let mut count = self.count();
        if count.all >= MAX_STREAMS {
            return Err(Full::Server);
        }
        if let Some(ip) = client {
            let held = count.per_client.entry(ip).or_default();
            if *held >= PER_CLIENT {
                return Err(Full::Client);
            }
            *held += 1;
        }
        count.all += 1;
        Ok(Slot {
            slots: self.clone(),
            client,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut count = self.slots.count();
        count.all -= 1;
        if let Some(ip) = self.client {
            if let Some(held) = count.per_client.get_mut(&ip) {
                *held -= 1;
                if *held == 0 {
                    count.per_client.remove(&ip);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_holds_at_most_its_share_and_all_at_most_the_node_s() {
        let slots = Slots::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let mine: Vec<Slot> = (0..PER_CLIENT)
            .map(|_| slots.take(Some(a)).unwrap())
            .collect();
        assert_eq!(slots.take(Some(a)).err(), Some(Full::Client));
        let mut others = Vec::new();
        for i in 0..(MAX_STREAMS - PER_CLIENT) {
            let ip: IpAddr = format!("10.0.1.{}", i % 200).parse().unwrap();
            others.push(slots.take(Some(ip)).expect("room"));
        }
        assert_eq!(
            slots.take(Some("10.9.9.9".parse().unwrap())).err(),
            Some(Full::Server)
        );
        drop(mine);
        assert!(
            slots.take(Some(a)).is_ok(),
            "places come back when streams end"
        );
    }
}
