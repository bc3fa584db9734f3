//! Post, redirect, get for the pages' forms: a form posted from a page
//! (`f=html`) that succeeds is answered by a 303 to the resource it made or
//! changed, with a one-time notice in a short-lived cookie; one that is
//! refused comes back as the form, with the person's values (never a
//! secret) and the problem beside the field it names, at its real status.

use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ErrorAnswer;
use crate::ui;

/// The cookie that carries a notice to the next page, which clears it.
pub(super) const NOTICE_COOKIE: &str = "hookbook_notice";
/// A notice not shown within this many seconds is dropped.
const NOTICE_SECONDS: u32 = 120;
/// Notices longer than this are cut (a cookie is small).
const MAX_NOTICE_CHARS: usize = 300;
/// A `_form` description longer than this is ignored.
const MAX_DESCRIPTION_BYTES: usize = 16 * 1024;
/// The fields the format layer and the caller's check read, never a form's.
const CARRIED: [&str; 5] = ["f", "csrf", "token", ui::FROM_FIELD, ui::FORM_FIELD];

/// Where a successful page POST leads, and what the next page says once.
/// The notice is shown to the person who made the change and must never
/// hold a secret.
#[derive(Debug, Clone)]
pub struct Then {
    pub location: String,
    pub notice: String,
}

/// A form posted from a page, kept for its answer.
#[derive(Debug, Clone)]
pub struct Posted {
    /// The page the form was on (`_from`), a path of this site.
    pub from: Option<String>,
    /// The form as the page described it (`_form`).
    form: Option<ui::Form>,
    /// The fields the person sent, in order.
    values: Vec<(String, String)>,
    /// The path the form was posted to.
    action: String,
}

impl Posted {
    /// `body` is the form's fields as the browser sent them, in order.
    pub fn read<'a>(
        body: impl Iterator<Item = (&'a str, &'a str)>,
        context: &str,
        action: &str,
    ) -> Self {
        let body: Vec<(&str, &str)> = body.collect();
        let field = |name: &str| body.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let from = field(ui::FROM_FIELD).and_then(|from| own_path(context, from));
        let form = field(ui::FORM_FIELD)
            .filter(|d| d.len() <= MAX_DESCRIPTION_BYTES)
            .and_then(|d| serde_json::from_str::<ui::Form>(d).ok());
        let values = body
            .iter()
            .filter(|(name, _)| !CARRIED.contains(name))
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Self {
            from,
            form,
            values,
            action: action.to_string(),
        }
    }

    /// Where a successful form leads when its operation names no place:
    /// back to the page it was on, saying what was done.
    pub fn back(&self) -> Option<Then> {
        let from = self.from.clone()?;
        let notice = match &self.form {
            Some(form) => format!("{}: done.", form.title),
            None => "Done.".to_string(),
        };
        Some(Then {
            location: from,
            notice,
        })
    }

    /// The form as it was sent, each problem beside its field; `None` when
    /// nothing of the form is known.
    pub fn refused(&self, failure: &ErrorAnswer) -> Option<(ui::Form, Vec<String>)> {
        let mut form = match &self.form {
            Some(form) => form.clone(),
            None if self.values.is_empty() => return None,
            None => self.values.iter().fold(
                ui::Form::post("Try again", self.action.clone()),
                |form, (name, value)| {
                    let kind = if value.contains('\n') {
                        ui::FieldKind::Textarea
                    } else {
                        ui::FieldKind::Text
                    };
                    form.field(kind, name, name, "")
                },
            ),
        };
        form.action = self.action.clone();
        form.method = "post";
        form.confirm = None;
        let mut placed = false;
        for field in &mut form.fields {
            if field.is_secret() {
                field.value.clear();
            } else if field.kind == ui::FieldKind::Checkboxes {
                // The boxes as they were left: those ticked were sent.
                let ticked: Vec<&str> = self
                    .values
                    .iter()
                    .filter(|(n, _)| *n == field.name)
                    .map(|(_, v)| v.as_str())
                    .collect();
                field.value = ticked.join(",");
            } else if let Some((_, value)) =
                self.values.iter().rev().find(|(n, _)| *n == field.name)
            {
                field.value.clone_from(value);
            }
            field.error = match &failure.field {
                Some((name, problem))
                    if *name == field.name && field.kind != ui::FieldKind::Hidden =>
                {
                    placed = true;
                    Some(problem.clone())
                }
                _ => None,
            };
        }
        let mut problems = Vec::new();
        if placed {
            problems.push("Check the field marked below.".to_string());
        } else {
            problems.push(failure.message.clone());
        }
        problems.extend(failure.details.iter().cloned());
        Some((form, problems))
    }
}

/// `path` when it is a path of this site (under the context), else `None`:
/// a form never sends the browser elsewhere.
pub fn own_path(context: &str, path: &str) -> Option<String> {
    let root = format!("/{context}");
    let inside = path == root
        || path.starts_with(&format!("{root}/"))
        || path.starts_with(&format!("{root}?"));
    (inside && !path.starts_with("//") && !path.contains(['\\', '\r', '\n', '#']))
        .then(|| path.to_string())
}

/// The page's own path and query, without what only this request carries
/// (a token, `f`, `confirm`): where its forms come from.
pub fn here(path: &str, parts: &Parts) -> String {
    let kept: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .filter(|(k, _)| !matches!(k.as_str(), "token" | "f" | "confirm" | "csrf"))
                .collect()
        })
        .unwrap_or_default();
    if kept.is_empty() {
        return path.to_string();
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    format!("{path}?{query}")
}

