//! Building and running hookbook: the data dir, the vault, the store, the
//! listener, background upkeep, and the signals that stop it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::config::{
    Cli, Command, KernelCommand, Role as NodeRole, RuntimeCommand, ServeArgs, StorageArgs,
    UserCommand,
};
use crate::domain::ids::NodeId;
use crate::domain::time::Millis;
use crate::health::Health;
use crate::intake::cache::ReceiverCache;
use crate::intake::{Intake, IntakeSettings};
use crate::metrics::Metrics;
use crate::notices::{NoticeSettings, Notifier, SmtpSettings};
use crate::report::chain;
use crate::runner::build::Builder;
use crate::runner::forkserver::ForkServer;
use crate::runner::pool::Pool;
use crate::runner::pools::{PoolSettings, Pools};
use crate::runner::runs::Runs;
use crate::runner::{RunSettings, Runner};
use crate::security::vault::Vault;
use crate::service::portal::Portal;
use crate::service::{Services, Settings};
use crate::store::{self, Orphans, Store};
use crate::{api, cluster, runner, telemetry};
use connections::{ConnectionLimits, Connections};
use listener::Listener;
use runs::RunsSide;

mod backup;
mod commands;
mod connections;
mod kernels;
mod listener;
mod progress;
mod runs;
mod runtimes;
mod serve;
mod slow;
mod table;
mod users;

use commands::{copy, migrate, require_site_key};
pub use kernels::kernels_dir;
pub use users::{add_user, read_password};

/// Runs one command of the command line to completion.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve(*args)),
        Command::Kernel(KernelCommand::Setup(storage)) => {
            prepare_data_dir(&storage.data_dir)?;
            runner::setup::setup(&storage.data_dir).map(drop)
        }
        Command::Send(args) => runtime.block_on(crate::send::send(args, &mut std::io::stdin())),
        Command::Replay(args) => runtime.block_on(crate::replay::replay(args)),
        Command::Migrate(args) => runtime.block_on(migrate(args)),
        Command::Copy(args) => runtime.block_on(copy(args)),
        Command::Backup(args) => runtime.block_on(backup::backup(args)),
        Command::Restore(args) => runtime.block_on(backup::restore(args)),
        Command::Runtime(RuntimeCommand::Add(args)) => runtime.block_on(runtimes::add(args)),
        Command::Runtime(RuntimeCommand::List(args)) => runtime.block_on(runtimes::list(args)),
        Command::Runtime(RuntimeCommand::Update(args)) => runtime.block_on(runtimes::update(args)),
        Command::Runtime(RuntimeCommand::Remove(args)) => runtime.block_on(runtimes::remove(args)),
        Command::User(command) => user(&runtime, command),
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut command, "hookbook", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command)
                .render(&mut std::io::stdout())
                .context("cannot write the man page")
        }
        Command::Reference(args) => crate::reference::write(&args.out),
    }
}

/// `hookbook user ...`.
fn user(runtime: &tokio::runtime::Runtime, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add(args) => {
            let password = read_password(&mut std::io::stdin().lock())?;
            runtime.block_on(add_user(args, password))
        }
        UserCommand::List(args) => runtime.block_on(users::list(args)),
        UserCommand::Passwd(args) => {
            let password = read_password(&mut std::io::stdin().lock())?;
            runtime.block_on(users::passwd(args, password))
        }
        UserCommand::Set(args) => runtime.block_on(users::set(args)),
        UserCommand::Remove(args) => runtime.block_on(users::remove(args)),
        UserCommand::RevokeTokens(args) => runtime.block_on(users::revoke_tokens(args)),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    telemetry::init(&args.log, args.log_format);
    // Not dumpable: another process of the same user (a notebook's, say)
    // cannot read this one's memory, environment or open files in /proc.
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        tracing::warn!("cannot make the server undumpable: {e}");
    }
    let application = Application::build(args).await?;
    let shutdown = CancellationToken::new();
    // Watched before the first request is served, so that a SIGTERM sent
    // as soon as the server answers (by a supervisor, say) stops it
    // gracefully rather than by the signal's default action.
    let signals = Signals::watch();
    tokio::spawn(stop_on_signal(signals, shutdown.clone()));
    application.run_until(shutdown).await
}

/// The signals that stop the server, registered when made.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn watch() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let watch = |kind: SignalKind, name: &str| {
                signal(kind)
                    .map_err(|e| tracing::warn!("cannot watch {name} ({e})"))
                    .ok()
            };
            Signals {
                term: watch(SignalKind::terminate(), "SIGTERM"),
                interrupt: watch(SignalKind::interrupt(), "SIGINT"),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }
}

