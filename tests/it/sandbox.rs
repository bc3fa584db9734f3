//! The walls between runs, tried as an attacker would from inside a
//! notebook: other runs' kernels, files and tokens, the server's `/proc`
//! and signals, the interpreter's packages, the data dir, processes that
//! outlive their run, the network when it is cut, the CPU the server keeps; with a root server, a
//! server in a user namespace as an ordinary user, and (to show that the
//! attacks are real) a server that runs notebooks without a sandbox.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::events::esri;
use crate::common::process::Process;
use crate::common::wait::eventually;
use crate::common::{spawn_app_in, SECRET};
use serde_json::{json, Value};

const JOBS: &str = "/notebooks/admin/notebooks/jobs";

/// Everything the attacker tries; it prints what it found as JSON. Only
/// probing writes are made (`O_TMPFILE`, an append-open of the
/// interpreter that writes nothing), so that a run without walls harms
/// nothing shared.
const ATTACK: &str = r#"import glob, json, os, socket, subprocess, sys
def attempt(f):
    try:
        return 'ALLOWED: ' + repr(f())[:80]
    except Exception as e:
        return 'refused: ' + type(e).__name__
own = os.environ['JUPYTER_RUNTIME_DIR']
kernels = os.path.dirname(own)
found = {'uid': os.getuid()}
found['siblings'] = sorted(n for n in os.listdir(kernels) if os.path.join(kernels, n) != own)
found['connection_files'] = [p for p in glob.glob(kernels + '/*/connection.json') if not p.startswith(own + '/')]
found['victim_files'] = [os.path.join(d, f) for top in (kernels, '/tmp') for d, _, files in os.walk(top) for f in files if f == victim_file]
found['processes'] = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
found['server_cmdline'] = attempt(lambda: open(f'/proc/{server_pid}/cmdline', 'rb').read())
found['server_environ'] = attempt(lambda: open(f'/proc/{server_pid}/environ', 'rb').read())
found['signal_server'] = attempt(lambda: os.kill(server_pid, 0))
found['data_dir'] = attempt(lambda: os.listdir(data_dir))
found['secrets'] = {p: attempt(lambda p=p: open(p, 'rb').read(8)) for p in secret_files}
packages = next(p for p in sys.path if p.endswith('site-packages'))
found['write_packages'] = attempt(lambda: os.close(os.open(packages, os.O_TMPFILE | os.O_WRONLY, 0o600)))
found['write_interpreter'] = attempt(lambda: os.close(os.open(os.path.realpath(sys.executable), os.O_WRONLY | os.O_APPEND)))
found['idle'] = os.sched_getscheduler(0) == os.SCHED_IDLE
found['take_cpu'] = attempt(lambda: os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0)))
found['network'] = attempt(lambda: socket.create_connection(('127.0.0.1', server_port), timeout=5).close())
found['host_loopback'] = attempt(lambda: socket.create_connection(('127.0.0.1', host_service), timeout=5).close())
found['outbound'] = attempt(lambda: socket.create_connection((outside[0], outside[1]), timeout=5).close())
found['victim_socket'] = attempt(lambda: socket.socket(socket.AF_UNIX).connect('\0' + victim_file))
found['proc_net'] = victim_file in open('/proc/net/unix').read()
subprocess.Popen(['sh', '-c', f'sleep {daemon} &'], start_new_session=True).wait()
print(json.dumps(found))"#;

/// A run that waits to be attacked: its files carry `victim_file`'s name.
const VICTIM: &str = "import os, socket, time\nlistening = socket.socket(socket.AF_UNIX)\nlistening.bind('\\0' + victim_file)\nlistening.listen()\nfor d in ('.', '/tmp'):\n    open(os.path.join(d, victim_file), 'w').write(os.environ.get('HOOKBOOK_TOKEN', ''))\ntime.sleep(120)";

