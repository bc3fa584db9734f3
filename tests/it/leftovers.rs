//! No kernel outlives its server: a server killed with SIGKILL at twenty
//! moments spread over the pool's warm-up, its refills and its runs leaves
//! no kernel process behind (each kernel notices its server's death by
//! itself), a kernel that could not notice (frozen) is killed by the next
//! server of the same data dir, and a server stopped gracefully leaves no
//! kernel directory or cgroup.

use std::time::Duration;

use crate::common::nodes::{add_admin, admin_token, ready_at, serve};
use crate::common::process::Process;
use crate::common::wait::eventually;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rand::Rng as _;
use serde_json::Value;

/// The name of a data dir's kernels directory and cgroup (as the server
/// derives it: the first 8 bytes of SHA-256 of the absolute path, in hex).
fn tag(data_dir: &std::path::Path) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    hex::encode(&digest[..8])
}

/// Kernels of the data dir with `tag`, and its fork server: processes
/// working in its kernels directory (each kernel in a directory of its own
/// there, the fork server in the directory itself), whether started cold
/// or forked.
fn kernels(tag: &str) -> Vec<i32> {
    let base = std::env::temp_dir().join(format!("hookbook-kernels-{tag}"));
    let base = std::fs::canonicalize(&base).unwrap_or(base);
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(&base))
        })
        .collect()
}

/// On every way out, panics included, kills what this test's servers left
/// (what a failing assertion found alive).
struct KillKernels(String);