/// Cancels `shutdown` on SIGTERM or SIGINT (Ctrl-C).
async fn stop_on_signal(signals: Signals, shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        async fn next(signal: Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = next(signals.term) => {}
            _ = next(signals.interrupt) => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = signals;
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("stopping: no new requests are taken");
    shutdown.cancel();
}

/// A server that is bound and ready to run.
pub struct Application {
    listener: Listener,
    store: Arc<dyn Store>,
    services: Services,
    metrics: Arc<Metrics>,
    intake: Arc<Intake>,
    health: Arc<Health>,
    runner: Arc<Runner>,
    /// The warm pools and how many runs at once, unless runs are off (0).
    pools: Option<(Arc<Pools>, usize)>,
    /// Sends failure notices (every node, whatever its role).
    notifier: Notifier,
    /// Builds runtimes' environments, on nodes that run notebooks.
    builder: Option<Builder>,
    role: NodeRole,
}

impl Application {
    /// Opens the site, binds the listener, prepares the kernels and wires
    /// the parts: intake and the runner each own what they need; the
    /// administration (`Services`) reaches them only through the receiver cache
    /// and the runs of this node, and the runner reaches it through
    /// [`RunRights`](crate::runner::rights::RunRights).
    pub async fn build(args: ServeArgs) -> anyhow::Result<Self> {
        // It can listen, or nothing is made: no data dir, key or database.
        let metrics = Arc::new(Metrics::new());
        let tls = args.tls_cert.as_deref().zip(args.tls_key.as_deref());
        let (limits, said) = connection_limits(&args);
        let connections = Connections::new(limits, Some(metrics.clone()));
        let listener = Listener::bind(args.listen, tls, connections).await?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
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
        tracing::info!("{said}");
        let settings = site_settings(&args, &listener, addr)?;
        let notice_settings = notice_settings(&args, &settings)?;
        recover_orphans(store.as_ref()).await?;
        let health = Arc::new(Health::default());
        let kernels = kernels::prepare(&args, &data_dir, addr.port(), &metrics, &health).await?;
        let receivers = Arc::new(ReceiverCache::default());
        let runs = Arc::new(Runs::default());
        let intake = Arc::new(Intake::start(
            store.clone(),
            vault.clone(),
            intake_settings(&args),
            receivers.clone(),
            metrics.clone(),
            runs.wake.clone(),
        ));
        let mut run_settings = run_settings(&args, &settings);
        run_settings.share_progress = !store.single_node();
        let builder = kernels.as_ref().map(|k| runtime_builder(k, &data_dir));
        let services = Services::new(
            &store,
            vault.clone(),
            settings,
            receivers,
            runs.clone(),
            builder.clone(),
        );
        let warm = args.runtime_warm_kernels as usize;
        let pools = kernels.map(|k| pools(k, warm, &metrics, &health, runs.builds.clone()));
        let notifier = Notifier::new(&store, vault, notice_settings, metrics.clone())?;
        let runner = Arc::new(Runner {
            queue: Arc::new(store.clone()),
            runs,
            settings: run_settings,
            metrics: metrics.clone(),
            rights: services.rights.clone(),
            builder: builder.clone(),
        });
        Ok(Self {
            listener,
            store,
            services,
            metrics,
            intake,
            health,
            runner,
            pools,
            notifier,
            builder,
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
        let s = &self.services.settings;
        tracing::info!(
            "hookbook is listening on {} as node {} ({:?}); admin directory: {}/{}/admin",
            self.local_addr(),
            self.runner.settings.node,
            self.role,
            s.public_url,
            s.context
        );
        let retention = self.runner.settings.retention;
        tokio::spawn(upkeep(self.store.clone(), retention, shutdown.clone()));
        let presence = tokio::spawn(cluster::presence(
            cluster::Presence {
                store: self.store.clone(),
                node: self.runner.settings.node,
                lease: self.runner.settings.lease,
                takes_events: self.role != NodeRole::Worker,
                intake: self.intake.clone(),
                metrics: self.metrics.clone(),
            },
            shutdown.clone(),
        ));
        let notices = tokio::spawn(self.notifier.run(shutdown.clone()));
        let runs = self.runner.runs.clone();
        tokio::spawn(cluster::relay(self.store.clone(), runs, shutdown.clone()));
        // Pages kept up to date end their streams, so that serving stops.
        let live = self.runner.runs.live.clone();
        let stopping = shutdown.clone();
        tokio::spawn(async move {
            stopping.cancelled().await;
            live.close();
        });
        let runs_side = match self.pools {
            Some((pools, size)) => Some(RunsSide::start(
                self.runner.clone(),
                self.store.clone(),
                pools,
                size,
                self.builder,
                &shutdown,
            )?),
            None => None,
        };
        let site = api::Site {
            services: self.services.clone(),
            intake: self.intake.clone(),
            health: self.health.clone(),
            metrics: self.metrics.clone(),
        };
        let router = match self.role {
            NodeRole::Worker => api::worker_router(site),
            NodeRole::All | NodeRole::Api => api::router(site),
        };
        serve::serve(self.listener, router, shutdown.clone()).await;
        if let Some(runs_side) = runs_side {
            runs_side.stop().await;
        }
        let _ = presence.await;
        let _ = notices.await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The builder of this node's runtimes, from the kernels' Python.
fn runtime_builder(k: &kernels::Kernels, data_dir: &Path) -> Builder {
    Builder::new(&k.python, data_dir.join("runtimes"))
}

/// The warm pools of this node's kernels (the default environment's, and
/// each runtime's once used, keeping `warm` ready), forked from a fork
/// server unless they start cold; and how many runs at once.
fn pools(
    k: kernels::Kernels,
    warm: usize,
    metrics: &Arc<Metrics>,
    health: &Health,
    builder: Arc<tokio::sync::Notify>,
) -> (Arc<Pools>, usize) {
    let fork = k.fork.map(|preload| {
        ForkServer::new(
            k.python.clone(),
            k.dir.clone(),
            preload,
            k.walls.idle,
            health.fork_server(metrics.fork_server()),
        )
    });
    let forked = fork.is_some();
    let default = Pool::new(
        k.python,
        fork,
        k.dir.clone(),
        k.walls.clone(),
        k.size,
        metrics.warm_kernels(),
    );
    let settings = PoolSettings {
        base: k.dir,
        walls: k.walls,
        fork: forked,
        warm,
    };
    (
        Arc::new(Pools::new(default, settings, metrics.clone(), builder)),
        k.size,
    )
}

/// How many connections may be open, from one client and in all; the
/// open-file limit is raised to its hard limit first, and said.
fn connection_limits(args: &ServeArgs) -> (ConnectionLimits, String) {
    let files = raise_open_files();
    let total = match args.max_connections {
        0 => files.saturating_sub(FILES_KEPT).max(64),
        n => n,
    };
    let said = format!(
        "open files: {files}; connections: at most {total}, {} per client address",
        match args.max_connections_per_client {
            0 => "any number".to_string(),
            n => n.to_string(),
        }
    );
    let limits = ConnectionLimits {
        per_client: args.max_connections_per_client,
        total,
    };
    (limits, said)
}

/// Open files kept for the database, kernels' sockets and files when the
/// connections' cap is derived from the open-file limit.
const FILES_KEPT: usize = 1024;

/// Raises this process's soft open-file limit to its hard limit; the
/// limit it has.
fn raise_open_files() -> usize {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => limit = raised,
            Err(e) => tracing::warn!("cannot raise the open-file limit: {e}"),
        }
    }
    limit
        .current
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// What the administration works with: the public URL (HTTPS by default
/// when the listener is), the portal, the limits.
fn site_settings(
    args: &ServeArgs,
    listener: &Listener,
    addr: SocketAddr,
) -> anyhow::Result<Settings> {
    Ok(Settings {
        public_url: args.public_url.clone().unwrap_or_else(|| {
            let scheme = if listener.is_tls() { "https" } else { "http" };
            format!("{scheme}://{addr}")
        }),
        context: args.context.clone(),
        secret_grace: Duration::from_secs(args.secret_grace_hours.saturating_mul(3600)),
        notice_allow: Arc::new(args.notice_allow.clone()),
        email_notices: args.smtp_url.is_some(),
        max_queue_depth: args.max_queue_depth,
        portal: args
            .portal_url
            .as_deref()
            .map(|url| Portal::new(url, args.portal_ca_cert.as_deref()).map(Arc::new))
            .transpose()?,
    })
}

fn notice_settings(args: &ServeArgs, settings: &Settings) -> anyhow::Result<NoticeSettings> {
    let smtp = match (&args.smtp_url, &args.smtp_from) {
        (Some(url), Some(from)) => Some(SmtpSettings::new(url.expose(), from)?),
        _ => None,
    };
    Ok(NoticeSettings {
        allow: settings.notice_allow.clone(),
        jobs_url: format!(
            "{}/{}/admin/notebooks/jobs",
            settings.public_url, settings.context
        ),
        smtp,
    })
}

fn intake_settings(args: &ServeArgs) -> IntakeSettings {
    IntakeSettings {
        max_payload_bytes: args.max_payload_bytes,
        receiver_rate_limit: args.receiver_rate_limit,
        max_queue_depth: args.max_queue_depth,
    }
}

fn run_settings(args: &ServeArgs, settings: &Settings) -> RunSettings {
    RunSettings {
        default_timeout: Duration::from_secs_f64(args.execution_timeout_minutes * 60.0),
        retention: Duration::from_secs(args.job_retention_days * 86_400),
        per_receiver: args.max_runs_per_receiver,
        stop_grace: Duration::from_secs(args.stop_grace_seconds),
        node: NodeId::generate(),
        lease: Duration::from_secs(args.job_lease_seconds),
        max_disk_bytes: args.max_run_disk_mb.saturating_mul(1 << 20),
        max_output_bytes: args.max_run_output_mb.saturating_mul(1 << 20),
        hookbook_url: format!("{}/{}", settings.public_url, settings.context),
        runtime_aliases: args.runtime_aliases.clone(),
        portal_url: args.portal_url.clone(),
        share_progress: false,
    }
}

/// One process alone on the database: whatever it finds executing was
/// left by a process that died. Shared: only expired leases.
async fn recover_orphans(store: &dyn Store) -> anyhow::Result<()> {
    let orphans = if store.single_node() {
        Orphans::All
    } else {
        Orphans::Expired
    };
    let (requeued, failed) = store
        .recover_jobs(Millis::now(), cluster::NODE_LOST, orphans)
        .await?;
    if requeued + failed > 0 {
        tracing::warn!("{requeued} interrupted jobs were queued again and {failed} were failed");
    }
    Ok(())
}

/// Creates the data dir if needed and checks that it can be read.
fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::read_dir(dir).map(drop))
        .with_context(|| format!("cannot use the data dir {}", dir.display()))
}

/// Refuses a site that does not exist (every command but `serve` and
/// `migrate`, which make one): a data dir that is missing, a file or
/// unreadable, a SQLite database file that is missing, or a PostgreSQL
/// database without hookbook's tables, naming it and how to make the site.
async fn existing_site(storage: &StorageArgs) -> anyhow::Result<()> {
    let make = "make one with `hookbook serve` (which keeps serving it) or `hookbook migrate`, \
                with the same --data-dir or --database-url";
    let database = storage.database();
    let store::DatabaseUrl::Sqlite(file) = &database else {
        if !store::holds_a_site(&database).await? {
            anyhow::bail!(
                "there is no hookbook site in the database {} ({make})",
                database.describe()
            );
        }
        return Ok(());
    };
    if storage.database_url.is_none() {
        let dir = &storage.data_dir;
        match std::fs::metadata(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
                "there is no hookbook site at {}: the data dir does not exist ({make})",
                dir.display()
            ),
            Err(e) => anyhow::bail!("cannot read the data dir {}: {e}", dir.display()),
            Ok(meta) if !meta.is_dir() => anyhow::bail!(
                "the data dir {} is a file, not a directory: name the site's data dir",
                dir.display()
            ),
            Ok(_) => {}
        }
        std::fs::read_dir(dir)
            .map(drop)
            .with_context(|| format!("cannot read the data dir {}", dir.display()))?;
    }
    if !file.exists() {
        let dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.display().to_string(),
            _ => ".".into(),
        };
        anyhow::bail!(
            "there is no hookbook site in {dir}: {} does not exist ({make})",
            file.display()
        );
    }
    if !store::holds_a_site(&database).await? {
        anyhow::bail!(
            "{} is not a hookbook database (it has no hookbook tables): name the site's \
             database, or make a site elsewhere ({make})",
            file.display()
        );
    }
    Ok(())
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

/// Hourly: removes expired tokens, old delivery-log lines, finished jobs
/// past their retention and abandoned uploads in parts.
async fn upkeep(store: Arc<dyn Store>, retention: Duration, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {
                let now = Millis::now();
                match store.delete_expired_tokens(now).await {
                    Ok(n) if n > 0 => tracing::info!("removed {n} expired tokens"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %chain(&e), "removing expired tokens failed"),
                }
                let before = Millis(now.0 - (DELIVERY_LOG_DAYS * 86_400_000) as i64);
                if let Err(e) = store.prune_deliveries(before, crate::intake::DELIVERY_LOG_LINES).await {
                    tracing::warn!(error = %chain(&e), "pruning the delivery log failed");
                }
                let retention = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
                match store.prune_jobs(Millis(now.0.saturating_sub(retention))).await {
                    Ok(n) if n > 0 => tracing::info!("removed {n} finished jobs past their retention"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %chain(&e), "pruning finished jobs failed"),
                }
                let abandoned = crate::domain::upload::ABANDONED_AFTER.as_millis() as i64;
                match store.sweep_uploads(Millis(now.0.saturating_sub(abandoned))).await {
                    Ok(n) if n > 0 => tracing::info!("removed {n} abandoned uploads in parts"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %chain(&e), "removing abandoned uploads failed"),
                }
            }
        }
    }
}
