//! The portal content the ArcGIS API for Python uses, over raw HTTP: item
//! search (syntax, paging, sorting, who sees what), user search, tags,
//! the notebook as JSON, and uploads in parts (orders, bounds, failures).
//! Errors are read from the body (`error.code`, `error.message`).

use crate::common::{spawn_app, TestApp, NOTEBOOK};
use hookbook::domain::notebook::MAX_NOTEBOOK_BYTES;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

const SHARING: &str = "/notebooks/sharing/rest";

/// Adds NOTEBOOK as `title` with `tags` to `owner`'s content.
async fn add(app: &TestApp, token: &str, owner: &str, title: &str, tags: &str) -> String {
    let r = app
        .post_form(
            &format!("{SHARING}/content/users/{owner}/addItem"),
            Some(token),
            &[
                ("type", "Notebook"),
                ("title", title),
                ("tags", tags),
                ("text", NOTEBOOK),
            ],
        )
        .await;
    assert_eq!(r.json["success"], true, "{}", r.json);
    r.json["id"].as_str().unwrap().to_string()
}

async fn search(app: &TestApp, token: &str, fields: &[(&str, &str)]) -> Value {
    app.post_form(&format!("{SHARING}/search"), Some(token), fields)
        .await
        .json
}

fn titles(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap_or_else(|| panic!("results in {answer}"))
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_string())
        .collect()
}

/// The error an answer carries: its code and message.
fn error(answer: &Value) -> (i64, String) {
    let code = answer["error"]["code"].as_i64().unwrap_or(0);
    let message = answer["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    (code, message)
}

#[tokio::test]
async fn search_understands_the_syntax_notebooks_use() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    add(&app, &cast.alice, "alice", "Daily report", "ops, nightly").await;
    add(&app, &cast.alice, "alice", "Weekly summary", "ops").await;
    add(&app, &cast.bob, "bob", "Daily digest", "").await;
    for (q, want) in [
        ("*", 3),
        ("", 3),
        ("owner:alice", 2),
        ("title:daily", 2),
        ("daily", 2),
        ("title:\"daily report\"", 1),
        ("title:dai*", 2),
        ("tags:nightly", 1),
        ("tags:OPS", 2),
        ("type:Notebook AND owner:bob", 1),
        ("type:\"Web Map\"", 0),
        ("daily -owner:bob", 1),
        ("daily NOT owner:bob", 1),
        ("(owner:alice OR owner:bob) AND title:daily", 2),
        ("owner:bob OR title:weekly", 2),
        // As the ArcGIS API for Python sends gis.content.search("title:daily", item_type="Notebook").
        (
            "title:daily AND  (type:\"notebook\") accountid:0123456789ABCDEF",
            2,
        ),
    ] {
        let answer = search(&app, &cast.admin, &[("q", q)]).await;
        assert_eq!(answer["total"], want, "{q}: {answer}");
        assert_eq!(answer["query"], q);
    }
    let one = search(&app, &cast.admin, &[("q", "tags:nightly")]).await;
    let item = &one["results"][0];
    for key in [
        "id",
        "owner",
        "title",
        "type",
        "typeKeywords",
        "tags",
        "created",
        "modified",
        "size",
        "name",
        "access",
        "url",
    ] {
        assert!(item.get(key).is_some(), "{key} in {item}");
    }
    assert_eq!(item["tags"], serde_json::json!(["ops", "nightly"]));
    assert_eq!(item["name"], "Daily report.ipynb");
    assert_eq!(item["url"], Value::Null);
    // GET answers the same.
    let got = app
        .get(
            &format!("{SHARING}/search?q=owner%3Abob"),
            Some(&cast.admin),
        )
        .await;
    assert_eq!(titles(&got.json), ["Daily digest"]);
}

#[tokio::test]
async fn bad_queries_are_refused_naming_what_is_wrong() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let longest = "a".repeat(2048);
    assert_eq!(
        search(&app, &cast.admin, &[("q", &longest)]).await["total"],
        0
    );
    let over = "a".repeat(2049);
    for (q, want) in [
        ("colour:red", "colour"),
        ("title:\"open", "not closed"),
        ("(title:a", "not closed"),
        ("title:a AND", "ends where"),
        (over.as_str(), "longer than 2048"),
    ] {
        let (code, message) = error(&search(&app, &cast.admin, &[("q", q)]).await);
        assert_eq!(code, 400, "{q}");
        assert!(
            message.contains("'q'") && message.contains(want),
            "{q}: {message}"
        );
    }
    for (field, value) in [
        ("num", "101"),
        ("num", "0"),
        ("start", "0"),
        ("sortField", "size"),
        ("sortOrder", "up"),
    ] {
        let (code, message) = error(&search(&app, &cast.admin, &[(field, value)]).await);
        assert_eq!(code, 400, "{field}={value}");
        assert!(message.contains(&format!("'{field}'")), "{message}");
    }
}

