//! The pages in a real browser (Debian's chromium through chromedriver),
//! used as a person would: sign in, upload a notebook, create a receiver,
//! send a signed webhook, watch the job complete, read the executed
//! notebook, run it again, disable the receiver (confirming) and see the
//! next delivery refused in its log; then the same pages on a phone-sized
//! screen. No page reloads itself. Screenshots of the
//! main pages go to `target/screenshots/`.

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::wait::{eventually, eventually_every};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free port, killed with the test.
pub(crate) struct Driver(Child, u16);

impl Drop for Driver {
    /// chromedriver leads a process group of its own, which the chromium it
    /// starts joins: the whole group is killed, so that no browser outlives
    /// a test that fails before it closes its session.
    fn drop(&mut self) {
        use nix::sys::signal::{killpg, Signal};
        let _ = killpg(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            Signal::SIGKILL,
        );
        let _ = self.0.wait();
    }
}

pub(crate) async fn driver() -> Driver {
    for path in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            std::path::Path::new(path).exists(),
            "{path} is missing: install Debian's chromium and chromium-driver (scripts/test does)"
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    eventually("chromedriver answers", Duration::from_secs(30), || async {
        reqwest::get(format!("http://127.0.0.1:{port}/status"))
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    })
    .await;
    Driver(child, port)
}

pub(crate) async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    browser_with(driver, profile, &[]).await
}

/// [`browser`], with more of chromium's flags (`--force-dark-mode`).
pub(crate) async fn browser_with(
    driver: &Driver,
    profile: &std::path::Path,
    flags: &[&str],
) -> Client {
    let mut args = vec![
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,1000",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.extend(flags.iter().map(|f| f.to_string()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": CHROMIUM, "args": args}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.1))
        .await
        .expect("a chromium session")
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) async fn shoot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(screenshots().join(name), png).unwrap();
}

