//! The headers every answer carries against the browser's own dangers:
//! no content sniffing, no framing (clickjacking), no referrer beyond this
//! site, and on pages a `Content-Security-Policy` that allows only the
//! layout's own style and script (by hash), images from this site or
//! inline, the page's own event stream, and nothing else: no script a notebook's output could bring,
//! no frame, no base URL, no form posted elsewhere.

use axum::extract::Request;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The policy of pages.
fn policy() -> &'static HeaderValue {
    static POLICY: std::sync::OnceLock<HeaderValue> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        let (style, script) = crate::ui::inline_hashes();
        let text = format!(
            "default-src 'none'; style-src 'sha256-{style}'; script-src 'sha256-{script}'; \
             img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        );
        HeaderValue::from_str(&text)
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
    })
}

/// Adds the headers to every answer, and the policy to pages.
pub async fn secure(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let is_page = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if is_page {
        headers.insert(CONTENT_SECURITY_POLICY, policy().clone());
        // The same address answers a page or its event stream.
        headers.insert(VARY, HeaderValue::from_static("Accept"));
    }
    response
}
