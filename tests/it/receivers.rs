//! The webhook receiver admin API: every operation, every validation rule,
//! the exact shapes of the seed pages, and the privilege rules.

use std::collections::BTreeSet;

use crate::common::{spawn_app, spawn_app_in, RECEIVERS, SECRET};
use serde_json::Value;

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The fields of `<receiver>` in the contract.
const RECEIVER_FIELDS: [&str; 11] = [
    "id",
    "name",
    "itemId",
    "signatureHeaders",
    "disabled",
    "secret",
    "apiToken",
    "parameters",
    "message",
    "username",
    "url",
];
/// The fields of the create answer's example on the seed page.
const SEED_CREATE_FIELDS: [&str; 9] = [
    "itemId",
    "signatureHeaders",
    "apiToken",
    "name",
    "disabled",
    "id",
    "secret",
    "username",
    "url",
];
/// The fields of the receiver resource's example on the seed page.
const SEED_GET_FIELDS: [&str; 9] = [
    "itemId",
    "signatureHeaders",
    "name",
    "disabled",
    "id",
    "message",
    "parameters",
    "username",
    "url",
];

#[tokio::test]
async fn create_get_and_list_answer_the_shapes_of_the_seed_pages() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.admin, "admin").await;
    let created = app
        .create_receiver(
            &cast.admin,
            &[
                ("name", "test"),
                ("itemId", &item),
                ("secret", SECRET),
                (
                    "signatureHeaders",
                    "x-esriHook-Signature, X-Hub-Signature-256",
                ),
                ("parameters", r#"{"layer": "roads", "limit": 10}"#),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.json);
    assert_eq!(keys(&created.json), set(&["webhookReceiver", "status"]));
    assert_eq!(created.json["status"], "success");
    let r = &created.json["webhookReceiver"];
    assert_eq!(keys(r), set(&RECEIVER_FIELDS));
    assert!(set(&SEED_CREATE_FIELDS).is_subset(&keys(r)));
    let id = r["id"].as_str().unwrap();
    assert!(uuid::Uuid::try_parse(id).is_ok());
    assert_eq!(r["name"], "test");
    assert_eq!(r["itemId"], item.as_str());
    assert_eq!(
        r["signatureHeaders"],
        "x-esrihook-signature,x-hub-signature-256"
    );
    assert_eq!(r["disabled"], false);
    assert_eq!(r["secret"], SECRET);
    assert_eq!(r["apiToken"], "");
    assert_eq!(r["message"], "");
    assert_eq!(r["username"], "admin");
    let params: Value = serde_json::from_str(
        r["parameters"]
            .as_str()
            .expect("parameters is a JSON string"),
    )
    .unwrap();
    assert_eq!(params, serde_json::json!({"layer": "roads", "limit": 10}));
    assert_eq!(
        r["url"],
        format!("{}/notebooks/rest/events/webhooks/{id}", app.base)
    );

    let got = app
        .get(&format!("{RECEIVERS}/{id}"), Some(&cast.admin))
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(keys(&got.json), set(&RECEIVER_FIELDS));
    assert!(set(&SEED_GET_FIELDS).is_subset(&keys(&got.json)));
    assert_eq!(&got.json, r);

    let list = app.get(RECEIVERS, Some(&cast.admin)).await;
    assert_eq!(keys(&list.json), set(&["webhookReceivers"]));
    assert_eq!(list.json["webhookReceivers"].as_array().unwrap().len(), 1);
    assert_eq!(&list.json["webhookReceivers"][0], r);
}

#[tokio::test]
async fn parameters_default_to_an_empty_object_string() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.admin, "admin").await;
    let id = app.receiver_on(&cast.admin, &item).await;
    let got = app
        .get(&format!("{RECEIVERS}/{id}"), Some(&cast.admin))
        .await;
    assert_eq!(got.json["parameters"], "{}");
}