pub(crate) async fn fill(c: &Client, css: &str, text: &str) {
    let field = c.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

pub(crate) async fn submit(c: &Client, form_css: &str) {
    c.find(Locator::Css(&format!("{form_css} button[type=submit]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Follows the link with this text.
pub(crate) async fn click_link(c: &Client, text: &str) {
    c.find(Locator::LinkText(text))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The page's text; empty while a new page is replacing the old one.
pub(crate) async fn body_text(c: &Client) -> String {
    match c.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits (bounded) until the page, reloading itself or reloaded, shows `text`.
pub(crate) async fn wait_for_text(c: &Client, text: &str, reload: bool) {
    let what = format!("the page shows {text}");
    // A reload every half second, not every 50 ms: each is a page the
    // server renders and chromium lays out on a two-core machine.
    let pace = Duration::from_millis(if reload { 500 } else { 50 });
    eventually_every(&what, Duration::from_secs(60), pace, || async {
        let seen = body_text(c).await;
        if seen.contains(text) {
            return Ok(());
        }
        if reload {
            c.refresh().await.unwrap();
        }
        Err(seen)
    })
    .await;
}

/// Waits (bounded), reloading the page every half second, until an
/// element matches `css`.
async fn wait_for_css(c: &Client, css: &str) {
    let what = format!("an element {css}");
    eventually_every(
        &what,
        Duration::from_secs(60),
        Duration::from_millis(500),
        || async {
            if !c
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default()
                .is_empty()
            {
                return Ok(());
            }
            let seen = body_text(c).await;
            c.refresh().await.unwrap();
            Err(seen)
        },
    )
    .await;
}

/// Checks that the page does not reload itself (no `<meta http-equiv>`).
async fn assert_no_reload(c: &Client) {
    let reloads: Value = c
        .execute(
            "return document.querySelector('meta[http-equiv]') !== null;",
            vec![],
        )
        .await
        .unwrap();
    let url = c.current_url().await.unwrap();
    assert_eq!(reloads, json!(false), "{url} reloads itself");
}

/// A notebook with Markdown, a printed payload, an HTML output carrying a
/// script, and an image.
pub(crate) fn notebook() -> String {
    json!({
        "cells": [
            {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# Daily report\nRuns on *every* delivery."},
            {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "source": "webhookPayload = {}", "outputs": [], "execution_count": null},
            {"cell_type": "code", "id": "a", "metadata": {}, "source": "print('features updated:', webhookPayload['count'])", "outputs": [], "execution_count": null},
            {"cell_type": "code", "id": "h", "metadata": {}, "source": "from IPython.display import HTML, Image, display\ndisplay(HTML('<b class=\"made\">bold output</b><script>document.title=\"pwned\"</script>'))\ndisplay(Image(data=bytes.fromhex('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f9e5b40000000049454e44ae426082')))", "outputs": [], "execution_count": null}
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5
    })
    .to_string()
}

async fn deliver(url: &str, body: &str) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header(
            "x-esrihook-signature",
            crate::common::events::esri(body.as_bytes()),
        )
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_runs_a_notebook_from_a_webhook_without_curl() {
    let app = crate::common::spawn_app_in(
        tempfile::tempdir().unwrap(),
        &["--max-concurrent-runs", "1"],
    )
    .await;
    app.add_user("admin", "administrator", &[]).await;
    let files = tempfile::tempdir().unwrap();
    let upload = files.path().join("report.ipynb");
    std::fs::write(&upload, notebook()).unwrap();
    let driver = driver().await;
    let c = browser(&driver, &files.path().join("profile")).await;
    let base = &app.base;

    // Not signed in: the receivers page offers a sign-in, which leads back.
    c.goto(&format!(
        "{base}/notebooks/admin/notebooks/webhookReceivers"
    ))
    .await
    .unwrap();
    assert!(body_text(&c).await.contains("Token Required."));
    click_link(&c, "Sign in").await;
    fill(&c, "input[name=username]", "admin").await;
    fill(&c, "input[name=password]", crate::common::PASSWORD).await;
    shoot(&c, "sign-in.png").await;
    submit(&c, "main form").await;
    wait_for_text(&c, "Webhook receivers", false).await;
    assert!(c
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/webhookReceivers"));

    // Upload the notebook from the Notebooks page.
    click_link(&c, "Notebooks").await;
    fill(
        &c,
        "form[action$='/addItem'] input[name=title]",
        "Daily report",
    )
    .await;
    c.find(Locator::Css("form[action$='/addItem'] input[type=file]"))
        .await
        .unwrap()
        .send_keys(upload.to_str().unwrap())
        .await
        .unwrap();
    submit(&c, "form[action$='/addItem']").await;
    wait_for_text(&c, "Download the notebook", false).await;
    click_link(&c, "Notebooks").await;
    wait_for_text(&c, "Daily report", false).await;
    shoot(&c, "notebooks.png").await;
    let item = c
        .find(Locator::Css("main table tbody tr td:nth-child(2)"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(item.len(), 32, "an item id: {item}");

    // Create a receiver for it.
    click_link(&c, "Receivers").await;
    fill(
        &c,
        "form[action$='/create'] input[name=name]",
        "features-updated",
    )
    .await;
    // The notebook is picked by its title; the secret comes generated.
    c.find(Locator::Css("form[action$='/create'] select[name=itemId]"))
        .await
        .unwrap()
        .select_by_value(&item)
        .await
        .unwrap();
    let generated = c
        .find(Locator::Css("form[action$='/create'] input[name=secret]"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(generated.len(), 32, "a generated secret: {generated}");
    fill(
        &c,
        "form[action$='/create'] input[name=secret]",
        crate::common::SECRET,
    )
    .await;
    fill(
        &c,
        "form[action$='/create'] textarea[name=parameters]",
        r#"{"region": "north"}"#,
    )
    .await;
    submit(&c, "form[action$='/create']").await;
    wait_for_text(&c, "Receiver URL", false).await;
    let url = c
        .find(Locator::Css("input.copy"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .expect("the receiver URL");
    assert!(url.contains("/notebooks/rest/events/webhooks/"), "{url}");
    // The page's policy lets its own style and script work, and only them.
    let styled: Value = c
        .execute("return getComputedStyle(document.body).fontFamily;", vec![])
        .await
        .unwrap();
    assert!(styled.as_str().unwrap().contains("system-ui"), "{styled}");
    let copy = c.find(Locator::Css("button[data-copy]")).await.unwrap();
    copy.click().await.unwrap();
    assert_eq!(
        copy.text().await.unwrap(),
        "Copied",
        "the page's script runs"
    );
    let commands = body_text(&c).await;
    assert!(commands.contains("hookbook send"), "{commands}");

    // A signed webhook arrives; the jobs page follows it to the end.
    assert_eq!(deliver(&url, r#"{"count": 42}"#).await, 200);
    click_link(&c, "Jobs").await;
    assert_no_reload(&c).await;
    // The job's own row, not the filter's choice of the same word.
    wait_for_css(&c, "main table tbody td.COMPLETED").await;
    shoot(&c, "jobs-completed.png").await;
    c.find(Locator::Css("main table tbody tr td:first-child a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Executed notebook", false).await;
    let page = body_text(&c).await;
    assert!(page.contains("features updated: 42"), "{page}");
    assert!(page.contains("In [3]:"), "Jupyter's prompts: {page}");
    // Code is highlighted by the page's own stylesheet (AA contrast).
    let keyword: Value = c
        .execute(
            "var k = document.querySelector('.notebook .hl .k'); return k ? [k.textContent, getComputedStyle(k).color] : null;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(keyword[1], "rgb(0, 122, 0)", "{keyword}");
    assert!(
        page.contains("Daily report"),
        "Markdown is rendered: {page}"
    );
    let bold = c
        .find(Locator::Css(".notebook b"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(bold, "bold output", "the HTML output is shown");
    assert_ne!(
        c.title().await.unwrap(),
        "pwned",
        "the output's script did not run"
    );
    let image: Value = c
        .execute(
            "var i = document.querySelector('.notebook img'); return i ? [i.naturalWidth, i.src.slice(0, 22)] : null;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        image,
        json!([1, "data:image/png;base64,"]),
        "the image shows"
    );
    c.execute(
        "document.querySelector('.notebook').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    shoot(&c, "executed-notebook.png").await;
    assert_no_reload(&c).await;

    // Run it again from its page: the browser ends on the new job's page
    // (a redirect after the post), which says what happened once.
    let first = c.current_url().await.unwrap();
    submit(&c, "form[action$='/replay']").await;
    wait_for_text(&c, "runs the event of job", false).await;
    let second = c.current_url().await.unwrap();
    assert!(
        second
            .path()
            .starts_with("/notebooks/admin/notebooks/jobs/")
            && second != first,
        "on the new job's page: {second}"
    );
    assert!(
        c.title().await.unwrap().starts_with("Job "),
        "a page, not JSON"
    );
    assert_no_reload(&c).await;
    // The page plays the run to its end by itself; read again, it no
    // longer shows the notice.
    wait_for_text(&c, "COMPLETED", false).await;
    c.refresh().await.unwrap();
    wait_for_text(&c, "COMPLETED", false).await;
    assert!(
        !body_text(&c).await.contains("runs the event of job"),
        "the notice is shown once"
    );
    // Disable the receiver: the next delivery is refused, and its log says so.
    click_link(&c, "Its receiver").await;
    c.find(Locator::XPath("//button[normalize-space()='Disable…']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Deliveries to it will be refused", false).await;
    submit(&c, "form[action$='/disable']").await;
    wait_for_text(&c, "disabled: deliveries are refused", false).await;
    assert!(body_text(&c)
        .await
        .contains("Disabled: deliveries to this receiver are refused."));
    assert_eq!(deliver(&url, r#"{"count": 43}"#).await, 403);
    wait_for_text(&c, "rejected", true).await;
    let log = body_text(&c).await;
    assert!(
        log.contains("accepted") && log.contains("disabled"),
        "{log}"
    );
    shoot(&c, "receiver-disabled.png").await;

    // A phone-sized screen: nothing wider than the screen but the tables,
    // which scroll on their own.
    c.set_window_size(390, 844).await.unwrap();
    for path in [
        "/notebooks/admin/notebooks/webhookReceivers",
        "/notebooks/admin/notebooks/jobs",
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        let fits: Value = c
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(fits, json!(true), "{path} is wider than a phone");
    }
    shoot(&c, "receivers-narrow.png").await;

    // Signing out ends the session.
    submit(&c, "header form").await;
    wait_for_text(&c, "Sign in", false).await;
    c.goto(&format!("{base}/notebooks/admin/notebooks/jobs"))
        .await
        .unwrap();
    assert!(body_text(&c).await.contains("Token Required."));
    c.close().await.unwrap();
}
