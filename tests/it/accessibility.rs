//! Accessibility as a test: axe-core (the file `scripts/test` installs from
//! npm, `HOOKBOOK_TEST_AXE`) runs in every page and state a person meets,
//! in a real browser at desktop and phone width, and finds no violation.

use std::path::PathBuf;
use std::time::Duration;

use crate::browser::{
    body_text, browser, browser_with, driver, fill, notebook, submit, wait_for_text, Driver,
};
use crate::common::events::esri;
use crate::common::jobs::finished;
use crate::common::wait::eventually;
use crate::common::{TestApp, RECEIVERS, SECRET};
use fantoccini::{Client, Locator};
use serde_json::Value;

const JOBS: &str = "/notebooks/admin/notebooks/jobs";
const WIDTHS: [(u32, u32); 2] = [(1440, 1000), (360, 780)];

/// axe.min.js: `HOOKBOOK_TEST_AXE`, else where `scripts/test` puts it.
fn axe_source() -> String {
    let path = std::env::var_os("HOOKBOOK_TEST_AXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/axe/node_modules/axe-core/axe.min.js")
        });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "no axe-core at {} ({e}): run scripts/test, which installs it from npm",
            path.display()
        )
    })
}

/// Runs axe in the page shown; each violation as a line (id, impact, help
/// and the first nodes' targets), headed by `what`.
async fn violations(c: &Client, axe: &str, what: &str) -> Vec<String> {
    c.execute(axe, vec![])
        .await
        .expect("axe-core loads in the page");
    let found: Value = c
        .execute_async(
            "var done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']}).then(function (r) {
               done(r.violations.map(function (v) {
                 return {id: v.id, impact: v.impact, help: v.help,
                         nodes: v.nodes.slice(0, 3).map(function (n) { return n.target.join(' '); }),
                         count: v.nodes.length};
               }));
             }, function (e) { done([{id: 'axe-error', impact: 'none', help: String(e), nodes: [], count: 0}]); });",
            vec![],
        )
        .await
        .expect("axe-core runs");
    let width: Value = c
        .execute("return window.innerWidth;", vec![])
        .await
        .unwrap();
    let url = c.current_url().await.unwrap();
    found
        .as_array()
        .expect("a list of violations")
        .iter()
        .map(|v| {
            format!(
                "{what} ({}, {width}px wide): {} [{}] {} ({} nodes, first: {})",
                url.path(),
                v["id"].as_str().unwrap_or_default(),
                v["impact"].as_str().unwrap_or_default(),
                v["help"].as_str().unwrap_or_default(),
                v["count"],
                v["nodes"]
            )
        })
        .collect()
}

/// Checks the page shown at each width; what axe found is added to `all`.
async fn check(c: &Client, axe: &str, what: &str, all: &mut Vec<String>) {
    for (w, h) in WIDTHS {
        c.set_window_size(w, h).await.unwrap();
        all.extend(violations(c, axe, what).await);
    }
}

/// Goes to `path` and checks it.
async fn check_at(
    c: &Client,
    app: &TestApp,
    axe: &str,
    path: &str,
    what: &str,
    all: &mut Vec<String>,
) {
    c.goto(&app.url(path)).await.unwrap();
    check(c, axe, what, all).await;
}

