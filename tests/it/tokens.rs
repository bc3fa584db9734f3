//! generateToken and the three ways a token can come with a request.

use crate::common::{spawn_app, PASSWORD, RECEIVERS};
use hookbook::domain::time::Millis;
use hookbook::domain::user::Username;
use hookbook::security::token::Token;
use hookbook::store::TokenRecord;

#[tokio::test]
async fn generate_token_answers_token_expires_and_ssl() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let before = Millis::now().0;
    let r = app
        .post_form(
            "/notebooks/sharing/rest/generateToken",
            None,
            &[
                ("username", "admin"),
                ("password", PASSWORD),
                ("expiration", "30"),
                ("client", "requestip"),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    let keys: Vec<_> = r.json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["expires", "ssl", "token"]);
    assert_eq!(r.json["ssl"], false);
    let expires = r.json["expires"].as_i64().unwrap();
    assert!(expires >= before + 30 * 60_000 && expires <= Millis::now().0 + 30 * 60_000);
}

#[tokio::test]
async fn wrong_credentials_get_the_sharing_error_shape() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    for (user, password) in [("admin", "wrong"), ("nobody", PASSWORD), ("", "")] {
        let r = app
            .post_form(
                "/notebooks/sharing/rest/generateToken",
                None,
                &[("username", user), ("password", password)],
            )
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json,
            serde_json::json!({"error": {"code": 400, "message": "Unable to generate token.", "details": ["Invalid username or password."]}})
        );
    }
}

#[tokio::test]
async fn a_bad_expiration_is_refused_naming_it() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let r = app
        .post_form(
            "/notebooks/sharing/rest/generateToken",
            None,
            &[
                ("username", "admin"),
                ("password", PASSWORD),
                ("expiration", "soon"),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("expiration"));
}