#[tokio::test]
async fn the_url_is_built_from_the_public_url_and_context() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(
        dir,
        &[
            "--public-url",
            "https://hooks.example.com/",
            "--context",
            "nb",
        ],
    )
    .await;
    app.add_user("admin", "administrator", &[]).await;
    let r = app
        .post_form(
            "/nb/sharing/rest/generateToken",
            None,
            &[("username", "admin"), ("password", crate::common::PASSWORD)],
        )
        .await;
    let token = r.json["token"].as_str().unwrap().to_string();
    let item = app
        .post_form(
            "/nb/sharing/rest/content/users/admin/addItem",
            Some(&token),
            &[("title", "t"), ("text", crate::common::NOTEBOOK)],
        )
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post_form(
            "/nb/admin/notebooks/webhookReceivers/create",
            Some(&token),
            &[
                ("name", "n"),
                ("itemId", &item),
                ("secret", SECRET),
                ("signatureHeaders", "x-sig"),
            ],
        )
        .await;
    let receiver = &r.json["webhookReceiver"];
    assert_eq!(
        receiver["url"],
        format!(
            "https://hooks.example.com/nb/rest/events/webhooks/{}",
            receiver["id"].as_str().unwrap()
        )
    );
    assert_eq!(
        app.get(RECEIVERS, Some(&token)).await.status,
        404,
        "the default context is not served"
    );
}

