//! A notebook shown as Jupyter shows it: `In [n]:` and `Out[n]:` prompts,
//! code highlighted on the server, Markdown rendered, outputs in the
//! richest form the page can show safely (sanitized HTML, images as data
//! URLs, formatted JSON, terminal colours), long texts folded. Nothing a
//! notebook holds can run script in the page or fetch from elsewhere, and
//! the page stays small whatever a run printed: the downloaded notebook
//! has everything.

mod ansi;
mod highlight;
mod html;
mod text;

use serde::Serialize;
use serde_json::Value;

use highlight::Highlighter;
#[cfg(test)]
use text::Span;
pub use text::Text;
use text::{fold, plain_lines, Bounds, Line};

/// A cell as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct NotebookCell {
    /// `code`, `markdown` or `raw`.
    pub kind: String,
    /// `In [3]:`, or `In [ ]:` for a code cell never run; empty for others.
    pub prompt: String,
    /// The source (code highlighted), unless the cell is rendered Markdown.
    pub source: Text,
    /// Markdown as sanitized HTML.
    pub html: Option<String>,
    pub outputs: Vec<Output>,
    /// The cell a running job executes now (`In [*]:`).
    pub running: bool,
}

/// One output of a code cell; one of `text`, `html` and `image` is set.
#[derive(Debug, Clone, Serialize)]
pub struct Output {
    /// `stream`, `traceback`, `text`, `json`, `html` or `image`.
    pub kind: &'static str,
    /// `Out[3]:` for a result; empty for displays, streams and errors.
    pub prompt: String,
    /// `stderr` for the error stream; empty otherwise.
    pub stream: &'static str,
    pub text: Option<Text>,
    /// Sanitized HTML (an HTML or Markdown output).
    pub html: Option<String>,
    /// A `data:image/...` URL.
    pub image: Option<String>,
    /// What of it is not shown here, and why.
    pub note: Option<String>,
}

impl Output {
    fn new(kind: &'static str) -> Self {
        Self {
            kind,
            prompt: String::new(),
            stream: "",
            text: None,
            html: None,
            image: None,
            note: None,
        }
    }
}

/// Texts of outputs (streams, tracebacks, results): past 40 lines, the
/// first 20 and the last 10 are shown and the rest folded; at most 64 KiB
/// of one output is in the page.
const OUTPUT_TEXT: Bounds = Bounds {
    fold_after: 40,
    head: 20,
    tail: 10,
    bytes: 64 * 1024,
};
/// Sources: past 500 lines, the first 400 and the last 50 shown; at most
/// 256 KiB of one cell.
const SOURCE: Bounds = Bounds {
    fold_after: 500,
    head: 400,
    tail: 50,
    bytes: 256 * 1024,
};
/// The largest HTML or Markdown output shown, in bytes.
const ONE_HTML: usize = 256 * 1024;
/// The largest image shown, in bytes of base64.
const ONE_IMAGE: usize = 1024 * 1024;
/// The most of all outputs a page shows, in bytes.
const ALL_OUTPUTS: usize = 4 * 1024 * 1024;
/// The most of all sources a page shows, in bytes.
const ALL_SOURCES: usize = 4 * 1024 * 1024;
/// What an output's markup costs the page beside its content.
const MARKUP_PER_OUTPUT: usize = 128;

/// nbformat's multiline strings: a string or a list of strings.
fn multiline(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

/// Whether sanitized HTML shows anything: text or an image.
fn shows_something(html: &str) -> bool {
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag && !c.is_whitespace() => return true,
            _ => {}
        }
    }
    html.contains("<img")
}

/// What a page is building: its room left and its highlighter.
struct Room {
    outputs: usize,
    sources: usize,
    highlighter: Highlighter,
}

impl Room {
    /// Takes `bytes` of the outputs' room if there is that much.
    fn take(&mut self, bytes: usize) -> bool {
        let fits = bytes <= self.outputs;
        if fits {
            self.outputs -= bytes;
        }
        fits
    }

