//! Unauthenticated clients cannot use up what others need: a flood of
//! forgeries leaves a real sender's deliveries accepted and the delivery
//! log bounded, a large body is read only from a known caller, and
//! password checks are throttled per name and per address.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::events::{esri, post, with_receiver, BODY};
use common::{spawn_app, spawn_app_in, SECRET};
use hookbook::domain::ids::ReceiverId;
use serde_json::Value;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forgery_flood_at_full_speed_leaves_the_real_senders_deliveries_accepted() {
    let (app, _, id, url) = with_receiver(
        spawn_app_in(
            tempfile::tempdir().unwrap(),
            &["--receiver-rate-limit", "5"],
        )
        .await,
        SECRET,
        "x-esrihook-signature",
    )
    .await;
    // Counted from before the first forgery: the flood's first refusals
    // may fall in the second before the real sender's first delivery.
    let started = now_secs();
    let stop = Arc::new(AtomicBool::new(false));
    let forged = Arc::new(AtomicUsize::new(0));
    let mut flood = Vec::new();
    for _ in 0..4 {
        let (client, url, stop, forged) = (
            app.client.clone(),
            url.clone(),
            stop.clone(),
            forged.clone(),
        );
        flood.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .post(&url)
                    .header(
                        "x-esrihook-signature",
                        "sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                    )
                    .body(BODY)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 401, "a forgery is refused as such");
                forged.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // The real sender stays under its limit of 5 a second: one delivery,
    // then 300 ms, so never more than 4 in any second however slow.
    for n in 0..12 {
        let body = format!(r#"{{"n": {n}}}"#);
        let (status, _, answer) = post(
            &app,
            &url,
            &[("x-esrihook-signature", &esri(body.as_bytes()))],
            body,
        )
        .await;
        assert_eq!(status, 200, "real delivery {n} during the flood: {answer}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for f in flood {
        f.await.unwrap();
    }
    let seconds = now_secs() - started + 1;
    let forged = forged.load(Ordering::Relaxed);
    assert!(forged > 12, "the flood sent only {forged} forgeries");
    assert_eq!(common::events::jobs_of(&app, &id).await, 12);
    // Refusals have their own budget of logged lines (10 a second).
    let dir = app.stop().await;
    let store = common::db::store(dir.path()).await;
    let lines = store
        .deliveries(&ReceiverId::parse(&id).unwrap(), 100_000)
        .await
        .unwrap();
    let refused = lines.iter().filter(|l| l.reason == "bad signature").count() as u64;
    assert!(
        refused <= 10 * seconds && (refused as usize) < forged,
        "{refused} refusals logged of {forged} in {seconds} s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receivers_delivery_log_stays_bounded_as_lines_arrive() {
    let (app, _, id, url) = common::events::esri_app().await;
    // One delivery sent 1,300 times: one job (an accepted delivery's line
    // is its job) and 1,299 duplicates, each a line of the log.
    let mut senders = Vec::new();
    for c in 0..8 {
        let (client, url) = (app.client.clone(), url.clone());
        senders.push(tokio::spawn(async move {
            for i in (c..1_300).step_by(8) {
                let body = format!(r#"{{"i": {i}}}"#);
                let r = client
                    .post(&url)
                    .header("x-esrihook-signature", esri(body.as_bytes()))
                    .header("x-github-delivery", "the-same-delivery")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
            }
        }));
    }
    for s in senders {
        s.await.unwrap();
    }
    // Trimmed back to 1,000 lines after every 100 new ones, in the
    // committer, after the answers of its batch: wait for it.
    let store = common::db::store(app.dir.path()).await;
    let receiver = ReceiverId::parse(&id).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let lines = store.deliveries(&receiver, 100_000).await.unwrap().len();
        if lines <= 1_101 {
            assert!(lines >= 1_001, "{lines} lines: the newest 1,000 are kept");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the log still holds {lines} lines"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A body that sends `head`, then never ends.
fn endless(head: Vec<u8>) -> reqwest::Body {
    use futures_util::StreamExt as _;
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) })
        .chain(futures_util::stream::pending());
    reqwest::Body::wrap_stream(stream)
}

#[tokio::test]
async fn a_large_body_is_read_only_once_its_caller_is_known() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let url = app.url("/notebooks/sharing/rest/content/users/alice/addItem");
    // 200 KiB of a form that never ends, without a token: refused at once,
    // without waiting for the rest.
    let mut head = b"f=json&title=t&text=".to_vec();
    head.extend(std::iter::repeat_n(b'x', 200 * 1024));
    let answer = tokio::time::timeout(
        Duration::from_secs(60),
        app.client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(endless(head.clone()))
            .send(),
    )
    .await
    .expect("answered before the body ended")
    .unwrap();
    assert_eq!(answer.status(), 401);
    let text = answer.text().await.unwrap();
    assert!(text.contains("Token Required"), "{text}");
    // The same with a token that is not valid: 401 too.
    let answer = tokio::time::timeout(
        Duration::from_secs(60),
        app.client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", "Bearer not-a-token")
            .body(endless(head))
            .send(),
    )
    .await
    .expect("answered before the body ended")
    .unwrap();
    assert_eq!(answer.status(), 401);
    // A large notebook from a known caller: in a header, or in a field
    // before the file of a multipart body.
    let cells: Vec<Value> = (0..2000)
        .map(|i| serde_json::json!({"cell_type": "markdown", "id": format!("m{i}"), "metadata": {}, "source": "x".repeat(100)}))
        .collect();
    let notebook =
        serde_json::json!({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
            .to_string();
    assert!(notebook.len() > 200 * 1024);
    let file =
        || reqwest::multipart::Part::bytes(notebook.clone().into_bytes()).file_name("big.ipynb");
    let by_header = reqwest::multipart::Form::new()
        .text("f", "json")
        .text("title", "big")
        .part("file", file());
    let r = app
        .client
        .post(&url)
        .header("authorization", format!("Bearer {}", cast.alice))
        .multipart(by_header)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let field_first = reqwest::multipart::Form::new()
        .text("f", "json")
        .text("token", cast.alice.clone())
        .text("title", "big")
        .part("file", file());
    let r = app
        .client
        .post(&url)
        .multipart(field_first)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let field_last = reqwest::multipart::Form::new()
        .text("f", "json")
        .text("title", "big")
        .part("file", file())
        .text("token", cast.alice.clone());
    let r = app
        .client
        .post(&url)
        .multipart(field_last)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn password_checks_are_throttled_per_name_and_per_address() {
    let app = spawn_app().await;
    app.add_user("alice", "user", &[]).await;
    let sign_in = |user: String, password: &'static str| {
        let client = app.client.clone();
        let url = app.url("/notebooks/sharing/rest/generateToken");
        async move {
            client
                .post(url)
                .form(&[
                    ("username", user.as_str()),
                    ("password", password),
                    ("f", "json"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // Five wrong passwords for alice, then even the right one waits.
    for _ in 0..5 {
        assert_eq!(sign_in("alice".into(), "wrong").await.status(), 400);
    }
    let r = sign_in("alice".into(), common::PASSWORD).await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Other names from the same address still have failures left, until
    // the address has used its 30.
    let mut statuses = Vec::new();
    for n in 0..30 {
        statuses.push(
            sign_in(format!("nobody{n}"), "wrong")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses[0], 400, "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 400 || *s == 429));
}
