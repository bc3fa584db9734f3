//! The pages' sessions over raw HTTP: the cookie's attributes, CSRF on
//! every change, sign-out, the same privileges as the API, and where a
//! sign-in may send the browser next.

use crate::common::{spawn_app, PASSWORD, RECEIVERS};

/// A client that follows no redirects, so that each answer can be seen.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn sign_in(app: &crate::common::TestApp, user: &str, next: &str) -> reqwest::Response {
    browser()
        .post(app.url("/notebooks/signin"))
        .form(&[("username", user), ("password", PASSWORD), ("next", next)])
        .send()
        .await
        .unwrap()
}

/// The session cookie's `name=value` from a sign-in answer.
fn session(r: &reqwest::Response) -> String {
    let set = r
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_string();
    set.split(';').next().unwrap().to_string()
}

/// The CSRF token the page's forms carry.
fn csrf(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

async fn page(cookie: &str, url: &str) -> (u16, String) {
    let r = browser()
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_cookie_that_expires() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let r = sign_in(&app, "admin", "/notebooks/admin/notebooks/jobs").await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/notebooks/admin/notebooks/jobs",
        "back to where the sign-in was asked for"
    );
    let set = r.headers()["set-cookie"].to_str().unwrap();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Max-Age=28800",
        "Path=/notebooks",
    ] {
        assert!(set.contains(attribute), "{attribute} missing: {set}");
    }
    let (status, html) = page(&session(&r), &app.url(RECEIVERS)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Sign out"), "{html}");
    assert!(
        !html.contains("token="),
        "no token in the links of a session"
    );

    let wrong = browser()
        .post(app.url("/notebooks/signin"))
        .form(&[("username", "admin"), ("password", "nope nope nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
    assert!(wrong.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn a_sign_in_never_sends_the_browser_elsewhere() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    for next in [
        "https://evil.example/",
        "//evil.example/x",
        "/other/path",
        "",
    ] {
        let r = sign_in(&app, "admin", next).await;
        assert_eq!(
            r.headers()["location"],
            "/notebooks/admin/notebooks/webhookReceivers",
            "{next}"
        );
    }
}

#[tokio::test]
async fn every_change_made_with_the_cookie_needs_the_csrf_token() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let item = app.add_item(&token, "admin").await;
    let cookie = session(&sign_in(&app, "admin", "").await);
    let (_, html) = page(&cookie, &app.url(RECEIVERS)).await;
    let csrf = csrf(&html);
    let create = |csrf: Option<String>| {
        let mut form = vec![
            ("name", "from-a-page".to_string()),
            ("itemId", item.clone()),
            ("secret", crate::common::SECRET.to_string()),
            ("signatureHeaders", "x-esrihook-signature".to_string()),
            ("f", "json".to_string()),
        ];
        if let Some(c) = csrf {
            form.push(("csrf", c));
        }
        browser()
            .post(app.url(&format!("{RECEIVERS}/create")))
            .header("cookie", cookie.clone())
            .form(&form)
            .send()
    };
    let refused = crate::common::into_reply(create(None).await.unwrap()).await;
    assert_eq!(refused.status, 403);
    assert!(refused.json.to_string().contains("CSRF"));
    let forged = create(Some("0".repeat(32))).await.unwrap();
    assert_eq!(crate::common::code_of(forged).await, 403);
    let made = create(Some(csrf.clone())).await.unwrap();
    assert_eq!(made.status(), 200);
    // Reading needs no CSRF token; the API's own token needs none either.
    let (status, html) = page(&cookie, &app.url(RECEIVERS)).await;
    assert_eq!(status, 200);
    assert!(html.contains("from-a-page"));
    let listed = app.get(RECEIVERS, Some(&token)).await;
    assert_eq!(listed.json["webhookReceivers"].as_array().unwrap().len(), 1);

    // Signing out needs the token too, and ends the session for good.
    let out = browser()
        .post(app.url("/notebooks/signout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 403);
    let out = browser()
        .post(app.url("/notebooks/signout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(out.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let (status, _) = page(&cookie, &app.url(RECEIVERS)).await;
    assert_eq!(status, 401, "the old cookie no longer works");
}

#[tokio::test]
async fn pages_keep_the_api_privileges() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let item = app.add_item(&cast.alice, "alice").await;
    let receiver = app.receiver_on(&cast.alice, &item).await;
    let bob = session(&sign_in(&app, "bob", "").await);
    let (status, _) = page(&bob, &app.url(&format!("{RECEIVERS}/{receiver}"))).await;
    assert_eq!(status, 403, "bob's session cannot see alice's receiver");
    let carol = session(&sign_in(&app, "carol", "").await);
    let (status, _) = page(&carol, &app.url(RECEIVERS)).await;
    assert_eq!(status, 403, "carol has no webhook privilege");
    let alice = session(&sign_in(&app, "alice", "").await);
    let (status, html) = page(&alice, &app.url(&format!("{RECEIVERS}/{receiver}"))).await;
    assert_eq!(status, 200);
    for expected in [
        "Receiver URL",
        "hookbook send",
        "curl -X POST",
        "No deliveries yet.",
    ] {
        assert!(html.contains(expected), "{expected} missing");
    }
    let _ = cast.admin;
}

#[tokio::test]
async fn a_jobs_page_shows_at_most_500_jobs_and_pages_through_the_rest() {
    use hookbook::domain::ids::{EventId, ItemId, JobId, ReceiverId};
    use hookbook::domain::time::Millis;
    use hookbook::domain::user::Username;
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let store = crate::common::db::store(app.dir.path()).await;
    let receiver = ReceiverId::generate();
    let events = (0..620)
        .map(|_| hookbook::store::NewEvent {
            event_id: EventId::generate(),
            job_id: JobId::generate(),
            receiver_id: receiver,
            delivery_id: None,
            received: Millis::now(),
            headers: "{}".into(),
            body: b"{}".to_vec(),
            signed: hookbook::domain::event::SignedPart::Body,
            item_id: ItemId::generate(),
            username: Username::parse("admin").unwrap(),
            parameters: "{}".into(),
        })
        .collect();
    store.accept_events(events, 10_000).await.unwrap();
    let cookie = session(&sign_in(&app, "admin", "").await);
    let (status, html) = page(
        &cookie,
        &app.url("/notebooks/admin/notebooks/jobs?num=10000"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(html.matches("<td class=\"SUBMITTED\">").count(), 500);
    assert!(
        html.contains("1 to 500 of 620"),
        "the pager tells where we are"
    );
    assert!(html.contains("rel=\"next\""));
    let json = app
        .get(
            "/notebooks/admin/notebooks/jobs?num=10000",
            Some(&app.token("admin").await),
        )
        .await;
    assert_eq!(
        json.json["jobs"].as_array().unwrap().len(),
        620,
        "JSON is not capped at 500"
    );
}

/// Every `id="..."` of a page: valid HTML ids have no whitespace and are
/// unique.
fn assert_valid_ids(html: &str) {
    let mut seen = std::collections::HashSet::new();
    for part in html.split(" id=\"").skip(1) {
        let id = part.split('"').next().unwrap();
        assert!(
            !id.is_empty() && !id.contains(char::is_whitespace),
            "invalid id {id:?}"
        );
        assert!(seen.insert(id.to_string()), "id {id:?} twice");
    }
}

#[tokio::test]
async fn the_sign_in_page_is_a_form_for_people_with_valid_element_ids() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let r = browser()
        .get(app.url("/notebooks/signin"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"name="username""#), "{html}");
    assert!(html.contains(r#"type="password""#), "{html}");
    // The resource's raw fields belong on the JSON answer, not the page.
    assert!(!html.contains(r#"class="fields""#), "{html}");
    assert!(!html.contains("methods"), "{html}");
    assert_valid_ids(&html);
    let json = app.get("/notebooks/signin", None).await;
    assert_eq!(json.json["operation"], "signin");
    // A page with several forms keeps its ids valid and distinct too.
    let item = app.add_item(&cast.admin, "admin").await;
    let receiver = app.receiver_on(&cast.admin, &item).await;
    let (status, html) = page(
        "",
        &app.url(&format!("{RECEIVERS}/{receiver}?token={}", cast.admin)),
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.matches("<form").count() >= 2, "{html}");
    assert_valid_ids(&html);
}

#[tokio::test]
async fn a_sign_in_posted_from_another_site_is_refused() {
    let app = spawn_app().await;
    app.add_user("alice", "user", &[]).await;
    let post = |origin: Option<&'static str>, referer: Option<&'static str>| {
        let mut request = browser()
            .post(app.url("/notebooks/signin"))
            .form(&[("username", "alice"), ("password", PASSWORD)]);
        if let Some(o) = origin {
            request = request.header("origin", o);
        }
        if let Some(r) = referer {
            request = request.header("referer", r);
        }
        request.send()
    };
    // A form on an attacker's page: the browser names that page.
    for (origin, referer) in [
        (Some("https://evil.example"), None),
        (Some("null"), None),
        (None, Some("https://evil.example/login-csrf.html")),
    ] {
        let r = post(origin, referer).await.unwrap();
        assert_eq!(r.status(), 403, "{origin:?} {referer:?}");
        assert!(r.headers().get("set-cookie").is_none());
    }
    // This server's own page, and a client that names no page (curl).
    let own = app.base.clone();
    let own: &'static str = Box::leak(own.into_boxed_str());
    for (origin, referer) in [(Some(own), None), (None, None)] {
        let r = post(origin, referer).await.unwrap();
        assert_eq!(r.status(), 303, "{origin:?}");
        assert!(r.headers().get("set-cookie").is_some());
    }
}

#[tokio::test]
async fn every_answer_forbids_sniffing_and_framing_and_pages_allow_only_their_own_style_and_script()
{
    let app = spawn_app().await;
    let page = app
        .client
        .get(app.url("/notebooks/signin"))
        .send()
        .await
        .unwrap();
    let h = page.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    let policy = h["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'none'",
        "script-src 'sha256-",
        "style-src 'sha256-",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(policy.contains(part), "{part} in {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let json = app
        .client
        .get(app.url("/notebooks/admin/notebooks/webhookReceivers?f=json"))
        .send()
        .await
        .unwrap();
    assert_eq!(json.headers()["x-content-type-options"], "nosniff");
    assert_eq!(json.headers()["x-frame-options"], "DENY");
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn the_jobs_list_narrows_to_a_time_range_with_its_filters_above_it() {
    use hookbook::domain::ids::{EventId, ItemId, JobId, ReceiverId};
    use hookbook::domain::time::Millis;
    use hookbook::domain::user::Username;
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let store = crate::common::db::store(app.dir.path()).await;
    let receiver = ReceiverId::generate();
    let ten = Millis::parse("2025-12-07T10:00").unwrap().0;
    let events = (0..3)
        .map(|hour| hookbook::store::NewEvent {
            event_id: EventId::generate(),
            job_id: JobId::generate(),
            receiver_id: receiver,
            delivery_id: None,
            received: Millis(ten + hour * 3_600_000),
            headers: "{}".into(),
            body: b"{}".to_vec(),
            signed: hookbook::domain::event::SignedPart::Body,
            item_id: ItemId::generate(),
            username: Username::parse("admin").unwrap(),
            parameters: "{}".into(),
        })
        .collect();
    store.accept_events(events, 10_000).await.unwrap();
    let jobs = "/notebooks/admin/notebooks/jobs";
    let r = app
        .get(
            &format!("{jobs}?from=2025-12-07T10:30&to=2025-12-07T12:00"),
            Some(&token),
        )
        .await;
    assert_eq!(
        (r.status, r.json["total"].as_u64()),
        (200, Some(1)),
        "{}",
        r.json
    );
    let from = ten + 3_600_000;
    let r = app.get(&format!("{jobs}?from={from}"), Some(&token)).await;
    assert_eq!(
        r.json["total"], 2,
        "milliseconds too, from inclusive: {}",
        r.json
    );
    let r = app.get(&format!("{jobs}?to=yesterday"), Some(&token)).await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(r.json.to_string().contains("'to'"), "{}", r.json);
    // The page: the filters first, the range kept in date-time inputs.
    let html = app
        .html(&format!("{jobs}?from=2025-12-07T10:30"), &token)
        .await;
    let filters = html.find("<form method=\"get\"").expect("a filter form");
    let table = html.find("<table").expect("a table");
    assert!(filters < table, "the filters come first");
    assert!(
        html.contains(r#"type="datetime-local" name="from" value="2025-12-07T10:30""#),
        "{html}"
    );
}

/// A receiver's page never shows its secret in clear (its JSON still
/// answers it to whoever may manage the receiver, as ArcGIS's does).
#[tokio::test]
async fn a_receivers_page_masks_its_secret() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let item = app.add_item(&token, "admin").await;
    let id = app.receiver_on(&token, &item).await;
    let path = format!("{}/{id}", crate::common::RECEIVERS);
    let html = app.html(&path, &token).await;
    assert!(!html.contains(crate::common::SECRET), "{html}");
    assert!(html.contains("not shown on pages"), "{html}");
    let json = app.get(&path, Some(&token)).await;
    assert_eq!(json.json["secret"], crate::common::SECRET, "{}", json.json);
}

/// The create form needs no terminal: the reader's notebooks by title, a
/// secret made for it (a new one each time), and the senders by name.
#[tokio::test]
async fn a_receiver_is_set_up_by_choosing_its_notebook_and_sender() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let item = app.add_item(&token, "admin").await;
    let html = app.html(crate::common::RECEIVERS, &token).await;
    assert!(
        html.contains(&format!(r#"<option value="{item}""#)),
        "{html}"
    );
    let secret_of = |html: &str| {
        let at = html
            .find(r#"name="secret" value=""#)
            .expect("a secret field")
            + 21;
        html[at..at + html[at..].find('"').unwrap()].to_string()
    };
    let secret = secret_of(&html);
    assert_eq!(secret.len(), 32, "{secret}");
    assert_ne!(
        secret,
        secret_of(&app.html(crate::common::RECEIVERS, &token).await)
    );
    for sender in [
        "ArcGIS (feature services",
        "GitHub",
        "Standard Webhooks",
        "Any of them",
    ] {
        assert!(html.contains(sender), "{sender}");
    }
}

/// A receiver's page offers a new secret, generated in the kind the
/// receiver has, which its update takes.
#[tokio::test]
async fn a_receivers_page_rotates_its_secret_to_a_generated_one() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let item = app.add_item(&token, "admin").await;
    for secret in [
        crate::common::SECRET,
        "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX",
    ] {
        let r = app
            .create_receiver(
                &token,
                &[
                    ("name", "rotating"),
                    ("itemId", &item),
                    ("secret", secret),
                    ("signatureHeaders", "x-esrihook-signature,webhook-signature"),
                ],
            )
            .await;
        let id = r.json["webhookReceiver"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let path = format!("{}/{id}", crate::common::RECEIVERS);
        let html = app.html(&path, &token).await;
        let form = html.find("Rotate the secret</h2>").expect("a rotate form");
        let at = form + html[form..].find(r#"name="secret" value=""#).unwrap() + 21;
        // As a browser reads the attribute: the page escapes `/`.
        let new = html[at..at + html[at..].find('"').unwrap()].replace("&#x2f;", "/");
        assert_eq!(
            new.starts_with("whsec_"),
            secret.starts_with("whsec_"),
            "{new}"
        );
        let r = app
            .post_form(&format!("{path}/update"), Some(&token), &[("secret", &new)])
            .await;
        assert_eq!(r.status, 200, "{new}: {}", r.json);
        let now = app.get(&path, Some(&token)).await;
        assert_eq!(now.json["secret"], new.as_str(), "{}", now.json);
    }
}

/// A page gives each moment as a `<time>` in UTC, which its own script
/// shows in the reader's time zone, the UTC kept in the title.
#[tokio::test]
async fn times_are_time_elements_in_utc_that_the_page_shows_in_the_readers_zone() {
    use hookbook::domain::ids::{EventId, ItemId, JobId, ReceiverId};
    use hookbook::domain::time::Millis;
    use hookbook::domain::user::Username;
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let store = crate::common::db::store(app.dir.path()).await;
    let at = Millis::parse("2025-12-07T10:04:05").unwrap();
    let event = hookbook::store::NewEvent {
        event_id: EventId::generate(),
        job_id: JobId::generate(),
        receiver_id: ReceiverId::generate(),
        delivery_id: None,
        received: at,
        headers: "{}".into(),
        body: b"{}".to_vec(),
        signed: hookbook::domain::event::SignedPart::Body,
        item_id: ItemId::generate(),
        username: Username::parse("admin").unwrap(),
        parameters: "{}".into(),
    };
    store.accept_events(vec![event], 10_000).await.unwrap();
    let jobs = "/notebooks/admin/notebooks/jobs";
    let html = app.html(jobs, &token).await;
    assert!(
        html.contains(
            r#"<time datetime="2025-12-07T10:04:05Z" title="2025-12-07 10:04:05 UTC">2025-12-07 10:04:05 UTC</time>"#
        ),
        "{html}"
    );
    assert!(
        html.contains("time[datetime]"),
        "the page's script shows them locally"
    );
    assert!(
        html.contains("from, UTC") && html.contains("Until, UTC"),
        "the filter's inputs say UTC"
    );
    // A resource's own times too, and the lists of items.
    let item = app.add_item(&token, "admin").await;
    for path in [
        format!("/notebooks/sharing/rest/content/items/{item}"),
        "/notebooks/sharing/rest/content/users/admin".to_string(),
    ] {
        let html = app.html(&path, &token).await;
        let time = html.split("<time datetime=\"").nth(1).expect(&html);
        let (iso, rest) = time.split_once("\" title=\"").unwrap();
        let (title, rest) = rest.split_once("\">").unwrap();
        assert!(iso.ends_with('Z') && iso.len() == 20, "{iso}");
        assert_eq!(title, format!("{} UTC", iso[..19].replace('T', " ")));
        assert!(rest.starts_with(&format!("{title}</time>")), "{rest}");
    }
}
