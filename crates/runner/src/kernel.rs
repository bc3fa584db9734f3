//! One Jupyter kernel: `ipykernel` launched under the configured Python in
//! its own process group, talking ZeroMQ over IPC sockets in a private
//! directory, driven with the runtimed protocol crates.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use jupyter_protocol::connection_info::{ConnectionInfo, Transport};
use jupyter_protocol::{
    ExecuteRequest, InterruptRequest, JupyterMessage, JupyterMessageContent, KernelInfoRequest,
};
use jupyter_zmq_client::{ClientControlConnection, ClientIoPubConnection, ClientShellConnection};
use rand::RngCore as _;
use serde_json::Value;

use super::error::channel;
pub use super::error::KernelError;
use super::forkserver::{ForkRequest, ForkServer};
use super::outputs::{OutputBudget, Outputs};
use super::process::KernelProcess;
use super::sandbox::{self, Owner, Walls};

/// How long a kernel may take to start and answer `kernel_info`.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a cell's outputs whose report was put off wait for the next
/// message before they are reported anyway.
const REPORT_AGAIN: Duration = Duration::from_millis(250);

/// Run at warm-up: before the first cell of the run, IPython reads the
/// run's environment (`HOOKBOOK_URL`, `HOOKBOOK_TOKEN`) and output budget
/// from a file the server writes into the kernel's private directory, then
/// forgets the hook. A warm kernel is started before its run is known, and
/// this costs the run no extra execution. With a budget, what the streams,
/// `display` and a cell's result send stops at the budget (a display too
/// large is dropped and announced with
/// [`BUDGET_MIME`](super::outputs::BUDGET_MIME)): so no message the
/// server reads is larger than the budget; the server keeps the budget
/// too, for a notebook that undoes these.
const WARM_UP: &str = "\
def __hookbook_install():
    import json, os, sys
    shell = get_ipython()
    path = os.path.join(os.environ['JUPYTER_RUNTIME_DIR'], 'run-env.json')
    def cap(budget):
        left = [budget]
        publish = shell.display_pub.publish
        def passed():
            if left[0] >= 0:
                publish({'application/vnd.hookbook.budget+json': {'passed': True}})
            left[0] = -1
        def take(n):
            if n > left[0]:
                passed()
                return False
            left[0] -= n
            return True
        def size(data):
            return sum(len(v) if isinstance(v, (str, bytes)) else len(json.dumps(v, default=str))
                       for v in (data or {}).values())
        # What the streams send, on the class (IPython puts each cell's
        # stream.write back after it): past the budget, one character more
        # than is left (so the server sees it passed), then nothing.
        stream = type(sys.stdout)
        flush_buffers = stream._flush_buffers
        def flushed(self):
            for parent, data in flush_buffers(self):
                if left[0] < 0:
                    continue
                if len(data) > left[0]:
                    data = data[:left[0] + 1]
                    left[0] = -1
                else:
                    left[0] -= len(data)
                yield parent, data
        stream._flush_buffers = flushed
        def display(data, *args, **kwargs):
            if take(size(data)):
                return publish(data, *args, **kwargs)
        shell.display_pub.publish = display
        result = shell.displayhook.write_format_data
        def cell_result(data, *args, **kwargs):
            if take(size(data)):
                return result(data, *args, **kwargs)
        shell.displayhook.write_format_data = cell_result
    def load(*_):
        try:
            with open(path) as f:
                run = json.load(f)
        except FileNotFoundError:
            return
        os.remove(path)
        os.environ.update(run['env'])
        if run.get('output_budget'):
            cap(run['output_budget'])
        shell.events.unregister('pre_run_cell', load)
    shell.events.register('pre_run_cell', load)
__hookbook_install()
del __hookbook_install
";

/// What a kernel started cold does before ipykernel starts (after
/// [`sandbox::PYTHON`], which defines `sandbox`): limits on open files, file
/// size (1 GiB) and core dumps; then, sandboxed, the sandbox (the process
/// stays outside as the kernel's keeper); else a watcher that kills the
/// kernel's whole process group within half a second of hookbook's death
/// (SIGKILL included), so that a run never outlives the lease of its node.
/// The server's pid comes from the server (`HOOKBOOK_SERVER_PID`), not from
/// `getppid()` at start: a server that died before the kernel got that far
/// would otherwise be mistaken for init, and the kernel would live on. The
/// first check runs before ipykernel is even imported.
const BOOTSTRAP: &str = "
import json, os, resource, signal, threading, time
__hookbook_server = int(os.environ.pop('HOOKBOOK_SERVER_PID', '0'))
if os.getppid() != __hookbook_server:
    os.killpg(0, signal.SIGKILL)
