//! What runs need before the server starts: a Python that can import
//! `ipykernel`, a clean kernels directory outside the data dir, the
//! cgroups that bound a run's processes, and a sandbox shown to work here
//! (without one, runs are off unless `--allow-unsandboxed-runs`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};

use crate::config::{KernelStart, Role as NodeRole, RunCpu, RunNetwork, ServeArgs};
use crate::health::Health;
use crate::metrics::Metrics;
use crate::runner;
use crate::runner::cgroup::Cgroups;
use crate::runner::network::Pasta;
use crate::runner::sandbox::{Network, Sandbox, Walls};

/// How runs are made on this node.
pub struct Kernels {
    pub python: PathBuf,
    /// Modules a fork server preloads, when kernels are forked.
    pub fork: Option<Vec<String>>,
    pub dir: PathBuf,
    pub walls: Walls,
    /// Runs at once.
    pub size: usize,
}

/// The kernels of this node, or `None` when it runs nothing (runs off, an
/// api node, or no sandbox here and none given up explicitly).
pub async fn prepare(
    args: &ServeArgs,
    data_dir: &Path,
    port: u16,
    metrics: &Metrics,
    health: &Health,
) -> anyhow::Result<Option<Kernels>> {
    if args.max_concurrent_runs == 0 || args.role == NodeRole::Api {
        return Ok(None);
    }
    let python = find_python(args.python.clone(), data_dir).await?;
    let dir = kernels_dir(data_dir)?;
    let fresh = dir.clone();
    tokio::task::spawn_blocking(move || fresh_dir(&fresh))
        .await
        .context("preparing the kernels directory stopped")??;
    let idle = args.run_cpu == RunCpu::Idle;
    let cgroups = match Cgroups::prepare(&kernel_tag(data_dir)?, args.max_run_processes, idle) {
        Ok(c) => {
            tracing::info!("runs are limited through cgroups: {}", c.describe());
            Some(c)
        }
        Err(why) => {
            tracing::warn!(
                "runs have no process limit, and runtimes with maxCpu or maxMemory cannot run: \
                 no cgroup could be made ({why})"
            );
            None
        }
    };
    let sandbox = Sandbox::new(
        run_network(args, port, health),
        vec![std::path::absolute(data_dir)?, dir.clone()],
    );
    let sandbox = match sandbox.probe(&python, &dir).await {
        Ok(()) => {
            metrics.runs_sandboxed();
            Some(sandbox)
        }
        Err(why) if args.allow_unsandboxed_runs => {
            tracing::warn!("runs are NOT walled off (--allow-unsandboxed-runs): {why}");
            health.set_walls_note(format!(
                "runs are not walled off (--allow-unsandboxed-runs): {why}"
            ));
            None
        }
        Err(why) => {
            tracing::error!(
                "this node runs no notebook: {why}; events are accepted and wait. \
                 Start with --allow-unsandboxed-runs to run them without a sandbox"
            );
            health.set_walls_note(format!(
                "runs are off: {why} (--allow-unsandboxed-runs runs them without a sandbox)"
            ));
            return Ok(None);
        }
    };
    Ok(Some(Kernels {
        python,
        fork: (args.kernel_start == KernelStart::Fork).then(|| args.preload.clone()),
        dir,
        walls: Walls {
            idle,
            cgroups,
            limits: crate::domain::runtime::Limits {
                max_cpu: None,
                max_memory: (args.max_run_memory_mb > 0)
                    .then(|| args.max_run_memory_mb.saturating_mul(1 << 20)),
            },
            sandbox,
        },
        size: args.max_concurrent_runs as usize,
    }))
}

/// The network runs get (with this server's `port` on their loopback):
/// their own, through pasta, unless it is missing
/// (then the host's, said in the log and on `/healthz`) or another was
/// asked for.
fn run_network(args: &ServeArgs, port: u16, health: &Health) -> Network {
    match args.run_network {
        RunNetwork::On => Network::Host,
        RunNetwork::None => Network::None,
        RunNetwork::Own => match Pasta::find(port) {
            Some(pasta) => {
                tracing::info!("each run has a network namespace of its own, connected by pasta");
                Network::Own(pasta)
            }
            None => {
                let note = "runs share the host's network namespace: pasta (Debian's passt package) is not installed";
                tracing::warn!("{note}; install it for a network of their own per run, or pass --run-network on to say this is meant");
                health.set_walls_note(note.to_string());
                Network::Host
            }
        },
    }
}

/// The interpreter given, or the data dir's own environment (made when
/// missing); it must import `ipykernel`.
async fn find_python(given: Option<PathBuf>, data_dir: &Path) -> anyhow::Result<PathBuf> {
    let python = match given {
        Some(python) => python,
        None => {
            let dir = data_dir.to_path_buf();
            tokio::task::spawn_blocking(move || runner::setup::setup(&dir))
                .await
                .context("preparing the kernel environment stopped")??
        }
    };
    // The kernel runs in its own working directory: a relative interpreter
    // path would mean something else there. Absolute, but not resolved: a
    // virtual environment's `python` is a symlink that must stay as it is
    // to find its environment.
    let python = if python.components().count() > 1 {
        std::path::absolute(&python)
            .with_context(|| format!("cannot find the Python interpreter {}", python.display()))?
    } else {
        python
    };
    let check = python.clone();
    if !tokio::task::spawn_blocking(move || runner::setup::has_ipykernel(&check)).await? {
        bail!(
            "{} cannot import ipykernel (install it, or run `hookbook kernel setup`)",
            python.display()
        );
    }
    Ok(python)
}

/// Empties the kernels directory: whatever a killed server left behind
/// (kernels still running, sockets, work dirs) goes. Only this user may
/// enter it.
fn fresh_dir(kernels: &Path) -> anyhow::Result<()> {
    runner::kernel::kill_leftovers(kernels);
    let _ = std::fs::remove_dir_all(kernels);
    std::fs::create_dir_all(kernels)
        .with_context(|| format!("cannot create {}", kernels.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(kernels, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot protect {}", kernels.display()))?;
    }
    Ok(())
}

/// Where this data dir's kernels live: outside the data dir (a run's
/// working directory must not lead to the key or the database by walking
/// up), in the temporary directory, one per data dir so that a restart
/// finds what a killed process left.
pub fn kernels_dir(data_dir: &Path) -> anyhow::Result<PathBuf> {
    Ok(std::env::temp_dir().join(format!("hookbook-kernels-{}", kernel_tag(data_dir)?)))
}

/// A short name for this data dir's kernels (directories, cgroups).
fn kernel_tag(data_dir: &Path) -> anyhow::Result<String> {
    use sha2::Digest as _;
    let absolute = std::path::absolute(data_dir)
        .with_context(|| format!("cannot resolve {}", data_dir.display()))?;
    let digest = sha2::Sha256::digest(absolute.as_os_str().as_encoded_bytes());
    Ok(hex::encode(&digest[..8]))
}
