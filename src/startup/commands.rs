//! The commands besides `serve`: `migrate` and `copy`, and the check that a
//! key is the site's.

use std::path::Path;

use anyhow::{bail, Context as _};

use crate::config::{CopyArgs, MigrateArgs};
use crate::security::vault::Vault;
use crate::store;

use super::prepare_storage;

/// `hookbook migrate`: creates or updates the tables, then exits; with a
/// key (given, or the data dir's key file), checks it is the site's.
pub(super) async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let storage = args.storage;
    prepare_storage(&storage)?;
    let url = storage.database();
    let store = store::open(&url).await?;
    let key_file = storage.data_dir.join(crate::security::vault::KEY_FILE);
    if args.encryption_key.is_some() || key_file.exists() {
        let vault = Vault::load(args.encryption_key.as_ref(), &storage.data_dir)?;
        require_site_key(
            store.as_ref(),
            &vault,
            args.encryption_key.is_some(),
            &storage.data_dir,
        )
        .await?;
    }
    println!("the database {} is up to date", url.describe());
    Ok(())
}

/// Stops the start when the key is not the one the site's secrets were
/// sealed with, naming the key and what to do.
pub(super) async fn require_site_key(
    store: &dyn store::Store,
    vault: &Vault,
    configured: bool,
    data_dir: &Path,
) -> anyhow::Result<()> {
    use crate::service::site::{check_key, KeyCheck};
    if check_key(store, vault).await? == KeyCheck::Matches {
        return Ok(());
    }
    let which = if configured {
        "the encryption key given by --encryption-key (HOOKBOOK_ENCRYPTION_KEY)".to_string()
    } else {
        format!(
            "the encryption key in {}",
            data_dir.join(crate::security::vault::KEY_FILE).display()
        )
    };
    bail!(
        "{which} cannot open this site's secrets: every node of a site needs the key the site \
         was created with (copy that encryption.key, or set HOOKBOOK_ENCRYPTION_KEY to it)"
    )
}

/// `hookbook copy`: moves an installation into an empty database.
pub(super) async fn copy(args: CopyArgs) -> anyhow::Result<()> {
    let from = store::open(&args.from)
        .await
        .with_context(|| format!("cannot open {}", args.from.describe()))?;
    let to = store::open(&args.to)
        .await
        .with_context(|| format!("cannot open {}", args.to.describe()))?;
    let copied = store::copy::copy(from.as_ref(), to.as_ref()).await?;
    println!(
        "copied {} users, {} items, {} receivers and {} jobs from {} to {}; \
         nodes using the copy need the same encryption key",
        copied.users,
        copied.items,
        copied.receivers,
        copied.jobs,
        args.from.describe(),
        args.to.describe()
    );
    Ok(())
}
