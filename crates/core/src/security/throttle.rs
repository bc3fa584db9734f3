//! Limits on password checks, which cost about 19 MiB and tens of
//! milliseconds of Argon2 each: at most a few at once, and budgets of
//! failures per minute, past which sign-in answers 429 with the seconds
//! to wait, before any hashing: per user name from one address, per
//! address whatever the names, and per user name from all addresses. The
//! last (which many addresses guessing one name reach) never holds back
//! an address the name signed in from before, so no one can lock a user
//! out by failing on purpose: from one address that address alone is
//! held back, and from many the user's own addresses still get in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::domain::time::Millis;

/// Password checks running at once on this node.
pub const CONCURRENT_CHECKS: usize = 2;
/// Failed sign-ins of one user name from one address per window.
pub const FAILURES_PER_USER: u32 = 5;
/// Failed sign-ins of one user name from all addresses per window; past
/// it, only the addresses the name signed in from before may try.
pub const FAILURES_PER_NAME: u32 = 100;
/// Addresses remembered per user name as ones it signed in from.
const KNOWN_PER_NAME: usize = 16;
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

/// A user name from one address (`None`: not known).
type Pair = (String, Option<IpAddr>);

#[derive(Debug)]
pub struct SignInThrottle {
    checks: Semaphore,
    pairs: Mutex<HashMap<Pair, Window>>,
    names: Mutex<HashMap<String, Window>>,
    addresses: Mutex<HashMap<IpAddr, Window>>,
    /// The addresses each name signed in from lately.
    known: Mutex<HashMap<String, Vec<IpAddr>>>,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self {
            checks: Semaphore::new(CONCURRENT_CHECKS),
            pairs: Mutex::new(HashMap::new()),
            names: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
            known: Mutex::new(HashMap::new()),
        }
    }
}

/// The lock; a panic while holding it leaves counts that are still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether `key`'s open window has used `budget`: the seconds to wait.
fn over<K: std::hash::Hash + Eq>(
    map: &Mutex<HashMap<K, Window>>,
    key: &K,
    budget: u32,
    now: i64,
) -> Result<(), u64> {
    match open_window(&lock(map), key, now) {
        Some(w) if w.count >= budget => Err(retry_after(w, now)),
        _ => Ok(()),
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

/// Takes one failure back from `key`'s window.
fn forgive<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Window>, key: &K) {
    if let Some(w) = map.get_mut(key) {
        w.count = w.count.saturating_sub(1);
    }
}

/// A user name as the budgets count it: as a sign-in reads it (trimmed),
/// whatever its case.
fn key(user: &str) -> String {
    user.trim().to_ascii_lowercase()
}

fn retry_after(window: Window, now: i64) -> u64 {
    u64::try_from((window.start + WINDOW_MS - now).max(1000) / 1000).unwrap_or(1)
}

impl SignInThrottle {
    /// Whether `user` may try a password from `address` now; `Err` with
    /// the seconds to wait when a budget is used up. An attempt let
    /// through counts as a failure at once (so attempts made at the same
    /// time cannot all pass the budget); [`SignInThrottle::succeeded`]
    /// takes it back.
    pub fn attempt(&self, user: &str, address: Option<IpAddr>, now: Millis) -> Result<(), u64> {
        let (now, name) = (now.0, key(user));
        over(
            &self.pairs,
            &(name.clone(), address),
            FAILURES_PER_USER,
            now,
        )?;
        if let Some(address) = address {
            over(&self.addresses, &address, FAILURES_PER_ADDRESS, now)?;
        }
        let known = address.is_some_and(|a| {
            lock(&self.known)
                .get(&name)
                .is_some_and(|list| list.contains(&a))
        });
        if !known {
            over(&self.names, &name, FAILURES_PER_NAME, now)?;
        }
        count_failure(&mut lock(&self.pairs), (name.clone(), address), now);
        count_failure(&mut lock(&self.names), name, now);
        if let Some(address) = address {
            count_failure(&mut lock(&self.addresses), address, now);
        }
        Ok(())
    }

    /// A right password: the attempt's failure is taken back, the name's
    /// failures from the address are cleared, and the address becomes one
    /// the name signed in from.
    pub fn succeeded(&self, user: &str, address: Option<IpAddr>) {
        let name = key(user);
        lock(&self.pairs).remove(&(name.clone(), address));
        forgive(&mut lock(&self.names), &name);
        let Some(address) = address else {
            return;
        };
        forgive(&mut lock(&self.addresses), &address);
        let mut known = lock(&self.known);
        if known.len() > MAX_ENTRIES {
            known.clear();
        }
        let list = known.entry(name).or_default();
        list.retain(|a| *a != address);
        if list.len() >= KNOWN_PER_NAME {
            list.remove(0);
        }
        list.push(address);
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
        }
        assert_eq!(t.attempt(" Alice", None, Millis(2_000)), Err(59));
        assert!(t.attempt("bob", None, Millis(2_000)).is_ok());
        assert!(t.attempt("alice", None, Millis(61_000)).is_ok());
    }

    #[test]
    fn a_success_clears_the_failures_of_its_name() {
        let t = SignInThrottle::default();
        for _ in 0..FAILURES_PER_USER - 1 {
            assert!(t.attempt("alice", None, Millis(0)).is_ok());
        }
        t.succeeded("alice", None);
        assert!(t.attempt("alice", None, Millis(0)).is_ok());
        assert!(t.attempt("alice", None, Millis(0)).is_ok());
    }

    #[test]
    fn failing_on_purpose_from_one_address_holds_back_that_address_alone() {
        let t = SignInThrottle::default();
        let attacker: IpAddr = "192.0.2.66".parse().unwrap();
        let alice: IpAddr = "198.51.100.7".parse().unwrap();
        for _ in 0..FAILURES_PER_USER {
            assert!(t.attempt("alice", Some(attacker), Millis(0)).is_ok());
        }
        assert!(t.attempt("alice", Some(attacker), Millis(0)).is_err());
        assert!(t.attempt("alice", Some(alice), Millis(0)).is_ok());
    }

    #[test]
    fn many_addresses_guessing_a_name_hold_back_strangers_but_not_the_users_own_address() {
        let t = SignInThrottle::default();
        let alice: IpAddr = "198.51.100.7".parse().unwrap();
        t.succeeded("alice", Some(alice));
        for n in 0..FAILURES_PER_NAME {
            let bot = IpAddr::from([203, 0, (n / 250) as u8, (n % 250) as u8]);
            assert!(t.attempt("alice", Some(bot), Millis(0)).is_ok());
        }
        let stranger: IpAddr = "192.0.2.99".parse().unwrap();
        assert!(t.attempt("alice", Some(stranger), Millis(0)).is_err());
        assert!(t.attempt("alice", Some(alice), Millis(0)).is_ok());
        assert!(t.attempt("bob", Some(stranger), Millis(0)).is_ok());
    }

    #[test]
    fn an_address_has_a_budget_of_failures_whatever_the_names() {
        let t = SignInThrottle::default();
        let address: IpAddr = "192.0.2.1".parse().unwrap();
        for n in 0..FAILURES_PER_ADDRESS {
            assert!(t
                .attempt(&format!("u{n}"), Some(address), Millis(0))
                .is_ok());
        }
        assert!(t.attempt("other", Some(address), Millis(0)).is_err());
        assert!(t
            .attempt("other", Some("192.0.2.2".parse().unwrap()), Millis(0))
            .is_ok());
    }
}
