//! Building and running hookbook: the data dir, the vault, the store, the
//! listener, background upkeep, and the signals that stop it.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{
    Cli, Command, CopyArgs, KernelCommand, MigrateArgs, Role as NodeRole, ServeArgs, StorageArgs,
    UserAddArgs, UserCommand,
};
use crate::domain::ids::NodeId;
use crate::domain::time::Millis;
use crate::domain::user::{Password, Privilege, Role, User, Username};
use crate::error::Error;
use crate::intake::IntakeSettings;
use crate::runner::pool::Pool;
use crate::runner::worker::Worker;
use crate::security::vault::Vault;
use crate::service::RunSettings;
use crate::service::{users, App, Settings};
use crate::store::{self, Orphans, StoreError};
use crate::{api, cluster, runner, telemetry};

/// Runs one command of the command line to completion.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::Kernel(KernelCommand::Setup(storage)) => {
            prepare_data_dir(&storage.data_dir)?;
            runner::setup::setup(&storage.data_dir).map(drop)
        }
        Command::Send(args) => runtime.block_on(crate::send::send(args, &mut std::io::stdin())),
        Command::Migrate(args) => runtime.block_on(migrate(args)),
        Command::Copy(args) => runtime.block_on(copy(args)),
        Command::User(UserCommand::Add(args)) => {
            let password = read_password(&args, &mut std::io::stdin().lock())?;
            runtime.block_on(add_user(args, password))
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    telemetry::init(&args.log);
    // Not dumpable: another process of the same user (a notebook's, say)
    // cannot read this one's memory, environment or open files in /proc.
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        tracing::warn!("cannot make the server undumpable: {e}");
    }
    let application = Application::build(args).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    application.run_until(shutdown).await
}

/// Cancels `shutdown` on SIGTERM or Ctrl-C.
async fn stop_on_signal(shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot watch SIGTERM ({e}); only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("stopping: no new requests are taken");
    shutdown.cancel();
}

/// A server that is bound and ready to run.
pub struct Application {
    listener: TcpListener,
    app: Arc<App>,
    /// The warm pool and how many runs at once, unless runs are off (0).
    runs: Option<(Arc<Pool>, usize)>,
    role: NodeRole,
}

