//! Who may get in, and what every answer tells the browser.
//!
//! Two layers:
//!
//! - [`hardened`] (always on, part of [`super::app`]): security headers on every response
//!   (Content-Security-Policy without inline script, `nosniff`, `no-referrer`, framing refused)
//!   and refusal (403) of cross-site requests that change data: a `POST`/`PATCH`/`DELETE`/… whose
//!   `Origin` does not name this server (its `Host`, or the `X-Forwarded-Host` a reverse proxy
//!   sets), or that the browser marks `Sec-Fetch-Site: cross-site`.
//! - [`with_access`] (added by `strain-seer serve`): the [`AccessPolicy`]. On loopback without a
//!   token only loopback host names are answered (a DNS-rebinding page cannot reach the API);
//!   with a token every route except `/health` and `/_stcore/health` needs it, as
//!   `Authorization: Bearer <token>`, as `?token=<token>` (a page load with it sets an HttpOnly
//!   SameSite=Strict cookie and redirects to the same URL without the token) or as that cookie.
//!   Tokens are compared in constant time (SHA-256 of both sides, then [`subtle`]).

use axum::Router;
use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower_http::set_header::SetResponseHeaderLayer;

mod access;

pub use access::{
    AccessArgs, AccessPolicy, AccessToken, PolicySource, cookie_name, is_loopback_host, open_url,
    with_access,
};

/// The Content-Security-Policy of every response: scripts and styles only from this server's own
/// files (no inline script, no `eval`), images also from `data:` and `blob:` URLs (thumbnails,
/// plots), media also from `blob:` URLs (the film dialog previews the user's local film before
/// it is uploaded), no framing, no `<base>`, forms only to this server.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; \
     style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Paths answered without any check: liveness probes of containers and load balancers.
pub const OPEN_PATHS: [&str; 2] = ["/health", "/_stcore/health"];

/// Shortest token accepted from `--token` / `STRAIN_SEER_TOKEN`.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The headers [`hardened`] puts on every response (unless the handler set its own value).
pub fn security_headers() -> [(HeaderName, HeaderValue); 6] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ]
}

/// [`security_headers`] on every response of `router` that does not set its own value: one
/// tower-http `SetResponseHeaderLayer` each.
pub fn with_security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    security_headers()
        .into_iter()
        .fold(router, |router, (name, value)| {
            router.layer(SetResponseHeaderLayer::if_not_present(name, value))
        })
}

/// `{"error": message}` with a status (the security headers come from the layers).
fn refusal(status: StatusCode, message: String) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

/// Security headers on every response and 403 for cross-site requests that change data.
pub fn hardened<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    with_security_headers(router.layer(middleware::from_fn(harden)))
}

/// The middleware of [`hardened`] (used directly by [`super::app`]).
pub async fn harden(request: Request, next: Next) -> Response {
    if let Some(reason) = cross_site(request.method(), request.headers(), request.uri()) {
        tracing::warn!(method = %request.method(), path = request.uri().path(), %reason, "cross-site request refused");
        let response = refusal(
            StatusCode::FORBIDDEN,
            format!(
                "cross-site request refused: {} {} changes data and must come from this server's own pages ({reason})",
                request.method(),
                request.uri().path()
            ),
        );
        // The body (an upload, say) may still be on its way: read it so the 403 arrives.
        return super::limits::refuse_unread(request.into_body(), response).await;
    }
    next.run(request).await
}

/// Why a request that changes data looks cross-site, if it does. Safe methods never change data
/// and pass; requests without `Origin` (curl, scripts, the CLI) pass.
pub fn cross_site(method: &Method, headers: &HeaderMap, uri: &Uri) -> Option<String> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|site| site.eq_ignore_ascii_case("cross-site")) {
        return Some("the browser marked it Sec-Fetch-Site: cross-site".to_owned());
    }
    let origin = headers.get(header::ORIGIN)?;
    let Ok(origin) = origin.to_str() else {
        return Some("its Origin header is not text".to_owned());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()));
    let Some(host) = host else {
        return Some(format!(
            "Origin {origin} but no Host header to compare it with"
        ));
    };
    let Some((scheme, authority)) = origin.split_once("://") else {
        return Some(format!("Origin {origin:?} is not a web origin"));
    };
    let origin_authority = normalize_authority(scheme, authority);
    // A reverse proxy may pass the public host name in X-Forwarded-Host. A cross-site page cannot
    // add that header to a request (it is not CORS-safelisted, and this server answers no
    // preflight), so it is as trustworthy as Host for this check.
    let forwarded = headers
        .get("x-forwarded-host")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next());
    let matches = |candidate: &str| normalize_authority(scheme, candidate) == origin_authority;
    if matches(&host) || forwarded.is_some_and(matches) {
        None
    } else {
        Some(format!("Origin {origin} does not match Host {host}"))
    }
}

