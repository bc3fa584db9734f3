//! The README's first steps, run as written: its shell blocks from
//! "First steps" on, in bash, against a server started as the quick start
//! starts it (the embedded default, `./hookbook-data`), with the built
//! binary on the `PATH`. Only the port differs, and the server is given
//! the tests' Python rather than preparing its own from PyPI. The example
//! notebook must run and print what the README says it prints.

use std::process::{Command, Stdio};

use crate::common::process::Process;

const BIN: &str = env!("CARGO_BIN_EXE_hookbook");

/// The `sh` blocks of the README between `## First steps` and the line
/// that says this test runs them.
fn first_steps() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme
        .find("## First steps")
        .expect("a First steps section");
    let end = readme[start..]
        .find("tests/it/readme.rs")
        .expect("the README says tests/it/readme.rs runs its first steps")
        + start;
    let mut script = String::new();
    let mut inside = false;
    for line in readme[start..end].lines() {
        match (inside, line.trim_end()) {
            (false, "```sh") => inside = true,
            (true, "```") => inside = false,
            (true, text) => {
                script.push_str(text);
                script.push('\n');
            }
            _ => {}
        }
    }
    assert!(script.contains("hookbook send"), "{script}");
    script
}

#[tokio::test]
async fn the_readme_first_steps_run_the_example_notebook() {
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir(work.path().join("examples")).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/report.ipynb"),
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
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let clean = |command: &mut Command| {
        for (name, _) in std::env::vars() {
            if name.starts_with("HOOKBOOK_") {
                command.env_remove(name);
            }
        }
        command.current_dir(work.path()).env("PATH", &path);
    };
    let mut serve = Command::new(BIN);
    clean(&mut serve);
    let _server = Process::spawn(
        serve
            .args(["serve", "--listen", &address])
            .args(["--python", crate::common::python().to_str().unwrap()])
            .args(["--max-concurrent-runs", "1", "--log", "warn"])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    crate::common::nodes::ready_at(&reqwest::Client::new(), &format!("http://{address}")).await;

    let script = first_steps().replace("127.0.0.1:8080", &address);
    let mut bash = Command::new("timeout");
    clean(&mut bash);
    let out = Process::spawn(
        bash.args(["300", "bash", "-e", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .wait_with_output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the README's first steps failed ({}):\n{stdout}\n{stderr}\nscript:\n{script}",
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
}
