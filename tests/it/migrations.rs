//! Upgrades of a database made by an earlier hookbook, on both databases:
//! the embedded migrations cut before a change, rows written as that
//! schema had them, then the store opened (which migrates the rest).

use crate::common::db::event;
use hookbook::domain::ids::{EventId, JobId, ReceiverId};
use hookbook::store::Acceptance;

/// What `old_rows` stored with the schema before the partial index.
struct OldRows {
    receiver: ReceiverId,
    with_id: (EventId, JobId),
    without_id: EventId,
}

/// An event with a delivery id and one without, each with its job, written
/// into `$pool` (either database) as the earlier schema had them.
macro_rules! old_rows {
    ($pool:expr) => {{
        let receiver = ReceiverId::generate();
        let with_id = (EventId::generate(), JobId::generate());
        let without_id = EventId::generate();
        for (event, job, delivery) in [
            (with_id.0, with_id.1, Some("d-1".to_string())),
            (without_id, JobId::generate(), None),
        ] {
            sqlx::query(
                "INSERT INTO events (id, receiver_id, delivery_id, received, headers, body) \
                 VALUES ($1, $2, $3, 1, '{}', '')",
            )
            .bind(event.to_string())
            .bind(receiver.to_string())
            .bind(delivery)
            .execute($pool)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO jobs (id, kind, status, item_id, receiver_id, event_id, username, submitted) \
                 VALUES ($1, 'webhook', 'SUBMITTED', 'item', $2, $3, 'alice', 1)",
            )
            .bind(job.to_string())
            .bind(receiver.to_string())
            .bind(event.to_string())
            .execute($pool)
            .await
            .unwrap();
        }
        OldRows {
            receiver,
            with_id,
            without_id,
        }
    }};
}

async fn check_migrated(url: &str, old: OldRows) {
    let store = hookbook::store::open(&hookbook::store::DatabaseUrl::parse(url).unwrap())
        .await
        .unwrap_or_else(|e| panic!("{url}: {e:#}"));
    for id in [old.with_id.0, old.without_id] {
        assert!(
            store.event(&id).await.unwrap().is_some(),
            "{url}: event {id} kept"
        );
    }
    let again = store
        .accept_events(vec![event(old.receiver, Some("d-1"))], 100)
        .await
        .unwrap();
    assert_eq!(
        again,
        vec![Acceptance::Duplicate {
            job_id: old.with_id.1
        }],
        "{url}"
    );
    let fresh = store
        .accept_events(
            vec![event(old.receiver, None), event(old.receiver, None)],
            100,
        )
        .await
        .unwrap();
    assert!(
        fresh
            .iter()
            .all(|a| matches!(a, Acceptance::Accepted { .. })),
        "{url}: {fresh:?}"
    );
}

/// `migrator` without its migrations from `version` on.
fn before(mut migrator: sqlx::migrate::Migrator, version: i64) -> sqlx::migrate::Migrator {
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version < version)
        .cloned()
        .collect();
    migrator
}

/// A database made before duplicates moved to a partial index (SQLite
/// rebuilds the events table for it): its events, their jobs and their
/// delivery ids come through, the old delivery id is still a duplicate of
/// its job, and deliveries without an id are all accepted.
#[tokio::test]
async fn a_database_from_before_the_partial_index_keeps_events_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("hookbook.db").display());
    let before_sqlite = before(sqlx::migrate!("./crates/store/migrations/sqlite"), 12);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(dir.path().join("hookbook.db"))
                .create_if_missing(true)
                .foreign_keys(true),
        )
        .await
        .unwrap();
    before_sqlite.run(&pool).await.unwrap();
    let old = old_rows!(&pool);
    pool.close().await;
    check_migrated(&sqlite, old).await;

    let postgres = crate::common::db::fresh_postgres();
    let before_postgres = before(sqlx::migrate!("./crates/store/migrations/postgres"), 10);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect(&postgres)
        .await
        .unwrap();
    before_postgres.run(&pool).await.unwrap();
    let old = old_rows!(&pool);
    pool.close().await;
    check_migrated(&postgres, old).await;
}
