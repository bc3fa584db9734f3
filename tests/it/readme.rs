//! The README's first steps and the book's getting-started page, run as
//! written: their shell blocks, in bash, against a server started as the
//! first command starts it (the embedded default), with the built binary
//! on the `PATH`. The port and the data dir are chosen the way the first
//! steps tell a reader to, with `HOOKBOOK_LISTEN` and `HOOKBOOK_DATA_DIR`
//! in both terminals; the server is given the tests' Python rather than
//! preparing its own from PyPI. The example notebook must run and print
//! what the steps say it prints.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::docs::{blocks, with_includes};
use crate::common::process::Process;

const BIN: &str = env!("CARGO_BIN_EXE_hookbook");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The `sh` blocks of the README between `## First steps` and the line
/// that says this test runs them.
fn readme_first_steps() -> String {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).expect("README.md");
    let start = readme
        .find("## First steps")
        .expect("a First steps section");
    let end = readme[start..]
        .find("tests/it/readme.rs")
        .expect("the README says tests/it/readme.rs runs its first steps")
        + start;
    blocks(&readme[start..end], "sh").join("")
}

/// The `sh` blocks of the book's getting-started page from its own
/// `## First steps` on, with its includes resolved as mdBook resolves them.
fn getting_started_steps() -> String {
    let page = with_includes(Path::new(&format!("{ROOT}/docs/src/getting-started.md")));
    let start = page.find("## First steps").expect("a First steps section");
    blocks(&page[start..], "sh").join("")
}

/// Runs `script` as a reader would, in a directory holding the example
/// notebook, against a server on a port and data dir of its own.
async fn the_steps_run(script: &str) {
    assert!(script.contains("hookbook send"), "{script}");
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir(work.path().join("examples")).unwrap();
    std::fs::copy(
        format!("{ROOT}/examples/report.ipynb"),
        work.path().join("examples/report.ipynb"),
    )
    .expect("the example notebook ships with the repository");
    let bin = work.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("hookbook")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let data = work.path().join("site");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Both terminals, as the first steps say: the port and data dir set,
    // nothing else of hookbook's in the environment.
    let terminal = |command: &mut Command| {
        for (name, _) in std::env::vars() {
            if name.starts_with("HOOKBOOK_") {
                command.env_remove(name);
            }
        }
        command
            .current_dir(work.path())
            .env("PATH", &path)
            .env("HOOKBOOK_LISTEN", &address)
            .env("HOOKBOOK_DATA_DIR", &data);
    };
    let mut serve = Command::new(BIN);
    terminal(&mut serve);
    let _server = Process::spawn(
        serve
            .arg("serve")
            .args(["--python", crate::common::python().to_str().unwrap()])
            .args(["--max-concurrent-runs", "1", "--log", "warn"])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    crate::common::nodes::ready_at(&reqwest::Client::new(), &format!("http://{address}")).await;

    let mut bash = Command::new("timeout");
    terminal(&mut bash);
    let out = Process::spawn(
        bash.args(["300", "bash", "-e", "-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .wait_with_output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the first steps failed ({}):\n{stdout}\n{stderr}\nscript:\n{script}",
        out.status
    );
    assert!(
        stdout.contains("\"status\": \"COMPLETED\""),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("layer roads: 0 event(s) from FeatureServer"),
        "{stdout}\n{stderr}"
    );
    assert!(
        data.join("hookbook.db").is_file(),
        "the site is in HOOKBOOK_DATA_DIR"
    );
    assert!(
        !work.path().join("hookbook-data").exists(),
        "nothing went to the default data dir"
    );
}

#[tokio::test]
async fn the_readme_first_steps_run_the_example_notebook() {
    the_steps_run(&readme_first_steps()).await;
}

#[tokio::test]
async fn the_books_getting_started_page_runs_the_example_notebook() {
    the_steps_run(&getting_started_steps()).await;
}

/// The README is read on a repository's front page, outside the book whose
/// links `scripts/book` checks: each of its links to a file must lead to one.
#[test]
fn every_file_the_readme_links_to_exists() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).expect("README.md");
    let mut checked = 0;
    for (at, _) in readme.match_indices("](") {
        let target = &readme[at + 2..];
        let target = &target[..target.find(')').expect("a closed link")];
        if target.starts_with("http") || target.starts_with('#') {
            continue;
        }
        let file = target.split('#').next().unwrap_or_default();
        assert!(
            Path::new(ROOT).join(file).exists(),
            "README.md links to {target}, which is not in the repository"
        );
        checked += 1;
    }
    assert!(
        checked > 10,
        "README.md links to the book's pages ({checked} links)"
    );
}
