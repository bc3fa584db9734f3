//! The command line and its environment variables: the only place that
//! reads the environment. Everything is parsed here, so a bad value stops
//! the start with one line naming it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::domain::outbound::Allowlist;
use crate::domain::runtime::RuntimeAlias;
use crate::domain::sensitive::Sensitive;
use crate::store::DatabaseUrl;

mod users;
pub use users::*;

#[derive(Debug, Parser)]
#[command(
    name = "hookbook",
    version,
    about = "Webhook receivers that run Jupyter notebooks"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: admin API, event intake and runs on one node.
    Serve(Box<ServeArgs>),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Sign a payload the way a real sender does and POST it to a receiver URL.
    Send(SendArgs),
    /// Run jobs again through a server's admin API: one job, or a
    /// receiver's jobs by final state and time; or undo such a replay.
    Replay(ReplayArgs),
    /// Manage the Python kernel environment.
    #[command(subcommand)]
    Kernel(KernelCommand),
    /// Manage runtimes: named Python environments built with uv.
    #[command(subcommand)]
    Runtime(RuntimeCommand),
    /// Create or update the database's tables, then exit.
    Migrate(MigrateArgs),
    /// Copy an installation (users, items, receivers, jobs) into an empty database.
    Copy(CopyArgs),
    /// Take a consistent copy of a SQLite site's database while it runs.
    Backup(BackupArgs),
    /// Make a new data dir from a backup and the site's key.
    Restore(RestoreArgs),
    /// Print a shell's completions for hookbook (install: see the book's command-line page).
    Completions(CompletionsArgs),
    /// Print hookbook's man page (roff), made from the same definitions as --help.
    Man,
    /// Write the reference pages of the book (the command line, the
    /// configuration and the HTTP API) as Markdown, from this program's
    /// own definitions.
    Reference(ReferenceArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ReferenceArgs {
    /// The directory to write `cli.md`, `configuration.md` and `api.md`
    /// into (made when missing; files of those names are replaced).
    #[arg(long, default_value = "docs/src/reference")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The file to write; it must not exist. It holds the database only:
    /// the secrets in it open only with the site's encryption key, which
    /// is kept apart.
    #[arg(long)]
    pub to: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// A file `hookbook backup` wrote.
    #[arg(long)]
    pub from: PathBuf,
    /// The data dir to make; it must not hold a database already.
    #[arg(long, env = "HOOKBOOK_DATA_DIR")]
    pub data_dir: PathBuf,
    /// The site's key file (`encryption.key` of the data dir the backup
    /// was taken from), copied into the new data dir.
    #[arg(
        long,
        required_unless_present = "encryption_key",
        conflicts_with = "encryption_key"
    )]
    pub key_file: Option<PathBuf>,
    /// The site's encryption key, when the site's nodes take it from
    /// `HOOKBOOK_ENCRYPTION_KEY` (then no key file is written).
    #[arg(long, env = "HOOKBOOK_ENCRYPTION_KEY", hide_env_values = true, value_parser = parse_sensitive)]
    pub encryption_key: Option<Sensitive<String>>,
}

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The site's encryption key, checked against the database when given
    /// (or when the data dir holds a key file).
    #[arg(long, env = "HOOKBOOK_ENCRYPTION_KEY", hide_env_values = true, value_parser = parse_sensitive)]
    pub encryption_key: Option<Sensitive<String>>,
}

#[derive(Debug, Clone, Args)]
pub struct CopyArgs {
    /// The database to read: `sqlite://PATH` or `postgres://...`.
    #[arg(long, value_parser = DatabaseUrlParser)]
    pub from: DatabaseUrl,
    /// The database to fill; it must hold no users and no jobs.
    #[arg(long, value_parser = DatabaseUrlParser)]
    pub to: DatabaseUrl,
}

