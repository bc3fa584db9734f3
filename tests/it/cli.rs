//! The `hookbook` binary as a user runs it: flags, usage errors with the
//! usage line, one-line refusals, user creation, and a graceful stop on
//! SIGTERM.

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::common::process::{hookbook, Process};
use crate::common::wait::{eventually, eventually_blocking};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_hookbook");

fn one_line(stderr: &str) -> &str {
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line, got: {stderr}"
    );
    stderr.trim_end()
}

/// A usage error: exit code 2, its message naming `what`, then clap's
/// usage line of the command and where to read more.
fn usage_error(code: i32, err: &str, what: &str, command: &str) {
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("hookbook: "), "{err}");
    let said = err.split("Usage: ").next().unwrap_or_default();
    assert!(said.contains(what), "{what} in: {err}");
    assert!(err.contains(&format!("Usage: hookbook {command}")), "{err}");
    assert!(err.contains("For more information, try '--help'."), "{err}");
}

#[test]
fn a_bad_flag_value_stops_the_start_naming_it_with_the_usage_line() {
    let (code, _, err) = hookbook(&["serve", "--listen", "not-an-address"], "");
    usage_error(code, &err, "--listen", "serve");
    let (code, _, err) = hookbook(&["serve", "--max-payload-bytes", "0"], "");
    usage_error(code, &err, "--max-payload-bytes", "serve");
    let (code, _, err) = hookbook(&["serve", "--database-url", "mysql://x"], "");
    usage_error(code, &err, "database", "serve");
    let (code, _, err) = hookbook(&["serve", "--no-such-flag"], "");
    usage_error(code, &err, "--no-such-flag", "serve");
    let (code, _, err) = hookbook(&["serve", "--log-format", "xml"], "");
    usage_error(code, &err, "--log-format", "serve");
}

#[test]
fn an_unusable_data_dir_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let (code, _, err) = hookbook(
        &[
            "serve",
            "--max-concurrent-runs",
            "0",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 1);
    let line = one_line(&err);
    assert!(
        line.contains("data dir") && line.contains("a-file"),
        "{line}"
    );
}

#[test]
fn a_bad_encryption_key_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "serve",
            "--max-concurrent-runs",
            "0",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ])
        .env("HOOKBOOK_ENCRYPTION_KEY", "too-short")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(one_line(&err).contains("HOOKBOOK_ENCRYPTION_KEY"), "{err}");
    assert!(!err.contains("too-short"), "the key is not echoed");
}

#[test]
fn user_add_creates_users_once_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, _, err) = hookbook(&["migrate", "--data-dir", d], "");
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = hookbook(
        &[
            "user",
            "add",
            "--data-dir",
            d,
            "--username",
            "alice",
            "--role",
            "user",
            "--privilege",
            "notebooks:create",
            "--privilege",
            "notebooks:webhooks",
            "--password-stdin",
        ],
        "s3cret pass\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("'alice'"), "{out}");
    assert!(
        out.contains(&format!("sqlite://{d}/hookbook.db")),
        "the site it wrote to: {out}"
    );
    let (code, _, err) = hookbook(
        &[
            "user",
            "add",
            "--data-dir",
            d,
            "--username",
            "alice",
            "--role",
            "user",
            "--password-stdin",
        ],
        "other\n",
    );
    assert_eq!(code, 1);
    assert!(one_line(&err).contains("already exists"), "{err}");
    let (code, _, err) = hookbook(
        &[
            "user",
            "add",
            "--data-dir",
            d,
            "--username",
            "bob",
            "--role",
            "root",
            "--password-stdin",
        ],
        "pw\n",
    );
    usage_error(code, &err, "--role", "user add");
    assert!(
        err.contains("[possible values: administrator, user]"),
        "{err}"
    );
    let (code, _, err) = hookbook(
        &[
            "user",
            "add",
            "--data-dir",
            d,
            "--username",
            "bob",
            "--role",
            "user",
            "--privilege",
            "all",
            "--password-stdin",
        ],
        "pw\n",
    );
    usage_error(code, &err, "--privilege", "user add");
    let (code, _, err) = hookbook(
        &[
            "user",
            "add",
            "--data-dir",
            d,
            "--username",
            "bob",
            "--role",
            "user",
        ],
        "pw\n",
    );
    usage_error(code, &err, "--password-stdin", "user add");
    let (code, _, err) = hookbook(
        &[
            "user",
            "add",
            "--data-dir",
            d,
            "--username",
            "bob",
            "--role",
            "user",
            "--password-stdin",
        ],
        "\n",
    );
    assert_eq!(code, 1);
    assert!(one_line(&err).contains("password"), "{err}");
}