#[tokio::test]
async fn search_pages_and_sorts_as_arcgis_answers() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    for title in ["c", "a", "e", "b", "d"] {
        add(&app, &cast.alice, "alice", title, "").await;
    }
    let first = search(&app, &cast.alice, &[("num", "2"), ("sortField", "title")]).await;
    assert_eq!(titles(&first), ["a", "b"]);
    assert_eq!(
        (
            &first["total"],
            &first["start"],
            &first["num"],
            &first["nextStart"]
        ),
        (
            &Value::from(5),
            &Value::from(1),
            &Value::from(2),
            &Value::from(3)
        )
    );
    let last = search(
        &app,
        &cast.alice,
        &[("num", "2"), ("start", "5"), ("sortField", "title")],
    )
    .await;
    assert_eq!(titles(&last), ["e"]);
    assert_eq!(last["nextStart"], -1);
    assert_eq!(last["num"], 2, "num is the page size asked for");
    let beyond = search(&app, &cast.alice, &[("start", "9")]).await;
    assert_eq!(
        (titles(&beyond).len(), &beyond["nextStart"]),
        (0, &Value::from(-1))
    );
    let desc = search(
        &app,
        &cast.alice,
        &[("sortField", "title"), ("sortOrder", "desc")],
    )
    .await;
    assert_eq!(titles(&desc), ["e", "d", "c", "b", "a"]);
    let default = search(
        &app,
        &cast.alice,
        &[("sortField", "avgRating"), ("sortOrder", "desc")],
    )
    .await;
    let order: Vec<(i64, String)> = default["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["created"].as_i64().unwrap(),
                r["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut oldest_first = order.clone();
    oldest_first.sort();
    assert_eq!(order, oldest_first, "oldest first, then by id");
    assert_eq!(default["num"], 10, "ten by default");
    let widest = search(&app, &cast.alice, &[("num", "100")]).await;
    assert_eq!(widest["num"], 100);
}

#[tokio::test]
async fn search_shows_only_what_the_caller_may_see() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    add(&app, &cast.alice, "alice", "hers", "").await;
    add(&app, &cast.bob, "bob", "his", "").await;
    assert_eq!(titles(&search(&app, &cast.alice, &[]).await), ["hers"]);
    assert_eq!(
        titles(&search(&app, &cast.bob, &[("q", "owner:alice")]).await).len(),
        0
    );
    assert_eq!(search(&app, &cast.carol, &[]).await["total"], 0);
    assert_eq!(search(&app, &cast.admin, &[]).await["total"], 2);
    let anonymous = app.post_form(&format!("{SHARING}/search"), None, &[]).await;
    assert_eq!(error(&anonymous.json).0, 499);
}

