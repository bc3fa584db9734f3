//! Executing a notebook on a kernel the way papermill does: parameters
//! injected, outputs cleared, cells run in order until the first error,
//! papermill's metadata on the notebook and on each cell, and papermill's
//! two error marker cells when a cell fails.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use super::inject::inject;
use super::kernel::{Execution, Kernel, KernelError};
use super::live::Progress;
use super::outputs::{OutputBudget, Outputs};

const ERROR_TAG: &str = "papermill-error-cell-tag";
const ERROR_STYLE: &str =
    "color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif; font-size:2em;";

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    Completed,
    /// A cell raised: the exception's name and value.
    Failed(String),
    /// The time limit passed; the kernel must be killed.
    TimedOut,
    /// Cancelled by a person; the kernel must be killed.
    Cancelled,
    /// The kernel died or stopped answering.
    KernelLost(String),
}

/// The most of an exception's text a job's message keeps: the notebook
/// has the rest (within its output budget).
const MESSAGE_BYTES: usize = 4096;

/// `text` cut to at most `max` bytes, saying so.
fn clip(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let dropped = text.len() - cut;
    text.truncate(cut);
    text.push_str(&format!(" … ({dropped} more bytes)"));
    text
}

fn now_text() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

fn source_text(cell: &Value) -> String {
    match cell.get("source") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(lines)) => lines.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

