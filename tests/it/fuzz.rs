//! Arbitrary input at everything that reads untrusted bytes, over HTTP:
//! event bodies with made-up signature headers and content types, form
//! bodies, percent-encoding, notebook files, parameters JSON, and the
//! fields of generateToken and of the receiver forms. The server must never
//! answer 5xx, never panic (it keeps answering), and never accept a forged
//! delivery. `HOOKBOOK_FUZZ_CASES` sets the number of cases per target
//! (300 by default; the longer run in SECURITY.md uses 20,000).

use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::TestRunner;

fn cases() -> usize {
    std::env::var("HOOKBOOK_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
}

/// Draws one value; shrinking is not needed to read a failure here, since
/// the failing input is printed whole.
fn draw<S: Strategy>(runner: &mut TestRunner, strategy: &S) -> S::Value {
    strategy.new_tree(runner).unwrap().current()
}

/// Text with the characters parsers trip on: separators, `%`, `+`, `=`,
/// quotes, non-ASCII, control characters.
fn nasty_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("%".to_string()),
            Just("%2".to_string()),
            Just("%zz".to_string()),
            Just("+".to_string()),
            Just("=".to_string()),
            Just(",".to_string()),
            Just("sha256=".to_string()),
            Just("v1,".to_string()),
            Just("\"".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just("\u{0}".to_string()),
            Just("é".to_string()),
            "[ -~]{0,8}",
            any::<char>().prop_map(|c| c.to_string()),
        ],
        0..max,
    )
    .prop_map(|parts| parts.concat())
}

fn assert_clean(what: &str, status: u16, input: &impl std::fmt::Debug) {
    assert!(
        (200..500).contains(&status),
        "{what} answered {status} to {input:?}"
    );
}

#[tokio::test]
async fn event_intake_refuses_anything_unsigned_cleanly() {
    let (app, _token, id, url) = crate::common::events::esri_app().await;
    let mut runner = TestRunner::deterministic();
    let headers = proptest::collection::vec(
        (
            prop_oneof![
                Just("x-esrihook-signature"),
                Just("x-hub-signature-256"),
                Just("webhook-signature"),
                Just("webhook-id"),
                Just("webhook-timestamp"),
                Just("content-type"),
                Just("x-github-delivery"),
            ],
            nasty_text(12),
        ),
        0..5,
    );
    let content_type = prop_oneof![
        Just("application/json".to_string()),
        Just("application/x-www-form-urlencoded".to_string()),
        Just("text/plain".to_string()),
        Just("multipart/form-data; boundary=x".to_string()),
        nasty_text(6),
    ];
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        nasty_text(40).prop_map(String::into_bytes),
        nasty_text(20).prop_map(|t| format!("payload={t}&signature={t}").into_bytes()),
    ];
    for _ in 0..cases() {
        let (headers, content_type, body) = draw(&mut runner, &(&headers, &content_type, &body));
        let mut req = app.client.post(&url).body(body.clone());
        if let Ok(v) = reqwest::header::HeaderValue::from_str(&content_type) {
            req = req.header("content-type", v);
        }
        for (name, value) in &headers {
            if let Ok(v) = reqwest::header::HeaderValue::from_str(value) {
                req = req.header(*name, v);
            }
        }
        let status = req
            .send()
            .await
            .expect("the server answers")
            .status()
            .as_u16();
        let input = (&headers, &content_type, String::from_utf8_lossy(&body));
        assert_clean("event intake", status, &input);
        assert_ne!(status, 200, "a forged delivery was accepted: {input:?}");
    }
    assert_eq!(
        crate::common::events::jobs_of(&app, &id).await,
        0,
        "no refusal created a job"
    );
}

#[tokio::test]
async fn sign_in_fields_never_break_the_server() {
    let app = crate::common::spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let mut runner = TestRunner::deterministic();
    let fields = (nasty_text(10), nasty_text(10), nasty_text(4), nasty_text(3));
    for _ in 0..cases() {
        let (username, password, expiration, f) = draw(&mut runner, &fields);
        for path in ["/notebooks/sharing/rest/generateToken", "/notebooks/signin"] {
            let r = app
                .client
                .post(app.url(path))
                .form(&[
                    ("username", &username),
                    ("password", &password),
                    ("expiration", &expiration),
                    ("f", &f),
                ])
                .send()
                .await
                .expect("the server answers");
            let input = (&username, &password, &expiration, &f);
            let status = r.status().as_u16();
            assert_clean(path, status, &input);
            assert!(status != 200 && status != 303, "signed in with {input:?}");
        }
    }
}

#[tokio::test]
async fn receiver_and_item_forms_take_anything_and_answer_cleanly() {
    let app = crate::common::spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let item = app.add_item(&token, "admin").await;
    let mut runner = TestRunner::deterministic();
    let json_ish = prop_oneof![
        nasty_text(20),
        Just("{}".to_string()),
        Just(r#"{"a": [1, {"b": null}], "c": "\u0000"}"#.to_string()),
        "\\{\"[a-z]{1,5}\": (1|\"x\"|null|\\[\\]|\\{\\})\\}",
    ];
    let fields = (
        nasty_text(12),
        prop_oneof![Just(item.clone()), nasty_text(34)],
        prop_oneof![Just(crate::common::SECRET.to_string()), nasty_text(34)],
        nasty_text(30),
        json_ish.clone(),
    );
    for _ in 0..cases() {
        let (name, item_id, secret, headers, parameters) = draw(&mut runner, &fields);
        let form = [
            ("name", name.as_str()),
            ("itemId", item_id.as_str()),
            ("secret", secret.as_str()),
            ("signatureHeaders", headers.as_str()),
            ("parameters", parameters.as_str()),
        ];
        let r = app
            .post_form(
                "/notebooks/admin/notebooks/webhookReceivers/create",
                Some(&token),
                &form,
            )
            .await;
        assert_clean("create", r.status, &form);
        // Notebook files: JSON-ish text of every shape.
        let notebook = draw(&mut runner, &json_ish);
        let r = app
            .post_form(
                "/notebooks/sharing/rest/content/users/admin/addItem",
                Some(&token),
                &[("title", name.as_str()), ("text", notebook.as_str())],
            )
            .await;
        assert_clean("addItem", r.status, &notebook);
        assert_ne!(r.status, 200, "{notebook:?} is no notebook");
    }
    assert_eq!(app.get("/healthz", None).await.status, 200);
}