/// Starts `hookbook serve` on a free port and waits for /healthz.
fn start_server(dir: &std::path::Path) -> (Process, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let child = Process::spawn(
        Command::new(BIN)
            .args([
                "serve",
                "--max-concurrent-runs",
                "0",
                "--listen",
                &addr.to_string(),
                "--data-dir",
                dir.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    eventually_blocking("the server becomes ready", Duration::from_secs(30), || {
        use std::io::Read as _;
        let mut s = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        if answer.starts_with("HTTP/1.1 200") {
            Ok(())
        } else {
            Err(answer)
        }
    });
    (child, addr.to_string())
}

#[test]
fn sigterm_stops_the_server_gracefully_with_exit_code_0() {
    let dir = tempfile::tempdir().unwrap();
    let (child, _) = start_server(dir.path());
    child.terminate();
    let out = child.wait_with_output();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn user_add_works_while_the_server_runs_and_the_key_file_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _) = start_server(dir.path());
    let (code, _, err) = hookbook(
        &[
            "user",
            "add",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--username",
            "admin",
            "--role",
            "administrator",
            "--password-stdin",
        ],
        "pw\n",
    );
    assert_eq!(code, 0, "{err}");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(dir.path().join("encryption.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // So is the database (password hashes, sealed secrets) and its log.
    for file in ["hookbook.db", "hookbook.db-wal"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    child.kill();
}

#[tokio::test]
async fn secrets_tokens_and_passwords_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let password = "pw-that-must-not-be-logged";
    let (code, _, err) = hookbook(&["migrate", "--data-dir", d], "");
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = hookbook(
        &[
            "user",
            "add",
            "--data-dir",
            d,
            "--username",
            "admin",
            "--role",
            "administrator",
            "--password-stdin",
        ],
        &format!("{password}\n"),
    );
    assert_eq!(code, 0, "{err}");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let child = Process::spawn(
        Command::new(BIN)
            .args([
                "serve",
                "--max-concurrent-runs",
                "0",
                "--listen",
                &addr.to_string(),
                "--data-dir",
                d,
                "--log",
                "trace",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let client = reqwest::Client::new();
    let base = format!("http://{addr}/notebooks");
    eventually(
        "the server becomes ready",
        Duration::from_secs(30),
        || async {
            client
                .get(format!("http://{addr}/healthz"))
                .send()
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        },
    )
    .await;
    let token: serde_json::Value = client
        .post(format!("{base}/sharing/rest/generateToken"))
        .form(&[("username", "admin"), ("password", password), ("f", "json")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    let notebook = r#"{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#;
    let item: serde_json::Value = client
        .post(format!("{base}/sharing/rest/content/users/admin/addItem"))
        .form(&[
            ("title", "t"),
            ("text", notebook),
            ("f", "json"),
            ("token", &token),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = "Zq8WdLz3vPq0rT6yUe1iO9pA2sD4fG7h";
    let r = client
        .post(format!("{base}/admin/notebooks/webhookReceivers/create"))
        .header("Authorization", format!("Bearer {token}"))
        .form(&[
            ("name", "n"),
            ("itemId", item["id"].as_str().unwrap()),
            ("secret", secret),
            ("signatureHeaders", "x-sig"),
            ("apiToken", &token),
            ("f", "json"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    child.terminate();
    let out = child.wait_with_output();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("listening"), "the log was captured: {log}");
    for needle in [secret, token.as_str(), password] {
        assert!(!log.contains(needle), "a secret value appears in the log");
    }
}

#[test]
fn a_data_dir_whose_key_was_replaced_refuses_to_start_naming_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _) = start_server(dir.path());
    child.kill();
    let key_file = dir.path().join("encryption.key");
    std::fs::remove_file(&key_file).unwrap();
    // The next start makes a new key file, which cannot open the site.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut server = Process::spawn(
        Command::new(BIN)
            .args([
                "serve",
                "--max-concurrent-runs",
                "0",
                "--listen",
                &addr.to_string(),
            ])
            .args(["--data-dir", dir.path().to_str().unwrap()])
            .env_remove("HOOKBOOK_ENCRYPTION_KEY")
            .env_remove("HOOKBOOK_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    // It must stop by itself; a server that starts anyway fails the test
    // (and is killed by the guard) rather than hanging it.
    eventually_blocking(
        "the server stops by itself rather than start with a key that cannot open the site",
        Duration::from_secs(120),
        || match server.try_wait().unwrap() {
            Some(_) => Ok(()),
            None => Err("still running".to_string()),
        },
    );
    let out = server.wait_with_output();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open this site's secrets"), "{err}");
    assert!(err.contains(&key_file.display().to_string()), "{err}");
}
