//! A run never acts with more rights than its notebook's owner: the token a
//! run receives is the owner's (not the administrator's who ran it or made
//! its receiver), an `apiToken` lending more rights is refused, the run's
//! token ends with the run, and a revocation covers jobs already queued.

use crate::common::events::esri;
use crate::common::jobs::finished;
use crate::common::{spawn_app_in, TestApp, SECRET};
use serde_json::{json, Value};

const JOBS: &str = "/notebooks/admin/notebooks/jobs";

/// A notebook that asks the server, with its run's token, which receivers
/// it can read, and prints their names; it also prints its token.
fn prober() -> String {
    let code = "import json, os, urllib.request\n\
        url = os.environ['HOOKBOOK_URL'] + '/admin/notebooks/webhookReceivers?f=json&token=' + os.environ['HOOKBOOK_TOKEN']\n\
        seen = json.load(urllib.request.urlopen(url))\n\
        print('token', os.environ['HOOKBOOK_TOKEN'])\n\
        print('sees', sorted(r['name'] for r in seen.get('webhookReceivers', [])))";
    json!({
        "cells": [
            {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "source": "x = 1", "outputs": [], "execution_count": null},
            {"cell_type": "code", "id": "c", "metadata": {}, "source": code, "outputs": [], "execution_count": null}
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5
    })
    .to_string()
}

/// What the prober printed: its token and the receivers it could see.
async fn probe_output(app: &TestApp, token: &str, job: &str) -> (String, String) {
    let j = finished(app, token, job).await;
    assert_eq!(j["status"], "COMPLETED", "{j}");
    let nb: Value = app
        .client
        .get(app.url(&format!("{JOBS}/{job}/notebook")))
        .query(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text: String = nb["cells"][2]["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["text"].as_str())
        .collect();
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("token "))
        .unwrap()
        .to_string();
    let sees = text
        .lines()
        .find_map(|l| l.strip_prefix("sees "))
        .unwrap()
        .to_string();
    (token, sees)
}

/// A server running notebooks, with the usual cast; alice owns the prober
/// and a receiver "alices"; the administrator owns a receiver "admins".
async fn cast_with_prober() -> (TestApp, crate::common::Cast, String) {
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
            &[("title", "prober"), ("text", &prober())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let item = r.json["id"].as_str().unwrap().to_string();
    let admin_item = app.add_item(&cast.admin, "admin").await;
    for (token, item, name) in [
        (&cast.alice, &item, "alices"),
        (&cast.admin, &admin_item, "admins"),
    ] {
        let r = app
            .create_receiver(
                token,
                &[
                    ("name", name),
                    ("itemId", item),
                    ("secret", SECRET),
                    ("signatureHeaders", "x-esrihook-signature"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
    }
    (app, cast, item)
}

#[tokio::test]
async fn an_administrator_running_a_users_notebook_lends_it_only_the_owners_rights() {
    let (app, cast, item) = cast_with_prober().await;
    let r = app
        .post_form(
            "/notebooks/admin/notebooks/executeNotebook",
            Some(&cast.admin),
            &[("itemId", &item)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let job = r.json["jobId"].as_str().unwrap().to_string();
    let (token, sees) = probe_output(&app, &cast.admin, &job).await;
    assert_eq!(sees, "['alices']", "the run acted as alice");
    // The run's token ended with the run.
    let after = app.get(JOBS, Some(&token)).await;
    assert_eq!(after.status, 498, "{}", after.json);
}

#[tokio::test]
async fn a_receiver_an_administrator_made_on_a_users_notebook_runs_as_the_owner() {
    let (app, cast, item) = cast_with_prober().await;
    let r = app
        .create_receiver(
            &cast.admin,
            &[
                ("name", "by-admin"),
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
    let body = "{}";
    let sent = app
        .client
        .post(&url)
        .header("x-esrihook-signature", esri(body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let job = sent.json::<Value>().await.unwrap()["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, sees) = probe_output(&app, &cast.admin, &job).await;
    assert_eq!(
        sees, "['alices']",
        "the run acted as alice, not the administrator"
    );
}

#[tokio::test]
async fn an_api_token_with_more_rights_than_the_notebooks_owner_is_refused() {
    let (app, cast, item) = cast_with_prober().await;
    for (caller, api_token) in [(&cast.admin, &cast.admin), (&cast.admin, &cast.bob)] {
        let r = app
            .create_receiver(
                caller,
                &[
                    ("name", "lender"),
                    ("itemId", &item),
                    ("secret", SECRET),
                    ("signatureHeaders", "x-esrihook-signature"),
                    ("apiToken", api_token),
                ],
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.json);
        let text = r.json.to_string();
        assert!(text.contains("apiToken"), "{text}");
    }
    // The owner's own token is accepted, also when an administrator sets it.
    let r = app
        .create_receiver(
            &cast.admin,
            &[
                ("name", "owners"),
                ("itemId", &item),
                ("secret", SECRET),
                ("signatureHeaders", "x-esrihook-signature"),
                ("apiToken", &cast.alice),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    // An update cannot bring a stronger token either.
    let id = r.json["webhookReceiver"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post_form(
            &format!("{}/{id}/update", crate::common::RECEIVERS),
            Some(&cast.admin),
            &[("apiToken", &cast.admin)],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(r.json.to_string().contains("apiToken"), "{}", r.json);
}

#[tokio::test]
async fn a_revocation_covers_execute_notebook_jobs_queued_before_it() {
    // A node that runs nothing queues the job; the revocation comes; a
    // node that runs jobs then finds it.
    let app = spawn_app_in(tempfile::tempdir().unwrap(), &[]).await;
    let cast = app.cast().await;
    let r = app
        .post_form(
            "/notebooks/sharing/rest/content/users/alice/addItem",
            Some(&cast.alice),
            &[("title", "prober"), ("text", &prober())],
        )
        .await;
    let item = r.json["id"].as_str().unwrap().to_string();
    let r = app
        .post_form(
            "/notebooks/admin/notebooks/executeNotebook",
            Some(&cast.alice),
            &[("itemId", &item)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let job = r.json["jobId"].as_str().unwrap().to_string();
    let r = app
        .post_form(
            "/notebooks/sharing/rest/community/users/alice/revokeTokens",
            Some(&cast.alice),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let dir = app.stop().await;
    let app = spawn_app_in(dir, &["--max-concurrent-runs", "1"]).await;
    let admin = app.token("admin").await;
    let j = finished(&app, &admin, &job).await;
    assert_eq!(j["status"], "FAILED", "{j}");
    assert!(
        j["messages"][0].as_str().unwrap().contains("revoked"),
        "{j}"
    );
}