/// A server as the tests reach it: its base URL and an administrator.
struct Site {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Site {
    async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Value {
        let mut form = fields.to_vec();
        form.extend([("f", "json"), ("token", self.token.as_str())]);
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// A receiver whose notebook runs `code` with `parameters`; its URL.
    async fn receiver(&self, code: &str, parameters: &Value) -> String {
        let notebook = json!({"cells": [
            {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "source": "", "outputs": [], "execution_count": null},
            {"cell_type": "code", "id": "a", "metadata": {}, "source": code, "outputs": [], "execution_count": null},
        ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5});
        let item = self
            .form(
                "/notebooks/sharing/rest/content/users/admin/addItem",
                &[("title", "walls"), ("text", &notebook.to_string())],
            )
            .await;
        let r = self
            .form(
                "/notebooks/admin/notebooks/webhookReceivers/create",
                &[
                    ("name", "walls"),
                    ("itemId", item["id"].as_str().unwrap()),
                    ("secret", SECRET),
                    ("signatureHeaders", "x-esrihook-signature"),
                    ("parameters", &parameters.to_string()),
                ],
            )
            .await;
        r["webhookReceiver"]["url"].as_str().unwrap().to_string()
    }

    async fn deliver(&self, url: &str) -> String {
        let r = self
            .client
            .post(url)
            .header("x-esrihook-signature", esri(b"{}"))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        crate::common::events::job_id(r).await
    }

    async fn job(&self, job: &str) -> Value {
        let url = format!("{}{JOBS}/{job}", self.base);
        let r = self
            .client
            .get(url)
            .query(&[("f", "json"), ("token", &self.token)]);
        r.send().await.unwrap().json().await.unwrap()
    }

    /// Waits (bounded) until the job ends; its final state.
    async fn finished(&self, job: &str) -> Value {
        let what = format!("job {job} finishes");
        eventually(&what, Duration::from_secs(90), || async {
            let j = self.job(job).await;
            if ["COMPLETED", "FAILED", "CANCELLED"].contains(&j["status"].as_str().unwrap_or("")) {
                Ok(j)
            } else {
                Err(j.to_string())
            }
        })
        .await
    }

    /// What the attack printed, once its job completed.
    async fn findings(&self, job: &str) -> Value {
        let j = self.finished(job).await;
        assert_eq!(j["status"], "COMPLETED", "{j}");
        let url = format!("{}{JOBS}/{job}/notebook", self.base);
        let r = self.client.get(url).query(&[("token", &self.token)]);
        let nb: Value = r.send().await.unwrap().json().await.unwrap();
        let text = nb["cells"][2]["outputs"][0]["text"].clone();
        let text = match text {
            Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect::<String>(),
            other => other.as_str().unwrap_or_default().to_string(),
        };
        serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("the attack printed no findings: {nb}"))
    }

    async fn health(&self) -> String {
        let r = self.client.get(format!("{}/healthz", self.base));
        r.send().await.unwrap().text().await.unwrap()
    }
}

/// Two services on the host, open for the test binary's whole life: one
/// on its loopback (as a database that trusts local connections would
/// be), one on its own address as seen from the network; their port, and
/// the address and port.
fn listeners() -> (u16, (String, u16)) {
    let loopback = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = loopback.local_addr().unwrap().port();
    let address = crate::common::host_address();
    let outside = std::net::TcpListener::bind((address, 0)).unwrap();
    let outside_port = outside.local_addr().unwrap().port();
    Box::leak(Box::new((loopback, outside)));
    (port, (address.to_string(), outside_port))
}

/// Asserts that a run has a network of its own: out to the network and to
/// this server's port, but not to the host's loopback services, another
/// run's abstract sockets or the host's `/proc/net`.
fn assert_own_network(found: &Value) {
    let starts = |key: &str, with: &str| {
        let v = found[key].as_str().unwrap_or_default();
        assert!(v.starts_with(with), "{key}: {v} ({found})");
    };
    starts("network", "ALLOWED");
    starts("outbound", "ALLOWED");
    starts("host_loopback", "refused");
    starts("victim_socket", "refused");
    assert_eq!(found["proc_net"], json!(false), "{found}");
}

/// What the attacker is told: the most an attacker could know.
fn targets(data_dir: &std::path::Path, server_pid: u32, port: u16) -> Value {
    let victim_file = format!("victim-{}", uuid::Uuid::new_v4().simple());
    let secret_files: Vec<String> = std::fs::read_dir(data_dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.path().display().to_string())
        .collect();
    assert!(
        !secret_files.is_empty(),
        "the data dir holds the key and the database"
    );
    let (host_service, outside) = listeners();
    json!({
        "host_service": host_service,
        "outside": outside,
        "server_pid": server_pid,
        "server_port": port,
        "data_dir": data_dir,
        "secret_files": secret_files,
        "victim_file": victim_file,
        // A daemon's unusual argument, found from outside.
        "daemon": format!("300.{}", uuid::Uuid::new_v4().as_u128() % 1_000_000_000),
    })
}

/// A file a run without walls leaves on the host, removed when dropped.
struct HostFile(std::path::PathBuf);

impl Drop for HostFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Kills, when dropped, what has `argument` among its arguments: the
/// daemon an attack leaves where no walls stop it.
struct Daemons(String);

impl Drop for Daemons {
    fn drop(&mut self) {
        for pid in crate::common::process::with_argument(&self.0) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Asserts that every attack failed.
fn assert_walled(found: &Value) {
    let refused = |key: &str| {
        let v = found[key].as_str().unwrap_or_default();
        assert!(v.starts_with("refused"), "{key}: {v} ({found})");
    };
    assert_eq!(
        found["siblings"],
        json!([]),
        "other kernels are visible: {found}"
    );
    assert_eq!(found["connection_files"], json!([]), "{found}");
    assert_eq!(
        found["victim_files"],
        json!([]),
        "another run's files: {found}"
    );
    assert_eq!(
        found["processes"],
        json!([1]),
        "processes beyond the run's own: {found}"
    );
    for key in [
        "server_cmdline",
        "server_environ",
        "signal_server",
        "data_dir",
    ] {
        refused(key);
    }
    for (path, v) in found["secrets"].as_object().unwrap() {
        assert!(v.as_str().unwrap().starts_with("refused"), "{path}: {v}");
    }
    refused("write_packages");
    refused("write_interpreter");
    // It runs on the CPU time the server leaves, and cannot take more.
    assert_eq!(
        found["idle"],
        json!(true),
        "the run is not SCHED_IDLE: {found}"
    );
    refused("take_cpu");
    assert_ne!(found["uid"], json!(0), "the run is root: {found}");
}

/// The attack, with a victim running beside it; returns the findings.
async fn attack(site: &Site, targets: &Value) -> (Value, Daemons) {
    let daemons = Daemons(targets["daemon"].as_str().unwrap().to_string());
    let victim_file = targets["victim_file"].as_str().unwrap();
    let victim_url = site.receiver(VICTIM, targets).await;
    let attack_url = site.receiver(ATTACK, targets).await;
    let victim = site.deliver(&victim_url).await;
    // The victim's file exists (seen from outside) before the attack.
    eventually(
        "the victim writes its file",
        Duration::from_secs(60),
        || async {
            if victim_file_exists(victim_file) {
                Ok(())
            } else {
                Err(format!("no {victim_file}"))
            }
        },
    )
    .await;
    let job = site.deliver(&attack_url).await;
    let found = site.findings(&job).await;
    site.form(&format!("{JOBS}/{victim}/cancel"), &[]).await;
    site.finished(&victim).await;
    (found, daemons)
}

/// Whether a run's working directory holds `name` (kernels live in the
/// temporary directory, one directory per data dir).
fn victim_file_exists(name: &str) -> bool {
    let tmp = std::env::temp_dir();
    glob_dirs(&tmp, "hookbook-kernels-")
        .into_iter()
        .flat_map(|k| std::fs::read_dir(k).into_iter().flatten().flatten())
        .any(|kernel| kernel.path().join("work").join(name).exists())
}

fn glob_dirs(dir: &std::path::Path, prefix: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect()
}

fn port_of(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

async fn in_process(flags: &[&str]) -> (crate::common::TestApp, Site) {
    let mut all = vec!["--max-concurrent-runs", "2"];
    all.extend_from_slice(flags);
    let app = spawn_app_in(tempfile::tempdir().unwrap(), &all).await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let site = Site {
        client: reqwest::Client::new(),
        base: app.url(""),
        token,
    };
    (app, site)
}

#[tokio::test]
async fn a_run_reaches_no_other_run_nor_the_server_nor_its_data() {
    let (app, site) = in_process(&[]).await;
    assert_eq!(site.health().await, "ok\n");
    let targets = targets(app.dir.path(), std::process::id(), port_of(&site.base));
    let (found, _daemons) = attack(&site, &targets).await;
    assert_walled(&found);
    // A network of its own by default: notebooks call services.
    assert_own_network(&found);
    assert!(
        crate::common::process::gone(targets["daemon"].as_str().unwrap(), 10).await,
        "a process the attack left behind outlived its run"
    );
}

#[tokio::test]
async fn run_network_none_cuts_a_run_off_the_network() {
    let (app, site) = in_process(&["--run-network", "none"]).await;
    let targets = targets(app.dir.path(), std::process::id(), port_of(&site.base));
    let url = site.receiver(ATTACK, &targets).await;
    let found = site.findings(&site.deliver(&url).await).await;
    for key in ["network", "outbound", "host_loopback"] {
        assert!(
            found[key].as_str().unwrap().starts_with("refused"),
            "{key}: {found}"
        );
    }
    assert_walled(&found);
}

/// A data dir inside the interpreter's environment: every run would read
/// it, so no sandbox can be made for this server.
fn interpreter_around(dir: &std::path::Path) -> std::path::PathBuf {
    environment_at(&dir.join("venv"))
}

/// A virtual environment at `venv` that imports the test Python's
/// ipykernel; its interpreter.
fn environment_at(venv: &std::path::Path) -> std::path::PathBuf {
    let made = Command::new(crate::common::python())
        .args(["-m", "venv", "--without-pip"])
        .arg(venv)
        .status()
        .unwrap();
    assert!(made.success());
    let ours = Command::new(crate::common::python())
        .args([
            "-c",
            "import ipykernel, os; print(os.path.dirname(os.path.dirname(ipykernel.__file__)))",
        ])
        .output()
        .unwrap();
    let packages = String::from_utf8(ours.stdout).unwrap();
    let site = glob_dirs(&venv.join("lib"), "python")
        .remove(0)
        .join("site-packages");
    std::fs::write(site.join("test-packages.pth"), packages).unwrap();
    venv.join("bin").join("python")
}

#[tokio::test]
async fn without_a_sandbox_runs_wait_unless_given_up_explicitly_and_then_the_attacks_work() {
    let outer = tempfile::tempdir().unwrap();
    let python = interpreter_around(outer.path());
    let data = outer.path().join("venv").join("data");
    let python = python.display().to_string();
    let data_dir = data.display().to_string();
    let key = crate::common::nodes::key();
    std::fs::create_dir_all(&data).unwrap();
    let database = format!("sqlite://{}/hookbook.db", data.display());
    let flags = ["--python", &python, "--max-concurrent-runs", "2"];

    crate::common::nodes::add_admin(&database);
    // Refused: the node takes events, runs none, and says why.
    let mut refused = Command::new(crate::common::nodes::BIN);
    refused
        .args([
            "serve",
            "--data-dir",
            &data_dir,
            "--database-url",
            &database,
        ])
        .args(["--encryption-key", &key]);
    let (node, site) = served(refused, &flags).await;
    let health = site.health().await;
    assert!(
        health.contains("runs are off") && health.contains("--allow-unsandboxed-runs"),
        "{health}"
    );
    let url = site.receiver("print('ran')", &json!({})).await;
    let job = site.deliver(&url).await;
    assert_eq!(site.job(&job).await["status"], "SUBMITTED");
    drop(node);

    // Given up explicitly: runs run, unwalled, and the attacks succeed.
    let mut allowed = Command::new(crate::common::nodes::BIN);
    allowed
        .args([
            "serve",
            "--data-dir",
            &data_dir,
            "--database-url",
            &database,
        ])
        .args(["--encryption-key", &key, "--allow-unsandboxed-runs"])
        .args(["--run-cpu", "normal"]);
    let (node, site) = served(allowed, &flags).await;
    let health = site.health().await;
    assert!(health.contains("runs are not walled off"), "{health}");
    assert_eq!(site.finished(&job).await["status"], "COMPLETED");
    let targets = targets(&data, node.id(), port_of(&site.base));
    // Without walls the waiting run writes into the host's /tmp.
    let _victim = HostFile(std::env::temp_dir().join(targets["victim_file"].as_str().unwrap()));
    let (found, _daemons) = attack(&site, &targets).await;
    assert_ne!(found["siblings"], json!([]), "{found}");
    assert_ne!(found["victim_files"], json!([]), "{found}");
    // `--run-cpu normal`: the kernel competes for the CPU as the server does.
    assert_eq!(found["idle"], json!(false), "{found}");
    assert!(
        found["data_dir"].as_str().unwrap().starts_with("ALLOWED"),
        "{found}"
    );
    assert!(
        found["server_cmdline"]
            .as_str()
            .unwrap()
            .starts_with("ALLOWED"),
        "{found}"
    );
}

/// Starts `command` (a `serve` without listen address or flags) on a free
/// port; waits until it answers, and signs in as `admin`.
async fn served(mut command: Command, flags: &[&str]) -> (Process, Site) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let node = Process::spawn(
        command
            .args(["--listen", &format!("127.0.0.1:{port}"), "--log", "warn"])
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    crate::common::nodes::ready_at(&client, &base).await;
    let token = crate::common::nodes::form(
        &client,
        format!("{base}/notebooks/sharing/rest/generateToken"),
        &[
            ("username", "admin"),
            ("password", crate::common::nodes::PASSWORD),
            ("f", "json"),
        ],
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    (
        node,
        Site {
            client,
            base,
            token,
        },
    )
}

#[tokio::test]
async fn a_server_that_is_not_root_walls_its_runs_off_too() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let key = crate::common::nodes::key();
    let database = format!("sqlite://{}/hookbook.db", data_dir.display());
    std::fs::create_dir_all(&data_dir).unwrap();
    crate::common::nodes::add_admin(&database);
    // An ordinary user (1000) in a user namespace of its own.
    let mut command = Command::new("unshare");
    command
        .args(["--user", "--map-user=1000", "--map-group=1000", "--"])
        .arg(crate::common::nodes::BIN)
        .args(["serve", "--data-dir", data_dir.to_str().unwrap()])
        .args(["--database-url", &database, "--encryption-key", &key]);
    let python = crate::common::python().display().to_string();
    let (node, site) = served(
        command,
        &["--python", &python, "--max-concurrent-runs", "2"],
    )
    .await;
    assert_eq!(site.health().await, "ok\n");
    let server = crate::common::process::descendants_of(node.id())
        .into_iter()
        .chain([node.id() as i32])
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.starts_with(crate::common::nodes::BIN.as_bytes()))
        })
        .expect("the server process");
    let targets = targets(&data_dir, server as u32, port_of(&site.base));
    let (found, _daemons) = attack(&site, &targets).await;
    assert_walled(&found);
    assert_own_network(&found);
    assert!(
        crate::common::process::gone(targets["daemon"].as_str().unwrap(), 10).await,
        "a process the attack left behind outlived its run"
    );
}

/// A kernel under `server` (a root server) and its keeper: PID 1 of its
/// own namespace, with the run's uid, whose parent is outside.
fn warm_kernel(server: u32) -> Option<(i32, u32)> {
    crate::common::process::descendants_of(server)
        .into_iter()
        .find_map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let nspid = status.lines().find(|l| l.starts_with("NSpid:"))?;
            // Walled in to the end: it no longer has the server's uid.
            let uid = status.lines().find(|l| l.starts_with("Uid:"))?;
            let walled = uid.split_whitespace().nth(1) != Some("0");
            let init = nspid.split_whitespace().count() > 2
                && nspid.split_whitespace().last() == Some("1");
            (walled && init)
                .then(|| Some((pid, crate::common::process::parent_of(pid)?)))
                .flatten()
        })
}

