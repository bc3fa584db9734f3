//! The `hookbook` binary: parses the command line and hands over to
//! `startup`. A mistake on the command line ends with clap's message, usage
//! line and hint (exit code 2); every other failure as one line (exit code 1).

use std::process::ExitCode;

use clap::Parser as _;
use hookbook::config::Cli;

/// mimalloc rather than glibc's allocator (and, with its `override` feature,
/// for SQLite's C code too): a delivery is many small, short-lived
/// allocations made on one thread and freed on another.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The usage line of the deepest subcommand `args` name.
fn usage_of(args: impl Iterator<Item = String>) -> String {
    let mut command = <Cli as clap::CommandFactory>::command();
    command.build();
    for arg in args {
        if let Some(sub) = command.find_subcommand(&arg) {
            command = sub.clone();
        }
    }
    command.render_usage().to_string()
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's own words: the mistake, the usage line and where to
            // read more; the first line says `hookbook:` like every error.
            let rendered = e.render().to_string();
            let mut text = rendered
                .strip_prefix("error: ")
                .unwrap_or(&rendered)
                .to_string();
            // clap leaves the usage line out of some errors (a bad value).
            if !text.contains("Usage: ") {
                let usage = format!("\n{}\n", usage_of(std::env::args().skip(1)));
                let at = text.find("\nFor more information").unwrap_or(text.len());
                text.insert_str(at, &usage);
            }
            if !text.contains("For more information") {
                text.push_str("\nFor more information, try '--help'.\n");
            }
            eprint!("hookbook: {text}");
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
