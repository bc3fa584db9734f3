//! The per-receiver rate limit: a fixed one-second window per receiver,
//! counted in memory on this node against this node's share of the limit.
//! The share is the limit divided among the nodes taking events, which the
//! database tells (`NodeStore::node_alive`), so a site as a whole never
//! admits more than the limit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use crate::domain::ids::ReceiverId;
use crate::domain::time::Millis;

pub struct RateLimiter {
    per_second: u32,
    nodes: AtomicU32,
    windows: Mutex<HashMap<ReceiverId, (i64, u32)>>,
}

impl RateLimiter {
    /// `per_second == 0` admits everything.
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second,
            nodes: AtomicU32::new(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// How many nodes take events (at least this one).
    pub fn set_nodes(&self, nodes: u32) {
        self.nodes.store(nodes.max(1), Ordering::Relaxed);
    }

    /// What this node may admit per receiver per second: its share of the
    /// limit, rounded down but never below one.
    fn share(&self) -> u32 {
        (self.per_second / self.nodes.load(Ordering::Relaxed)).max(1)
    }

    /// Counts a delivery; false when the receiver is over its rate in the
    /// current second.
    pub fn admit(&self, receiver: ReceiverId, now: Millis) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let second = now.0.div_euclid(1000);
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (s, _)| *s >= second);
        }
        let entry = windows.entry(receiver).or_insert((second, 0));
        // A caller that read the clock just before another caller who went
        // on into the next second counts against that newer window: a
        // window never goes back, so it is never counted from zero twice.
        if second > entry.0 {
            *entry = (second, 0);
        }
        if entry.1 >= self.share() {
            return false;
        }
        entry.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_per_receiver_per_second() {
        let limiter = RateLimiter::new(2);
        let (a, b) = (ReceiverId::generate(), ReceiverId::generate());
        assert!(limiter.admit(a, Millis(1000)));
        assert!(limiter.admit(a, Millis(1500)));
        assert!(!limiter.admit(a, Millis(1999)));
        assert!(limiter.admit(b, Millis(1999)));
        assert!(limiter.admit(a, Millis(2000)));
        assert!(RateLimiter::new(0).admit(a, Millis(0)));
    }

    #[test]
    fn a_late_caller_from_the_previous_second_does_not_reopen_it() {
        let limiter = RateLimiter::new(2);
        let a = ReceiverId::generate();
        assert!(limiter.admit(a, Millis(2000)));
        assert!(limiter.admit(a, Millis(1999)));
        assert!(!limiter.admit(a, Millis(1998)));
        assert!(!limiter.admit(a, Millis(2001)));
    }

    #[test]
    fn nodes_share_the_limit() {
        let limiter = RateLimiter::new(10);
        limiter.set_nodes(3);
        let a = ReceiverId::generate();
        let admitted = (0..10).filter(|_| limiter.admit(a, Millis(5000))).count();
        assert_eq!(admitted, 3);
        limiter.set_nodes(0);
        let admitted = (0..20).filter(|_| limiter.admit(a, Millis(6000))).count();
        assert_eq!(admitted, 10);
    }
}
