//! Faults no request makes: the database gone (PostgreSQL stopped or cut
//! off, through a proxy the test controls; SQLite's disk full) while
//! signed deliveries keep coming. Every delivery is answered 200 (stored)
//! or 503 with `Retry-After` within 10 s, never 500 and never a dropped
//! connection; the log says why once; `/healthz` and `hookbook_storage_up`
//! say so; intake resumes by itself; every 200 has its job.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::events::esri;
use crate::common::nodes::{add_admin, admin_token, key, notebook_receiver, ready_at, BIN};
use crate::common::process::Process;
use crate::common::proxy::{Mode, Proxy};
use crate::common::wait::eventually;

/// What one delivery got.
#[derive(Debug, Clone)]
struct Answer {
    status: Option<u16>,
    retry_after: Option<String>,
    took: Duration,
    /// When the answer came.
    at: Instant,
    /// The job an answer 200 names.
    job: Option<String>,
}

/// Signed deliveries from `senders` tasks, one after another each, until
/// stopped; every answer is kept.
struct Stream {
    answers: Arc<Mutex<Vec<Answer>>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Stream {
    fn start(url: String, senders: usize) -> Stream {
        let answers = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let tasks = (0..senders)
            .map(|s| {
                let (client, url, answers, stop) =
                    (client.clone(), url.clone(), answers.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let body = format!(r#"{{"sender": {s}, "n": {n}}}"#);
                        let started = Instant::now();
                        let sent = client
                            .post(&url)
                            .header("x-esrihook-signature", esri(body.as_bytes()))
                            .body(body)
                            .send()
                            .await;
                        let status = sent.as_ref().ok().map(|r| r.status().as_u16());
                        let retry_after = sent.as_ref().ok().and_then(|r| {
                            Some(r.headers().get("retry-after")?.to_str().ok()?.to_string())
                        });
                        let body: Option<serde_json::Value> = match sent {
                            Ok(r) => r.json().await.ok(),
                            Err(_) => None,
                        };
                        let answer = Answer {
                            status,
                            retry_after,
                            took: started.elapsed(),
                            at: Instant::now(),
                            job: body.and_then(|b| Some(b["jobId"].as_str()?.to_string())),
                        };
                        let refused = answer.status != Some(200);
                        answers.lock().unwrap().push(answer);
                        if refused {
                            // As a sender's retry would: not a busy loop.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                })
            })
            .collect();
        Stream {
            answers,
            stop,
            tasks,
        }
    }

    fn count(&self, status: u16) -> usize {
        self.answers
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.status == Some(status))
            .count()
    }

    /// Waits (bounded) until `n` more answers with `status` came.
    async fn wait_for(&self, status: u16, n: usize) {
        let target = self.count(status) + n;
        let what = format!("{n} more answers {status}");
        eventually(&what, Duration::from_secs(120), || async {
            match self.count(status) {
                now if now >= target => Ok(()),
                now => Err(format!("{now} answers {status} of {target}")),
            }
        })
        .await;
    }

    async fn stop(mut self) -> Vec<Answer> {
        self.stop.store(true, Ordering::Relaxed);
        for task in std::mem::take(&mut self.tasks) {
            task.await.unwrap();
        }
        let answers = self.answers.lock().unwrap().clone();
        answers
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// `hookbook serve` on `database` with runs off, its log in `log`.
fn serve(dir: &Path, database: &str, key: &str, log: &Path) -> (Process, String) {
    serve_with(dir, database, key, log, &["--max-concurrent-runs", "0"])
}

/// `hookbook serve` on `database` with `flags`, its log in `log`.
fn serve_with(
    dir: &Path,
    database: &str,
    key: &str,
    log: &Path,
    flags: &[&str],
) -> (Process, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Process::spawn(
        Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", database, "--encryption-key", key])
            .args(["--data-dir", dir.to_str().unwrap()])
            .args(["--python", crate::common::python().to_str().unwrap()])
            .args(["--log", "warn"])
            .args(flags)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap()),
    );
    (child, format!("http://127.0.0.1:{port}"))
}

/// `/healthz`: its status and text.
async fn health(client: &reqwest::Client, base: &str) -> (u16, String) {
    let r = client.get(format!("{base}/healthz")).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The value of the gauge `hookbook_storage_up`.
async fn storage_up(client: &reqwest::Client, base: &str) -> String {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with("hookbook_storage_up "))
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("absent")
        .to_string()
}

/// Jobs the receiver has, asked of the server.
async fn jobs(client: &reqwest::Client, base: &str, token: &str, receiver: &str) -> u64 {
    let r: serde_json::Value = client
        .get(format!(
            "{base}/notebooks/admin/notebooks/jobs?receiverId={receiver}&num=1&f=json&token={token}"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["total"]
        .as_u64()
        .unwrap_or_else(|| panic!("a total: {r}"))
}

/// A job of the server at `base`, as the jobs API answers it.
async fn job_of(client: &reqwest::Client, base: &str, token: &str, job: &str) -> serde_json::Value {
    client
        .get(format!(
            "{base}/notebooks/admin/notebooks/jobs/{job}?f=json&token={token}"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits (bounded) until the job ends; the job as it ended.
async fn ended(client: &reqwest::Client, base: &str, token: &str, job: &str) -> serde_json::Value {
    let what = format!("job {job} ends");
    eventually(&what, Duration::from_secs(300), || async {
        let j = job_of(client, base, token, job).await;
        if matches!(
            j["status"].as_str(),
            Some("COMPLETED" | "FAILED" | "CANCELLED")
        ) {
            Ok(j)
        } else {
            Err(j.to_string())
        }
    })
    .await
}

/// Every answer is 200, or 503 with `Retry-After`, within 10 s; none is
/// a dropped connection. Prints the figures.
fn check(answers: &[Answer], what: &str) -> (usize, usize) {
    let ok = answers.iter().filter(|a| a.status == Some(200)).count();
    let unavailable: Vec<&Answer> = answers.iter().filter(|a| a.status == Some(503)).collect();
    let others: Vec<&Answer> = answers
        .iter()
        .filter(|a| !matches!(a.status, Some(200) | Some(503)))
        .collect();
    assert!(
        others.is_empty(),
        "{what}: answers other than 200 and 503: {others:?}"
    );
    for a in &unavailable {
        assert!(
            a.retry_after.is_some(),
            "{what}: a 503 without Retry-After: {a:?}"
        );
    }
    let longest = answers.iter().map(|a| a.took).max().unwrap_or_default();
    println!(
        "{what}: {} deliveries: {ok} answered 200, {} answered 503; longest answer {longest:?}",
        answers.len(),
        unavailable.len()
    );
    assert!(
        longest <= Duration::from_secs(10),
        "{what}: an answer took {longest:?}, past the 10 s senders wait"
    );
    (ok, unavailable.len())
}

/// Lines of the log that say deliveries cannot be stored.
fn said_unavailable(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter(|l| l.contains("deliveries cannot be stored"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_stopped_or_cut_off_is_answered_503_in_time_and_intake_resumes_by_itself() {
    let upstream: SocketAddr = "127.0.0.1:5432".parse().unwrap();
    let proxy = Proxy::start(upstream).await;
    let direct = crate::common::db::fresh_postgres();
    let database = direct.replacen("127.0.0.1:5432", &proxy.addr.to_string(), 1);
    assert_ne!(
        database, direct,
        "the test database is reached through the proxy"
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let site_key = key();
    let (_server, base) = serve(dir.path(), &database, &site_key, &log);
    let client = reqwest::Client::new();
    ready_at(&client, &base).await;
    add_admin(&database);
    let token = admin_token(&client, &base).await;
    let (_, receiver) =
        notebook_receiver(&client, &base, &token, "outage", crate::common::NOTEBOOK).await;
    let url = format!("{base}/notebooks/rest/events/webhooks/{receiver}");

    let stream = Stream::start(url, 4);
    stream.wait_for(200, 40).await;
    // PostgreSQL stops: its connections are reset and new ones refused.
    proxy.set(Mode::Closed);
    stream.wait_for(503, 20).await;
    let (status, text) = health(&client, &base).await;
    println!("/healthz with PostgreSQL stopped: {status} {text}");
    assert_eq!(status, 503, "/healthz says so: {text}");
    assert!(text.contains("deliveries cannot be stored"), "{text}");
    assert_eq!(storage_up(&client, &base).await, "0");
    proxy.set(Mode::Pass);
    stream.wait_for(200, 40).await;
    assert_eq!(health(&client, &base).await.0, 200, "/healthz is ok again");
    assert_eq!(storage_up(&client, &base).await, "1");
    let stopped = stream.stop().await;
    let (ok, refused) = check(&stopped, "PostgreSQL stopped");
    // A commit whose answer the broken connection lost may have gone
    // through: its 503 then has a job (the sender's retry is its
    // duplicate); every 200 has one.
    let stored = jobs(&client, &base, &token, &receiver).await;
    assert!(
        stored >= ok as u64 && stored <= (ok + refused) as u64,
        "{stored} jobs for {ok} answers 200 and {refused} answers 503"
    );
    assert_eq!(said_unavailable(&log), 1, "the log says it once");

    // The connection cut off: nothing passes, nothing is refused.
    let url = format!("{base}/notebooks/rest/events/webhooks/{receiver}");
    let stream = Stream::start(url, 4);
    stream.wait_for(200, 40).await;
    proxy.set(Mode::Blackhole);
    stream.wait_for(503, 8).await;
    let (status, text) = health(&client, &base).await;
    assert_eq!(status, 503, "/healthz says so: {text}");
    proxy.set(Mode::Pass);
    stream.wait_for(200, 40).await;
    let cut = stream.stop().await;
    let (ok_cut, late) = check(&cut, "PostgreSQL cut off");
    let stored = jobs(&client, &base, &token, &receiver).await - stored;
    // A 503 for an answer that came too late may still have been stored,
    // (then the sender's retry is its duplicate); every 200 was.
    assert!(
        stored >= ok_cut as u64 && stored <= (ok_cut + late) as u64,
        "{stored} jobs for {ok_cut} answers 200 and {late} answers 503"
    );
    assert_eq!(said_unavailable(&log), 2, "the log says it once per outage");
}

/// A small file system (tmpfs) mounted for the test, unmounted however the
/// test ends.
struct Mounted(std::path::PathBuf);

impl Mounted {
    fn tmpfs(at: &Path, size: &str) -> Mounted {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "cannot mount a {size} tmpfs at {} (the disk-full test runs as root, as scripts/test does in CI)",
            at.display()
        );
        Mounted(at.to_path_buf())
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `path` until the file system is full, in ever smaller pieces.
fn fill(path: &Path) {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path).unwrap();
    for piece in [65_536, 4096, 1] {
        let bytes = vec![0u8; piece];
        while file
            .write_all(&bytes)
            .and_then(|()| file.sync_data())
            .is_ok()
        {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sqlite_disk_is_answered_503_and_intake_resumes_once_there_is_room() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _mounted = Mounted::tmpfs(&data, "8m");
    let database = format!("sqlite://{}", data.join("hookbook.db").display());
    let log = dir.path().join("server.log");
    let (server, base) = serve(&data, &database, &key(), &log);
    let client = reqwest::Client::new();
    ready_at(&client, &base).await;
    add_admin(&database);
    let token = admin_token(&client, &base).await;
    let (_, receiver) =
        notebook_receiver(&client, &base, &token, "full disk", crate::common::NOTEBOOK).await;
    let url = format!("{base}/notebooks/rest/events/webhooks/{receiver}");

    let stream = Stream::start(url, 4);
    stream.wait_for(200, 20).await;
    let filler = data.join("filler");
    fill(&filler);
    stream.wait_for(503, 20).await;
    let (status, text) = health(&client, &base).await;
    println!("/healthz with the disk full: {status} {text}");
    assert_eq!(status, 503, "/healthz says so: {text}");
    assert!(text.contains("full"), "it says the disk is full: {text}");
    assert_eq!(storage_up(&client, &base).await, "0");
    std::fs::remove_file(&filler).unwrap();
    stream.wait_for(200, 20).await;
    assert_eq!(health(&client, &base).await.0, 200, "/healthz is ok again");
    let answers = stream.stop().await;
    let (ok, _) = check(&answers, "SQLite's disk full");
    assert_eq!(
        jobs(&client, &base, &token, &receiver).await,
        ok as u64,
        "every 200 has its job, and no 503 made one"
    );
    assert_eq!(said_unavailable(&log), 1, "the log says it once");
    drop(server);
}

/// The peak resident memory of a process, in bytes (`VmHWM`).
fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status");
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notebook_printing_400_mb_leaves_the_servers_memory_flat_and_its_page_small() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("hookbook.db").display());
    let log = dir.path().join("server.log");
    let (server, base) = serve_with(
        dir.path(),
        &database,
        &key(),
        &log,
        &["--max-concurrent-runs", "1"],
    );
    let client = reqwest::Client::new();
    ready_at(&client, &base).await;
    add_admin(&database);
    let token = admin_token(&client, &base).await;
    let printing = crate::common::runs::notebook(&[
        "for i in range(300):\n    print('x' * (1 << 20))",
        "print('y' * (100 << 20))",
        "print('the end')",
    ]);
    let (_, receiver) = notebook_receiver(&client, &base, &token, "loud", &printing).await;
    let url = format!("{base}/notebooks/rest/events/webhooks/{receiver}");
    let before = peak_memory(server.id());
    let r = client
        .post(&url)
        .header("x-esrihook-signature", esri(b"{}"))
        .body("{}")
        .send()
        .await
        .unwrap();
    let job = crate::common::events::job_id(r).await;
    let jobs_url = format!("{base}/notebooks/admin/notebooks/jobs/{job}");
    let ended = ended(&client, &base, &token, &job).await;
    let after = peak_memory(server.id());
    let page = client
        .get(format!("{jobs_url}?f=html&token={token}"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let notebook = client
        .get(format!("{jobs_url}/notebook?token={token}"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    println!(
        "400 MB printed: the server's peak memory {} MiB before, {} MiB after; the job page {} KiB, the notebook {} KiB",
        before >> 20,
        after >> 20,
        page.len() >> 10,
        notebook.len() >> 10
    );
    assert_eq!(ended["status"], "COMPLETED", "the run goes on: {ended}");
    let message = ended["messages"].to_string();
    assert!(
        message.contains("--max-run-output-mb"),
        "the job says so: {message}"
    );
    // What it holds is the budget's 8 MB of outputs in a few copies (the
    // outputs, the notebook's JSON, the database's write), whatever was
    // printed.
    assert!(
        after < before + (128 << 20),
        "the server's peak memory grew from {before} to {after} bytes"
    );
    assert!(page.len() < 2 << 20, "the page is {} bytes", page.len());
    assert!(
        notebook.len() < 9 << 20,
        "the notebook is {} bytes",
        notebook.len()
    );
}

/// Runs `hookbook` with `args` to its end; panics with its output unless
/// it succeeds.
fn hookbook(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "hookbook {args:?} failed: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_a_flood_restores_to_a_site_with_every_delivery_acknowledged_before_it(
) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("site");
    let database = format!("sqlite://{}", data.join("hookbook.db").display());
    let log = dir.path().join("server.log");
    let site_key = key();
    let (server, base) = serve_with(
        &data,
        &database,
        &site_key,
        &log,
        &["--max-concurrent-runs", "0"],
    );
    let client = reqwest::Client::new();
    ready_at(&client, &base).await;
    add_admin(&database);
    let token = admin_token(&client, &base).await;
    let (_, receiver) =
        notebook_receiver(&client, &base, &token, "backed up", crate::common::NOTEBOOK).await;
    let url = format!("{base}/notebooks/rest/events/webhooks/{receiver}");
    let stream = Stream::start(url, 4);
    stream.wait_for(200, 100).await;
    let backup = dir.path().join("site.backup");
    let began = Instant::now();
    let said = hookbook(&[
        "backup",
        "--data-dir",
        data.to_str().unwrap(),
        "--to",
        backup.to_str().unwrap(),
    ]);
    assert!(
        said.contains("encryption key"),
        "it says the key is kept apart: {said}"
    );
    stream.wait_for(200, 100).await;
    let answers = stream.stop().await;
    drop(server);
    check(&answers, "a flood during a backup");
    let acknowledged: Vec<String> = answers
        .iter()
        .filter(|a| a.status == Some(200) && a.at < began)
        .filter_map(|a| a.job.clone())
        .collect();
    assert!(acknowledged.len() >= 100);

    // Restoring into the live data dir is refused; a new one is made.
    let refused = Command::new(BIN)
        .args([
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .args(["--encryption-key", &site_key])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("holds a database already"));
    let restored = dir.path().join("restored");
    hookbook(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
        "--encryption-key",
        &site_key,
    ]);
    let restored_db = format!("sqlite://{}", restored.join("hookbook.db").display());
    let (_again, base) = serve_with(
        &restored,
        &restored_db,
        &site_key,
        &dir.path().join("restored.log"),
        &["--max-concurrent-runs", "1"],
    );
    ready_at(&client, &base).await;
    let token = admin_token(&client, &base).await;
    for job in &acknowledged {
        let r = job_of(&client, &base, &token, job).await;
        assert_eq!(
            r["jobId"],
            job.as_str(),
            "job {job}, acknowledged before the backup, is in it: {r}"
        );
    }
    // The restored site runs: its receiver (and its secret) work.
    let r = client
        .post(format!("{base}/notebooks/rest/events/webhooks/{receiver}"))
        .header("x-esrihook-signature", esri(b"{}"))
        .body("{}")
        .send()
        .await
        .unwrap();
    let job = crate::common::events::job_id(r).await;
    let j = ended(&client, &base, &token, &job).await;
    assert_eq!(j["status"], "COMPLETED", "a run on the restored site: {j}");
    println!(
        "backup under a flood: {} deliveries acknowledged before it began, all restored; the restored site runs",
        acknowledged.len()
    );
}

/// Heartbeats runs send while they run: which job, which kernel, when.
type Beats = Arc<Mutex<Vec<(String, String, Instant)>>>;

/// An HTTP server that records `GET /beat?job=J&kernel=K`, on the host's
/// own address (runs have a network of their own, without the host's
/// loopback); where it listens.
async fn heartbeats() -> (std::net::SocketAddr, Beats, crate::common::Aborting) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind((crate::common::host_address(), 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap();
    let beats: Beats = Arc::default();
    let recorded = beats.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let recorded = recorded.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 2048];
                let n = conn.read(&mut buf).await.unwrap_or(0);
                let at = Instant::now();
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let query = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let field = |name: &str| {
                    query
                        .split(['?', '&'])
                        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                        .unwrap_or("")
                        .to_string()
                };
                recorded
                    .lock()
                    .unwrap()
                    .push((field("job"), field("kernel"), at));
                let _ = conn
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (port, beats, crate::common::Aborting(task))
}

/// The kernels that ran `job`, in the order they began, each with its
/// first and last heartbeat.
fn kernels_of(beats: &Beats, job: &str) -> Vec<(String, Instant, Instant)> {
    let mut kernels: Vec<(String, Instant, Instant)> = Vec::new();
    for (j, kernel, at) in beats.lock().unwrap().iter() {
        if j != job {
            continue;
        }
        match kernels.iter_mut().find(|k| &k.0 == kernel) {
            Some(k) => k.2 = *at,
            None => kernels.push((kernel.clone(), *at, *at)),
        }
    }
    kernels
}

/// Waits (bounded) until `job` has had `n` kernels, with `beats` each.
async fn wait_for_kernels(beats: &Beats, job: &str, n: usize) {
    let what = format!("{job} has had {n} kernels");
    eventually(&what, Duration::from_secs(180), || async {
        let seen = kernels_of(beats, job);
        if seen.len() >= n {
            Ok(())
        } else {
            Err(format!("{seen:?}"))
        }
    })
    .await;
}

/// A node running `job` is cut off from PostgreSQL as `mode` says; another
/// node takes the job over. The first kernel's last heartbeat comes before
/// the second's first.
async fn cut_off(mode: Mode) {
    let (port, beats, _beats_server) = heartbeats().await;
    let proxy = Proxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let direct = crate::common::db::fresh_postgres();
    let through = direct.replacen("127.0.0.1:5432", &proxy.addr.to_string(), 1);
    let site_key = key();
    let flags = ["--max-concurrent-runs", "1", "--job-lease-seconds", "6"];
    let dir_a = tempfile::tempdir().unwrap();
    let (_a, base_a) = serve_with(
        dir_a.path(),
        &through,
        &site_key,
        &dir_a.path().join("log"),
        &flags,
    );
    let client = reqwest::Client::new();
    ready_at(&client, &base_a).await;
    add_admin(&direct);
    let token = admin_token(&client, &base_a).await;
    let beating = crate::common::runs::notebook(&[&format!(
        "import time, uuid, urllib.request\nme = uuid.uuid4().hex\njob = webhookPayload['job']\nfor i in range(200):\n    urllib.request.urlopen(f'http://{port}/beat?job={{job}}&kernel={{me}}', timeout=5).read()\n    time.sleep(0.05)"
    )]);
    let (_, receiver) = notebook_receiver(&client, &base_a, &token, "beats", &beating).await;
    let r = client
        .post(format!(
            "{base_a}/notebooks/rest/events/webhooks/{receiver}"
        ))
        .header("x-esrihook-signature", esri(br#"{"job": "one"}"#))
        .body(r#"{"job": "one"}"#)
        .send()
        .await
        .unwrap();
    let job = crate::common::events::job_id(r).await;
    wait_for_kernels(&beats, "one", 1).await;
    // A second node, which may take the job only once its lease ends.
    let dir_b = tempfile::tempdir().unwrap();
    let (_b, base_b) = serve_with(
        dir_b.path(),
        &direct,
        &site_key,
        &dir_b.path().join("log"),
        &flags,
    );
    ready_at(&client, &base_b).await;
    let cut = Instant::now();
    proxy.set(mode);
    wait_for_kernels(&beats, "one", 2).await;
    let kernels = kernels_of(&beats, "one");
    let (first, second) = (&kernels[0], &kernels[1]);
    println!(
        "{mode:?}: the cut-off node's kernel beat last {:?} after the cut; the other node's kernel first {:?} after it ({:?} apart)",
        first.2 - cut,
        second.1 - cut,
        second.1 - first.2
    );
    assert!(
        first.2 < second.1,
        "two kernels ran job one at once: {kernels:?}"
    );
    // The job ends on the second node, as its retry policy says.
    let j = ended(&client, &base_b, &token, &job).await;
    assert_eq!(j["status"], "COMPLETED", "job one: {j}");
    let kernels = kernels_of(&beats, "one");
    assert_eq!(kernels.len(), 2, "no third kernel: {kernels:?}");
    assert!(
        kernels[0].2 < kernels[1].1,
        "the first never beat again: {kernels:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_postgresql_goes_silent_kills_its_kernels_before_another_takes_its_jobs() {
    cut_off(Mode::Blackhole).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_postgresql_connections_close_kills_its_kernels_before_another_takes_its_jobs()
{
    cut_off(Mode::Closed).await;
}
