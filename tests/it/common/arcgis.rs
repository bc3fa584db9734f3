//! hookbook as the ArcGIS API for Python meets it: a server over HTTPS
//! with a self-signed certificate made by openssl, and scripts run with
//! the `arcgis` package `scripts/test` installs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::nodes::{add_admin, BIN};
use super::process::Process;
use super::wait::eventually;

/// The Python with `arcgis` and `ipykernel` that `scripts/test` prepares
/// (`HOOKBOOK_TEST_ARCGIS_PYTHON`, else `target/arcgis-python/bin/python`).
pub fn arcgis_python() -> PathBuf {
    let path = std::env::var_os("HOOKBOOK_TEST_ARCGIS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/arcgis-python/bin/python")
        });
    assert!(
        path.exists(),
        "no Python with arcgis at {}: run scripts/test, which installs it",
        path.display()
    );
    path
}

/// The two kinds of session of the package: `password`, its default
/// sign-in (which takes any HTTP 4xx for a token problem), and `token`.
pub const SESSIONS: [&str; 2] = ["password", "token"];

/// The Python expression that signs `user` in to `portal` the `kind` way
/// (with [`PASSWORD`](super::nodes::PASSWORD), or with `token`).
pub fn signed_in(portal: &str, kind: &str, user: &str, token: &str) -> String {
    let password = super::nodes::PASSWORD;
    match kind {
        "password" => format!("GIS({portal:?}, {user:?}, {password:?}, verify_cert=False)"),
        _ => format!("GIS({portal:?}, token={token:?}, verify_cert=False)"),
    }
}

/// A self-signed certificate for 127.0.0.1 and its key, made by openssl.
pub fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            // A server's certificate, not a CA's (rustls refuses a CA's
            // certificate as a server's).
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs (scripts/test checks that it is installed)");
    assert!(made.success(), "openssl could not make a certificate");
    (cert, key)
}

/// `hookbook serve` over HTTPS on `dir` (its certificate `dir/cert.pem`),
/// running notebooks with the arcgis Python, with more `flags`; its
/// process and base URL once it answers.
pub async fn serve_https(
    dir: &Path,
    client: &reqwest::Client,
    flags: &[&str],
) -> (Process, String) {
    let (cert, key) = certificate(dir);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let database = super::db::database_url(dir);
    add_admin(&database);
    let child = Process::spawn(
        Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", &database])
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--python")
            .arg(arcgis_python())
            .args(["--max-concurrent-runs", "1", "--log", "warn"])
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let base = format!("https://127.0.0.1:{port}");
    super::nodes::ready_at(client, &base).await;
    (child, base)
}

/// Runs `script` with the arcgis Python; its standard output, or a panic
/// with both streams when it fails.
pub fn python(script: &str) -> String {
    let out = Command::new(arcgis_python())
        .args(["-c", script])
        .output()
        .expect("python starts");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "the script failed:\n{stdout}\n{stderr}"
    );
    stdout
}

pub async fn form(client: &reqwest::Client, url: String, fields: &[(&str, &str)]) -> Value {
    let r = client.post(url).form(fields).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Uploads `notebook` as `title` to `admin`'s content on the site at
/// `site` (its base URL and context); the item's id.
pub async fn add_notebook(
    client: &reqwest::Client,
    site: &str,
    token: &str,
    title: &str,
    notebook: &Value,
) -> String {
    let text = notebook.to_string();
    let answer = form(
        client,
        format!("{site}/sharing/rest/content/users/admin/addItem"),
        &[
            ("title", title),
            ("text", &text),
            ("token", token),
            ("f", "json"),
        ],
    )
    .await;
    answer["id"].as_str().expect("an item id").to_string()
}

/// Posts a signed webhook to `receiver` on the site at `portal` (its base
/// URL and context) and waits (at most three minutes) for the run to end;
/// the job, and the text of its executed notebook.
pub async fn run_from_webhook(
    client: &reqwest::Client,
    portal: &str,
    token: &str,
    receiver: &str,
) -> (Value, String) {
    let body = br#"{"n": 1}"#;
    let sent: Value = client
        .post(format!("{portal}/rest/events/webhooks/{receiver}"))
        .header("x-esrihook-signature", super::events::esri(body))
        .header("content-type", "application/json")
        .body(&body[..])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job = sent["jobId"].as_str().expect("a job").to_string();
    let done = eventually("the run ends", Duration::from_secs(180), || async {
        let j: Value = client
            .get(format!("{portal}/admin/notebooks/jobs/{job}"))
            .query(&[("f", "json"), ("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match j["status"].as_str().unwrap_or("") {
            "COMPLETED" | "FAILED" => Ok(j),
            _ => Err(j.to_string()),
        }
    })
    .await;
    let executed = client
        .get(format!("{portal}/admin/notebooks/jobs/{job}/notebook"))
        .query(&[("token", token)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (done, executed)
}
