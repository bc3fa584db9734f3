//! What a run wrote on disk (its kernel's whole directory: the working
//! directory, its `/tmp`, the runtime files), measured while it runs:
//! past its limit the run is stopped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// What each file or directory counts for at least: one block, so that
/// many empty files (which use the file system's inodes) count too.
const LEAST_PER_ENTRY: u64 = 4096;

/// How often a run's directory is measured.
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

/// Bytes the entries under `dir` take on disk (not following links):
/// the blocks each holds (so a sparse file counts what it really uses),
/// and at least [`LEAST_PER_ENTRY`] each.
fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    let mut total = 0u64;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(m) = entry.metadata() else {
                continue;
            };
            if m.is_dir() {
                pending.push(entry.path());
            }
            total = total.saturating_add((m.blocks() * 512).max(LEAST_PER_ENTRY));
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_count_their_blocks_and_at_least_one_each_and_sparse_files_what_they_use() {
        let dir = tempfile::tempdir().unwrap();
        let empty = disk_usage(dir.path());
        assert_eq!(empty, 0);
        for i in 0..100 {
            std::fs::write(dir.path().join(format!("f{i}")), b"").unwrap();
        }
        assert_eq!(disk_usage(dir.path()), 100 * LEAST_PER_ENTRY);
        let sparse = std::fs::File::create(dir.path().join("sparse")).unwrap();
        sparse.set_len(10 << 30).unwrap();
        assert!(
            disk_usage(dir.path()) < 1 << 20,
            "a sparse file counts what it uses"
        );
        std::fs::write(dir.path().join("real"), vec![1u8; 1 << 20]).unwrap();
        assert!(disk_usage(dir.path()) >= 1 << 20);
    }
}