impl Application {
    pub async fn build(args: ServeArgs) -> anyhow::Result<Self> {
        let data_dir = args.storage.data_dir.clone();
        prepare_data_dir(&data_dir)?;
        let vault = Vault::load(args.encryption_key.as_ref(), &data_dir)?;
        let store = store::open(&args.storage.database()).await?;
        require_site_key(
            store.as_ref(),
            &vault,
            args.encryption_key.is_some(),
            &data_dir,
        )
        .await?;
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        let settings = Settings {
            public_url: args.public_url.unwrap_or_else(|| format!("http://{addr}")),
            context: args.context,
            secret_grace: Duration::from_secs(args.secret_grace_hours.saturating_mul(3600)),
        };
        let intake = IntakeSettings {
            max_payload_bytes: args.max_payload_bytes,
            receiver_rate_limit: args.receiver_rate_limit,
            max_queue_depth: args.max_queue_depth,
        };
        let run_settings = RunSettings {
            default_timeout: Duration::from_secs_f64(args.execution_timeout_minutes * 60.0),
            retention: Duration::from_secs(args.job_retention_days * 86_400),
            per_receiver: args.max_runs_per_receiver,
            stop_grace: Duration::from_secs(args.stop_grace_seconds),
            node: NodeId::generate(),
            lease: Duration::from_secs(args.job_lease_seconds),
            max_disk_bytes: args.max_run_disk_mb.saturating_mul(1 << 20),
        };
        // One process alone on the database: whatever it finds executing
        // was left by a process that died. Shared: only expired leases.
        let orphans = if store.single_node() {
            Orphans::All
        } else {
            Orphans::Expired
        };
        let (requeued, failed) = store
            .recover_jobs(Millis::now(), cluster::NODE_LOST, orphans)
            .await?;
        if requeued + failed > 0 {
            tracing::warn!(
                "{requeued} interrupted jobs were queued again and {failed} were failed"
            );
        }
        let runs = if args.max_concurrent_runs == 0 || args.role == NodeRole::Api {
            None
        } else {
            let python = match args.python {
                Some(python) => python,
                None => {
                    let dir = data_dir.clone();
                    tokio::task::spawn_blocking(move || runner::setup::setup(&dir))
                        .await
                        .context("preparing the kernel environment stopped")??
                }
            };
            // The kernel runs in its own working directory: a relative
            // interpreter path would mean something else there. Absolute,
            // but not resolved: a virtual environment's `python` is a
            // symlink that must stay as it is to find its environment.
            let python = if python.components().count() > 1 {
                std::path::absolute(&python).with_context(|| {
                    format!("cannot find the Python interpreter {}", python.display())
                })?
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
            let kernels = kernels_dir(&data_dir)?;
            // Whatever a killed server left behind (kernels still running,
            // sockets, work dirs) goes.
            runner::kernel::kill_leftovers(&kernels);
            let _ = std::fs::remove_dir_all(&kernels);
            std::fs::create_dir_all(&kernels)
                .with_context(|| format!("cannot create {}", kernels.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&kernels, std::fs::Permissions::from_mode(0o700))
                    .with_context(|| format!("cannot protect {}", kernels.display()))?;
            }
            let cgroups = match args.max_run_processes {
                0 => None,
                limit => match runner::cgroup::Cgroups::prepare(&kernel_tag(&data_dir)?, limit) {
                    Ok(c) => Some(c),
                    Err(why) => {
                        tracing::warn!(
                            "runs have no process limit: no cgroup could be made ({why})"
                        );
                        None
                    }
                },
            };
            let size = args.max_concurrent_runs as usize;
            Some((python, kernels, cgroups, size))
        };
        let app = Arc::new(App::new(store, vault, settings, intake, run_settings));
        let runs = runs.map(|(python, kernels, cgroups, size)| {
            (
                Pool::new(python, kernels, cgroups, size, app.metrics.warm_kernels()),
                size,
            )
        });
        Ok(Self {
            listener,
            app,
            runs,
            role: args.role,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until `shutdown` is cancelled, then finishes the requests in
    /// flight and returns.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let s = &self.app.settings;
        tracing::info!(
            "hookbook is listening on {} as node {} ({:?}); admin directory: {}/{}/admin",
            self.local_addr(),
            self.app.run_settings.node,
            self.role,
            s.public_url,
            s.context
        );
        tokio::spawn(upkeep(self.app.clone(), shutdown.clone()));
        let takes_events = self.role != NodeRole::Worker;
        let presence = tokio::spawn(cluster::presence(
            self.app.clone(),
            takes_events,
            shutdown.clone(),
        ));
        tokio::spawn(cluster::relay(self.app.clone(), shutdown.clone()));
        let worker = self.runs.as_ref().map(|(pool, size)| {
            (
                tokio::spawn(pool.clone().fill(shutdown.clone())),
                tokio::spawn(
                    Worker::new(self.app.clone(), pool.clone(), *size).run(shutdown.clone()),
                ),
            )
        });
        let router = match self.role {
            NodeRole::Worker => api::worker_app(self.app.clone()),
            NodeRole::All | NodeRole::Api => api::app(self.app.clone()),
        };
        axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await
        .context("the server stopped with an error")?;
        if let Some((filler, worker)) = worker {
            let _ = worker.await;
            let _ = filler.await;
        }
        if let Some((pool, _)) = &self.runs {
            pool.close().await;
        }
        let _ = presence.await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Where this data dir's kernels live: outside the data dir (a run's
/// working directory must not lead to the key or the database by walking
/// up), in the temporary directory, one per data dir so that a restart
/// finds what a killed process left.
fn kernels_dir(data_dir: &Path) -> anyhow::Result<std::path::PathBuf> {
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

/// Creates the data dir if needed and checks that it can be read.
fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::read_dir(dir).map(drop))
        .with_context(|| format!("cannot use the data dir {}", dir.display()))
}

/// Creates the data dir when the database lives in it (no `--database-url`).
fn prepare_storage(storage: &StorageArgs) -> anyhow::Result<()> {
    match storage.database_url {
        None => prepare_data_dir(&storage.data_dir),
        Some(_) => Ok(()),
    }
}

/// How long delivery-log lines are kept, and how many per receiver at most.
const DELIVERY_LOG_DAYS: u64 = 7;

/// Hourly: removes expired tokens, old delivery-log lines and finished jobs
/// past their retention.
async fn upkeep(app: Arc<App>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {
                let now = Millis::now();
                match app.store.delete_expired_tokens(now).await {
                    Ok(n) if n > 0 => tracing::info!("removed {n} expired tokens"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("removing expired tokens failed: {e}"),
                }
                let before = Millis(now.0 - (DELIVERY_LOG_DAYS * 86_400_000) as i64);
                if let Err(e) = app.store.prune_deliveries(before, crate::intake::DELIVERY_LOG_LINES).await {
                    tracing::warn!("pruning the delivery log failed: {e}");
                }
                let retention = i64::try_from(app.run_settings.retention.as_millis()).unwrap_or(i64::MAX);
                match app.store.prune_jobs(Millis(now.0.saturating_sub(retention))).await {
                    Ok(n) if n > 0 => tracing::info!("removed {n} finished jobs past their retention"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("pruning finished jobs failed: {e}"),
                }
            }
        }
    }
}

/// `hookbook migrate`: creates or updates the tables, then exits; with a
/// key (given, or the data dir's key file), checks it is the site's.
async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let storage = args.storage;
    prepare_storage(&storage)?;
    let url = storage.database();
    let store = store::open(&url).await?;
    let key_file = storage.data_dir.join(crate::security::vault::KEY_FILE);
    if args.encryption_key.is_some() || key_file.exists() {
        let vault = Vault::load(args.encryption_key.as_ref(), &storage.data_dir)?;
        require_site_key(
            store.as_ref(),
            &vault,
            args.encryption_key.is_some(),
            &storage.data_dir,
        )
        .await?;
    }
    println!("the database {} is up to date", url.describe());
    Ok(())
}

/// Stops the start when the key is not the one the site's secrets were
/// sealed with, naming the key and what to do.
async fn require_site_key(
    store: &dyn store::Store,
    vault: &Vault,
    configured: bool,
    data_dir: &Path,
) -> anyhow::Result<()> {
    use crate::service::site::{check_key, KeyCheck};
    if check_key(store, vault).await? == KeyCheck::Matches {
        return Ok(());
    }
    let which = if configured {
        "the encryption key given by --encryption-key (HOOKBOOK_ENCRYPTION_KEY)".to_string()
    } else {
        format!(
            "the encryption key in {}",
            data_dir.join(crate::security::vault::KEY_FILE).display()
        )
    };
    bail!(
        "{which} cannot open this site's secrets: every node of a site needs the key the site \
         was created with (copy that encryption.key, or set HOOKBOOK_ENCRYPTION_KEY to it)"
    )
}

/// `hookbook copy`: moves an installation into an empty database.
async fn copy(args: CopyArgs) -> anyhow::Result<()> {
    let from = store::open(&args.from)
        .await
        .with_context(|| format!("cannot open {}", args.from.describe()))?;
    let to = store::open(&args.to)
        .await
        .with_context(|| format!("cannot open {}", args.to.describe()))?;
    let copied = store::copy::copy(from.as_ref(), to.as_ref()).await?;
    println!(
        "copied {} users, {} items, {} receivers and {} jobs from {} to {}; \
         nodes using the copy need the same encryption key",
        copied.users,
        copied.items,
        copied.receivers,
        copied.jobs,
        args.from.describe(),
        args.to.describe()
    );
    Ok(())
}

/// Reads the first line of `input` as the password of `user add`.
pub fn read_password(args: &UserAddArgs, input: &mut dyn BufRead) -> anyhow::Result<Password> {
    if !args.password_stdin {
        bail!("--password-stdin is required: the password is read from standard input");
    }
    let mut line = String::new();
    input
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Password::parse(line.trim_end_matches(['\n', '\r']))
        .map_err(|e| anyhow::anyhow!("the password read from standard input {e}"))
}

/// `hookbook user add`: creates a user with the given password.
pub async fn add_user(args: UserAddArgs, password: Password) -> anyhow::Result<()> {
    let username =
        Username::parse(&args.username).map_err(|e| anyhow::anyhow!("--username {e}"))?;
    let role: Role = args
        .role
        .parse()
        .map_err(|e| anyhow::anyhow!("--role: {e}"))?;
    let mut privileges = args
        .privileges
        .iter()
        .map(|p| p.parse::<Privilege>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("--privilege: {e}"))?;
    privileges.sort();
    privileges.dedup();
    prepare_storage(&args.storage)?;
    let store = store::open(&args.storage.database()).await?;
    let user = User {
        username: username.clone(),
        role,
        privileges: privileges.clone(),
    };
    match users::add_user(store.as_ref(), user, password).await {
        Ok(()) => {}
        Err(Error::Store(StoreError::Conflict(what))) => bail!("{what} already exists"),
        Err(e) => return Err(anyhow::Error::from(e).context("cannot create the user")),
    }
    let held: Vec<&str> = privileges.iter().map(|p| p.as_str()).collect();
    println!(
        "created {} '{}'{}",
        role.as_str(),
        username,
        if held.is_empty() {
            String::new()
        } else {
            format!(" with {}", held.join(", "))
        }
    );
    Ok(())
}
