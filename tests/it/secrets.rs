//! No secret leaks: a server logging at `trace` takes a session's worth of
//! traffic (sign-in, a receiver with a secret and an api token, signed,
//! forged and duplicate deliveries, a run, every page and JSON answer of
//! the receiver), then every log line and every answer is searched for the
//! password, the tokens, the api token and the signature values used. Only
//! the receiver's `secret`, which the seed pages return to its managers, may
//! appear, and only in those answers.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::nodes::{add_admin, ready_at, BIN, PASSWORD};
use crate::common::wait::eventually;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_or_answer_holds_a_secret_that_was_used() {
    let dir = tempfile::tempdir().unwrap();
    let database = crate::common::db::database_url(dir.path());
    add_admin(&database);
    let log = dir.path().join("server.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = crate::common::process::Process::spawn(
        Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", &database])
            .args(["--data-dir", dir.path().to_str().unwrap()])
            .args(["--python", crate::common::python().to_str().unwrap()])
            .args(["--max-concurrent-runs", "1", "--log", "trace"])
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(
                std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
            )),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    ready_at(&client, &base).await;
    let mut answers = String::new();
    let mut record = |text: String| answers.push_str(&text);

    // Sign in both ways.
    let r = client
        .post(format!("{base}/notebooks/sharing/rest/generateToken"))
        .form(&[("username", "admin"), ("password", PASSWORD), ("f", "json")])
        .send()
        .await
        .unwrap();
    let token_answer = r.text().await.unwrap();
    let token = serde_json::from_str::<Value>(&token_answer).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let api_token = {
        let r = client
            .post(format!("{base}/notebooks/sharing/rest/generateToken"))
            .form(&[("username", "admin"), ("password", PASSWORD), ("f", "json")])
            .send()
            .await
            .unwrap();
        serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let signin = client
        .post(format!("{base}/notebooks/signin"))
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = signin.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let session = cookie.split_once('=').unwrap().1.to_string();

    // A receiver with a secret and an api token.
    let item: Value = client
        .post(format!(
            "{base}/notebooks/sharing/rest/content/users/admin/addItem"
        ))
        .form(&[
            ("title", "t"),
            ("text", crate::common::NOTEBOOK),
            ("token", &token),
            ("f", "json"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created = client
        .post(format!(
            "{base}/notebooks/admin/notebooks/webhookReceivers/create"
        ))
        .form(&[
            ("name", "r"),
            ("itemId", item["id"].as_str().unwrap()),
            ("secret", crate::common::SECRET),
            ("signatureHeaders", "x-esrihook-signature"),
            ("apiToken", &api_token),
            ("token", &token),
            ("f", "json"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let receiver: Value = serde_json::from_str(&created).unwrap();
    let url = receiver["webhookReceiver"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let id = receiver["webhookReceiver"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Deliveries: signed (twice, the same signature), forged, and a run.
    let body = r#"{"hello": "world"}"#;
    let signature = crate::common::events::esri(body.as_bytes());
    let forged = format!("sha256={}", "A".repeat(43) + "=");
    let mut job = String::new();
    for sig in [&signature, &signature, &forged] {
        let r = client
            .post(&url)
            .header("x-esrihook-signature", sig.as_str())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let text = r.text().await.unwrap();
        if let Some(j) = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["jobId"].as_str().map(str::to_string))
        {
            job = j;
        }
        record(text);
    }
    eventually("the run ends", Duration::from_secs(60), || async {
        let j: Value = client
            .get(format!("{base}/notebooks/admin/notebooks/jobs/{job}"))
            .query(&[("f", "json"), ("token", &token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if j["status"] == "COMPLETED" || j["status"] == "FAILED" {
            Ok(())
        } else {
            Err(j.to_string())
        }
    })
    .await;

    // Every answer a manager of the receiver can see, as JSON and as pages.
    let c = "/notebooks/admin/notebooks";
    let mut with_secret = String::new();
    for path in [
        format!("{c}/webhookReceivers"),
        format!("{c}/webhookReceivers/{id}"),
        format!("{c}/webhookReceivers/{id}/validate"),
        // The delivery log is a page of the receiver, with its commands.
        format!("{c}/webhookReceivers/{id}/deliveries"),
    ] {
        for f in ["json", "html"] {
            let text = client
                .get(format!("{base}{path}"))
                .query(&[("f", f)])
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            with_secret.push_str(&text);
        }
    }
    for path in [
        format!("{c}/jobs"),
        format!("{c}/jobs/{job}"),
        format!("{c}/jobs/{job}/notebook"),
        "/metrics".to_string(),
    ] {
        for f in ["json", "html"] {
            let text = client
                .get(format!("{base}{path}"))
                .query(&[("f", f)])
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            record(text);
        }
    }
    child.kill();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.lines().count() > 20,
        "the server logged at trace level"
    );

    let secret_hex = hex::encode(crate::common::SECRET);
    let never: [(&str, &str); 7] = [
        ("the password", PASSWORD),
        ("the token", &token),
        ("the api token", &api_token),
        ("the session", &session),
        ("the signature", signature.trim_start_matches("sha256=")),
        ("the forged signature", forged.trim_start_matches("sha256=")),
        ("the secret, hex-encoded", &secret_hex),
    ];
    for (what, value) in never {
        assert!(!logged.contains(value), "{what} is in the log");
        assert!(!answers.contains(value), "{what} is in an answer");
        assert!(
            !with_secret.contains(value),
            "{what} is in a receiver's answer"
        );
    }
    assert!(
        !logged.contains(crate::common::SECRET),
        "the secret is in the log"
    );
    assert!(
        !answers.contains(crate::common::SECRET),
        "the secret is in an answer that is not the receiver's own"
    );
    assert!(
        with_secret.contains(crate::common::SECRET),
        "the receiver's answers return its secret to its managers, as the seed pages do"
    );
    let _ = token_answer;
}
