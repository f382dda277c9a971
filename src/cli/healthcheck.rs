//! `strain-seer healthcheck`: `GET /health` on a running server over plain HTTP/1.1 (hyper's
//! client, no TLS), exit 0 when it answers 200 `{"status":"ok"}`, else 1 with a message. Used by
//! the container's HEALTHCHECK, so the image needs no curl.

use crate::cli::serve::resolve;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

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
const MAX_RESPONSE: usize = 64 * 1024;

/// The address to connect to for a server configured to listen on `addr`.
fn connect_addr(addr: SocketAddr) -> SocketAddr {
    crate::app::local_addr(addr)
}

/// Judge an answer to `GET /health`: status 200 and a JSON body with `"status": "ok"`.
pub fn check_response(status: StatusCode, body: &[u8]) -> Result<(), String> {
    if status != StatusCode::OK {
        return Err(format!(
            "/health answered {status}: {}",
            String::from_utf8_lossy(body).trim()
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("/health answered 200 but not JSON ({e})"))?;
    match value.get("status").and_then(|s| s.as_str()) {
        Some("ok") => Ok(()),
        _ => Err(format!(
            "/health answered 200 but the status is not ok: {value}"
        )),
    }
}

/// `GET /health` over one HTTP/1.1 connection (hyper's client), the body read up to
/// [`MAX_RESPONSE`] bytes.
async fn get_health(addr: SocketAddr) -> Result<(StatusCode, Bytes), String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("no HTTP connection to {addr}: {e}"))?;
    tokio::spawn(connection);
    let request = Request::get("/health")
        .header(header::HOST, addr.to_string())
        .header(header::USER_AGENT, "strain-seer-healthcheck")
        .header(header::ACCEPT, "application/json")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("no answer from {addr}: {e}"))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_RESPONSE)
        .collect()
        .await
        .map_err(|e| format!("the answer from {addr} could not be read: {e}"))?
        .to_bytes();
    Ok((status, body))
}

/// Ask the server at `addr` for `/health` within `timeout`.
pub fn probe(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the client: {e}"))?;
    let (status, body) = runtime.block_on(async {
        tokio::time::timeout(timeout, get_health(addr))
            .await
            .map_err(|_| format!("no complete answer from {addr} within {timeout:?}"))?
    })?;
    check_response(status, &body)
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
        assert_eq!(
            check_response(StatusCode::OK, br#"{"status":"ok"}"#),
            Ok(())
        );
        let down = check_response(StatusCode::SERVICE_UNAVAILABLE, b"down");
        assert_eq!(
            down,
            Err("/health answered 503 Service Unavailable: down".into())
        );
        assert!(check_response(StatusCode::OK, br#"{"status":"bad"}"#).is_err());
        assert!(check_response(StatusCode::OK, b"ok").is_err());
    }

    /// A server that answers in chunks, or never, over a real socket.
    #[test]
    fn a_chunked_answer_is_read_and_a_silent_server_times_out() {
        use std::io::{Read, Write};
        let Ok(listener) = std::net::TcpListener::bind("127.0.0.1:0") else {
            return;
        };
        let Ok(addr) = listener.local_addr() else {
            return;
        };
        let server = std::thread::spawn(move || {
            for answer in [Some(&b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nf\r\n{\"status\":\"ok\"}\r\n0\r\n\r\n"[..]), None] {
                let Ok((mut s, _)) = listener.accept() else { return };
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                match answer {
                    Some(a) => {
                        let _ = s.write_all(a);
                    }
                    None => std::thread::sleep(Duration::from_millis(800)),
                }
            }
        });
        assert_eq!(probe(addr, Duration::from_secs(5)), Ok(()));
        let silent = probe(addr, Duration::from_millis(300));
        assert!(silent.is_err_and(|e| e.contains("within")));
        let _ = server.join();
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
