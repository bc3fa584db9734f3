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

/// Every command with its arguments, as `--help` shows them, then the
/// environment variable each flag also reads.
fn command_line(command: &clap::Command) -> String {
    let options = clap_markdown::MarkdownOptions::new()
        .title("Command-line reference".to_owned())
        .show_footer(false);
    let body = clap_markdown::help_markdown_command_custom(command, &options)
        .replace("Default value: ``", "Default value: empty")
        .replace(
            "This document contains the help content for the `hookbook` command-line program.\n",
            "",
        );
    let (title, rest) = body.split_once('\n').unwrap_or_default();
    let mut page = format!("{title}\n\n{GENERATED}\n{}", rest.trim_start());
    page.push_str("\n\n## Environment variables\n\nEach of these flags also reads the variable beside it; a flag given on the command line wins. Those of `hookbook serve` are on [the configuration page](configuration.md).\n\n| command | flag | environment |\n|---|---|---|\n");
    let mut command = command.clone();
    command.build();
    write_variables(&mut page, &command, "hookbook");
    page
}

/// A row per flag of `command` and its subcommands that reads a variable.
fn write_variables(page: &mut String, command: &clap::Command, path: &str) {
    for arg in command.get_arguments() {
        if let (Some(long), Some(env)) = (arg.get_long(), arg.get_env()) {
            page.push_str(&format!(
                "| `{path}` | `--{long}` | `{}` |\n",
                env.to_string_lossy()
            ));
        }
    }
    for sub in command
        .get_subcommands()
        .filter(|s| s.get_name() != "serve")
    {
        write_variables(page, sub, &format!("{path} {}", sub.get_name()));
    }
}

/// The line under each page's title.
const GENERATED: &str = "*Written by `hookbook reference` from the program's own definitions: \
do not edit; `scripts/book` writes it again.*\n";
