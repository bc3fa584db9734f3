//! The open connections, counted per client address and in all: a client
//! past its share is refused at once, and when the server is full the
//! connection that has waited longest without a request in progress is
//! closed to make room, so that one client (or many holding connections
//! open without a request) can never keep `/healthz`, the admin API or a
//! sender out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// How many connections may be open.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From one client address; 0 is no cap (behind a proxy, say).
    pub per_client: usize,
    /// In all.
    pub total: usize,
}

/// Why a connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turned {
    /// Its address holds its share already.
    ClientFull,
    /// Every connection has a request in progress.
    ServerFull,
}

/// The register of open connections; cheap to clone.
#[derive(Clone)]
pub struct Connections {
    limits: ConnectionLimits,
    inner: Arc<Mutex<Register>>,
    /// Counts those turned away; `None` in unit tests.
    metrics: Option<Arc<Metrics>>,
}

#[derive(Default)]
struct Register {
    /// `hookbook_connections_open`; `None` in unit tests.
    gauge: Option<prometheus_client::metrics::gauge::Gauge>,
    next: u64,
    open: HashMap<u64, Entry>,
    per_client: HashMap<IpAddr, usize>,
}

struct Entry {
    client: IpAddr,
    state: Arc<State>,
}

/// What the register and a connection's task share.
struct State {
    /// Requests in progress on the connection.
    busy: AtomicUsize,
    /// When the connection last became idle (or opened).
    idle_since: Mutex<Instant>,
    /// Cancelled to close the connection for room.
    evict: CancellationToken,
}

/// One admitted connection; its place is given back when it is dropped.
pub struct Ticket {
    id: u64,
    state: Arc<State>,
    register: Arc<Mutex<Register>>,
}

/// Held while a request is in progress on a connection.
pub struct Busy(Arc<State>);

impl Connections {
    pub fn new(limits: ConnectionLimits, metrics: Option<Arc<Metrics>>) -> Self {
        let register = Register {
            gauge: metrics.as_ref().map(|m| m.connections_open()),
            ..Register::default()
        };
        Self {
            limits,
            inner: Arc::new(Mutex::new(register)),
            metrics,
        }
    }

    /// Admits a connection from `client`, closing the longest idle one when
    /// the server is full; counts one turned away.
    pub fn admit(&self, client: IpAddr) -> Result<Ticket, Turned> {
        let admitted = self.try_admit(client);
        if let (Err(turned), Some(metrics)) = (&admitted, &self.metrics) {
            metrics.connection_turned_away(match turned {
                Turned::ClientFull => "client full",
                Turned::ServerFull => "server full",
            });
        }
        admitted
    }

    fn try_admit(&self, client: IpAddr) -> Result<Ticket, Turned> {
        let mut register = lock(&self.inner);
        let mine = register.per_client.get(&client).copied().unwrap_or(0);
        if self.limits.per_client > 0 && mine >= self.limits.per_client {
            return Err(Turned::ClientFull);
        }
        if register.open.len() >= self.limits.total {
            let idle = register.longest_idle().ok_or(Turned::ServerFull)?;
            // Its place is taken now; its task ends at once and drops it.
            if let Some(entry) = register.forget(idle) {
                entry.state.evict.cancel();
            }
        }
        register.next += 1;
        let id = register.next;
        let state = Arc::new(State {
            busy: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
            evict: CancellationToken::new(),
        });
        if let Some(gauge) = &register.gauge {
            gauge.inc();
        }
        register.open.insert(
            id,
            Entry {
                client,
                state: state.clone(),
            },
        );
        *register.per_client.entry(client).or_default() += 1;
        Ok(Ticket {
            id,
            state,
            register: self.inner.clone(),
        })
    }

    /// Connections open now.
    #[cfg(test)]
    pub fn open(&self) -> usize {
        lock(&self.inner).open.len()
    }
}

impl Register {
    /// The connection idle the longest, if any is idle.
    fn longest_idle(&self) -> Option<u64> {
        self.open
            .iter()
            .filter(|(_, e)| e.state.busy.load(Ordering::Acquire) == 0)
            .min_by_key(|(_, e)| *lock(&e.state.idle_since))
            .map(|(id, _)| *id)
    }

    fn forget(&mut self, id: u64) -> Option<Entry> {
        let entry = self.open.remove(&id)?;
        if let Some(gauge) = &self.gauge {
            gauge.dec();
        }
        if let Some(n) = self.per_client.get_mut(&entry.client) {
            *n -= 1;
            if *n == 0 {
                self.per_client.remove(&entry.client);
            }
        }
        Some(entry)
    }
}

impl Ticket {
    /// Marks a request in progress until the guard is dropped.
    pub fn busy(&self) -> Busy {
        self.state.busy.fetch_add(1, Ordering::AcqRel);
        Busy(self.state.clone())
    }

    /// Cancelled when the connection is closed to make room.
    pub fn evicted(&self) -> CancellationToken {
        self.state.evict.clone()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut register = lock(&self.register);
        // An evicted connection's place was given back already.
        register.forget(self.id);
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.0.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            *lock(&self.0.idle_since) = Instant::now();
        }
    }
}

/// The lock; a panic while holding it leaves counts that are still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn a_client_past_its_share_is_turned_away_and_others_still_get_in() {
        let c = Connections::new(
            ConnectionLimits {
                per_client: 2,
                total: 100,
            },
            None,
        );
        let _a = c.admit(ip(1)).unwrap();
        let b = c.admit(ip(1)).unwrap();
        assert_eq!(c.admit(ip(1)).err(), Some(Turned::ClientFull));
        assert!(c.admit(ip(2)).is_ok());
        drop(b);
        assert!(
            c.admit(ip(1)).is_ok(),
            "a closed connection gives its place back"
        );
    }

    #[test]
    fn a_full_server_closes_the_longest_idle_connection_never_a_busy_one() {
        let c = Connections::new(
            ConnectionLimits {
                per_client: 0,
                total: 2,
            },
            None,
        );
        let first = c.admit(ip(1)).unwrap();
        let second = c.admit(ip(2)).unwrap();
        let _working = first.busy();
        let third = c.admit(ip(3)).unwrap();
        assert!(!first.evicted().is_cancelled());
        assert!(second.evicted().is_cancelled(), "the idle one made room");
        assert_eq!(c.open(), 2);
        drop(second);
        assert_eq!(c.open(), 2, "an evicted ticket does not give back twice");
        let _busy = third.busy();
        assert_eq!(c.admit(ip(4)).err(), Some(Turned::ServerFull));
    }
}