#[tokio::test]
async fn users_are_searched_by_an_administrator_and_others_find_themselves() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let users = format!("{SHARING}/community/users");
    let all = app
        .post_form(&users, Some(&cast.admin), &[("q", "")])
        .await
        .json;
    assert_eq!(all["total"], 4, "{all}");
    assert_eq!(all["nextStart"], -1);
    let first = &all["results"][0];
    assert_eq!(first["username"], "admin");
    for key in ["fullName", "role", "privileges", "created"] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    let alice = app
        .post_form(
            &users,
            Some(&cast.admin),
            &[("q", "username:alice accountid:0123456789ABCDEF")],
        )
        .await
        .json;
    assert_eq!(alice["total"], 1);
    assert_eq!(alice["results"][0]["role"], "org_user");
    let admins = app
        .post_form(&users, Some(&cast.admin), &[("q", "role:org_admin")])
        .await
        .json;
    assert_eq!(admins["results"][0]["username"], "admin");
    let paged = app
        .post_form(&users, Some(&cast.admin), &[("num", "3")])
        .await
        .json;
    assert_eq!(
        (&paged["num"], &paged["nextStart"]),
        (&Value::from(3), &Value::from(4))
    );
    let own = app.post_form(&users, Some(&cast.carol), &[]).await.json;
    assert_eq!(own["total"], 1);
    assert_eq!(own["results"][0]["username"], "carol");
    let other = app
        .post_form(&users, Some(&cast.alice), &[("q", "username:bob")])
        .await
        .json;
    assert_eq!(other["total"], 0);
    let bad = app
        .post_form(&users, Some(&cast.admin), &[("q", "title:x")])
        .await
        .json;
    assert_eq!(error(&bad).0, 400);
    let org = app
        .post_form(
            &format!("{SHARING}/portals/self/users"),
            Some(&cast.admin),
            &[],
        )
        .await
        .json;
    assert_eq!(org["total"], 4);
    assert_eq!(org["users"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn tags_are_stored_updated_and_cleared_only_when_asked() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let id = add(&app, &cast.alice, "alice", "Tagged", "one").await;
    let update = format!("{SHARING}/content/users/alice/items/{id}/update");
    let describe = format!("{SHARING}/content/items/{id}");
    let r = app
        .post_form(
            &update,
            Some(&cast.alice),
            &[("tags", "a, b,A"), ("title", "Retitled")],
        )
        .await;
    assert_eq!(r.json["success"], true, "{}", r.json);
    let d = app.get(&describe, Some(&cast.alice)).await.json;
    assert_eq!(d["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(d["title"], "Retitled");
    app.post_form(&update, Some(&cast.alice), &[("tags", "")])
        .await;
    let d = app.get(&describe, Some(&cast.alice)).await.json;
    assert_eq!(
        d["tags"],
        serde_json::json!(["a", "b"]),
        "an empty field changes nothing"
    );
    app.post_form(
        &update,
        Some(&cast.alice),
        &[("tags", ""), ("clearEmptyFields", "true")],
    )
    .await;
    let d = app.get(&describe, Some(&cast.alice)).await.json;
    assert_eq!(d["tags"], serde_json::json!([]));
    let too_many: Vec<String> = (0..129).map(|i| format!("t{i}")).collect();
    let r = app
        .post_form(&update, Some(&cast.alice), &[("tags", &too_many.join(","))])
        .await;
    let (code, message) = error(&r.json);
    assert_eq!(code, 400);
    assert!(
        message.contains("'tags'") && message.contains("128"),
        "{message}"
    );
    let r = app
        .post_form(
            &update,
            Some(&cast.alice),
            &[("tags", &too_many[..128].join(","))],
        )
        .await;
    assert_eq!(r.json["success"], true, "128 tags are accepted");
    // A user's content, as the package reads it.
    let list = app
        .get(&format!("{SHARING}/content/users/alice"), Some(&cast.alice))
        .await
        .json;
    assert_eq!(list["folders"], serde_json::json!([]));
    assert_eq!(list["items"][0]["id"], id.as_str());
}

#[tokio::test]
async fn the_notebook_is_json_for_f_json_and_a_file_otherwise() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let id = add(&app, &cast.alice, "alice", "Data", "").await;
    let url = app.url(&format!("{SHARING}/content/items/{id}/data"));
    let json = app
        .client
        .get(&url)
        .query(&[("f", "json"), ("token", &cast.alice)])
        .send()
        .await
        .unwrap();
    assert!(json.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert!(json.headers().get("content-disposition").is_none());
    let body: Value = json.json().await.unwrap();
    assert_eq!(body["nbformat"], 4);
    let file = app
        .client
        .get(&url)
        .query(&[("token", &cast.alice)])
        .send()
        .await
        .unwrap();
    let disposition = file.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.contains("Data.ipynb"), "{disposition}");
    assert_eq!(file.text().await.unwrap(), NOTEBOOK);
}

/// Starts an upload in parts in `owner`'s content; its id, or the answer.
async fn start(app: &TestApp, token: &str, owner: &str, kind: &str) -> Result<String, Value> {
    let r = app
        .post_form(
            &format!("{SHARING}/content/users/{owner}/addItem"),
            Some(token),
            &[
                ("type", kind),
                ("title", "In parts"),
                ("tags", "parts"),
                ("multipart", "true"),
                ("fileName", "parts.ipynb"),
            ],
        )
        .await;
    match r.json["id"].as_str() {
        Some(id) => Ok(id.to_string()),
        None => Err(r.json),
    }
}

async fn part(
    app: &TestApp,
    token: &str,
    owner: &str,
    id: &str,
    num: &str,
    bytes: Vec<u8>,
) -> Value {
    let form = Form::new()
        .text("f", "json")
        .text("token", token.to_string())
        .part("file", Part::bytes(bytes).file_name("split.split"));
    let r = app
        .client
        .post(app.url(&format!(
            "{SHARING}/content/users/{owner}/items/{id}/addPart"
        )))
        .query(&[("partNum", num)])
        .multipart(form)
        .send()
        .await
        .unwrap();
    crate::common::into_reply(r).await.json
}

async fn commit(
    app: &TestApp,
    token: &str,
    owner: &str,
    id: &str,
    fields: &[(&str, &str)],
) -> Value {
    app.post_form(
        &format!("{SHARING}/content/users/{owner}/items/{id}/commit"),
        Some(token),
        fields,
    )
    .await
    .json
}

async fn status(app: &TestApp, token: &str, owner: &str, id: &str) -> Value {
    app.get(
        &format!("{SHARING}/content/users/{owner}/items/{id}/status"),
        Some(token),
    )
    .await
    .json
}

#[tokio::test]
async fn parts_sent_at_once_in_any_order_become_the_item_on_commit() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let id = start(&app, &cast.alice, "alice", "Notebook").await.unwrap();
    assert_eq!(
        status(&app, &cast.alice, "alice", &id).await["status"],
        "partial"
    );
    assert_eq!(
        search(&app, &cast.alice, &[]).await["total"],
        0,
        "pending is not an item"
    );
    let bytes = NOTEBOOK.as_bytes();
    let third = bytes.len() / 3;
    let chunks = [
        &bytes[..third],
        &bytes[third..2 * third],
        &bytes[2 * third..],
    ];
    let sent = futures_util::future::join_all([3usize, 1, 2].map(|n| {
        let (app, token, id) = (&app, &cast.alice, &id);
        let chunk = chunks[n - 1].to_vec();
        async move { part(app, token, "alice", id, &n.to_string(), chunk).await }
    }))
    .await;
    for answer in sent {
        assert_eq!(answer["success"], true, "{answer}");
    }
    let done = commit(
        &app,
        &cast.alice,
        "alice",
        &id,
        &[("type", "Notebook"), ("async", "true")],
    )
    .await;
    assert_eq!(done, serde_json::json!({"success": true, "id": id}));
    let s = status(&app, &cast.alice, "alice", &id).await;
    assert_eq!(
        (&s["status"], &s["itemId"]),
        (&Value::from("completed"), &Value::from(id.as_str()))
    );
    let d = app
        .get(&format!("{SHARING}/content/items/{id}"), Some(&cast.alice))
        .await
        .json;
    assert_eq!(d["title"], "In parts");
    assert_eq!(d["tags"], serde_json::json!(["parts"]));
    assert_eq!(d["size"], NOTEBOOK.len());
    let data = app
        .client
        .get(app.url(&format!("{SHARING}/content/items/{id}/data")))
        .query(&[("token", &cast.alice)])
        .send()
        .await
        .unwrap();
    assert_eq!(data.text().await.unwrap(), NOTEBOOK);
    let again = commit(&app, &cast.alice, "alice", &id, &[]).await;
    assert_eq!(
        again,
        serde_json::json!({"success": true, "id": id}),
        "a repeated commit"
    );
    // A committed upload takes no more parts.
    let late = part(&app, &cast.alice, "alice", &id, "4", b"x".to_vec()).await;
    assert_eq!(error(&late).0, 404, "{late}");
}

#[tokio::test]
async fn uploads_hold_their_bounds_at_the_bound() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let id = start(&app, &cast.alice, "alice", "Notebook").await.unwrap();
    for bad in ["0", "101", "x"] {
        let (code, message) =
            error(&part(&app, &cast.alice, "alice", &id, bad, b"{".to_vec()).await);
        assert_eq!(code, 400, "{bad}");
        assert!(
            message.contains("'partNum'") && message.contains("1 to 100"),
            "{message}"
        );
    }
    let last = part(&app, &cast.alice, "alice", &id, "100", b"x".to_vec()).await;
    assert_eq!(last["success"], true, "part 100 is taken: {last}");
    let over = part(
        &app,
        &cast.alice,
        "alice",
        &id,
        "1",
        vec![b' '; MAX_NOTEBOOK_BYTES + 1],
    )
    .await;
    let (code, message) = error(&over);
    assert_eq!(code, 400);
    assert!(message.contains("'file'"), "{message}");
    // Together: the parts may hold the notebook limit and not a byte more.
    let full = part(
        &app,
        &cast.alice,
        "alice",
        &id,
        "1",
        vec![b' '; MAX_NOTEBOOK_BYTES - 1],
    )
    .await;
    assert_eq!(full["success"], true, "{full}");
    let one_more = part(&app, &cast.alice, "alice", &id, "2", b"y".to_vec()).await;
    let (code, message) = error(&one_more);
    assert_eq!(code, 400);
    assert!(message.contains("would make the upload"), "{message}");
    // One part may be the whole notebook limit.
    let whole = start(&app, &cast.alice, "alice", "Notebook").await.unwrap();
    let one = part(
        &app,
        &cast.alice,
        "alice",
        &whole,
        "1",
        vec![b' '; MAX_NOTEBOOK_BYTES],
    )
    .await;
    assert_eq!(one["success"], true, "{one}");
    // Replacing a part counts the new part, not both.
    let replaced = part(&app, &cast.alice, "alice", &id, "100", b"z".to_vec()).await;
    assert_eq!(replaced["success"], true, "{replaced}");
}

