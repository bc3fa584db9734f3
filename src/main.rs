//! The `hookbook` binary: parses the command line and hands over to
//! `startup`. Every failure ends as one line on standard error.

use std::process::ExitCode;

use clap::Parser as _;
use hookbook::config::Cli;

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
            eprintln!("hookbook: {e:#}");
            ExitCode::FAILURE
        }
    }
}
