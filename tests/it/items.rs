//! Notebook items: add, describe, data, update, delete and list.

use crate::common::{spawn_app, NOTEBOOK};
use reqwest::multipart::{Form, Part};

const CONTENT: &str = "/notebooks/sharing/rest/content";

#[tokio::test]
async fn an_item_added_as_text_can_be_described_downloaded_and_listed() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let id = app.add_item(&cast.alice, "alice").await;
    assert_eq!(id.len(), 32);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));

    let d = app
        .get(&format!("{CONTENT}/items/{id}"), Some(&cast.alice))
        .await;
    assert_eq!(d.status, 200);
    let mut keys: Vec<_> = d.json.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "access",
            "created",
            "description",
            "id",
            "modified",
            "name",
            "orgId",
            "owner",
            "ownerFolder",
            "size",
            "snippet",
            "tags",
            "thumbnail",
            "title",
            "type",
            "typeKeywords",
            "url"
        ]
    );
    assert_eq!(d.json["type"], "Notebook");
    assert_eq!(d.json["owner"], "alice");
    assert_eq!(d.json["size"], NOTEBOOK.len());

    let data = app
        .client
        .get(app.url(&format!("{CONTENT}/items/{id}/data")))
        .query(&[("token", &cast.alice)])
        .send()
        .await
        .unwrap();
    assert_eq!(data.status(), 200);
    assert_eq!(data.text().await.unwrap(), NOTEBOOK);

    let list = app
        .get(&format!("{CONTENT}/users/alice"), Some(&cast.alice))
        .await;
    assert_eq!(list.json["username"], "alice");
    assert_eq!(list.json["items"][0]["id"], id.as_str());
}

#[tokio::test]
async fn an_item_can_be_uploaded_as_a_multipart_file() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let form = Form::new()
        .text("f", "json")
        .text("type", "Notebook")
        .text("token", cast.alice.clone())
        .part(
            "file",
            Part::bytes(NOTEBOOK.as_bytes().to_vec()).file_name("daily report.ipynb"),
        );
    let r = app
        .client
        .post(app.url(&format!("{CONTENT}/users/alice/addItem")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let r = crate::common::into_reply(r).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["success"], true);
    assert_eq!(r.json["folder"], "");
    let id = r.json["id"].as_str().unwrap();
    let d = app
        .get(&format!("{CONTENT}/items/{id}"), Some(&cast.alice))
        .await;
    assert_eq!(
        d.json["title"], "daily report",
        "the title defaults to the file name"
    );
}

#[tokio::test]
async fn files_that_are_not_v4_notebooks_are_refused_with_a_reason() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let path = format!("{CONTENT}/users/alice/addItem");
    for (text, want) in [
        ("{not json", "text"),
        (
            r#"{"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "metadata": {}}"#,
            "v4",
        ),
        (
            r#"{"cells": "x", "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#,
            "text",
        ),
    ] {
        let r = app
            .post_form(&path, Some(&cast.alice), &[("title", "t"), ("text", text)])
            .await;
        assert_eq!(r.status, 400, "{text}");
        let message = r.json["error"]["message"].as_str().unwrap();
        assert!(message.contains(want), "{message}");
    }
    let none = app
        .post_form(&path, Some(&cast.alice), &[("title", "t")])
        .await;
    assert_eq!(none.status, 400);
    assert!(none.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("'file'"));
    let wrong_type = app
        .post_form(
            &path,
            Some(&cast.alice),
            &[("title", "t"), ("type", "Web Map"), ("text", NOTEBOOK)],
        )
        .await;
    assert_eq!(wrong_type.status, 400);
    assert!(wrong_type.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("'type'"));
    let no_title = app
        .post_form(&path, Some(&cast.alice), &[("text", NOTEBOOK)])
        .await;
    assert_eq!(no_title.status, 400);
    assert!(no_title.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("'title'"));
}

#[tokio::test]
async fn an_item_can_be_updated_and_deleted() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let id = app.add_item(&cast.alice, "alice").await;
    let other = NOTEBOOK.replace("print(x)", "print(x * 2)");
    let r = app
        .post_form(
            &format!("{CONTENT}/users/alice/items/{id}/update"),
            Some(&cast.alice),
            &[("title", "Renamed"), ("text", &other)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json, serde_json::json!({"success": true, "id": id}));
    let d = app
        .get(&format!("{CONTENT}/items/{id}"), Some(&cast.alice))
        .await;
    assert_eq!(d.json["title"], "Renamed");
    assert_eq!(d.json["size"], other.len());
    assert!(d.json["modified"].as_i64() >= d.json["created"].as_i64());

    let bad = app
        .post_form(
            &format!("{CONTENT}/users/alice/items/{id}/update"),
            Some(&cast.alice),
            &[("text", "[]")],
        )
        .await;
    assert_eq!(bad.status, 400);

    let del = app
        .post_form(
            &format!("{CONTENT}/users/alice/items/{id}/delete"),
            Some(&cast.alice),
            &[],
        )
        .await;
    assert_eq!(del.json, serde_json::json!({"success": true, "itemId": id}));
    let gone = app
        .get(&format!("{CONTENT}/items/{id}"), Some(&cast.alice))
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json["error"]["code"], 404);
}

#[tokio::test]
async fn items_follow_the_privilege_rules() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let id = app.add_item(&cast.alice, "alice").await;
    let item = format!("{CONTENT}/items/{id}");
    assert_eq!(app.get(&item, Some(&cast.admin)).await.status, 200);
    assert_eq!(app.get(&item, Some(&cast.bob)).await.status, 403);
    assert_eq!(app.get(&item, Some(&cast.carol)).await.status, 403);
    assert_eq!(app.get(&item, None).await.status, 499);
    assert_eq!(
        app.get(&format!("{CONTENT}/users/alice"), Some(&cast.bob))
            .await
            .status,
        403
    );
    let r = app
        .post_form(
            &format!("{CONTENT}/users/alice/addItem"),
            Some(&cast.bob),
            &[("title", "t"), ("text", NOTEBOOK)],
        )
        .await;
    assert_eq!(
        (r.status, r.json["error"]["code"].as_i64()),
        (403, Some(403))
    );
    let r = app
        .post_form(
            &format!("{CONTENT}/users/carol/addItem"),
            Some(&cast.carol),
            &[("title", "t"), ("text", NOTEBOOK)],
        )
        .await;
    assert_eq!(
        r.status, 403,
        "a user without both privileges may not add items"
    );
    let r = app
        .post_form(
            &format!("{CONTENT}/users/alice/items/{id}/delete"),
            Some(&cast.bob),
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    // An administrator may add to a user's content, but not to a user who does not exist.
    let r = app
        .post_form(
            &format!("{CONTENT}/users/alice/addItem"),
            Some(&cast.admin),
            &[("title", "t"), ("text", NOTEBOOK)],
        )
        .await;
    assert_eq!(r.status, 200);
    let r = app
        .post_form(
            &format!("{CONTENT}/users/nobody/addItem"),
            Some(&cast.admin),
            &[("title", "t"), ("text", NOTEBOOK)],
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn unknown_and_malformed_item_ids_are_404() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    for id in ["0123456789abcdef0123456789abcdef", "not-an-id"] {
        let r = app
            .get(&format!("{CONTENT}/items/{id}"), Some(&cast.admin))
            .await;
        assert_eq!(r.status, 404, "{id}");
        assert!(r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not exist"));
    }
}