    fn text(&mut self, kind: &'static str, lines: Vec<Line>) -> Output {
        Output {
            text: Some(fold(lines, OUTPUT_TEXT, &mut self.outputs)),
            ..Output::new(kind)
        }
    }

    fn too_large(&self, what: &str, bytes: usize) -> Output {
        Output {
            note: Some(format!(
                "{what} of {bytes} bytes is too large to show here; the downloaded notebook has it."
            )),
            ..Output::new("text")
        }
    }

    /// The richest form of a display bundle that the page can show safely,
    /// in JupyterLab's order of preference.
    fn bundle(&mut self, data: &serde_json::Map<String, Value>) -> Option<Output> {
        let mut note = None;
        if let Some(raw) = data.get("text/html").map(|v| multiline(Some(v))) {
            if raw.len() > ONE_HTML {
                note = Some(self.too_large("An HTML output", raw.len()));
            } else {
                let clean = html::sanitize(&raw);
                if shows_something(&clean) && self.take(clean.len()) {
                    return Some(Output {
                        html: Some(clean),
                        ..Output::new("html")
                    });
                }
            }
        }
        if let Some(raw) = data.get("text/markdown").map(|v| multiline(Some(v))) {
            if raw.len() <= ONE_HTML {
                let clean = html::markdown(&raw, &Default::default());
                if self.take(clean.len()) {
                    return Some(Output {
                        html: Some(clean),
                        ..Output::new("html")
                    });
                }
            }
        }
        for mime in [
            "image/svg+xml",
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
        ] {
            if let Some(url) = data.get(mime).and_then(|d| html::image_url(mime, d)) {
                if url.len() > ONE_IMAGE || !self.take(url.len()) {
                    return Some(self.too_large("An image", url.len()));
                }
                return Some(Output {
                    image: Some(url),
                    ..Output::new("image")
                });
            }
        }
        let text = if let Some(json) = data.get("application/json") {
            Some((
                "json",
                plain_lines(&serde_json::to_string_pretty(json).unwrap_or_default()),
            ))
        } else {
            ["text/latex", "text/plain"]
                .iter()
                .find_map(|mime| data.get(*mime))
                .map(|v| ("text", ansi::lines(&multiline(Some(v)))))
        };
        match text {
            Some((kind, lines)) => {
                let mut out = self.text(kind, lines);
                out.note = note.and_then(|n| n.note);
                Some(out)
            }
            None => note,
        }
    }

