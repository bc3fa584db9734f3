//! The `hookbook` binary: parses the command line and hands over to
//! `startup`. Every failure ends as one line on standard error.

use std::process::ExitCode;

use clap::Parser as _;
use hookbook::config::Cli;

/// mimalloc rather than glibc's allocator (and, with its `override` feature,
/// for SQLite's C code too): a delivery is many small, short-lived
/// allocations made on one thread and freed on another.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid command line");
            eprintln!("hookbook: {}", first.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    match hookbook::startup::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookbook: {}", hookbook::report::chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}
