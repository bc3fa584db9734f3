//! The authorization matrix: every route of the admin and sharing APIs
//! against seven callers (anonymous, an expired token, a user without the
//! privileges, a user with them on someone else's resource, the owner, an
//! administrator, and an administrator whose token is in the URL, which a
//! POST does not accept), checking the status of each: the code in the body
//! of an error (which comes with HTTP 200, as the ArcGIS APIs answer),
//! else the HTTP status. Routes that destroy
//! get a fresh resource for each caller who may destroy it.

use crate::common::{spawn_app, TestApp, NOTEBOOK, SECRET};
use hookbook::domain::time::Millis;
use hookbook::domain::user::Username;
use hookbook::security::token::Token;
use hookbook::store::TokenRecord;

const CALLERS: [&str; 7] = [
    "anonymous",
    "expired",
    "carol",
    "bob",
    "alice",
    "admin",
    "admin, token in the URL",
];

/// The last column: an administrator's token in the query string works
/// as the administrator's on GET, and is no credential on POST.
fn expected_of(method: &str, row: &[u16; 6], caller: usize) -> u16 {
    match caller {
        6 if method == "GET" => row[5],
        6 => 499,
        i => row[i],
    }
}

/// A route, its form fields, and the status each caller should get.
type Row<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, [u16; 6]);

struct World {
    item: String,
    receiver: String,
    job: String,
}

/// Alice's item, receiver and (waiting) job.
async fn alices(app: &TestApp, alice: &str) -> World {
    let item = app.add_item(alice, "alice").await;
    let receiver = app.receiver_on(alice, &item).await;
    let r = app
        .post_form(
            "/notebooks/admin/notebooks/executeNotebook",
            Some(alice),
            &[("itemId", &item)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    World {
        item,
        receiver,
        job: r.json["jobId"].as_str().unwrap().to_string(),
    }
}

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    fields: &[(&str, &str)],
) -> u16 {
    call_as(app, method, path, token, false, fields).await
}

async fn call_as(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    in_url: bool,
    fields: &[(&str, &str)],
) -> u16 {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("f", "json"));
    if let (Some(t), false) = (token, in_url) {
        form.push(("token", t));
    }
    let url_token: Vec<(&str, &str)> = token
        .filter(|_| in_url)
        .map(|t| ("token", t))
        .into_iter()
        .collect();
    let req = if method == "GET" {
        client.get(app.url(path)).query(&form).query(&url_token)
    } else {
        client.post(app.url(path)).query(&url_token).form(&form)
    };
    crate::common::into_reply(req.send().await.unwrap())
        .await
        .status
}

