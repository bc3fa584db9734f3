//! Tests of the notebook as a page shows it: every output type, hostile
//! HTML, Markdown, SVG and terminal codes, the bounds, and no panic on
//! any input.

use proptest::prelude::*;
use serde_json::json;

use super::html::check::assert_inert;
use super::*;

fn cells(nb: Value) -> Vec<NotebookCell> {
    notebook_cells(&nb)
}

/// Everything of a cell that ends up in the page as markup.
fn all_html(cell: &NotebookCell) -> String {
    cell.html
        .iter()
        .chain(cell.outputs.iter().filter_map(|o| o.html.as_ref()))
        .cloned()
        .collect()
}

fn all_spans(text: &Text) -> Vec<&Span> {
    text.head
        .iter()
        .chain(text.fold.iter().flat_map(|f| &f.spans))
        .chain(&text.tail)
        .collect()
}

#[test]
fn code_cells_have_prompts_and_highlighted_source() {
    let shown = cells(json!({
        "metadata": {"language_info": {"name": "python"}},
        "cells": [
            {"cell_type": "code", "execution_count": 3, "source": ["def f():\n", "    return 1"], "outputs": [
                {"output_type": "execute_result", "execution_count": 3, "data": {"text/plain": "1"}},
                {"output_type": "display_data", "data": {"text/plain": "shown"}}
            ]},
            {"cell_type": "code", "execution_count": null, "source": "x", "outputs": []},
            {"cell_type": "raw", "source": "def raw", "outputs": []}
        ]
    }));
    assert_eq!(shown[0].prompt, "In [3]:");
    assert_eq!(shown[1].prompt, "In [ ]:");
    assert_eq!(shown[2].prompt, "");
    let spans = all_spans(&shown[0].source);
    assert!(
        spans.iter().any(|s| s.class == "k" && s.text == "def"),
        "{spans:?}"
    );
    assert!(
        all_spans(&shown[2].source)
            .iter()
            .all(|s| s.class.is_empty()),
        "raw cells are not highlighted"
    );
    assert_eq!(shown[0].outputs[0].prompt, "Out[3]:");
    assert_eq!(shown[0].outputs[1].prompt, "", "a display has no prompt");
}

