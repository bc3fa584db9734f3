//! A run's walls as its notebook meets them: its own environment and a
//! fresh directory, no way to the key or the database, and the limits on
//! open files, file size, processes and disk; a kernel that dies fails
//! its run at once.

use std::time::Duration;

use crate::common::runs::{deliver, executed, finished, setup, stdout};
use crate::common::wait::eventually;

#[tokio::test]
async fn a_run_sees_only_its_own_environment_a_fresh_directory_and_limits() {
    let s = setup(
        &[
            "import os\nprint(sorted(os.environ))",
            "import os\nprint(os.getcwd(), sorted(os.listdir('.')))",
            "import resource\nprint(resource.getrlimit(resource.RLIMIT_NOFILE)[0], resource.getrlimit(resource.RLIMIT_FSIZE)[0], resource.getrlimit(resource.RLIMIT_CORE)[0])",
        ],
        &[],
    )
    .await;
    let job = deliver(&s, "{}", "application/json").await;
    assert_eq!(finished(&s, &job).await["status"], "COMPLETED");
    let nb = executed(&s, &job).await;
    let env = stdout(&nb, 2);
    for name in ["HOOKBOOK_TOKEN", "HOOKBOOK_URL", "PATH", "HOME"] {
        assert!(env.contains(&format!("'{name}'")), "{name} missing: {env}");
    }
    for secret in [
        "HOOKBOOK_ENCRYPTION_KEY",
        "HOOKBOOK_DATABASE_URL",
        "HOOKBOOK_DATA_DIR",
        "CARGO",
    ] {
        assert!(!env.contains(secret), "{secret} leaked into the run: {env}");
    }
    let dir = stdout(&nb, 3);
    let (cwd, listing) = dir.trim().split_once(' ').unwrap();
    assert_eq!(listing, "[]", "the working directory starts empty");
    assert!(!cwd.contains("hookbook.db"));
    eventually(
        "the run's working directory is removed after the run",
        Duration::from_secs(10),
        || async {
            if std::path::Path::new(cwd).exists() {
                Err(format!("{cwd} still exists"))
            } else {
                Ok(())
            }
        },
    )
    .await;
    assert_eq!(stdout(&nb, 4).trim(), format!("1024 {} 0", 1u64 << 30));
}

#[tokio::test]
async fn a_run_cannot_find_the_key_or_the_database_from_its_directory_or_environment() {
    let s = setup(
        &[
            "import os\nfound = []\nd = os.getcwd()\nfor _ in range(20):\n    try:\n        found += [os.path.join(d, n) for n in os.listdir(d) if n in ('encryption.key', 'hookbook.db', 'test-database-url')]\n    except OSError:\n        pass\n    d = os.path.dirname(d)\nprint('found', found)",
            "import os\nprint('env', [k for k, v in os.environ.items() if 'encryption' in v or '.db' in v or 'postgres' in v or 'KEY' in k])",
        ],
        &[],
    )
    .await;
    let job = deliver(&s, "{}", "application/json").await;
    assert_eq!(finished(&s, &job).await["status"], "COMPLETED");
    let nb = executed(&s, &job).await;
    assert_eq!(
        stdout(&nb, 2).trim(),
        "found []",
        "walking up from the run's directory"
    );
    assert_eq!(stdout(&nb, 3).trim(), "env []", "the run's environment");
    // The server's files are where the run could not look.
    assert!(s.app.dir.path().join("encryption.key").exists());
}

#[tokio::test]
async fn a_run_that_opens_thousands_of_files_or_writes_past_a_gibibyte_is_stopped_at_its_limits() {
    let s = setup(
        &[
            "import os\nfiles = []\ntry:\n    for i in range(5000):\n        files.append(open(f'f{i}', 'w'))\n    print('opened', len(files))\nexcept OSError as e:\n    print('stopped after', len(files), e.strerror)\nfor f in files:\n    f.close()",
            "chunk = b'x' * (64 << 20)\nwritten = 0\ntry:\n    with open('big', 'wb') as f:\n        for _ in range(20):\n            f.write(chunk)\n            f.flush()\n            written += len(chunk)\n    print('wrote', written)\nexcept OSError as e:\n    print('stopped at', written >> 20, 'MiB:', e.strerror)\nimport os\nos.remove('big')",
        ],
        // The disk budget (1 GiB by default, every file at least 4 KiB) is
        // raised out of the way: this run's own limits are what stop it.
        &["--max-run-disk-mb", "4096"],
    )
    .await;
    let job = deliver(&s, "{}", "application/json").await;
    let ended = finished(&s, &job).await;
    assert_eq!(ended["status"], "COMPLETED", "{ended}");
    let nb = executed(&s, &job).await;
    let files = stdout(&nb, 2);
    assert!(
        files.starts_with("stopped after") && files.contains("Too many open files"),
        "{files}"
    );
    let big = stdout(&nb, 3);
    assert!(
        big.starts_with("stopped at 1024 MiB") && big.contains("File too large"),
        "{big}"
    );
    // The server is unharmed: the next delivery runs.
    let next = deliver(&s, "{}", "application/json").await;
    assert_eq!(finished(&s, &next).await["status"], "COMPLETED");
}