#[tokio::test]
async fn every_validation_rule_refuses_with_400_naming_the_field() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.alice, "alice").await;
    let bobs_item = app.add_item(&cast.bob, "bob").await;
    let carols_token = cast.carol.clone();
    let good = [
        ("name", "ok"),
        ("itemId", item.as_str()),
        ("secret", SECRET),
        ("signatureHeaders", "x-esrihook-signature"),
    ];
    let cases: Vec<(&str, &str, &str)> = vec![
        ("name", "", "name"),
        ("name", "   ", "name"),
        ("itemId", "", "itemId"),
        ("itemId", "xyz", "itemId"),
        ("itemId", "0123456789abcdef0123456789abcdef", "itemId"),
        ("itemId", &bobs_item, "itemId"),
        ("secret", "", "secret"),
        ("secret", "tooshort", "secret"),
        ("secret", "9f8b47c2e4a748d3b58e2a17ad8f2e4b0", "secret"),
        ("secret", "whsec_tooshort", "secret"),
        ("signatureHeaders", "", "signatureHeaders"),
        ("signatureHeaders", "x-sig,,y", "signatureHeaders"),
        ("signatureHeaders", "bad header", "signatureHeaders"),
        ("parameters", "not json", "parameters"),
        ("parameters", "[1, 2]", "parameters"),
        ("parameters", r#"{"1abc": 1}"#, "parameters"),
        ("parameters", r#"{"with space": 1}"#, "parameters"),
        ("parameters", r#"{"webhookPayload": 1}"#, "parameters"),
        ("parameters", r#"{"webhookHeaders": 1}"#, "parameters"),
        ("apiToken", "not-a-token", "apiToken"),
        ("apiToken", &carols_token, "apiToken"),
    ];
    for (field, value, named) in cases {
        let mut fields: Vec<(&str, &str)> =
            good.iter().copied().filter(|(k, _)| *k != field).collect();
        fields.push((field, value));
        let r = app.create_receiver(&cast.alice, &fields).await;
        assert_eq!(r.status, 400, "{field}={value:?}: {}", r.json);
        assert_eq!(r.json["code"], 400);
        assert_eq!(r.json["status"], "error");
        let message = r.json["messages"][0].as_str().unwrap();
        assert!(
            message.contains(&format!("'{named}'")),
            "{field}={value:?}: {message}"
        );
    }
    // None of those refusals created anything.
    let list = app.get(RECEIVERS, Some(&cast.alice)).await;
    assert_eq!(list.json["webhookReceivers"], serde_json::json!([]));
}

#[tokio::test]
async fn a_missing_required_field_is_refused_naming_it() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.admin, "admin").await;
    let all = [
        ("name", "ok"),
        ("itemId", item.as_str()),
        ("secret", SECRET),
        ("signatureHeaders", "x-esrihook-signature"),
    ];
    for (missing, _) in all {
        let fields: Vec<_> = all.iter().copied().filter(|(k, _)| *k != missing).collect();
        let r = app.create_receiver(&cast.admin, &fields).await;
        assert_eq!(r.status, 400);
        assert!(r.json["messages"][0]
            .as_str()
            .unwrap()
            .contains(&format!("'{missing}'")));
    }
}

#[tokio::test]
async fn standard_webhooks_secrets_and_valid_api_tokens_are_accepted() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.alice, "alice").await;
    let r = app
        .create_receiver(
            &cast.alice,
            &[
                ("name", "std"),
                ("itemId", &item),
                ("secret", "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"),
                ("signatureHeaders", "webhook-signature"),
                ("apiToken", &cast.alice),
                ("parameters", r#"{"_private": null, "é": 1.5}"#),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json["webhookReceiver"]["apiToken"], "",
        "the api token is write-only"
    );
    assert_eq!(
        r.json["webhookReceiver"]["secret"],
        "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"
    );
    // An administrator's token would lend alice's notebook rights she
    // lacks: refused, naming the field.
    let r = app
        .create_receiver(
            &cast.alice,
            &[
                ("name", "x"),
                ("itemId", &item),
                ("secret", SECRET),
                ("signatureHeaders", "x-sig"),
                ("apiToken", &cast.admin),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(r.json.to_string().contains("apiToken"), "{}", r.json);
}

#[tokio::test]
async fn update_changes_only_the_fields_given() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.alice, "alice").await;
    let other_item = app.add_item(&cast.alice, "alice").await;
    let id = app.receiver_on(&cast.alice, &item).await;
    let path = format!("{RECEIVERS}/{id}/update");
    let new_secret = "0123456789abcdef0123456789ABCDEF";
    let r = app
        .post_form(
            &path,
            Some(&cast.alice),
            &[
                ("name", "renamed"),
                ("itemId", &other_item),
                ("secret", new_secret),
                ("signatureHeaders", "X-Hub-Signature-256"),
                ("parameters", r#"{"a": true}"#),
                ("disabled", "true"),
                ("apiToken", &cast.alice),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(keys(&r.json), set(&["webhookReceiver", "status"]));
    let got = app
        .get(&format!("{RECEIVERS}/{id}"), Some(&cast.alice))
        .await
        .json;
    assert_eq!(got["name"], "renamed");
    assert_eq!(got["itemId"], other_item.as_str());
    assert_eq!(got["secret"], new_secret);
    assert_eq!(got["signatureHeaders"], "x-hub-signature-256");
    assert_eq!(got["parameters"], r#"{"a":true}"#);
    assert_eq!(got["disabled"], true);
    assert_eq!(got["apiToken"], "");

    let r = app
        .post_form(&path, Some(&cast.alice), &[("name", "only the name")])
        .await;
    assert_eq!(r.status, 200);
    let again = app
        .get(&format!("{RECEIVERS}/{id}"), Some(&cast.alice))
        .await
        .json;
    assert_eq!(again["name"], "only the name");
    assert_eq!(again["secret"], new_secret);
    assert_eq!(again["disabled"], true);

    for (field, value) in [
        ("secret", "short"),
        ("itemId", "nope"),
        ("signatureHeaders", "a b"),
        ("parameters", "[]"),
        ("disabled", "maybe"),
        ("apiToken", "bogus"),
    ] {
        let r = app
            .post_form(&path, Some(&cast.alice), &[(field, value)])
            .await;
        assert_eq!(r.status, 400, "{field}");
        assert!(r.json["messages"][0]
            .as_str()
            .unwrap()
            .contains(&format!("'{field}'")));
    }
}

#[tokio::test]
async fn enable_disable_and_delete() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.alice, "alice").await;
    let id = app.receiver_on(&cast.alice, &item).await;
    let path = format!("{RECEIVERS}/{id}");
    let r = app
        .post_form(&format!("{RECEIVERS}/{id}/disable"), Some(&cast.alice), &[])
        .await;
    assert_eq!(r.json, serde_json::json!({"status": "success"}));
    assert_eq!(
        app.get(&path, Some(&cast.alice)).await.json["disabled"],
        true
    );
    let r = app
        .post_form(&format!("{RECEIVERS}/{id}/enable"), Some(&cast.alice), &[])
        .await;
    assert_eq!(r.json, serde_json::json!({"status": "success"}));
    assert_eq!(
        app.get(&path, Some(&cast.alice)).await.json["disabled"],
        false
    );
    let r = app
        .post_form(&format!("{RECEIVERS}/{id}/delete"), Some(&cast.alice), &[])
        .await;
    assert_eq!(r.json, serde_json::json!({"status": "success"}));
    let gone = app.get(&path, Some(&cast.alice)).await;
    assert_eq!((gone.status, gone.json["code"].as_i64()), (404, Some(404)));
    let again = app
        .post_form(&format!("{RECEIVERS}/{id}/delete"), Some(&cast.alice), &[])
        .await;
    assert_eq!(again.status, 404);
}

#[tokio::test]
async fn validate_reports_what_would_stop_a_run() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.alice, "alice").await;
    let id = app.receiver_on(&cast.alice, &item).await;
    let path = format!("{RECEIVERS}/{id}/validate");
    let ok = app.get(&path, Some(&cast.alice)).await;
    assert_eq!(ok.json, serde_json::json!({"success": "true", "id": id}));
    let ok = app.post_form(&path, Some(&cast.alice), &[]).await;
    assert_eq!(ok.json["success"], "true");

    app.post_form(&format!("{RECEIVERS}/{id}/disable"), Some(&cast.alice), &[])
        .await;
    app.post_form(
        &format!("/notebooks/sharing/rest/content/users/alice/items/{item}/delete"),
        Some(&cast.alice),
        &[],
    )
    .await;
    let bad = app.get(&path, Some(&cast.alice)).await;
    assert_eq!(bad.json["success"], "false");
    assert_eq!(bad.json["id"], id.as_str());
    let messages: Vec<&str> = bad.json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains(&item) && m.contains("does not exist")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("disabled")),
        "{messages:?}"
    );
}