#[tokio::test]
async fn a_kernel_dies_with_its_keeper() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/hookbook.db", dir.path().display());
    crate::common::nodes::add_admin(&database);
    let mut command = Command::new(crate::common::nodes::BIN);
    command
        .args(["serve", "--data-dir", dir.path().to_str().unwrap()])
        .args(["--database-url", &database]);
    let python = crate::common::python().display().to_string();
    let (node, site) = served(
        command,
        &["--python", &python, "--max-concurrent-runs", "1"],
    )
    .await;
    // Warm, in the pool: the server no longer watches it start (a start
    // whose keeper dies is undone by the server itself).
    let (kernel, keeper) = eventually("a warm kernel", Duration::from_secs(60), || async {
        let metrics = site
            .client
            .get(format!("{}/metrics", site.base))
            .send()
            .await;
        let warm = match metrics {
            Ok(r) => r
                .text()
                .await
                .unwrap_or_default()
                .contains("hookbook_warm_kernels 1"),
            Err(_) => false,
        };
        match warm_kernel(node.id()) {
            Some(found) if warm => Ok(found),
            found => Err(format!(
                "hookbook_warm_kernels 1: {warm}; a walled kernel and its keeper: {found:?}"
            )),
        }
    })
    .await;
    // Killed from outside (not by the server), the keeper takes its
    // kernel with it.
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(keeper as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    let what = format!("kernel {kernel} ends with its keeper");
    eventually(&what, Duration::from_secs(10), || async {
        let alive = std::fs::read_to_string(format!("/proc/{kernel}/stat"))
            .is_ok_and(|s| !s[s.rfind(')').unwrap() + 1..].trim_start().starts_with('Z'));
        if alive {
            Err("still running".to_string())
        } else {
            Ok(())
        }
    })
    .await;
}