/// What a node of a site does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// The admin API, event intake and runs.
    All,
    /// The admin API and event intake; no runs.
    Api,
    /// Runs only; it serves `/healthz` and `/metrics`.
    Worker,
}

#[derive(Debug, Subcommand)]
pub enum KernelCommand {
    /// Create a virtual environment with ipykernel in the data dir.
    Setup(StorageArgs),
}

/// How kernels start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KernelStart {
    /// Forked from a fork server that has already loaded Python, ipykernel
    /// and the preload list: tens of milliseconds; cold while it is down.
    Fork,
    /// A new Python process each time: most of a second of CPU.
    Cold,
}

/// Which network runs have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunNetwork {
    /// A network namespace of its own per run, reaching out through
    /// `pasta` (Debian's `passt`); the host's when pasta is not installed.
    Own,
    /// The host's network namespace, as the server has it.
    On,
    /// No network at all.
    None,
}

/// What share of the CPU notebooks get beside the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunCpu {
    /// Kernels and everything they start run under Linux's `SCHED_IDLE`:
    /// they take the CPU time that nothing else wants, so the server
    /// answers deliveries within milliseconds while notebooks keep both
    /// cores busy. On a machine whose other programs keep the CPUs busy,
    /// runs wait for them.
    Idle,
    /// Kernels compete for the CPU as any other program does (a warming
    /// kernel a little lower, when the server runs as root).
    Normal,
}

/// Which sender to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scheme {
    /// ArcGIS: `x-esriHook-Signature: sha256=<base64>`.
    Esri,
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>` and `X-GitHub-Delivery`.
    Github,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`.
    Standard,
}

#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    /// The receiver's URL.
    pub url: String,
    /// The receiver's secret.
    #[arg(long, env = "HOOKBOOK_SEND_SECRET", hide_env_values = true)]
    pub secret: String,
    /// `Name: value` adds a header; a bare `Name` renames the signature header.
    #[arg(long = "header")]
    pub headers: Vec<String>,
    #[arg(long, value_enum, default_value_t = Scheme::Esri)]
    pub scheme: Scheme,
    /// The payload: `@FILE`, `-` for standard input, or the text itself.
    #[arg(long, default_value = "{}")]
    pub data: String,
}

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The server's address up to its context, as senders see it.
    #[arg(long, default_value = "http://127.0.0.1:8080/notebooks")]
    pub url: String,
    /// A token of the receiver's owner or of an administrator
    /// (`sharing/rest/generateToken`).
    #[arg(long, env = "HOOKBOOK_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Run this job again.
    #[arg(long, conflicts_with_all = ["receiver", "cancel"])]
    pub job: Option<String>,
    /// Run this receiver's jobs again: those `--status`, `--from` and
    /// `--to` select, as one batch.
    #[arg(long, required_unless_present = "job")]
    pub receiver: Option<String>,
    /// The final states of the jobs to run again (`FAILED`, `COMPLETED`,
    /// `CANCELLED`), separated by commas.
    #[arg(long, default_value = "FAILED")]
    pub status: String,
    /// Submitted at or after this time (milliseconds since 1970).
    #[arg(long)]
    pub from: Option<i64>,
    /// Submitted at or before this time (milliseconds since 1970).
    #[arg(long)]
    pub to: Option<i64>,
    /// Undo a replay of `--receiver`: cancel the waiting jobs of this batch.
    #[arg(long, requires = "receiver")]
    pub cancel: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RuntimeCommand {
    /// Register a runtime and build its environment (progress on stderr).
    Add(RuntimeAddArgs),
    /// Change a runtime (by name or id): new requirements make a new
    /// version, built here at once; the old one serves until then.
    Update(RuntimeUpdateArgs),
    /// List the runtimes, with the state of each one's build.
    List(RuntimeListArgs),
    /// Remove a runtime (by name or id) and its environments.
    Remove(RuntimeRemoveArgs),
}

