//! The real `strain-seer serve` binary as a child process on 127.0.0.1 (a free port), with what
//! the reliability tests read from /proc: open file descriptors and resident memory. Plus raw
//! HTTP/1.1 helpers that time `/health`.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    pub base: String,
}

impl ServerProcess {
    /// Start `strain-seer serve` on the data directory with extra flags; returns once it listens.
    pub fn start(data_dir: &Path, args: &[&str]) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strain-seer"))
            .args(["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env("RUST_LOG", "error")
            .env_remove("STRAIN_SEER_TOKEN")
            .env_remove("STRAIN_SEER_NO_AUTH")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the server exited before saying where it listens")
                .unwrap();
            if let Some(at) = line.find("http://") {
                let url = line[at..].split_whitespace().next().unwrap();
                break url.trim_end_matches('/').to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let addr = base.trim_start_matches("http://").parse().unwrap();
        let server = ServerProcess { child, addr, base };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if health(self.addr).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the server did not answer /health within 10 s");
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Open file descriptors of the server (sockets included).
    pub fn fd_count(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// A `kB` field of /proc/PID/status (VmRSS, VmHWM), in MiB.
    pub fn status_mib(&self, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    }

    /// Send SIGTERM (as `docker stop` does).
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Wait for the process to exit, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One raw request on a new connection; returns the status code and the whole answer.
pub fn request(addr: SocketAddr, raw: &str, timeout: Duration) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(raw.as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no HTTP answer: {text:?}")))?;
    Ok((status, text))
}

/// `GET /health` on a new connection, as `strain-seer healthcheck` does; the time it took.
pub fn health(addr: SocketAddr) -> std::io::Result<Duration> {
    let start = Instant::now();
    let (status, _) = request(
        addr,
        "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )?;
    if status != 200 {
        return Err(std::io::Error::other(format!("/health answered {status}")));
    }
    Ok(start.elapsed())
}

/// Latencies of `/health` probes, one a `every` for `count` probes; failures count as 5 s.
pub fn health_latencies(addr: SocketAddr, count: usize, every: Duration) -> Vec<Duration> {
    (0..count)
        .map(|_| {
            let took = health(addr).unwrap_or(Duration::from_secs(5));
            std::thread::sleep(every.saturating_sub(took));
            took
        })
        .collect()
}

/// The `q` quantile (0–1) of latencies, in milliseconds.
pub fn quantile_ms(latencies: &[Duration], q: f64) -> f64 {
    let mut ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    if ms.is_empty() {
        return 0.0;
    }
    let index = ((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1;
    ms[index]
}

/// Raise this process's soft open-file limit to the hard one; returns the limit.
pub fn raise_fd_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024)
}