#[tokio::test]
async fn the_default_environment_inside_the_data_dir_runs_walled_and_shows_only_itself() {
    // As `hookbook serve` makes it without --python: `<data>/python`.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    environment_at(&data.join("python"));
    let database = format!("sqlite://{}/hookbook.db", data.display());
    crate::common::nodes::add_admin(&database);
    let mut command = Command::new(crate::common::nodes::BIN);
    command
        .args(["serve", "--data-dir", data.to_str().unwrap()])
        .args(["--database-url", &database]);
    let (node, site) = served(command, &["--max-concurrent-runs", "2"]).await;
    assert_eq!(site.health().await, "ok\n");
    let targets = targets(&data, node.id(), port_of(&site.base));
    let url = site.receiver(ATTACK, &targets).await;
    let _daemons = Daemons(targets["daemon"].as_str().unwrap().to_string());
    let found = site.findings(&site.deliver(&url).await).await;
    // The data dir shows its interpreter, read-only, and nothing else.
    assert_eq!(found["data_dir"], "ALLOWED: ['python']", "{found}");
    for (path, v) in found["secrets"].as_object().unwrap() {
        assert!(v.as_str().unwrap().starts_with("refused"), "{path}: {v}");
    }
    assert!(
        found["write_packages"]
            .as_str()
            .unwrap()
            .starts_with("refused"),
        "{found}"
    );
    assert_eq!(found["siblings"], json!([]), "{found}");
}
