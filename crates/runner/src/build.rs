//! Building a runtime's Python environment with uv: its requirements (with
//! the ipykernel every kernel needs) resolved into a lock of exact
//! versions, then a virtual environment per runtime version made from that
//! lock, so that every node that builds it gets the same packages. Only
//! wheels are installed (`--no-build`): building a source distribution
//! would run the package's own code on the server. uv's
//! progress goes to the log; a failure keeps uv's own words, which name
//! the package at fault.

use hookbook_core::domain::runtime::Runtime;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use tokio::process::Command;

use super::pools::{Pools, RuntimeEnv};

use hookbook_core::domain::runtime::{Requirements, RuntimeId, RuntimeState};
use hookbook_store::{Store, StoreError};

use super::setup::{IPYKERNEL, UV};

/// The file an environment gets once installed to the end (holding the
/// lock it was installed from).
pub(crate) const BUILT: &str = ".hookbook-lock.txt";

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "uv was not found next to the kernel's Python nor on the PATH; run `hookbook kernel \
         setup`, or install {UV} next to the kernel's Python"
    )]
    NoUv,
    #[error("the requirements could not be resolved: {0}")]
    Resolve(String),
    #[error("the environment could not be installed: {0}")]
    Install(String),
    #[error("uv could not be run")]
    Run(#[source] std::io::Error),
    #[error("the runtime's state could not be stored")]
    Store(#[from] StoreError),
}

/// A step of a build, as it begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildStep {
    /// Resolving the requirements into a lock (a version without one).
    Resolving,
    /// Installing the lock's packages.
    Installing { packages: usize },
}

/// Builds the current version of `runtime`: resolves its lock when it has
/// none (and stores it, so that other nodes install the same), installs
/// it, and marks it ready; a failure is stored as the runtime's message.
/// `step` hears each step as it begins (the log, or a person's terminal).
/// Returns the version's interpreter.
pub async fn build(
    store: &dyn Store,
    builder: &Builder,
    runtime: &Runtime,
    step: &(dyn Fn(BuildStep) + Sync),
) -> Result<PathBuf, BuildError> {
    let (id, version) = (&runtime.id, runtime.version);
    // One build of a version at a time on this machine (a server's builder
    // and `hookbook runtime add` on the same data dir): the second waits,
    // then finds it built.
    let _building = builder.hold(id, version).await?;
    let built = async {
        if builder.is_built(id, version) {
            return Ok(builder.python_of(id, version));
        }
        let lock = match &runtime.lock {
            Some(lock) => lock.clone(),
            None => {
                tracing::info!(runtime = %runtime.name, version, "resolving the requirements with uv");
                step(BuildStep::Resolving);
                let lock = builder.resolve(&runtime.requirements).await?;
                store
                    .set_runtime_state(id, version, RuntimeState::Building, Some(&lock), "installing")
                    .await?;
                // The first lock stored wins: another node may have
                // resolved this version first, and every node installs
                // the same.
                match store.runtime(id).await? {
                    Some(stored) if stored.version == version => stored.lock.unwrap_or(lock),
                    _ => lock,
                }
            }
        };
        // A requirement per line; comments and `--hash` lines indented.
        let packages = lock
            .lines()
            .filter(|l| l.chars().next().is_some_and(|c| !c.is_whitespace() && c != '#' && c != '-'))
            .count();
        tracing::info!(runtime = %runtime.name, version, packages, "installing with uv");
        step(BuildStep::Installing { packages });
        builder.install(id, version, &lock).await
    }
    .await;
    match built {
        Ok(python) => {
            store
                .set_runtime_state(id, version, RuntimeState::Ready, None, "")
                .await?;
            tracing::info!(runtime = %runtime.name, version, "runtime built");
            Ok(python)
        }
        Err(e) => {
            let message = hookbook_core::report::chain(&e);
            tracing::warn!(runtime = %runtime.name, version, "a runtime's build failed: {message}");
            store
                .set_runtime_state(id, version, RuntimeState::Failed, None, &message)
                .await?;
            Err(e)
        }
    }
}

/// Builds runtimes' environments under `root` (`<root>/<id>/<version>`)
/// from the interpreter `python` with the uv binary `uv`.
#[derive(Debug, Clone)]
pub struct Builder {
    pub(crate) uv: PathBuf,
    python: PathBuf,
    root: PathBuf,
}