/// Whether a browser asks (it accepts HTML): a request without `f` then
/// gets pages, errors included.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

/// The notice a previous answer left for this page.
pub fn notice_of(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == NOTICE_COOKIE && !value.is_empty()).then_some(value)
        })?;
    let text: String = form_urlencoded::parse(format!("n={value}").as_bytes())
        .map(|(_, v)| v.into_owned())
        .next()?;
    let text: String = text.chars().take(MAX_NOTICE_CHARS).collect();
    (!text.trim().is_empty()).then_some(text)
}

fn notice_cookie(context: &str, secure: bool, value: &str, max_age: u32) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{NOTICE_COOKIE}={value}; Path=/{context}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .ok()
}

/// Clears the notice once a page has shown it.
pub fn clear_notice(response: &mut Response, context: &str, secure: bool) {
    if let Some(cookie) = notice_cookie(context, secure, "", 0) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
}

/// A 303 to where the operation leads, leaving its notice for that page.
pub fn see_other(then: &Then, context: &str, secure: bool) -> Response {
    let Ok(location) = HeaderValue::from_str(&then.location) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut response = (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response();
    let text: String = then.notice.chars().take(MAX_NOTICE_CHARS).collect();
    let encoded: String = form_urlencoded::byte_serialize(text.as_bytes()).collect();
    if let Some(cookie) = notice_cookie(context, secure, &encoded, NOTICE_SECONDS) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(field: Option<&'static str>) -> ErrorAnswer {
        ErrorAnswer {
            status: StatusCode::BAD_REQUEST,
            code: 400,
            message: "Invalid parameter".into(),
            details: vec![],
            retry_after: None,
            field: field.map(|f| (f, "must be 32 characters".to_string())),
        }
    }

    #[test]
    fn a_refused_form_keeps_values_but_never_a_secret() {
        let described = serde_json::to_string(
            &ui::Form::post("Create", "/elsewhere")
                .field(ui::FieldKind::Text, "name", "Name", "")
                .field(ui::FieldKind::Password, "secret", "Secret", "")
                .field(ui::FieldKind::Text, "apiToken", "Token", ""),
        )
        .unwrap();
        let body = [
            ("f", "html"),
            ("csrf", "c"),
            ("_from", "/notebooks/admin/x"),
            ("_form", described.as_str()),
            ("name", "kept"),
            ("secret", "s3cret"),
            ("apiToken", "t0ken"),
        ];
        let posted = Posted::read(body.into_iter(), "notebooks", "/notebooks/admin/x/create");
        assert_eq!(posted.from.as_deref(), Some("/notebooks/admin/x"));
        let (form, problems) = posted.refused(&failure(Some("secret"))).unwrap();
        assert_eq!(
            form.action, "/notebooks/admin/x/create",
            "posted where it was posted"
        );
        let value = |n: &str| form.fields.iter().find(|f| f.name == n).unwrap();
        assert_eq!(value("name").value, "kept");
        assert_eq!(value("secret").value, "");
        assert_eq!(value("apiToken").value, "");
        assert_eq!(
            value("secret").error.as_deref(),
            Some("must be 32 characters")
        );
        assert_eq!(problems, ["Check the field marked below."]);
    }

    #[test]
    fn a_garbled_form_description_still_gives_the_values_back() {
        for garbage in ["", "{", "[1,2]", r#"{"title":1}"#, "\u{0}"] {
            let body = [("_form", garbage), ("name", "x\ny"), ("password", "p")];
            let posted = Posted::read(body.into_iter(), "notebooks", "/notebooks/a");
            let (form, problems) = posted.refused(&failure(Some("other"))).unwrap();
            assert_eq!(form.fields.len(), 2, "{garbage}");
            assert!(form
                .fields
                .iter()
                .all(|f| f.name != "password" || f.value.is_empty()));
            assert_eq!(problems, ["Invalid parameter"]);
        }
        let nothing = Posted::read(std::iter::empty(), "notebooks", "/notebooks/a");
        assert!(nothing.refused(&failure(None)).is_none());
        assert!(
            nothing.back().is_none(),
            "no page to go back to: the answer is shown"
        );
    }

    #[test]
    fn a_form_never_leads_outside_the_site() {
        assert_eq!(
            own_path("notebooks", "/notebooks/admin/x?y=1").as_deref(),
            Some("/notebooks/admin/x?y=1")
        );
        for outside in [
            "//evil.example/notebooks/",
            "/notebooksx",
            "https://evil/",
            "/notebooks/\\x",
            "",
        ] {
            assert_eq!(own_path("notebooks", outside), None, "{outside}");
        }
    }

    #[test]
    fn a_notice_survives_its_cookie_and_any_cookie_text_is_harmless() {
        let then = Then {
            location: "/notebooks/x".into(),
            notice: "Created «a; b=c» 100%".into(),
        };
        let response = see_other(&then, "notebooks", false);
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let set = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
        assert!(set.contains("HttpOnly; SameSite=Lax"), "{set}");
        let mut headers = HeaderMap::new();
        let pair = set.split(';').next().unwrap().to_string();
        headers.insert(COOKIE, HeaderValue::from_str(&pair).unwrap());
        assert_eq!(
            notice_of(&headers).as_deref(),
            Some("Created «a; b=c» 100%")
        );
        headers.insert(COOKIE, HeaderValue::from_static("hookbook_notice=%ZZ%"));
        assert!(notice_of(&headers).is_some());
    }
}
