//! Who may get in: the access token (bearer, `?token=` then cookie), the loopback host check,
//! cross-site refusals and the security headers, over real HTTP; and the real binary bound to
//! 0.0.0.0, which generates a token and prints the URL to open.

#![allow(clippy::unwrap_used)]

use crate::api_support::{png, status_json};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use strain_seer::web::security::{AccessPolicy, AccessToken, CONTENT_SECURITY_POLICY, with_access};
use strain_seer::web::{ConnLimits, Limits, ServeConfig, ServeError, Server, app};

const TOKEN: &str = "correct-horse-battery-staple-42";

/// A server on 127.0.0.1:0 with `policy`, built exactly as `strain-seer serve` builds it.
struct Guarded {
    addr: SocketAddr,
    base: String,
    client: Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), ServeError>>>,
}

impl Guarded {
    fn start(data_dir: &Path, policy: AccessPolicy) -> Guarded {
        let config = ServeConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_owned(),
            limits: Limits::default(),
            conn: ConnLimits::default(),
        };
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let server = Server::bind(&config).await?;
                let addr = server.local_addr();
                let _ = addr_tx.send(addr);
                let router = with_access(app(server.state().clone()), &policy, addr.port());
                server
                    .run_with(router, async move {
                        let _ = stop_rx.await;
                    })
                    .await
            })
        });
        let addr = addr_rx.recv().unwrap();
        Guarded {
            addr,
            base: format!("http://{addr}"),
            client: Client::builder()
                // Shorter than the server's keep-alive timeout (5 s): a pooled connection is never reused
                // just as the server closes it.
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path))
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(self.url(path))
    }

    fn cookie_name(&self) -> String {
        format!("strain_seer_token_{}", self.addr.port())
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn token_policy() -> AccessPolicy {
    AccessPolicy::Token(AccessToken::new(TOKEN).unwrap())
}

fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn assert_security_headers(response: &Response) {
    assert_eq!(
        header(response, "content-security-policy"),
        CONTENT_SECURITY_POLICY
    );
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
    assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    assert_eq!(header(response, "x-content-type-options"), "nosniff");
    assert_eq!(header(response, "referrer-policy"), "no-referrer");
    assert_eq!(header(response, "x-frame-options"), "DENY");
}

/// A JSON error with this status whose message contains `needle`, with the security headers.
fn expect_refusal(response: Response, status: u16, needle: &str) {
    assert_security_headers(&response);
    assert_eq!(header(&response, "content-type"), "application/json");
    let (got, body) = status_json(response);
    assert_eq!(got, status, "{body}");
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains(needle),
        "{message:?} does not contain {needle:?}"
    );
}

fn bearer(request: RequestBuilder, token: &str) -> RequestBuilder {
    request.header("authorization", format!("Bearer {token}"))
}

#[test]
fn without_the_token_everything_but_health_is_401() {
    let dir = tempfile::tempdir().unwrap();
    let server = Guarded::start(dir.path(), token_policy());
    for path in [
        "/",
        "/index.html",
        "/js/app.js",
        "/css/base.css",
        "/api/projects",
        "/api/projects/1",
        "/api/projects/1/images/1/file",
        "/api/projects/1/export/strains.csv",
        "/nope",
    ] {
        let response = server.get(path).send().unwrap();
        assert_eq!(
            header(&response, "www-authenticate"),
            "Bearer realm=\"strain-seer\""
        );
        expect_refusal(response, 401, "requires its access token");
    }
    let response = server
        .post("/api/projects")
        .json(&json!({ "name": "x" }))
        .send()
        .unwrap();
    expect_refusal(response, 401, "requires its access token");
    // The probes stay open.
    let response = server.get("/health").send().unwrap();
    assert_security_headers(&response);
    assert_eq!(status_json(response), (200, json!({ "status": "ok" })));
    let response = server.get("/_stcore/health").send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().unwrap(), "ok");
}

