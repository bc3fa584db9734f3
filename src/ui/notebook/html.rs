//! HTML and Markdown from a notebook, made safe for the page: Markdown is
//! rendered by pulldown-cmark (GitHub's tables, strikethrough and task
//! lists, math kept as its TeX), then everything goes through ammonia:
//! no script, style, event handler, frame or form survives, links may go
//! only to http(s) and mailto, and images may show only inline data
//! (`data:image/...`), so a page never loads anything from elsewhere.

use std::collections::HashMap;

use serde_json::Value;

/// The image types an `<img>` may show inline; an SVG in an `<img>` runs
/// no script and loads nothing.
const IMAGE_TYPES: [&str; 5] = ["png", "jpeg", "gif", "webp", "svg+xml"];

/// A URL as a browser reads it: ASCII whitespace and control characters
/// (which the URL parser drops or trims) removed, lower-cased.
fn normalized(url: &str) -> String {
    url.chars()
        .filter(|c| !c.is_ascii_control() && *c != ' ')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `url` is an inline image of a safe type, in plain base64.
fn is_image_data(url: &str) -> bool {
    let url = normalized(url);
    let Some(rest) = url.strip_prefix("data:image/") else {
        return false;
    };
    let Some((kind, data)) = rest.split_once(";base64,") else {
        return false;
    };
    IMAGE_TYPES.contains(&kind)
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
}

/// An image of a display bundle or attachment as a data URL, if it is an
/// image type the page shows and its data is plain base64 (an SVG, which
/// is text, is encoded here).
pub fn image_url(mime: &str, data: &Value) -> Option<String> {
    use base64::Engine as _;
    let data = match data {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    if mime == "image/svg+xml" {
        let encoded = base64::engine::general_purpose::STANDARD.encode(data.as_bytes());
        return Some(format!("data:image/svg+xml;base64,{encoded}"));
    }
    if !["image/png", "image/jpeg", "image/gif", "image/webp"].contains(&mime) {
        return None;
    }
    let data: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    let valid = !data.is_empty()
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
    valid.then(|| format!("data:{mime};base64,{data}"))
}

/// HTML from a notebook, sanitized.
pub fn sanitize(html: &str) -> String {
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto", "data"].into())
        .add_allowed_classes("span", ["math", "math-inline", "math-display"])
        .attribute_filter(|element, attribute, value| {
            if normalized(value).starts_with("data:") {
                // Only an image's source may be inline data, and only an image.
                return (element == "img" && attribute == "src" && is_image_data(value))
                    .then(|| value.into());
            }
            if element == "img" && attribute == "src" {
                // Nothing is loaded from elsewhere, nor from this site.
                return None;
            }
            Some(value.into())
        })
        .clean(html)
        .to_string()
}

/// A Markdown cell or output as sanitized HTML; `attachment:NAME` images
/// are the cell's attachments, as data URLs.
pub fn markdown(source: &str, attachments: &HashMap<String, String>) -> String {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_MATH;
    let parser = Parser::new_ext(source, options).map(|event| match event {
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest_url = dest_url
                .strip_prefix("attachment:")
                .and_then(|name| attachments.get(name))
                .map_or(dest_url.clone(), |url| url.clone().into());
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            })
        }
        // A task's box as a character: the page takes no inputs from notebooks.
        Event::TaskListMarker(done) => {
            Event::Text(if done { "\u{2611} " } else { "\u{2610} " }.into())
        }
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    sanitize(&html)
}

/// A cell's attachments (`{"name.png": {"image/png": "base64"}}`) as data
/// URLs by name.
pub fn attachments(cell: &Value) -> HashMap<String, String> {
    let Some(map) = cell.get("attachments").and_then(|a| a.as_object()) else {
        return HashMap::new();
    };
    map.iter()
        .filter_map(|(name, bundle)| {
            let bundle = bundle.as_object()?;
            bundle
                .iter()
                .find_map(|(mime, data)| image_url(mime, data))
                .map(|url| (name.clone(), url))
        })
        .collect()
}

/// A check of sanitized HTML, for the tests of the notebook's parts.
#[cfg(test)]
pub(super) mod check {
    use super::is_image_data;

    /// The start tags of serialized HTML (which quotes every attribute
    /// value with `"`), with their attributes.
    fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
        let mut out = Vec::new();
        let mut rest = html;
        while let Some(at) = rest.find('<') {
            rest = &rest[at + 1..];
            if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
                continue;
            }
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .unwrap_or(rest.len());
            let name = rest[..end].to_ascii_lowercase();
            rest = &rest[end..];
            let mut attrs = Vec::new();
            loop {
                rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
                if rest.is_empty() || rest.starts_with('>') {
                    break;
                }
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '=' || c == '>')
                    .unwrap_or(rest.len());
                let attr = rest[..end].to_ascii_lowercase();
                rest = &rest[end..];
                let mut value = String::new();
                if let Some(after) = rest.strip_prefix("=\"") {
                    let close = after.find('"').unwrap_or(after.len());
                    value = after[..close].to_string();
                    rest = after.get(close + 1..).unwrap_or("");
                }
                attrs.push((attr, value));
            }
            out.push((name, attrs));
        }
        out
    }

    /// Fails unless `html` can run no script and load nothing.
    pub fn assert_inert(html: &str) {
        for (tag, attrs) in tags(html) {
            assert!(
                ![
                    "script", "style", "iframe", "frame", "object", "embed", "form", "input",
                    "button", "svg", "math", "link", "meta", "base", "audio", "video", "source",
                    "template",
                ]
                .contains(&tag.as_str()),
                "<{tag}> in {html}"
            );
            for (name, value) in attrs {
                assert!(
                    !name.starts_with("on")
                        && ![
                            "style",
                            "srcset",
                            "formaction",
                            "action",
                            "background",
                            "poster"
                        ]
                        .contains(&name.as_str()),
                    "{name} of <{tag}> in {html}"
                );
                // As a browser reads a URL: spaces and controls trimmed at
                // its ends, tabs and newlines dropped within (a space
                // within it is not dropped, so `x y:z` has no scheme).
                let url: String = value
                    .trim_matches(|c: char| c <= ' ')
                    .chars()
                    .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                    .flat_map(char::to_lowercase)
                    .collect();
                if name == "src" {
                    assert!(is_image_data(&value), "<{tag} src={value}> in {html}");
                } else if name == "href" {
                    // A URL's scheme: letters, digits, `+`, `-`, `.`, then `:`.
                    let scheme = url.split_once(':').map(|(s, _)| s).filter(|s| {
                        s.starts_with(|c: char| c.is_ascii_alphabetic())
                            && s.chars()
                                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                    });
                    assert!(
                        scheme.is_none_or(|s| ["http", "https", "mailto"].contains(&s)),
                        "href={value} in {html}"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check::assert_inert;
    use super::*;

    #[test]
    fn hostile_html_is_made_inert() {
        for input in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            // A relative href whose text holds schemes after a space.
            "<a src=\"javascript: src=javascript:\" href=\"x xlink:href=javascript: src=javascript:\">",
            "<a href=\" java\tscript:alert(1)\">x</a>",
            "<img src=\"http://evil/x.png\">",
            "<img src=\"//evil/x.png\">",
            "<img srcset=\"http://evil/x.png 2x\" src=\"data:image/png;base64,AAAA\">",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\"java\tscript:alert(1)\">x</a>",
            "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
            "<img src=\"data:text/html;base64,PHNjcmlwdD4=\">",
            "<img src=\" DATA:image/svg+xml,<svg onload=alert(1)>\">",
            "<svg><script>alert(1)</script></svg>",
            "<svg onload=alert(1)><image href=\"http://evil/x\"/></svg>",
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
            "<iframe src=\"http://evil\"></iframe><object data=x></object><embed src=x>",
            "<div style=\"background:url(http://evil/x)\">x</div><style>@import 'http://evil'</style>",
            "<form action=\"http://evil\"><input name=x></form>",
            "<link rel=stylesheet href=http://evil/x.css><meta http-equiv=refresh content=\"0;url=http://evil\"><base href=http://evil/>",
            "<table class=\"dataframe\"><tr><td onmouseover=\"x()\">1</td></tr></table>",
            "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
        ] {
            assert_inert(&sanitize(input));
        }
    }

    #[test]
    fn inline_images_and_links_stay() {
        let html = sanitize(
            "<img src=\"data:image/png;base64,iVBORw0KGgo=\" alt=\"a\"><a href=\"https://example.com/\">x</a>",
        );
        assert!(
            html.contains("src=\"data:image/png;base64,iVBORw0KGgo=\""),
            "{html}"
        );
        assert!(html.contains("href=\"https://example.com/\""), "{html}");
        let svg = sanitize("<img src=\"data:image/svg+xml;base64,PHN2Zz4=\">");
        assert!(svg.contains("data:image/svg+xml;base64"), "{svg}");
    }

    #[test]
    fn markdown_is_rendered_like_jupyter_and_sanitized() {
        let md = markdown(
            "# Title\n\n*x* and ~~y~~ $a*b*c$\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n\n<script>alert(1)</script>\n\n[bad](javascript:alert(1)) ![i](attachment:p.png) ![r](http://evil/x.png)",
            &HashMap::from([("p.png".to_string(), "data:image/png;base64,AAAA".to_string())]),
        );
        assert!(
            md.contains("<h1>Title</h1>") && md.contains("<em>x</em>"),
            "{md}"
        );
        assert!(
            md.contains("<del>y</del>") && md.contains("<table>"),
            "{md}"
        );
        assert!(md.contains("a*b*c"), "math is kept as its TeX: {md}");
        assert!(md.contains("\u{2611} done"), "{md}");
        assert!(md.contains("src=\"data:image/png;base64,AAAA\""), "{md}");
        assert_inert(&md);
    }
}
