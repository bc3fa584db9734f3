//! Event intake over HTTP: signatures in every form, duplicates, limits
//! and refusals that create nothing.

use crate::common::events::*;
use crate::common::{spawn_app, spawn_app_in, RECEIVERS, SECRET};
use base64::Engine as _;
use serde_json::Value;

#[tokio::test]
async fn every_shared_vector_is_judged_as_the_vector_says() {
    let vectors: Vec<Value> =
        serde_json::from_str(include_str!("../data/signatures.json")).unwrap();
    for v in &vectors {
        let secret = v["secret"].as_str().unwrap();
        let (app, _, _, url) = with_receiver(
            spawn_app().await,
            secret,
            "x-esrihook-signature,x-hub-signature-256,webhook-signature",
        )
        .await;
        let mut headers = vec![(v["header"].as_str().unwrap(), v["value"].as_str().unwrap())];
        for extra in ["webhook-id", "webhook-timestamp"] {
            if let Some(x) = v[extra].as_str() {
                headers.push((extra, x));
            }
        }
        let (status, _, body) = post(
            &app,
            &url,
            &headers,
            v["body"].as_str().unwrap().to_string(),
        )
        .await;
        let expected = if v["valid"] == true {
            if v["webhook-timestamp"].is_string() {
                // Signed years ago: authentic, but outside the 5-minute window.
                assert_eq!(status, 401, "{}", v["case"]);
                assert!(body["messages"][0].as_str().unwrap().contains("timestamp"));
                continue;
            }
            200
        } else {
            401
        };
        assert_eq!(status, expected, "{}: {body}", v["case"]);
    }
}

#[test]
fn the_standard_webhooks_vector_verifies_at_its_own_time() {
    use hookbook::intake::signature::{verify, Delivery, Key, Verdict};
    let vectors: Vec<Value> =
        serde_json::from_str(include_str!("../data/signatures.json")).unwrap();
    let v = vectors
        .iter()
        .find(|v| v["header"] == "webhook-signature")
        .unwrap();
    let secret = hookbook::domain::receiver::Secret::parse(v["secret"].as_str().unwrap()).unwrap();
    let headers: Vec<(String, Vec<u8>)> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .iter()
        .map(|h| {
            (
                h.to_string(),
                v[if *h == "webhook-signature" {
                    "value"
                } else {
                    h
                }]
                .as_str()
                .unwrap()
                .as_bytes()
                .to_vec(),
            )
        })
        .collect();
    let now = v["webhook-timestamp"].as_str().unwrap().parse().unwrap();
    let verdict = verify(
        &[Key {
            bytes: secret.key(),
            standard_only: secret.is_standard(),
        }],
        &["webhook-signature".to_string()],
        &Delivery {
            headers: &headers,
            body: v["body"].as_str().unwrap().as_bytes(),
            form: &[],
            now_secs: now,
        },
    );
    assert!(matches!(verdict, Verdict::Valid(_)), "{verdict:?}");
}

