//! An executed notebook made readable: code cells with their outputs
//! (streams, results, errors without terminal colours, images as data
//! URLs, HTML sanitized), Markdown rendered and sanitized. Nothing a
//! notebook holds can run script in the page or fetch from elsewhere.
//! Large outputs are folded, so a page stays small whatever a run printed:
//! the downloaded notebook has everything.

use serde::Serialize;
use serde_json::Value;

/// A cell as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct NotebookCell {
    /// `code`, `markdown` or `raw`.
    pub kind: String,
    pub source: String,
    pub execution_count: Option<i64>,
    /// Markdown as sanitized HTML.
    pub html: Option<String>,
    pub outputs: Vec<Output>,
}

/// One output of a code cell.
#[derive(Debug, Clone, Serialize)]
pub struct Output {
    /// `text`, `error`, `image` or `html`.
    pub kind: &'static str,
    /// Text, or sanitized HTML for `html`, or a data URL for `image`.
    pub content: String,
    /// `stderr` for error streams; empty otherwise.
    pub stream: String,
    /// What of it is not shown here, when it was too large for the page.
    pub folded: Option<String>,
}

/// The most of one output a page shows, in bytes.
const ONE_OUTPUT: usize = 64 * 1024;
/// The most of all outputs a page shows, in bytes.
const ALL_OUTPUTS: usize = 1024 * 1024;

/// nbformat's multiline strings: a string or a list of strings.
fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

/// Removes terminal colour codes (`ESC [ ... letter`), as in tracebacks.
fn strip_ansi(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// HTML from a notebook, with scripts, styles, event handlers, frames and
/// remote resources removed (ammonia's defaults, which allow no `style`,
/// no `script` and only http(s)/mailto links).
fn sanitize(html: &str) -> String {
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into())
        .rm_tags(["img"])
        .clean(html)
        .to_string()
}

fn markdown(source: &str) -> String {
    let parser = pulldown_cmark::Parser::new_ext(source, pulldown_cmark::Options::ENABLE_TABLES);
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    sanitize(&html)
}

/// An image output as a data URL, if its data is plain base64.
fn image(mime: &str, data: &str) -> Option<String> {
    let data: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    let valid = !data.is_empty()
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
    valid.then(|| format!("data:{mime};base64,{data}"))
}

/// The richest output of a display bundle that the page can show safely.
fn bundle(data: &serde_json::Map<String, Value>) -> Option<Output> {
    for mime in ["image/png", "image/jpeg", "image/gif"] {
        if let Some(url) = data.get(mime).and_then(|d| image(mime, &text(Some(d)))) {
            return Some(Output {
                kind: "image",
                content: url,
                stream: String::new(),
                folded: None,
            });
        }
    }
    if let Some(html) = data.get("text/html") {
        let html = text(Some(html));
        if html.len() > ONE_OUTPUT {
            return Some(Output {
                kind: "text",
                content: String::new(),
                stream: String::new(),
                folded: Some(format!(
                    "An HTML output of {} bytes is too large to show here; the downloaded notebook has it.",
                    html.len()
                )),
            });
        }
        return Some(Output {
            kind: "html",
            content: sanitize(&html),
            stream: String::new(),
            folded: None,
        });
    }
    ["text/markdown", "text/plain", "application/json"]
        .iter()
        .find_map(|mime| data.get(*mime))
        .map(|v| Output {
            kind: "text",
            content: match v {
                Value::Object(_) => serde_json::to_string_pretty(v).unwrap_or_default(),
                other => text(Some(other)),
            },
            stream: String::new(),
            folded: None,
        })
}