yield_cpu()
for limit, value in ((resource.RLIMIT_NOFILE, 1024), (resource.RLIMIT_FSIZE, 1 << 30), (resource.RLIMIT_CORE, 0)):
    soft, hard = resource.getrlimit(limit)
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(limit, (value, value))
def __hookbook_watch(parent=__hookbook_server):
    while os.getppid() == parent:
        time.sleep(0.5)
    os.killpg(0, signal.SIGKILL)
__hookbook_walls = os.environ.pop('HOOKBOOK_SANDBOX', '')
if __hookbook_walls:
    sandbox(json.loads(__hookbook_walls), __hookbook_server)
else:
    threading.Thread(target=__hookbook_watch, name='hookbook-parent', daemon=True).start()
del __hookbook_server, __hookbook_walls
from ipykernel import kernelapp
kernelapp.launch_new_instance()
";

/// How much lower a forked kernel's priority is while it starts and waits
/// in the pool behind others, so that runs in progress keep the CPU; a
/// run's kernel gets the server's priority back at checkout
/// ([`Kernel::hurry`]). Only a root server may give priority back, so only
/// a root server lowers it; and only under `--run-cpu normal`, since a
/// nice value changes nothing under SCHED_IDLE.
const WARMING_NICE: i32 = 10;

/// What one `execute_request` produced.
#[derive(Debug)]
pub struct Execution {
    /// nbformat outputs.
    pub outputs: Vec<Value>,
    pub execution_count: Option<i64>,
    /// `(ename, evalue, traceback)` when the cell raised.
    pub error: Option<(String, String, Vec<String>)>,
}

