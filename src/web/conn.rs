//! Connection limits of `strain-seer serve` against slow and abusive clients, as flags and
//! environment variables turned into [`ConnLimits`] (defaults and reasons: docs/reliability.md).

use std::time::Duration;

/// Connections accepted beyond `--max-connections` that may still ask for `/health` (each is
/// closed after [`OVERFLOW_HEADER_TIMEOUT`] or its one answer). Beyond these, connections are
/// closed as soon as they are accepted.
pub const OVERFLOW_RESERVE: usize = 64;
/// How long a connection over the cap has to send its request.
pub const OVERFLOW_HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// File descriptors kept free for everything but connections (database, image files, logs).
pub const FD_MARGIN: u64 = 256;

/// Connection and timing limits (each also an environment variable).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ConnArgs {
    /// Seconds a client has to send a request's header, counted from when the server starts
    /// waiting for it (a new connection, or the next request on a kept-alive one).
    #[arg(
        long,
        env = "STRAIN_SEER_HEADER_TIMEOUT",
        default_value_t = 10,
        value_name = "SECS"
    )]
    pub header_timeout: u64,
    /// Seconds an idle kept-alive connection (no request in flight) stays open. At most
    /// --header-timeout.
    #[arg(
        long,
        env = "STRAIN_SEER_KEEP_ALIVE_TIMEOUT",
        default_value_t = 5,
        value_name = "SECS"
    )]
    pub keep_alive_timeout: u64,
    /// Most connections served at once. Beyond it a connection may still ask for /health (a
    /// reserve of 64); anything else gets 503 and the connection is closed.
    #[arg(
        long,
        env = "STRAIN_SEER_MAX_CONNECTIONS",
        default_value_t = 4096,
        value_name = "COUNT"
    )]
    pub max_connections: usize,
    /// Seconds a request that is not an upload or import may take until its answer starts
    /// (503 after that).
    #[arg(
        long,
        env = "STRAIN_SEER_REQUEST_TIMEOUT",
        default_value_t = 120,
        value_name = "SECS"
    )]
    pub request_timeout: u64,
    /// Slowest accepted request body, KiB/s, averaged over --upload-rate-window (0: no minimum).
    /// A body arriving slower is dropped with 408 and the connection closed.
    #[arg(
        long,
        env = "STRAIN_SEER_MIN_UPLOAD_RATE",
        default_value_t = 4,
        value_name = "KIB_PER_S"
    )]
    pub min_upload_rate: u64,
    /// Seconds over which the upload rate is measured.
    #[arg(
        long,
        env = "STRAIN_SEER_UPLOAD_RATE_WINDOW",
        default_value_t = 30,
        value_name = "SECS"
    )]
    pub upload_rate_window: u64,
}

/// What [`ConnArgs`] say, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnLimits {
    pub header_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub max_connections: usize,
    pub request_timeout: Duration,
    /// Bytes per second; 0 = no minimum.
    pub min_upload_rate: u64,
    pub upload_rate_window: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(5),
            max_connections: 4096,
            request_timeout: Duration::from_secs(120),
            min_upload_rate: 4 * 1024,
            upload_rate_window: Duration::from_secs(30),
        }
    }
}

impl Default for ConnArgs {
    fn default() -> Self {
        let limits = ConnLimits::default();
        Self {
            header_timeout: limits.header_timeout.as_secs(),
            keep_alive_timeout: limits.keep_alive_timeout.as_secs(),
            max_connections: limits.max_connections,
            request_timeout: limits.request_timeout.as_secs(),
            min_upload_rate: limits.min_upload_rate / 1024,
            upload_rate_window: limits.upload_rate_window.as_secs(),
        }
    }
}