impl Builder {
    /// Uses the uv next to `python` (where `pip install uv` puts it in a
    /// virtual environment), else the one on the `PATH`. `root` is made
    /// absolute: a kernel starts in its own working directory, where a
    /// relative interpreter path would name nothing.
    pub fn new(python: &Path, root: PathBuf) -> Self {
        let root = std::path::absolute(&root).unwrap_or(root);
        let uv = python
            .parent()
            .map(|dir| dir.join("uv"))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("uv"));
        Self {
            uv,
            python: python.to_path_buf(),
            root,
        }
    }

    /// The interpreter of a runtime version's environment.
    pub fn python_of(&self, id: &RuntimeId, version: u32) -> PathBuf {
        self.dir_of(id, version).join("bin").join("python")
    }

    /// The version of `r` that runs on this node use: its current one once
    /// built and ready here; meanwhile (being built, or failed) the newest
    /// older one built here, which keeps serving; none when there is none.
    pub fn serving(&self, r: &Runtime) -> Option<RuntimeEnv> {
        let version = if r.state == RuntimeState::Ready && self.is_built(&r.id, r.version) {
            r.version
        } else {
            self.newest_built_before(&r.id, r.version)?
        };
        Some(RuntimeEnv {
            id: r.id.clone(),
            version,
            name: r.name.to_string(),
            python: self.python_of(&r.id, version),
            preload: r.preload.modules().to_vec(),
            limits: r.limits,
        })
    }

    /// The newest version below `version` built to the end here.
    fn newest_built_before(&self, id: &RuntimeId, version: u32) -> Option<u32> {
        std::fs::read_dir(self.root.join(id.as_str()))
            .ok()?
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|v| *v < version && self.is_built(id, *v))
            .max()
    }

    pub(crate) fn dir_of(&self, id: &RuntimeId, version: u32) -> PathBuf {
        self.root.join(id.as_str()).join(version.to_string())
    }

    /// Whether the version's environment was installed to the end here
    /// (a build cut short leaves an interpreter but not this mark).
    pub fn is_built(&self, id: &RuntimeId, version: u32) -> bool {
        self.dir_of(id, version).join(BUILT).exists()
    }

    /// Holds the version's build lock (a `flock` on a file beside its
    /// directory) until the returned guard is dropped.
    async fn hold(
        &self,
        id: &RuntimeId,
        version: u32,
    ) -> Result<nix::fcntl::Flock<std::fs::File>, BuildError> {
        let parent = self.prepared_root().await?.join(id.as_str());
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(BuildError::Run)?;
        let path = parent.join(format!("{version}.building"));
        tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
                .map_err(|(_, errno)| std::io::Error::from(errno))
        })
        .await
        .map_err(|e| BuildError::Run(std::io::Error::other(e)))?
        .map_err(BuildError::Run)
    }

    /// The exact versions of `requirements` and ipykernel, with every
    /// dependency, for this node's Python.
    pub async fn resolve(&self, requirements: &Requirements) -> Result<String, BuildError> {
        let mut input = requirements.to_file();
        if !requirements.iter().any(|r| r.name() == "ipykernel") {
            input.push_str(IPYKERNEL);
            input.push('\n');
        }
        let file = self
            .prepared_root()
            .await?
            .join(format!(".resolve-{}.in", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&file, input)
            .await
            .map_err(BuildError::Run)?;
        let out = self
            .run(
                ["pip", "compile", "--no-header", "--quiet", "--no-build"],
                Some(&file),
                true,
            )
            .await;
        let _ = tokio::fs::remove_file(&file).await;
        let out = out?;
        if !out.status.success() {
            return Err(BuildError::Resolve(uv_said(&out.stderr)));
        }
        String::from_utf8(out.stdout)
            .map_err(|_| BuildError::Resolve("uv's lock is not UTF-8".into()))
    }

    /// Makes the environment of `version` from `lock` (again from the
    /// start if a build was cut short), with every module compiled to
    /// bytecode (runs see it read-only, so a kernel could not cache what it
    /// compiles); returns its interpreter.
    pub async fn install(
        &self,
        id: &RuntimeId,
        version: u32,
        lock: &str,
    ) -> Result<PathBuf, BuildError> {
        let dir = self.dir_of(id, version);
        let _ = tokio::fs::remove_dir_all(&dir).await;
        let parent = self.prepared_root().await?.join(id.as_str());
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(BuildError::Run)?;
        let out = self.run(["venv", "--quiet"], Some(&dir), true).await?;
        if !out.status.success() {
            return Err(BuildError::Install(uv_said(&out.stderr)));
        }
        let lock_file = parent.join(format!("{version}.lock.txt"));
        tokio::fs::write(&lock_file, lock)
            .await
            .map_err(BuildError::Run)?;
        let python = self.python_of(id, version);
        let out = Command::new(&self.uv)
            .args([
                "pip",
                "sync",
                "--quiet",
                "--no-build",
                "--compile-bytecode",
                "--python",
            ])
            .arg(&python)
            .arg(&lock_file)
            .output()
            .await
            .map_err(spawned)?;
        if !out.status.success() {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return Err(BuildError::Install(uv_said(&out.stderr)));
        }
        tokio::fs::write(dir.join(BUILT), lock)
            .await
            .map_err(BuildError::Run)?;
        Ok(python)
    }

    /// The directory environments are built in, made when missing.
    async fn prepared_root(&self) -> Result<&Path, BuildError> {
        tokio::fs::create_dir_all(&self.root)
            .await
            .map_err(BuildError::Run)?;
        Ok(&self.root)
    }

    /// Runs uv with `args`, then `path` when given, then (when `python`)
    /// `--python` and this node's Python.
    async fn run<const N: usize>(
        &self,
        args: [&str; N],
        path: Option<&Path>,
        python: bool,
    ) -> Result<std::process::Output, BuildError> {
        let mut command = Command::new(&self.uv);
        command.args(args);
        if let Some(path) = path {
            command.arg(path);
        }
        if python {
            command.arg("--python").arg(&self.python);
        }
        command.output().await.map_err(spawned)
    }
}

