//! Waiting for a state: `eventually` asks a probe until it says the state
//! is reached, and fails the test, naming what it waited for and what it
//! last saw, when the deadline passes first. Every wait of the suites goes
//! through it, so none sleeps and hopes.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a probe is asked again.
const PACE: Duration = Duration::from_millis(50);

/// Asks `probe` every 50 ms until it answers `Ok`, and returns that; a
/// probe answers `Err` with what it saw instead. Panics when `within`
/// passes first, with `what` and the last thing seen.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    eventually_every(what, within, PACE, probe).await
}

/// [`eventually`], asking every `pace`: for a probe that costs the server
/// under test some work (a page reloaded in a browser).
pub async fn eventually_every<T, F, Fut>(
    what: &str,
    within: Duration,
    pace: Duration,
    mut probe: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + within;
    loop {
        let seen = match probe().await {
            Ok(reached) => return reached,
            Err(seen) => seen,
        };
        assert!(
            Instant::now() < deadline,
            "{what}: not within {within:?}; last seen: {seen}"
        );
        tokio::time::sleep(pace).await;
    }
}

/// [`eventually`] for a probe that blocks (a process's state, a file), from
/// code that is not async.
pub fn eventually_blocking<T>(
    what: &str,
    within: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        let seen = match probe() {
            Ok(reached) => return reached,
            Err(seen) => seen,
        };
        assert!(
            Instant::now() < deadline,
            "{what}: not within {within:?}; last seen: {seen}"
        );
        std::thread::sleep(PACE);
    }
}

/// Whether `condition` holds within `within` (asked every 50 ms), for the
/// waits whose timing out is itself the finding (a process that should
/// have ended, say) rather than a failure of the test.
pub async fn within(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while !condition() {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(PACE).await;
    }
    true
}