#[tokio::test]
async fn validate_reports_an_api_token_that_expired_or_lost_access() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.alice, "alice").await;
    let r = app
        .create_receiver(
            &cast.alice,
            &[
                ("name", "n"),
                ("itemId", &item),
                ("secret", SECRET),
                ("signatureHeaders", "x-sig"),
                ("apiToken", &cast.alice),
            ],
        )
        .await;
    let id = r.json["webhookReceiver"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.get(&format!("{RECEIVERS}/{id}/validate"), Some(&cast.alice))
            .await
            .json["success"],
        "true"
    );
    // Alice's tokens vanish, as when they expire and are swept.
    let store = crate::common::db::store(app.dir.path()).await;
    let far_future = hookbook::domain::time::Millis(i64::MAX);
    store.delete_expired_tokens(far_future).await.unwrap();
    let admin = app.token("admin").await;
    let bad = app
        .get(&format!("{RECEIVERS}/{id}/validate"), Some(&admin))
        .await;
    assert_eq!(bad.json["success"], "false", "{}", bad.json);
    assert!(bad.json["messages"][0]
        .as_str()
        .unwrap()
        .contains("apiToken"));
}

#[tokio::test]
async fn unknown_receivers_are_404_for_every_operation() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    for id in ["00000000-0000-4000-8000-000000000000", "not-a-uuid"] {
        let get = app
            .get(&format!("{RECEIVERS}/{id}"), Some(&cast.admin))
            .await;
        assert_eq!(
            (get.status, get.json["code"].as_i64()),
            (404, Some(404)),
            "{id}"
        );
        assert_eq!(
            app.get(&format!("{RECEIVERS}/{id}/validate"), Some(&cast.admin))
                .await
                .status,
            404
        );
        for op in ["update", "delete", "enable", "disable", "validate"] {
            let r = app
                .post_form(
                    &format!("{RECEIVERS}/{id}/{op}"),
                    Some(&cast.admin),
                    &[("name", "x")],
                )
                .await;
            assert_eq!(r.status, 404, "{op} {id}");
        }
    }
}