#[test]
fn every_output_type_is_shown_in_its_richest_safe_form() {
    let shown = cells(json!({"cells": [
        {"cell_type": "markdown", "source": ["# Title\n", "<script>alert(1)</script>\n\n", "*x*"]},
        {"cell_type": "code", "execution_count": 3, "source": "print(1)", "outputs": [
            {"output_type": "stream", "name": "stdout", "text": ["1\n"]},
            {"output_type": "stream", "name": "stderr", "text": "warn\n"},
            {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": ["\u{1b}[0;31mValueError\u{1b}[0m: bad"]},
            {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=\n", "text/plain": "<Figure>"}},
            {"output_type": "display_data", "data": {"image/jpeg": ["/9j/", "4AAQ"]}},
            {"output_type": "display_data", "data": {"image/svg+xml": "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"}},
            {"output_type": "execute_result", "data": {"text/html": "<b onclick=\"x()\">hi</b><script>steal()</script>", "text/plain": "hi"}},
            {"output_type": "display_data", "data": {"text/markdown": "**md** <img src=x onerror=alert(1)>"}},
            {"output_type": "display_data", "data": {"application/json": {"a": [1, 2]}, "text/plain": "{'a': [1, 2]}"}},
            {"output_type": "display_data", "data": {"text/html": "<script>widget()</script>", "text/plain": "Widget"}},
            {"output_type": "display_data", "data": {"image/png": "\"><script>"}},
            {"output_type": "display_data", "data": {"application/javascript": "alert(1)"}},
            {"output_type": "update_display_data", "data": {"text/plain": "ignored"}}
        ]}
    ]}));
    let md = shown[0].html.as_deref().unwrap();
    assert!(
        md.contains("<h1>Title</h1>") && md.contains("<em>x</em>"),
        "{md}"
    );
    assert_inert(md);
    let out = &shown[1].outputs;
    let kinds: Vec<&str> = out.iter().map(|o| o.kind).collect();
    assert_eq!(
        kinds,
        [
            "stream",
            "stream",
            "traceback",
            "image",
            "image",
            "image",
            "html",
            "html",
            "json",
            "text"
        ]
    );
    assert_eq!(out[0].text.as_ref().unwrap().head[0].text, "1");
    assert_eq!(out[1].stream, "stderr");
    let traceback = &out[2].text.as_ref().unwrap().head;
    assert_eq!(traceback[0].class, "ansi-red-fg");
    assert_eq!(traceback[0].text, "ValueError");
    assert_eq!(
        out[3].image.as_deref(),
        Some("data:image/png;base64,iVBORw0KGgo=")
    );
    assert_eq!(
        out[4].image.as_deref(),
        Some("data:image/jpeg;base64,/9j/4AAQ")
    );
    let svg = out[5].image.as_deref().unwrap();
    assert!(
        svg.starts_with("data:image/svg+xml;base64,"),
        "an SVG is an <img>, where no script runs"
    );
    assert_eq!(out[6].html.as_deref(), Some("<b>hi</b>"));
    assert_eq!(out[6].prompt, "Out[3]:");
    assert!(out[7]
        .html
        .as_deref()
        .unwrap()
        .contains("<strong>md</strong>"));
    let json = out[8].text.as_ref().unwrap().head[0].text.clone();
    assert!(json.contains("\"a\": [\n    1,"), "{json}");
    assert_eq!(
        out[9].text.as_ref().unwrap().head[0].text,
        "Widget",
        "an HTML output that shows nothing falls back to text"
    );
    for cell in &shown {
        assert_inert(&all_html(cell));
    }
}

#[test]
fn markdown_attachments_become_inline_images() {
    let shown = cells(json!({"cells": [{"cell_type": "markdown",
        "source": "![plot](attachment:p.png) ![x](attachment:missing.png)",
        "attachments": {"p.png": {"image/png": "iVBORw0KGgo="}}}]}));
    let html = shown[0].html.as_deref().unwrap();
    assert!(
        html.contains("src=\"data:image/png;base64,iVBORw0KGgo=\""),
        "{html}"
    );
    assert_inert(html);
}

#[test]
fn a_megabyte_of_output_is_folded_to_its_first_and_last_lines() {
    let printed: String = (0..100_000).map(|i| format!("row {i}\n")).collect();
    let shown = cells(
        json!({"cells": [{"cell_type": "code", "source": "", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": printed}]}]}),
    );
    let text = shown[0].outputs[0].text.as_ref().unwrap();
    let head: String = text.head.iter().map(|s| s.text.as_str()).collect();
    assert!(
        head.starts_with("row 0\n") && head.ends_with("row 19\n"),
        "{head}"
    );
    let tail: String = text.tail.iter().map(|s| s.text.as_str()).collect();
    assert!(tail.contains("row 99999"), "{tail}");
    assert!(text.fold.as_ref().unwrap().summary.ends_with("more lines"));
    assert!(text
        .note
        .as_deref()
        .unwrap()
        .contains("downloaded notebook"));
    assert!(text.shown().len() <= OUTPUT_TEXT.bytes);
}

#[test]
fn large_outputs_keep_the_page_small() {
    let big = "x".repeat(200 * 1024);
    let image = "A".repeat(2 * ONE_IMAGE);
    let many: Vec<Value> = (0..80)
        .map(|_| {
            json!({"cell_type": "code", "source": big, "outputs": [
                {"output_type": "stream", "name": "stdout", "text": big},
                {"output_type": "display_data", "data": {"text/html": format!("<p>{big}</p>{big}")}},
                {"output_type": "display_data", "data": {"image/png": image}},
            ]})
        })
        .collect();
    let shown = cells(json!({"cells": many}));
    let bytes: usize = shown
        .iter()
        .map(|c| {
            c.source.shown().len()
                + c.outputs
                    .iter()
                    .map(|o| {
                        o.text.as_ref().map_or(0, |t| t.shown().len())
                            + o.html.as_ref().map_or(0, String::len)
                            + o.image.as_ref().map_or(0, String::len)
                            + o.note.as_ref().map_or(0, String::len)
                    })
                    .sum::<usize>()
        })
        .sum();
    assert!(
        bytes <= ALL_OUTPUTS + ALL_SOURCES + 80 * 1024,
        "{bytes} bytes shown"
    );
    let first = &shown[0].outputs;
    assert!(
        first[1].note.as_deref().unwrap().contains("too large"),
        "{first:?}"
    );
    assert!(first[2].note.as_deref().unwrap().contains("too large"));
    let last = &shown[79].outputs[0];
    assert!(
        last.note.as_deref().unwrap_or("").contains("not shown")
            || last.text.as_ref().is_some_and(|t| t.shown().is_empty()),
        "past the page's room, nothing: {:?}",
        last.note
    );
}

#[test]
fn many_small_outputs_keep_the_page_small() {
    let tiny: Vec<Value> = (0..50_000)
        .map(|_| json!({"output_type": "stream", "name": "stdout", "text": "\"<"}))
        .collect();
    let shown = cells(json!({"cells": [{"cell_type": "code", "source": "", "outputs": tiny}]}));
    let outputs = &shown[0].outputs;
    assert!(outputs.len() < 40_000, "{} outputs shown", outputs.len());
    let last = outputs.last().unwrap().note.as_deref().unwrap();
    assert!(
        last.contains("more outputs of this cell are not shown"),
        "{last}"
    );
}

#[test]
fn hostile_markdown_and_html_run_nothing() {
    let hostile = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1)) [y](JaVaScRiPt:alert(1)) [z](data:text/html,<script>alert(1)</script>)",
        "![x](http://evil/x.png) ![y](//evil/y.png)",
        "<iframe src=//evil></iframe><object data=x></object>",
        "<a href=\"&#106;avascript:alert(1)\">x</a>",
        "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
        "<style>body{background:url(//evil)}</style><div style=\"background:url(//evil)\">",
        "```html\n<script>alert(1)</script>\n```",
        "<details open ontoggle=alert(1)>",
        "<form><button formaction=javascript:alert(1)>x</button></form>",
    ];
    for input in hostile {
        let shown = cells(json!({"cells": [
            {"cell_type": "markdown", "source": input},
            {"cell_type": "code", "source": input, "outputs": [
                {"output_type": "display_data", "data": {"text/html": input}},
                {"output_type": "display_data", "data": {"text/markdown": input}},
                {"output_type": "stream", "name": "stdout", "text": input},
            ]}
        ]}));
        for cell in &shown {
            assert_inert(&all_html(cell));
        }
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        "[<>&\"'a-z\u{1b}\\[;0-9m\r\n\u{8}:/ ]{0,60}".prop_map(Value::from),
        prop_oneof![
            Just("code"),
            Just("markdown"),
            Just("raw"),
            Just("stream"),
            Just("error"),
            Just("execute_result"),
            Just("display_data"),
            Just("text/html"),
            Just("image/png"),
            Just("image/svg+xml"),
            Just("text/markdown"),
            Just("application/json"),
            Just("stderr"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("cells".to_string()),
                    Just("cell_type".to_string()),
                    Just("source".to_string()),
                    Just("outputs".to_string()),
                    Just("output_type".to_string()),
                    Just("data".to_string()),
                    Just("text".to_string()),
                    Just("name".to_string()),
                    Just("traceback".to_string()),
                    Just("execution_count".to_string()),
                    Just("attachments".to_string()),
                    Just("metadata".to_string()),
                    "[a-z/+]{1,12}",
                ],
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn no_notebook_panics_or_brings_script(nb in json_value()) {
        for cell in notebook_cells(&nb) {
            assert_inert(&all_html(&cell));
        }
        notebook_cells(&json!({"cells": [nb]}));
    }

    #[test]
    fn no_terminal_text_panics_or_keeps_escapes(text in "[\u{1b}\\[\\];0-9:m?hHJKPl\r\n\u{8}\u{7}a-zé<>]{0,200}") {
        let shown = cells(json!({"cells": [{"cell_type": "code", "source": text, "outputs": [
            {"output_type": "stream", "name": "stdout", "text": text},
            {"output_type": "error", "traceback": [text]}]}]}));
        for out in &shown[0].outputs {
            for span in all_spans(out.text.as_ref().unwrap()) {
                prop_assert!(!span.text.contains('\u{1b}'), "{:?}", span);
            }
        }
    }

    #[test]
    fn no_html_or_markdown_brings_script(input in "(<(script|img|a|svg|iframe|style|b|p|math|details)( (src|href|onerror|onclick|style|xlink:href)=[\"']?(javascript:|data:|//evil|x)[a-z()]*[\"']?)*>|[a-z ]|</[a-z]+>|\\[x\\]\\([a-z:/]*\\)|!\\[\\]\\([a-z:/]*\\)){0,12}") {
        assert_inert(&html::sanitize(&input));
        assert_inert(&html::markdown(&input, &Default::default()));
    }
}

/// The colours the stylesheet gives notebooks, light then dark: every colour
/// of text (prompts, highlighting, terminal colours, links) against every
/// background it sits on (the page, code, error output) is at least 4.5:1,
/// WCAG's AA for text.
#[test]
fn notebook_colours_meet_aa_contrast_in_light_and_dark() {
    let layout = include_str!("../../../templates/hookbook.css");
    let luminance = |hex: &str| {
        let hex = hex.trim_start_matches('#');
        let hex = if hex.len() == 3 {
            hex.chars().flat_map(|c| [c, c]).collect()
        } else {
            hex.to_string()
        };
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
    };
    let ratio = |a: &str, b: &str| {
        let (a, b) = (luminance(a), luminance(b));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    };
    let schemes: Vec<&str> = layout
        .split(".notebook { --nb-text:")
        .skip(1)
        .map(|rest| rest.split('}').next().unwrap())
        .collect();
    assert_eq!(schemes.len(), 2, "a light and a dark palette");
    for scheme in schemes {
        let decls = format!("--nb-text:{scheme}");
        let vars: Vec<(&str, &str)> = decls
            .split(';')
            .filter_map(|decl| decl.trim().split_once(':'))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let get = |name: &str| vars.iter().find(|(k, _)| *k == name).unwrap().1;
        let backgrounds = ["--nb-page", "--nb-code", "--nb-err"].map(get);
        for (name, colour) in &vars {
            if name.ends_with("-bg")
                || [
                    "--nb-page",
                    "--nb-code",
                    "--nb-err",
                    "--nb-border",
                    "--ansi-on-black",
                ]
                .contains(name)
            {
                continue;
            }
            for bg in backgrounds {
                let r = ratio(colour, bg);
                assert!(r >= 4.5, "{name} {colour} on {bg}: {r:.2}");
            }
        }
        for (name, bg) in vars.iter().filter(|(k, _)| k.ends_with("-bg")) {
            let text = if *name == "--ansi-black-bg" {
                get("--ansi-on-black")
            } else {
                get("--nb-text")
            };
            assert!(ratio(text, bg) >= 4.5, "text on {name} {bg}");
        }
    }
}