#[tokio::test]
async fn a_token_is_accepted_as_field_and_in_both_headers() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let url = app.url(RECEIVERS);
    let field = app
        .client
        .get(&url)
        .query(&[("f", "json"), ("token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(field.status(), 200);
    let form = app
        .client
        .post(app.url("/notebooks/admin/notebooks/webhookReceivers/00000000-0000-0000-0000-000000000000/validate"))
        .form(&[("f", "json"), ("token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        crate::common::code_of(form).await,
        404,
        "a form token authenticates; the receiver is unknown"
    );
    for header in ["X-Esri-Authorization", "Authorization"] {
        let r = app
            .client
            .get(&url)
            .query(&[("f", "json")])
            .header(header, format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{header}");
    }
}

#[tokio::test]
async fn no_token_is_499_and_a_bad_token_is_498() {
    let app = spawn_app().await;
    let none = app.get(RECEIVERS, None).await;
    assert_eq!((none.http, none.status), (200, 499), "{}", none.json);
    assert_eq!(none.json["status"], "error");
    let bad = app.get(RECEIVERS, Some("not-a-token")).await;
    assert_eq!((bad.http, bad.status), (200, 498), "{}", bad.json);
    let wrong_scheme = app
        .client
        .get(app.url(RECEIVERS))
        .query(&[("f", "json")])
        .header("Authorization", "Basic YWRtaW46cHc=")
        .send()
        .await
        .unwrap();
    assert_eq!(crate::common::code_of(wrong_scheme).await, 499);
}

#[tokio::test]
async fn an_expired_token_is_498() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    // A token that expired a minute ago, written where the server keeps
    // tokens: its own database file.
    let store = crate::common::db::store(app.dir.path()).await;
    let token = Token::generate();
    let now = Millis::now();
    store
        .add_token(&TokenRecord {
            hash: token.hash(),
            username: Username::parse("admin").unwrap(),
            created: Millis(now.0 - 120_000),
            expires: Millis(now.0 - 60_000),
        })
        .await
        .unwrap();
    let r = app.get(RECEIVERS, Some(token.expose())).await;
    assert_eq!((r.http, r.status), (200, 498), "{}", r.json);
}

#[tokio::test]
async fn tokens_survive_a_restart() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let dir = app.stop().await;
    let app = crate::common::spawn_app_in(dir, &[]).await;
    assert_eq!(app.get(RECEIVERS, Some(&token)).await.status, 200);
}

/// The form fields of an operation's n-th attempt.
type FieldsOf<'a> = Box<dyn Fn(usize) -> Vec<(String, String)> + 'a>;

#[tokio::test]
async fn a_post_takes_its_token_from_the_body_or_a_header_never_from_the_url() {
    let app = crate::common::spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.alice, "alice").await;
    let client = reqwest::Client::new();
    // One operation of each resource, each with fresh fields per attempt.
    let operations: Vec<(&str, FieldsOf)> = vec![
        (
            "/notebooks/admin/notebooks/webhookReceivers/create",
            Box::new(|n| {
                vec![
                    ("name".into(), format!("r{n}")),
                    ("itemId".into(), item.clone()),
                    ("secret".into(), crate::common::SECRET.into()),
                    ("signatureHeaders".into(), "x-sig".into()),
                ]
            }),
        ),
        (
            "/notebooks/sharing/rest/content/users/alice/addItem",
            Box::new(|n| {
                vec![
                    ("title".into(), format!("t{n}")),
                    ("text".into(), crate::common::NOTEBOOK.into()),
                ]
            }),
        ),
        (
            "/notebooks/admin/notebooks/executeNotebook",
            Box::new(|_| vec![("itemId".into(), item.clone())]),
        ),
        (
            "/notebooks/sharing/rest/community/users/bob/revokeTokens",
            Box::new(|_| vec![]),
        ),
    ];
    for (path, fields) in &operations {
        let url = app.url(path);
        let post = |n: usize| {
            let mut form = fields(n);
            form.push(("f".into(), "json".into()));
            client.post(&url).form(&form)
        };
        // The token only in the URL: no credential, saying where it goes.
        let r = post(0)
            .query(&[("token", &cast.alice)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}: the code is in the body");
        let body: serde_json::Value = r.json().await.unwrap();
        let text = body.to_string();
        assert!(text.contains("499"), "{path}: {text}");
        assert!(text.contains("request body"), "{path}: {text}");
        // In the body, and in each header: accepted. (alice's revocation
        // of bob's tokens is refused as forbidden, not as unauthenticated.)
        let admin = if path.contains("revokeTokens") {
            &cast.admin
        } else {
            &cast.alice
        };
        let mut form = fields(1);
        form.push(("f".into(), "json".into()));
        form.push(("token".into(), admin.clone()));
        let r = client.post(&url).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path} with the token in the body");
        for (n, header) in ["authorization", "x-esri-authorization"].iter().enumerate() {
            let r = post(2 + n)
                .header(*header, format!("Bearer {admin}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path} with the token in {header}");
        }
    }
    // A GET still takes it from the URL, the ArcGIS way of linking.
    let r = client
        .get(app.url("/notebooks/admin/notebooks/webhookReceivers"))
        .query(&[("token", cast.admin.as_str()), ("f", "json")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_password_in_the_query_string_of_a_post_is_refused_naming_where_it_belongs() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let url = app.url("/notebooks/sharing/rest/generateToken");
    // In the URL, even with the body right too: refused, and no token.
    let r = crate::common::into_reply(
        app.client
            .post(&url)
            .query(&[("username", "admin"), ("password", PASSWORD)])
            .form(&[("username", "admin"), ("password", PASSWORD), ("f", "json")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((r.http, r.status), (200, 400), "{}", r.json);
    assert!(r.json.get("token").is_none(), "{}", r.json);
    let message = r.json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("password") && message.contains("request body"),
        "{message}"
    );
    // In the body only: a token.
    let r = app
        .post_form(
            "/notebooks/sharing/rest/generateToken",
            None,
            &[("username", "admin"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.json["token"].is_string());
}

/// Every POST of the admin and sharing APIs refuses a password, a secret
/// or an API token in its URL, naming it: the page's sign-in, OAuth's,
/// and a receiver's secret and token; nothing is made or signed in.
#[tokio::test]
async fn no_post_takes_a_password_a_secret_or_an_api_token_from_its_url() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let item = app.add_item(&token, "admin").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cases = [
        ("/notebooks/signin", "password", PASSWORD),
        ("/notebooks/sharing/oauth2/signin", "password", PASSWORD),
        (
            "/notebooks/sharing/rest/generateToken",
            "password",
            PASSWORD,
        ),
        (
            RECEIVERS_CREATE,
            "secret",
            "URLSECRETabcdefghijklmnopqrstuvw",
        ),
        (RECEIVERS_CREATE, "apiToken", "a-token-of-another-portal"),
    ];
    for (path, field, value) in cases {
        let r = crate::common::into_reply(
            client
                .post(app.url(path))
                .query(&[(field, value), ("f", "json")])
                .form(&[
                    ("username", "admin"),
                    ("token", token.as_str()),
                    ("name", "from-the-url"),
                    ("itemId", item.as_str()),
                    ("signatureHeaders", "x-esrihook-signature"),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((r.http, r.status), (200, 400), "{path}: {}", r.json);
        let said = r.json.to_string();
        assert!(
            said.contains(&format!("'{field}'")) && said.contains("never in the URL"),
            "{path}: {said}"
        );
    }
    let listed = app.get(RECEIVERS, Some(&token)).await;
    assert_eq!(listed.json["webhookReceivers"], serde_json::json!([]));
}

const RECEIVERS_CREATE: &str = "/notebooks/admin/notebooks/webhookReceivers/create";
