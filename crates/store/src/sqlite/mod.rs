//! The embedded SQLite store: one file in the data dir, WAL journal, full
//! sync, migrations run at open.

mod backup;
mod intake;
mod jobs;
mod site;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{Store, StoreError};

pub use backup::backup as vacuum_into;

/// The SQLite implementation of [`super::Store`].
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Arc<writer::Writer>,
    /// Whose turn it is to write. SQLite has one writer at a time, and a
    /// connection that finds the lock taken sleeps and retries: under a
    /// flood of event batches a claim could sleep for seconds. Every write
    /// takes this fair (first come, first served) turn instead, so claims,
    /// finishes and lease renewals wait at most for the batch in progress.
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// A new database file and its log readable by this user only (they hold
/// password hashes and sealed secrets); SQLite gives its `-wal` and `-shm`
/// files the database's mode.
fn private(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let beside = |end: &str| std::path::PathBuf::from(format!("{}{end}", path.display()));
    for file in [path.to_path_buf(), beside("-wal"), beside("-shm")] {
        let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600));
    }
}

/// Whether `path` is a SQLite database with hookbook's tables, opened
/// read-only: nothing is made or changed.
pub async fn holds_a_site(path: &Path) -> anyhow::Result<bool> {
    use sqlx::Connection as _;
    if !path.is_file() {
        return Ok(false);
    }
    let options = SqliteConnectOptions::new().filename(path).read_only(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("cannot open the database {}", path.display()))?;
    let users: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'users'",
    )
    .fetch_optional(&mut conn)
    .await
    .unwrap_or(None);
    let _ = conn.close().await;
    Ok(users.is_some())
}

impl SqliteStore {
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        let new = !path.exists();
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .pragma("temp_store", "MEMORY")
            // The pool's writes (claims, results, the administration's)
            // never copy the write-ahead log back inside their commit,
            // where intake would wait for it: the writer and its
            // checkpointer do (`writer.rs`).
            .pragma("wal_autocheckpoint", "0")
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        if new {
            private(path);
        }
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(StoreError::from)
            .with_context(|| format!("cannot migrate the database {}", path.display()))?;
        let writer = writer::Writer::start(path)
            .with_context(|| format!("cannot open the database {} for writing", path.display()))?;
        Ok(Self {
            pool,
            writer: Arc::new(writer),
            turn: Arc::default(),
        })
    }
}

super::shared::users::user_store!(SqliteStore);
super::shared::tokens::token_store!(SqliteStore);
super::shared::items::item_store!(SqliteStore);
super::shared::uploads::upload_store!(SqliteStore);
super::shared::receivers::receiver_store!(SqliteStore);
super::shared::nodes::node_store!(SqliteStore);
super::shared::copy::copy_store!(SqliteStore);
super::shared::retries::retry_store!(SqliteStore);
super::shared::runtimes::runtime_store!(SqliteStore);
super::shared::notices::notice_store!(SqliteStore);
super::shared::progress::progress_store!(SqliteStore);
super::shared::dashboard::dashboard_store!(SqliteStore);

impl SqliteStore {
    /// Waits for this store's turn to write (see `turn`).
    async fn write_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.turn.lock().await
    }

    /// A transaction that will write.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }
}

impl Store for SqliteStore {
    fn single_node(&self) -> bool {
        true
    }
}
