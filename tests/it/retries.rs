//! Retries: a receiver's retry policy (its own, or the site's it follows)
//! gives a failed run more attempts, after a growing wait, for the failures
//! it names; each attempt is visible on the job, and a waiting one can be
//! cancelled. Only the receiver's owner and administrators change its
//! policy; only administrators the site's.

use std::time::Duration;

use crate::common::events::esri;
use crate::common::jobs::finished;
use crate::common::wait::eventually;
use crate::common::{spawn_app_in, TestApp, RECEIVERS, SECRET};
use serde_json::{json, Value};

const JOBS: &str = "/notebooks/admin/notebooks/jobs";
const SITE: &str = "/notebooks/admin/notebooks/retryPolicy";

fn notebook(source: &str) -> String {
    json!({"cells": [{"cell_type": "code", "id": "a", "metadata": {}, "source": source, "outputs": [], "execution_count": null}],
           "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    .to_string()
}

/// A server (one run at a time) where alice's receiver runs `source`: its
/// cast, the receiver's id and its URL.
async fn receiver_running(source: &str) -> (TestApp, crate::common::Cast, String, String) {
    let app = spawn_app_in(
        tempfile::tempdir().unwrap(),
        &["--max-concurrent-runs", "1"],
    )
    .await;
    let cast = app.cast().await;
    let r = app
        .post_form(
            "/notebooks/sharing/rest/content/users/alice/addItem",
            Some(&cast.alice),
            &[("title", "flaky"), ("text", &notebook(source))],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let item = r.json["id"].as_str().unwrap().to_string();
    let r = app
        .create_receiver(
            &cast.alice,
            &[
                ("name", "flaky"),
                ("itemId", &item),
                ("secret", SECRET),
                ("signatureHeaders", "x-esrihook-signature"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let receiver = &r.json["webhookReceiver"];
    let text = |v: &Value| v.as_str().unwrap().to_string();
    let (id, url) = (text(&receiver["id"]), text(&receiver["url"]));
    (app, cast, id, url)
}

/// Delivers an empty event; the job's id.
async fn deliver(app: &TestApp, url: &str) -> String {
    let headers = [("x-esrihook-signature", esri(b"{}"))];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (status, _, answer) = crate::common::events::post(app, url, &headers, "{}").await;
    assert_eq!(status, 200, "{answer}");
    answer["jobId"].as_str().unwrap().to_string()
}

fn now_ms() -> i64 {
    hookbook::domain::time::Millis::now().0
}

fn policy_path(receiver: &str) -> String {
    format!("{RECEIVERS}/{receiver}/retryPolicy")
}

#[tokio::test]
async fn a_failing_run_is_tried_again_until_an_attempt_completes() {
    let source = "import os\n\
                  n = int(os.environ['HOOKBOOK_ATTEMPT'])\n\
                  if n < 3:\n    raise RuntimeError(f'attempt {n} is unlucky')\n\
                  print('completed on attempt', n)";
    let (app, cast, receiver, url) = receiver_running(source).await;
    let path = policy_path(&receiver);
    let before = app
        .get(&format!("{RECEIVERS}/{receiver}"), Some(&cast.alice))
        .await;

    // Until changed, the receiver follows the site's policy.
    let r = app.get(&path, Some(&cast.alice)).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json,
        json!({"maxAttempts": 2, "delaySeconds": 0, "backoffFactor": 2.0,
               "maxDelaySeconds": 3600, "retryOn": ["lostNode"], "inherited": true})
    );
    // Only its owner (and administrators) may read or change it, and each
    // wrong field is named.
    let update = format!("{path}/update");
    let r = app.get(&path, Some(&cast.bob)).await;
    assert_eq!(r.status, 403, "{}", r.json);
    let r = app
        .post_form(&update, Some(&cast.bob), &[("maxAttempts", "3")])
        .await;
    assert_eq!(r.status, 403, "{}", r.json);
    for (field, value) in [
        ("maxAttempts", "0"),
        ("maxAttempts", "eleven"),
        ("retryOn", "error,crash"),
        ("backoffFactor", "0.5"),
        ("maxDelaySeconds", "1"),
    ] {
        let mut fields = vec![(field, value)];
        if field == "maxDelaySeconds" {
            fields.push(("delaySeconds", "5"));
        }
        let r = app.post_form(&update, Some(&cast.alice), &fields).await;
        assert_eq!(r.status, 400, "{field}={value}: {}", r.json);
        assert!(r.json.to_string().contains(field), "{}", r.json);
    }
    let r = app
        .post_form(
            &update,
            Some(&cast.alice),
            &[
                ("maxAttempts", "3"),
                ("delaySeconds", "1"),
                ("backoffFactor", "2"),
                ("retryOn", "error"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json,
        json!({"maxAttempts": 3, "delaySeconds": 1, "backoffFactor": 2.0,
               "maxDelaySeconds": 3600, "retryOn": ["error"], "inherited": false,
               "status": "success"})
    );
    // The receiver's own JSON keeps exactly its fields.
    let after = app
        .get(&format!("{RECEIVERS}/{receiver}"), Some(&cast.alice))
        .await;
    assert_eq!(after.json, before.json);

    let job = deliver(&app, &url).await;
    let done = finished(&app, &cast.alice, &job).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(
        (done["attempts"].as_i64(), done["maxAttempts"].as_i64()),
        (Some(3), Some(3))
    );
    assert_eq!(done["nextAttemptTime"], Value::Null);
    let messages: Vec<&str> = done["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    for (i, m) in messages[..2].iter().enumerate() {
        let n = i + 1;
        assert!(
            m.starts_with(&format!("Attempt {n} of 3 failed:"))
                && m.contains(&format!("attempt {n} is unlucky"))
                && m.contains("The next attempt is due at"),
            "{m}"
        );
    }
    assert_eq!(messages[2], "Attempt 3 of 3: The notebook ran to its end.");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("hookbook_retries_total{failure=\"error\"} 2"),
        "{metrics}"
    );

    // Following the site's policy again.
    let r = app
        .post_form(&update, Some(&cast.alice), &[("inherit", "true")])
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["inherited"], true);
    assert_eq!(r.json["maxAttempts"], 2);
}

/// Waits until the job waits for another attempt; its resource then.
async fn waiting_again(app: &TestApp, token: &str, job: &str) -> Value {
    let what = format!("job {job} fails once and waits for another attempt");
    eventually(&what, Duration::from_secs(120), || async {
        let j = app.get(&format!("{JOBS}/{job}"), Some(token)).await.json;
        if j["status"] == "SUBMITTED" && j["attempts"] == 1 {
            Ok(j)
        } else {
            Err(j.to_string())
        }
    })
    .await
}

#[tokio::test]
async fn a_waiting_attempt_says_when_it_is_due_and_can_be_cancelled() {
    let (app, cast, receiver, url) = receiver_running("raise ValueError('down')").await;
    // Under the site's policy an exception is final, as it always was.
    let job = deliver(&app, &url).await;
    let failed = finished(&app, &cast.alice, &job).await;
    assert_eq!(failed["status"], "FAILED", "{failed}");
    assert_eq!(failed["attempts"], 1);
    assert_eq!(failed["messages"].as_array().unwrap().len(), 1, "{failed}");
    assert!(!failed["messages"][0].as_str().unwrap().contains("Attempt"));

    let r = app
        .post_form(
            &format!("{}/update", policy_path(&receiver)),
            Some(&cast.admin),
            &[
                ("maxAttempts", "2"),
                ("delaySeconds", "3600"),
                ("retryOn", "[\"error\", \"timeout\"]"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "an administrator may: {}", r.json);
    let asked = now_ms();
    let job = deliver(&app, &url).await;
    let waiting = waiting_again(&app, &cast.alice, &job).await;
    assert_eq!(waiting["maxAttempts"], 2, "{waiting}");
    let due = waiting["nextAttemptTime"].as_i64().unwrap();
    assert!(
        (asked + 3_590_000..now_ms() + 3_600_000 + 1).contains(&due),
        "due in an hour: {due}"
    );
    assert!(waiting["messages"][0]
        .as_str()
        .unwrap()
        .starts_with("Attempt 1 of 2 failed:"));
    let page = app.html(&format!("{JOBS}/{job}"), &cast.alice).await;
    assert!(
        page.contains("Attempt 1 of up to 2 failed; the next is due at"),
        "{page}"
    );
    // The jobs list tells it from a new job, and names the receiver; the
    // first job's row shows its error.
    let list = app.html(JOBS, &cast.alice).await;
    assert!(list.contains("retrying: attempt 2 of 2, next at"), "{list}");
    assert!(list.contains("ValueError"), "{list}");
    assert!(list.contains(">flaky</a>"), "the receiver's name: {list}");
    let r = app
        .post_form(&format!("{JOBS}/{job}/cancel"), Some(&cast.alice), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let cancelled = app.get(&format!("{JOBS}/{job}"), Some(&cast.alice)).await;
    assert_eq!(cancelled.json["status"], "CANCELLED");
    assert_eq!(cancelled.json["nextAttemptTime"], Value::Null);
}

#[tokio::test]
async fn only_administrators_change_the_sites_policy_which_receivers_follow() {
    let app = spawn_app_in(tempfile::tempdir().unwrap(), &["--role", "api"]).await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.alice, "alice").await;
    let receiver = app.receiver_on(&cast.alice, &item).await;
    let r = app.get(SITE, Some(&cast.alice)).await;
    assert_eq!(r.status, 200, "anyone signed in reads it: {}", r.json);
    assert_eq!(r.json["retryOn"], json!(["lostNode"]));
    let r = app.get(SITE, None).await;
    assert_eq!(r.status, 499, "{}", r.json);
    let update = format!("{SITE}/update");
    let r = app
        .post_form(&update, Some(&cast.alice), &[("maxAttempts", "4")])
        .await;
    assert_eq!(r.status, 403, "{}", r.json);
    let r = app
        .post_form(&update, Some(&cast.admin), &[("backoffFactor", "NaN")])
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(r.json.to_string().contains("backoffFactor"), "{}", r.json);
    let r = app
        .post_form(
            &update,
            Some(&cast.admin),
            &[("maxAttempts", "4"), ("retryOn", "")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["retryOn"], json!([]));
    let follows = app.get(&policy_path(&receiver), Some(&cast.alice)).await;
    assert_eq!(follows.json["maxAttempts"], 4, "{}", follows.json);
    assert_eq!(follows.json["inherited"], true);
    // A receiver's own policy goes with it.
    let r = app
        .post_form(
            &format!("{}/update", policy_path(&receiver)),
            Some(&cast.alice),
            &[("maxAttempts", "5")],
        )
        .await;
    assert_eq!(r.json["maxAttempts"], 5, "{}", r.json);
    let r = app
        .post_form(
            &format!("{RECEIVERS}/{receiver}/delete"),
            Some(&cast.alice),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = app.get(&policy_path(&receiver), Some(&cast.admin)).await;
    assert_eq!(r.status, 404, "{}", r.json);
    // The pages: a form for the owner, none on the site's for a user.
    let page = app.html(SITE, &cast.alice).await;
    assert!(
        page.contains("The site&#x27;s retry policy") || page.contains("The site's retry policy"),
        "{page}"
    );
    assert!(!page.contains("Change the policy"), "{page}");
    let page = app.html(SITE, &cast.admin).await;
    assert!(page.contains("Change the policy"), "{page}");
}
