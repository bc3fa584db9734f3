//! Jobs as the suites watch them: waiting, bounded, for a job to end;
//! and the notebooks they run.

use std::time::Duration;

use serde_json::Value;

use super::wait::eventually;
use super::TestApp;

const JOBS: &str = "/notebooks/admin/notebooks/jobs";

/// Waits (at most two minutes) until the job reaches a final state, read
/// as `token`; its resource then.
pub async fn finished(app: &TestApp, token: &str, job: &str) -> Value {
    let what = format!("job {job} ends");
    eventually(&what, Duration::from_secs(120), || async {
        let j = app.get(&format!("{JOBS}/{job}"), Some(token)).await.json;
        match j["status"].as_str().unwrap_or("") {
            "COMPLETED" | "FAILED" | "CANCELLED" => Ok(j),
            _ => Err(j.to_string()),
        }
    })
    .await
}

/// A notebook of code `cells`, naming `runtime` in its
/// `esriNotebookRuntime` metadata when given.
pub fn notebook_of(runtime: Option<&str>, cells: &[&str]) -> String {
    let cells: Vec<Value> = cells
        .iter()
        .enumerate()
        .map(|(i, source)| {
            serde_json::json!({"cell_type": "code", "id": format!("c{i}"), "metadata": {},
                               "execution_count": null, "outputs": [], "source": source})
        })
        .collect();
    let mut metadata = serde_json::json!({
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    });
    if let Some(name) = runtime {
        metadata["esriNotebookRuntime"] =
            serde_json::json!({"notebookRuntimeName": name, "notebookRuntimeVersion": "1"});
    }
    serde_json::json!({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5})
        .to_string()
}
