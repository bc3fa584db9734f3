//! Which database a test's server uses. By default SQLite in the test's
//! data dir; with `HOOKBOOK_TEST_BACKEND=postgres`, a fresh PostgreSQL
//! database per data dir on the server `HOOKBOOK_TEST_POSTGRES` names (a
//! URL of a database to connect to for `CREATE DATABASE`), so tests stay
//! independent and run in parallel. `scripts/test` sets both.

use std::path::Path;
use std::sync::Arc;

use hookbook::domain::event::SignedPart;
use hookbook::domain::ids::{EventId, ItemId, JobId, ReceiverId};
use hookbook::domain::time::Millis;
use hookbook::domain::user::Username;
use hookbook::store::{DatabaseUrl, NewEvent, Store};

/// Where the URL of a data dir's PostgreSQL database is remembered, so a
/// restarted server finds its state again.
const REMEMBERED: &str = "test-database-url";

/// True when the black-box suites run against PostgreSQL.
pub fn on_postgres() -> bool {
    match std::env::var("HOOKBOOK_TEST_BACKEND").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("HOOKBOOK_TEST_BACKEND must be sqlite or postgres, not {other}"),
    }
}

/// The PostgreSQL server tests create databases on.
pub fn postgres_server() -> String {
    std::env::var("HOOKBOOK_TEST_POSTGRES").expect(
        "HOOKBOOK_TEST_POSTGRES is not set: it names a PostgreSQL database to connect to \
         (scripts/test sets postgres://root@127.0.0.1:5432/test)",
    )
}

/// Creates an empty database on the test server; returns its URL.
pub fn fresh_postgres() -> String {
    let server = postgres_server();
    let name = format!("hookbook_test_{}", uuid::Uuid::new_v4().simple());
    let admin = server.clone();
    let create = format!("CREATE DATABASE {name}");
    // Its own thread and runtime, so that sync and async tests can call it.
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                use sqlx::Connection as _;
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL {admin}: {e}"));
                sqlx::Executor::execute(&mut conn, create.as_str())
                    .await
                    .expect("a fresh test database");
            })
    })
    .join()
    .expect("creating a test database");
    let base = server.split('?').next().unwrap_or(&server);
    let (prefix, _) = base.rsplit_once('/').expect("a URL with a database name");
    format!("{prefix}/{name}")
}

/// The database URL of the server whose data dir is `dir`.
pub fn database_url(dir: &Path) -> String {
    if !on_postgres() {
        return format!("sqlite://{}", dir.join("hookbook.db").display());
    }
    let remembered = dir.join(REMEMBERED);
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return url;
    }
    let url = fresh_postgres();
    std::fs::write(&remembered, &url).expect("remembering the test database");
    url
}

/// `--database-url` and its value, for a command line.
pub fn database_args(dir: &Path) -> [String; 2] {
    ["--database-url".into(), database_url(dir)]
}

/// Opens the store a server on `dir` uses, as a second client.
pub async fn store(dir: &Path) -> Arc<dyn Store> {
    let url = DatabaseUrl::parse(&database_url(dir)).expect("a database URL");
    hookbook::store::open(&url).await.expect("the store opens")
}

/// Every byte the database of `dir` holds, as it lies on disk (SQLite's
/// files) or as PostgreSQL prints each row (bytes as hex): for searching
/// for what must never be stored in the clear.
pub async fn everything_stored(dir: &Path) -> Vec<u8> {
    if !on_postgres() {
        // A stopping server's last connection may still fold the log into
        // the database and remove it: read again until no file vanished.
        let what = format!("the database files of {} stop changing", dir.display());
        return super::wait::eventually(&what, std::time::Duration::from_secs(5), || async {
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if name.starts_with("hookbook.db") {
                    match std::fs::read(&path) {
                        Ok(b) => bytes.extend(b),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                            return Err(format!("{} vanished as it was read", path.display()));
                        }
                        Err(e) => panic!("cannot read {}: {e}", path.display()),
                    }
                }
            }
            Ok(bytes)
        })
        .await;
    }
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&database_url(dir))
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut bytes = Vec::new();
    for table in tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM {table} t"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        for row in rows {
            bytes.extend(row.into_bytes());
        }
    }
    bytes
}

/// A delivery of `receiver` as intake hands it to the store: a small JSON
/// body, signed whole, for alice's item.
pub fn event(receiver: ReceiverId, delivery: Option<&str>) -> NewEvent {
    NewEvent {
        event_id: EventId::generate(),
        job_id: JobId::generate(),
        receiver_id: receiver,
        delivery_id: delivery.map(str::to_string),
        received: Millis::now(),
        headers: "{}".into(),
        body: b"{}".to_vec(),
        signed: SignedPart::Body,
        item_id: ItemId::generate(),
        username: Username::parse("alice").unwrap(),
        parameters: "{}".into(),
    }
}

/// Both stores, each fresh; the temporary dir keeps the SQLite file alive.
pub async fn stores() -> Vec<(&'static str, Arc<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = hookbook::store::open(
        &hookbook::store::DatabaseUrl::parse(&format!(
            "sqlite://{}",
            dir.path().join("hookbook.db").display()
        ))
        .unwrap(),
    )
    .await
    .unwrap();
    let url = fresh_postgres();
    let postgres = hookbook::store::open(&hookbook::store::DatabaseUrl::parse(&url).unwrap())
        .await
        .unwrap();
    vec![
        ("sqlite", sqlite, dir),
        ("postgres", postgres, tempfile::tempdir().unwrap()),
    ]
}