    fn output(&mut self, value: &Value, count: Option<i64>) -> Option<Output> {
        match value.get("output_type").and_then(Value::as_str)? {
            "stream" => {
                let mut out = self.text("stream", ansi::lines(&multiline(value.get("text"))));
                if value.get("name").and_then(Value::as_str) == Some("stderr") {
                    out.stream = "stderr";
                }
                Some(out)
            }
            "error" => {
                let traceback: Vec<&str> = value
                    .get("traceback")
                    .and_then(Value::as_array)
                    .map(|lines| lines.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let text = if traceback.is_empty() {
                    format!(
                        "{}: {}",
                        multiline(value.get("ename")),
                        multiline(value.get("evalue"))
                    )
                } else {
                    traceback.join("\n")
                };
                Some(self.text("traceback", ansi::lines(&text)))
            }
            kind @ ("execute_result" | "display_data") => {
                let mut out = self.bundle(value.get("data")?.as_object()?)?;
                if kind == "execute_result" {
                    let n = value
                        .get("execution_count")
                        .and_then(Value::as_i64)
                        .or(count);
                    out.prompt = n.map_or("Out[ ]:".to_string(), |n| format!("Out[{n}]:"));
                }
                Some(out)
            }
            _ => None,
        }
    }

    /// A cell's outputs: each while the page has room; once it has none,
    /// the rest of them as one note.
    fn outputs(&mut self, outputs: &[Value], count: Option<i64>) -> Vec<Output> {
        let mut shown = Vec::new();
        let mut hidden = 0usize;
        for value in outputs {
            if self.outputs <= MARKUP_PER_OUTPUT {
                hidden += usize::from(value.get("output_type").is_some());
                continue;
            }
            self.outputs -= MARKUP_PER_OUTPUT;
            shown.extend(self.output(value, count));
        }
        if hidden > 0 {
            shown.push(Output {
                note: Some(format!(
                    "{hidden} more outputs of this cell are not shown here; the downloaded notebook has them."
                )),
                ..Output::new("text")
            });
        }
        shown
    }

    fn source(&mut self, source: &str, language: Option<&str>) -> Text {
        let lines = if source.len() <= SOURCE.bytes.min(self.sources) {
            language.and_then(|l| self.highlighter.highlight(source, l))
        } else {
            None
        };
        let lines = lines.unwrap_or_else(|| plain_lines(source));
        fold(lines, SOURCE, &mut self.sources)
    }

    fn cell(&mut self, cell: &Value, language: &str) -> NotebookCell {
        let kind = cell
            .get("cell_type")
            .and_then(Value::as_str)
            .unwrap_or("raw")
            .to_string();
        let source = multiline(cell.get("source"));
        let count = cell.get("execution_count").and_then(Value::as_i64);
        if kind == "markdown" && source.len() <= ONE_HTML {
            // Rendered, with its attachments inline, if the page has room
            // for that; else its source, folded like code.
            let rendered = html::markdown(&source, &html::attachments(cell));
            if rendered.len() <= (ONE_HTML + ONE_IMAGE).min(self.sources) {
                self.sources -= rendered.len();
                return NotebookCell {
                    html: Some(rendered),
                    kind,
                    prompt: String::new(),
                    source: Text::default(),
                    outputs: Vec::new(),
                    running: false,
                };
            }
        }
        let is_code = kind == "code";
        // papermill's mark of the cell a run executes now.
        let running = is_code
            && cell
                .pointer("/metadata/papermill/status")
                .and_then(Value::as_str)
                == Some("running");
        NotebookCell {
            prompt: match (is_code, count) {
                (false, _) => String::new(),
                _ if running => "In [*]:".to_string(),
                (true, None) => "In [ ]:".to_string(),
                (true, Some(n)) => format!("In [{n}]:"),
            },
            running,
            source: self.source(&source, is_code.then_some(language)),
            html: None,
            outputs: cell
                .get("outputs")
                .and_then(Value::as_array)
                .map(|o| self.outputs(o, count))
                .unwrap_or_default(),
            kind,
        }
    }
}

/// The language of a notebook's code, as its metadata says (Python when
/// it says nothing).
fn language(notebook: &Value) -> &str {
    let metadata = notebook.get("metadata");
    metadata
        .and_then(|m| m.pointer("/language_info/name"))
        .or_else(|| metadata.and_then(|m| m.pointer("/kernelspec/language")))
        .and_then(Value::as_str)
        .unwrap_or("python")
}

/// The cells of an nbformat v4 notebook, ready for the page: at most
/// [`ALL_SOURCES`] of sources and [`ALL_OUTPUTS`] of outputs, each text
/// folded as [`SOURCE`] and [`OUTPUT_TEXT`] say.
pub fn notebook_cells(notebook: &Value) -> Vec<NotebookCell> {
    let Some(cells) = notebook.get("cells").and_then(Value::as_array) else {
        return Vec::new();
    };
    let language = language(notebook);
    let mut room = Room {
        outputs: ALL_OUTPUTS,
        sources: ALL_SOURCES,
        highlighter: Highlighter::default(),
    };
    cells.iter().map(|cell| room.cell(cell, language)).collect()
}

#[cfg(test)]
mod tests;
