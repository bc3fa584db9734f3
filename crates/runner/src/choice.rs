//! Where a claimed job's kernel comes from: the default environment or
//! the runtime the job asks for (by id from `executeNotebook`, else by the
//! notebook's `esriNotebookRuntime`), and the wait while that runtime is
//! being built on this node.

use hookbook_core::domain::job::Job;
use std::time::Duration;

use serde_json::Value;

use hookbook_core::domain::runtime::{RuntimeState, DEFAULT_RUNTIME};
use hookbook_core::domain::time::Millis;
use hookbook_core::report::chain;

use super::pools::RuntimeEnv;
use super::record::Outcome;
use super::Runner;

/// How long a job waits for its runtime to be built on this node.
const RUNTIME_WAIT: Duration = Duration::from_secs(3600);
/// How often a job waiting for its runtime looks again.
const RUNTIME_LOOK_AGAIN: Duration = Duration::from_secs(2);

/// Where a run's kernel comes from.
pub(super) enum Choice {
    /// This node's default environment (`None`) or a runtime's.
    Here(Option<RuntimeEnv>),
    /// Its runtime is being built; why, to say if the wait runs out.
    Later(String),
}

/// Puts the job back to wait for its runtime (claimed again in a few
/// seconds, the attempt not counted); `None` then. A job that has waited
/// `RUNTIME_WAIT` fails saying why.
pub(super) async fn wait_for_runtime(runner: &Runner, job: &Job, why: String) -> Option<Outcome> {
    let waited = Millis::now().0 - job.submitted.0;
    if waited > RUNTIME_WAIT.as_millis() as i64 {
        return Some(Outcome::failed(format!("{why} (the job waited an hour)")));
    }
    runner.runs.unregister(&job.id);
    let due = Millis(Millis::now().0 + RUNTIME_LOOK_AGAIN.as_millis() as i64);
    let node = &runner.settings.node;
    if let Err(e) = runner.queue.requeue_job(node, &job.id, Some(due)).await {
        tracing::warn!(error = %chain(&e), "putting a job back to wait for its runtime failed");
    }
    None
}

/// What a run asked for: a runtime by id (`executeNotebook`'s
/// `notebookRuntimeId`) or by name (the notebook's `esriNotebookRuntime`,
/// after the site's aliases).
enum Asked {
    Id(String),
    Name(String),
}

/// The runtime the job asks for (`executeNotebook`'s `notebookRuntimeId`,
/// else the one its notebook names in `esriNotebookRuntime`, after the
/// site's aliases; none, or `Default`: the default environment), or
/// `Later` while it is being built here; why the run cannot start when the
/// site has no such runtime or its build failed.
pub(super) async fn choose_runtime(
    runner: &Runner,
    job: &Job,
    notebook: &Value,
) -> Result<Choice, String> {
    let by_id = job
        .inputs
        .as_ref()
        .and_then(|i| i.notebook_runtime_id.clone());
    let asked = match (by_id, hookbook_core::domain::runtime::asked_by(notebook)) {
        (Some(id), _) => Asked::Id(id),
        (None, None) => return Ok(Choice::Here(None)),
        (None, Some((name, _))) => {
            let aliases = &runner.settings.runtime_aliases;
            Asked::Name(hookbook_core::domain::runtime::resolve_alias(aliases, &name).to_string())
        }
    };
    if matches!(&asked, Asked::Name(n) if n.eq_ignore_ascii_case(DEFAULT_RUNTIME)) {
        return Ok(Choice::Here(None));
    }
    let runtimes = runner.queue.runtimes().await.map_err(|e| {
        tracing::error!(error = %chain(&e), "reading the runtimes failed");
        "The runtimes could not be read; the server log has the details.".to_string()
    })?;
    let found = match &asked {
        Asked::Id(id) => runtimes.iter().find(|r| r.id.as_str() == id).ok_or_else(|| {
            format!("The runtime '{id}' that executeNotebook named (notebookRuntimeId) no longer exists.")
        }),
        Asked::Name(name) => runtimes.iter().find(|r| r.name.matches(name)).ok_or_else(|| {
            format!(
                "This site has no runtime named '{name}' (the notebook's esriNotebookRuntime); \
                 register one with that name, map the name to one with --runtime-alias, or \
                 remove the name from the notebook to run it in the default environment."
            )
        }),
    };
    let r = found?;
    let Some(builder) = &runner.builder else {
        return Err("This node builds no runtimes.".into());
    };
    match (builder.serving(r), r.state) {
        (Some(env), _) => Ok(Choice::Here(Some(env))),
        (None, RuntimeState::Failed) => Err(format!(
            "The runtime '{}' failed to build: {}",
            r.name, r.message
        )),
        (None, _) => {
            // Built here at once, rather than at the builder's next round.
            runner.runs.builds.notify_one();
            Ok(Choice::Later(format!(
                "The runtime '{}' (version {}) was not built on this node in time",
                r.name, r.version
            )))
        }
    }
}
