//! Users managed from the shell, through the binary, on both databases:
//! list, passwd, set, remove (refused while the user owns anything, or
//! handing it over), revoke-tokens; every command but `serve` and `migrate`
//! refusing a site that does not exist; completions and the man page; log
//! lines that fit a file or a log shipper.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::process::hookbook as run;
use crate::common::{spawn_app, PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_hookbook");

/// `hookbook user ARGS` on the site of `dir` (its database, on either).
fn user(dir: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut argv = vec!["user".to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    argv.extend(["--data-dir".to_string(), dir.display().to_string()]);
    argv.extend(crate::common::db::database_args(dir));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    run(&argv, stdin)
}

fn listed(dir: &Path) -> Vec<Value> {
    let (code, out, err) = user(dir, &["list", "--format", "json"], "");
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<Value>(&out)
        .expect("JSON")
        .as_array()
        .unwrap()
        .clone()
}

/// The first line of a refusal (exit code 1).
fn refusal(code: i32, err: &str) -> String {
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err.trim_end().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_listed_changed_handed_over_and_removed_from_the_shell() {
    let app = spawn_app().await;
    let dir = app.dir.path().to_path_buf();
    app.add_user("admin", "administrator", &[]).await;
    app.add_user("alice", "user", &["notebooks:create", "notebooks:webhooks"])
        .await;
    app.add_user("bob", "user", &[]).await;
    let alice = app.token("alice").await;
    let item = app.add_item(&alice, "alice").await;

    // Listed as JSON for scripts and as a table for people.
    let users = listed(&dir);
    let names: Vec<&str> = users
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "alice", "bob"]);
    assert!(
        users[1]["lastSignIn"].is_i64(),
        "alice signed in: {}",
        users[1]
    );
    assert!(
        users[2]["lastSignIn"].is_null(),
        "bob never did: {}",
        users[2]
    );
    assert_eq!(
        users[1]["privileges"],
        serde_json::json!(["notebooks:create", "notebooks:webhooks"])
    );
    let (code, table, err) = user(&dir, &["list"], "");
    assert_eq!(code, 0, "{err}");
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("USER") && header.contains("LAST SIGN-IN"),
        "{table}"
    );
    let bob = lines.find(|l| l.starts_with("bob ")).expect("bob's row");
    assert!(bob.contains("user") && bob.ends_with("never"), "{bob}");
    assert!(err.contains("3 users in "), "which site it read: {err}");

    // The site keeps an administrator.
    let (code, _, err) = user(&dir, &["set", "admin", "--role", "user"], "");
    assert!(
        refusal(code, &err).contains("'admin' is the last administrator"),
        "{err}"
    );
    let (code, _, err) = user(&dir, &["remove", "admin"], "");
    assert!(
        refusal(code, &err).contains("'admin' is the last administrator"),
        "{err}"
    );
    let (code, _, err) = user(
        &dir,
        &[
            "add",
            "--username",
            "..",
            "--role",
            "user",
            "--password-stdin",
        ],
        "pw pw pw\n",
    );
    assert!(refusal(code, &err).contains("only dots"), "{err}");

    // Role and privileges, checked by clap.
    let (code, out, err) = user(&dir, &["set", "bob", "--role", "administrator"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("'bob' is now administrator in "), "{out}");
    assert_eq!(listed(&dir)[2]["role"], "administrator");
    let (code, _, err) = user(&dir, &["set", "bob", "--role", "wizard"], "");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("[possible values: administrator, user]"),
        "{err}"
    );
    let (code, _, err) = user(&dir, &["set", "ghost", "--role", "user"], "");
    assert!(
        refusal(code, &err).contains("there is no user 'ghost'"),
        "{err}"
    );

    // A new password ends the old tokens; the new one signs in.
    let (code, out, err) = user(
        &dir,
        &["passwd", "alice", "--password-stdin"],
        "a new pass\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 token ended"), "{out}");
    let r = app
        .get("/notebooks/admin/notebooks/jobs?f=json", Some(&alice))
        .await;
    assert_eq!(r.status, 498, "the old token ended: {}", r.json);
    let r = app
        .post_form(
            "/notebooks/sharing/rest/generateToken",
            None,
            &[("username", "alice"), ("password", PASSWORD), ("f", "json")],
        )
        .await;
    assert_ne!(
        r.status, 200,
        "the old password no longer signs in: {}",
        r.json
    );
    let r = app
        .post_form(
            "/notebooks/sharing/rest/generateToken",
            None,
            &[
                ("username", "alice"),
                ("password", "a new pass"),
                ("f", "json"),
            ],
        )
        .await;
    let fresh = r.json["token"].as_str().expect("a token").to_string();
    let (code, _, err) = user(&dir, &["passwd", "alice"], "x\n");
    assert_eq!(code, 2, "--password-stdin is required: {err}");

    // A lost laptop: every token of the user ends.
    let (code, out, err) = user(&dir, &["revoke-tokens", "alice"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ended 1 token of 'alice'"), "{out}");
    let r = app
        .get("/notebooks/admin/notebooks/jobs?f=json", Some(&fresh))
        .await;
    assert_eq!(r.status, 498, "{}", r.json);

    // Removal: refused while alice owns a notebook, then handed to bob.
    let (code, _, err) = user(&dir, &["remove", "alice"], "");
    let line = refusal(code, &err);
    assert!(
        line.contains("'alice' still owns 1 notebook, 0 receivers and 0 jobs"),
        "{line}"
    );
    assert!(line.contains("--transfer-to"), "{line}");
    let (code, _, err) = user(&dir, &["remove", "alice", "--transfer-to", "nobody"], "");
    assert!(refusal(code, &err).contains("no user 'nobody'"), "{err}");
    let (code, _, err) = user(&dir, &["remove", "alice", "--transfer-to", "alice"], "");
    assert!(refusal(code, &err).contains("--transfer-to"), "{err}");
    let (code, out, err) = user(&dir, &["remove", "alice", "--transfer-to", "bob"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("now belong to 'bob'"), "{out}");
    let names: Vec<String> = listed(&dir)
        .iter()
        .map(|u| u["username"].to_string())
        .collect();
    assert!(!names.contains(&"\"alice\"".to_string()), "{names:?}");
    let admin = app.token("admin").await;
    let r = app
        .get(
            &format!("/notebooks/sharing/rest/content/items/{item}?f=json"),
            Some(&admin),
        )
        .await;
    assert_eq!(r.json["owner"], "bob", "{}", r.json);
    let (code, _, err) = user(&dir, &["remove", "ghost"], "");
    assert!(
        refusal(code, &err).contains("there is no user 'ghost'"),
        "{err}"
    );
    // bob owns nothing of his own making but what he was handed; carol
    // owns nothing and goes at once.
    app.add_user("carol", "user", &[]).await;
    let (code, out, err) = user(&dir, &["remove", "carol"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("removed 'carol' from "), "{out}");
    app.stop().await;
}

#[test]
fn commands_refuse_a_site_that_does_not_exist_and_make_nothing() {
    let base = tempfile::tempdir().unwrap();
    let missing = base.path().join("hookbok-data");
    let m = missing.to_str().unwrap();
    for args in [
        vec!["user", "list", "--data-dir", m],
        vec!["runtime", "list", "--data-dir", m],
        vec!["user", "revoke-tokens", "x", "--data-dir", m],
    ] {
        let (code, _, err) = run(&args, "");
        let line = refusal(code, &err);
        assert!(
            line.contains(&format!("there is no hookbook site at {m}")),
            "{line}"
        );
        assert!(
            line.contains("hookbook serve") && line.contains("hookbook migrate"),
            "{line}"
        );
        assert!(!missing.exists(), "{args:?} made the data dir");
    }
    let (code, _, err) = run(
        &[
            "user",
            "add",
            "--data-dir",
            m,
            "--username",
            "x",
            "--role",
            "user",
            "--password-stdin",
        ],
        "a password\n",
    );
    assert!(
        refusal(code, &err).contains("there is no hookbook site"),
        "{err}"
    );
    assert!(!missing.exists());
    // A file where the data dir should be, and a directory with no site.
    let file = base.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let (code, _, err) = run(&["user", "list", "--data-dir", file.to_str().unwrap()], "");
    assert!(
        refusal(code, &err).contains("is a file, not a directory"),
        "{err}"
    );
    let empty = base.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, _, err) = run(&["user", "list", "--data-dir", empty.to_str().unwrap()], "");
    let line = refusal(code, &err);
    assert!(
        line.contains("there is no hookbook site in") && line.contains("hookbook.db"),
        "{line}"
    );
    // A file that is not a hookbook database is named so, and left alone.
    let other = base.path().join("other.db");
    let made = Command::new("python3")
        .args(["-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('create table foo (x)'); c.commit()"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(made.success());
    let before = std::fs::read(&other).unwrap();
    let url = format!("sqlite://{}", other.display());
    let (code, _, err) = run(&["user", "list", "--database-url", &url], "");
    assert!(
        refusal(code, &err).contains("is not a hookbook database"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&other).unwrap(),
        before,
        "the file was not changed"
    );
    // A URL's password is never repeated, even in a usage error.
    let (code, _, err) = run(
        &[
            "user",
            "list",
            "--database-url",
            "postgres://root:S3CRETpw@127.0.0.1:notaport/x",
        ],
        "",
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        !err.contains("S3CRETpw") && err.contains("root:***@"),
        "{err}"
    );
    // `migrate` makes the site; then the same command works.
    let (code, _, err) = run(&["migrate", "--data-dir", empty.to_str().unwrap()], "");
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["user", "list", "--data-dir", empty.to_str().unwrap()], "");
    assert_eq!(code, 0, "{err}");
}

#[test]
fn completions_and_the_man_page_come_from_the_command_line_definitions() {
    let (code, bash, err) = run(&["completions", "bash"], "");
    assert_eq!(code, 0, "{err}");
    assert!(
        bash.contains("_hookbook()") && bash.contains("revoke-tokens"),
        "{bash}"
    );
    let (code, zsh, _) = run(&["completions", "zsh"], "");
    assert_eq!(code, 0);
    assert!(zsh.contains("#compdef hookbook"), "{zsh}");
    let (code, man, err) = run(&["man"], "");
    assert_eq!(code, 0, "{err}");
    assert!(man.contains(".TH hookbook 1"), "{man}");
    assert!(
        man.contains("Webhook receivers that run Jupyter notebooks"),
        "{man}"
    );
}

/// A server's log lines until it said it listens, then it is stopped.
fn first_log_lines(format: &str, no_color: bool) -> String {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(BIN);
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--max-concurrent-runs",
            "0",
        ])
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--log-format",
            format,
        ])
        .env_remove("HOOKBOOK_LOG")
        .env_remove("HOOKBOOK_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if no_color {
        command.env("NO_COLOR", "1");
    } else {
        command.env_remove("NO_COLOR");
    }
    let mut server = crate::common::process::Process::spawn(&mut command);
    let stderr = server.stderr.take().expect("its standard error");
    let mut lines = String::new();
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.unwrap();
        let done = line.contains("listening");
        lines.push_str(&line);
        lines.push('\n');
        if done {
            break;
        }
    }
    server.kill();
    lines
}