/// Brings the notebook to nbformat 4.5 (every cell with an id), clears
/// outputs and sets papermill's pending metadata.
fn prepare(nb: &mut Value, parameters: &Map<String, Value>) {
    nb["nbformat"] = json!(4);
    nb["nbformat_minor"] = json!(5);
    inject(nb, parameters);
    if let Some(cells) = nb.get_mut("cells").and_then(Value::as_array_mut) {
        for (i, cell) in cells.iter_mut().enumerate() {
            let valid = cell.get("id").and_then(Value::as_str).is_some_and(|id| {
                !id.is_empty()
                    && id.len() <= 64
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
            if !valid {
                cell["id"] = json!(format!("cell-{i}"));
            }
            if !cell.get("metadata").is_some_and(Value::is_object) {
                cell["metadata"] = json!({});
            }
            if cell["cell_type"] == "code" {
                cell["outputs"] = json!([]);
                cell["execution_count"] = Value::Null;
            }
            cell["metadata"]["papermill"] = json!({
                "exception": null, "start_time": null, "end_time": null, "duration": null, "status": "pending"
            });
        }
    }
    if !nb.get("metadata").is_some_and(Value::is_object) {
        nb["metadata"] = json!({});
    }
    nb["metadata"]["papermill"] = json!({
        "parameters": parameters,
        "environment_variables": {},
        "version": concat!("hookbook ", env!("CARGO_PKG_VERSION")),
        "input_path": null,
        "output_path": null,
        "start_time": now_text(),
        "end_time": null,
        "duration": null,
        "exception": null,
    });
}

fn marker(id: &str, html: String) -> Value {
    json!({"cell_type": "markdown", "id": id, "metadata": {"tags": [ERROR_TAG]}, "source": html})
}

/// What bounds a run: its time, a person's cancel, its outputs; and
/// where it reports how far it is.
pub struct RunBounds<'a> {
    pub deadline: Instant,
    pub cancel: &'a CancellationToken,
    pub budget: &'a mut OutputBudget,
    pub progress: &'a mut Progress,
}

/// Runs `nb` on `kernel`. Returns the executed notebook and how the run
/// ended.
pub async fn run_notebook(
    kernel: &mut Kernel,
    mut nb: Value,
    parameters: &Map<String, Value>,
    run: RunBounds<'_>,
) -> (Value, RunEnd) {
    let RunBounds {
        deadline,
        cancel,
        budget,
        progress,
    } = run;
    prepare(&mut nb, parameters);
    let started = Instant::now();
    let stop = Stop {
        deadline,
        cancel,
        pid: kernel.pid(),
    };
    // Every request is sent up front and the kernel runs them in order;
    // waiting for each reply before sending the next would add a round
    // trip per cell. After an error the kernel aborts the rest.
    let count = nb["cells"].as_array().map_or(0, Vec::len);
    let codes: Vec<Option<String>> = (0..count)
        .map(|i| {
            let cell = &nb["cells"][i];
            (cell["cell_type"] == "code").then(|| source_text(cell))
        })
        .collect();
    let ids = match submit_all(kernel, &codes, &stop).await {
        Ok(ids) => ids,
        Err(end) => return finish(nb, end, started, None),
    };
    let mut end = RunEnd::Completed;
    let mut failed_at = None;
    for (index, id) in ids.iter().enumerate() {
        if codes[index].is_none() {
            continue;
        }
        let cell_start = Instant::now();
        nb["cells"][index]["metadata"]["papermill"]["status"] = json!("running");
        nb["cells"][index]["metadata"]["papermill"]["start_time"] = json!(now_text());
        progress.cell(&nb);
        let mut so_far = Outputs::default();
        let result = match id {
            None => Ok(None),
            Some(id) => {
                let shown = &nb;
                let mut report = |outputs: &[Value]| progress.output(shown, index, outputs);
                bounded(&stop, kernel.collect(id, budget, &mut so_far, &mut report))
                    .await
                    .map(Some)
            }
        };
        if result.is_err() {
            // Stopped mid-cell: what it printed until then stays.
            nb["cells"][index]["outputs"] = Value::Array(so_far.into_vec());
        }
        match record_cell(&mut nb["cells"][index], result, cell_start) {
            CellEnd::Next => {}
            CellEnd::Exit => break,
            CellEnd::Stop(stop, count) => {
                failed_at = Some((index, count));
                end = stop;
                break;
            }
        }
    }
    finish(nb, end, started, failed_at)
}

/// Sends every code cell's request; their ids (none for an empty cell).
async fn submit_all(
    kernel: &mut Kernel,
    codes: &[Option<String>],
    stop: &Stop<'_>,
) -> Result<Vec<Option<String>>, RunEnd> {
    bounded(stop, async {
        let mut ids = Vec::with_capacity(codes.len());
        for code in codes {
            ids.push(match code {
                Some(code) if !code.trim().is_empty() => Some(kernel.submit(code, false).await?),
                _ => None,
            });
        }
        Ok(ids)
    })
    .await
}

/// What a cell's result means for the rest of the run.
enum CellEnd {
    Next,
    /// `sys.exit()` with success: the run ends here, completed.
    Exit,
    /// The run ends here: how, and the cell's execution count.
    Stop(RunEnd, Option<i64>),
}

/// Writes a cell's outputs and papermill metadata.
fn record_cell(
    cell: &mut Value,
    result: Result<Option<Execution>, RunEnd>,
    started: Instant,
) -> CellEnd {
    cell["metadata"]["papermill"]["end_time"] = json!(now_text());
    cell["metadata"]["papermill"]["duration"] = json!(started.elapsed().as_secs_f64());
    let (status, end) = match result {
        Ok(None) => ("completed", CellEnd::Next),
        Ok(Some(execution)) => {
            cell["outputs"] = Value::Array(execution.outputs);
            cell["execution_count"] = execution.execution_count.map_or(Value::Null, Value::from);
            match execution.error {
                Some((ename, evalue, _))
                    if ename == "SystemExit" && matches!(evalue.as_str(), "" | "0" | "None") =>
                {
                    ("completed", CellEnd::Exit)
                }
                Some((ename, evalue, _)) => (
                    "failed",
                    CellEnd::Stop(
                        RunEnd::Failed(clip(format!("{ename}: {evalue}"), MESSAGE_BYTES)),
                        execution.execution_count,
                    ),
                ),
                None => ("completed", CellEnd::Next),
            }
        }
        Err(stop) => ("failed", CellEnd::Stop(stop, None)),
    };
    cell["metadata"]["papermill"]["status"] = json!(status);
    if status == "failed" {
        cell["metadata"]["papermill"]["exception"] = json!(true);
    }
    end
}

/// Adds papermill's error markers and the notebook's final metadata.
fn finish(
    mut nb: Value,
    end: RunEnd,
    started: Instant,
    failed_at: Option<(usize, Option<i64>)>,
) -> (Value, RunEnd) {
    if let Some((index, count)) = failed_at {
        let label = count.map_or_else(|| " ".to_string(), |n| n.to_string());
        let cells = nb["cells"]
            .as_array_mut()
            .expect("cells were checked above");
        cells.insert(
            index,
            marker(
                "papermill-error-cell",
                format!("<span id=\"papermill-error-cell\" style=\"{ERROR_STYLE}\">Execution using papermill encountered an exception here and stopped:</span>"),
            ),
        );
        cells.insert(
            0,
            marker(
                "papermill-error-top",
                format!("<span style=\"{ERROR_STYLE}\">An Exception was encountered at '<a href=\"#papermill-error-cell\">In [{label}]</a>'.</span>"),
            ),
        );
    }
    let meta = &mut nb["metadata"]["papermill"];
    meta["end_time"] = json!(now_text());
    meta["duration"] = json!(started.elapsed().as_secs_f64());
    meta["exception"] = json!(end != RunEnd::Completed);
    (nb, end)
}

/// Talking to the kernel, bounded by the deadline and by cancellation.
async fn bounded<T>(
    stop: &Stop<'_>,
    work: impl std::future::Future<Output = Result<T, KernelError>>,
) -> Result<T, RunEnd> {
    tokio::select! {
        result = work => result.map_err(|e| RunEnd::KernelLost(hookbook_core::report::chain(&e))),
        _ = tokio::time::sleep_until(stop.deadline.into()) => Err(RunEnd::TimedOut),
        _ = stop.cancel.cancelled() => Err(RunEnd::Cancelled),
        // A kernel that dies says nothing on its sockets: its process is
        // watched, so the run ends now rather than at its time limit.
        _ = super::process::ended(stop.pid, Duration::from_millis(100)) => {
            Err(RunEnd::KernelLost("the kernel's process ended".into()))
        }
    }
}

/// What ends waiting on a kernel besides its answer.
struct Stop<'a> {
    deadline: Instant,
    cancel: &'a CancellationToken,
    /// The kernel's process.
    pid: i32,
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_exceptions_text_is_clipped_in_the_jobs_message() {
        let long = "m".repeat(5_000_000);
        let clipped = super::clip(format!("ValueError: {long}"), super::MESSAGE_BYTES);
        assert!(clipped.len() < super::MESSAGE_BYTES + 40);
        assert!(
            clipped.ends_with("more bytes)"),
            "{}",
            &clipped[clipped.len() - 40..]
        );
        assert_eq!(super::clip("short".into(), 10), "short");
    }

    use super::*;

    #[test]
    fn preparing_upgrades_to_4_5_clears_outputs_and_marks_cells_pending() {
        let mut nb = json!({"cells": [
            {"cell_type": "code", "metadata": {}, "source": ["x = ", "1"], "outputs": [{"output_type": "stream", "name": "stdout", "text": "old"}], "execution_count": 3},
            {"cell_type": "markdown", "id": "bad id!", "metadata": {}, "source": "t"}
        ], "metadata": {}, "nbformat": 4, "nbformat_minor": 2});
        prepare(&mut nb, &Map::new());
        assert_eq!(nb["nbformat_minor"], 5);
        let cells = nb["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 3, "the injected cell is on top");
        assert_eq!(cells[1]["outputs"], json!([]));
        assert_eq!(cells[1]["execution_count"], Value::Null);
        assert_eq!(cells[2]["id"], "cell-2");
        assert!(cells
            .iter()
            .all(|c| c["metadata"]["papermill"]["status"] == "pending"));
        assert_eq!(source_text(&cells[1]), "x = 1");
    }
}