impl Drop for KillKernels {
    fn drop(&mut self) {
        for pid in kernels(&self.0) {
            let _ = nix::sys::signal::killpg(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Waits (at most two minutes) until no kernel of `tag` is left.
async fn no_kernels_left(what: &str, tag: &str) {
    eventually(what, Duration::from_secs(120), || async {
        match kernels(tag) {
            left if left.is_empty() => Ok(()),
            left => Err(format!("kernels {left:?}")),
        }
    })
    .await
}

/// This data dir's directory in the cpu controller's hierarchy, when the
/// machine has the controller.
fn cpu_base(tag: &str) -> Option<std::path::PathBuf> {
    let root = std::path::Path::new("/sys/fs/cgroup");
    let v2 = std::fs::read_to_string(root.join("cgroup.controllers"))
        .is_ok_and(|c| c.split_whitespace().any(|c| c == "cpu"));
    if v2 {
        return Some(root.join(format!("hookbook-{tag}")));
    }
    root.join("cpu/cpu.idle")
        .exists()
        .then(|| root.join(format!("cpu/hookbook-{tag}")))
}

async fn metric(client: &reqwest::Client, base: &str, line: &str) -> bool {
    match client.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.is_ok_and(|t| t.contains(line)),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_kernel_outlives_a_server_killed_at_any_moment() {
    let dir = tempfile::tempdir().unwrap();
    let tag = tag(dir.path());
    let _cleanup = KillKernels(tag.clone());
    let database = crate::common::db::database_url(dir.path());
    let key = crate::common::nodes::key();
    add_admin(&database);
    let client = reqwest::Client::new();
    let flags = ["--max-concurrent-runs", "2"];
    let (mut server, base) = serve(dir.path(), &database, &key, &flags);
    ready_at(&client, &base).await;
    let token = admin_token(&client, &base).await;
    let notebook = crate::common::NOTEBOOK.replace("print(x)", "import time\\ntime.sleep(2)");
    let (_, receiver) =
        crate::common::nodes::notebook_receiver(&client, &base, &token, "slow", &notebook).await;
    let path = format!("/notebooks/rest/events/webhooks/{receiver}");
    server.kill();
    no_kernels_left("the first server's kernels die with it", &tag).await;

    for moment in 0..20 {
        let (mut server, base): (Process, String) = serve(dir.path(), &database, &key, &flags);
        // Five kinds of moment, each reached as a state, then a little later
        // (up to half a second) so that every phase is hit somewhere.
        match moment % 5 {
            0 => {}
            1 => ready_at(&client, &base).await,
            2 => {
                ready_at(&client, &base).await;
                eventually("the pool warms", Duration::from_secs(120), || async {
                    if metric(&client, &base, "hookbook_warm_kernels 2").await {
                        Ok(())
                    } else {
                        Err("no hookbook_warm_kernels 2 in /metrics".to_string())
                    }
                })
                .await;
            }
            kind => {
                // A run, and with it a refill of the pool.
                ready_at(&client, &base).await;
                let body = format!(r#"{{"moment": {moment}}}"#);
                let r = client
                    .post(format!("{base}{path}"))
                    .header(
                        "x-esrihook-signature",
                        crate::common::events::esri(body.as_bytes()),
                    )
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let job: Value = r.json().await.unwrap();
                let job = job["jobId"].as_str().unwrap().to_string();
                if kind == 4 {
                    eventually("the run starts", Duration::from_secs(120), || async {
                        let j: Value = client
                            .get(format!("{base}/notebooks/admin/notebooks/jobs/{job}"))
                            .query(&[("f", "json"), ("token", &token)])
                            .send()
                            .await
                            .unwrap()
                            .json()
                            .await
                            .unwrap();
                        if j["status"] == "EXECUTING" {
                            Ok(())
                        } else {
                            Err(j.to_string())
                        }
                    })
                    .await;
                }
            }
        }
        let jitter = rand::thread_rng().gen_range(0..500);
        tokio::time::sleep(Duration::from_millis(jitter)).await;
        server.kill();
        // Nothing restarts it yet: its kernels must end by themselves.
        no_kernels_left(
            &format!("the kernels of the server killed at moment {moment} end"),
            &tag,
        )
        .await;
    }

    // A kernel that cannot notice its server's death (frozen) is killed
    // by the next server of the same data dir.
    let (mut server, base) = serve(dir.path(), &database, &key, &flags);
    ready_at(&client, &base).await;
    let first = eventually("a kernel starts", Duration::from_secs(120), || async {
        kernels(&tag)
            .first()
            .copied()
            .ok_or_else(|| "no kernel".to_string())
    })
    .await;
    let frozen = Pid::from_raw(first);
    kill(frozen, Signal::SIGSTOP).unwrap();
    server.kill();
    let (mut server, base) = serve(dir.path(), &database, &key, &flags);
    ready_at(&client, &base).await;
    drop(base);
    let alive = |pid: Pid| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| !s[s.rfind(')').unwrap() + 1..].trim_start().starts_with('Z'))
    };
    if alive(frozen) {
        // Not killed: let it go so it dies with its server, then fail.
        let _ = kill(frozen, Signal::SIGCONT);
        panic!("a kernel left by an earlier server is still alive after a restart");
    }

    // Where the cpu controller is there, this server's directory in it
    // (where kernels limited by maxCpu have their groups) is an idle
    // group, below every thread of the server.
    if let Some(cpu) = cpu_base(&tag) {
        let idle = std::fs::read_to_string(cpu.join("cpu.idle")).unwrap_or_default();
        assert_eq!(idle.trim(), "1", "{} is not an idle group", cpu.display());
    }

    // A graceful stop leaves no kernel, kernel directory or cgroup.
    server.terminate();
    let status = server.wait();
    assert!(status.success(), "{status}");
    assert!(kernels(&tag).is_empty(), "{:?}", kernels(&tag));
    let kernel_dir = std::env::temp_dir().join(format!("hookbook-kernels-{tag}"));
    assert!(
        !kernel_dir.exists(),
        "{} was left: {:?}",
        kernel_dir.display(),
        std::fs::read_dir(&kernel_dir).map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
    );
    for root in [
        "/sys/fs/cgroup",
        "/sys/fs/cgroup/pids",
        "/sys/fs/cgroup/cpu",
    ] {
        let cgroup = std::path::Path::new(root).join(format!("hookbook-{tag}"));
        let inside = |dir: &std::path::Path| -> Vec<String> {
            std::fs::read_dir(dir)
                .map(|d| {
                    d.flatten()
                        .filter(|e| e.path().is_dir())
                        .map(|e| {
                            let procs = std::fs::read_to_string(e.path().join("cgroup.procs"));
                            format!("{}: {:?}", e.path().display(), procs)
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        assert!(
            !cgroup.exists(),
            "{} was left, holding {:?}",
            cgroup.display(),
            inside(&cgroup)
        );
    }
}
