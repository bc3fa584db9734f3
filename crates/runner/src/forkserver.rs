//! The fork server: one Python process per environment that has already
//! imported what a kernel needs (and the configured preload list), holds
//! no threads and no sockets, and forks a child per kernel, which becomes
//! an `ipykernel` bound to its own connection file. A fork and the child's
//! start cost tens of milliseconds where a cold start costs most of a
//! second of CPU. The server talks to it over its stdin and stdout, one
//! JSON line each way per kernel; it exits when its stdin closes (the
//! server stopped or died), and its kernels die with it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::oneshot;

use super::error::KernelError;
use hookbook_metrics::health::ForkHealth;

/// How long the fork server may take to import everything and say so.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long one fork may take to be answered.
const FORK_TIMEOUT: Duration = Duration::from_secs(10);

/// The fork server's program (after [`super::sandbox::PYTHON`], which
/// defines `sandbox`). It checks first that its parent is the server that
/// started it (`HOOKBOOK_SERVER_PID`); a child sets its own process group,
/// drops every inherited descriptor, takes the environment it is given and
/// the same limits as a cold kernel (open files, file size, no core dumps);
/// then, sandboxed, makes the sandbox and stays outside it as the kernel's
/// keeper (see `sandbox.py`); else enters its working directory and starts
/// a watcher that kills its process group once the fork server is gone.
/// Only then does it become a kernel. `gc.freeze()` keeps the preloaded objects out of the
/// collector, so that children do not write to (and so copy) the pages
/// they share with the fork server.
const FORK_SERVER: &str = r#"
import json, os, resource, signal, sys, threading, time
server = int(os.environ.pop('HOOKBOOK_SERVER_PID', '0'))
if os.getppid() != server:
    os._exit(1)
yield_cpu()
preload = json.loads(os.environ.pop('HOOKBOOK_PRELOAD', '[]'))
import ipykernel.kernelapp, ipykernel.ipkernel, IPython, zmq
# What a kernel would otherwise import after the fork, while it starts and
# runs its first cell (the debugger alone costs a quarter of a second).
for name in ('ipykernel.debugger', 'IPython.core.completerlib', 'IPython.core.debugger',
             'IPython.core.logger', 'IPython.core.oinspect', 'IPython.extensions.storemagic',
             'IPython.utils.wildcard', 'faulthandler', 'pdb', 'tornado.platform.asyncio'):
    try:
        __import__(name)
    except Exception:
        pass
for name in preload:
    try:
        __import__(name)
    except BaseException as e:
        sys.stdout.write(json.dumps({'error': f'preloading {name} failed: {type(e).__name__}: {e}'}) + '\n')
        sys.stdout.flush()
        os._exit(1)
import gc
gc.collect()
gc.freeze()
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
me = os.getpid()

def limits():
    for limit, value in ((resource.RLIMIT_NOFILE, 1024), (resource.RLIMIT_FSIZE, 1 << 30), (resource.RLIMIT_CORE, 0)):
        soft, hard = resource.getrlimit(limit)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(limit, (value, value))

def watch():
    while os.getppid() == me:
        time.sleep(0.5)
    os.killpg(0, signal.SIGKILL)

def become_kernel(request):
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setpgid(0, 0)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, 65536)
    os.environ.clear()
    os.environ.update(request['env'])
    limits()
    if request.get('nice'):
        os.nice(request['nice'])
    if request.get('sandbox'):
        sandbox(request['sandbox'], me)
    else:
        os.chdir(request['work'])
        threading.Thread(target=watch, name='hookbook-parent', daemon=True).start()
    sys.argv = ['hookbook-kernel', '-f', request['connection_file'], '--HistoryManager.enabled=False']
    ipykernel.kernelapp.launch_new_instance()

out = sys.stdout.buffer
def answer(value):
    out.write(json.dumps(value).encode() + b'\n')
    out.flush()

answer({'ready': me})
for line in sys.stdin.buffer:
    try:
        request = json.loads(line)
        pid = os.fork()
    except Exception as e:
        answer({'error': str(e)})
        continue
    if pid == 0:
        try:
            become_kernel(request)
        finally:
            os._exit(1)
    answer({'pid': pid})
"#;

/// What a forked kernel gets: its connection file, working directory,
/// whole environment and the sandbox it starts in (`sandbox.py`'s spec).
pub struct ForkRequest<'a> {
    pub connection_file: &'a Path,
    pub work: &'a Path,
    pub env: Map<String, Value>,
    pub sandbox: Option<Value>,
    /// How much lower than the server's its priority starts (0: the same).
    pub nice: i32,
}

struct Running {
    /// Dropped, it tells the task watching the fork server to kill it.
    _stop: oneshot::Sender<()>,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

pub struct ForkServer {
    python: PathBuf,
    /// Its working directory: the kernels directory, where a starting
    /// server finds what an earlier one left running.
    dir: PathBuf,
    preload: Vec<String>,
    /// Whether it (and so every kernel it forks) runs under `SCHED_IDLE`.
    idle: bool,
    running: tokio::sync::Mutex<Option<Running>>,
    /// Says whether it is up, or down with kernels starting cold.
    health: ForkHealth,
}

impl ForkServer {
    pub fn new(
        python: PathBuf,
        dir: PathBuf,
        preload: Vec<String>,
        idle: bool,
        health: ForkHealth,
    ) -> Self {
        Self {
            python,
            dir,
            preload,
            idle,
            running: tokio::sync::Mutex::new(None),
            health,
        }
    }

