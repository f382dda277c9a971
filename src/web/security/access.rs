//! The [`AccessPolicy`] and the middleware that enforces it ([`with_access`]).
//!
//! On loopback without a token only loopback host names are answered, so a DNS-rebinding page
//! cannot reach the API. With a token every route except [`OPEN_PATHS`] needs it: as
//! `Authorization: Bearer <token>`, as `?token=<token>` (a page load with it sets an HttpOnly
//! SameSite=Strict cookie named after the port and redirects to the same URL without the token)
//! or as that cookie. Tokens are compared in constant time: SHA-256 of both sides, then
//! [`subtle`]. A generated token is 32 random bytes in hex; one given by the user needs at least
//! [`MIN_TOKEN_CHARS`] characters.

use super::{MIN_TOKEN_CHARS, OPEN_PATHS, refusal, with_security_headers};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use cookie::{Cookie, SameSite};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// An access token. Its `Debug` output does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(…)")
    }
}

impl AccessToken {
    /// 32 random bytes from the operating system's generator, as 64 hex digits.
    pub fn generate() -> AccessToken {
        let mut bytes = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut bytes[..]);
        AccessToken(hex::encode(bytes))
    }

    /// A token given by the user: at least [`MIN_TOKEN_CHARS`] characters from
    /// `A–Z a–z 0–9 - . _ ~` (it travels in URLs and cookies unchanged).
    pub fn new(token: &str) -> Result<AccessToken, String> {
        if token.chars().count() < MIN_TOKEN_CHARS {
            return Err(format!(
                "the access token is too short: use at least {MIN_TOKEN_CHARS} characters \
                 (or leave it unset and one is generated)"
            ));
        }
        if let Some(bad) = token
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')))
        {
            return Err(format!(
                "the access token contains {bad:?}: use only letters, digits and - . _ ~"
            ));
        }
        Ok(AccessToken(token.to_owned()))
    }

    /// The token itself (for the URL printed on start).
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison: both sides are hashed first, so neither the content nor the
    /// length of the token leaks through timing.
    pub fn matches(&self, candidate: &str) -> bool {
        let expected = Sha256::digest(self.0.as_bytes());
        let given = Sha256::digest(candidate.as_bytes());
        bool::from(expected.as_slice().ct_eq(given.as_slice()))
    }
}

/// Who may use the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessPolicy {
    /// Bound to a loopback address, no token: only requests whose `Host` is a loopback name or
    /// address are answered (DNS-rebinding protection).
    Loopback,
    /// Every route except [`OPEN_PATHS`] needs the token.
    Token(AccessToken),
    /// No check at all (`--no-auth`).
    Open,
}

/// How a policy was chosen, for the message printed on start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySource {
    /// Loopback address, no token given.
    Loopback,
    /// `--token` / `STRAIN_SEER_TOKEN`.
    GivenToken,
    /// Not loopback and no token given: one was generated.
    GeneratedToken,
    /// `--no-auth` / `STRAIN_SEER_NO_AUTH`.
    NoAuth,
}

impl AccessPolicy {
    /// The policy for a server bound to `ip`: `--no-auth` wins (no check); else a given token is
    /// required (on loopback too: other accounts of a shared machine can reach loopback); else
    /// loopback needs no token; else a token is generated.
    pub fn resolve(
        ip: IpAddr,
        token: Option<&str>,
        no_auth: bool,
    ) -> Result<(AccessPolicy, PolicySource), String> {
        let token = token.map(str::trim).filter(|t| !t.is_empty());
        match (no_auth, token) {
            (true, Some(_)) => Err(
                "--no-auth and --token (STRAIN_SEER_NO_AUTH and STRAIN_SEER_TOKEN) contradict \
                                    each other: give one of them"
                    .to_owned(),
            ),
            (true, None) => Ok((AccessPolicy::Open, PolicySource::NoAuth)),
            (false, Some(token)) => Ok((
                AccessPolicy::Token(AccessToken::new(token)?),
                PolicySource::GivenToken,
            )),
            (false, None) if ip.is_loopback() => {
                Ok((AccessPolicy::Loopback, PolicySource::Loopback))
            }
            (false, None) => Ok((
                AccessPolicy::Token(AccessToken::generate()),
                PolicySource::GeneratedToken,
            )),
        }
    }
}

