//! Evidence from inside runs. A run cannot write outside its sandbox, so
//! it sends lines over TCP to a collector in the test, which appends them
//! to a file. A word `dir:<path>` in a line (a run sends its
//! `JUPYTER_RUNTIME_DIR`) is replaced by the host pid of the kernel that
//! works there: inside its sandbox a kernel is PID 1.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// Python that defines `evidence(line)`, sending to the collector on `port`.
pub fn sender(port: u16) -> String {
    format!(
        "import os as _os, socket as _socket\n\
         def evidence(line):\n    \
             line = line.replace('KERNEL', 'dir:' + _os.environ['JUPYTER_RUNTIME_DIR'])\n    \
             with _socket.create_connection(('{host}', {port})) as s:\n        \
                 s.sendall((line + '\\n').encode())\n",
        host = super::host_address()
    )
}

/// Starts a collector appending to `file`; returns its port. It lives as
/// long as the test process.
pub fn collect(file: &Path) -> u16 {
    // On the host's own address: a run's own network does not have the
    // host's loopback.
    let listener = TcpListener::bind((super::host_address(), 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let file = file.to_path_buf();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let line = line
                    .split(' ')
                    .map(|word| match word.strip_prefix("dir:") {
                        Some(dir) => {
                            kernel_in(dir).map_or_else(|| word.to_string(), |p| p.to_string())
                        }
                        None => word.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut out = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&file)
                    .unwrap();
                writeln!(out, "{line}").unwrap();
            }
        }
    });
    port
}

/// The kernel working in `<dir>/work`: PID 1 of its own namespace when
/// sandboxed (its keeper may share the directory), else the only one.
fn kernel_in(dir: &str) -> Option<i32> {
    let work = PathBuf::from(dir).join("work");
    let found: Vec<i32> = std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|c| c == work))
        .collect();
    let init = |pid: &&i32| {
        std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
            s.lines()
                .find(|l| l.starts_with("NSpid:"))
                .is_some_and(|l| {
                    l.split_whitespace().count() > 2 && l.split_whitespace().last() == Some("1")
                })
        })
    };
    found.iter().find(init).or(found.first()).copied()
}