/// `Example.org:80` (http) → `example.org`: lower case, default port dropped, no trailing slash.
fn normalize_authority(scheme: &str, authority: &str) -> String {
    let authority = authority.trim().trim_end_matches('/').to_ascii_lowercase();
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else {
        ":80"
    };
    match authority.strip_suffix(default_port) {
        Some(stripped) => stripped.to_owned(),
        None => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::access::{path_and_query, take_query_param};
    use super::*;
    use std::net::{IpAddr, SocketAddr};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_str(value) {
                map.append(HeaderName::from_static(name), value);
            }
        }
        map
    }

    #[test]
    fn same_origin_writes_pass_and_cross_site_ones_do_not() {
        let uri = Uri::from_static("/api/projects");
        let same = headers(&[
            ("host", "127.0.0.1:8501"),
            ("origin", "http://127.0.0.1:8501"),
        ]);
        assert_eq!(cross_site(&Method::POST, &same, &uri), None);
        let default_port = headers(&[("host", "Lab.Example:80"), ("origin", "http://lab.example")]);
        assert_eq!(cross_site(&Method::PATCH, &default_port, &uri), None);
        let other = headers(&[
            ("host", "127.0.0.1:8501"),
            ("origin", "http://evil.example"),
        ]);
        assert!(
            cross_site(&Method::POST, &other, &uri).is_some_and(|r| r.contains("evil.example"))
        );
        let other_port = headers(&[
            ("host", "127.0.0.1:8501"),
            ("origin", "http://127.0.0.1:9999"),
        ]);
        assert!(cross_site(&Method::DELETE, &other_port, &uri).is_some());
        let proxied = headers(&[
            ("host", "127.0.0.1:8501"),
            ("x-forwarded-host", "lab.example"),
            ("origin", "https://lab.example"),
        ]);
        assert_eq!(cross_site(&Method::POST, &proxied, &uri), None);
        let null = headers(&[("host", "127.0.0.1:8501"), ("origin", "null")]);
        assert!(cross_site(&Method::POST, &null, &uri).is_some());
        let marked = headers(&[("host", "127.0.0.1:8501"), ("sec-fetch-site", "cross-site")]);
        assert!(cross_site(&Method::POST, &marked, &uri).is_some());
        // Reads and clients without Origin pass.
        assert_eq!(cross_site(&Method::GET, &other, &uri), None);
        assert_eq!(
            cross_site(&Method::POST, &headers(&[("host", "x")]), &uri),
            None
        );
    }

    #[test]
    fn loopback_host_names() {
        for host in [
            "localhost",
            "localhost:8501",
            "LOCALHOST.",
            "app.localhost:1",
            "127.0.0.1:8501",
            "127.1.2.3",
            "[::1]:8501",
            "::1",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8501",
            "10.0.0.2:8501",
            "[::2]:80",
            "localhost.evil.example",
            "0.0.0.0:8501",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn tokens_compare_and_validate() {
        let token = AccessToken::generate();
        assert_eq!(token.reveal().len(), 64);
        assert!(token.matches(token.reveal()));
        assert!(!token.matches(""));
        assert!(!token.matches(&token.reveal()[1..]));
        assert_ne!(AccessToken::generate(), token);
        assert!(AccessToken::new("short").is_err());
        assert!(AccessToken::new("has a space in it ok").is_err());
        assert!(AccessToken::new("abcdefghijklmnop").is_ok());
        assert_eq!(format!("{token:?}"), "AccessToken(…)");
    }

    #[test]
    fn policies() {
        let lo = IpAddr::from([127, 0, 0, 1]);
        let any = IpAddr::from([0, 0, 0, 0]);
        assert_eq!(
            AccessPolicy::resolve(lo, None, false).map(|p| p.1),
            Ok(PolicySource::Loopback)
        );
        assert_eq!(
            AccessPolicy::resolve(any, None, false).map(|p| p.1),
            Ok(PolicySource::GeneratedToken)
        );
        assert_eq!(
            AccessPolicy::resolve(any, Some("  "), false).map(|p| p.1),
            Ok(PolicySource::GeneratedToken)
        );
        assert_eq!(
            AccessPolicy::resolve(lo, Some("0123456789abcdef"), false).map(|p| p.1),
            Ok(PolicySource::GivenToken)
        );
        assert_eq!(
            AccessPolicy::resolve(any, None, true).map(|p| p.0),
            Ok(AccessPolicy::Open)
        );
        assert!(AccessPolicy::resolve(any, Some("0123456789abcdef"), true).is_err());
    }

    #[test]
    fn query_tokens_are_taken_out() {
        assert_eq!(
            take_query_param("token=abc", "token"),
            (Some("abc".into()), String::new())
        );
        assert_eq!(
            take_query_param("a=1&token=abc&b=2", "token"),
            (Some("abc".into()), "a=1&b=2".into())
        );
        assert_eq!(take_query_param("a=1", "token"), (None, "a=1".into()));
        assert_eq!(path_and_query("/x", ""), "/x");
        assert_eq!(
            path_and_query("//evil.example/", "a=1"),
            "/evil.example/?a=1"
        );
        assert_eq!(path_and_query("/\\evil.example", ""), "/evil.example");
    }

    #[test]
    fn urls_to_open() {
        let token =
            AccessToken::new("abcdefghijklmnop").unwrap_or_else(|_| AccessToken::generate());
        assert_eq!(
            open_url(SocketAddr::from(([0, 0, 0, 0], 8501)), Some(&token)),
            "http://127.0.0.1:8501/?token=abcdefghijklmnop"
        );
        assert_eq!(
            open_url(SocketAddr::from(([10, 1, 2, 3], 80)), None),
            "http://10.1.2.3:80/"
        );
    }
}
