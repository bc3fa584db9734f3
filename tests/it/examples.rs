//! The book's sender pages, run as written: each page's signed example
//! (its `sh` blocks, from the repository's root, with `url` and `secret`
//! set to a receiver of the page's example notebook in `examples/`) posts
//! the page's example payloads (one answer a line), and the notebooks
//! must print what the page's `text` block says they print.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::docs::blocks;
use crate::common::process::Process;
use crate::common::{jobs, spawn_app_in};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A sender's page and the receiver the page tells its reader to make.
struct Sender {
    page: &'static str,
    notebook: &'static str,
    signature_headers: &'static str,
    secret: &'static str,
    parameters: &'static str,
}

const ESRI_SECRET: &str = "9f8b47c2e4a748d3b58e2a17ad8f2e4b";

/// Runs `sender`'s page against a fresh server; panics with what went wrong.
async fn the_page_runs(sender: Sender) {
    let page = std::fs::read_to_string(format!("{ROOT}/docs/src/senders/{}", sender.page))
        .expect("the sender's page");
    for promise in [
        format!("signatureHeaders={}", sender.signature_headers),
        format!("`{}`", sender.parameters),
        format!("`examples/{}`", sender.notebook),
    ] {
        assert!(
            page.contains(&promise),
            "{} does not say {promise}",
            sender.page
        );
    }
    let script = blocks(&page, "sh").join("\n");
    let printed = blocks(&page, "text")
        .pop()
        .expect("what the notebook prints");
    assert!(
        !script.is_empty() && !printed.trim().is_empty(),
        "{}",
        sender.page
    );

    let dir = tempfile::tempdir().expect("a data dir");
    let app = spawn_app_in(dir, &["--max-concurrent-runs", "1"]).await;
    let token = app.cast().await.admin;
    let notebook = std::fs::read_to_string(format!("{ROOT}/examples/{}", sender.notebook))
        .expect("the example notebook");
    let item = app
        .post_form(
            "/notebooks/sharing/rest/content/users/admin/addItem",
            Some(&token),
            &[
                ("type", "Notebook"),
                ("title", sender.notebook),
                ("text", &notebook),
            ],
        )
        .await;
    assert_eq!(item.status, 200, "{}", item.json);
    let receiver = app
        .create_receiver(
            &token,
            &[
                ("name", "example"),
                ("itemId", item.json["id"].as_str().unwrap()),
                ("secret", sender.secret),
                ("signatureHeaders", sender.signature_headers),
                ("parameters", sender.parameters),
            ],
        )
        .await;
    assert_eq!(receiver.status, 200, "{}", receiver.json);
    let url = receiver.json["webhookReceiver"]["url"].as_str().unwrap();

    // The server runs in this test's runtime: the script waits off it.
    let (url, secret) = (url.to_owned(), sender.secret);
    let out = tokio::task::spawn_blocking(move || {
        Process::spawn(
            Command::new("timeout")
                .args(["60", "bash", "-e", "-o", "pipefail", "-c", &script])
                .current_dir(ROOT)
                .env("url", url)
                .env("secret", secret)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        )
        .wait_with_output()
    })
    .await
    .expect("the script's waiter");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{}: {}\n{stdout}\n{stderr}",
        sender.page,
        out.status
    );
    let mut output = String::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let answer: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{}: an answer is not JSON ({e}): {stdout}", sender.page));
        let job = answer["jobId"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: {answer}", sender.page));
        let done = jobs::finished(&app, &token, job).await;
        assert_eq!(done["status"], "COMPLETED", "{}: {done}", sender.page);
        let executed = app
            .get(
                &format!("/notebooks/admin/notebooks/jobs/{job}/notebook"),
                Some(&token),
            )
            .await
            .json;
        output.push_str(&printed_text(&executed));
    }
    for line in printed.lines() {
        assert!(
            output.lines().any(|l| matches(line, l)),
            "{}: the notebook did not print {line:?}; it printed:\n{output}",
            sender.page
        );
    }
}

/// Whether `printed` is the line `expected`, where a `…` in `expected`
/// stands for any text (an id the example makes as it runs).
fn matches(expected: &str, printed: &str) -> bool {
    match expected.split_once('…') {
        Some((before, after)) => {
            printed.len() >= before.len() + after.len()
                && printed.starts_with(before)
                && printed.ends_with(after)
        }
        None => expected == printed,
    }
}

/// Everything the executed notebook's cells printed.
fn printed_text(notebook: &Value) -> String {
    let mut text = String::new();
    for cell in notebook["cells"].as_array().into_iter().flatten() {
        for output in cell["outputs"].as_array().into_iter().flatten() {
            match &output["text"] {
                Value::String(s) => text.push_str(s),
                Value::Array(parts) => parts
                    .iter()
                    .filter_map(Value::as_str)
                    .for_each(|s| text.push_str(s)),
                _ => {}
            }
        }
    }
    text
}

#[tokio::test]
async fn the_arcgis_feature_service_page_runs_its_example() {
    the_page_runs(Sender {
        page: "arcgis-feature-service.md",
        notebook: "arcgis-feature-service/edits.ipynb",
        signature_headers: "x-esrihook-signature",
        secret: ESRI_SECRET,
        parameters: r#"{"layer": "roads"}"#,
    })
    .await;
}

#[tokio::test]
async fn the_arcgis_organization_page_runs_its_example() {
    the_page_runs(Sender {
        page: "arcgis-organization.md",
        notebook: "arcgis-organization/portal-events.ipynb",
        signature_headers: "x-esrihook-signature",
        secret: ESRI_SECRET,
        parameters: r#"{"notify": "gis-admins"}"#,
    })
    .await;
}

#[tokio::test]
async fn the_github_page_runs_its_example() {
    the_page_runs(Sender {
        page: "github.md",
        notebook: "github/push.ipynb",
        signature_headers: "x-hub-signature-256",
        secret: ESRI_SECRET,
        parameters: r#"{"branch": "main"}"#,
    })
    .await;
}

#[tokio::test]
async fn the_standard_webhooks_page_runs_its_example() {
    the_page_runs(Sender {
        page: "standard-webhooks.md",
        notebook: "standard-webhooks/event.ipynb",
        signature_headers: "webhook-signature",
        secret: "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX",
        parameters: r#"{"expect": "job.failed"}"#,
    })
    .await;
}