#[tokio::test]
async fn an_accepted_delivery_answers_its_job_and_stores_it() {
    let (app, token, id, url) = esri_app().await;
    let (status, _, body) = post(
        &app,
        &url,
        &[
            ("x-esriHook-Signature", &esri(BODY.as_bytes())),
            ("content-type", "application/json"),
        ],
        BODY,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    let job = body["jobId"].as_str().unwrap();
    assert!(uuid::Uuid::try_parse(job).is_ok());
    assert_eq!(
        body["jobUrl"],
        format!("{}/notebooks/admin/notebooks/jobs/{job}", app.base)
    );
    assert_eq!(jobs_of(&app, &id).await, 1);
    let log = deliveries(&app, &token, &id).await;
    assert_eq!(log[0]["outcome"], "accepted");
    assert_eq!(log[0]["jobId"], job);
    assert_eq!(log[0]["size"], BODY.len());
}

#[tokio::test]
async fn forged_truncated_reencoded_and_unsigned_bodies_are_refused_and_create_nothing() {
    let (app, token, id, url) = esri_app().await;
    let good = esri(BODY.as_bytes());
    let forged = BODY.replace("Posting", "Postinh");
    let truncated = &BODY[..BODY.len() - 2];
    let reencoded = BODY.replace(",", ", ");
    for body in [forged.as_str(), truncated, reencoded.as_str()] {
        let (status, _, answer) = post(
            &app,
            &url,
            &[("x-esrihook-signature", &good)],
            body.to_string(),
        )
        .await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(answer["code"], 401);
        let text = answer.to_string();
        assert!(
            !text.contains(&good[7..]),
            "the answer never shows a signature"
        );
    }
    let (status, _, answer) = post(&app, &url, &[], BODY).await;
    assert_eq!(status, 401);
    assert!(answer["messages"][0]
        .as_str()
        .unwrap()
        .contains("signature"));
    // A header the receiver does not list does not count.
    let (status, _, _) = post(&app, &url, &[("x-other-signature", &good)], BODY).await;
    assert_eq!(status, 401);
    assert_eq!(jobs_of(&app, &id).await, 0);
    let reasons: Vec<String> = wait_for_log(&app, &token, &id, 5)
        .await
        .iter()
        .map(|d| d["reason"].as_str().unwrap().to_string())
        .collect();
    assert!(
        reasons.contains(&"bad signature".to_string()),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"no signature header".to_string()),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn hex_github_and_percent_encoded_signatures_are_accepted() {
    let (app, _, _, url) = esri_app().await;
    let m = mac(SECRET.as_bytes(), &[BODY.as_bytes()]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(m);
    let hexed = format!("sha256={}", hex::encode(m));
    let percent = format!(
        "sha256%3D{}",
        b64.replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    );
    let unpadded = b64.trim_end_matches('=').to_string();
    for (name, value) in [
        ("X-Hub-Signature-256", hexed.as_str()),
        ("x-esrihook-signature", percent.as_str()),
        ("x-esrihook-signature", unpadded.as_str()),
    ] {
        let (status, _, body) = post(&app, &url, &[(name, value)], BODY).await;
        assert_eq!(status, 200, "{name}: {value}: {body}");
    }
}

#[tokio::test]
async fn non_utf8_bodies_verify_like_any_other_bytes() {
    let (app, _, _, url) = esri_app().await;
    let body: Vec<u8> = vec![0xff, 0xfe, 0x00, 0x80, b'x', 0xc3];
    let (status, _, answer) = post(
        &app,
        &url,
        &[("x-esrihook-signature", &esri(&body))],
        body.clone(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let mut tampered = body;
    tampered[0] = 0xfd;
    let (status, _, _) = post(
        &app,
        &url,
        &[("x-esrihook-signature", &esri(b"\xff\xfe\x00\x80x\xc3"))],
        tampered,
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_form_encoded_arcgis_delivery_is_accepted_with_the_signature_in_a_field_or_header() {
    let (app, _, id, url) = esri_app().await;
    let payload = BODY;
    let field_sig = esri(payload.as_bytes());
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", payload)
        .append_pair("X-EsriHook-Signature", &field_sig)
        .finish();
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let (status, _, answer) = post(&app, &url, &form, body.clone()).await;
    assert_eq!(
        status, 200,
        "signature field over the payload field: {answer}"
    );

    let plain: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", payload)
        .finish();
    let over_body = esri(plain.as_bytes());
    let (status, _, _) = post(
        &app,
        &url,
        &[form[0], ("x-esrihook-signature", &over_body)],
        plain.clone(),
    )
    .await;
    assert_eq!(status, 200, "header over the exact body");
    let (status, _, _) = post(
        &app,
        &url,
        &[form[0], ("x-esrihook-signature", &field_sig)],
        plain.clone(),
    )
    .await;
    assert_eq!(status, 200, "header over the payload field");

    let tampered = body.replace("Posting", "Postinh");
    let (status, _, _) = post(&app, &url, &form, tampered).await;
    assert_eq!(status, 401);
    assert_eq!(jobs_of(&app, &id).await, 3);
}

#[tokio::test]
async fn standard_webhooks_deliveries_are_checked_against_the_clock() {
    let secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX";
    let (app, _, id, url) = with_receiver(spawn_app().await, secret, "webhook-signature").await;
    let key: Vec<u8> = (0u8..24).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let send = |ts: i64, msg: &'static str| {
        let ts = ts.to_string();
        let sig = base64::engine::general_purpose::STANDARD.encode(mac(
            &key,
            &[msg.as_bytes(), b".", ts.as_bytes(), b".", BODY.as_bytes()],
        ));
        let (app, url) = (&app, url.clone());
        async move {
            post(
                app,
                &url,
                &[
                    ("webhook-id", msg),
                    ("webhook-timestamp", &ts),
                    ("webhook-signature", &format!("v1,AAAA v1,{sig}")),
                ],
                BODY,
            )
            .await
        }
    };
    assert_eq!(send(now, "msg_now").await.0, 200);
    assert_eq!(send(now - 200, "msg_recent").await.0, 200);
    let (status, _, body) = send(now - 600, "msg_replayed").await;
    assert_eq!(status, 401, "a replay from ten minutes ago");
    assert!(body["messages"][0].as_str().unwrap().contains("timestamp"));
    assert_eq!(send(now + 600, "msg_future").await.0, 401);
    assert_eq!(jobs_of(&app, &id).await, 2);
}

#[tokio::test]
async fn the_same_delivery_again_returns_the_first_job_and_runs_nothing_new() {
    let (app, token, id, url) = esri_app().await;
    let sig = esri(BODY.as_bytes());
    let first = post(
        &app,
        &url,
        &[("x-esrihook-signature", &sig), ("x-github-delivery", "d-1")],
        BODY,
    )
    .await;
    assert_eq!(first.0, 200);
    let again = post(
        &app,
        &url,
        &[("x-esrihook-signature", &sig), ("x-github-delivery", "d-1")],
        BODY,
    )
    .await;
    assert_eq!(again.0, 200);
    assert_eq!(again.2["jobId"], first.2["jobId"]);
    // A different signature form of the same delivery is the same delivery.
    let hexed = format!(
        "sha256={}",
        hex::encode(mac(SECRET.as_bytes(), &[BODY.as_bytes()]))
    );
    let third = post(
        &app,
        &url,
        &[
            ("x-hub-signature-256", &hexed),
            ("X-GitHub-Delivery", "d-1"),
        ],
        BODY,
    )
    .await;
    assert_eq!(third.2["jobId"], first.2["jobId"]);
    assert_eq!(jobs_of(&app, &id).await, 1);
    let log = deliveries(&app, &token, &id).await;
    let outcomes: Vec<_> = log.iter().map(|d| d["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["duplicate", "duplicate", "accepted"]);
}

#[tokio::test]
async fn racing_copies_of_one_delivery_create_one_job() {
    let (app, _, id, url) = esri_app().await;
    let sig = esri(BODY.as_bytes());
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let (client, url, sig) = (app.client.clone(), url.clone(), sig.clone());
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(&url)
                .header("x-esrihook-signature", sig)
                .header("webhook-id", "msg_race")
                .body(BODY)
                .send()
                .await
                .unwrap();
            crate::common::events::job_id(r).await
        }));
    }
    let mut jobs = Vec::new();
    for t in tasks {
        jobs.push(t.await.unwrap());
    }
    jobs.dedup();
    assert_eq!(jobs.len(), 1, "every copy got the same job");
    assert_eq!(jobs_of(&app, &id).await, 1);
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_and_without_a_length() {
    let dir = tempfile::tempdir().unwrap();
    let (app, token, id, url) = with_receiver(
        spawn_app_in(dir, &["--max-payload-bytes", "1000"]).await,
        SECRET,
        "x-esrihook-signature",
    )
    .await;
    let big = vec![b'a'; 1001];
    let sig = esri(&big);
    let (status, _, body) = post(&app, &url, &[("x-esrihook-signature", &sig)], big.clone()).await;
    assert_eq!(status, 413);
    assert_eq!(body["code"], 413);
    // Chunked, with no Content-Length: refused while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![b'a'; 100])).collect();
    let stream = futures_util::stream::iter(chunks);
    let (status, _, _) = post(
        &app,
        &url,
        &[("x-esrihook-signature", &sig)],
        reqwest::Body::wrap_stream(stream),
    )
    .await;
    assert_eq!(status, 413);
    let exact = vec![b'a'; 1000];
    let (status, _, _) = post(
        &app,
        &url,
        &[("x-esrihook-signature", &esri(&exact))],
        exact,
    )
    .await;
    assert_eq!(status, 200, "exactly the limit is fine");
    assert_eq!(jobs_of(&app, &id).await, 1);
    let log = wait_for_log(&app, &token, &id, 3).await;
    assert_eq!(log.iter().filter(|d| d["reason"] == "too large").count(), 2);
}

#[tokio::test]
async fn unknown_and_disabled_receivers_are_404_and_403() {
    let (app, token, id, url) = esri_app().await;
    let sig = esri(BODY.as_bytes());
    let unknown = url.replace(&id, "00000000-0000-4000-8000-000000000000");
    assert_eq!(
        post(&app, &unknown, &[("x-esrihook-signature", &sig)], BODY)
            .await
            .0,
        404
    );
    assert_eq!(
        post(
            &app,
            &url.replace(&id, "nope"),
            &[("x-esrihook-signature", &sig)],
            BODY
        )
        .await
        .0,
        404
    );
    app.post_form(&format!("{RECEIVERS}/{id}/disable"), Some(&token), &[])
        .await;
    let (status, _, body) = post(&app, &url, &[("x-esrihook-signature", &sig)], BODY).await;
    assert_eq!(status, 403);
    assert_eq!(body["status"], "error");
    assert_eq!(jobs_of(&app, &id).await, 0);
    let log = wait_for_log(&app, &token, &id, 1).await;
    assert_eq!(log[0]["reason"], "disabled");
    assert_eq!(log[0]["outcome"], "rejected");
}

/// ArcGIS queries a payload URL when a webhook is created, to confirm the
/// connection; the answer is fixed text, and nothing is stored or run.
#[tokio::test]
async fn a_connection_check_is_answered_without_a_delivery() {
    let (app, token, id, url) = esri_app().await;
    let r = app.client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ready", "{body}");
    let r = app.client.head(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let unknown = url.replace(&id, "00000000-0000-4000-8000-000000000000");
    let r = app.client.get(&unknown).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = app
        .client
        .get(url.replace(&id, "nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(jobs_of(&app, &id).await, 0);
    app.post_form(&format!("{RECEIVERS}/{id}/disable"), Some(&token), &[])
        .await;
    let r = app.client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["messages"][0].as_str().unwrap().contains("disabled"),
        "{body}"
    );
    // Checks are not deliveries: the log holds only real attempts.
    let (status, _, _) = post(
        &app,
        &url,
        &[("x-esrihook-signature", &esri(BODY.as_bytes()))],
        BODY,
    )
    .await;
    assert_eq!(status, 403);
    let log = wait_for_log(&app, &token, &id, 1).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(jobs_of(&app, &id).await, 0);
}

#[tokio::test]
async fn over_the_rate_a_receiver_answers_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _, id, url) = with_receiver(
        spawn_app_in(dir, &["--receiver-rate-limit", "3"]).await,
        SECRET,
        "x-esrihook-signature",
    )
    .await;
    let sig = esri(BODY.as_bytes());
    let mut statuses = Vec::new();
    let mut retry = None;
    // Until the first refusal: on a slow machine the deliveries may spread
    // over several seconds, each of which admits 3 again.
    let second = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let first_second = second();
    while retry.is_none() {
        assert!(statuses.len() < 1000, "never refused: {statuses:?}");
        let (status, headers, _) = post(&app, &url, &[("x-esrihook-signature", &sig)], BODY).await;
        assert!(status == 200 || status == 429, "{status}");
        if status == 429 {
            retry = headers
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            assert!(retry.is_some(), "a 429 says when to retry");
        }
        statuses.push(status);
    }
    let seconds = second() - first_second + 1;
    let accepted = statuses.iter().filter(|s| **s == 200).count() as u64;
    assert!(retry.is_some_and(|r| r.parse::<u64>().is_ok()));
    assert!(
        accepted >= 3 && accepted <= 3 * seconds,
        "at most 3 per second ({seconds} s): {statuses:?}"
    );
    assert_eq!(jobs_of(&app, &id).await, accepted);
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _, id, url) = with_receiver(
        spawn_app_in(dir, &["--max-queue-depth", "2"]).await,
        SECRET,
        "x-esrihook-signature",
    )
    .await;
    let sig = esri(BODY.as_bytes());
    for _ in 0..2 {
        assert_eq!(
            post(&app, &url, &[("x-esrihook-signature", &sig)], BODY)
                .await
                .0,
            200
        );
    }
    let (status, headers, _) = post(&app, &url, &[("x-esrihook-signature", &sig)], BODY).await;
    assert_eq!(status, 503);
    assert!(headers.contains_key("retry-after"));
    assert_eq!(jobs_of(&app, &id).await, 2);
}

#[tokio::test]
async fn a_replaced_secret_keeps_verifying_during_its_grace_period() {
    let (app, token, id, url) = esri_app().await;
    let new_secret = "0123456789abcdef0123456789abcdef";
    app.post_form(
        &format!("{RECEIVERS}/{id}/update"),
        Some(&token),
        &[("secret", new_secret)],
    )
    .await;
    let old = esri(BODY.as_bytes());
    assert_eq!(
        post(&app, &url, &[("x-esrihook-signature", &old)], BODY)
            .await
            .0,
        200
    );
    let new = format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD
            .encode(mac(new_secret.as_bytes(), &[BODY.as_bytes()]))
    );
    assert_eq!(
        post(&app, &url, &[("x-esrihook-signature", &new)], BODY)
            .await
            .0,
        200
    );

    let dir = tempfile::tempdir().unwrap();
    let (app, token, id, url) = with_receiver(
        spawn_app_in(dir, &["--secret-grace-hours", "0"]).await,
        SECRET,
        "x-esrihook-signature",
    )
    .await;
    app.post_form(
        &format!("{RECEIVERS}/{id}/update"),
        Some(&token),
        &[("secret", new_secret)],
    )
    .await;
    assert_eq!(
        post(&app, &url, &[("x-esrihook-signature", &old)], BODY)
            .await
            .0,
        401,
        "no grace period"
    );
}

/// A page can try a receiver without a terminal: the server signs a test
/// event of its own the way the receiver checks (ArcGIS, GitHub, Standard
/// Webhooks) and delivers it, signature checked; it makes a job; a page's
/// form lands on that job.
#[tokio::test]
async fn a_test_event_signed_by_the_server_makes_a_job_for_each_kind_of_receiver() {
    let secrets = [
        (SECRET, "x-esrihook-signature"),
        (SECRET, "x-hub-signature-256"),
        (
            "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX",
            "webhook-signature",
        ),
    ];
    for (secret, header) in secrets {
        let (app, token, id, _) = with_receiver(spawn_app().await, secret, header).await;
        let path = format!("{RECEIVERS}/{id}/sendTestEvent");
        let r = app.post_form(&path, Some(&token), &[]).await;
        assert_eq!(r.status, 200, "{header}: {}", r.json);
        let job = r.json["jobId"].as_str().expect("a job").to_string();
        let made = app
            .get(
                &format!("/notebooks/admin/notebooks/jobs/{job}"),
                Some(&token),
            )
            .await;
        assert_eq!(
            made.json["receiverId"],
            id.as_str(),
            "{header}: {}",
            made.json
        );
        let log = wait_for_log(&app, &token, &id, 1).await;
        assert_eq!(log[0]["outcome"], "accepted", "{header}: {log:?}");
        // From a page: a redirect to the job it made.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = client
            .post(app.url(&path))
            .form(&[("f", "html"), ("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{header}");
        let location = r.headers()["location"].to_str().unwrap().to_string();
        assert!(
            location.contains("/notebooks/admin/notebooks/jobs/"),
            "{location}"
        );
    }
    // Only who may manage the receiver may send it one.
    let (app, _, id, _) = with_receiver(spawn_app().await, SECRET, "x-esrihook-signature").await;
    app.add_user("eve", "user", &["notebooks:create", "notebooks:webhooks"])
        .await;
    let eve = app.token("eve").await;
    let r = app
        .post_form(&format!("{RECEIVERS}/{id}/sendTestEvent"), Some(&eve), &[])
        .await;
    assert_eq!(r.status, 403, "{}", r.json);
}