pub struct Kernel {
    child: KernelProcess,
    pid: i32,
    dir: PathBuf,
    session: String,
    shell: ClientShellConnection,
    iopub: ClientIoPubConnection,
    control: ClientControlConnection,
    /// The kernel's cgroup, when runs have a process limit.
    group: Option<super::cgroup::Group>,
    /// The host ids it runs as, when not the server's.
    owner: Owner,
    pub started: Instant,
    /// Dropped with the kernel: tells whoever waits for it (its pool's
    /// filler) that the kernel's run is over.
    _gone: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Kernel {
    /// Starts a kernel in a new directory under `base`, without walls, and
    /// waits until it answers `kernel_info`.
    pub async fn start(python: &Path, base: &Path) -> Result<Self, KernelError> {
        Self::start_limited(python, base, &Walls::default()).await
    }

    /// Like [`Kernel::start`], inside `walls`.
    pub async fn start_limited(
        python: &Path,
        base: &Path,
        walls: &Walls,
    ) -> Result<Self, KernelError> {
        Self::start_with(Launch::Cold(python), base, walls).await
    }

    /// Like [`Kernel::start_limited`], with the kernel forked by `fork`;
    /// at a lower priority while it starts when it is `spare` (a run waits
    /// for it only when none is spare).
    pub async fn start_forked(
        fork: &ForkServer,
        base: &Path,
        walls: &Walls,
        spare: bool,
    ) -> Result<Self, KernelError> {
        Self::start_with(Launch::Fork(fork, spare), base, walls).await
    }

    async fn start_with(
        launch: Launch<'_>,
        base: &Path,
        walls: &Walls,
    ) -> Result<Self, KernelError> {
        let id = uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
        let owner = walls.sandbox.as_ref().and_then(|s| s.next_owner());
        let (dir, info, file, group) = prepare(base, &id, owner, walls).await?;
        let walled = walls.sandbox.as_ref().map(|s| {
            s.spec(
                &dir,
                owner,
                group.as_ref().map(|g| g.procs()).unwrap_or_default(),
            )
        });
        let launched = match launch {
            Launch::Cold(python) => {
                spawn(python, &dir, &file, walled.as_ref(), walls.idle).map(KernelProcess::Spawned)
            }
            Launch::Fork(fork, spare) => {
                let request = ForkRequest {
                    connection_file: &file,
                    work: &dir.join("work"),
                    env: kernel_env(&dir),
                    sandbox: walled,
                    nice: if spare && nix::unistd::geteuid().is_root() {
                        WARMING_NICE
                    } else {
                        0
                    },
                };
                fork.fork(&request).await.map(KernelProcess::Forked)
            }
        };
        let mut child = match launched {
            Ok(child) => child,
            Err(e) => return Err(abandon(0, group, &dir, e).await),
        };
        let pid = child.pid();
        // From here on, a failure kills what was started and removes the
        // kernel's directory.
        if let Err(e) = group.as_ref().map_or(Ok(()), |g| g.add(pid)) {
            return Err(abandon(pid, group, &dir, KernelError::Limit(e)).await);
        }
        let session = uuid::Uuid::new_v4().to_string();
        let connecting = connect(&mut child, &dir, &info, &session);
        let sockets = tokio::time::timeout(START_TIMEOUT, connecting)
            .await
            .unwrap_or(Err(KernelError::StartTimeout(START_TIMEOUT)));
        let (shell, iopub, control) = match sockets {
            Ok(sockets) => sockets,
            Err(e) => return Err(abandon(pid, group, &dir, e).await),
        };
        let mut kernel = Self {
            child,
            pid,
            dir,
            session,
            shell,
            iopub,
            control,
            group,
            owner,
            started: Instant::now(),
            _gone: None,
        };
        match kernel.become_ready().await {
            Ok(()) => Ok(kernel),
            Err(e) => {
                kernel.kill().await;
                Err(e)
            }
        }
    }

    /// Waits until the kernel is ready.
    async fn become_ready(&mut self) -> Result<(), KernelError> {
        tokio::time::timeout(START_TIMEOUT, self.ready())
            .await
            .unwrap_or(Err(KernelError::StartTimeout(START_TIMEOUT)))
    }

    /// Waits for `kernel_info`, then runs a first, silent execution that
    /// pays IPython's one-time costs here, in the pool, rather than in the
    /// first cell of a run.
    async fn ready(&mut self) -> Result<(), KernelError> {
        let request: JupyterMessage = KernelInfoRequest {}.into();
        let request = request.with_session(&self.session);
        self.shell.send(request).await.map_err(channel("shell"))?;
        loop {
            let reply = self.shell.read().await.map_err(channel("shell"))?;
            if matches!(reply.content, JupyterMessageContent::KernelInfoReply(_)) {
                break;
            }
        }
        let warm = self.execute(WARM_UP, true).await?;
        match warm.error {
            Some((ename, evalue, _)) => Err(KernelError::WarmUp { ename, evalue }),
            None => Ok(()),
        }
    }

    /// Hands the run's environment variables and output budget to the
    /// kernel; they take effect just before its first cell runs (see
    /// [`WARM_UP`]).
    pub async fn provide_env(
        &self,
        values: &serde_json::Map<String, Value>,
        budget: &OutputBudget,
    ) -> std::io::Result<()> {
        let text = serde_json::json!({"env": values, "output_budget": budget.limit()}).to_string();
        self.provide_file("run-env.json", text.as_bytes())
            .await
            .map(|_| ())
    }

    /// Writes a file of the run's into the kernel's private directory,
    /// readable by the run alone; returns its path (the same inside the
    /// sandbox).
    pub async fn provide_file(&self, name: &str, contents: &[u8]) -> std::io::Result<PathBuf> {
        use tokio::io::AsyncWriteExt as _;
        let path = self.dir.join(name);
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .await?;
        if let Some((uid, gid)) = self.owner {
            let std = file.into_std().await;
            std::os::unix::fs::fchown(&std, Some(uid), Some(gid))?;
            file = tokio::fs::File::from_std(std);
        }
        file.write_all(contents).await?;
        file.flush().await?;
        Ok(path)
    }

    /// Gives the kernel (its whole process group) the server's priority
    /// back, for its run.
    pub fn hurry(&self) {
        let group = rustix::process::Pid::from_raw(self.pid);
        if let Err(e) = rustix::process::setpriority_pgrp(group, 0) {
            tracing::debug!("the kernel's priority stays: {e}");
        }
    }

    /// Resolves once this kernel is dropped (an error, since its sender
    /// goes with it), that is once its run is over.
    pub fn when_gone(&mut self) -> tokio::sync::oneshot::Receiver<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self._gone = Some(tx);
        rx
    }

