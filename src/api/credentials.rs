//! Where a request's credentials are: the bearer headers and the pages'
//! session cookie, read from the headers alone (so that the format layer
//! and the caller extractor can both look without depending on each other).

use axum::http::HeaderMap;

/// The cookie that holds a session of the pages.
pub const SESSION_COOKIE: &str = "hookbook_session";

/// A bearer token in `X-Esri-Authorization` or `Authorization`.
pub fn header_token(headers: &HeaderMap) -> Option<&str> {
    ["x-esri-authorization", "authorization"]
        .iter()
        .find_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?.trim();
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
}

/// The session token in the request's cookies, if any.
pub fn session_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE && !value.is_empty()).then_some(value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            "a=1; hookbook_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(session_of(&headers), Some("abc"));
        headers.insert(
            axum::http::header::COOKIE,
            "hookbook_session=".parse().unwrap(),
        );
        assert_eq!(session_of(&headers), None);
        assert_eq!(session_of(&HeaderMap::new()), None);
    }
}