/// Name of the cookie that carries the token for the server on `port` (cookies are shared by
/// every port of a host, so two servers on one machine must not overwrite each other's).
pub fn cookie_name(port: u16) -> String {
    format!("strain_seer_token_{port}")
}

/// The URL a user opens for a server listening on `addr`: an unspecified address (0.0.0.0, ::)
/// is shown as loopback; with `token`, as `?token=…`.
pub fn open_url(addr: SocketAddr, token: Option<&AccessToken>) -> String {
    let shown = crate::app::local_addr(addr);
    match token {
        Some(token) => format!("http://{shown}/?token={}", token.reveal()),
        None => format!("http://{shown}/"),
    }
}

/// Access flags of `strain-seer serve` (each also an environment variable).
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct AccessArgs {
    /// Access token required from browsers and API clients (at least 16 of A–Z a–z 0–9 - . _ ~).
    /// Without it, a server on a non-loopback address generates one and prints the URL to open.
    #[arg(
        long,
        env = "STRAIN_SEER_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// Serve without any access check, even on a network address. Anyone who can reach the
    /// server can then read and change every project.
    #[arg(long, env = "STRAIN_SEER_NO_AUTH", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue)]
    pub no_auth: bool,
}

impl AccessArgs {
    /// The policy for a server bound to `ip` (see [`AccessPolicy::resolve`]).
    pub fn policy(&self, ip: IpAddr) -> Result<(AccessPolicy, PolicySource), String> {
        AccessPolicy::resolve(ip, self.token.as_deref(), self.no_auth)
    }
}

#[derive(Debug)]
struct Gate {
    policy: AccessPolicy,
    cookie: String,
}

/// Apply `policy` to every route except [`OPEN_PATHS`]; `port` names the token cookie. Refusals
/// are JSON `{"error": …}`: 401 without or with a wrong token, 403 for a non-loopback `Host` on a
/// loopback server. Put this outside [`crate::web::app`] so the token never reaches the request log.
pub fn with_access(router: Router, policy: &AccessPolicy, port: u16) -> Router {
    if *policy == AccessPolicy::Open {
        return router;
    }
    let gate = Arc::new(Gate {
        policy: policy.clone(),
        cookie: cookie_name(port),
    });
    with_security_headers(router.layer(middleware::from_fn_with_state(gate, check_access)))
}

async fn check_access(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    if OPEN_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    match &gate.policy {
        AccessPolicy::Open => next.run(request).await,
        AccessPolicy::Loopback => match request.headers().get(header::HOST).map(|h| h.to_str()) {
            None => next.run(request).await,
            Some(Ok(host)) if is_loopback_host(host) => next.run(request).await,
            Some(host) => {
                let shown = host.unwrap_or("(not text)");
                tracing::warn!(host = shown, "request for a non-loopback host name refused");
                refusal(
                    StatusCode::FORBIDDEN,
                    format!(
                        "this server listens on loopback only and answers only to localhost names, not to Host \
                         {shown:?}; to serve a network start it with --host <address> (an access token is then \
                         required)"
                    ),
                )
            }
        },
        AccessPolicy::Token(token) => check_token(&gate, token, request, next).await,
    }
}

