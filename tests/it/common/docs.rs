//! The documents as the tests read them: fenced blocks of a Markdown
//! page, and mdBook's `{{#include FILE:ANCHOR}}` resolved as mdBook does.

use std::path::Path;

/// The page's fenced blocks of `kind` (`sh`, `text`), each as one text.
pub fn blocks(page: &str, kind: &str) -> Vec<String> {
    let open = format!("```{kind}");
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    for line in page.lines().map(str::trim_end) {
        match current.take() {
            None => {
                if line == open {
                    current = Some(String::new());
                }
            }
            Some(text) if line == "```" => found.push(text),
            Some(mut text) => {
                text.push_str(line);
                text.push('\n');
                current = Some(text);
            }
        }
    }
    found
}

/// The book page at `path` with each `{{#include FILE:ANCHOR}}` replaced
/// by the lines between `ANCHOR: name` and `ANCHOR_END: name` in FILE
/// (relative to the page), the marker lines left out.
pub fn with_includes(path: &Path) -> String {
    let page = std::fs::read_to_string(path).expect("the book page");
    let mut out = String::new();
    for line in page.lines() {
        let Some(spec) = line
            .trim()
            .strip_prefix("{{#include ")
            .and_then(|s| s.strip_suffix("}}"))
        else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let (file, anchor) = spec.split_once(':').expect("an include with an anchor");
        let included =
            std::fs::read_to_string(path.parent().unwrap().join(file)).expect("the included file");
        let start = format!("ANCHOR: {anchor}");
        let end = format!("ANCHOR_END: {anchor}");
        let mut inside = false;
        for line in included.lines() {
            if line.contains(&start) {
                inside = true;
            } else if line.contains(&end) {
                inside = false;
            } else if inside {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}
