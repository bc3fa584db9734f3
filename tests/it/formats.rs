//! `f=json|pjson|html` on every resource, HTML by default, and error
//! answers in each format.

use crate::common::{spawn_app, RECEIVERS};

/// Every resource that answers a GET with a token, for one set-up app.
async fn resources(app: &crate::common::TestApp) -> (String, Vec<String>) {
    let cast = app.cast().await;
    let item = app.add_item(&cast.admin, "admin").await;
    let id = app.receiver_on(&cast.admin, &item).await;
    let runtimes = "/notebooks/admin/notebooks/runtimes";
    let runtime = app
        .post_form(
            &format!("{runtimes}/register"),
            Some(&cast.admin),
            &[("name", "Formats")],
        )
        .await
        .json["id"]
        .as_str()
        .expect("a runtime id")
        .to_string();
    let paths = vec![
        "/notebooks/admin".to_string(),
        "/notebooks/admin/notebooks".to_string(),
        RECEIVERS.to_string(),
        format!("{RECEIVERS}/{id}"),
        format!("{RECEIVERS}/{id}/validate"),
        "/notebooks/sharing/rest".to_string(),
        "/notebooks/sharing/rest/generateToken".to_string(),
        "/notebooks/sharing/rest/content/users/admin".to_string(),
        format!("/notebooks/sharing/rest/content/items/{item}"),
        runtimes.to_string(),
        format!("{runtimes}/{runtime}"),
        format!("{runtimes}/{runtime}/manifest"),
    ];
    (cast.admin, paths)
}

#[tokio::test]
async fn every_resource_answers_json_pjson_and_html_with_html_by_default() {
    let app = spawn_app().await;
    let (token, paths) = resources(&app).await;
    for path in paths {
        let fetch = |f: Option<&'static str>| {
            let mut req = app.client.get(app.url(&path)).query(&[("token", &token)]);
            if let Some(f) = f {
                req = req.query(&[("f", f)]);
            }
            req.send()
        };
        let json = fetch(Some("json")).await.unwrap();
        assert_eq!(json.status(), 200, "{path}");
        assert!(json.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let compact = json.text().await.unwrap();
        let value: serde_json::Value = serde_json::from_str(&compact).unwrap();
        assert!(!compact.contains('\n'), "{path}: json is compact");

        let pjson = fetch(Some("pjson")).await.unwrap().text().await.unwrap();
        assert!(pjson.contains("\n  "), "{path}: pjson is indented");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&pjson).unwrap(),
            value
        );

        for f in [None, Some("html")] {
            let html = fetch(f).await.unwrap();
            assert_eq!(html.status(), 200);
            assert!(
                html.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html"),
                "{path} {f:?}"
            );
            let body = html.text().await.unwrap();
            assert!(body.starts_with("<!doctype html>"), "{path}");
        }
    }
}

#[tokio::test]
async fn pages_show_the_fields_and_a_form_per_operation() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.admin, "admin").await;
    let id = app.receiver_on(&cast.admin, &item).await;
    let page = app
        .client
        .get(app.url(&format!("{RECEIVERS}/{id}")))
        .query(&[("token", &cast.admin)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&item), "the item id is shown");
    assert!(page.contains("x-esrihook-signature"));
    for op in ["update", "validate"] {
        assert!(page.contains(&format!("{id}&#x2f;{op}")), "a form for {op}");
    }
    for op in ["Disable…", "Delete…"] {
        assert!(page.contains(op), "a button that asks before {op}");
    }
}

#[tokio::test]
async fn a_form_posted_from_a_page_leads_to_a_page() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.admin, "admin").await;
    let id = app.receiver_on(&cast.admin, &item).await;
    let r = app
        .client
        .post(app.url(&format!("{RECEIVERS}/{id}/disable")))
        .form(&[("token", cast.admin.as_str()), ("f", "html")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.url().path(),
        format!("{RECEIVERS}/{id}"),
        "redirected to the receiver's page, the token kept"
    );
    assert!(
        r.text().await.unwrap().contains("Enable"),
        "the page offers the opposite operation"
    );
}