    /// Whether a process of the run was killed for going past the memory
    /// its runtime allows.
    pub fn out_of_memory(&self) -> bool {
        self.group.as_ref().is_some_and(|g| g.out_of_memory())
    }

    /// The kernel's process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The kernel's own directory: everything its run can write on disk
    /// (its working directory, its `/tmp` when sandboxed, the runtime
    /// files beside them).
    pub fn own_dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        self.child.exited().is_none()
    }

    /// Runs `code` and gathers its outputs by parent message id. Dropping
    /// the future abandons the cell; the kernel must then be killed.
    pub async fn execute(&mut self, code: &str, silent: bool) -> Result<Execution, KernelError> {
        let id = self.submit(code, silent).await?;
        let mut outputs = Outputs::default();
        self.collect(&id, &mut OutputBudget::new(0), &mut outputs, &mut |_| true)
            .await
    }

    /// Sends an `execute_request` and returns its message id. Requests are
    /// run in the order sent; after an error the kernel aborts the ones
    /// still queued (`stop_on_error`), as papermill's run would stop.
    pub async fn submit(&mut self, code: &str, silent: bool) -> Result<String, KernelError> {
        self.submit_with(code, silent, !silent).await
    }

    async fn submit_with(
        &mut self,
        code: &str,
        silent: bool,
        store_history: bool,
    ) -> Result<String, KernelError> {
        let mut request = ExecuteRequest::new(code.to_string());
        request.silent = silent;
        request.store_history = store_history;
        request.stop_on_error = true;
        let message: JupyterMessage = request.into();
        let message = message.with_session(&self.session);
        let id = message.header.msg_id.clone();
        self.shell.send(message).await.map_err(channel("shell"))?;
        Ok(id)
    }

    /// Gathers the outputs (into `outputs`, where they stay if the wait is
    /// dropped: a run stopped mid-cell keeps what it printed) and the reply
    /// of the request `id`; requests must be collected in the order they
    /// were submitted.
    pub async fn collect(
        &mut self,
        id: &str,
        budget: &mut OutputBudget,
        outputs: &mut Outputs,
        report: &mut (dyn FnMut(&[Value]) -> bool + Send),
    ) -> Result<Execution, KernelError> {
        let id = id.to_string();
        let mut error = None;
        // Outputs a report put off (it reports at most so often) are
        // reported once the kernel has been quiet a while, so that what a
        // cell printed last shows while it works on.
        let mut put_off = false;
        loop {
            let read = self.iopub.read();
            let msg = if put_off {
                match tokio::time::timeout(REPORT_AGAIN, read).await {
                    Ok(msg) => msg,
                    Err(_) => {
                        put_off = !report(outputs.as_slice());
                        continue;
                    }
                }
            } else {
                read.await
            };
            let msg = msg.map_err(channel("iopub"))?;
            if msg.parent_header.as_ref().map(|h| h.msg_id.as_str()) != Some(id.as_str()) {
                continue;
            }
            match &msg.content {
                JupyterMessageContent::Status(status) => {
                    if serde_json::to_value(&status.execution_state).ok()
                        == Some(Value::from("idle"))
                    {
                        break;
                    }
                }
                content => {
                    if let JupyterMessageContent::ErrorOutput(e) = content {
                        error = Some((e.ename.clone(), e.evalue.clone(), e.traceback.clone()));
                    }
                    outputs.push_within(
                        budget,
                        &msg.header.msg_type,
                        serde_json::to_value(content).unwrap_or_default(),
                    );
                    put_off = !report(outputs.as_slice());
                }
            }
        }
        let execution_count = loop {
            let reply = self.shell.read().await.map_err(channel("shell"))?;
            if reply.parent_header.as_ref().map(|h| h.msg_id.as_str()) != Some(id.as_str()) {
                continue;
            }
            if let JupyterMessageContent::ExecuteReply(r) = &reply.content {
                let value = serde_json::to_value(r).unwrap_or_default();
                if error.is_none() && value.get("status").and_then(Value::as_str) == Some("error") {
                    let text = |k: &str| {
                        value
                            .get(k)
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string()
                    };
                    error = Some((text("ename"), text("evalue"), Vec::new()));
                }
                break value.get("execution_count").and_then(Value::as_i64);
            }
        };
        Ok(Execution {
            outputs: std::mem::take(outputs).into_vec(),
            execution_count,
            error,
        })
    }

    /// Asks the kernel to interrupt the running cell.
    pub async fn interrupt(&mut self) {
        let message: JupyterMessage = InterruptRequest {}.into();
        let _ = self.control.send(message).await;
    }

    /// Kills the process group at once, reaps the kernel and removes its
    /// directory.
    pub async fn kill(&mut self) {
        kill_group(self.pid);
        self.child.kill().await;
        if let Some(group) = self.group.take() {
            group.end().await;
        }
        let _ = tokio::fs::remove_dir_all(&self.dir).await;
    }
}

