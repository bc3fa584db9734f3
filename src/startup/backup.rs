//! `hookbook backup` and `hookbook restore`: a consistent copy of a running
//! SQLite site's database, and a new data dir made from one and the site's
//! key. PostgreSQL sites use `pg_dump` and `pg_restore` (the book's Backups page).

use std::path::Path;

use anyhow::{bail, Context as _};

use crate::config::{BackupArgs, RestoreArgs};
use crate::security::vault::{self, Vault, KEY_FILE};
use crate::store::{self, DatabaseUrl};

use super::commands::require_site_key;

/// The database file of a data dir.
const DATABASE_FILE: &str = "hookbook.db";

/// `hookbook backup --to FILE`: copies the database while the server goes
/// on; what it holds is every commit made before the copy began.
pub(super) async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let DatabaseUrl::Sqlite(db) = args.storage.database() else {
        bail!(
            "hookbook backup copies a SQLite site; back a PostgreSQL site up with \
             pg_dump --format=custom (see the book's Backups page, docs/src/operating/backups.md)"
        );
    };
    if !db.is_file() {
        bail!(
            "{} holds no database: name the data dir (--data-dir) or the database \
             (--database-url) of the site to back up",
            db.display()
        );
    }
    if args.to.exists() {
        bail!(
            "{} exists already; back up into a new file",
            args.to.display()
        );
    }
    let started = chrono::Utc::now();
    let to = args.to.clone();
    let bytes = tokio::task::spawn_blocking(move || store::backup(&db, &to))
        .await
        .context("the backup stopped")?
        .with_context(|| format!("cannot back {} up", args.storage.database().describe()))?;
    println!(
        "backed up {} into {} ({bytes} bytes), as it was at {}; its secrets open only \
         with the site's encryption key ({} or HOOKBOOK_ENCRYPTION_KEY): keep a copy \
         of the key, apart from the backup",
        args.storage.database().describe(),
        args.to.display(),
        started.format("%Y-%m-%d %H:%M:%S UTC"),
        args.storage.data_dir.join(KEY_FILE).display(),
    );
    Ok(())
}

/// `hookbook restore --from FILE --data-dir DIR`: a new data dir with the
/// backup's database (migrated to this version) and the site's key,
/// checked to open the site's secrets; a data dir that holds a database
/// (a live site's, say) is refused.
pub(super) async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let dir = &args.data_dir;
    let db = dir.join(DATABASE_FILE);
    if db_files(&db).iter().any(|f| f.exists()) {
        bail!(
            "{} holds a database already, or what is left of one ({}, its -wal or -shm: a site that may be running): restore into a new data dir",
            dir.display(),
            db.display()
        );
    }
    if !args.from.is_file() {
        bail!("{} is not a backup file", args.from.display());
    }
    if args.key_file.is_some() && dir.join(KEY_FILE).exists() {
        bail!(
            "{} holds a key file already: restore into a new data dir",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    let made = place(&args, &db).await;
    if made.is_err() {
        // Nothing half made is left behind: the restore can be run again.
        for file in db_files(&db) {
            let _ = std::fs::remove_file(file);
        }
        if args.key_file.is_some() {
            let _ = std::fs::remove_file(dir.join(KEY_FILE));
        }
    }
    made
}

/// A SQLite database's files: the database, its write-ahead log and its
/// shared-memory index.
fn db_files(db: &Path) -> [std::path::PathBuf; 3] {
    [
        db.to_path_buf(),
        db.with_extension("db-wal"),
        db.with_extension("db-shm"),
    ]
}

/// Copies the backup and the key into the data dir and checks them.
async fn place(args: &RestoreArgs, db: &Path) -> anyhow::Result<()> {
    if let Some(key_file) = &args.key_file {
        let text = std::fs::read_to_string(key_file)
            .with_context(|| format!("cannot read the key file {}", key_file.display()))?;
        vault::install_key_file(&text, &args.data_dir)?;
    }
    let partial = db.with_extension("db.partial");
    std::fs::copy(&args.from, &partial)
        .and_then(|_| std::fs::File::open(&partial)?.sync_all())
        .and_then(|()| std::fs::rename(&partial, db))
        .with_context(|| format!("cannot copy {} to {}", args.from.display(), db.display()))?;
    let url = DatabaseUrl::Sqlite(db.to_path_buf());
    let store = store::open(&url)
        .await
        .with_context(|| format!("{} is not a hookbook backup", args.from.display()))?;
    let vault = Vault::load(args.encryption_key.as_ref(), &args.data_dir)?;
    require_site_key(
        store.as_ref(),
        &vault,
        args.encryption_key.is_some(),
        &args.data_dir,
    )
    .await?;
    println!(
        "restored {} into {}; start it with: hookbook serve --data-dir {}",
        args.from.display(),
        args.data_dir.display(),
        args.data_dir.display()
    );
    Ok(())
}
