//! A 200 means the event is on disk: a server killed with SIGKILL right
//! after answering still has every acknowledged event and job.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::process::Process;
use crate::common::wait::eventually;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use hookbook::domain::ids::JobId;
use hookbook::domain::job::JobStatus;
use sha2::Sha256;

const BIN: &str = env!("CARGO_BIN_EXE_hookbook");

/// Signs in as `admin` (password `pw`) and adds `crate::common::NOTEBOOK`; returns
/// the token and the item id.
async fn admin_with_notebook(client: &reqwest::Client, base: &str) -> (String, String) {
    let token: serde_json::Value = client
        .post(format!("{base}/notebooks/sharing/rest/generateToken"))
        .form(&[("username", "admin"), ("password", "pw"), ("f", "json")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    let item: serde_json::Value = client
        .post(format!(
            "{base}/notebooks/sharing/rest/content/users/admin/addItem"
        ))
        .form(&[
            ("title", "t"),
            ("text", crate::common::NOTEBOOK),
            ("f", "json"),
            ("token", &token),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (token, item["id"].as_str().unwrap().to_string())
}

fn start(dir: &std::path::Path) -> (Process, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Process::spawn(
        Command::new(BIN)
            .args([
                "serve",
                "--max-concurrent-runs",
                "0",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
                dir.to_str().unwrap(),
                "--log",
                "warn",
            ])
            .args(crate::common::db::database_args(dir))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    (child, format!("http://127.0.0.1:{port}"))
}

async fn ready(client: &reqwest::Client, base: &str) {
    eventually(
        "the server becomes ready",
        Duration::from_secs(30),
        || async {
            client
                .get(format!("{base}/healthz"))
                .send()
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        },
    )
    .await;
}

#[tokio::test]
async fn events_acknowledged_just_before_a_sigkill_are_there_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    // The site is made first (`user add` makes none).
    let made = Command::new(BIN)
        .args(["migrate", "--data-dir", d])
        .args(crate::common::db::database_args(dir.path()))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let status = Command::new(BIN)
        .args([
            "user",
            "add",
            "--data-dir",
            d,
            "--username",
            "admin",
            "--role",
            "administrator",
            "--password-stdin",
        ])
        .args(crate::common::db::database_args(dir.path()))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin.take().unwrap().write_all(b"pw\n")?;
            c.wait()
        })
        .unwrap();
    assert!(status.success());
    let (mut child, base) = start(dir.path());
    let client = reqwest::Client::new();
    ready(&client, &base).await;
    let (token, item) = admin_with_notebook(&client, &base).await;
    let receiver: serde_json::Value = client
        .post(format!(
            "{base}/notebooks/admin/notebooks/webhookReceivers/create"
        ))
        .form(&[
            ("name", "r"),
            ("itemId", item.as_str()),
            ("secret", crate::common::SECRET),
            ("signatureHeaders", "x-esrihook-signature"),
            ("f", "json"),
            ("token", &token),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = receiver["webhookReceiver"]["url"]
        .as_str()
        .unwrap()
        .to_string();

    // Deliveries from several connections at once; the server is killed the
    // moment the last answer arrives.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let body = format!(r#"{{"n": {i}}}"#);
            let mut m = Hmac::<Sha256>::new_from_slice(crate::common::SECRET.as_bytes()).unwrap();
            m.update(body.as_bytes());
            let sig = base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes());
            let r = client
                .post(&url)
                .header("x-esrihook-signature", format!("sha256={sig}"))
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let v: serde_json::Value = r.json().await.unwrap();
            JobId::parse(v["jobId"].as_str().unwrap()).unwrap()
        }));
    }
    let mut jobs = Vec::new();
    for t in tasks {
        jobs.push(t.await.unwrap());
    }
    child.kill();

    let store = crate::common::db::store(dir.path()).await;
    for job in &jobs {
        let record = store
            .job(job)
            .await
            .unwrap()
            .expect("an acknowledged job survives SIGKILL");
        assert_eq!(record.status, JobStatus::Submitted);
        assert!(record.event_id.is_some());
    }
    drop(store);

    // And the restarted server still serves the receiver.
    let (mut child, base) = start(dir.path());
    ready(&client, &base).await;
    let again = client
        .get(format!("{base}/notebooks/admin/notebooks/webhookReceivers"))
        .query(&[("f", "json"), ("token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    child.kill();
}

#[tokio::test]
async fn relative_data_dir_and_python_paths_run_notebooks() {
    // Kernels run in their own working directory, so every path the server
    // was given relative to its own must still work.
    let dir = tempfile::tempdir().unwrap();
    let python = crate::common::python();
    let up = "../".repeat(dir.path().components().count() - 1);
    let relative_python = format!(
        "{up}{}",
        python.display().to_string().trim_start_matches('/')
    );
    assert!(dir.path().join(&relative_python).exists());
    let run = |args: &[&str], stdin: &[u8]| {
        let mut child = Process::spawn(
            Command::new(BIN)
                .args(args)
                .current_dir(dir.path())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child
    };
    let made = run(&["migrate", "--data-dir", "data"], b"").wait();
    assert!(made.success(), "the site is made first");
    let added = run(
        &[
            "user",
            "add",
            "--data-dir",
            "data",
            "--username",
            "admin",
            "--role",
            "administrator",
            "--password-stdin",
        ],
        b"pw\n",
    )
    .wait();
    assert!(added.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut server = run(
        &[
            "serve",
            "--listen",
            &listen,
            "--data-dir",
            "data",
            "--python",
            &relative_python,
            "--max-concurrent-runs",
            "1",
        ],
        b"",
    );
    let base = format!("http://{listen}");
    let client = reqwest::Client::new();
    ready(&client, &base).await;
    let (token, item) = admin_with_notebook(&client, &base).await;
    let job: serde_json::Value = client
        .post(format!("{base}/notebooks/admin/notebooks/executeNotebook"))
        .form(&[("itemId", item.as_str()), ("f", "json"), ("token", &token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job = job["jobId"].as_str().unwrap().to_string();
    let status = eventually("the run finishes", Duration::from_secs(60), || async {
        let j: serde_json::Value = client
            .get(format!("{base}/notebooks/admin/notebooks/jobs/{job}"))
            .query(&[("f", "json"), ("token", &token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let status = j["status"].as_str().unwrap().to_string();
        if status != "SUBMITTED" && status != "EXECUTING" {
            Ok(status)
        } else {
            Err(j.to_string())
        }
    })
    .await;
    server.kill();
    assert_eq!(status, "COMPLETED");
}
