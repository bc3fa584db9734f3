//! A run's working directory, measured while it runs: past its limit the
//! run is stopped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often a run's working directory is measured.
const DISK_CHECK_EVERY: Duration = Duration::from_millis(250);

/// Measures `dir` until the run ends; past `limit` bytes, marks `over` and
/// stops the run.
pub async fn watch_disk(dir: PathBuf, limit: u64, stop: CancellationToken, over: Arc<AtomicBool>) {
    loop {
        tokio::time::sleep(DISK_CHECK_EVERY).await;
        let measured = dir.clone();
        let used = tokio::task::spawn_blocking(move || disk_usage(&measured))
            .await
            .unwrap_or(0);
        if used > limit {
            over.store(true, Ordering::SeqCst);
            stop.cancel();
            return;
        }
    }
}

/// Bytes of the regular files under `dir` (not following links).
fn disk_usage(dir: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => pending.push(entry.path()),
                Ok(m) if m.is_file() => total += m.len(),
                _ => {}
            }
        }
    }
    total
}
