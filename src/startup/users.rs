//! `hookbook user`: users managed from the shell (add, list, passwd, set,
//! remove, revoke-tokens), each saying which site it read or wrote.

use std::io::BufRead;

use anyhow::{bail, Context as _};
use serde_json::json;

use crate::config::{
    ListFormat, StorageArgs, UserAddArgs, UserListArgs, UserNameArgs, UserPasswdArgs,
    UserRemoveArgs, UserSetArgs,
};
use crate::domain::time::Millis;
use crate::domain::user::{Password, Privilege, User, Username};
use crate::error::Error;
use crate::security::password;
use crate::service::users;
use crate::store::{self, Store, StoreError, UserRemoval};

use super::existing_site;

/// The longest password line read (`Password` takes at most 1,024 bytes).
const PASSWORD_LINE: u64 = 1026;

/// Reads the first line of standard input as a password: from a pipe or a
/// file, never a terminal (it would show it as it is typed), and never
/// more than a password's length.
pub fn read_password(input: &mut dyn BufRead) -> anyhow::Result<Password> {
    use std::io::IsTerminal as _;
    if std::io::stdin().is_terminal() {
        bail!(
            "--password-stdin reads a pipe or a file, not a terminal (it would show the \
             password): `read -rs PW && printf '%s\\n' \"$PW\" | hookbook ...`"
        );
    }
    read_password_from(input)
}

/// The first line of `input`, at most [`PASSWORD_LINE`] bytes of it.
pub fn read_password_from(input: &mut dyn BufRead) -> anyhow::Result<Password> {
    use std::io::Read as _;
    let mut line = String::new();
    input
        .take(PASSWORD_LINE)
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Password::parse(line.trim_end_matches(['\n', '\r']))
        .map_err(|e| anyhow::anyhow!("the password read from standard input {e}"))
}

fn username(name: &str) -> anyhow::Result<Username> {
    Username::parse(name).map_err(|e| anyhow::anyhow!("the user name {e}"))
}

/// The privileges asked for, each once, in order.
fn privileges_of(asked: &[crate::config::UserPrivilege]) -> Vec<Privilege> {
    let mut held: Vec<Privilege> = asked.iter().map(|p| Privilege::from(*p)).collect();
    held.sort();
    held.dedup();
    held
}

/// The site's store and how to name it.
async fn site(storage: &StorageArgs) -> anyhow::Result<(std::sync::Arc<dyn Store>, String)> {
    existing_site(storage).await?;
    let url = storage.database();
    Ok((store::open(&url).await?, url.describe()))
}

fn access(user: &User) -> String {
    let held: Vec<&str> = user.privileges.iter().map(|p| p.as_str()).collect();
    if held.is_empty() {
        user.role.as_str().to_string()
    } else {
        format!("{} with {}", user.role.as_str(), held.join(", "))
    }
}

/// `hookbook user add`: creates a user with the given password.
pub async fn add_user(args: UserAddArgs, password: Password) -> anyhow::Result<()> {
    let username = username(&args.username)?;
    let user = User {
        username: username.clone(),
        role: args.role.into(),
        privileges: privileges_of(&args.privileges),
    };
    let (store, site) = site(&args.storage).await?;
    let described = access(&user);
    match users::add_user(store.as_ref(), user, password).await {
        Ok(()) => {}
        Err(Error::Store(StoreError::Conflict(what))) => bail!("{what} already exists in {site}"),
        Err(e) => return Err(anyhow::Error::from(e).context("cannot create the user")),
    }
    println!("created '{username}' ({described}) in {site}");
    Ok(())
}

