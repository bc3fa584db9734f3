//! The commands besides `serve`: `migrate`, `copy` and `user add`, and the
//! check that a key is the site's.

use std::io::BufRead;
use std::path::Path;

use anyhow::{bail, Context as _};

use crate::config::{CopyArgs, MigrateArgs, UserAddArgs};
use crate::domain::user::{Password, Privilege, Role, User, Username};
use crate::error::Error;
use crate::security::vault::Vault;
use crate::service::users;
use crate::store::{self, StoreError};

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

/// Reads the first line of `input` as the password of `user add`.
pub fn read_password(args: &UserAddArgs, input: &mut dyn BufRead) -> anyhow::Result<Password> {
    if !args.password_stdin {
        bail!("--password-stdin is required: the password is read from standard input");
    }
    let mut line = String::new();
    input
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Password::parse(line.trim_end_matches(['\n', '\r']))
        .map_err(|e| anyhow::anyhow!("the password read from standard input {e}"))
}

/// `hookbook user add`: creates a user with the given password.
pub async fn add_user(args: UserAddArgs, password: Password) -> anyhow::Result<()> {
    let username =
        Username::parse(&args.username).map_err(|e| anyhow::anyhow!("--username {e}"))?;
    let role: Role = args
        .role
        .parse()
        .map_err(|e| anyhow::anyhow!("--role: {e}"))?;
    let mut privileges = args
        .privileges
        .iter()
        .map(|p| p.parse::<Privilege>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("--privilege: {e}"))?;
    privileges.sort();
    privileges.dedup();
    prepare_storage(&args.storage)?;
    let store = store::open(&args.storage.database()).await?;
    let user = User {
        username: username.clone(),
        role,
        privileges: privileges.clone(),
    };
    match users::add_user(store.as_ref(), user, password).await {
        Ok(()) => {}
        Err(Error::Store(StoreError::Conflict(what))) => bail!("{what} already exists"),
        Err(e) => return Err(anyhow::Error::from(e).context("cannot create the user")),
    }
    let held: Vec<&str> = privileges.iter().map(|p| p.as_str()).collect();
    println!(
        "created {} '{}'{}",
        role.as_str(),
        username,
        if held.is_empty() {
            String::new()
        } else {
            format!(" with {}", held.join(", "))
        }
    );
    Ok(())
}
