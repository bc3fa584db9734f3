//! Jobs as the suites watch them: waiting, bounded, for a job to end.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::TestApp;

const JOBS: &str = "/notebooks/admin/notebooks/jobs";

/// Waits (at most two minutes) until the job reaches a final state, read
/// as `token`; its resource then.
pub async fn finished(app: &TestApp, token: &str, job: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let j = app.get(&format!("{JOBS}/{job}"), Some(token)).await.json;
        if ["COMPLETED", "FAILED", "CANCELLED"].contains(&j["status"].as_str().unwrap_or("")) {
            return j;
        }
        assert!(Instant::now() < deadline, "job {job} never finished: {j}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
