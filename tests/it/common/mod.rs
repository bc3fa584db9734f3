//! Test harness: a real hookbook server on port 0 with a fresh data dir,
//! and typed helpers that speak raw HTTP, forms and JSON to it.

pub mod arcgis;
pub mod db;
pub mod docs;
pub mod events;
pub mod evidence;
pub mod jobs;
pub mod nodes;
pub mod process;
pub mod proxy;
pub mod runs;
pub mod wait;

use clap::Parser as _;
use hookbook::config::{Cli, Command, UserCommand};
use hookbook::domain::user::Password;
use serde_json::Value;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const PASSWORD: &str = "correct horse battery";

/// A notebook with a `parameters` cell, valid nbformat 4.5.
pub const NOTEBOOK: &str = r#"{
 "cells": [
  {"cell_type": "code", "id": "p1", "metadata": {"tags": ["parameters"]}, "source": "x = 1", "outputs": [], "execution_count": null},
  {"cell_type": "code", "id": "c2", "metadata": {}, "source": "print(x)", "outputs": [], "execution_count": null}
 ],
 "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
 "nbformat": 4,
 "nbformat_minor": 5
}"#;

pub const SECRET: &str = "9f8b47c2e4a748d3b58e2a17ad8f2e4b";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub dir: TempDir,
    shutdown: CancellationToken,
    server: JoinHandle<anyhow::Result<()>>,
    _kernels: KernelsDir,
}

/// The server's kernels directory (outside its data dir), removed when the
/// test lets go of the server, so that no test leaves one behind.
struct KernelsDir(std::path::PathBuf);

impl Drop for KernelsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts a server on a fresh data dir.
pub async fn spawn_app() -> TestApp {
    spawn_app_in(tempfile::tempdir().expect("a temporary data dir"), &[]).await
}

/// Starts a server on `dir` (which may hold state from an earlier server),
/// with extra `serve` flags.
pub async fn spawn_app_in(dir: TempDir, extra: &[&str]) -> TestApp {
    let mut argv = vec![
        "hookbook".to_string(),
        "serve".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--data-dir".into(),
        dir.path().display().to_string(),
        "--log".into(),
        "warn".into(),
    ];
    argv.extend(db::database_args(dir.path()));
    // Runs are off unless a test asks for them (then with the test Python).
    if extra.contains(&"--max-concurrent-runs") {
        argv.push("--python".into());
        argv.push(python().display().to_string());
    } else {
        argv.push("--max-concurrent-runs".into());
        argv.push("0".into());
    }
    argv.extend(extra.iter().map(|s| s.to_string()));
    let Command::Serve(args) = Cli::try_parse_from(argv).expect("valid flags").command else {
        unreachable!("serve was asked for")
    };
    let application = hookbook::startup::Application::build(*args)
        .await
        .expect("the server builds");
    let base = format!("http://{}", application.local_addr());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(application.run_until(shutdown.clone()));
    let kernels = hookbook::startup::kernels_dir(dir.path()).expect("the kernels directory");
    TestApp {
        base,
        client: reqwest::Client::new(),
        dir,
        shutdown,
        server,
        _kernels: KernelsDir(kernels),
    }
}

pub struct Reply {
    /// The answer's status as an ArcGIS client reads it: the error code in
    /// the body of an error answered with HTTP 200 (the admin and sharing
    /// APIs' convention for `f=json`), else the HTTP status.
    pub status: u16,
    /// The HTTP status itself.
    pub http: u16,
    pub json: Value,
}

