//! A consistent copy of a live SQLite database (`VACUUM INTO`): it reads
//! in one transaction, so it holds every commit made before it began,
//! while intake goes on writing beside it.

use std::path::Path;
use std::time::Duration;

use crate::{StoreError, StoreResult};

/// Copies the database at `db` into the new file `to` (which must not
/// exist), synced; the bytes written.
pub fn backup(db: &Path, to: &Path) -> StoreResult<u64> {
    if !db.is_file() {
        return Err(StoreError::Database(
            format!("{} holds no database", db.display()).into(),
        ));
    }
    let conn = rusqlite::Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let target = to.to_str().ok_or_else(|| {
        StoreError::Database(format!("{} is not a UTF-8 path", to.display()).into())
    })?;
    conn.execute("VACUUM INTO ?1", [target])?;
    drop(conn);
    let file = std::fs::File::open(to).map_err(|e| StoreError::Database(Box::new(e)))?;
    file.sync_all()
        .map_err(|e| StoreError::Database(Box::new(e)))?;
    Ok(file
        .metadata()
        .map_err(|e| StoreError::Database(Box::new(e)))?
        .len())
}