    /// Forks a kernel; the fork server is started again first when it is
    /// not running (or stopped answering). Returns the child's pid.
    pub async fn fork(&self, request: &ForkRequest<'_>) -> Result<i32, KernelError> {
        let mut running = self.running.lock().await;
        let line = json!({
            "connection_file": request.connection_file,
            "work": request.work,
            "env": request.env,
            "sandbox": request.sandbox,
            "nice": request.nice,
        })
        .to_string();
        let mut last = None;
        for _ in 0..2 {
            if running.is_none() {
                match self.launch().await {
                    Ok(r) => {
                        *running = Some(r);
                        self.health.up();
                    }
                    Err(e) => {
                        self.health.down();
                        return Err(e);
                    }
                }
            }
            let Some(r) = running.as_mut() else { continue };
            match tokio::time::timeout(FORK_TIMEOUT, exchange(r, &line)).await {
                Ok(Ok(pid)) => return Ok(pid),
                Ok(Err(e)) => last = Some(e),
                Err(_) => last = Some(KernelError::ForkServer("did not answer".into())),
            }
            tracing::warn!("the fork server failed; starting it again");
            *running = None;
            self.health.down();
        }
        Err(last.unwrap_or_else(|| KernelError::ForkServer("failed".into())))
    }

    /// Stops the fork server (its kernels die with it).
    pub async fn stop(&self) {
        *self.running.lock().await = None;
        self.health.stopped();
    }

    async fn launch(&self) -> Result<Running, KernelError> {
        let mut child = tokio::process::Command::new(&self.python)
            .arg("-c")
            .arg(super::sandbox::LAUNCH)
            .current_dir(&self.dir)
            .env_clear()
            .env(
                "HOOKBOOK_PROGRAM",
                format!("{}\n{FORK_SERVER}", super::sandbox::PYTHON),
            )
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "C.UTF-8")
            .env("HOME", &self.dir)
            .env("HOOKBOOK_SERVER_PID", std::process::id().to_string())
            .env("HOOKBOOK_PRELOAD", json!(self.preload).to_string())
            .envs([super::sandbox::run_cpu_env(self.idle)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| KernelError::Spawn {
                python: self.python.display().to_string(),
                source,
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(KernelError::ForkServer("has no pipes".into()));
        };
        let mut stdout = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(READY_TIMEOUT, stdout.next_line())
            .await
            .map_err(|_| KernelError::StartTimeout(READY_TIMEOUT))?
            .map_err(KernelError::ForkServerPipe)?;
        let ready: Value = serde_json::from_str(ready.as_deref().unwrap_or(""))
            .map_err(|_| KernelError::Exited("the fork server could not load ipykernel".into()))?;
        if ready.get("ready").is_none() {
            let said = ready
                .get("error")
                .and_then(Value::as_str)
                .map_or_else(|| ready.to_string(), str::to_string);
            return Err(KernelError::ForkServer(format!(
                "of {} stopped: {said}",
                self.python.display()
            )));
        }
        tracing::info!(preload = ?self.preload, python = %self.python.display(), "the fork server is ready");
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(watch(child, stopped, self.health.clone()));
        Ok(Running {
            _stop: stop,
            stdin,
            stdout,
        })
    }
}

/// Until told to stop (then kills it), watches the fork server: when it
/// dies on its own, kernels start cold until the next kernel starts it
/// again, and the log and the gauge say so.
async fn watch(mut child: Child, stopped: oneshot::Receiver<()>, health: ForkHealth) {
    tokio::select! {
        status = child.wait() => {
            health.down();
            let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
            tracing::warn!(%status, "the fork server exited; kernels start cold until it is started again");
        }
        _ = stopped => {
            let _ = child.kill().await;
        }
    }
}

/// Sends one request line and reads the answer: the child's pid.
async fn exchange(r: &mut Running, line: &str) -> Result<i32, KernelError> {
    let io = KernelError::ForkServerPipe;
    r.stdin.write_all(line.as_bytes()).await.map_err(io)?;
    r.stdin.write_all(b"\n").await.map_err(io)?;
    r.stdin.flush().await.map_err(io)?;
    let answer = r
        .stdout
        .next_line()
        .await
        .map_err(io)?
        .ok_or_else(|| KernelError::Exited("the fork server exited".into()))?;
    let answer: Value = serde_json::from_str(&answer).map_err(KernelError::ForkServerAnswer)?;
    match answer.get("pid").and_then(Value::as_i64) {
        Some(pid) => i32::try_from(pid)
            .map_err(|_| KernelError::ForkServer(format!("answered a pid out of range: {pid}"))),
        None => Err(KernelError::ForkServer(format!("could not fork: {answer}"))),
    }
}
