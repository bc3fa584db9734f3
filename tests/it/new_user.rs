//! The whole path a new user takes, in chromium: sign in, upload a
//! notebook, create its receiver with the generated secret, send a test
//! event and watch its cells appear live, see a failing delivery's error in
//! the delivery log, mend the receiver's parameters, run the delivery again
//! from its row, and follow a dashboard's bar to the jobs it counts. The
//! main pages are photographed at desktop and phone width on the way
//! (`target/screenshots/`, where the book's pictures come from).

use std::time::Duration;

use base64::Engine as _;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::browser::{body_text, browser, click_link, driver, fill, shoot, submit, wait_for_text};
use crate::common::wait::eventually;

/// A notebook that plays slowly for a test event (until cancelled, or a
/// minute), and for a real delivery checks its `region` parameter.
fn notebook() -> String {
    json!({
        "cells": [
            {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# Road closures\nReads the edits a feature service sends."},
            {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "source": "region = 'north'\nwebhookPayload = {}", "outputs": [], "execution_count": null},
            {"cell_type": "code", "id": "t", "metadata": {}, "source": "import time\nif webhookPayload.get('hookbook') == 'test event':\n    for step in range(600):\n        print(f'checking layer {step}', flush=True)\n        time.sleep(0.1)", "outputs": [], "execution_count": null},
            {"cell_type": "code", "id": "r", "metadata": {}, "source": "assert region in ('north', 'south'), f'unknown region {region}'\nprint('edits in', region, webhookPayload.get('edits'))", "outputs": [], "execution_count": null}
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5
    })
    .to_string()
}

/// Posts `body` signed as ArcGIS signs, with `secret`.
async fn deliver(url: &str, secret: &str, body: &str) -> u16 {
    let mac = crate::common::events::mac(secret.as_bytes(), &[body.as_bytes()]);
    let signature = format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(mac)
    );
    reqwest::Client::new()
        .post(url)
        .header("x-esrihook-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Waits (bounded, without reloading) until the page shows `text`: the
/// page updates itself.
async fn shows(c: &Client, text: &str) {
    let what = format!("the page shows {text} without a reload");
    eventually(&what, Duration::from_secs(90), || async {
        let seen = body_text(c).await;
        if seen.contains(text) {
            Ok(())
        } else {
            Err(seen)
        }
    })
    .await;
}

async fn click(c: &Client, xpath: &str) {
    c.find(Locator::XPath(xpath))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The same page at phone width, then back.
async fn at_phone_width(c: &Client, name: &str) {
    c.set_window_size(390, 844).await.unwrap();
    let fits: Value = c
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, json!(true), "{name} is wider than a phone");
    shoot(c, name).await;
    c.set_window_size(1280, 1000).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_sets_up_a_receiver_watches_it_run_and_mends_a_failing_delivery() {
    let app = crate::common::spawn_app_in(
        tempfile::tempdir().unwrap(),
        &["--max-concurrent-runs", "1"],
    )
    .await;
    app.add_user("admin", "administrator", &[]).await;
    let files = tempfile::tempdir().unwrap();
    let upload = files.path().join("road-closures.ipynb");
    std::fs::write(&upload, notebook()).unwrap();
    let driver = driver().await;
    let c = browser(&driver, &files.path().join("profile")).await;
    c.set_window_size(1280, 1000).await.unwrap();

    // The front door leads to the sign-in, which leads to the receivers;
    // a notebook comes first.
    c.goto(&format!("{}/", app.base)).await.unwrap();
    fill(&c, "input[name=username]", "admin").await;
    fill(&c, "input[name=password]", crate::common::PASSWORD).await;
    submit(&c, "main form").await;
    wait_for_text(&c, "Webhook receivers", false).await;
    click_link(&c, "Notebooks").await;
    wait_for_text(&c, "Notebooks of admin", false).await;

    // Upload the notebook.
    fill(
        &c,
        "form[action$='/addItem'] input[name=title]",
        "Road closures",
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

    // Its receiver: the notebook by title, the secret generated.
    click_link(&c, "Receivers").await;
    fill(
        &c,
        "form[action$='/create'] input[name=name]",
        "road-closures",
    )
    .await;
    c.find(Locator::Css("form[action$='/create'] select[name=itemId]"))
        .await
        .unwrap()
        .select_by_label("Road closures")
        .await
        .unwrap();
    let secret = c
        .find(Locator::Css("form[action$='/create'] input[name=secret]"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(secret.len(), 32, "a generated secret: {secret}");
    fill(
        &c,
        "form[action$='/create'] textarea[name=parameters]",
        r#"{"region": "nowhere"}"#,
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
    assert!(
        !body_text(&c).await.contains(&secret),
        "the secret is not shown again"
    );
    let receiver_page = c.current_url().await.unwrap();

    // A test event, signed by the server: its job's page plays the run
    // (the notice of what was done stays while it does).
    submit(&c, "form[action$='/sendTestEvent']").await;
    shows(&c, "checking layer 3").await;
    assert!(
        body_text(&c)
            .await
            .contains("Sent a test event to road-closures"),
        "the notice outlives the page's updates"
    );
    c.execute("window.stayed = 'yes';", vec![]).await.unwrap();
    shows(&c, "checking layer 8").await;
    let running: Value = c
        .execute(
            "var r = document.querySelector('.notebook .cell.running'); return r ? r.textContent : null;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        running.as_str().is_some_and(|t| t.contains("In [*]:")),
        "the running cell is marked: {running}"
    );
    let stayed: Value = c.execute("return window.stayed;", vec![]).await.unwrap();
    assert_eq!(stayed, "yes", "the outputs came without a reload");
    let page = body_text(&c).await;
    assert!(page.contains("The notebook so far"), "{page}");
    assert!(page.contains("Time taken so far:"), "{page}");
    c.execute(
        "document.querySelector('.notebook .cell.running').scrollIntoView({block: 'end'});",
        vec![],
    )
    .await
    .unwrap();
    shoot(&c, "live-job.png").await;
    c.set_window_size(390, 844).await.unwrap();
    c.execute(
        "document.querySelector('.notebook .cell.running').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    at_phone_width(&c, "live-job-narrow.png").await;
    submit(&c, "form[action$='/cancel']").await;
    shows(&c, "CANCELLED").await;

    // A real delivery fails on the receiver's parameters: the delivery log
    // says how, with the error's first line.
    assert_eq!(deliver(&url, &secret, r#"{"edits": 3}"#).await, 200);
    c.goto(receiver_page.as_str()).await.unwrap();
    // The receiver's page is read again as a person would (it does not
    // update itself: its forms hold generated secrets).
    wait_for_text(&c, "AssertionError: unknown region nowhere", true).await;
    let failed = c
        .find(Locator::XPath(
            "//section[h2[contains(., 'deliveries')]]//td[contains(@class, 'FAILED')]",
        ))
        .await;
    assert!(failed.is_ok(), "the run's state in the log, as a failure");

    // Mend the parameters, then run the delivery again from its row.
    let parameters = c
        .find(Locator::XPath(
            "//form[h2[normalize-space()='Update']]//textarea[@name='parameters']",
        ))
        .await
        .unwrap();
    parameters.clear().await.unwrap();
    parameters
        .send_keys(r#"{"region": "north"}"#)
        .await
        .unwrap();
    click(
        &c,
        "//form[h2[normalize-space()='Update']]//button[@type='submit']",
    )
    .await;
    wait_for_text(&c, "Saved", false).await;
    click(
        &c,
        "(//section[h2[contains(., 'deliveries')]]//tr[.//td[contains(@class, 'FAILED')]]//button)[1]",
    )
    .await;
    shows(&c, "COMPLETED").await;
    shows(&c, "edits in north 3").await;
    shoot(&c, "job.png").await;

    // The receiver's log now shows both runs; its dashboard's bars open the
    // jobs they count.
    c.goto(receiver_page.as_str()).await.unwrap();
    wait_for_text(&c, "COMPLETED", true).await;
    shoot(&c, "receiver.png").await;
    at_phone_width(&c, "receiver-narrow.png").await;
    click_link(&c, "Dashboard").await;
    wait_for_text(&c, "The last hour", false).await;
    shoot(&c, "dashboard.png").await;
    at_phone_width(&c, "dashboard-narrow.png").await;
    let bar = c
        .find(Locator::Css("svg.plot a[href*='status=FAILED']"))
        .await
        .expect("a bar of failed runs that links to them");
    c.execute(
        "arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}));",
        vec![serde_json::to_value(&bar).unwrap()],
    )
    .await
    .unwrap();
    wait_for_text(&c, "AssertionError: unknown region nowhere", false).await;
    let listed = c.current_url().await.unwrap();
    assert!(
        listed.path().ends_with("/jobs") && listed.query().unwrap_or("").contains("status=FAILED"),
        "{listed}"
    );
    assert!(
        !body_text(&c).await.contains("edits in north"),
        "only the failed jobs"
    );
    shoot(&c, "jobs.png").await;
    at_phone_width(&c, "jobs-narrow.png").await;
    c.close().await.unwrap();
}
