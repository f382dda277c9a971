//! `strain-seer healthcheck`: `GET /health` on a running server over plain HTTP/1.1 (no TLS, no
//! dependencies beyond std), exit 0 when it answers 200 `{"status":"ok"}`, else 1 with a message.
//! Used by the container's HEALTHCHECK, so the image needs no curl.

use crate::cli::serve::resolve;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, clap::Args)]
pub struct HealthcheckArgs {
    /// Host of the server; 0.0.0.0 (listen everywhere) is checked on 127.0.0.1, :: on ::1.
    #[arg(long, env = "STRAIN_SEER_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port of the server.
    #[arg(long, env = "STRAIN_SEER_PORT", default_value_t = 8501)]
    pub port: u16,
    /// Seconds to wait for the whole answer.
    #[arg(long, env = "STRAIN_SEER_HEALTHCHECK_TIMEOUT", default_value_t = 5.0)]
    pub timeout: f64,
}

/// Largest answer read, bytes.
const MAX_RESPONSE: u64 = 64 * 1024;

/// The address to connect to for a server configured to listen on `addr`.
fn connect_addr(addr: SocketAddr) -> SocketAddr {
    crate::app::local_addr(addr)
}

/// Decode a `Transfer-Encoding: chunked` body.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

/// Check a raw HTTP response: status 200 and a JSON body with `"status": "ok"`.
pub fn check_response(raw: &[u8]) -> Result<(), String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer is not an HTTP response")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = status_line.split_whitespace().nth(1).unwrap_or_default();
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = &raw[split + 4..];
    let body = if chunked {
        dechunk(body).ok_or("the chunked body is malformed")?
    } else {
        body.to_vec()
    };
    if status != "200" {
        return Err(format!(
            "/health answered {status_line:?}: {}",
            String::from_utf8_lossy(&body).trim()
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| format!("/health answered 200 but not JSON ({e})"))?;
    match value.get("status").and_then(|s| s.as_str()) {
        Some("ok") => Ok(()),
        _ => Err(format!(
            "/health answered 200 but the status is not ok: {value}"
        )),
    }
}

/// Ask the server at `addr` for `/health` within `timeout`.
pub fn probe(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let left = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream
        .set_write_timeout(Some(left()))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: strain-seer-healthcheck\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send the request to {addr}: {e}"))?;
    let mut raw = Vec::new();
    let mut limited = (&mut stream).take(MAX_RESPONSE);
    let mut buf = [0u8; 4096];
    loop {
        limited
            .get_mut()
            .set_read_timeout(Some(left()))
            .map_err(|e| e.to_string())?;
        match limited.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(format!(
                    "no complete answer from {addr} within {timeout:?}: {e}"
                ));
            }
        }
        if Instant::now() >= deadline {
            return Err(format!("no complete answer from {addr} within {timeout:?}"));
        }
    }
    check_response(&raw)
}

pub fn run(args: HealthcheckArgs) -> anyhow::Result<ExitCode> {
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 3600.0) {
        return Err(crate::cli::BadInput(format!(
            "--timeout must be between 0 and 3600 seconds, got {}",
            args.timeout
        ))
        .into());
    }
    let addr = connect_addr(resolve(&args.host, args.port)?);
    match probe(addr, Duration::from_secs_f64(args.timeout)) {
        Ok(()) => {
            println!("healthy: http://{addr}/health answered 200 {{\"status\":\"ok\"}}");
            Ok(ExitCode::SUCCESS)
        }
        Err(message) => {
            eprintln!("strain-seer healthcheck: unhealthy: {message}");
            Ok(ExitCode::from(crate::cli::EXIT_FAILURE))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_judged() {
        let ok = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{\"status\":\"ok\"}";
        assert_eq!(check_response(ok), Ok(()));
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nf\r\n{\"status\":\"ok\"}\r\n0\r\n\r\n";
        assert_eq!(check_response(chunked), Ok(()));
        assert!(check_response(b"HTTP/1.1 503 Service Unavailable\r\n\r\ndown").is_err());
        assert!(check_response(b"HTTP/1.1 200 OK\r\n\r\n{\"status\":\"bad\"}").is_err());
        assert!(check_response(b"HTTP/1.1 200 OK\r\n\r\nok").is_err());
        assert!(check_response(b"garbage").is_err());
    }

    #[test]
    fn unspecified_hosts_are_checked_on_loopback() {
        assert_eq!(
            connect_addr(SocketAddr::from(([0, 0, 0, 0], 8501))),
            SocketAddr::from(([127, 0, 0, 1], 8501))
        );
    }

    #[test]
    fn a_closed_port_is_unhealthy() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0");
        let Ok(listener) = listener else { return };
        let addr = listener.local_addr().ok();
        drop(listener);
        if let Some(addr) = addr {
            assert!(probe(addr, Duration::from_secs(2)).is_err());
        }
    }
}
