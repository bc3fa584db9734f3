//! Rendering pages and error pages through the embedded templates.

use std::sync::OnceLock;

use minijinja::{context, Environment};
use serde::Serialize;
use serde_json::Value;

use super::page::{Block, Field, FieldKind, Form, Link, Page, Time};

/// The layout, whose inline style and script the pages' policy allows by
/// their hashes.
const LAYOUT: &str = include_str!("../../templates/layout.html");
/// The site's one stylesheet, which the layout holds inline (`stylesheet`):
/// no request of its own, and allowed by its hash.
const STYLESHEET: &str = include_str!("../../templates/hookbook.css");

/// The SHA-256 (base64) of the layout's inline `<style>` and `<script>`,
/// as a `Content-Security-Policy` names them: the only style and script a
/// page may run.
pub fn inline_hashes() -> &'static (String, String) {
    static HASHES: OnceLock<(String, String)> = OnceLock::new();
    HASHES.get_or_init(|| {
        use base64::Engine as _;
        use sha2::Digest as _;
        let hash = |body: &str| {
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body))
        };
        let script = LAYOUT
            .split_once("<script>")
            .and_then(|(_, rest)| rest.split_once("</script>"))
            .map_or("", |(body, _)| body);
        (hash(STYLESHEET), hash(script))
    })
}

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.add_global(
            "stylesheet",
            minijinja::Value::from_safe_string(STYLESHEET.to_string()),
        );
        for (name, source) in [
            ("layout.html", LAYOUT),
            (
                "resource.html",
                include_str!("../../templates/resource.html"),
            ),
            ("error.html", include_str!("../../templates/error.html")),
        ] {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(error = %crate::report::chain(&e), "template {name} does not compile");
            }
        }
        env
    })
}

/// The time since `since` (epoch milliseconds) in words, as the page's
/// script writes it while it ticks: "42 s", "3 min 5 s", "2 h 4 min".
fn elapsed_since(since: i64) -> String {
    let seconds = (crate::domain::time::Millis::now().0 - since).max(0) / 1000;
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// One table of the resource: a heading and its rows.
#[derive(Serialize)]
struct Section {
    heading: String,
    rows: Vec<Row>,
}

#[derive(Serialize)]
struct Row {
    key: String,
    value: String,
    /// The value when it is a moment.
    time: Option<Time>,
}

/// Lays a JSON resource out as tables: its plain fields first, then one
/// table per element of each list of objects.
fn sections(value: &Value) -> Vec<Section> {
    let mut out = vec![Section {
        heading: String::new(),
        rows: Vec::new(),
    }];
    if let Value::Object(map) = value {
        for (key, v) in map {
            match v {
                Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
                    for item in items {
                        let heading = ["name", "title", "jobId", "id"]
                            .iter()
                            .find_map(|k| item.get(*k).and_then(Value::as_str))
                            .unwrap_or(key)
                            .to_string();
                        out.push(Section {
                            heading,
                            rows: rows(item),
                        });
                    }
                }
                other => out[0].rows.extend(row(key, other)),
            }
        }
    }
    out.retain(|s| !s.rows.is_empty() || !s.heading.is_empty());
    out
}

/// Fields a page never shows in clear (the JSON answer keeps them for
/// whoever may manage the resource, as ArcGIS's does).
const MASKED: [&str; 2] = ["secret", "apiToken"];

/// Fields that hold a time in epoch milliseconds.
const TIMES: [&str; 13] = [
    "created",
    "modified",
    "submitted",
    "startTime",
    "endTime",
    "time",
    "expires",
    "dateCreated",
    "revision",
    "nextAttemptTime",
    "lastModified",
    "from",
    "to",
];

/// A field as a page shows it, for people: its name in words, a time as
/// a date, a secret masked; nothing for an empty value (*View as JSON*
/// has the resource whole).
fn row(key: &str, value: &Value) -> Option<Row> {
    let mut time = None;
    let value = match value {
        Value::Null => return None,
        Value::String(s) if s.is_empty() => return None,
        Value::Array(a) if a.is_empty() => return None,
        Value::Object(o) if o.is_empty() => return None,
        Value::String(_) if MASKED.contains(&key) => {
            "•••••••• (set; not shown on pages)".to_string()
        }
        Value::Number(n)
            if TIMES.contains(&key) && n.as_i64().is_some_and(|ms| ms > 100_000_000_000) =>
        {
            let at = crate::domain::time::Millis(n.as_i64().unwrap_or_default());
            time = Some(Time::from(at));
            at.utc()
        }
        other => scalar(other),
    };
    Some(Row {
        key: words(key),
        value,
        time,
    })
}

