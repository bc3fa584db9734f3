//! Limits on password checks, which cost about 19 MiB and tens of
//! milliseconds of Argon2 each: at most a few at once, and per user name
//! and per client address a budget of failures per minute, past which
//! sign-in answers 429 with the seconds to wait, before any hashing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::domain::time::Millis;

/// Password checks running at once on this node.
pub const CONCURRENT_CHECKS: usize = 2;
/// Failed sign-ins of one user name per window.
pub const FAILURES_PER_USER: u32 = 5;
/// Failed sign-ins from one address per window.
pub const FAILURES_PER_ADDRESS: u32 = 30;
/// The window, in milliseconds.
const WINDOW_MS: i64 = 60_000;
/// Entries kept before windows that ended are forgotten.
const MAX_ENTRIES: usize = 100_000;

/// A fixed window: when it began and how many it counted.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    count: u32,
}

#[derive(Debug)]
pub struct SignInThrottle {
    checks: Semaphore,
    users: Mutex<HashMap<String, Window>>,
    addresses: Mutex<HashMap<IpAddr, Window>>,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self {
            checks: Semaphore::new(CONCURRENT_CHECKS),
            users: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
        }
    }
}

/// `key`'s window if it is still open: looking never stores anything, so
/// attempts that are refused or succeed cost no memory.
fn open_window<K: std::hash::Hash + Eq>(
    map: &HashMap<K, Window>,
    key: &K,
    now: i64,
) -> Option<Window> {
    map.get(key).copied().filter(|w| now - w.start < WINDOW_MS)
}

/// Counts a failure in `key`'s window, starting a new one when the last
/// has ended.
fn count_failure<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Window>, key: K, now: i64) {
    if map.len() > MAX_ENTRIES {
        map.retain(|_, w| now - w.start < WINDOW_MS);
    }
    let window = map.entry(key).or_insert(Window {
        start: now,
        count: 0,
    });
    if now - window.start >= WINDOW_MS {
        *window = Window {
            start: now,
            count: 0,
        };
    }
    window.count += 1;
}

fn retry_after(window: Window, now: i64) -> u64 {
    u64::try_from((window.start + WINDOW_MS - now).max(1000) / 1000).unwrap_or(1)
}

impl SignInThrottle {
    /// Whether `user` may try a password from `address` now; `Err` with
    /// the seconds to wait when either is out of failures. Call before
    /// checking the password, and [`SignInThrottle::failed`] or
    /// [`SignInThrottle::succeeded`] after.
    pub fn attempt(&self, user: &str, address: Option<IpAddr>, now: Millis) -> Result<(), u64> {
        let now = now.0;
        let users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = open_window(&users, &user.to_ascii_lowercase(), now) {
            if w.count >= FAILURES_PER_USER {
                return Err(retry_after(w, now));
            }
        }
        drop(users);
        if let Some(address) = address {
            let addresses = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(w) = open_window(&addresses, &address, now) {
                if w.count >= FAILURES_PER_ADDRESS {
                    return Err(retry_after(w, now));
                }
            }
        }
        Ok(())
    }

    /// A wrong password (or an unknown user) counts against the name and
    /// the address.
    pub fn failed(&self, user: &str, address: Option<IpAddr>, now: Millis) {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        count_failure(&mut users, user.to_ascii_lowercase(), now.0);
        drop(users);
        if let Some(address) = address {
            let mut addresses = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
            count_failure(&mut addresses, address, now.0);
        }
    }

    /// A right password clears the name's failures.
    pub fn succeeded(&self, user: &str) {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        users.remove(&user.to_ascii_lowercase());
    }

    /// A turn to check a password; waits while others hold every turn.
    pub async fn turn(&self) -> Option<SemaphorePermit<'_>> {
        self.checks.acquire().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_throttled_after_its_failures_until_the_window_ends() {
        let t = SignInThrottle::default();
        for _ in 0..FAILURES_PER_USER {
            assert!(t.attempt("alice", None, Millis(1_000)).is_ok());
            t.failed("alice", None, Millis(1_000));
        }
        assert_eq!(t.attempt("Alice", None, Millis(2_000)), Err(59));
        assert!(t.attempt("bob", None, Millis(2_000)).is_ok());
        assert!(t.attempt("alice", None, Millis(61_000)).is_ok());
    }

    #[test]
    fn a_success_clears_the_failures_of_its_name() {
        let t = SignInThrottle::default();
        for _ in 0..FAILURES_PER_USER - 1 {
            t.failed("alice", None, Millis(0));
        }
        t.succeeded("alice");
        t.failed("alice", None, Millis(0));
        assert!(t.attempt("alice", None, Millis(0)).is_ok());
    }

    #[test]
    fn an_address_has_a_budget_of_failures_whatever_the_names() {
        let t = SignInThrottle::default();
        let address: IpAddr = "192.0.2.1".parse().unwrap();
        for n in 0..FAILURES_PER_ADDRESS {
            assert!(t
                .attempt(&format!("u{n}"), Some(address), Millis(0))
                .is_ok());
            t.failed(&format!("u{n}"), Some(address), Millis(0));
        }
        assert!(t.attempt("other", Some(address), Millis(0)).is_err());
        assert!(t
            .attempt("other", Some("192.0.2.2".parse().unwrap()), Millis(0))
            .is_ok());
    }
}