#[tokio::test]
async fn a_run_that_forks_without_end_stops_at_its_process_limit_and_leaves_nothing_behind() {
    let s = setup(
        &[
            // At most 2,000 forks, so that a missing limit cannot take the machine.
            "import os, signal, time\nchildren = []\ntry:\n    for _ in range(2000):\n        pid = os.fork()\n        if pid == 0:\n            time.sleep(300)\n            os._exit(0)\n        children.append(pid)\n    print('forked', len(children))\nexcept OSError as e:\n    print('stopped after', len(children), e.strerror)\nfor pid in children:\n    os.kill(pid, signal.SIGKILL)\n    os.waitpid(pid, 0)",
            // A child that leaves the kernel's process group.
            "import subprocess\np = subprocess.Popen(['sleep', '300.5151'], start_new_session=True)\nprint('escaped', p.pid)",
        ],
        &["--max-concurrent-runs", "1", "--max-run-processes", "64"],
    )
    .await;
    let job = deliver(&s, "{}", "application/json").await;
    let ended = finished(&s, &job).await;
    assert_eq!(ended["status"], "COMPLETED", "{ended}");
    let nb = executed(&s, &job).await;
    let forks = stdout(&nb, 2);
    let stopped: u32 = forks
        .strip_prefix("stopped after ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no limit stopped the forks: {forks}"));
    assert!(stopped < 64, "{forks}");
    assert!(stdout(&nb, 3).starts_with("escaped "), "{nb}");
    // Everything the run started is gone once it ends.
    assert!(
        crate::common::process::gone("300.5151", 10).await,
        "a process the run started outlived it"
    );
    let next = deliver(&s, "{}", "application/json").await;
    assert_eq!(finished(&s, &next).await["status"], "COMPLETED");
}

#[tokio::test]
async fn a_run_that_fills_its_working_directory_is_stopped_at_its_disk_budget() {
    let s = setup(
        &["import time\nchunk = b'x' * (16 << 20)\nfor i in range(40):\n    with open(f'part{i}', 'wb') as f:\n        f.write(chunk)\n    time.sleep(0.05)\nprint('wrote everything')"],
        &["--max-concurrent-runs", "1", "--max-run-disk-mb", "100"],
    )
    .await;
    let job = deliver(&s, "{}", "application/json").await;
    let ended = finished(&s, &job).await;
    assert_eq!(ended["status"], "FAILED", "{ended}");
    assert!(
        ended["messages"][0]
            .as_str()
            .unwrap()
            .contains("more than 100 MB"),
        "{ended}"
    );
    let next = deliver(&s, "{}", "application/json").await;
    assert_eq!(
        finished(&s, &next).await["status"],
        "FAILED",
        "the next run is measured afresh"
    );
}

#[tokio::test]
async fn the_disk_budget_counts_what_a_run_writes_beside_its_directory_in_tmp_and_in_small_files() {
    let s = setup(
        &["import os, time\nwhere = webhookPayload['where']\nif where == 'small':\n    os.makedirs('/tmp/many', exist_ok=True)\n    for i in range(40000):\n        open(f'/tmp/many/{i}', 'w').close()\n        if i % 1000 == 0:\n            time.sleep(0.05)\nelse:\n    d = {'beside': os.path.dirname(os.getcwd()), 'tmp': '/tmp'}[where]\n    for i in range(120):\n        with open(f'{d}/part{i}', 'wb') as f:\n            f.write(b'x' * (1 << 20))\n        time.sleep(0.01)\nprint('wrote everything')"],
        &["--max-concurrent-runs", "1", "--max-run-disk-mb", "50"],
    )
    .await;
    for place in ["beside", "tmp", "small"] {
        let job = deliver(
            &s,
            &format!(r#"{{"where": "{place}"}}"#),
            "application/json",
        )
        .await;
        let ended = finished(&s, &job).await;
        assert_eq!(ended["status"], "FAILED", "writing {place}: {ended}");
        assert!(
            ended["messages"][0]
                .as_str()
                .unwrap()
                .contains("more than 50 MB"),
            "writing {place}: {ended}"
        );
    }
}

#[tokio::test]
async fn a_run_whose_kernel_dies_fails_at_once_not_at_its_time_limit() {
    // The default time limit is an hour: the job must end long before.
    let s = setup(
        &[
            "print('before')",
            // The kernel is its namespace's init, which no signal sent from
            // inside its run can kill; it can still exit (or be killed by
            // the system, as the OOM killer would).
            "import os\nos._exit(9)",
            "print('never')",
        ],
        &[],
    )
    .await;
    let job = deliver(&s, "{}", "application/json").await;
    let ended = finished(&s, &job).await;
    assert_eq!(ended["status"], "FAILED", "{ended}");
    let messages = ended["messages"].to_string();
    assert!(messages.contains("The kernel was lost"), "{messages}");
    // The next run, on a kernel of its own, ends the same way: nothing hangs.
    let s2 = deliver(&s, "{}", "application/json").await;
    assert_eq!(finished(&s, &s2).await["status"], "FAILED");
}
