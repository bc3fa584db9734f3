//! The configuration page: every flag of `hookbook serve` with its
//! environment variable and default, grouped as `serve --help` groups them.

use std::fmt::Write;

/// The page for `command`'s `serve` subcommand.
pub fn page(command: &clap::Command) -> String {
    let mut serve = command
        .find_subcommand("serve")
        .expect("hookbook has a serve command")
        .clone();
    // Building fills in what the derive leaves to clap: value names, counts.
    serve.build();
    let mut page = format!(
        "# Configuration\n\n{}\nEvery flag of `hookbook serve` also reads the environment variable named beside it; \
a flag given on the command line wins. A bad value stops the start with one line naming it.\n",
        super::GENERATED
    );
    let mut groups: Vec<(String, Vec<&clap::Arg>)> = Vec::new();
    for arg in serve
        .get_arguments()
        .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
        .filter(|a| a.get_long().is_some() && !a.is_hide_set())
    {
        let heading = arg.get_help_heading().unwrap_or("Other").to_owned();
        match groups.iter_mut().find(|(name, _)| *name == heading) {
            Some((_, args)) => args.push(arg),
            None => groups.push((heading, vec![arg])),
        }
    }
    // A list rather than a table: descriptions are long, and a table of
    // four columns does not fit a phone.
    for (heading, args) in groups {
        let _ = write!(page, "\n## {heading}\n\n");
        for arg in args {
            let default = match default(arg) {
                none if none.is_empty() => "no default".to_owned(),
                value => format!("default {value}"),
            };
            let _ = writeln!(
                page,
                "- {} ({}, {default}): {}",
                flag(arg),
                env(arg),
                help(arg)
            );
        }
    }
    page
}

fn flag(arg: &clap::Arg) -> String {
    let long = arg.get_long().unwrap_or_default();
    if !takes_value(arg) {
        return format!("`--{long}`");
    }
    match arg.get_value_names() {
        Some([value, ..]) => format!("`--{long} {value}`"),
        _ => format!("`--{long} {}`", arg.get_id().as_str().to_uppercase()),
    }
}

fn takes_value(arg: &clap::Arg) -> bool {
    arg.get_num_args().is_some_and(|n| n.takes_values())
}

fn env(arg: &clap::Arg) -> String {
    arg.get_env()
        .map(|name| format!("`{}`", name.to_string_lossy()))
        .unwrap_or_default()
}

fn default(arg: &clap::Arg) -> String {
    if !takes_value(arg) {
        return "off".to_owned();
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| match v.to_string_lossy() {
            empty if empty.is_empty() => "empty".to_owned(),
            value => format!("`{value}`"),
        })
        .collect();
    defaults.join(", ")
}

/// The help text on one line, with the possible values.
fn help(arg: &clap::Arg) -> String {
    let text = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let mut cell = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| match v.get_help() {
            Some(help) => format!("`{}`: {help}", v.get_name()),
            None => format!("`{}`", v.get_name()),
        })
        .collect();
    if takes_value(arg) && !values.is_empty() {
        if !cell.is_empty() && !cell.ends_with('.') {
            cell.push('.');
        }
        let _ = write!(cell, " One of: {}.", values.join("; "));
    }
    cell
}
