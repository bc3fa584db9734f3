//! The per-receiver rate limit: a fixed one-second window per receiver,
//! kept in memory on this node.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::ids::ReceiverId;
use crate::domain::time::Millis;

pub struct RateLimiter {
    per_second: u32,
    windows: Mutex<HashMap<ReceiverId, (i64, u32)>>,
}

impl RateLimiter {
    /// `per_second == 0` admits everything.
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second,
            windows: Mutex::new(HashMap::new()),
        }
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
            windows.retain(|_, (s, _)| *s == second);
        }
        let entry = windows.entry(receiver).or_insert((second, 0));
        if entry.0 != second {
            *entry = (second, 0);
        }
        if entry.1 >= self.per_second {
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
}