/// Kills what a previous server with the same kernels directory left
/// running: every process whose working directory is under `base` (each
/// kernel works in a directory of its own there), with its process group.
/// Called at start, before the directory is emptied.
pub fn kill_leftovers(base: &Path) {
    let Ok(base) = std::fs::canonicalize(base) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let me = std::process::id() as i32;
    for pid in entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
    {
        let Ok(cwd) = std::fs::read_link(format!("/proc/{pid}/cwd")) else {
            continue;
        };
        if pid != me && cwd.starts_with(&base) {
            tracing::warn!("killing process {pid}, left running by an earlier server");
            kill_group(pid);
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// The sockets of a started kernel.
type Sockets = (
    ClientShellConnection,
    ClientIoPubConnection,
    ClientControlConnection,
);

/// Makes the kernel's private directory `base/name` (absolute: the kernel
/// runs in its own working directory, so every path it is given must not
/// be relative) with its `work` directory and connection file.
fn prepare_dir(
    base: &Path,
    name: &str,
    owner: Owner,
) -> Result<(PathBuf, ConnectionInfo, PathBuf), KernelError> {
    std::fs::create_dir_all(base).map_err(KernelError::Dir)?;
    let dir = std::fs::canonicalize(base)
        .map_err(KernelError::Dir)?
        .join(name);
    for sub in sandbox::RUN_WRITES {
        std::fs::create_dir_all(dir.join(sub)).map_err(KernelError::Dir)?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(KernelError::Dir)?;
    }
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let info = ConnectionInfo {
        ip: dir.join("ipc").display().to_string(),
        transport: Transport::IPC,
        shell_port: 1,
        iopub_port: 2,
        stdin_port: 3,
        control_port: 4,
        hb_port: 5,
        key: hex::encode(key),
        signature_scheme: "hmac-sha256".into(),
        kernel_name: Some("python3".into()),
    };
    let file = dir.join("connection.json");
    let text =
        serde_json::to_string(&info).map_err(|e| KernelError::Dir(std::io::Error::other(e)))?;
    std::fs::write(&file, text).map_err(KernelError::Dir)?;
    sandbox::chown_all(&dir, owner, &sandbox::RUN_WRITES).map_err(KernelError::Dir)?;
    Ok((dir, info, file))
}

/// The kernel's directory (see [`prepare_dir`]) and its cgroup, made
/// before it starts so that it starts inside its limits (a sandboxed
/// kernel joins the group itself, before it forks the kernel).
async fn prepare(
    base: &Path,
    name: &str,
    owner: Owner,
    walls: &Walls,
) -> Result<
    (
        PathBuf,
        ConnectionInfo,
        PathBuf,
        Option<super::cgroup::Group>,
    ),
    KernelError,
> {
    let (base, name, cgroups) = (base.to_path_buf(), name.to_string(), walls.cgroups.clone());
    let limits = walls.limits;
    let prepared = tokio::task::spawn_blocking(move || {
        let (dir, info, file) = prepare_dir(&base, &name, owner)?;
        let group = match cgroups {
            Some(c) => c.make(&name, &limits).map(Some),
            None if limits.max_cpu.is_some() || limits.max_memory.is_some() => {
                Err(std::io::Error::other(
                    "this node cannot limit a run's memory or CPU: it has no cgroups",
                ))
            }
            None => Ok(None),
        };
        match group {
            Ok(group) => Ok((dir, info, file, group)),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(KernelError::Limit(e))
            }
        }
    });
    prepared
        .await
        .map_err(|e| KernelError::Dir(std::io::Error::other(e)))?
}

/// How a kernel is started.
enum Launch<'a> {
    /// A new Python process under this interpreter.
    Cold(&'a Path),
    /// A child of the fork server, spare or awaited.
    Fork(&'a ForkServer, bool),
}

/// A kernel's whole environment, however it starts: nothing of the
/// server's.
fn kernel_env(dir: &Path) -> serde_json::Map<String, Value> {
    let text = |p: &Path| Value::String(p.display().to_string());
    let mut env = serde_json::Map::new();
    env.insert("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into());
    env.insert("HOME".into(), text(&dir.join("work")));
    env.insert("LANG".into(), "C.UTF-8".into());
    env.insert("JUPYTER_RUNTIME_DIR".into(), text(dir));
    env.insert("IPYTHONDIR".into(), text(&dir.join("ipython")));
    env.insert("MPLBACKEND".into(), "Agg".into());
    env
}

/// Launches `ipykernel` under [`BOOTSTRAP`] in its own process group, with
/// a clean environment and `dir/work` as its working directory; in the
/// sandbox `walled` describes, when given; under `SCHED_IDLE` when `idle`.
fn spawn(
    python: &Path,
    dir: &Path,
    file: &Path,
    walled: Option<&Value>,
    idle: bool,
) -> Result<tokio::process::Child, KernelError> {
    let work = dir.join("work");
    let mut command = tokio::process::Command::new(python);
    command
        .arg("-c")
        .arg(sandbox::LAUNCH)
        .arg("-f")
        .arg(file)
        // A kernel lives for one run: keeping IPython's history database
        // would only cost time on every cell.
        .arg("--HistoryManager.enabled=False")
        .current_dir(&work)
        .env_clear()
        .envs(
            kernel_env(dir)
                .iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or(""))),
        )
        .env("HOOKBOOK_SERVER_PID", std::process::id().to_string())
        .envs([sandbox::run_cpu_env(idle)])
        .env(
            "HOOKBOOK_PROGRAM",
            format!("{}\n{BOOTSTRAP}", sandbox::PYTHON),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(spec) = walled {
        command.env("HOOKBOOK_SANDBOX", spec.to_string());
    }
    command.spawn().map_err(|source| KernelError::Spawn {
        python: python.display().to_string(),
        source,
    })
}

/// Waits for the kernel's sockets to appear (ipykernel binds them), then
/// connects shell, iopub and control and waits for iopub's welcome.
async fn connect(
    child: &mut KernelProcess,
    dir: &Path,
    info: &ConnectionInfo,
    session: &str,
) -> Result<Sockets, KernelError> {
    while !["ipc-1", "ipc-2", "ipc-4"]
        .iter()
        .all(|socket| dir.join(socket).exists())
    {
        if let Some(status) = child.exited() {
            return Err(KernelError::Exited(status));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let identity =
        jupyter_zmq_client::peer_identity_for_session(session).map_err(channel("shell"))?;
    let mut iopub = jupyter_zmq_client::create_client_iopub_connection(info, "", session)
        .await
        .map_err(channel("iopub"))?;
    let shell =
        jupyter_zmq_client::create_client_shell_connection_with_identity(info, session, identity)
            .await
            .map_err(channel("shell"))?;
    let control = jupyter_zmq_client::create_client_control_connection(info, session)
        .await
        .map_err(channel("control"))?;
    jupyter_zmq_client::wait_for_iopub_welcome(&mut iopub, Duration::from_secs(10))
        .await
        .map_err(channel("iopub"))?;
    Ok((shell, iopub, control))
}

/// Undoes a start that failed half-way: kills the kernel's process group,
/// ends its cgroup and removes its directory; returns `error`.
async fn abandon(
    pid: i32,
    group: Option<super::cgroup::Group>,
    dir: &Path,
    error: KernelError,
) -> KernelError {
    kill_group(pid);
    if let Some(group) = group {
        group.end().await;
    }
    let _ = tokio::fs::remove_dir_all(dir).await;
    error
}

fn kill_group(pid: i32) {
    if pid > 0 {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