#[test]
fn bearer_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let server = Guarded::start(dir.path(), token_policy());
    let response = bearer(server.get("/api/projects"), TOKEN).send().unwrap();
    assert_security_headers(&response);
    assert_eq!(status_json(response), (200, json!([])));
    let response = bearer(server.post("/api/projects"), TOKEN)
        .json(&json!({ "name": "Mine" }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    let page = bearer(server.get("/"), TOKEN).send().unwrap();
    assert_eq!(page.status(), 200);
    assert_security_headers(&page);
    assert!(header(&page, "content-type").starts_with("text/html"));
    // Wrong, truncated, empty or differently cased tokens are refused.
    for wrong in [
        "nope",
        &TOKEN[1..],
        "",
        &TOKEN.to_uppercase(),
        &format!("{TOKEN}x"),
    ] {
        let response = bearer(server.get("/api/projects"), wrong).send().unwrap();
        let expected = if wrong.is_empty() {
            "access token"
        } else {
            "wrong access token"
        };
        expect_refusal(response, 401, expected);
    }
    let response = server
        .get("/api/projects")
        .header("authorization", format!("Basic {TOKEN}"))
        .send()
        .unwrap();
    expect_refusal(response, 401, "requires its access token");
}

#[test]
fn a_token_in_the_url_sets_a_cookie_and_redirects_to_the_clean_url() {
    let dir = tempfile::tempdir().unwrap();
    let server = Guarded::start(dir.path(), token_policy());
    let response = server.get(&format!("/?token={TOKEN}")).send().unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "location"), "/");
    assert_eq!(header(&response, "cache-control"), "no-store");
    assert_security_headers(&response);
    let cookie = header(&response, "set-cookie");
    let parsed = cookie::Cookie::parse(cookie.clone()).unwrap();
    assert_eq!(
        (parsed.name(), parsed.value()),
        (server.cookie_name().as_str(), TOKEN)
    );
    assert_eq!(parsed.path(), Some("/"));
    assert_eq!(parsed.http_only(), Some(true));
    assert_eq!(parsed.same_site(), Some(cookie::SameSite::Strict));
    assert_eq!(
        parsed.max_age(),
        Some(cookie::time::Duration::seconds(2_592_000))
    );
    // Other query parameters are kept.
    let response = server
        .get(&format!("/index.html?a=1&token={TOKEN}&b=2"))
        .send()
        .unwrap();
    assert_eq!(
        (response.status().as_u16(), header(&response, "location")),
        (303, "/index.html?a=1&b=2".to_owned())
    );
    // The cookie then opens pages and the API.
    let with_cookie = |request: RequestBuilder, value: &str| {
        request.header(
            "cookie",
            format!("theme=dark; {}={value}", server.cookie_name()),
        )
    };
    let page = with_cookie(server.get("/"), TOKEN).send().unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .unwrap()
            .contains("<script type=\"module\" src=\"js/app.js\"></script>")
    );
    let response = with_cookie(server.post("/api/projects"), TOKEN)
        .header("origin", server.base.clone())
        .json(&json!({ "name": "From the browser" }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    let (status, list) = status_json(
        with_cookie(server.get("/api/projects"), TOKEN)
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, list.as_array().map_or(0, Vec::len)),
        (200, 1),
        "{list}"
    );
    // A stale cookie (a server restarted with a new token) or another port's cookie does not.
    expect_refusal(
        with_cookie(server.get("/api/projects"), "stale-token-value")
            .send()
            .unwrap(),
        401,
        "wrong access token",
    );
    let other_port = server
        .get("/api/projects")
        .header("cookie", format!("strain_seer_token_1={TOKEN}"))
        .send()
        .unwrap();
    expect_refusal(other_port, 401, "requires its access token");
    // A wrong token in the URL sets nothing.
    let response = server.get("/?token=wrong").send().unwrap();
    assert_eq!(header(&response, "set-cookie"), "");
    expect_refusal(response, 401, "wrong access token");
    // On the API the query token is accepted as it is (no redirect for scripts).
    let (status, _) = status_json(
        server
            .get(&format!("/api/projects?token={TOKEN}"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
}

#[test]
fn cross_site_requests_that_change_data_are_403() {
    let dir = tempfile::tempdir().unwrap();
    let server = Guarded::start(dir.path(), token_policy());
    let create = |origin: Option<&str>, fetch_site: Option<&str>| {
        let mut request = bearer(server.post("/api/projects"), TOKEN).json(&json!({ "name": "p" }));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        request.send().unwrap()
    };
    let own = server.base.clone();
    assert_eq!(create(Some(&own), Some("same-origin")).status(), 201);
    assert_eq!(create(None, None).status(), 201);
    expect_refusal(
        create(Some("http://evil.example"), None),
        403,
        "cross-site request refused: POST /api/projects changes data",
    );
    expect_refusal(
        create(Some("http://evil.example"), None),
        403,
        &format!(
            "Origin http://evil.example does not match Host {}",
            server.addr
        ),
    );
    expect_refusal(
        create(Some("null"), None),
        403,
        "cross-site request refused",
    );
    expect_refusal(
        create(Some("http://127.0.0.1:1"), None),
        403,
        "does not match Host",
    );
    expect_refusal(
        create(Some(&own), Some("cross-site")),
        403,
        "Sec-Fetch-Site: cross-site",
    );
    // The same for PATCH, DELETE and uploads; and also on an open (loopback) server.
    let open_dir = tempfile::tempdir().unwrap();
    let open = Guarded::start(open_dir.path(), AccessPolicy::Loopback);
    let project: Value = open
        .post("/api/projects")
        .json(&json!({ "name": "p" }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = project["id"].as_i64().unwrap();
    let evil = "http://evil.example";
    let patch = open
        .client
        .patch(open.url(&format!("/api/projects/{id}")))
        .header("origin", evil)
        .json(&json!({ "name": "pwned" }));
    expect_refusal(patch.send().unwrap(), 403, "PATCH");
    let delete = open
        .client
        .delete(open.url(&format!("/api/projects/{id}")))
        .header("origin", evil);
    expect_refusal(delete.send().unwrap(), 403, "DELETE");
    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(png(8, 8)).file_name("a.png"),
    );
    let upload = open
        .post(&format!("/api/projects/{id}/images"))
        .header("origin", evil)
        .multipart(form);
    expect_refusal(upload.send().unwrap(), 403, "POST");
    // Reading is not refused (the browser keeps the answer from the other site anyway).
    let (status, body) = status_json(
        open.get(&format!("/api/projects/{id}"))
            .header("origin", evil)
            .send()
            .unwrap(),
    );
    assert_eq!((status, body["name"].as_str()), (200, Some("p")));
    // Nothing changed.
    let (_, body) = status_json(open.get(&format!("/api/projects/{id}")).send().unwrap());
    assert_eq!(
        (body["name"].as_str(), body["image_count"].as_u64()),
        (Some("p"), Some(0))
    );
}

#[test]
fn a_loopback_server_answers_only_loopback_host_names() {
    let dir = tempfile::tempdir().unwrap();
    let server = Guarded::start(dir.path(), AccessPolicy::Loopback);
    let port = server.addr.port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "localhost".to_owned(),
        format!("[::1]:{port}"),
    ] {
        let response = server
            .get("/api/projects")
            .header("host", host.clone())
            .send()
            .unwrap();
        assert_eq!(response.status(), 200, "{host}");
    }
    // A DNS-rebinding page: evil.example resolved to 127.0.0.1.
    for host in [
        format!("evil.example:{port}"),
        "10.0.0.1".to_owned(),
        "localhost.evil.example".to_owned(),
    ] {
        let response = server
            .get("/api/projects")
            .header("host", host.clone())
            .send()
            .unwrap();
        expect_refusal(response, 403, "answers only to localhost names");
        let response = server.get("/").header("host", host).send().unwrap();
        expect_refusal(response, 403, "--host");
    }
    let response = server
        .get("/health")
        .header("host", "evil.example")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn security_headers_are_on_every_kind_of_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = Guarded::start(dir.path(), token_policy());
    let authed = |path: &str| bearer(server.get(path), TOKEN).send().unwrap();
    for path in [
        "/",
        "/js/app.js",
        "/css/base.css",
        "/favicon.svg",
        "/api/projects",
        "/api/projects/99",
        "/nope",
        "/health",
    ] {
        let response = authed(path);
        assert_security_headers(&response);
    }
    // Images: their real content type, nosniff, not embeddable by other sites.
    let project: Value = bearer(server.post("/api/projects"), TOKEN)
        .json(&json!({ "name": "p" }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = project["id"].as_i64().unwrap();
    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(png(8, 8)).file_name("photo.jpg"),
    );
    let records: Value = bearer(server.post(&format!("/api/projects/{id}/images")), TOKEN)
        .multipart(form)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let image = records[0]["id"].as_i64().unwrap();
    for (suffix, content_type) in [("file", "image/png"), ("thumbnail", "image/jpeg")] {
        let response = authed(&format!("/api/projects/{id}/images/{image}/{suffix}"));
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "content-type"), content_type);
        assert_eq!(
            header(&response, "cross-origin-resource-policy"),
            "same-origin"
        );
        assert_security_headers(&response);
    }
}

// ----- the real binary -----------------------------------------------------------------------------

struct Binary {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Binary {
    fn start(args: &[&str], envs: &[(&str, &str)], data_dir: &Path) -> Binary {
        let mut command = Command::new(env!("CARGO_BIN_EXE_strain-seer"));
        command
            .arg("serve")
            .args(args)
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("STRAIN_SEER_TOKEN")
            .env_remove("STRAIN_SEER_NO_AUTH")
            .env_remove("STRAIN_SEER_HOST")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Binary { child, lines }
    }

    /// Output lines until one contains `needle` (or 20 s pass).
    fn wait_for(&self, needle: &str) -> (String, Vec<String>) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return (line, seen),
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        panic!("no line with {needle:?} in: {seen:#?}");
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_binary_on_all_interfaces_generates_a_token_and_prints_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let server = Binary::start(&["--host", "0.0.0.0", "--port", "0"], &[], dir.path());
    let (line, _) = server.wait_for("?token=");
    let url = line.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let token = url.rsplit_once("?token=").unwrap().1.to_owned();
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let base = url.split_once("/?").unwrap().0.to_owned();
    let client = Client::builder()
        // Shorter than the server's keep-alive timeout (5 s): a pooled connection is never reused
        // just as the server closes it.
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client.get(format!("{base}/api/projects")).send().unwrap();
    expect_refusal(response, 401, "requires its access token");
    let response = client
        .get(format!("{base}/api/projects"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = client.get(&url).send().unwrap();
    assert_eq!(response.status(), 303);
    assert!(header(&response, "set-cookie").contains(&token));
    assert_eq!(
        client
            .get(format!("{base}/health"))
            .send()
            .unwrap()
            .status(),
        200
    );
    // The healthcheck subcommand needs no token.
    let port = base.rsplit_once(':').unwrap().1;
    let status = Command::new(env!("CARGO_BIN_EXE_strain-seer"))
        .args(["healthcheck", "--host", "0.0.0.0", "--port", port])
        .status()
        .unwrap();
    assert!(status.success());
    // A second start gets another token.
    let dir2 = tempfile::tempdir().unwrap();
    let other = Binary::start(&["--host", "0.0.0.0", "--port", "0"], &[], dir2.path());
    let (line, _) = other.wait_for("?token=");
    assert_ne!(line.rsplit_once("?token=").unwrap().1, token);
}

#[test]
fn the_binary_with_a_given_token_or_no_auth() {
    let dir = tempfile::tempdir().unwrap();
    let given = Binary::start(
        &["--host", "0.0.0.0", "--port", "0"],
        &[("STRAIN_SEER_TOKEN", TOKEN)],
        dir.path(),
    );
    let (line, seen) = given.wait_for("An access token is required");
    assert!(
        !line.contains(TOKEN) && !seen.iter().any(|l| l.contains(TOKEN)),
        "a given token is never printed"
    );
    let (running, _) = (
        seen.iter()
            .find(|l| l.contains("is running at"))
            .cloned()
            .unwrap(),
        (),
    );
    let base = running
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let client = Client::new();
    assert_eq!(
        client
            .get(format!("{base}/api/projects"))
            .send()
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        client
            .get(format!("{base}/api/projects"))
            .bearer_auth(TOKEN)
            .send()
            .unwrap()
            .status(),
        200
    );
    drop(given);

    let dir = tempfile::tempdir().unwrap();
    let open = Binary::start(
        &["--host", "0.0.0.0", "--port", "0"],
        &[("STRAIN_SEER_NO_AUTH", "1")],
        dir.path(),
    );
    let (warning, seen) = open.wait_for("--no-auth: no access check");
    assert!(warning.contains("WARN"), "{warning}");
    let running = seen
        .iter()
        .find(|l| l.contains("is running at"))
        .cloned()
        .unwrap();
    let base = running
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    assert_eq!(
        client
            .get(format!("{base}/api/projects"))
            .send()
            .unwrap()
            .status(),
        200
    );
    drop(open);

    // Contradictions and weak tokens are refused before starting (exit code 2).
    for (args, envs, needle) in [
        (
            vec!["--token", TOKEN, "--no-auth"],
            vec![],
            "contradict each other",
        ),
        (vec!["--token", "short"], vec![], "too short"),
        (
            vec![],
            vec![("STRAIN_SEER_TOKEN", "has spaces in it, sadly")],
            "use only letters, digits",
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_strain-seer"))
            .arg("serve")
            .args(&args)
            .args(["--port", "0", "--data-dir"])
            .arg(dir.path())
            .env_remove("STRAIN_SEER_TOKEN")
            .env_remove("STRAIN_SEER_NO_AUTH")
            .envs(envs)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}