#[tokio::test]
async fn every_route_answers_each_kind_of_caller_as_it_should() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    // A token of alice's that expired a minute ago.
    let store = crate::common::db::store(app.dir.path()).await;
    let expired = Token::generate();
    store
        .add_token(&TokenRecord {
            hash: expired.hash(),
            username: Username::parse("alice").unwrap(),
            created: Millis(Millis::now().0 - 120_000),
            expires: Millis(Millis::now().0 - 60_000),
        })
        .await
        .unwrap();
    let tokens: [Option<&str>; 7] = [
        None,
        Some(expired.expose()),
        Some(&cast.carol),
        Some(&cast.bob),
        Some(&cast.alice),
        Some(&cast.admin),
        Some(&cast.admin),
    ];
    let w = alices(&app, &cast.alice).await;
    let (rid, iid, jid) = (w.receiver.as_str(), w.item.as_str(), w.job.as_str());
    let recv = format!("/notebooks/admin/notebooks/webhookReceivers/{rid}");
    let job = format!("/notebooks/admin/notebooks/jobs/{jid}");
    let item = format!("/notebooks/sharing/rest/content/items/{iid}");
    let own = format!("/notebooks/sharing/rest/content/users/alice/items/{iid}");
    let create_fields = [
        ("name", "another"),
        ("itemId", iid),
        ("secret", SECRET),
        ("signatureHeaders", "x-esrihook-signature"),
    ];
    // (method, path, fields, [anonymous, expired, carol, bob, alice, admin])
    let rows: Vec<Row> = vec![
        (
            "GET",
            "/notebooks/admin".into(),
            vec![],
            [499, 498, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/notebooks/admin/notebooks".into(),
            vec![],
            [499, 498, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/notebooks/admin/notebooks/webhookReceivers".into(),
            vec![],
            [499, 498, 403, 200, 200, 200],
        ),
        // Someone else's item is a bad `itemId` (a 400 naming it, as the
        // contract's receiver rules say), not a forbidden route.
        (
            "POST",
            "/notebooks/admin/notebooks/webhookReceivers/create".into(),
            create_fields.to_vec(),
            [499, 498, 403, 400, 200, 200],
        ),
        ("GET", recv.clone(), vec![], [499, 498, 403, 403, 200, 200]),
        (
            "POST",
            format!("{recv}/update"),
            vec![("name", "renamed")],
            [499, 498, 403, 403, 200, 200],
        ),
        (
            "GET",
            format!("{recv}/validate"),
            vec![],
            [499, 498, 403, 403, 200, 200],
        ),
        (
            "POST",
            format!("{recv}/disable"),
            vec![],
            [499, 498, 403, 403, 200, 200],
        ),
        (
            "POST",
            format!("{recv}/enable"),
            vec![],
            [499, 498, 403, 403, 200, 200],
        ),
        (
            "GET",
            format!("{recv}/deliveries"),
            vec![],
            [499, 498, 403, 403, 200, 200],
        ),
        (
            "GET",
            "/notebooks/admin/notebooks/jobs".into(),
            vec![],
            [499, 498, 403, 200, 200, 200],
        ),
        ("GET", job.clone(), vec![], [499, 498, 403, 403, 200, 200]),
        // No run yet: the owner learns there is no executed notebook.
        (
            "GET",
            format!("{job}/notebook"),
            vec![],
            [499, 498, 403, 403, 404, 404],
        ),
        (
            "POST",
            "/notebooks/admin/notebooks/executeNotebook".into(),
            vec![("itemId", iid)],
            [499, 498, 403, 400, 200, 200],
        ),
        (
            "GET",
            "/notebooks/sharing/rest/content/users/alice".into(),
            vec![],
            [499, 498, 403, 403, 200, 200],
        ),
        (
            "POST",
            "/notebooks/sharing/rest/content/users/alice/addItem".into(),
            vec![("title", "x"), ("text", NOTEBOOK)],
            [499, 498, 403, 403, 200, 200],
        ),
        ("GET", item.clone(), vec![], [499, 498, 403, 403, 200, 200]),
        (
            "GET",
            format!("{item}/data"),
            vec![],
            [499, 498, 403, 403, 200, 200],
        ),
        (
            "POST",
            format!("{own}/update"),
            vec![("title", "renamed")],
            [499, 498, 403, 403, 200, 200],
        ),
        (
            "GET",
            "/notebooks/content".into(),
            vec![],
            [499, 498, 303, 303, 303, 303],
        ),
    ];
    let mut wrong = Vec::new();
    for (method, path, fields, expected) in &rows {
        for (i, token) in tokens.iter().enumerate() {
            let got = call_as(&app, method, path, *token, i == 6, fields).await;
            let want = expected_of(method, expected, i);
            if got != want {
                wrong.push(format!(
                    "{method} {path} as {}: {got}, expected {want}",
                    CALLERS[i]
                ));
            }
        }
    }
    // Destroying routes: each caller allowed to gets a fresh resource.
    for (i, token) in tokens.iter().enumerate() {
        let fresh = alices(&app, &cast.alice).await;
        let destroy = [
            (
                format!("/notebooks/admin/notebooks/jobs/{}/cancel", fresh.job),
                [499, 498, 403, 403, 200, 200],
            ),
            (
                format!(
                    "/notebooks/admin/notebooks/webhookReceivers/{}/delete",
                    fresh.receiver
                ),
                [499, 498, 403, 403, 200, 200],
            ),
            (
                format!(
                    "/notebooks/sharing/rest/content/users/alice/items/{}/delete",
                    fresh.item
                ),
                [499, 498, 403, 403, 200, 200],
            ),
        ];
        for (path, expected) in &destroy {
            let got = call_as(&app, "POST", path, *token, i == 6, &[]).await;
            let want = expected_of("POST", expected, i);
            if got != want {
                wrong.push(format!(
                    "POST {path} as {}: {got}, expected {want}",
                    CALLERS[i]
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of the matrix differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn only_the_user_or_an_administrator_revokes_tokens() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let path = "/notebooks/sharing/rest/community/users/alice/revokeTokens";
    assert_eq!(call(&app, "POST", path, None, &[]).await, 499);
    assert_eq!(call(&app, "POST", path, Some(&cast.bob), &[]).await, 403);
    assert_eq!(call(&app, "POST", path, Some(&cast.carol), &[]).await, 403);
    assert_eq!(call(&app, "POST", path, Some(&cast.alice), &[]).await, 200);
    assert_eq!(
        call(
            &app,
            "GET",
            "/notebooks/admin/notebooks/jobs",
            Some(&cast.alice),
            &[]
        )
        .await,
        498,
        "alice's own token went with the others"
    );
    assert_eq!(call(&app, "POST", path, Some(&cast.admin), &[]).await, 200);
    assert_eq!(
        call(
            &app,
            "POST",
            "/notebooks/sharing/rest/community/users/nobody/revokeTokens",
            Some(&cast.admin),
            &[]
        )
        .await,
        404
    );
}
