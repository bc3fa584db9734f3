//! What intake leaves for administrators: the delivery log, its pruning,
//! the metrics, and `hookbook send` for testing a receiver.

use hookbook::domain::delivery::{Delivery, DeliveryOutcome};

use crate::common::events::*;
use crate::common::{spawn_app, RECEIVERS, SECRET};
use hookbook::domain::ids::ReceiverId;

#[tokio::test]
async fn metrics_count_deliveries_by_outcome_and_reason() {
    let (app, _, _, url) = esri_app().await;
    post(
        &app,
        &url,
        &[("x-esrihook-signature", &esri(BODY.as_bytes()))],
        BODY,
    )
    .await;
    post(&app, &url, &[("x-esrihook-signature", "sha256=AAAA")], BODY).await;
    let text = app.metrics().await;
    assert!(
        text.contains(r#"hookbook_deliveries_total{outcome="accepted",reason=""} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"hookbook_deliveries_total{outcome="rejected",reason="bad signature"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("hookbook_acceptance_seconds_count 1"),
        "{text}"
    );
    // One accepted event, so one group commit of one event.
    assert!(
        text.contains("hookbook_intake_batch_events_count 1")
            && text.contains("hookbook_intake_batch_events_sum 1.0")
            && text.contains("hookbook_intake_commit_seconds_count 1"),
        "{text}"
    );
}

#[tokio::test]
async fn the_delivery_log_never_holds_the_payload_or_a_signature() {
    let (app, token, id, url) = esri_app().await;
    let sig = esri(BODY.as_bytes());
    post(&app, &url, &[("x-esrihook-signature", &sig)], BODY).await;
    post(
        &app,
        &url,
        &[(
            "x-esrihook-signature",
            "sha256=c2VjcmV0LWxvb2tpbmctc2lnbmF0dXJl",
        )],
        BODY,
    )
    .await;
    let log = wait_for_log(&app, &token, &id, 2).await;
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains("Posting") && !text.contains(&sig[7..]) && !text.contains("c2VjcmV0"));
    for line in &log {
        let mut keys: Vec<_> = line.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "jobDuration",
                "jobError",
                "jobId",
                "jobStatus",
                "outcome",
                "reason",
                "size",
                "time"
            ]
        );
    }
    // Someone else's log is not readable.
    app.add_user("eve", "user", &["notebooks:create", "notebooks:webhooks"])
        .await;
    let eve = app.token("eve").await;
    assert_eq!(
        app.get(&format!("{RECEIVERS}/{id}/deliveries"), Some(&eve))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn hookbook_send_signs_like_each_real_sender() {
    let secret_std = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX";
    let (app, token, id, url) = esri_app().await;
    let send = |args: Vec<String>| async move {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookbook"))
            .arg("send")
            .args(args)
            .output()
            .await
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    for scheme in ["esri", "github"] {
        let (code, out) = send(vec![
            url.clone(),
            "--secret".into(),
            SECRET.into(),
            "--scheme".into(),
            scheme.into(),
            "--data".into(),
            BODY.into(),
        ])
        .await;
        assert_eq!(code, Some(0), "{scheme}: {out}");
        assert!(out.starts_with("HTTP 200"), "{out}");
    }
    let file = app.dir.path().join("payload.json");
    std::fs::write(&file, BODY).unwrap();
    let (code, _) = send(vec![
        url.clone(),
        "--secret".into(),
        SECRET.into(),
        "--data".into(),
        format!("@{}", file.display()),
    ])
    .await;
    assert_eq!(code, Some(0));
    let (code, out) = send(vec![
        url.clone(),
        "--secret".into(),
        "0123456789abcdef0123456789abcdef".into(),
    ])
    .await;
    assert_eq!(code, Some(1), "a wrong secret is refused and send says so");
    assert!(out.starts_with("HTTP 401"));
    assert_eq!(jobs_of(&app, &id).await, 3);

    let (app2, _, id2, url2) =
        with_receiver(spawn_app().await, secret_std, "webhook-signature").await;
    let (code, out) = send(vec![
        url2,
        "--secret".into(),
        secret_std.into(),
        "--scheme".into(),
        "standard".into(),
    ])
    .await;
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(jobs_of(&app2, &id2).await, 1);
    let log = wait_for_log(&app, &token, &id, 4).await;
    assert_eq!(log.len(), 4);
}

#[tokio::test]
async fn the_delivery_log_is_pruned_by_age_and_by_count() {
    use hookbook::domain::time::Millis;

    let dir = tempfile::tempdir().unwrap();
    let store = hookbook::store::open(&hookbook::store::DatabaseUrl::Sqlite(
        dir.path().join("t.db"),
    ))
    .await
    .unwrap();
    let (a, b) = (ReceiverId::generate(), ReceiverId::generate());
    let line = |receiver, time| Delivery {
        receiver_id: receiver,
        time: Millis(time),
        outcome: DeliveryOutcome::Rejected,
        reason: "bad signature".into(),
        job_id: None,
        size: 1,
    };
    let lines: Vec<_> = (0..5)
        .map(|t| line(a, 1000 + t))
        .chain([line(b, 10), line(b, 2000)])
        .collect();
    store.log_deliveries(&lines).await.unwrap();
    let removed = store.prune_deliveries(Millis(500), 3).await.unwrap();
    assert_eq!(removed, 3, "b's old line by age, two of a's by count");
    let kept_a: Vec<i64> = store
        .deliveries(&a, 10)
        .await
        .unwrap()
        .iter()
        .map(|d| d.delivery.time.0)
        .collect();
    assert_eq!(kept_a, [1004, 1003, 1002], "newest first, the newest kept");
    assert_eq!(store.deliveries(&b, 10).await.unwrap().len(), 1);
}

/// Each line of the log says what its delivery became: the run's state,
/// the first line of its error and how long it took, in the JSON and on
/// the receiver's page, in the jobs' colours.
#[tokio::test]
async fn each_delivery_shows_what_its_run_became() {
    use crate::common::runs::{deliver, finished, setup};
    let s = setup(
        &["raise ValueError('the layer is missing\\nsecond line')"],
        &[],
    )
    .await;
    let job = deliver(&s, r#"{"n": 1}"#, "application/json").await;
    assert_eq!(finished(&s, &job).await["status"], "FAILED");
    let receiver = s.url.rsplit('/').next().unwrap().to_string();
    let path = format!("{}/{receiver}/deliveries", crate::common::RECEIVERS);
    let r = s.app.get(&path, Some(&s.token)).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let line = &r.json["deliveries"][0];
    assert_eq!(line["outcome"], "accepted", "{line}");
    assert_eq!(line["jobId"], job.as_str(), "{line}");
    assert_eq!(line["jobStatus"], "FAILED", "{line}");
    let error = line["jobError"].as_str().unwrap();
    assert!(error.contains("the layer is missing"), "{line}");
    assert!(
        !error.contains("second line"),
        "only the first line: {line}"
    );
    assert!(line["jobDuration"].as_i64().unwrap() >= 0, "{line}");
    // A refused delivery has no run.
    let refused = s.app.client.post(&s.url).body("{}").send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let lines = crate::common::events::wait_for_log(&s.app, &s.token, &receiver, 2).await;
    let rejected = lines.iter().find(|l| l["outcome"] == "rejected").unwrap();
    assert_eq!(rejected["jobStatus"], serde_json::Value::Null, "{rejected}");
    // The page shows the same, the run's state in the failure colour.
    let page = s.app.html(&path, &s.token).await;
    assert!(page.contains(r#"class="FAILED""#), "{page}");
    assert!(page.contains("the layer is missing"), "{page}");
    // The list of receivers shows each one's latest delivery and its run.
    let list = s.app.html(crate::common::RECEIVERS, &s.token).await;
    assert!(list.contains("Last delivery"), "{list}");
    assert!(list.contains(r#"class="rejected""#), "{list}");
    assert!(list.contains(r#"class="FAILED""#), "the latest run: {list}");
}