impl ConnArgs {
    /// Check the values and convert them.
    pub fn limits(&self) -> Result<ConnLimits, String> {
        let positive = |flag: &str, value: u64| {
            if value == 0 {
                Err(format!("--{flag} must be at least 1 (second)"))
            } else {
                Ok(Duration::from_secs(value))
            }
        };
        let limits = ConnLimits {
            header_timeout: positive("header-timeout", self.header_timeout)?,
            keep_alive_timeout: positive("keep-alive-timeout", self.keep_alive_timeout)?,
            max_connections: self.max_connections,
            request_timeout: positive("request-timeout", self.request_timeout)?,
            min_upload_rate: self.min_upload_rate.checked_mul(1024).ok_or_else(|| {
                format!("--min-upload-rate {} is too large", self.min_upload_rate)
            })?,
            upload_rate_window: positive("upload-rate-window", self.upload_rate_window)?,
        };
        if self.max_connections == 0 {
            return Err("--max-connections must be at least 1".into());
        }
        if self.keep_alive_timeout > self.header_timeout {
            return Err(format!(
                "--keep-alive-timeout ({} s) is longer than --header-timeout ({} s): an idle \
                 connection waits for its next request's header, so it is closed after \
                 --header-timeout anyway",
                self.keep_alive_timeout, self.header_timeout
            ));
        }
        Ok(limits)
    }
}

impl ConnLimits {
    /// Fit the connection cap to the file descriptors this process may open: raise the soft
    /// `RLIMIT_NOFILE` to the hard limit (as Go's runtime and nginx do), then lower the cap when
    /// the limit still cannot hold it plus [`OVERFLOW_RESERVE`] and [`FD_MARGIN`]. Returns the
    /// descriptor limit in force.
    pub fn fit_to_fd_limit(&mut self) -> Option<u64> {
        let limit = raise_fd_limit()?;
        let needed = self.max_connections as u64 + OVERFLOW_RESERVE as u64 + FD_MARGIN;
        if limit < needed {
            let fitted = limit
                .saturating_sub(OVERFLOW_RESERVE as u64 + FD_MARGIN)
                .max(16);
            tracing::warn!(
                fd_limit = limit,
                "--max-connections {} does not fit in this process's file descriptor limit \
                 ({limit}); serving at most {fitted} connections (raise `ulimit -n`)",
                self.max_connections
            );
            self.max_connections = usize::try_from(fitted).unwrap_or(16);
        }
        Some(limit)
    }
}

#[cfg(unix)]
fn raise_fd_limit() -> Option<u64> {
    rlimit::increase_nofile_limit(u64::MAX).ok()
}

#[cfg(not(unix))]
fn raise_fd_limit() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        conn: ConnArgs,
    }

    #[test]
    fn flag_defaults_are_the_library_defaults() {
        let parsed = Cli::try_parse_from(["x"]).map(|c| c.conn);
        assert_eq!(parsed.as_ref().ok(), Some(&ConnArgs::default()));
        let limits = ConnArgs::default().limits();
        assert_eq!(limits.as_ref(), Ok(&ConnLimits::default()));
        assert_eq!(limits.map(|l| l.min_upload_rate), Ok(4096));
    }

    #[test]
    fn flags_are_checked() {
        // Each bad value is refused naming its flag.
        type Change = fn(&mut ConnArgs);
        let bad: [(Change, &str); 3] = [
            (|a| a.header_timeout = 0, "--header-timeout"),
            (|a| a.keep_alive_timeout = 30, "--keep-alive-timeout"),
            (|a| a.max_connections = 0, "--max-connections"),
        ];
        for (set, flag) in bad {
            let mut args = ConnArgs::default();
            set(&mut args);
            assert!(args.limits().is_err_and(|e| e.contains(flag)), "{flag}");
        }
        let off = ConnArgs {
            min_upload_rate: 0,
            ..ConnArgs::default()
        };
        assert_eq!(off.limits().map(|l| l.min_upload_rate), Ok(0));
        let parsed = Cli::try_parse_from(["x", "--header-timeout", "3", "--max-connections", "9"])
            .map(|c| c.conn);
        assert!(parsed.is_ok_and(|c| c.header_timeout == 3 && c.max_connections == 9));
    }

    #[test]
    fn the_cap_fits_the_fd_limit() {
        let mut limits = ConnLimits {
            max_connections: usize::MAX / 2,
            ..ConnLimits::default()
        };
        if let Some(fd_limit) = limits.fit_to_fd_limit() {
            assert!(
                limits.max_connections as u64 + OVERFLOW_RESERVE as u64 + FD_MARGIN
                    <= fd_limit.max(16 + OVERFLOW_RESERVE as u64 + FD_MARGIN)
            );
        }
    }
}