#[tokio::test]
async fn the_privilege_rules_hold_for_receivers() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let alices_item = app.add_item(&cast.alice, "alice").await;
    let alices = app.receiver_on(&cast.alice, &alices_item).await;
    let admins_item = app.add_item(&cast.admin, "admin").await;
    let admins = app.receiver_on(&cast.admin, &admins_item).await;

    // The administrator sees and manages everything.
    let all = app.get(RECEIVERS, Some(&cast.admin)).await;
    assert_eq!(all.json["webhookReceivers"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.get(&format!("{RECEIVERS}/{alices}"), Some(&cast.admin))
            .await
            .status,
        200
    );
    // An administrator may use a user's item.
    let r = app
        .create_receiver(
            &cast.admin,
            &[
                ("name", "a"),
                ("itemId", &alices_item),
                ("secret", SECRET),
                ("signatureHeaders", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, 200);

    // A user with both privileges sees only its own.
    let mine = app.get(RECEIVERS, Some(&cast.alice)).await;
    let ids: Vec<_> = mine.json["webhookReceivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, [alices.as_str()]);
    let bobs = app.get(RECEIVERS, Some(&cast.bob)).await;
    assert_eq!(bobs.json["webhookReceivers"], serde_json::json!([]));

    // Someone else's receiver is 403, whatever the operation.
    for token in [&cast.bob, &cast.alice] {
        let target = if token == &cast.bob { &alices } else { &admins };
        let r = app.get(&format!("{RECEIVERS}/{target}"), Some(token)).await;
        assert_eq!((r.status, r.json["code"].as_i64()), (403, Some(403)));
        for op in ["update", "delete", "enable", "disable", "validate"] {
            let r = app
                .post_form(&format!("{RECEIVERS}/{target}/{op}"), Some(token), &[])
                .await;
            assert_eq!(r.status, 403, "{op}");
        }
    }

    // A user without both privileges may do nothing here.
    assert_eq!(app.get(RECEIVERS, Some(&cast.carol)).await.status, 403);
    let r = app
        .create_receiver(
            &cast.carol,
            &[
                ("name", "c"),
                ("itemId", &alices_item),
                ("secret", SECRET),
                ("signatureHeaders", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        app.get(&format!("{RECEIVERS}/{alices}"), Some(&cast.carol))
            .await
            .status,
        403
    );
    assert_eq!(
        app.get("/notebooks/admin/notebooks", Some(&cast.carol))
            .await
            .status,
        200,
        "the directory root is browsable"
    );

    // Nothing was changed by the refusals.
    let still = app
        .get(&format!("{RECEIVERS}/{alices}"), Some(&cast.alice))
        .await;
    assert_eq!(still.json["disabled"], false);
}

#[tokio::test]
async fn a_receiver_survives_a_restart_with_its_secret_usable() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.admin, "admin").await;
    let id = app.receiver_on(&cast.admin, &item).await;
    let before = app
        .get(&format!("{RECEIVERS}/{id}"), Some(&cast.admin))
        .await
        .json;
    let dir = app.stop().await;
    let app = spawn_app_in(dir, &[]).await;
    let after = app
        .get(&format!("{RECEIVERS}/{id}"), Some(&cast.admin))
        .await;
    assert_eq!(after.status, 200);
    assert_eq!(after.json["secret"], SECRET);
    assert_eq!(after.json["id"], before["id"]);
    assert_eq!(after.json["name"], before["name"]);
}

#[tokio::test]
async fn secrets_and_api_tokens_are_encrypted_at_rest() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.admin, "admin").await;
    let r = app
        .create_receiver(
            &cast.admin,
            &[
                ("name", "n"),
                ("itemId", &item),
                ("secret", SECRET),
                ("signatureHeaders", "x"),
                ("apiToken", &cast.admin),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let dir = app.stop().await;
    let bytes = crate::common::db::everything_stored(dir.path()).await;
    assert!(bytes.len() > 1000, "the database files were read");
    for needle in [SECRET, &cast.admin] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
                && !bytes
                    .windows(needle.len() * 2)
                    .any(|w| w == hex::encode(needle).as_bytes()),
            "a secret or token is stored in the clear"
        );
    }
    assert!(
        bytes.windows(item.len()).any(|w| w == item.as_bytes()),
        "plain fields are found, so the search works"
    );
}