fn output(value: &Value) -> Option<Output> {
    match value.get("output_type").and_then(Value::as_str)? {
        "stream" => Some(Output {
            kind: "text",
            content: strip_ansi(&text(value.get("text"))),
            stream: value
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| *n == "stderr")
                .unwrap_or("")
                .to_string(),
            folded: None,
        }),
        "error" => {
            let traceback: Vec<String> = value
                .get("traceback")
                .and_then(Value::as_array)
                .map(|lines| {
                    lines
                        .iter()
                        .filter_map(Value::as_str)
                        .map(strip_ansi)
                        .collect()
                })
                .unwrap_or_default();
            let summary = format!(
                "{}: {}",
                text(value.get("ename")),
                text(value.get("evalue"))
            );
            Some(Output {
                kind: "error",
                content: if traceback.is_empty() {
                    summary
                } else {
                    traceback.join("\n")
                },
                stream: String::new(),
                folded: None,
            })
        }
        "execute_result" | "display_data" => bundle(value.get("data")?.as_object()?),
        _ => None,
    }
}

/// What an output's markup costs the page beside its content.
const MARKUP_PER_OUTPUT: usize = 64;

/// The bytes `text` takes in a page once escaped (`<`, `>`, `&` and quotes
/// become entities of up to six bytes).
fn escaped_len(text: &str) -> usize {
    text.len()
        + text
            .bytes()
            .filter(|b| matches!(b, b'<' | b'>' | b'&' | b'"' | b'\''))
            .count()
            * 5
}

/// An output cut to what the page has `left` room for (and at most
/// [`ONE_OUTPUT`]), saying what is not shown; every output costs its
/// markup too.
fn fold(mut out: Output, left: &mut usize) -> Output {
    *left = left.saturating_sub(MARKUP_PER_OUTPUT);
    let room = ONE_OUTPUT.min(*left);
    let size = escaped_len(&out.content);
    if size <= room {
        *left -= size;
        return out;
    }
    let total = out.content.len();
    if out.kind == "text" || out.kind == "error" {
        // Room in escaped bytes; the text kept is at most that long.
        let mut cut = floor(&out.content, room);
        while escaped_len(&out.content[..cut]) > room {
            cut = floor(&out.content, cut * 3 / 4);
        }
        out.content.truncate(cut);
        *left = left.saturating_sub(escaped_len(&out.content));
        out.folded = Some(format!(
            "{} more bytes of this output are not shown here; the downloaded notebook has them all.",
            total - cut
        ));
    } else {
        out.folded = Some(format!(
            "An output of {total} bytes is too large to show here; the downloaded notebook has it."
        ));
        out.kind = "text";
        out.content = String::new();
    }
    out
}