impl TestApp {
    /// Stops the server gracefully and hands back its data dir.
    pub async fn stop(self) -> TempDir {
        self.shutdown.cancel();
        self.server
            .await
            .expect("the server task ends")
            .expect("the server stops cleanly");
        self.dir
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates a user the way `hookbook user add` does.
    pub async fn add_user(&self, username: &str, role: &str, privileges: &[&str]) {
        let mut argv = vec![
            "hookbook",
            "user",
            "add",
            "--data-dir",
            self.dir.path().to_str().unwrap(),
            "--username",
            username,
            "--role",
            role,
            "--password-stdin",
        ];
        for p in privileges {
            argv.push("--privilege");
            argv.push(p);
        }
        let database = db::database_args(self.dir.path());
        argv.extend(database.iter().map(String::as_str));
        let Command::User(UserCommand::Add(args)) = Cli::try_parse_from(argv).unwrap().command
        else {
            unreachable!()
        };
        hookbook::startup::add_user(args, Password::parse(PASSWORD).unwrap())
            .await
            .expect("the user is created");
    }

    pub async fn token(&self, username: &str) -> String {
        let r = self
            .post_form(
                "/notebooks/sharing/rest/generateToken",
                None,
                &[
                    ("username", username),
                    ("password", PASSWORD),
                    ("f", "json"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        r.json["token"].as_str().expect("a token").to_string()
    }

    /// The usual cast: an administrator, two users with both privileges,
    /// and one without them. Returns their tokens in that order.
    pub async fn cast(&self) -> Cast {
        let both = ["notebooks:create", "notebooks:webhooks"];
        self.add_user("admin", "administrator", &[]).await;
        self.add_user("alice", "user", &both).await;
        self.add_user("bob", "user", &both).await;
        self.add_user("carol", "user", &["notebooks:create"]).await;
        Cast {
            admin: self.token("admin").await,
            alice: self.token("alice").await,
            bob: self.token("bob").await,
            carol: self.token("carol").await,
        }
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let r = self.client.get(self.url("/metrics")).send().await;
        r.expect("the server answers").text().await.expect("a body")
    }

    /// The page of `path` (`f=html`), as `token`.
    pub async fn html(&self, path: &str, token: &str) -> String {
        let r = self
            .client
            .get(self.url(path))
            .query(&[("f", "html"), ("token", token)])
            .send()
            .await;
        r.expect("the server answers").text().await.expect("a body")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut req = self.client.get(self.url(path)).query(&[("f", "json")]);
        if let Some(t) = token {
            req = req.query(&[("token", t)]);
        }
        into_reply(req.send().await.expect("the server answers")).await
    }

    pub async fn post_form(
        &self,
        path: &str,
        token: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Reply {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        if !fields.iter().any(|(k, _)| *k == "f") {
            form.push(("f", "json"));
        }
        if let Some(t) = token {
            form.push(("token", t));
        }
        let resp = self
            .client
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .expect("the server answers");
        into_reply(resp).await
    }

    /// Adds `NOTEBOOK` to `owner`'s content as `text`; returns the item id.
    pub async fn add_item(&self, token: &str, owner: &str) -> String {
        let r = self
            .post_form(
                &format!("/notebooks/sharing/rest/content/users/{owner}/addItem"),
                Some(token),
                &[("type", "Notebook"), ("title", "Demo"), ("text", NOTEBOOK)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        r.json["id"].as_str().unwrap().to_string()
    }

    pub async fn create_receiver(&self, token: &str, fields: &[(&str, &str)]) -> Reply {
        self.post_form(
            "/notebooks/admin/notebooks/webhookReceivers/create",
            Some(token),
            fields,
        )
        .await
    }

    /// Creates a valid receiver on `item`; returns its id.
    pub async fn receiver_on(&self, token: &str, item: &str) -> String {
        let r = self
            .create_receiver(
                token,
                &[
                    ("name", "on-update"),
                    ("itemId", item),
                    ("secret", SECRET),
                    ("signatureHeaders", "x-esrihook-signature"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        r.json["webhookReceiver"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

pub struct Cast {
    pub admin: String,
    pub alice: String,
    pub bob: String,
    pub carol: String,
}

pub async fn into_reply(resp: reqwest::Response) -> Reply {
    let http = resp.status().as_u16();
    let text = resp.text().await.expect("a body");
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    let status = match error_code(&json) {
        Some(code) if http == 200 => code,
        _ => http,
    };
    Reply { status, http, json }
}

/// The status an ArcGIS client reads from an answer: the code in the body
/// of an error, else the HTTP status.
pub async fn code_of(resp: reqwest::Response) -> u16 {
    into_reply(resp).await.status
}

/// The code of an error answer of the admin API (`{"status": "error",
/// "code": N}`) or of the sharing API (`{"error": {"code": N}}`).
pub fn error_code(json: &Value) -> Option<u16> {
    let code = if json["status"] == "error" {
        &json["code"]
    } else {
        &json["error"]["code"]
    };
    code.as_u64().and_then(|c| u16::try_from(c).ok())
}

pub const RECEIVERS: &str = "/notebooks/admin/notebooks/webhookReceivers";

/// The Python with ipykernel and nbformat that `scripts/test` prepares
/// (`HOOKBOOK_TEST_PYTHON`, else `target/test-python/bin/python`).
pub fn python() -> std::path::PathBuf {
    let path = std::env::var_os("HOOKBOOK_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-python/bin/python")
        });
    assert!(
        path.exists(),
        "no Python with ipykernel at {}: run scripts/test, which installs it",
        path.display()
    );
    path
}

/// Checks a notebook with Python's own `nbformat.validate`.
pub fn assert_valid_notebook(notebook: &Value) {
    use std::io::Write as _;
    let mut child = std::process::Command::new(python())
        .args(["-c", "import sys, nbformat; nbformat.validate(nbformat.reads(sys.stdin.read(), as_version=4)); print('valid')"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(notebook.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nbformat.validate refused the notebook: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The host's own address as the network sees it (no packet is sent to
/// find it): where a test's service listens for runs to reach, since a
/// run's own network does not have the host's loopback.
pub fn host_address() -> std::net::IpAddr {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    probe.connect("192.0.2.1:9").unwrap();
    let address = probe.local_addr().unwrap().ip();
    assert!(
        !address.is_loopback() && !address.is_unspecified(),
        "the tests need an address besides loopback for runs to reach them"
    );
    address
}

/// A task the test started, aborted when the test lets go of it (on every
/// way out, a panic included).
pub struct Aborting(pub tokio::task::JoinHandle<()>);

impl Drop for Aborting {
    fn drop(&mut self) {
        self.0.abort();
    }
}
