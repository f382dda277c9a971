//! The front end (`web/` at build time) embedded in the binary: `GET /` serves `index.html`,
//! `GET /<path>` serves `web/<path>` (e.g. `/style.css`, `/js/app.js`), with its content type,
//! an ETag and `Cache-Control: no-cache` (the browser revalidates and gets 304 when unchanged).
//!
//! Debug builds read the files from `web/` on disk at request time, so front-end edits show
//! without a rebuild; release builds carry them inside the binary.

use super::AppState;
use super::error::AppError;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, Uri, header};
use axum::routing::get;
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/"]
#[allow_missing = true]
struct Assets;

/// `GET /`; every other file is reached through [`fallback`], which the app installs as the
/// router's fallback so that unknown routes of any method stay 404.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(index))
}

async fn index(headers: HeaderMap) -> Result<Response<Body>, AppError> {
    serve("index.html", &headers).ok_or_else(|| {
        AppError::not_found("the front end is not built into this binary (web/index.html is missing); the API is at /api")
    })
}

/// Any request no route matched: an embedded file for `GET`/`HEAD` outside `/api/`, else 404.
pub async fn fallback(
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response<Body>, AppError> {
    let path = uri.path().trim_start_matches('/');
    let is_api = path == "api" || path.starts_with("api/");
    if (method == Method::GET || method == Method::HEAD) && !is_api {
        if let Some(response) = serve(path, &headers) {
            return Ok(response);
        }
        return Err(AppError::not_found(format!("no such file: {}", uri.path())));
    }
    Err(AppError::not_found(format!(
        "no route for {method} {}",
        uri.path()
    )))
}

/// Content type by extension; text types carry `charset=utf-8`.
pub fn content_type(path: &str) -> String {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8".to_owned(),
        "js" | "mjs" => "text/javascript; charset=utf-8".to_owned(),
        "css" => "text/css; charset=utf-8".to_owned(),
        "json" | "map" => "application/json".to_owned(),
        "svg" => "image/svg+xml".to_owned(),
        "txt" | "md" => "text/plain; charset=utf-8".to_owned(),
        _ => mime_guess::from_ext(&ext)
            .first_raw()
            .unwrap_or("application/octet-stream")
            .to_owned(),
    }
}

/// Names of the embedded files (for the page-load benchmark and tests).
pub fn embedded_files() -> Vec<String> {
    Assets::iter().map(|name| name.into_owned()).collect()
}

fn serve(path: &str, headers: &HeaderMap) -> Option<Response<Body>> {
    // rust-embed never resolves `..` outside its folder; refuse such paths outright anyway.
    if path.split('/').any(|part| part == ".." || part.is_empty()) {
        return None;
    }
    let file = Assets::get(path)?;
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    let response = if not_modified {
        builder.status(StatusCode::NOT_MODIFIED).body(Body::empty())
    } else {
        let mime = HeaderValue::from_str(&content_type(path))
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        builder
            .header(header::CONTENT_TYPE, mime)
            .body(Body::from(file.data.into_owned()))
    };
    response.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("js/app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("style.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("favicon.svg"), "image/svg+xml");
        assert_eq!(content_type("a.png"), "image/png");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }

    #[test]
    fn traversal_is_refused() {
        let headers = HeaderMap::new();
        assert!(serve("../Cargo.toml", &headers).is_none());
        assert!(serve("js/../../Cargo.toml", &headers).is_none());
        assert!(serve("", &headers).is_none());
    }
}