#[tokio::test]
async fn a_commit_that_makes_no_notebook_fails_and_says_why() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    // A gap: parts 1 and 3.
    let id = start(&app, &cast.alice, "alice", "Notebook").await.unwrap();
    part(&app, &cast.alice, "alice", &id, "1", b"{".to_vec()).await;
    part(&app, &cast.alice, "alice", &id, "3", b"}".to_vec()).await;
    let (code, message) = error(&commit(&app, &cast.alice, "alice", &id, &[]).await);
    assert_eq!(code, 400);
    assert!(
        message.contains("'file'") && message.contains("missing part 2"),
        "{message}"
    );
    let s = status(&app, &cast.alice, "alice", &id).await;
    assert_eq!(s["status"], "failed");
    assert!(
        s["statusMessage"].as_str().unwrap().contains("part 2"),
        "{s}"
    );
    let again = commit(&app, &cast.alice, "alice", &id, &[]).await;
    assert!(error(&again).1.contains("commit failed"), "{again}");
    // Not a notebook, committed asynchronously: accepted, then failed.
    let id = start(&app, &cast.alice, "alice", "Notebook").await.unwrap();
    part(&app, &cast.alice, "alice", &id, "1", b"[]".to_vec()).await;
    let answer = commit(&app, &cast.alice, "alice", &id, &[("async", "true")]).await;
    assert_eq!(answer["success"], true);
    let s = status(&app, &cast.alice, "alice", &id).await;
    assert_eq!(s["status"], "failed");
    assert!(
        s["statusMessage"].as_str().unwrap().contains("nbformat"),
        "{s}"
    );
    // No parts at all.
    let id = start(&app, &cast.alice, "alice", "Notebook").await.unwrap();
    let (_, message) = error(&commit(&app, &cast.alice, "alice", &id, &[]).await);
    assert!(message.contains("no parts"), "{message}");
}

#[tokio::test]
async fn uploads_are_refused_for_other_types_other_users_and_past_ten_pending() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let (code, message) = error(
        &start(&app, &cast.alice, "alice", "Web Map")
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 400);
    assert!(
        message.contains("'type'") && message.contains("Web Map"),
        "{message}"
    );
    let id = start(&app, &cast.alice, "alice", "Notebook").await.unwrap();
    let theirs = part(&app, &cast.bob, "alice", &id, "1", b"{".to_vec()).await;
    assert_eq!(error(&theirs).0, 403);
    let elsewhere = part(&app, &cast.bob, "bob", &id, "1", b"{".to_vec()).await;
    assert_eq!(error(&elsewhere).0, 404, "not in bob's content");
    assert_eq!(error(&status(&app, &cast.bob, "alice", &id).await).0, 403);
    for _ in 1..10 {
        start(&app, &cast.alice, "alice", "Notebook").await.unwrap();
    }
    let (code, message) = error(
        &start(&app, &cast.alice, "alice", "Notebook")
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 400);
    assert!(
        message.contains("'multipart'") && message.contains("10"),
        "{message}"
    );
    // Another owner's are counted apart.
    start(&app, &cast.bob, "bob", "Notebook").await.unwrap();
}