#[test]
fn log_lines_are_plain_text_in_a_pipe_or_one_json_object_each() {
    let text = first_log_lines("text", false);
    assert!(text.contains("listening"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no colour codes in a pipe: {text:?}"
    );
    let json = first_log_lines("json", true);
    for line in json.lines() {
        let object: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            object["level"].is_string() && object["fields"].is_object(),
            "{line}"
        );
    }
    assert!(json.contains("listening"), "{json}");
}

#[test]
fn serve_makes_nothing_when_it_cannot_listen_and_takes_a_host_name() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    // Taken on IPv6 too where there is IPv6, whichever `localhost` names.
    let _taken_v6 = std::net::TcpListener::bind(("::1", port)).ok();
    let base = tempfile::tempdir().unwrap();
    let data = base.path().join("new-site");
    let d = data.to_str().unwrap();
    let listen = format!("localhost:{port}");
    let (code, _, err) = run(&["serve", "--listen", &listen, "--data-dir", d], "");
    let line = refusal(code, &err);
    assert!(
        line.contains(&port.to_string()),
        "names the address: {line}"
    );
    assert!(!data.exists(), "no data dir, key or database was made");
}

#[test]
fn a_postgres_database_without_a_site_is_refused_until_migrated() {
    let url = crate::common::db::fresh_postgres();
    let (code, _, err) = run(&["user", "list", "--database-url", &url], "");
    let line = refusal(code, &err);
    assert!(
        line.contains("there is no hookbook site in the database"),
        "{line}"
    );
    assert!(!line.contains("password"), "{line}");
    let (code, _, err) = run(&["migrate", "--database-url", &url], "");
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["user", "list", "--database-url", &url], "");
    assert_eq!(code, 0, "{err}");
}
