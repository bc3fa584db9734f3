//! The PostgreSQL store, shared by every node of a site: migrations run at
//! open (under sqlx's advisory lock, so nodes may start together), the
//! queue takes jobs with `FOR UPDATE SKIP LOCKED`, and nodes tell each other
//! about new jobs and cancellations with `NOTIFY`.

mod intake;
mod jobs;
mod site;

use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::{Store, StoreError};

/// The channel nodes notify and listen on: `queued` or `cancel:<job id>`.
const CHANNEL: &str = "hookbook";

/// Connections per node: intake batches, claims, heartbeats and API reads.
const POOL_SIZE: u32 = 16;

/// The PostgreSQL implementation of [`super::Store`].
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

/// Whether the database at `url` holds a hookbook site (its tables were
/// made), without making anything.
pub async fn holds_a_site(url: &str) -> anyhow::Result<bool> {
    use sqlx::Connection as _;
    let shown = describe(url);
    let options = PgConnectOptions::from_str(url)
        .with_context(|| format!("{shown} is not a usable PostgreSQL URL"))?;
    let mut conn = sqlx::PgConnection::connect_with(&options)
        .await
        .with_context(|| format!("cannot connect to the database {shown}"))?;
    let users: Option<String> = sqlx::query_scalar("SELECT to_regclass('users')::text")
        .fetch_one(&mut conn)
        .await?;
    let _ = conn.close().await;
    Ok(users.is_some())
}

impl PgStore {
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let shown = describe(url);
        let options = PgConnectOptions::from_str(url)
            .with_context(|| format!("{shown} is not a usable PostgreSQL URL"))?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .with_context(|| format!("cannot connect to the database {shown}"))?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(StoreError::from)
            .with_context(|| format!("cannot migrate the database {shown}"))?;
        Ok(Self { pool })
    }
}

super::shared::users::user_store!(PgStore);
super::shared::tokens::token_store!(PgStore);
super::shared::items::item_store!(PgStore);
super::shared::uploads::upload_store!(PgStore);
super::shared::receivers::receiver_store!(PgStore);
super::shared::nodes::node_store!(PgStore);
super::shared::copy::copy_store!(PgStore);
super::shared::retries::retry_store!(PgStore);
super::shared::runtimes::runtime_store!(PgStore);
super::shared::notices::notice_store!(PgStore);
super::shared::progress::progress_store!(PgStore);
super::shared::dashboard::dashboard_store!(PgStore);

impl PgStore {
    /// PostgreSQL has row locks and no single writer: no turn to wait for.
    async fn write_turn(&self) {}

    /// A transaction that will write.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }
}

impl Store for PgStore {
    fn single_node(&self) -> bool {
        false
    }
}

/// The URL with its password replaced by `***`, for messages and logs.
pub fn describe(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "a PostgreSQL URL".into();
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let shown = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    format!("{scheme}://{shown}/{path}")
}

/// Counts that PostgreSQL returns as `bigint` and the API wants unsigned.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn passwords_never_appear_in_descriptions() {
        assert_eq!(
            describe("postgres://hook:s3cret@db.example:5432/hookbook?sslmode=require"),
            "postgres://hook:***@db.example:5432/hookbook"
        );
        assert_eq!(
            describe("postgresql://root@127.0.0.1/test"),
            "postgresql://root@127.0.0.1/test"
        );
        assert_eq!(describe("postgres://localhost"), "postgres://localhost/");
        assert_eq!(describe("nonsense"), "a PostgreSQL URL");
    }
}
