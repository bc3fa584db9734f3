//! A 200 means the event is on disk: a server killed with SIGKILL right
//! after answering still has every acknowledged event and job.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use hookbook::store::DatabaseUrl;
use sha2::Sha256;

const BIN: &str = env!("CARGO_BIN_EXE_hookbook");

fn start(dir: &std::path::Path) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(BIN)
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
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, format!("http://127.0.0.1:{port}"))
}

async fn ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not become ready");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn events_acknowledged_just_before_a_sigkill_are_there_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
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
            ("text", common::NOTEBOOK),
            ("f", "json"),
            ("token", &token),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let receiver: serde_json::Value = client
        .post(format!(
            "{base}/notebooks/admin/notebooks/webhookReceivers/create"
        ))
        .form(&[
            ("name", "r"),
            ("itemId", item["id"].as_str().unwrap()),
            ("secret", common::SECRET),
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
            let mut m = Hmac::<Sha256>::new_from_slice(common::SECRET.as_bytes()).unwrap();
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
            uuid::Uuid::parse_str(v["jobId"].as_str().unwrap()).unwrap()
        }));
    }
    let mut jobs = Vec::new();
    for t in tasks {
        jobs.push(t.await.unwrap());
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let store = hookbook::store::open(&DatabaseUrl::Sqlite(dir.path().join("hookbook.db")))
        .await
        .unwrap();
    for job in &jobs {
        let record = store
            .job(job)
            .await
            .unwrap()
            .expect("an acknowledged job survives SIGKILL");
        assert_eq!(record.status, "SUBMITTED");
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
    child.kill().unwrap();
    child.wait().unwrap();
}