/// A runtime made from a known list of packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimePreset {
    /// "ArcGIS Notebook Python 3 Standard": `arcgis`, `pandas` and the
    /// packages ArcGIS's Standard runtime is best known for.
    Standard,
}

/// A runtime's fields on the command line; on an update, one not given
/// keeps its value.
#[derive(Debug, Clone, Args)]
pub struct RuntimeFields {
    /// The name notebooks use for it (`notebookRuntimeName`).
    #[arg(long)]
    pub name: Option<String>,
    /// Requirements, as in a requirements file (`pandas==2.2.3`); repeat or
    /// separate with commas.
    #[arg(long = "requirement")]
    pub requirements: Vec<String>,
    /// Modules its fork server imports before forking kernels
    /// (comma-separated).
    #[arg(long)]
    pub preload: Option<String>,
    /// CPU cores a run may use (ArcGIS's `maxCpu`; 0: no limit).
    #[arg(long)]
    pub max_cpu: Option<String>,
    /// Memory a run may use (ArcGIS's `maxMemory`, in `--max-memory-unit`;
    /// 0: no limit).
    #[arg(long)]
    pub max_memory: Option<String>,
    /// `b`, `k`, `m` or `g` (the default).
    #[arg(long)]
    pub max_memory_unit: Option<String>,
    /// The interpreter environments are made from (by default the data
    /// dir's, made by `hookbook kernel setup`); uv is looked for beside it.
    #[arg(long, env = "HOOKBOOK_PYTHON")]
    pub python: Option<PathBuf>,
    /// Store the runtime only: the nodes that run notebooks build it.
    #[arg(long)]
    pub no_build: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RuntimeAddArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub fields: RuntimeFields,
    /// Start from a preset's name, requirements and preload list (the
    /// other flags add to or replace them).
    #[arg(long, value_enum)]
    pub preset: Option<RuntimePreset>,
}

#[derive(Debug, Clone, Args)]
pub struct RuntimeUpdateArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The runtime's name or id.
    pub runtime: String,
    #[command(flatten)]
    pub fields: RuntimeFields,
}

#[derive(Debug, Clone, Args)]
pub struct RuntimeRemoveArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The runtime's name or id.
    pub runtime: String,
}

/// How the server's log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Whether text for people on standard error may carry colour: it is a
/// terminal, and `NO_COLOR` (<https://no-color.org>) is unset or empty.
pub fn colour_on_stderr() -> bool {
    use std::io::IsTerminal as _;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// How a listing is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// Columns with a header.
    Table,
    /// One JSON array, for scripts.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct RuntimeListArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// Where state lives; shared by every command that opens the database.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Where local state lives (the database file and the encryption key).
    #[arg(long, env = "HOOKBOOK_DATA_DIR", default_value = "hookbook-data")]
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://USER@HOST/DATABASE`; by default a
    /// file `hookbook.db` in the data dir.
    #[arg(long, env = "HOOKBOOK_DATABASE_URL", value_parser = DatabaseUrlParser)]
    pub database_url: Option<DatabaseUrl>,
}