/// The largest char boundary of `text` at or below `at`.
fn floor(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A cell's outputs for the page: folded while the page has room; once it
/// has none, the rest of them as one note.
fn shown(outputs: &[Value], left: &mut usize) -> Vec<Output> {
    let mut shown = Vec::new();
    let mut hidden = 0usize;
    for out in outputs.iter().filter_map(output) {
        if *left <= MARKUP_PER_OUTPUT {
            hidden += 1;
        } else {
            shown.push(fold(out, left));
        }
    }
    if hidden > 0 {
        shown.push(Output {
            kind: "text",
            content: String::new(),
            stream: String::new(),
            folded: Some(format!(
                "{hidden} more outputs of this cell are not shown here; the downloaded notebook has them."
            )),
        });
    }
    shown
}

/// The cells of an nbformat v4 notebook, ready for the page, their
/// outputs folded past [`ONE_OUTPUT`] each and [`ALL_OUTPUTS`] in all.
pub fn notebook_cells(notebook: &Value) -> Vec<NotebookCell> {
    let Some(cells) = notebook.get("cells").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut left = ALL_OUTPUTS;
    cells
        .iter()
        .map(|cell| {
            let kind = cell
                .get("cell_type")
                .and_then(Value::as_str)
                .unwrap_or("raw")
                .to_string();
            let source = text(cell.get("source"));
            NotebookCell {
                html: (kind == "markdown").then(|| markdown(&source)),
                execution_count: cell.get("execution_count").and_then(Value::as_i64),
                outputs: cell
                    .get("outputs")
                    .and_then(Value::as_array)
                    .map(|o| shown(o, &mut left))
                    .unwrap_or_default(),
                kind,
                source,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn large_outputs_are_folded_so_the_page_stays_small() {
        let big = "x".repeat(200 * 1024);
        let cells: Vec<Value> = (0..40)
            .map(|_| {
                json!({"cell_type": "code", "source": "", "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": big},
                    {"output_type": "display_data", "data": {"text/html": format!("<p>{big}</p>")}},
                ]})
            })
            .collect();
        let shown = notebook_cells(&json!({"cells": cells}));
        let bytes: usize = shown
            .iter()
            .flat_map(|c| &c.outputs)
            .map(|o| o.content.len() + o.folded.as_deref().map_or(0, str::len))
            .sum();
        assert!(
            bytes <= ALL_OUTPUTS + 80 * 200,
            "{bytes} bytes of outputs shown"
        );
        let first = &shown[0].outputs[0];
        assert_eq!(first.content.len(), ONE_OUTPUT);
        assert!(first
            .folded
            .as_deref()
            .unwrap()
            .contains("downloaded notebook"));
        assert!(
            shown[0].outputs[1].folded.is_some(),
            "a large HTML output is folded"
        );
        assert!(
            shown[39].outputs[0].content.is_empty(),
            "past the page's room, nothing"
        );
    }

    #[test]
    fn many_small_or_escaped_outputs_keep_the_page_small() {
        let tiny: Vec<Value> = (0..50_000)
            .map(|i| json!({"output_type": "stream", "name": if i % 2 == 0 { "stdout" } else { "stderr" }, "text": "\"<"}))
            .collect();
        let shown = notebook_cells(
            &json!({"cells": [{"cell_type": "code", "source": "", "outputs": tiny}]}),
        );
        let outputs = &shown[0].outputs;
        assert!(outputs.len() < 20_000, "{} outputs shown", outputs.len());
        let last = outputs.last().unwrap().folded.as_deref().unwrap();
        assert!(
            last.contains("more outputs of this cell are not shown"),
            "{last}"
        );
        let quotes = "\"<&".repeat(400_000);
        let shown = notebook_cells(
            &json!({"cells": [{"cell_type": "code", "source": "", "outputs": [
            {"output_type": "stream", "name": "stdout", "text": quotes}]}]}),
        );
        let content = &shown[0].outputs[0].content;
        assert!(
            escaped_len(content) <= ONE_OUTPUT,
            "{} bytes once escaped",
            escaped_len(content)
        );
    }

    #[test]
    fn outputs_become_text_errors_images_and_safe_html() {
        let nb = json!({"cells": [
            {"cell_type": "markdown", "source": ["# Title\n", "<script>alert(1)</script>\n\n", "*x*"]},
            {"cell_type": "code", "execution_count": 3, "source": "print(1)", "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["1\n"]},
                {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": ["\u{1b}[0;31mValueError\u{1b}[0m: bad"]},
                {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=\n", "text/plain": "<Figure>"}},
                {"output_type": "execute_result", "data": {"text/html": "<b onclick=\"x()\">hi</b><script>steal()</script><img src=\"http://evil/x.png\"><iframe src=\"x\"></iframe>"}},
                {"output_type": "display_data", "data": {"image/png": "\"><script>"}}
            ]}
        ]});
        let cells = notebook_cells(&nb);
        let md = cells[0].html.as_deref().unwrap();
        assert!(
            md.contains("<h1>Title</h1>") && md.contains("<em>x</em>"),
            "{md}"
        );
        assert!(!md.contains("<script"), "{md}");
        let out = &cells[1].outputs;
        assert_eq!((out[0].kind, out[0].content.as_str()), ("text", "1\n"));
        assert_eq!(
            (out[1].kind, out[1].content.as_str()),
            ("error", "ValueError: bad")
        );
        assert_eq!(out[2].content, "data:image/png;base64,iVBORw0KGgo=");
        assert_eq!(out[3].kind, "html");
        assert_eq!(out[3].content, "<b>hi</b>");
        // Image data that is not base64 falls back to its text, if any.
        assert_eq!(out.len(), 4, "{out:?}");
        assert_eq!(cells[1].execution_count, Some(3));
    }
}