/// `hookbook user list`: every user, as a table or JSON.
pub async fn list(args: UserListArgs) -> anyhow::Result<()> {
    let (store, site) = site(&args.storage).await?;
    let users = store.all_users().await?;
    let when = |m: Option<Millis>| m.map_or_else(|| "never".to_string(), |m| m.utc());
    match args.format {
        ListFormat::Json => {
            let rows: Vec<_> = users
                .iter()
                .map(|r| {
                    json!({
                        "username": r.user.username.as_str(),
                        "role": r.user.role.as_str(),
                        "privileges": r.user.privileges.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                        "created": r.created.0,
                        "lastSignIn": r.last_sign_in.map(|m| m.0),
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(rows));
        }
        ListFormat::Table => {
            let rows: Vec<[String; 5]> = users
                .iter()
                .map(|r| {
                    let held: Vec<&str> = r.user.privileges.iter().map(|p| p.as_str()).collect();
                    [
                        r.user.username.to_string(),
                        r.user.role.as_str().to_string(),
                        if held.is_empty() {
                            "-".into()
                        } else {
                            held.join(",")
                        },
                        r.created.utc(),
                        when(r.last_sign_in),
                    ]
                })
                .collect();
            print!(
                "{}",
                super::table::render(
                    ["USER", "ROLE", "PRIVILEGES", "CREATED", "LAST SIGN-IN"],
                    &rows
                )
            );
            eprintln!("{} users in {site}", users.len());
        }
    }
    Ok(())
}

/// Refuses to leave the site without an administrator: `leaving` (removed,
/// or made a `user`) is the last one.
async fn keep_an_administrator(
    store: &dyn Store,
    leaving: &User,
    site: &str,
) -> anyhow::Result<()> {
    if !leaving.is_admin() {
        return Ok(());
    }
    let others = store
        .all_users()
        .await?
        .iter()
        .filter(|r| r.user.is_admin() && r.user.username != leaving.username)
        .count();
    if others == 0 {
        bail!(
            "'{}' is the last administrator of {site}: add another first \
             (`hookbook user add --role administrator`)",
            leaving.username
        );
    }
    Ok(())
}

/// "1 notebook", "2 notebooks".
fn count(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The user named, or a refusal naming the site.
async fn existing(store: &dyn Store, args: &UserNameArgs, site: &str) -> anyhow::Result<User> {
    let name = username(&args.username)?;
    match store.user(&name).await? {
        Some(record) => Ok(record.user),
        None => bail!("there is no user '{name}' in {site} (`hookbook user list` lists them)"),
    }
}

/// `hookbook user passwd`: a new password; the user's tokens end.
pub async fn passwd(args: UserPasswdArgs, password: Password) -> anyhow::Result<()> {
    let (store, site) = site(&args.user.storage).await?;
    let user = existing(store.as_ref(), &args.user, &site).await?;
    let hash = tokio::task::spawn_blocking(move || password::hash(&password)).await??;
    store.set_password(&user.username, &hash).await?;
    let ended = store
        .revoke_tokens(&user.username, Millis::now())
        .await?
        .unwrap_or(0);
    println!(
        "set the password of '{}' in {site}; {} ended (sign in again)",
        user.username,
        count(ended, "token")
    );
    Ok(())
}

/// `hookbook user set`: a user's role and privileges.
pub async fn set(args: UserSetArgs) -> anyhow::Result<()> {
    let (store, site) = site(&args.user.storage).await?;
    let mut user = existing(store.as_ref(), &args.user, &site).await?;
    if args.role == crate::config::UserRole::User {
        keep_an_administrator(store.as_ref(), &user, &site).await?;
    }
    user.role = args.role.into();
    user.privileges = privileges_of(&args.privileges);
    store.set_access(&user).await?;
    println!("'{}' is now {} in {site}", user.username, access(&user));
    Ok(())
}

/// `hookbook user remove`: refused while the user owns anything, unless
/// someone takes it.
pub async fn remove(args: UserRemoveArgs) -> anyhow::Result<()> {
    let (store, site) = site(&args.user.storage).await?;
    let name = username(&args.user.username)?;
    let heir = args.transfer_to.as_deref().map(username).transpose()?;
    if heir.as_ref() == Some(&name) {
        bail!("--transfer-to names the user being removed: name another user");
    }
    if let Some(record) = store.user(&name).await? {
        keep_an_administrator(store.as_ref(), &record.user, &site).await?;
    }
    if let Some(heir) = &heir {
        if let Some(taker) = store.user(heir).await? {
            let manages = taker.user.is_admin() || taker.user.privileges.len() == 2;
            if !manages {
                eprintln!(
                    "hookbook: note: '{heir}' holds neither role nor privileges to manage what it takes \
                     (`hookbook user set {heir} --role user --privilege notebooks:create --privilege notebooks:webhooks`)"
                );
            }
        }
    }
    match store.remove_user(&name, heir.as_ref()).await? {
        UserRemoval::Removed => match heir {
            Some(heir) => println!(
                "removed '{name}' from {site}; its notebooks, receivers and jobs now belong to '{heir}'"
            ),
            None => println!("removed '{name}' from {site}"),
        },
        UserRemoval::NoSuchUser => {
            bail!("there is no user '{name}' in {site} (`hookbook user list` lists them)")
        }
        UserRemoval::NoSuchHeir => bail!(
            "--transfer-to: there is no user '{}' in {site}",
            heir.map(|h| h.to_string()).unwrap_or_default()
        ),
        UserRemoval::Owns(owned) => bail!(
            "'{name}' still owns {}, {} and {} in {site}: name who takes them with --transfer-to USERNAME",
            count(owned.items, "notebook"),
            count(owned.receivers, "receiver"),
            count(owned.jobs, "job")
        ),
    }
    Ok(())
}

/// `hookbook user revoke-tokens`: every token of the user ends now.
pub async fn revoke_tokens(args: UserNameArgs) -> anyhow::Result<()> {
    let (store, site) = site(&args.storage).await?;
    let user = existing(store.as_ref(), &args, &site).await?;
    let ended = store
        .revoke_tokens(&user.username, Millis::now())
        .await?
        .unwrap_or(0);
    println!(
        "ended {} of '{}' in {site}; its receivers' runs fail until each is updated",
        count(ended, "token"),
        user.username
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_password_line_is_read_only_to_its_bound() {
        let mut endless = std::io::BufReader::new(std::io::repeat(b'a'));
        let refused = super::read_password_from(&mut endless).expect_err("too long");
        assert!(refused.to_string().contains("password"), "{refused}");
        let mut two = "first line\nsecond\n".as_bytes();
        let read = super::read_password_from(&mut two).expect("a password");
        assert_eq!(read.expose(), "first line");
    }
}