impl StorageArgs {
    pub fn database(&self) -> DatabaseUrl {
        self.database_url
            .clone()
            .unwrap_or_else(|| DatabaseUrl::Sqlite(self.data_dir.join("hookbook.db")))
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten, next_help_heading = "Storage")]
    pub storage: StorageArgs,
    /// Address to bind: `HOST:PORT`, the host an IP address or a name
    /// (`localhost:8080`, `[::1]:8080`).
    #[arg(help_heading = "Listening and TLS", long, env = "HOOKBOOK_LISTEN", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// Serve HTTPS with this certificate chain (PEM; with `--tls-key`).
    #[arg(
        help_heading = "Listening and TLS",
        long,
        env = "HOOKBOOK_TLS_CERT",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The private key of `--tls-cert` (PEM).
    #[arg(
        help_heading = "Listening and TLS",
        long,
        env = "HOOKBOOK_TLS_KEY",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// The site's ArcGIS portal when it is not hookbook itself (ArcGIS
    /// Online or an ArcGIS Enterprise portal, such as
    /// `https://gis.example.com/portal`): receivers' `apiToken`s are tokens
    /// for it, and runs' `GIS("home")` signs in there with them.
    #[arg(help_heading = "Portal", long, env = "HOOKBOOK_PORTAL_URL", value_parser = parse_portal_url)]
    pub portal_url: Option<String>,
    /// A certificate (PEM) to trust for `--portal-url` beside the system's,
    /// for a portal with a self-signed one.
    #[arg(
        help_heading = "Portal",
        long,
        env = "HOOKBOOK_PORTAL_CA_CERT",
        requires = "portal_url"
    )]
    pub portal_ca_cert: Option<PathBuf>,
    /// What this node does: `all`, `api` (admin API and intake) or `worker` (runs).
    #[arg(help_heading = "Several nodes", long, env = "HOOKBOOK_ROLE", value_enum, default_value_t = Role::All)]
    pub role: Role,
    /// Seconds a running job's claim holds without renewal (renewed every
    /// third of it); the jobs of a node silent for longer are taken over.
    #[arg(help_heading = "Several nodes", long, env = "HOOKBOOK_JOB_LEASE_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(3..=3600))]
    pub job_lease_seconds: u64,
    /// Context path of every route.
    #[arg(help_heading = "Listening and TLS", long, env = "HOOKBOOK_CONTEXT", default_value = "notebooks", value_parser = parse_context)]
    pub context: String,
    /// Base of the `url` and `jobUrl` fields; default `http://` (`https://`
    /// with `--tls-cert`) and the listen address.
    #[arg(help_heading = "Listening and TLS", long, env = "HOOKBOOK_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// Interpreter with `ipykernel`, used for runs.
    #[arg(help_heading = "Runtimes", long, env = "HOOKBOOK_PYTHON")]
    pub python: Option<PathBuf>,
    /// How kernels start.
    #[arg(help_heading = "Runtimes", long, env = "HOOKBOOK_KERNEL_START", value_enum, default_value_t = KernelStart::Fork)]
    pub kernel_start: KernelStart,
    /// Modules the fork server imports before it forks kernels, so that
    /// runs find them loaded (comma-separated, e.g. `pandas,numpy`).
    #[arg(
        help_heading = "Runtimes",
        long,
        env = "HOOKBOOK_PRELOAD",
        value_delimiter = ','
    )]
    pub preload: Vec<String>,
    /// Kernels each runtime keeps warm on this node once a run used it
    /// (forked from that runtime's own fork server).
    #[arg(
        help_heading = "Runtimes",
        long,
        env = "HOOKBOOK_RUNTIME_WARM_KERNELS",
        default_value_t = 2
    )]
    pub runtime_warm_kernels: u32,
    /// A runtime name notebooks may ask for, run in another runtime of this
    /// site (`NAME=RUNTIME`, `Default` for the default environment; e.g.
    /// `--runtime-alias "ArcGIS Notebook Python 3 Advanced=Default"`).
    /// Repeatable; separated by `;` in the environment.
    #[arg(
        help_heading = "Runtimes",
        long = "runtime-alias",
        env = "HOOKBOOK_RUNTIME_ALIAS",
        value_delimiter = ';'
    )]
    pub runtime_aliases: Vec<RuntimeAlias>,
    /// Which network runs have: `own` (a namespace of its own per run,
    /// reaching out through pasta; the host's when pasta is missing),
    /// `on` (the host's namespace) or `none` (no network, not even
    /// loopback).
    #[arg(help_heading = "Runs and limits", long, env = "HOOKBOOK_RUN_NETWORK", value_enum, default_value_t = RunNetwork::Own)]
    pub run_network: RunNetwork,
    /// What share of the CPU notebooks get beside the server (`idle`:
    /// only what the server and other programs leave).
    #[arg(help_heading = "Runs and limits", long, env = "HOOKBOOK_RUN_CPU", value_enum, default_value_t = RunCpu::Idle)]
    pub run_cpu: RunCpu,
    /// Run notebooks without a sandbox when none can be made here. Each run
    /// can then read the data dir (key, database), reach other runs'
    /// kernels, tokens and payloads, and signal the server. Without this
    /// flag such a node accepts events but runs nothing.
    #[arg(
        help_heading = "Runs and limits",
        long,
        env = "HOOKBOOK_ALLOW_UNSANDBOXED_RUNS"
    )]
    pub allow_unsandboxed_runs: bool,
    /// Runs at once on this node; 0 accepts events but runs nothing.
    #[arg(
        help_heading = "Runs and limits",
        long,
        env = "HOOKBOOK_MAX_CONCURRENT_RUNS",
        default_value_t = 2
    )]
    pub max_concurrent_runs: u32,
    /// Jobs waiting to run before event intake answers 503.
    #[arg(
        help_heading = "Runs and limits",
        long,
        env = "HOOKBOOK_MAX_QUEUE_DEPTH",
        default_value_t = 10_000
    )]
    pub max_queue_depth: u64,
    /// Deliveries per second one receiver may get before 429; 0 is no limit.
    #[arg(
        help_heading = "Runs and limits",
        long,
        env = "HOOKBOOK_RECEIVER_RATE_LIMIT",
        default_value_t = 0
    )]
    pub receiver_rate_limit: u32,
    /// Connections one client address may hold open at once; past it, new
    /// ones are closed as they come. 0 is no cap (behind a reverse proxy,
    /// whose address every client then shares).
    #[arg(
        help_heading = "Listening and TLS",
        long,
        env = "HOOKBOOK_MAX_CONNECTIONS_PER_CLIENT",
        default_value_t = 256
    )]
    pub max_connections_per_client: usize,
    /// Connections open at once in all; when full, the connection idle the
    /// longest is closed for a new one. 0 is the open-file limit (raised to
    /// its hard limit at start) less 1,024 for the database, kernels and
    /// files.
    #[arg(
        help_heading = "Listening and TLS",
        long,
        env = "HOOKBOOK_MAX_CONNECTIONS",
        default_value_t = 0
    )]
    pub max_connections: usize,
    /// Largest accepted event body in bytes.
    #[arg(help_heading = "Listening and TLS", long, env = "HOOKBOOK_MAX_PAYLOAD_BYTES", default_value_t = 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_payload_bytes: u64,
    /// Minutes a run may take when it does not set its own limit (decimals
    /// allowed, from 0.01 to 10080).
    #[arg(help_heading = "Runs and limits", long, env = "HOOKBOOK_EXECUTION_TIMEOUT_MINUTES", default_value_t = 60.0, value_parser = parse_minutes)]
    pub execution_timeout_minutes: f64,
    /// Processes and threads one run may have at once (its kernel's cgroup
    /// `pids.max`, where the machine allows cgroups); 0 is no limit.
    #[arg(
        help_heading = "Runs and limits",
        long,
        env = "HOOKBOOK_MAX_RUN_PROCESSES",
        default_value_t = 256
    )]
    pub max_run_processes: u32,
    /// Megabytes of outputs (printed text, displays, results) a run keeps
    /// in its notebook; past them, what it prints or displays is dropped
    /// as it comes, the notebook and the job's message say so, and the
    /// run goes on. 0 is no limit.
    #[arg(
        help_heading = "Runs and limits",
        long,
        env = "HOOKBOOK_MAX_RUN_OUTPUT_MB",
        default_value_t = 8
    )]
    pub max_run_output_mb: u64,
    /// Megabytes a run may write to disk (its working directory, its `/tmp`
    /// and its kernel's files) before it is stopped; 0 is no limit.
    #[arg(
        help_heading = "Runs and limits",
        long,
        env = "HOOKBOOK_MAX_RUN_DISK_MB",
        default_value_t = 1024
    )]
    pub max_run_disk_mb: u64,
    /// Megabytes of memory one run may use (its kernel's cgroup), for runs
    /// in the default environment and in runtimes without `maxMemory`;
    /// 0 (default) is no limit.
    #[arg(
        help_heading = "Runs and limits",
        long,
        env = "HOOKBOOK_MAX_RUN_MEMORY_MB",
        default_value_t = 0
    )]
    pub max_run_memory_mb: u64,
    /// Runs of one receiver at once; 0 (default) is no limit.
    #[arg(
        help_heading = "Runs and limits",
        long,
        env = "HOOKBOOK_MAX_RUNS_PER_RECEIVER",
        default_value_t = 0
    )]
    pub max_runs_per_receiver: u32,
    /// Seconds running notebooks may go on after SIGTERM before they are
    /// stopped and put back in the queue.
    #[arg(
        help_heading = "Runs and limits",
        long,
        env = "HOOKBOOK_STOP_GRACE_SECONDS",
        default_value_t = 10
    )]
    pub stop_grace_seconds: u64,
    /// Days finished jobs (with their events and executed notebooks) are kept.
    #[arg(help_heading = "Storage", long, env = "HOOKBOOK_JOB_RETENTION_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3650))]
    pub job_retention_days: u64,
    /// Hours a replaced receiver secret keeps verifying.
    #[arg(
        help_heading = "Storage",
        long,
        env = "HOOKBOOK_SECRET_GRACE_HOURS",
        default_value_t = 24
    )]
    pub secret_grace_hours: u64,
    /// The key that encrypts secrets at rest, 32 bytes in base64. Without
    /// it, a key file is created in the data dir. Several nodes sharing a
    /// database must share this key.
    #[arg(help_heading = "Storage", long, env = "HOOKBOOK_ENCRYPTION_KEY", hide_env_values = true, value_parser = parse_sensitive)]
    pub encryption_key: Option<Sensitive<String>>,
    /// Where failure notices may be posted: host names
    /// (`hooks.example.com`), every name under a domain (`*.example.com`)
    /// and networks (`10.0.0.0/8`, `127.0.0.1`), comma-separated. A named
    /// host may resolve only to public addresses, unless a network here
    /// holds the address. Empty: notices are posted nowhere.
    #[arg(help_heading = "Notices", long, env = "HOOKBOOK_NOTICE_ALLOW", default_value = "", value_parser = parse_allowlist)]
    pub notice_allow: Allowlist,
    /// SMTP server for email notices: `smtp://host:25` (in the clear),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS),
    /// `smtps://host:465`. Without it, notices go by webhook only.
    #[arg(help_heading = "Notices", long, env = "HOOKBOOK_SMTP_URL", hide_env_values = true,
          value_parser = parse_sensitive, requires = "smtp_from")]
    pub smtp_url: Option<Sensitive<String>>,
    /// The sender's address of email notices.
    #[arg(
        help_heading = "Notices",
        long,
        env = "HOOKBOOK_SMTP_FROM",
        requires = "smtp_url"
    )]
    pub smtp_from: Option<String>,
    /// Log filter, in `tracing` syntax.
    #[arg(
        help_heading = "Logging",
        long,
        env = "HOOKBOOK_LOG",
        default_value = "info"
    )]
    pub log: String,
    /// `text` (coloured only on a terminal and without NO_COLOR) or `json`
    /// (one object per line, for log shippers).
    #[arg(help_heading = "Logging", long, env = "HOOKBOOK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// `--database-url` parsed; a refusal never repeats what was typed (a URL
