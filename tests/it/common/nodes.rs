//! Whole `hookbook serve` processes for tests of a site: several nodes on
//! one database, started and killed like real ones.

use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_hookbook");
pub const PASSWORD: &str = "multi node pw";

use super::process::Process;
use super::wait::eventually;

/// A node: its process (killed with its kernels when the node is dropped)
/// and its data dir.
pub struct Node {
    pub child: Process,
    pub base: String,
    pub dir: tempfile::TempDir,
}

/// A random encryption key, as every node of a site shares one.
pub fn key() -> String {
    let mut key = Vec::with_capacity(32);
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(key)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a node on `database` with its own data dir; runs use the test
/// Python when `flags` ask for them.
pub fn start_node(database: &str, key: &str, flags: &[&str]) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let (child, base) = serve(dir.path(), database, key, flags);
    Node { child, base, dir }
}

/// `hookbook serve` on `data_dir` (which outlives it); returns the process
/// and its base URL.
pub fn serve(
    data_dir: &std::path::Path,
    database: &str,
    key: &str,
    flags: &[&str],
) -> (Process, String) {
    let port = free_port();
    let child = Process::spawn(
        Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", database, "--encryption-key", key])
            .args(["--data-dir", data_dir.to_str().unwrap()])
            .args(["--python", super::python().to_str().unwrap()])
            .args(["--log", "warn"])
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    (child, format!("http://127.0.0.1:{port}"))
}

/// Waits (bounded) until `base` answers `/healthz`.
pub async fn ready_at(client: &reqwest::Client, base: &str) {
    let what = format!("{base} answers /healthz");
    eventually(&what, Duration::from_secs(60), || async {
        match client.get(format!("{base}/healthz")).send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    })
    .await
}

pub async fn ready(client: &reqwest::Client, node: &Node) {
    ready_at(client, &node.base).await
}

/// `hookbook user add` of an administrator `admin` with [`PASSWORD`].
pub fn add_admin(database: &str) {
    add_administrator(database, "admin");
}

/// `hookbook user add` of an administrator `username` with [`PASSWORD`].
pub fn add_administrator(database: &str, username: &str) {
    add_user(database, username, "administrator");
}

/// `hookbook user add` of `username` in `role`, without privileges, with
/// [`PASSWORD`].
pub fn add_user(database: &str, username: &str, role: &str) {
    use std::io::Write as _;
    // The site is made first, as `user add` makes none.
    let made = Command::new(BIN)
        .args(["migrate", "--database-url", database])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success(), "hookbook migrate --database-url {database}");
    let mut child = Command::new(BIN)
        .args(["user", "add", "--database-url", database])
        .args(["--username", username, "--role", role, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(child.wait().unwrap().success());
}

/// Posts a form and expects 200 with JSON.
pub async fn form(client: &reqwest::Client, url: String, fields: &[(&str, &str)]) -> Value {
    let r = client.post(url).form(fields).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Signs in as `admin` on `base`.
pub async fn admin_token(client: &reqwest::Client, base: &str) -> String {
    form(
        client,
        format!("{base}/notebooks/sharing/rest/generateToken"),
        &[("username", "admin"), ("password", PASSWORD), ("f", "json")],
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Adds `notebook` to admin's content as `name` and registers a receiver
/// for it with `super::SECRET` and ArcGIS-style signatures; returns the
/// item id and the receiver id.
pub async fn notebook_receiver(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    name: &str,
    notebook: &str,
) -> (String, String) {
    let item = form(
        client,
        format!("{base}/notebooks/sharing/rest/content/users/admin/addItem"),
        &[
            ("title", name),
            ("text", notebook),
            ("token", token),
            ("f", "json"),
        ],
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let receiver = form(
        client,
        format!("{base}/notebooks/admin/notebooks/webhookReceivers/create"),
        &[
            ("name", name),
            ("itemId", &item),
            ("secret", super::SECRET),
            ("signatureHeaders", "x-esrihook-signature"),
            ("token", token),
            ("f", "json"),
        ],
    )
    .await;
    let id = receiver["webhookReceiver"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (item, id)
}
