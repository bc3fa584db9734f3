//! Failure notices: when a job ends FAILED, its owner's destination gets a
//! notice signed the Standard Webhooks way (checked here with HMAC as any
//! verifier would), tried again when it is refused, and logged; a notice
//! never goes to an address the operator did not allow, whatever a name
//! resolves to.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::events::esri;
use crate::common::jobs::finished;
use crate::common::wait::eventually;
use crate::common::{spawn_app_in, TestApp, SECRET};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use tokio::sync::mpsc;

const NOTICES: &str = "/notebooks/admin/notebooks/notices";

/// A webhook endpoint on 127.0.0.1 that answers the given statuses in turn
/// (then 200) and hands over each request it got.
struct Endpoint {
    url: String,
    got: mpsc::UnboundedReceiver<(HeaderMap, String)>,
    _server: crate::common::Aborting,
}

async fn endpoint(statuses: &[u16]) -> Endpoint {
    let answers = Arc::new(Mutex::new(
        statuses.iter().copied().collect::<VecDeque<_>>(),
    ));
    let (tx, got) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let (answers, tx) = (answers.clone(), tx.clone());
            async move {
                let _ = tx.send((headers, body));
                let code = answers.lock().unwrap().pop_front().unwrap_or(200);
                StatusCode::from_u16(code).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Endpoint {
        url: format!("http://127.0.0.1:{port}/hook"),
        got,
        _server: crate::common::Aborting(server),
    }
}

/// A server allowing `allow`, where alice's receiver runs a notebook that
/// raises; the receiver's URL.
async fn failing_receiver(allow: &str) -> (TestApp, crate::common::Cast, String) {
    let app = spawn_app_in(
        tempfile::tempdir().unwrap(),
        &["--notice-allow", allow, "--max-concurrent-runs", "1"],
    )
    .await;
    let cast = app.cast().await;
    let item = raising_item(&app, &cast.alice).await;
    let r = app
        .create_receiver(
            &cast.alice,
            &[
                ("name", "orders"),
                ("itemId", &item),
                ("secret", SECRET),
                ("signatureHeaders", "x-esrihook-signature"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let url = r.json["webhookReceiver"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    (app, cast, url)
}

/// Alice's item whose notebook raises; its id.
async fn raising_item(app: &TestApp, alice: &str) -> String {
    let notebook = json!({"cells": [{"cell_type": "code", "id": "a", "metadata": {}, "outputs": [],
        "execution_count": null, "source": "raise RuntimeError('the service is down')"}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5});
    let r = app
        .post_form(
            "/notebooks/sharing/rest/content/users/alice/addItem",
            Some(alice),
            &[("title", "fails"), ("text", &notebook.to_string())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["id"].as_str().unwrap().to_string()
}

async fn deliver(app: &TestApp, url: &str) -> String {
    let headers = [("x-esrihook-signature", esri(b"{}"))];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (status, _, answer) = crate::common::events::post(app, url, &headers, "{}").await;
    assert_eq!(status, 200, "{answer}");
    answer["jobId"].as_str().unwrap().to_string()
}

/// Waits until the caller's notices log shows the job's notice `status`.
async fn notice_of(app: &TestApp, token: &str, job: &str, status: &str) -> Value {
    let what = format!("a {status} notice of {job}");
    eventually(&what, Duration::from_secs(120), || async {
        let r = app.get(NOTICES, Some(token)).await;
        let found = r.json["notices"]
            .as_array()
            .and_then(|list| list.iter().find(|n| n["jobId"] == job).cloned());
        found
            .filter(|n| n["status"] == status)
            .ok_or_else(|| r.json.to_string())
    })
    .await
}

/// The Standard Webhooks check, as a verifier does it.
fn verify(secret: &str, headers: &HeaderMap, body: &str) {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let header = |name: &str| headers[name].to_str().unwrap().to_string();
    let signed = format!(
        "{}.{}.{body}",
        header("webhook-id"),
        header("webhook-timestamp")
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(signed.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(header("webhook-signature"), format!("v1,{expected}"));
    let sent: i64 = header("webhook-timestamp").parse().unwrap();
    let now = hookbook::domain::time::Millis::now().0 / 1000;
    assert!((now - sent).abs() < 300, "a fresh timestamp: {sent}");
}

#[tokio::test]
async fn a_failed_job_sends_a_signed_notice_tried_again_until_delivered() {
    let mut hook = endpoint(&[503]).await;
    let (app, cast, url) = failing_receiver("127.0.0.1/32").await;
    let destination = format!("{NOTICES}/destination");
    let update = format!("{destination}/update");

    // Only addresses the operator allowed, and no email without SMTP.
    for (field, value) in [
        ("url", "http://10.0.0.1/hook"),
        ("url", "http://hooks.example.com/x"),
        ("url", "ftp://127.0.0.1/x"),
        ("email", "ops@example.com"),
    ] {
        let r = app
            .post_form(&update, Some(&cast.alice), &[(field, value)])
            .await;
        assert_eq!(r.status, 400, "{field}={value}: {}", r.json);
        assert!(r.json.to_string().contains(field), "{}", r.json);
    }
    let r = app
        .post_form(&update, Some(&cast.alice), &[("url", &hook.url)])
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["url"], hook.url.as_str());
    let secret = r.json["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    // Another user may neither read nor change it; an administrator may.
    let r = app
        .client
        .get(app.url(&destination))
        .query(&[("f", "json"), ("username", "alice"), ("token", &cast.bob)])
        .send()
        .await
        .unwrap();
    assert_eq!(crate::common::code_of(r).await, 403);
    let r = app
        .post_form(
            &update,
            Some(&cast.bob),
            &[("username", "alice"), ("url", "")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.json);
    let r = app
        .client
        .get(app.url(&destination))
        .query(&[("f", "json"), ("username", "alice"), ("token", &cast.admin)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["secret"], secret.as_str());

    let job = deliver(&app, &url).await;
    assert_eq!(finished(&app, &cast.alice, &job).await["status"], "FAILED");
    let (first_headers, first_body) = hook.got.recv().await.unwrap();
    let (headers, body) = hook.got.recv().await.unwrap();
    assert_eq!(first_body.len(), body.len(), "the same notice again");
    assert_eq!(first_headers["webhook-id"], headers["webhook-id"]);
    verify(&secret, &headers, &body);
    let notice: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(notice["type"], "job.failed");
    let data = &notice["data"];
    assert_eq!(data["jobId"], job.as_str());
    assert_eq!(data["receiverName"], "orders");
    assert_eq!(data["status"], "FAILED");
    assert!(
        data["error"]
            .as_str()
            .unwrap()
            .contains("the service is down"),
        "{data}"
    );
    assert!(data["jobUrl"].as_str().unwrap().ends_with(&job), "{data}");

    let logged = notice_of(&app, &cast.alice, &job, "delivered").await;
    assert_eq!(logged["attempts"], 2, "{logged}");
    assert_eq!(logged["channel"], "webhook");
    assert_eq!(logged["lastOutcome"], "delivered (HTTP 200)");
    let bobs = app.get(NOTICES, Some(&cast.bob)).await;
    assert_eq!(bobs.json["notices"], json!([]), "bob sees only his own");
    let metrics = app.metrics().await;
    for line in [
        "hookbook_notices_total{channel=\"webhook\",status=\"pending\"} 1",
        "hookbook_notices_total{channel=\"webhook\",status=\"delivered\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

#[tokio::test]
async fn a_notice_never_reaches_an_address_the_operator_did_not_allow() {
    let mut hook = endpoint(&[]).await;
    // The name is allowed, but what it resolves to (loopback) is not.
    let (app, cast, url) = failing_receiver("localhost").await;
    let local = hook.url.replace("127.0.0.1", "localhost");
    let r = app
        .post_form(
            &format!("{NOTICES}/destination/update"),
            Some(&cast.alice),
            &[("url", &local)],
        )
        .await;
    assert_eq!(r.status, 200, "the name itself is allowed: {}", r.json);
    let r = app
        .post_form(
            &format!("{NOTICES}/destination/update"),
            Some(&cast.alice),
            &[("url", &hook.url)],
        )
        .await;
    assert_eq!(r.status, 400, "an address outside the networks: {}", r.json);

    let job = deliver(&app, &url).await;
    assert_eq!(finished(&app, &cast.alice, &job).await["status"], "FAILED");
    let refused = notice_of(&app, &cast.alice, &job, "failed").await;
    assert_eq!(refused["attempts"], 1, "not tried again: {refused}");
    let outcome = refused["lastOutcome"].as_str().unwrap();
    assert!(outcome.contains("loopback"), "{outcome}");
    assert!(
        hook.got.try_recv().is_err(),
        "the endpoint was never reached"
    );
}

/// A real SMTP server (Python's aiosmtpd, from the tests' environment)
/// delivering into a maildir; it dies with the test.
struct Smtp {
    port: u16,
    maildir: tempfile::TempDir,
    _process: crate::common::process::Process,
}

async fn smtp() -> Smtp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let maildir = tempfile::tempdir().unwrap();
    let process = crate::common::process::Process::spawn(
        std::process::Command::new(crate::common::python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail")),
    );
    let what = format!("aiosmtpd listens on {port}");
    eventually(&what, Duration::from_secs(60), || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    })
    .await;
    Smtp {
        port,
        maildir,
        _process: process,
    }
}

#[tokio::test]
async fn a_failed_job_mails_its_notice_through_the_smtp_server() {
    let mail = smtp().await;
    let app = spawn_app_in(
        tempfile::tempdir().unwrap(),
        &[
            "--smtp-url",
            &format!("smtp://127.0.0.1:{}", mail.port),
            "--smtp-from",
            "hookbook@example.com",
            "--max-concurrent-runs",
            "1",
        ],
    )
    .await;
    let cast = app.cast().await;
    let r = app
        .post_form(
            &format!("{NOTICES}/destination/update"),
            Some(&cast.alice),
            &[("email", "alice@example.com")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["email"], "alice@example.com");
    let r = app
        .post_form(
            "/notebooks/admin/notebooks/executeNotebook",
            Some(&cast.alice),
            &[("itemId", &raising_item(&app, &cast.alice).await)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let job = r.json["jobId"].as_str().unwrap().to_string();
    assert_eq!(finished(&app, &cast.alice, &job).await["status"], "FAILED");
    let sent = notice_of(&app, &cast.alice, &job, "delivered").await;
    assert_eq!(sent["channel"], "email");
    assert!(
        sent["lastOutcome"]
            .as_str()
            .unwrap()
            .contains("alice@example.com"),
        "{sent}"
    );
    let new = mail.maildir.path().join("mail/new");
    let files: Vec<_> = std::fs::read_dir(&new).unwrap().collect();
    assert_eq!(files.len(), 1, "one message in {new:?}");
    let message = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    for part in [
        "From: hookbook@example.com",
        "To: alice@example.com",
        "Subject: hookbook: a job of executeNotebook failed",
        &job,
        "the service is down",
    ] {
        assert!(message.contains(part), "{part} in {message}");
    }
}