/// may hold a password): it shows the URL without it.
#[derive(Clone)]
struct DatabaseUrlParser;

impl clap::builder::TypedValueParser for DatabaseUrlParser {
    type Value = DatabaseUrl;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<DatabaseUrl, clap::Error> {
        use clap::error::ErrorKind;
        let name = arg
            .map_or("--database-url".to_string(), |a| {
                format!("--{}", a.get_id())
            })
            .replace('_', "-");
        let refuse = |why: String| {
            clap::Error::raw(ErrorKind::ValueValidation, format!("{name} {why}\n")).with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| refuse("is not UTF-8".into()))?;
        DatabaseUrl::parse(text)
            .map_err(|why| refuse(format!("{} {why}", crate::store::describe_url(text))))
    }
}

fn parse_allowlist(input: &str) -> Result<Allowlist, String> {
    Allowlist::parse(input).map_err(|e| e.to_string())
}

/// `HOST:PORT` resolved now, the first address the name has.
fn parse_listen(input: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs as _;
    if let Ok(addr) = input.parse() {
        return Ok(addr);
    }
    if !input.contains(':') {
        return Err("must be HOST:PORT, such as 127.0.0.1:8080 or localhost:8080".into());
    }
    let mut found = input.to_socket_addrs().map_err(|e| {
        format!("cannot resolve '{input}': {e} (give HOST:PORT, such as localhost:8080)")
    })?;
    found
        .next()
        .ok_or_else(|| format!("'{input}' resolves to no address"))
}

