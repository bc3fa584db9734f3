//! A runtime's own fork server and limits, on a runtime built for real
//! with uv: its kernels come from a fork server that preloaded its preload
//! list (the module is loaded before the first cell imports it), the
//! metrics show that fork server, a run past its `maxMemory` fails saying
//! so, and a run under `maxCpu` 0.25 gets no more than its share of a core;
//! a run in the default environment keeps to `--max-run-memory-mb`.

use crate::common::jobs::finished;
use crate::common::{spawn_app_in, TestApp};
use serde_json::Value;

const RUNTIMES: &str = "/notebooks/admin/notebooks/runtimes";

/// A notebook of `cells` naming the runtime "Limited".
fn notebook(cells: &[&str]) -> String {
    crate::common::jobs::notebook_of(Some("Limited"), cells)
}

/// Runs `text` as an item of the admin's; the finished job and the text of
/// its executed notebook.
async fn run(app: &TestApp, token: &str, text: &str) -> (Value, String) {
    let item = app
        .post_form(
            "/notebooks/sharing/rest/content/users/admin/addItem",
            Some(token),
            &[("type", "Notebook"), ("title", "Limited"), ("text", text)],
        )
        .await;
    assert_eq!(item.status, 200, "{}", item.json);
    let r = app
        .post_form(
            "/notebooks/admin/notebooks/executeNotebook",
            Some(token),
            &[("itemId", item.json["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let job = r.json["jobId"].as_str().unwrap().to_string();
    let done = finished(app, token, &job).await;
    let executed = app
        .client
        .get(app.url(&format!("/notebooks/admin/notebooks/jobs/{job}/notebook")))
        .query(&[("token", token)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (done, executed)
}

/// The number printed after `label` in an executed notebook.
fn printed(executed: &str, label: &str) -> f64 {
    let at = executed
        .find(label)
        .unwrap_or_else(|| panic!("'{label}' was not printed: {executed}"));
    executed[at + label.len()..]
        .trim_start()
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after '{label}': {executed}"))
}

#[tokio::test]
async fn a_runtime_preloads_in_its_own_fork_server_and_its_runs_keep_to_its_limits() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir, &["--max-concurrent-runs", "1"]).await;
    let cast = app.cast().await;
    let r = app
        .post_form(
            &format!("{RUNTIMES}/register"),
            Some(&cast.admin),
            &[
                ("name", "Limited"),
                ("requirements", "six==1.16.0"),
                ("preload", "six"),
                ("maxCpu", "0.25"),
                ("maxMemory", "256"),
                ("maxMemoryUnit", "m"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);

    // Preloaded: loaded before any cell imports it (the default
    // environment does not even have it).
    let (done, executed) = run(
        &app,
        &cast.admin,
        &notebook(&["import sys\nprint('preloaded', int('six' in sys.modules))"]),
    )
    .await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(printed(&executed, "preloaded"), 1.0, "{executed}");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("hookbook_runtime_fork_server_up{runtime=\"Limited\",version=\"1\"} 1"),
        "{metrics}"
    );

    // A quarter of a core: a busy loop of two seconds gets at most its
    // quota (and one period's burst), whatever else the machine does.
    let busy = "import time\nt0, c0 = time.monotonic(), time.process_time()\n\
                while time.monotonic() - t0 < 2.0:\n    pass\n\
                print('share', (time.process_time() - c0) / (time.monotonic() - t0))";
    let (done, executed) = run(&app, &cast.admin, &notebook(&[busy])).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let share = printed(&executed, "share");
    assert!(
        share < 0.4,
        "a run limited to 0.25 cores got {share} of one"
    );

    // Past its memory: stopped, and the job says why.
    let (done, _) = run(
        &app,
        &cast.admin,
        &notebook(&["blob = b'x' * (600 << 20)", "print('survived')"]),
    )
    .await;
    assert_eq!(done["status"], "FAILED", "{done}");
    let messages = done["messages"].to_string();
    assert!(
        messages.contains("used more memory than its runtime allows (maxMemory, 256 MB)"),
        "{done}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_run_in_the_default_environment_keeps_to_the_sites_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(
        dir,
        &["--max-concurrent-runs", "1", "--max-run-memory-mb", "256"],
    )
    .await;
    let cast = app.cast().await;
    let text = crate::common::jobs::notebook_of(None, &["blob = b'x' * (600 << 20)"]);
    let (done, _) = run(&app, &cast.admin, &text).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert!(
        done["messages"]
            .to_string()
            .contains("used more memory than this site allows a run (--max-run-memory-mb, 256 MB)"),
        "{done}"
    );
    // Under the limit, runs go on as before.
    let small = crate::common::jobs::notebook_of(None, &["print('fine', 1)"]);
    let (done, executed) = run(&app, &cast.admin, &small).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(printed(&executed, "fine"), 1.0);
    app.stop().await;
}
