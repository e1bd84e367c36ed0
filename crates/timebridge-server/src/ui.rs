//! The embedded web UI (`ui/dist`, built by `npm run build`). Every non-API path answers
//! `index.html` (single-page app) with `Cache-Control: no-cache`; hashed files under
//! `/assets/` are cached for a year. When the UI was not built, a short page says how.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use serde_json::json;

use crate::error::error_response;

#[derive(RustEmbed)]
#[folder = "../../ui/dist"]
#[allow_missing = true]
struct Assets;

const NOT_BUILT: &str = "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>timebridge</title></head>
<body style=\"font-family: sans-serif; max-width: 40rem; margin: 3rem auto\">
<h1>timebridge is running</h1>
<p>The web UI was not built into this binary. Build it with
<code>cd ui &amp;&amp; npm ci &amp;&amp; npm run build</code> and rebuild the server, or start
everything with <code>scripts/run serve</code>.</p>
<p>The API is available: see <a href=\"/api/docs\">/api/docs</a>.</p>
</body></html>
";

/// The Content-Security-Policy of every UI response: scripts, styles, images, fonts and
/// API calls only from this origin, no inline script, no plugins, no framing, forms post
/// only here. Inline styles stay allowed (React and the charts set `style` attributes).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Whether `ui/dist/index.html` is embedded.
pub fn is_built() -> bool {
    Assets::get("index.html").is_some()
}

/// The fallback handler for every path no route matched.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "No such API path.",
            json!({ "path": path }),
        );
    }
    if method != Method::GET && method != Method::HEAD {
        return error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Only GET and HEAD are served outside /api.",
            json!({}),
        );
    }
    let file = path.trim_start_matches('/');
    if file.starts_with("assets/") {
        return match Assets::get(file) {
            Some(content) => serve(
                file,
                content.data.into_owned(),
                "public, max-age=31536000, immutable",
            ),
            None => (StatusCode::NOT_FOUND, "Not found").into_response(),
        };
    }
    if !file.is_empty()
        && file != "index.html"
        && let Some(content) = Assets::get(file)
    {
        return serve(file, content.data.into_owned(), "no-cache");
    }
    match Assets::get("index.html") {
        Some(index) => serve("index.html", index.data.into_owned(), "no-cache"),
        None => {
            let mut res = (StatusCode::OK, axum::response::Html(NOT_BUILT)).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            res.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            );
            res
        }
    }
}

fn serve(name: &str, bytes: Vec<u8>, cache_control: &'static str) -> Response {
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    let mut res = Response::new(Body::from(bytes));
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    res
}