fn parse_context(input: &str) -> Result<String, String> {
    let ok = !input.is_empty()
        && input.len() <= 64
        && input
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if ok {
        Ok(input.to_string())
    } else {
        Err("the context must be 1 to 64 letters, digits, '-' or '_'".into())
    }
}

fn parse_public_url(input: &str) -> Result<String, String> {
    let trimmed = input.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"))
        .ok_or("the public URL must start with http:// or https://")?;
    if rest.is_empty() || rest.contains(char::is_whitespace) || rest.contains(['?', '#']) {
        return Err("the public URL must be a base URL such as https://hooks.example.com".into());
    }
    Ok(trimmed.to_string())
}

/// A portal's URL: HTTPS (the ArcGIS API for Python speaks to portals
/// over HTTPS only), without a query.
fn parse_portal_url(input: &str) -> Result<String, String> {
    let trimmed = input.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .ok_or("the portal URL must start with https:// (the ArcGIS API for Python reaches portals over HTTPS only)")?;
    if rest.is_empty() || rest.contains(char::is_whitespace) || rest.contains(['?', '#']) {
        return Err(
            "the portal URL must be a base URL such as https://gis.example.com/portal".into(),
        );
    }
    Ok(trimmed.to_string())
}

fn parse_minutes(input: &str) -> Result<f64, String> {
    match input.trim().parse::<f64>() {
        Ok(m) if (0.01..=10_080.0).contains(&m) => Ok(m),
        _ => Err("must be a number of minutes from 0.01 to 10080".into()),
    }
}

fn parse_sensitive(input: &str) -> Result<Sensitive<String>, String> {
    Ok(Sensitive::new(input.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_lose_their_trailing_slash() {
        assert_eq!(
            parse_public_url("https://h.example.com/").unwrap(),
            "https://h.example.com"
        );
        assert!(parse_public_url("ftp://x").is_err());
        assert!(parse_public_url("https://").is_err());
    }

    #[test]
    fn listen_addresses_take_host_names() {
        assert_eq!(parse_listen("127.0.0.1:8080").unwrap().port(), 8080);
        assert!(parse_listen("localhost:8081").unwrap().ip().is_loopback());
        assert!(parse_listen("not-an-address").is_err());
        assert!(parse_listen("localhost:99999").is_err());
    }

    #[test]
    fn contexts_are_single_path_segments() {
        assert!(parse_context("notebooks").is_ok());
        assert!(parse_context("a/b").is_err());
        assert!(parse_context("").is_err());
    }
}
