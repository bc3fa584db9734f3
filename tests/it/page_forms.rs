//! The pages' forms as a browser posts them, over raw HTTP: post, redirect,
//! get with a notice shown once; a refused form given back with the
//! person's values and never a secret; confirmation before Delete and
//! Disable; no page that reloads itself; and no dead end (unknown paths,
//! unreadable bodies, the site's root, a signed-out page).

use crate::common::{spawn_app, TestApp, PASSWORD, RECEIVERS, SECRET};

/// A client that follows no redirects, so that each answer can be seen.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

const HTML: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

/// A session cookie (`name=value`) for `user`.
async fn session(app: &TestApp, user: &str) -> String {
    let r = browser()
        .post(app.url("/notebooks/signin"))
        .form(&[("username", user), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    cookie_pair(&r, "hookbook_session").expect("a session cookie")
}

/// The `name=value` of a cookie an answer sets, with its attributes.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

fn cookie_pair(r: &reqwest::Response, name: &str) -> Option<String> {
    set_cookie(r, name).map(|c| c.split(';').next().unwrap_or_default().to_string())
}

async fn get(cookie: &str, url: &str) -> (u16, String) {
    let r = browser()
        .get(url)
        .header("cookie", cookie)
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// What minijinja escapes in attributes, undone.
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden fields of the form that posts to an action ending in
/// `action`, as a browser would send them.
fn hidden_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let start = html
        .find(&format!("{}\"", action.replace('/', "&#x2f;")))
        .unwrap_or_else(|| panic!("a form posting to {action}: {html}"));
    let form = &html[start..];
    let form = &form[..form.find("</form>").unwrap()];
    form.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|input| {
            let name = input
                .split("name=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let value = input
                .split("value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            (unescape(name), unescape(value))
        })
        .collect()
}

/// Posts `fields` beside the hidden ones of the page's form, as a browser.
async fn post_form(
    cookie: &str,
    url: &str,
    hidden: &[(String, String)],
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(String, String)> = hidden.to_vec();
    form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    browser()
        .post(url)
        .header("cookie", cookie)
        .header("accept", HTML)
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn signed_in_with_item(app: &TestApp) -> (String, String) {
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let item = app.add_item(&token, "admin").await;
    (session(app, "admin").await, item)
}

#[tokio::test]
async fn a_form_leads_to_what_it_made_and_the_next_page_says_so_once() {
    let app = spawn_app().await;
    let (cookie, item) = signed_in_with_item(&app).await;
    let (_, html) = get(&cookie, &app.url(RECEIVERS)).await;
    let hidden = hidden_fields(&html, "/webhookReceivers/create");
    let fields = [
        ("name", "made-on-a-page"),
        ("itemId", item.as_str()),
        ("secret", SECRET),
        ("signatureHeaders", "x-esrihook-signature"),
        ("parameters", "{}"),
    ];
    let made = post_form(
        &cookie,
        &app.url(&format!("{RECEIVERS}/create")),
        &hidden,
        &fields,
    )
    .await;
    assert_eq!(made.status(), 303, "post, redirect, get");
    let location = made.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&format!("{RECEIVERS}/")), "{location}");
    let set = set_cookie(&made, "hookbook_notice").expect("a notice for the next page");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/notebooks", "Max-Age="] {
        assert!(set.contains(attribute), "{attribute} missing: {set}");
    }
    assert!(!set.contains(SECRET), "a notice never holds a secret");
    let notice = cookie_pair(&made, "hookbook_notice").unwrap();

    // The next page shows the notice once and clears it.
    let r = browser()
        .get(app.url(&location))
        .header("cookie", format!("{cookie}; {notice}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cleared = set_cookie(&r, "hookbook_notice").expect("the notice is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Created the webhook receiver made-on-a-page."),
        "{html}"
    );
    let (_, again) = get(&cookie, &app.url(&location)).await;
    assert!(
        !again.contains("Created the webhook receiver"),
        "shown once"
    );

    // The same form asked as JSON answers as it always did.
    let mut json_fields = fields.to_vec();
    json_fields[0] = ("name", "made-as-json");
    let csrf = hidden.iter().find(|(k, _)| k == "csrf").unwrap().1.clone();
    json_fields.push(("csrf", &csrf));
    json_fields.push(("f", "json"));
    let r = browser()
        .post(app.url(&format!("{RECEIVERS}/create")))
        .header("cookie", &cookie)
        .form(&json_fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(set_cookie(&r, "hookbook_notice").is_none());
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(json["webhookReceiver"]["name"], "made-as-json", "{json}");
}

#[tokio::test]
async fn a_refused_form_comes_back_with_the_values_and_the_problem_beside_its_field() {
    let app = spawn_app().await;
    let (cookie, _) = signed_in_with_item(&app).await;
    let (_, html) = get(&cookie, &app.url(RECEIVERS)).await;
    let hidden = hidden_fields(&html, "/webhookReceivers/create");
    let r = post_form(
        &cookie,
        &app.url(&format!("{RECEIVERS}/create")),
        &hidden,
        &[
            ("name", "kept-name"),
            ("itemId", "not an item id!"),
            ("secret", SECRET),
            ("signatureHeaders", "x-esrihook-signature"),
            ("apiToken", "an-api-token-never-echoed"),
            ("parameters", "{\"region\": \"north\"}"),
        ],
    )
    .await;
    assert_eq!(r.status(), 400, "the real status");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"value="kept-name""#),
        "the values come back: {html}"
    );
    assert!(
        html.contains(">Notebook</label>") && html.contains("<select"),
        "the form as the page had it (the notebook chosen by title)"
    );
    assert!(html.contains("region"), "the textarea keeps its text");
    let at = html
        .find("class=\"field-error\"")
        .expect("a problem beside a field");
    let before = &html[..at];
    let last_field = before.rfind("name=\"").unwrap();
    assert!(
        before[last_field..].starts_with("name=\"itemId\""),
        "beside itemId"
    );
    assert!(!html.contains(SECRET), "no secret comes back");
    assert!(
        !html.contains("an-api-token-never-echoed"),
        "no token comes back"
    );
    assert!(html.contains(r#"name="csrf""#), "it can be posted again");

    // A refused sign-in gives the form back without the password.
    let r = browser()
        .post(app.url("/notebooks/signin"))
        .header("accept", HTML)
        .form(&[
            ("f", "html"),
            ("username", "admin"),
            ("password", "wrong password here"),
            ("next", "/notebooks/admin/notebooks/jobs"),
            ("_from", "/notebooks/signin"),
            (
                "_form",
                r#"{"title":"Sign in","action":"/x","fields":[{"name":"username","label":"Username","kind":"text"},{"name":"password","label":"Password","kind":"password"},{"name":"next","label":"","kind":"hidden","value":""}]}"#,
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"value="admin""#), "{html}");
    assert!(!html.contains("wrong password here"));
    assert!(html.contains("Invalid username or password"), "{html}");
    assert!(
        html.contains("&#x2f;notebooks&#x2f;admin&#x2f;notebooks&#x2f;jobs"),
        "next is kept"
    );
}

#[tokio::test]
async fn delete_and_disable_ask_first_on_a_page_of_their_own() {
    let app = spawn_app().await;
    let (cookie, item) = signed_in_with_item(&app).await;
    let token = app.token("admin").await;
    let id = app.receiver_on(&token, &item).await;
    let page = app.url(&format!("{RECEIVERS}/{id}"));
    let (_, html) = get(&cookie, &page).await;
    assert!(
        html.contains("Delete…") && html.contains("Disable…"),
        "{html}"
    );
    assert!(!html.contains("delete\""), "no Delete button posts at once");

    // The step of the Delete… form: the hidden `confirm` of the form that
    // the button ends.
    let button = html.find("Delete…</button>").expect("a Delete… button");
    let form = html[..button].rfind("<form").unwrap();
    let at = form + html[form..].find(r#"name="confirm" value=""#).unwrap() + 22;
    let step: usize = html[at..at + html[at..].find('"').unwrap()]
        .parse()
        .unwrap();
    let (status, confirm) = get(&cookie, &format!("{page}?confirm={step}")).await;
    assert_eq!(status, 200);
    assert!(
        confirm.contains("Delete the webhook receiver on-update?"),
        "{confirm}"
    );
    assert!(confirm.contains(">Cancel<"), "a way back");
    let hidden = hidden_fields(&confirm, &format!("{id}/delete"));
    let r = post_form(&cookie, &format!("{page}/delete"), &hidden, &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        RECEIVERS,
        "the list after a delete"
    );
    assert_eq!(
        app.get(RECEIVERS, Some(&token)).await.json["webhookReceivers"],
        serde_json::json!([])
    );

    let (status, nothing) = get(&cookie, &app.url(&format!("{RECEIVERS}?confirm=99"))).await;
    assert_eq!(status, 200, "a confirmation of nothing is the page itself");
    assert!(nothing.contains("Webhook receivers"));
}

#[tokio::test]
async fn a_browser_never_meets_raw_json_or_a_dead_end() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;

    // An unknown path: a page for a browser, JSON for the rest.
    let r = browser()
        .get(app.url("/notebooks/admin/nothing-here"))
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("is not a resource of this server"));
    let r = browser()
        .get(app.url("/notebooks/admin/nothing-here?f=json"))
        .header("accept", HTML)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "Esri's convention for JSON");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));

    // A too-large upload from a browser that is not signed in.
    let big = "x".repeat(200 * 1024);
    let r = browser()
        .post(app.url("/notebooks/sharing/rest/content/users/admin/addItem"))
        .header("accept", HTML)
        .form(&[("f", "html"), ("title", "t"), ("text", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("Sign in"));

    // The site's root and the context lead to the sign-in, or to the
    // person's notebooks once signed in.
    for root in ["/", "/notebooks", "/notebooks/"] {
        let r = browser().get(app.url(root)).send().await.unwrap();
        assert_eq!(r.status(), 303, "{root}");
        assert_eq!(r.headers()["location"], "/notebooks/signin", "{root}");
    }
    let cookie = session(&app, "admin").await;
    let r = browser()
        .get(app.url("/notebooks"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/notebooks/content");

    // A signed-out page offers a sign-in that returns to it, query and all.
    let (status, html) = get(
        "",
        &app.url("/notebooks/admin/notebooks/jobs?status=FAILED"),
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        html.contains("signin?next=%2Fnotebooks%2Fadmin%2Fnotebooks%2Fjobs%3Fstatus%3DFAILED"),
        "{html}"
    );
}

#[tokio::test]
async fn running_a_notebook_from_its_page_leads_to_the_job_which_never_reloads_itself() {
    let app = spawn_app().await;
    let (cookie, item) = signed_in_with_item(&app).await;
    let page = app.url("/notebooks/admin/notebooks");
    let (_, html) = get(&cookie, &page).await;
    let hidden = hidden_fields(&html, "/executeNotebook");
    let r = post_form(
        &cookie,
        &app.url("/notebooks/admin/notebooks/executeNotebook"),
        &hidden,
        &[("itemId", item.as_str())],
    )
    .await;
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("/notebooks/admin/notebooks/jobs/"),
        "{location}"
    );
    let (status, job) = get(&cookie, &app.url(&location)).await;
    assert_eq!(status, 200);
    for html in [
        &job,
        &get(&cookie, &app.url("/notebooks/admin/notebooks/jobs"))
            .await
            .1,
    ] {
        assert!(
            !html.contains("http-equiv"),
            "no page reloads itself: {html}"
        );
    }
    if job.contains("SUBMITTED") || job.contains("EXECUTING") {
        assert!(
            job.contains("data-live-job=\""),
            "a hook for live updates: {job}"
        );
        assert!(job.contains(">Refresh</a>"), "{job}");
    }
}

/// The receiver's page as its administrator sees it, with a session.
async fn receiver_page(s: &crate::common::runs::Setup) -> (String, String, String) {
    let cookie = session(&s.app, "admin").await;
    let receiver = s.url.rsplit('/').next().unwrap().to_string();
    let path = format!("{RECEIVERS}/{receiver}");
    let (status, html) = get(&cookie, &s.app.url(&path)).await;
    assert_eq!(status, 200, "{html}");
    (cookie, path, html)
}

#[tokio::test]
async fn a_delivery_whose_run_ended_runs_again_from_its_row_and_leads_to_the_new_job() {
    use crate::common::runs::{deliver, finished, setup, JOBS};
    let s = setup(&["x = 1"], &[]).await;
    let job = deliver(&s, r#"{"n": 1}"#, "application/json").await;
    assert_eq!(finished(&s, &job).await["status"], "COMPLETED");
    let (cookie, _, html) = receiver_page(&s).await;
    assert!(
        html.contains(&format!(r#"aria-label="Run again: job {job}""#)),
        "a button named for its row: {html}"
    );
    let action = format!("/jobs/{job}/replay");
    let hidden = hidden_fields(&html, &action);
    assert!(hidden.iter().any(|(k, _)| k == "csrf"), "{hidden:?}");
    let r = post_form(
        &cookie,
        &s.app.url(&format!("{JOBS}/{job}/replay")),
        &hidden,
        &[],
    )
    .await;
    assert_eq!(r.status(), 303, "post, redirect, get");
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&format!("{JOBS}/")), "{location}");
    assert!(!location.ends_with(&job), "a new job: {location}");
    let (status, page) = get(&cookie, &s.app.url(&location)).await;
    assert_eq!(status, 200);
    assert!(page.contains("The job this one runs again"), "{page}");
}

#[tokio::test]
async fn the_states_to_run_again_are_boxes_and_a_refused_form_keeps_them_ticked() {
    use crate::common::runs::{deliver, finished, setup};
    let s = setup(&["raise ValueError('down')"], &[]).await;
    let job = deliver(&s, "{}", "application/json").await;
    assert_eq!(finished(&s, &job).await["status"], "FAILED");
    let (cookie, path, html) = receiver_page(&s).await;
    let boxes = |html: &str, ticked: &[&str]| {
        for state in ["FAILED", "CANCELLED", "COMPLETED"] {
            let tick = if ticked.contains(&state) {
                " checked"
            } else {
                ""
            };
            let markup = format!(r#"type="checkbox" name="status" value="{state}"{tick}>"#);
            assert!(html.contains(&markup), "{markup} in {html}");
        }
    };
    boxes(&html, &["FAILED"]);
    let action = format!("{path}/replay");
    let hidden = hidden_fields(&html, &action);
    let ticked = [("status", "FAILED"), ("status", "CANCELLED")];
    let backwards = [("from", "2026-12-07T13:05"), ("to", "2026-12-07T12:00")];
    let fields: Vec<(&str, &str)> = ticked.iter().chain(&backwards).copied().collect();
    let r = post_form(&cookie, &s.app.url(&action), &hidden, &fields).await;
    assert_eq!(r.status(), 400);
    let refused = r.text().await.unwrap();
    boxes(&refused, &["FAILED", "CANCELLED"]);
    assert!(refused.contains("must not be later than to"), "{refused}");

    // Sent right: both states are taken (FAILED though it came first).
    let r = post_form(&cookie, &s.app.url(&action), &hidden, &ticked).await;
    assert_eq!(r.status(), 303);
    let notice = cookie_pair(&r, "hookbook_notice").unwrap();
    assert!(
        notice.contains("1+jobs") || notice.contains("1%20jobs"),
        "{notice}"
    );
    // As the API gives them: joined by commas, or one.
    for (status, jobs) in [
        ("COMPLETED,CANCELLED", 0),
        ("CANCELLED, FAILED", 1),
        ("", 1),
    ] {
        let r = s
            .app
            .post_form(&action, Some(&s.token), &[("status", status)])
            .await;
        assert_eq!(r.json["jobs"], jobs, "{status}: {}", r.json);
    }
}

#[tokio::test]
async fn the_failures_a_policy_retries_are_boxes_and_none_ticked_retries_nothing() {
    let s = crate::common::runs::setup(&[], &[]).await;
    let (cookie, path, _) = receiver_page(&s).await;
    let policy = format!("{path}/retryPolicy");
    let (_, html) = get(&cookie, &s.app.url(&policy)).await;
    assert!(html.contains(r#"name="retryOn" value="timeout""#), "{html}");
    let hidden = hidden_fields(&html, "/retryPolicy/update");
    let update = s.app.url(&format!("{policy}/update"));
    for (ticked, expected) in [
        (
            vec![("retryOn", "timeout"), ("retryOn", "lostNode")],
            vec!["timeout", "lostNode"],
        ),
        (vec![], vec![]),
    ] {
        let r = post_form(&cookie, &update, &hidden, &ticked).await;
        assert_eq!(r.status(), 303);
        let json = s.app.get(&policy, Some(&s.token)).await.json;
        assert_eq!(json["retryOn"], serde_json::json!(expected), "{json}");
    }
}