/// A receiver of the administrator's on a notebook running `source` (the
/// browser test's rich notebook when `None`): the item, the receiver's id
/// and its URL.
async fn receiver_on(
    app: &TestApp,
    token: &str,
    name: &str,
    source: Option<&str>,
) -> (String, String, String) {
    let text = source.map_or_else(notebook, |s| crate::common::jobs::notebook_of(None, &[s]));
    let r = app
        .post_form(
            "/notebooks/sharing/rest/content/users/admin/addItem",
            Some(token),
            &[("type", "Notebook"), ("title", name), ("text", &text)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let item = r.json["id"].as_str().unwrap().to_string();
    let r = app
        .create_receiver(
            token,
            &[
                ("name", name),
                ("itemId", &item),
                ("secret", SECRET),
                ("signatureHeaders", "x-esrihook-signature"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let text = |v: &Value| v.as_str().unwrap().to_string();
    let receiver = &r.json["webhookReceiver"];
    (item, text(&receiver["id"]), text(&receiver["url"]))
}

/// Delivers a signed event; the job's id.
async fn job_of(app: &TestApp, url: &str, body: &str) -> String {
    let signature = esri(body.as_bytes());
    let headers = [("x-esrihook-signature", signature.as_str())];
    let (status, _, answer) =
        crate::common::events::post(app, url, &headers, body.to_string()).await;
    assert_eq!(status, 200, "{answer}");
    answer["jobId"].as_str().unwrap().to_string()
}

/// The jobs a person meets: a COMPLETED one (with a rejected delivery
/// beside it), a FAILED one and one waiting for its next attempt. The
/// item, the first receiver and the three jobs.
struct Scene {
    item: String,
    receiver: String,
    flaky: String,
    jobs: [String; 3],
}

async fn scene(app: &TestApp, token: &str) -> Scene {
    let (item, receiver, url) = receiver_on(app, token, "daily-report", None).await;
    let completed = job_of(app, &url, r#"{"count": 42}"#).await;
    assert_eq!(
        finished(app, token, &completed).await["status"],
        "COMPLETED"
    );
    let refused = reqwest::Client::new()
        .post(&url)
        .header("x-esrihook-signature", "sha256=forged")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_client_error(), "{}", refused.status());

    let (_, flaky, url) = receiver_on(app, token, "flaky", Some("raise ValueError('down')")).await;
    let failed = job_of(app, &url, "{}").await;
    assert_eq!(finished(app, token, &failed).await["status"], "FAILED");
    let policy = format!("{RECEIVERS}/{flaky}/retryPolicy/update");
    let fields = [
        ("maxAttempts", "2"),
        ("delaySeconds", "3600"),
        ("retryOn", "error"),
    ];
    let r = app.post_form(&policy, Some(token), &fields).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let waiting = job_of(app, &url, "{}").await;
    eventually(
        "a job waits for its next attempt",
        Duration::from_secs(120),
        || async {
            let j = app
                .get(&format!("{JOBS}/{waiting}"), Some(token))
                .await
                .json;
            match (j["status"].as_str(), j["attempts"].as_i64()) {
                (Some("SUBMITTED"), Some(1)) => Ok(()),
                _ => Err(j.to_string()),
            }
        },
    )
    .await;
    Scene {
        item,
        receiver,
        flaky,
        jobs: [completed, failed, waiting],
    }
}

/// Signs in from the sign-in page, checked first: a page asked for
/// signed out, the sign-in page, and the sign-in refused.
async fn sign_in(c: &Client, app: &TestApp, axe: &str, all: &mut Vec<String>) {
    c.goto(&app.url(RECEIVERS)).await.unwrap();
    wait_for_text(c, "Token Required.", false).await;
    check(c, axe, "a page asked for signed out", all).await;
    check_at(c, app, axe, "/notebooks/signin", "the sign-in page", all).await;
    fill(c, "input[name=username]", "admin").await;
    fill(c, "input[name=password]", "not the password").await;
    submit(c, "main form").await;
    wait_for_text(c, "Invalid username or password", false).await;
    check(c, axe, "a refused sign-in", all).await;
    fill(c, "input[name=password]", crate::common::PASSWORD).await;
    submit(c, "main form").await;
    wait_for_text(c, "Sign out", false).await;
}

/// The receiver's Delete… step, and the create form refused for a bad field.
async fn check_forms(c: &Client, app: &TestApp, axe: &str, receiver: &str, all: &mut Vec<String>) {
    c.goto(&app.url(&format!("{RECEIVERS}/{receiver}")))
        .await
        .unwrap();
    c.find(Locator::XPath("//button[normalize-space()='Delete…']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(c, "Delete the webhook receiver", false).await;
    check(c, axe, "the confirmation step of Delete", all).await;

    // The replay of many refused (a range that ends before it starts),
    // its boxes given back as they were ticked.
    c.goto(&app.url(&format!("{RECEIVERS}/{receiver}")))
        .await
        .unwrap();
    let replay = "form:not(.inline)[action$='/replay']";
    c.execute(
        "var f = document.querySelector(arguments[0]);
         f.querySelector('input[value=CANCELLED]').checked = true;
         f.querySelector('input[name=from]').value = '2026-12-07T13:05';
         f.querySelector('input[name=to]').value = '2026-12-07T12:00';",
        vec![Value::String(replay.into())],
    )
    .await
    .unwrap();
    submit(c, replay).await;
    shows(c, "p.field-error").await;
    shows(c, "input[value=CANCELLED]:checked").await;
    check(c, axe, "a refused form with boxes", all).await;

    c.goto(&app.url(RECEIVERS)).await.unwrap();
    fill(c, "form[action$='/create'] input[name=name]", "refused").await;
    fill(
        c,
        "form[action$='/create'] textarea[name=parameters]",
        "{not json",
    )
    .await;
    submit(c, "form[action$='/create']").await;
    shows(c, "p.field-error").await;
    check(c, axe, "a refused form", all).await;

    // Given again, right: the receiver's page says once that it was made.
    fill(c, "form[action$='/create'] input[name=secret]", SECRET).await;
    let fixed = r#"{"region": "north"}"#;
    fill(
        c,
        "form[action$='/create'] textarea[name=parameters]",
        fixed,
    )
    .await;
    submit(c, "form[action$='/create']").await;
    shows(c, "p.notice").await;
    check(c, axe, "a page with a form's notice", all).await;
}

/// Waits until the page shows an element matching `css`.
async fn shows(c: &Client, css: &str) {
    let what = format!("the page shows {css}");
    eventually(&what, Duration::from_secs(30), || async {
        match c.find(Locator::Css(css)).await {
            Ok(_) => Ok(()),
            Err(_) => Err(body_text(c).await),
        }
    })
    .await;
}

/// A job while it runs: its page (which says so, with a way to refresh)
/// and the jobs list; cancelled then.
async fn check_running(c: &Client, app: &TestApp, token: &str, axe: &str, all: &mut Vec<String>) {
    let sleeps = Some("import time\ntime.sleep(120)");
    let (_, _, url) = receiver_on(app, token, "slow", sleeps).await;
    let job = job_of(app, &url, "{}").await;
    eventually("a job runs", Duration::from_secs(120), || async {
        let j = app.get(&format!("{JOBS}/{job}"), Some(token)).await.json;
        match j["status"].as_str() {
            Some("EXECUTING") => Ok(()),
            _ => Err(j.to_string()),
        }
    })
    .await;
    for (path, what, text) in [
        (format!("{JOBS}/{job}"), "a running job", "Refresh"),
        (JOBS.into(), "the jobs list with a running job", "EXECUTING"),
    ] {
        c.goto(&app.url(&path)).await.unwrap();
        wait_for_text(c, text, false).await;
        check(c, axe, what, all).await;
    }
    let r = app
        .post_form(&format!("{JOBS}/{job}/cancel"), Some(token), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
}

/// The pages again in a browser that prefers dark colours, as the site's
/// follow it: the executed notebooks (completed, failed), the lists, a
/// receiver with its deliveries' states and buttons, and the dashboard.
async fn check_dark(
    driver: &Driver,
    profile: &std::path::Path,
    app: &TestApp,
    axe: &str,
    scene: &Scene,
    all: &mut Vec<String>,
) {
    let [completed, failed, _] = &scene.jobs;
    let client = browser_with(driver, profile, &["--force-dark-mode"]).await;
    let dark = &client;
    dark.goto(&app.url("/notebooks/signin")).await.unwrap();
    fill(dark, "input[name=username]", "admin").await;
    fill(dark, "input[name=password]", crate::common::PASSWORD).await;
    submit(dark, "main form").await;
    wait_for_text(dark, "Sign out", false).await;
    for (path, what, text) in [
        (
            format!("{JOBS}/{completed}"),
            "a COMPLETED job, dark",
            "features updated: 42",
        ),
        (
            format!("{JOBS}/{failed}"),
            "a FAILED job, dark",
            "ValueError",
        ),
        (RECEIVERS.into(), "the receivers list, dark", "flaky"),
        (
            format!("{RECEIVERS}/{}", scene.receiver),
            "a receiver with deliveries, dark",
            "Run again",
        ),
        (JOBS.into(), "the jobs list, dark", "retrying"),
        (
            "/notebooks/admin/notebooks/dashboard".into(),
            "the dashboard, dark",
            "Dashboard",
        ),
    ] {
        dark.goto(&app.url(&path)).await.unwrap();
        wait_for_text(dark, text, false).await;
        let prefers: Value = dark
            .execute(
                "return matchMedia('(prefers-color-scheme: dark)').matches;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            prefers,
            Value::Bool(true),
            "the browser prefers dark colours"
        );
        let page: Value = dark
            .execute(
                "return getComputedStyle(document.body).backgroundColor;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(page, "rgb(21, 23, 26)", "the whole page is dark: {what}");
        check(dark, axe, what, all).await;
    }
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_no_violation_in_any_page_at_desktop_or_phone_width() {
    let axe = axe_source();
    let app = crate::common::spawn_app_in(
        tempfile::tempdir().unwrap(),
        &["--max-concurrent-runs", "1"],
    )
    .await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let scene = scene(&app, &token).await;
    let files = tempfile::tempdir().unwrap();
    let driver = driver().await;
    let c = browser(&driver, &files.path().join("profile")).await;
    let mut all = Vec::new();

    sign_in(&c, &app, &axe, &mut all).await;
    let [completed, failed, waiting] = &scene.jobs;
    let pages: Vec<(String, &str, &[&str])> = vec![
        (
            RECEIVERS.into(),
            "the receivers list with its create form",
            &["daily-report", "flaky", "Create"],
        ),
        (
            format!("{RECEIVERS}/{}", scene.receiver),
            "a receiver with deliveries and a button to run one again",
            &["accepted", "rejected", "Run again"],
        ),
        (
            "/notebooks/sharing/rest/content/users/admin".into(),
            "the notebooks list",
            &["daily-report", "Add item"],
        ),
        (
            format!("/notebooks/sharing/rest/content/items/{}", scene.item),
            "an item page",
            &["Daily report"],
        ),
        (
            JOBS.into(),
            "the jobs list",
            &["COMPLETED", "FAILED", "retrying"],
        ),
        (
            format!("{JOBS}/{completed}"),
            "a COMPLETED job",
            &["Executed notebook", "features updated: 42"],
        ),
        (
            format!("{JOBS}/{failed}"),
            "a FAILED job",
            &["FAILED", "ValueError"],
        ),
        (
            format!("{JOBS}/{waiting}"),
            "a job waiting for its next attempt",
            &["the next is due at"],
        ),
        (
            "/notebooks/admin/notebooks/dashboard".into(),
            "the dashboard",
            &["Dashboard"],
        ),
        (
            "/notebooks/no/such/page".into(),
            "an error page",
            &["Sign out"],
        ),
        (
            format!("{RECEIVERS}/{}/retryPolicy", scene.flaky),
            "a receiver's retry policy",
            &["3600"],
        ),
        (
            "/notebooks/admin/notebooks/retryPolicy".into(),
            "the site's retry policy",
            &["The site's retry policy"],
        ),
        (
            "/notebooks/admin/notebooks/notices".into(),
            "the failure notices",
            &["Failure notices"],
        ),
        (
            "/notebooks/admin/notebooks/notices/destination".into(),
            "where failure notices go",
            &["Failure notices of admin"],
        ),
        (
            "/notebooks/admin/notebooks/runtimes".into(),
            "the runtimes",
            &["Runtimes"],
        ),
    ];
    for (path, what, shows) in &pages {
        c.goto(&app.url(path)).await.unwrap();
        // The page is the one meant, in the state meant.
        for text in *shows {
            wait_for_text(&c, text, false).await;
        }
        check(&c, &axe, what, &mut all).await;
    }
    check_forms(&c, &app, &axe, &scene.receiver, &mut all).await;
    check_running(&c, &app, &token, &axe, &mut all).await;
    c.close().await.unwrap();

    let dark = files.path().join("dark");
    check_dark(&driver, &dark, &app, &axe, &scene, &mut all).await;
    assert!(
        all.is_empty(),
        "axe-core finds {} violation(s):\n{}",
        all.len(),
        all.join("\n")
    );
}