/// A failure to start uv: missing, or another error.
fn spawned(e: std::io::Error) -> BuildError {
    if e.kind() == std::io::ErrorKind::NotFound {
        BuildError::NoUv
    } else {
        BuildError::Run(e)
    }
}

/// uv's error, on one line, without its colours.
pub(crate) fn uv_said(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        "uv failed without saying why".into()
    } else {
        lines.join(" ")
    }
}

/// This node's runtime builder: builds each runtime's current version
/// where it is not built here yet (registered or updated here or on
/// another node), when woken and once a minute, and removes the
/// environments of versions and runtimes gone. A version that failed is
/// not tried again until the runtime changes.
pub async fn keep_built(
    store: std::sync::Arc<dyn Store>,
    builder: Builder,
    pools: std::sync::Arc<Pools>,
    wake: std::sync::Arc<tokio::sync::Notify>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        match store.runtimes().await {
            Ok(runtimes) => {
                for r in &runtimes {
                    let here = builder.is_built(&r.id, r.version);
                    let due = match r.state {
                        RuntimeState::Building => true,
                        RuntimeState::Ready => !here,
                        RuntimeState::Failed => false,
                    };
                    if due && !shutdown.is_cancelled() {
                        // A failure is stored with the runtime and logged.
                        let _ = build(store.as_ref(), &builder, r, &|_| {}).await;
                    }
                }
                let serving: Vec<RuntimeEnv> =
                    runtimes.iter().filter_map(|r| builder.serving(r)).collect();
                pools.retire(&serving).await;
                builder.prune(&runtimes, &pools.held()).await;
            }
            Err(e) => tracing::warn!(
                error = %hookbook_core::report::chain(&e),
                "the runtime builder cannot read the runtimes"
            ),
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

impl Builder {
    /// Removes the environments of runtimes not in `runtimes`, and of
    /// versions older than one built and ready here, except those a run
    /// holds (`held`).
    async fn prune(&self, runtimes: &[Runtime], held: &HashSet<(RuntimeId, u32)>) {
        let Ok(mut dirs) = tokio::fs::read_dir(&self.root).await else {
            return;
        };
        while let Ok(Some(entry)) = dirs.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let in_use = held.iter().any(|(id, _)| id.as_str() == name);
            let Some(r) = runtimes.iter().find(|r| r.id.as_str() == name) else {
                if !in_use {
                    let _ = tokio::fs::remove_dir_all(entry.path()).await;
                }
                continue;
            };
            if r.state != RuntimeState::Ready || !self.is_built(&r.id, r.version) {
                continue;
            }
            let Ok(mut versions) = tokio::fs::read_dir(entry.path()).await else {
                continue;
            };
            while let Ok(Some(v)) = versions.next_entry().await {
                let old = v
                    .file_name()
                    .to_string_lossy()
                    .split('.')
                    .next()
                    .and_then(|n| n.parse::<u32>().ok())
                    .is_some_and(|n| n < r.version && !held.contains(&(r.id.clone(), n)));
                if old {
                    let path = v.path();
                    let _ = if path.is_dir() {
                        tokio::fs::remove_dir_all(path).await
                    } else {
                        tokio::fs::remove_file(path).await
                    };
                }
            }
        }
    }
}
