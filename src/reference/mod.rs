//! `hookbook reference`: the book's reference pages (the command line,
//! the configuration and the HTTP API) written from the definitions the
//! binary itself uses, so the book cannot drift from the program.

mod api;
mod configuration;

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use crate::config::Cli;

/// The pages, by file name, as `hookbook reference` writes them.
pub fn pages() -> Vec<(&'static str, String)> {
    let command = Cli::command();
    vec![
        ("cli.md", command_line(&command)),
        ("configuration.md", configuration::page(&command)),
        ("api.md", api::page(&crate::api::openapi_document())),
    ]
}

/// Writes every page into `dir` (made when missing), replacing what is there.
pub fn write(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    for (name, text) in pages() {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Every command with its arguments, as `--help` shows them.
fn command_line(command: &clap::Command) -> String {
    let options = clap_markdown::MarkdownOptions::new()
        .title("Command-line reference".to_owned())
        .show_footer(false);
    let body = clap_markdown::help_markdown_command_custom(command, &options);
    format!(
        "{}\n{GENERATED}\n{}",
        body.lines().next().unwrap_or_default(),
        body.split_once('\n')
            .map(|(_, rest)| rest)
            .unwrap_or_default()
    )
}

/// The line under each page's title.
const GENERATED: &str = "*Written by `hookbook reference` from the program's own definitions: \
do not edit; `scripts/book` writes it again.*\n";
