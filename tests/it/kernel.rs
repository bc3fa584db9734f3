//! The Jupyter client against a real ipykernel: start, execute, outputs of
//! each kind, errors, interrupt by time limit, and clean-up.

use std::time::{Duration, Instant};

use hookbook::runner::execute::{run_notebook, RunBounds, RunEnd};
use hookbook::runner::kernel::Kernel;
use hookbook::runner::live::{Live, Progress};
use hookbook::runner::outputs::OutputBudget;
use serde_json::{json, Map};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_kernel_starts_runs_code_and_leaves_nothing_behind() {
    let base = tempfile::tempdir().unwrap();
    let mut kernel = Kernel::start(&crate::common::python(), base.path())
        .await
        .expect("ipykernel starts");
    let e = kernel
        .execute("print('hello'); 6 * 7", false)
        .await
        .unwrap();
    assert!(e.error.is_none());
    assert_eq!(e.outputs[0]["output_type"], "stream");
    assert_eq!(e.outputs[0]["text"], "hello\n");
    assert_eq!(e.outputs[1]["output_type"], "execute_result");
    assert_eq!(e.outputs[1]["data"]["text/plain"], "42");
    assert_eq!(e.execution_count, Some(1));
    let e = kernel.execute("1/0", false).await.unwrap();
    let (ename, _, traceback) = e.error.expect("an error");
    assert_eq!(ename, "ZeroDivisionError");
    assert!(!traceback.is_empty());
    kernel.kill().await;
    assert_eq!(
        std::fs::read_dir(base.path()).unwrap().count(),
        0,
        "no socket or file is left"
    );
}

#[tokio::test]
async fn a_notebook_runs_with_papermill_metadata_and_stops_at_the_first_error() {
    let base = tempfile::tempdir().unwrap();
    let mut kernel = Kernel::start(&crate::common::python(), base.path())
        .await
        .unwrap();
    let nb = json!({"cells": [
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "x = 1", "outputs": [], "execution_count": null},
        {"cell_type": "code", "metadata": {}, "source": "from IPython.display import display, HTML\ndisplay(HTML('<b>x</b>'))\nprint(x)", "outputs": [], "execution_count": null},
        {"cell_type": "code", "metadata": {}, "source": "raise ValueError('bad ' + str(x))", "outputs": [], "execution_count": null},
        {"cell_type": "code", "metadata": {}, "source": "print('never')", "outputs": [], "execution_count": null}
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 4});
    let mut params = Map::new();
    params.insert("x".into(), json!(5));
    let (out, end) = run_notebook(
        &mut kernel,
        nb,
        &params,
        RunBounds {
            deadline: Instant::now() + Duration::from_secs(60),
            cancel: &CancellationToken::new(),
            budget: &mut OutputBudget::new(0),
            progress: &mut unwatched(),
        },
    )
    .await;
    kernel.kill().await;
    assert_eq!(end, RunEnd::Failed("ValueError: bad 5".into()));
    let cells = out["cells"].as_array().unwrap();
    assert_eq!(cells[0]["metadata"]["tags"][0], "papermill-error-cell-tag");
    assert_eq!(cells[2]["metadata"]["tags"][0], "injected-parameters");
    assert_eq!(cells[3]["outputs"][0]["output_type"], "display_data");
    assert_eq!(cells[3]["outputs"][1]["text"], "5\n");
    assert_eq!(cells[4]["metadata"]["tags"][0], "papermill-error-cell-tag");
    assert_eq!(cells[5]["metadata"]["papermill"]["status"], "failed");
    assert_eq!(cells[6]["metadata"]["papermill"]["status"], "pending");
    assert_eq!(out["metadata"]["papermill"]["exception"], true);
    crate::common::assert_valid_notebook(&out);
}