#[tokio::test]
async fn html_escapes_what_users_typed() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.admin, "admin").await;
    let r = app
        .create_receiver(
            &cast.admin,
            &[
                ("name", "<script>alert(1)</script>"),
                ("itemId", &item),
                ("secret", crate::common::SECRET),
                ("signatureHeaders", "x"),
            ],
        )
        .await;
    let id = r.json["webhookReceiver"]["id"].as_str().unwrap();
    let body = app
        .client
        .get(app.url(&format!("{RECEIVERS}/{id}")))
        .query(&[("token", &cast.admin)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!body.contains("<script>alert(1)"));
    assert!(body.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
}

#[tokio::test]
async fn errors_come_in_the_format_asked_for() {
    let app = spawn_app().await;
    let pjson = app
        .client
        .get(app.url(RECEIVERS))
        .query(&[("f", "pjson")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        pjson.status(),
        200,
        "Esri's convention: the code is in the body"
    );
    let text = pjson.text().await.unwrap();
    assert!(text.contains("\n  "));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["code"], 499, "{v}");
    let html = app.client.get(app.url(RECEIVERS)).send().await.unwrap();
    assert_eq!(html.status(), 401);
    let body = html.text().await.unwrap();
    assert!(body.contains("Token Required."));
    assert!(
        body.contains("signin?next=%2Fnotebooks%2Fadmin%2Fnotebooks%2FwebhookReceivers"),
        "an HTML 401 offers a way to sign in and back: {body}"
    );
}

/// ArcGIS Enterprise answers a REST error asked for as JSON with HTTP 200
/// and the error in the body, and its clients (the ArcGIS API for Python
/// first) are written for that; pages and intake keep real statuses.
#[tokio::test]
async fn errors_asked_for_as_json_are_http_200_with_the_code_in_the_body_as_esri_answers() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let unknown = "0123456789abcdef0123456789abcdef";
    let send = |request: reqwest::RequestBuilder| async move {
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str::<serde_json::Value>(&text).unwrap_or(text.into()),
        )
    };
    // The admin API, by GET and by POST (f in the body), and pjson.
    for f in ["json", "pjson"] {
        let (status, v) = send(
            app.client
                .get(app.url(&format!("{RECEIVERS}/{unknown}")))
                .query(&[("f", f), ("token", &token)]),
        )
        .await;
        assert_eq!(
            (status, v["status"].as_str(), v["code"].as_u64()),
            (200, Some("error"), Some(404)),
            "{v}"
        );
        assert!(
            v["messages"][0]
                .as_str()
                .unwrap()
                .contains("'01234567-89ab-cdef-0123-456789abcdef' does not exist"),
            "the refusal names what was wrong: {v}"
        );
    }
    let (status, v) = send(
        app.client
            .post(app.url(&format!("{RECEIVERS}/create")))
            .form(&[("f", "json"), ("token", token.as_str()), ("name", "x")]),
    )
    .await;
    assert_eq!((status, v["code"].as_u64()), (200, Some(400)), "{v}");
    // The sharing API, in its own shape.
    let (status, v) = send(
        app.client
            .get(app.url(&format!("/notebooks/sharing/rest/content/items/{unknown}")))
            .query(&[("f", "json"), ("token", &token)]),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_u64()),
        (200, Some(404)),
        "{v}"
    );
    // An invalid token, and no token.
    let (status, v) = send(
        app.client
            .get(app.url(RECEIVERS))
            .query(&[("f", "json"), ("token", "not-a-token")]),
    )
    .await;
    assert_eq!((status, v["code"].as_u64()), (200, Some(498)), "{v}");
    // Paths no route takes, under each API: the shape of the API.
    let (status, v) = send(
        app.client
            .get(app.url("/notebooks/sharing/rest/nothing-here"))
            .query(&[("f", "json")]),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_u64()),
        (200, Some(404)),
        "{v}"
    );
    let (status, v) = send(
        app.client
            .put(app.url(RECEIVERS))
            .query(&[("f", "pjson"), ("token", &token)]),
    )
    .await;
    assert_eq!((status, v["code"].as_u64()), (200, Some(405)), "{v}");
    // A page keeps the real status.
    let (status, _) = send(
        app.client
            .get(app.url(&format!("{RECEIVERS}/{unknown}")))
            .query(&[("f", "html"), ("token", &token)]),
    )
    .await;
    assert_eq!(status, 404);
    // Intake keeps real statuses whatever f says: senders read them.
    let hook = app.url(&format!("/notebooks/rest/events/webhooks/{unknown}"));
    let (status, v) = send(app.client.post(&hook).query(&[("f", "json")]).body("{}")).await;
    assert_eq!((status, v["code"].as_u64()), (404, Some(404)), "{v}");
    let item = app.add_item(&token, "admin").await;
    let receiver = app.receiver_on(&token, &item).await;
    let hook = app.url(&format!("/notebooks/rest/events/webhooks/{receiver}"));
    let (status, v) = send(app.client.post(&hook).query(&[("f", "json")]).body("{}")).await;
    assert_eq!((status, v["code"].as_u64()), (401, Some(401)), "{v}");
}

#[tokio::test]
async fn an_unknown_format_is_refused_naming_f() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url(RECEIVERS))
        .query(&[("f", "xml")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["messages"][0].as_str().unwrap().contains("'f'"));
}

#[tokio::test]
async fn healthz_answers_200() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn an_unknown_path_is_404_in_the_admin_error_shape_without_f() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/notebooks/admin/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], 404);
    assert_eq!(v["status"], "error");
}