/// A camelCase field name in words: `nextAttemptTime` is "Next attempt time".
fn words(key: &str) -> String {
    let mut out = String::new();
    for (i, c) in key.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else if i == 0 {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn rows(value: &Value) -> Vec<Row> {
    match value {
        Value::Object(map) => map.iter().filter_map(|(k, v)| row(k, v)).collect(),
        other => vec![Row {
            key: String::new(),
            value: scalar(other),
            time: None,
        }],
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// How the reader of a page is signed in, which decides what its links
/// and forms carry.
#[derive(Debug, Clone)]
pub enum PageAuth {
    Anonymous,
    /// A token in the URL or form, ArcGIS style: links and forms carry it.
    Token(String),
    /// A session cookie: forms carry its CSRF token, links nothing.
    Session {
        csrf: String,
    },
}

/// What surrounds every page: the context path, the reader's sign-in, and
/// what the request asked of the page beyond its resource.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub context: String,
    pub auth: PageAuth,
    /// The page's own path and query (without token, `f` or `confirm`):
    /// where its forms come from (`_from`) and where *Refresh* leads.
    pub here: String,
    /// A one-time notice left by the operation that led here.
    pub notice: Option<String>,
    /// The form (by its place on the page) whose confirmation is asked.
    pub confirm: Option<usize>,
    /// Whether the reader is an administrator (the navigation then leads
    /// to the site's dashboard).
    pub admin: bool,
}

impl Chrome {
    /// A page's surroundings with nothing asked beyond the resource.
    pub fn new(context: impl Into<String>, auth: PageAuth, here: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            auth,
            here: here.into(),
            notice: None,
            confirm: None,
            admin: false,
        }
    }
}

impl Chrome {
    /// The token links and forms carry (ArcGIS style), if any.
    pub fn token(&self) -> Option<&str> {
        match &self.auth {
            PageAuth::Token(t) => Some(t),
            _ => None,
        }
    }
}

/// Appends the session's token to a link so that browsing keeps it.
pub fn with_token(href: &str, token: Option<&str>) -> String {
    match token {
        Some(t) => {
            let sep = if href.contains('?') { '&' } else { '?' };
            let encoded: String = form_urlencoded::byte_serialize(t.as_bytes()).collect();
            format!("{href}{sep}token={encoded}")
        }
        None => href.to_string(),
    }
}

/// The fields a page's POST form carries so that the format layer can
/// redirect after it (`_from`) and give a refused form back as it was
/// (`_form`: its title, labels and kinds; no value a person typed).
pub const FROM_FIELD: &str = "_from";
pub const FORM_FIELD: &str = "_form";

/// A form as `_form` describes it: what a refused form is made again from.
fn describe(form: &Form) -> String {
    let mut form = form.clone();
    for field in &mut form.fields {
        field.error = None;
        if field.kind != FieldKind::Hidden {
            field.value.clear();
        }
    }
    serde_json::to_string(&form).unwrap_or_default()
}

/// The confirmation step of the form at `index`: a page that names what
/// the operation will do, with its button and a way back.
fn confirmation(page: &Page, index: usize, chrome: &Chrome) -> Option<Page> {
    let form = page.forms.get(index)?;
    let question = form.confirm.clone()?;
    let mut form = form.clone();
    form.confirm = None;
    Some(
        Page::new(question)
            .without_value()
            .link("Cancel", chrome.here.clone())
            .form(form),
    )
}

/// The first step of a form that asks before it is posted: a button that
/// opens its confirmation (no script needed).
fn confirm_step(form: &Form, index: usize, chrome: &Chrome) -> Form {
    let path = chrome.here.split('?').next().unwrap_or_default();
    let mut step = Form::get(format!("{}…", form.title), path).field(
        FieldKind::Hidden,
        "confirm",
        "",
        index.to_string(),
    );
    step.danger = form.danger;
    step
}

/// The reader's URL token (ArcGIS style) on every link the blocks hold.
fn carry_token(blocks: &mut [Block], token: Option<&str>) {
    for block in blocks {
        match block {
            Block::Table { rows, .. } => {
                for cell in rows.iter_mut().flatten() {
                    if let Some(href) = &mut cell.href {
                        *href = with_token(href, token);
                    }
                }
            }
            Block::Chart { chart } => {
                for rect in &mut chart.rects {
                    if let Some(href) = &mut rect.href {
                        *href = with_token(href, token);
                    }
                }
            }
            Block::Pager { previous, next, .. } => {
                for href in [previous, next].into_iter().flatten() {
                    *href = with_token(href, token);
                }
            }
            _ => {}
        }
    }
}

/// The hidden fields a page's form carries: `f=html`, the reader's token
/// or CSRF token, and for a POST where it comes from and what it is.
fn carry_fields(form: &mut Form, chrome: &Chrome) {
    let post = form.method == "post";
    if post {
        let described = describe(form);
        form.fields.insert(0, hidden(FORM_FIELD, &described));
        form.fields.insert(0, hidden(FROM_FIELD, &chrome.here));
    }
    // First in the form, so that a browser sends them before any file:
    // a large upload is read only once its caller is known. A CSRF
    // token goes only in a POST's body, never in a URL.
    match &chrome.auth {
        PageAuth::Token(t) => form.fields.insert(0, hidden("token", t)),
        PageAuth::Session { csrf } if post => form.fields.insert(0, hidden("csrf", csrf)),
        _ => {}
    }
    form.fields.insert(0, hidden("f", "html"));
}

/// Renders a resource page. Forms carry `f=html` and the reader's token or
/// CSRF token as hidden fields, so that their answers are pages too.
pub fn render_page(page: &Page, value: &Value, chrome: &Chrome) -> String {
    let mut page = match chrome.confirm.and_then(|i| confirmation(page, i, chrome)) {
        Some(step) => step,
        None => page.clone(),
    };
    let token = chrome.token();
    for link in &mut page.links {
        link.href = with_token(&link.href, token);
    }
    for (index, form) in page.forms.iter_mut().enumerate() {
        if form.confirm.is_some() {
            *form = confirm_step(form, index, chrome);
        }
        carry_fields(form, chrome);
    }
    for block in &mut page.blocks {
        if let Block::Table { rows, .. } = block {
            for form in rows.iter_mut().flatten().filter_map(|c| c.form.as_mut()) {
                carry_fields(form, chrome);
            }
        }
    }
    if let Some(form) = &mut page.filter {
        if let PageAuth::Token(t) = &chrome.auth {
            form.fields.insert(0, hidden("token", t));
        }
        form.fields.insert(0, hidden("f", "html"));
    }
    carry_token(&mut page.blocks, token);
    let json_link = with_token("?f=pjson", token);
    let live = page.live.as_ref().map(|live| {
        context! {
            text => live.text,
            job => live.job,
            since => live.since,
            elapsed => live.since.map(elapsed_since),
            rendered => crate::domain::time::Millis::now().0,
            refresh => with_token(&chrome.here, token),
        }
    });
    render(
        "resource.html",
        context! {
            title => page.title,
            sections => if page.show_value { sections(value) } else { Vec::new() },
            links => page.links,
            forms => page.forms,
            filter => page.filter,
            blocks => page.blocks,
            live => live,
            updates => page.updates,
            json_link => json_link,
            nav => nav(chrome),
            notice => chrome.notice,
        },
    )
}

/// A refused form given back: its values as the person sent them (never
/// a secret), each problem beside the field it names, the others above.
pub fn render_refused(form: Form, problems: &[String], chrome: &Chrome) -> String {
    let page = Page::new(form.title.clone())
        .without_value()
        .block(Block::Messages {
            heading: "Not done".into(),
            lines: problems.to_vec(),
        })
        .link("Back", chrome.here.clone())
        .form(form);
    render_page(&page, &Value::Null, chrome)
}

/// The links at the top of every page, and the sign-in or sign-out.
fn nav(chrome: &Chrome) -> minijinja::Value {
    let c = &chrome.context;
    let token = chrome.token();
    let dashboard = chrome
        .admin
        .then(|| ("Dashboard", format!("/{c}/admin/notebooks/dashboard")));
    let links: Vec<Link> = [
        (
            "Receivers",
            format!("/{c}/admin/notebooks/webhookReceivers"),
        ),
        ("Notebooks", format!("/{c}/content")),
        ("Jobs", format!("/{c}/admin/notebooks/jobs")),
        ("Run a notebook", format!("/{c}/admin/notebooks")),
        ("Notices", format!("/{c}/admin/notebooks/notices")),
    ]
    .into_iter()
    .chain(dashboard)
    .map(|(label, href)| Link {
        label: label.into(),
        href: with_token(&href, token),
    })
    .collect();
    let (signed_in, csrf) = match &chrome.auth {
        PageAuth::Anonymous => (false, None),
        PageAuth::Token(_) => (true, None),
        PageAuth::Session { csrf } => (true, Some(csrf.clone())),
    };
    context! {
        links => if signed_in { links } else { Vec::new() },
        sign_in => (!signed_in).then(|| format!("/{c}/signin")),
        sign_out => csrf.as_ref().map(|_| format!("/{c}/signout")),
        csrf => csrf,
    }
}

fn hidden(name: &str, value: &str) -> Field {
    Field {
        name: name.into(),
        label: String::new(),
        kind: FieldKind::Hidden,
        value: value.into(),
        options: Vec::new(),
        labels: Vec::new(),
        error: None,
    }
}

/// Renders an error page with the status and messages of the JSON answer.
pub fn render_error(
    status: u16,
    code: u16,
    messages: &[String],
    sign_in: Option<&str>,
    chrome: &Chrome,
) -> String {
    render(
        "error.html",
        context! {
            title => format!("Error {code}"),
            status => status,
            code => code,
            messages => messages,
            sign_in => sign_in,
            nav => nav(chrome),
        },
    )
}

fn render(name: &str, ctx: minijinja::Value) -> String {
    match templates().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => html,
        Err(e) => {
            tracing::error!("rendering {name} failed: {e:#}");
            "<!doctype html><title>Error</title><p>The page could not be rendered.</p>".to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::Form;

    #[test]
    fn values_and_form_fields_are_escaped() {
        let page = Page::new("<b>t</b>").form(Form::post("op", "/x").field(
            FieldKind::Text,
            "name",
            "Name",
            "\"><script>",
        ));
        let html = render_page(
            &page,
            &serde_json::json!({"name": "<script>alert(1)</script>"}),
            &Chrome::new("notebooks", PageAuth::Token("a\"b".into()), "/notebooks/x"),
        );
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("\"><script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
        assert!(html.contains("&lt;b&gt;t&lt;&#x2f;b&gt;"));
    }

    #[test]
    fn no_page_reloads_itself_and_a_running_job_offers_a_refresh_link() {
        assert!(!LAYOUT.contains("http-equiv"), "no meta refresh");
        let page = Page::new("Job 1").live("This job is running.", Some("j1".into()));
        let chrome = Chrome::new(
            "notebooks",
            PageAuth::Anonymous,
            "/notebooks/admin/notebooks/jobs/j1",
        );
        let html = render_page(&page, &Value::Null, &chrome);
        assert!(!html.contains("http-equiv"), "{html}");
        assert!(html.contains(r#"data-live-job="j1""#), "{html}");
        assert!(html.contains("<main data-updates>"), "{html}");
        assert!(
            html.contains(
                r#"href="&#x2f;notebooks&#x2f;admin&#x2f;notebooks&#x2f;jobs&#x2f;j1" data-refresh>Refresh</a>"#
            ),
            "{html}"
        );
    }

    #[test]
    fn a_form_that_asks_first_leads_to_its_confirmation() {
        let page =
            Page::new("r").form(Form::post("Delete", "/notebooks/r/delete").confirm("Delete r?"));
        let session = PageAuth::Session { csrf: "c".into() };
        let mut chrome = Chrome::new("notebooks", session, "/notebooks/r");
        let first = render_page(&page, &Value::Null, &chrome);
        assert!(
            first.contains(r#"method="get""#) && first.contains("Delete…"),
            "{first}"
        );
        assert!(
            !first.contains("delete\""),
            "nothing posts at once: {first}"
        );
        assert_eq!(
            first.matches(r#"name="csrf""#).count(),
            1,
            "only sign-out's: no CSRF token in a URL"
        );
        chrome.confirm = Some(0);
        let second = render_page(&page, &Value::Null, &chrome);
        assert!(
            second.contains("Delete r?") && second.contains(">Cancel<"),
            "{second}"
        );
        assert!(
            second.contains(r#"method="post""#) && second.contains(r#"name="csrf""#),
            "{second}"
        );
    }

    #[test]
    fn a_post_form_describes_itself_without_what_was_typed() {
        let form = Form::post("Update", "/x")
            .field(FieldKind::Text, "name", "Name", "old name")
            .field(FieldKind::Hidden, "next", "", "/notebooks/y");
        let described: Form = serde_json::from_str(&describe(&form)).unwrap();
        assert_eq!(described.fields[0].value, "");
        assert_eq!(
            described.fields[1].value, "/notebooks/y",
            "hidden values are the server's"
        );
    }

    #[test]
    fn the_stylesheet_is_inline_exactly_as_its_hash_allows() {
        use base64::Engine as _;
        use sha2::Digest as _;
        let chrome = Chrome::new("notebooks", PageAuth::Anonymous, "/notebooks/x");
        let html = render_page(&Page::new("t"), &Value::Null, &chrome);
        let style = html
            .split_once("<style>")
            .and_then(|(_, rest)| rest.split_once("</style>"))
            .map(|(body, _)| body)
            .unwrap();
        assert_eq!(style, STYLESHEET);
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style));
        assert_eq!(inline_hashes().0, hash);
        assert!(!STYLESHEET.contains("</"), "nothing ends the element early");
        assert!(
            !STYLESHEET.contains("url("),
            "nothing fetched from elsewhere"
        );
    }

    /// WCAG's contrast ratio of two `#rrggbb` colours.
    fn contrast(a: &str, b: &str) -> f64 {
        let luminance = |hex: &str| {
            let channel = |i: usize| {
                let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
                if c <= 0.03928 {
                    c / 12.92
                } else {
                    ((c + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
        };
        let (a, b) = (luminance(a), luminance(b));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// Every text colour of the site against what it sits on is at least
    /// 4.5:1 (AA), in the light palette and in the dark one.
    #[test]
    fn the_site_colours_meet_aa_contrast_in_light_and_dark() {
        let schemes: Vec<&str> = STYLESHEET
            .split(":root {")
            .skip(1)
            .map(|rest| rest.split('}').next().unwrap())
            .collect();
        assert_eq!(schemes.len(), 2, "a light and a dark palette");
        let pairs = [
            (
                "--text",
                &["--bg", "--surface", "--code", "--control", "--rule"][..],
            ),
            ("--muted", &["--bg", "--surface"]),
            ("--link", &["--bg", "--surface"]),
            ("--fail", &["--bg", "--fail-bg"]),
            ("--on-primary", &["--primary", "--primary-hover"]),
            ("--on-danger", &["--danger", "--danger-hover"]),
            ("--ok", &["--ok-bg"]),
            ("--busy", &["--busy-bg"]),
            ("--idle", &["--idle-bg"]),
        ];
        for scheme in schemes {
            let get = |name: &str| {
                scheme
                    .split(';')
                    .filter_map(|d| d.trim().split_once(':'))
                    .find(|(k, _)| k.trim() == name)
                    .map(|(_, v)| v.trim())
                    .unwrap_or_else(|| panic!("{name} in {scheme}"))
            };
            for (text, backgrounds) in pairs {
                for bg in backgrounds {
                    let r = contrast(get(text), get(bg));
                    assert!(r >= 4.5, "{text} on {bg}: {r:.2} in {scheme}");
                }
            }
        }
    }

    #[test]
    fn boxes_are_ticked_as_the_value_says_and_row_buttons_carry_the_token() {
        let form =
            Form::post("Run", "/x").checkboxes("s", "States", &["B", "C"], &["A", "B", "C", "BC"]);
        let row = Form::post("Run again", "/notebooks/j/replay").labelled("Run again: job j");
        let page = Page::new("t").form(form).block(Block::Table {
            heading: String::new(),
            columns: vec!["Actions".into()],
            rows: vec![vec![crate::ui::Cell::form(row)]],
            empty: String::new(),
        });
        let chrome = Chrome::new("notebooks", PageAuth::Token("tk".into()), "/notebooks/x");
        let html = render_page(&page, &Value::Null, &chrome);
        for (value, ticked) in [("A", false), ("B", true), ("C", true), ("BC", false)] {
            let tick = if ticked { " checked" } else { "" };
            let markup = format!(r#"name="s" value="{value}"{tick}>"#);
            assert!(html.contains(&markup), "{markup}: {html}");
        }
        let row = html.split(r#"<form class="inline""#).nth(1).unwrap();
        let row = row.split("</form>").next().unwrap();
        assert!(row.contains(r#"name="token" value="tk""#), "{row}");
        assert!(row.contains(r#"name="_from""#), "{row}");
        assert!(
            row.contains(r#"aria-label="Run again: job j">Run again</button>"#),
            "{row}"
        );
    }

    #[test]
    fn lists_of_objects_become_one_table_each() {
        let s = sections(&serde_json::json!({"webhookReceivers": [{"name": "a"}, {"name": "b"}]}));
        let headings: Vec<_> = s.iter().map(|s| s.heading.as_str()).collect();
        assert_eq!(headings, ["a", "b"]);
    }
}