#[tokio::test]
async fn a_run_past_its_deadline_ends_as_timed_out() {
    let base = tempfile::tempdir().unwrap();
    let mut kernel = Kernel::start(&crate::common::python(), base.path())
        .await
        .unwrap();
    let nb = json!({"cells": [{"cell_type": "code", "metadata": {}, "source": "import time\ntime.sleep(600)", "outputs": [], "execution_count": null}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5});
    let start = Instant::now();
    let (_, end) = run_notebook(
        &mut kernel,
        nb,
        &Map::new(),
        RunBounds {
            deadline: Instant::now() + Duration::from_millis(800),
            cancel: &CancellationToken::new(),
            budget: &mut OutputBudget::new(0),
            progress: &mut unwatched(),
        },
    )
    .await;
    assert_eq!(end, RunEnd::TimedOut);
    // Ended at its deadline, not by waiting for the ten-minute cell.
    assert!(start.elapsed() < Duration::from_secs(300));
    kernel.kill().await;
    assert_eq!(std::fs::read_dir(base.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_relative_kernels_directory_works() {
    let relative =
        std::path::PathBuf::from(format!("target/kernels-{}", uuid::Uuid::new_v4().simple()));
    let mut kernel = Kernel::start(&crate::common::python(), &relative)
        .await
        .expect("starts from a relative path");
    assert!(kernel.execute("1", false).await.unwrap().error.is_none());
    kernel.kill().await;
    std::fs::remove_dir_all(&relative).unwrap();
}

#[tokio::test]
async fn a_python_without_ipykernel_fails_fast_with_a_clear_error() {
    let base = tempfile::tempdir().unwrap();
    // An interpreter that cannot start ipykernel exits at once.
    let fake = base.path().join("python");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'No module named ipykernel' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let error = match Kernel::start(&fake, &base.path().join("kernels")).await {
        Ok(_) => panic!("a kernel started without ipykernel"),
        Err(e) => e.to_string(),
    };
    // Found by the process's exit, not by the start timeout running out.
    assert!(error.contains("exited"), "{error}");
    assert!(!error.contains("did not become ready"), "{error}");
}

/// Runs `nb` on a kernel of its own with an output budget of 1 MiB; the
/// executed notebook, how it ended, and the budget.
async fn run_within_a_megabyte(nb: serde_json::Value) -> (serde_json::Value, RunEnd, OutputBudget) {
    let base = tempfile::tempdir().unwrap();
    let mut kernel = Kernel::start(&crate::common::python(), base.path())
        .await
        .unwrap();
    let mut budget = OutputBudget::new(1 << 20);
    kernel.provide_env(&Map::new(), &budget).await.unwrap();
    let (out, end) = run_notebook(
        &mut kernel,
        nb,
        &Map::new(),
        RunBounds {
            deadline: Instant::now() + Duration::from_secs(120),
            cancel: &CancellationToken::new(),
            budget: &mut budget,
            progress: &mut unwatched(),
        },
    )
    .await;
    kernel.kill().await;
    (out, end, budget)
}

/// The text of every output of `cells`, joined.
fn all_text(cells: &[serde_json::Value]) -> String {
    cells
        .iter()
        .flat_map(|c| c["outputs"].as_array().cloned().unwrap_or_default())
        .map(|o| o.to_string())
        .collect()
}

#[tokio::test]
async fn outputs_past_the_runs_budget_are_dropped_as_they_come_and_the_run_goes_on() {
    // Printed in pieces, displayed, a cell's result, each far past 1 MB;
    // then a cell that undoes the kernel's own cap and prints again: the
    // server's budget holds on its own.
    let nb = json!({"cells": [
        {"cell_type": "code", "metadata": {}, "source": "for i in range(50):\n    print('p' * (1 << 20))", "outputs": [], "execution_count": null},
        {"cell_type": "code", "metadata": {}, "source": "from IPython.display import display\ndisplay({'text/plain': 'd' * (5 << 20)}, raw=True)", "outputs": [], "execution_count": null},
        {"cell_type": "code", "metadata": {}, "source": "'r' * (5 << 20)", "outputs": [], "execution_count": null},
        {"cell_type": "code", "metadata": {}, "source": "from ipykernel.iostream import OutStream\nf = OutStream._flush_buffers\nOutStream._flush_buffers = dict(zip(f.__code__.co_freevars, (c.cell_contents for c in f.__closure__)))['flush_buffers']\nfor i in range(20):\n    print('u' * (1 << 20))\nprint('done')", "outputs": [], "execution_count": null}
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5});
    let (out, end, budget) = run_within_a_megabyte(nb).await;
    assert_eq!(end, RunEnd::Completed, "the run goes on past its budget");
    assert!(budget.passed());
    let cells = out["cells"].as_array().unwrap();
    let text = all_text(cells);
    assert!(
        text.len() < (1 << 20) + 64 * 1024,
        "the outputs kept are the budget and a note: {} bytes",
        text.len()
    );
    assert_eq!(
        text.matches("--max-run-output-mb").count(),
        1,
        "one note says so"
    );
    assert!(!text.contains("ddd") && !text.contains("rrr") && !text.contains("uuu"));
    crate::common::assert_valid_notebook(&out);
}

#[tokio::test]
async fn the_servers_budget_holds_for_a_notebook_that_undoes_the_kernels_cap() {
    let nb = json!({"cells": [
        {"cell_type": "code", "metadata": {}, "source": "from ipykernel.iostream import OutStream\nf = OutStream._flush_buffers\nOutStream._flush_buffers = dict(zip(f.__code__.co_freevars, (c.cell_contents for c in f.__closure__)))['flush_buffers']\nfor i in range(20):\n    print('u' * (1 << 20))\nprint('done')", "outputs": [], "execution_count": null}
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5});
    let (out, end, budget) = run_within_a_megabyte(nb).await;
    assert_eq!(end, RunEnd::Completed);
    assert!(budget.passed());
    let text = all_text(out["cells"].as_array().unwrap());
    assert!(
        text.len() < (1 << 20) + 64 * 1024,
        "{} bytes kept",
        text.len()
    );
    assert_eq!(text.matches("--max-run-output-mb").count(), 1);
    assert!(!text.contains("done"));
}

/// A run's reports, which no page watches.
fn unwatched() -> Progress {
    Progress::new(
        std::sync::Arc::new(Live::default()),
        hookbook::domain::ids::JobId::generate(),
    )
}
