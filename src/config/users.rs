//! `hookbook user ...`: the arguments of the user commands and the
//! roles and privileges they take, as clap value enums.

use clap::{Args, Subcommand};

use super::{ListFormat, StorageArgs};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add(UserAddArgs),
    /// List the users: name, role, privileges, created, last sign-in.
    List(UserListArgs),
    /// Set a user's password (read from standard input); their tokens end.
    Passwd(UserPasswdArgs),
    /// Set a user's role and privileges.
    Set(UserSetArgs),
    /// Remove a user: refused while they own notebooks, receivers or jobs,
    /// unless `--transfer-to` names who takes them.
    Remove(UserRemoveArgs),
    /// End every token of a user (sessions, API tokens, runs' tokens): for a
    /// lost laptop or a leaked token.
    RevokeTokens(UserNameArgs),
}

/// A user's role, as `--role` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UserRole {
    /// Everything, every user's resources.
    Administrator,
    /// Their own resources, as their privileges allow.
    User,
}

impl From<UserRole> for crate::domain::user::Role {
    fn from(role: UserRole) -> Self {
        match role {
            UserRole::Administrator => Self::Administrator,
            UserRole::User => Self::User,
        }
    }
}

/// A privilege, as `--privilege` takes it. A `user` manages its own
/// notebooks and receivers when it holds both (as ArcGIS's custom role for
/// webhooks asks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UserPrivilege {
    /// Create and edit notebooks (with notebooks:webhooks).
    #[value(name = "notebooks:create")]
    NotebooksCreate,
    /// Manage webhook receivers (with notebooks:create).
    #[value(name = "notebooks:webhooks")]
    NotebooksWebhooks,
}

impl From<UserPrivilege> for crate::domain::user::Privilege {
    fn from(privilege: UserPrivilege) -> Self {
        match privilege {
            UserPrivilege::NotebooksCreate => Self::NotebooksCreate,
            UserPrivilege::NotebooksWebhooks => Self::NotebooksWebhooks,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct UserListArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Args)]
pub struct UserNameArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The user's name.
    pub username: String,
}

#[derive(Debug, Clone, Args)]
pub struct UserPasswdArgs {
    #[command(flatten)]
    pub user: UserNameArgs,
    /// Read the new password from standard input, its first line, from a
    /// pipe or a file (passwords never go on the command line or a screen).
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

#[derive(Debug, Clone, Args)]
pub struct UserSetArgs {
    #[command(flatten)]
    pub user: UserNameArgs,
    #[arg(long, value_enum)]
    pub role: UserRole,
    /// Repeat for both; none leaves the user none.
    #[arg(long = "privilege", value_enum)]
    pub privileges: Vec<UserPrivilege>,
}

#[derive(Debug, Clone, Args)]
pub struct UserRemoveArgs {
    #[command(flatten)]
    pub user: UserNameArgs,
    /// The user who takes the removed user's notebooks, receivers, jobs
    /// and notices.
    #[arg(long, value_name = "USERNAME")]
    pub transfer_to: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct UserAddArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The user's name (letters, digits, `.`, `_`, `-`, `@`).
    #[arg(long)]
    pub username: String,
    #[arg(long, value_enum)]
    pub role: UserRole,
    /// Repeat for both (a `user` needs both to manage notebooks and receivers).
    #[arg(long = "privilege", value_enum)]
    pub privileges: Vec<UserPrivilege>,
    /// Read the password from standard input, its first line, from a pipe
    /// or a file (passwords never go on the command line or a screen).
    #[arg(long, required = true)]
    pub password_stdin: bool,
}