/// `localhost`, `*.localhost`, or a loopback IP, with or without a port.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split_once(']').map_or(rest, |(ip, _)| ip)
    } else {
        match host.rsplit_once(':') {
            Some((name, port))
                if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                name
            }
            _ => host,
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The value of `name` in the query (percent-decoded), and the query without it (re-encoded by
/// `form_urlencoded`).
pub(super) fn take_query_param(query: &str, name: &str) -> (Option<String>, String) {
    let mut found = None;
    let mut kept = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key == name {
            found = Some(value.into_owned());
        } else {
            kept.append_pair(&key, &value);
        }
    }
    (found, kept.finish())
}

/// `path?query` (just `path` for an empty query). Leading slashes are collapsed to one, so that
/// the result used as a `Location` can never be a `//other-host/` URL.
pub(super) fn path_and_query(path: &str, query: &str) -> String {
    let path = format!("/{}", path.trim_start_matches(['/', '\\']));
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The value of the cookie `name` in the request's `Cookie` headers (parsed by the `cookie`
/// crate; malformed pairs are skipped).
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// 401 for `request` (logged with its method, path and which check failed, never the token).
fn unauthorized(request: &Request, message: &str) -> Response {
    let reason = if message == NO_TOKEN {
        "no token"
    } else {
        "wrong token"
    };
    tracing::info!(method = %request.method(), path = request.uri().path(), reason, "access refused (401)");
    let mut response = refusal(StatusCode::UNAUTHORIZED, message.to_owned());
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"strain-seer\""),
    );
    response
}

const NO_TOKEN: &str = "this Strain Seer server requires its access token: open the address with ?token=… that it \
     printed when it started, or send the header Authorization: Bearer <token>";
const WRONG_TOKEN: &str = "wrong access token: use the token this server printed when it started (a restarted \
     server without --token has a new one)";

async fn check_token(
    gate: &Gate,
    token: &AccessToken,
    mut request: Request,
    next: Next,
) -> Response {
    let query = request.uri().query().unwrap_or_default().to_owned();
    let (from_query, rest) = take_query_param(&query, "token");
    if let Some(candidate) = from_query {
        if !token.matches(&candidate) {
            return unauthorized(&request, WRONG_TOKEN);
        }
        let clean = path_and_query(request.uri().path(), &rest);
        let is_page = matches!(*request.method(), Method::GET | Method::HEAD)
            && !(request.uri().path() == "/api" || request.uri().path().starts_with("/api/"));
        if is_page {
            // Set the cookie and send the browser to the same address without the token, so it
            // stays out of the address bar, the history and bookmarks.
            let cookie = Cookie::build((gate.cookie.as_str(), token.reveal()))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Strict)
                .max_age(cookie::time::Duration::days(30))
                .build()
                .to_string();
            return match (
                HeaderValue::from_str(&cookie),
                HeaderValue::from_str(&clean),
            ) {
                (Ok(cookie), Ok(location)) => {
                    tracing::info!(
                        path = request.uri().path(),
                        "token accepted from the address; cookie set"
                    );
                    let mut response = Response::new(Body::empty());
                    *response.status_mut() = StatusCode::SEE_OTHER;
                    let headers = response.headers_mut();
                    headers.insert(header::SET_COOKIE, cookie);
                    headers.insert(header::LOCATION, location);
                    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                    response
                }
                _ => refusal(
                    StatusCode::BAD_REQUEST,
                    "the address cannot be rewritten without its token".into(),
                ),
            };
        }
        // Any other request: accepted, and the token removed so it never reaches the log.
        match clean.parse::<Uri>() {
            Ok(uri) => *request.uri_mut() = uri,
            Err(_) => {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    "the address cannot be read without its token".into(),
                );
            }
        }
        return next.run(request).await;
    }
    if let Some(candidate) = bearer(request.headers()) {
        return if token.matches(candidate) {
            next.run(request).await
        } else {
            unauthorized(&request, WRONG_TOKEN)
        };
    }
    match cookie(request.headers(), &gate.cookie) {
        Some(candidate) if token.matches(&candidate) => next.run(request).await,
        Some(_) => unauthorized(&request, WRONG_TOKEN),
        None => unauthorized(&request, NO_TOKEN),
    }
}
