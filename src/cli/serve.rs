//! `strain-seer serve`: the web app.

use crate::cli::BadInput;
use crate::web::conn::ConnArgs;
use crate::web::limits::LimitArgs;
use crate::web::security::{self, AccessArgs, PolicySource};
use crate::web::{ServeConfig, ServeError, Server, app, shutdown_signal};
use anyhow::Context;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;

/// How log lines are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line (for log collectors).
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on: 127.0.0.1 serves this computer only, 0.0.0.0 every network interface.
    #[arg(long, env = "STRAIN_SEER_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// TCP port to listen on (0 = any free port).
    #[arg(long, env = "STRAIN_SEER_PORT", default_value_t = 8501)]
    pub port: u16,
    /// Directory for the database and the uploaded images; created when missing.
    #[arg(
        long,
        env = "STRAIN_SEER_DATA_DIR",
        default_value = "./strain-seer-data"
    )]
    pub data_dir: PathBuf,
    /// Log format on stdout. The level is set with RUST_LOG (default: info).
    #[arg(long, env = "STRAIN_SEER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(flatten)]
    pub access: AccessArgs,
}

/// Resolve a host name or IP literal and a port to one socket address (IPv4 preferred).
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr, BadInput> {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| BadInput(format!("--host {host:?} cannot be resolved: {e}")))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| BadInput(format!("--host {host:?} resolves to no address")))
}

impl ServeArgs {
    /// Check the arguments and turn them into the server's configuration.
    pub fn config(&self) -> Result<ServeConfig, BadInput> {
        let addr = resolve(&self.host, self.port)?;
        if self.data_dir.as_os_str().is_empty() {
            return Err(BadInput("--data-dir is empty".into()));
        }
        Ok(ServeConfig {
            addr,
            data_dir: self.data_dir.clone(),
            limits: self.limits.limits().map_err(BadInput)?,
            conn: self.conn.limits().map_err(BadInput)?,
        })
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    // An already installed subscriber (e.g. in tests) is kept.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The addresses to print for a bound socket: an unspecified address (0.0.0.0, ::) is shown
/// as the loopback URL a local browser can open.
pub fn display_url(addr: SocketAddr) -> String {
    format!("http://{}/", crate::app::local_addr(addr))
}

/// Say who may get in, with the URL to open when a token is needed (as Jupyter does).
fn announce_access(addr: SocketAddr, policy: &security::AccessPolicy, source: PolicySource) {
    match (policy, source) {
        (security::AccessPolicy::Token(token), PolicySource::GeneratedToken) => {
            tracing::info!("access token required (generated for this run)");
            println!(
                "An access token is required because the server is reachable from the network. Open:\n    {}",
                security::open_url(addr, Some(token))
            );
        }
        (security::AccessPolicy::Token(_), _) => {
            tracing::info!("access token required (given by --token / STRAIN_SEER_TOKEN)");
            println!(
                "An access token is required: open {}?token=<the token of --token / STRAIN_SEER_TOKEN>",
                display_url(addr)
            );
        }
        (_, PolicySource::NoAuth) => tracing::warn!(
            %addr,
            "--no-auth: no access check; anyone who can reach {addr} can read, change and delete every project"
        ),
        _ => tracing::info!(
            "listening on loopback: only this computer can connect; no access token needed"
        ),
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    let malloc_tuned = crate::cli::malloc::tune();
    let (policy, source) = args.access.policy(config.addr.ip()).map_err(BadInput)?;
    init_logging(args.log_format);
    tracing::debug!(?malloc_tuned, "glibc malloc parameters set by mallopt");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let server = match Server::bind(&config).await {
            Ok(server) => server,
            Err(err @ (ServeError::DataDir { .. } | ServeError::Bind { .. })) => {
                return Err(anyhow::Error::new(BadInput(err.to_string())));
            }
            Err(err) => return Err(err.into()),
        };
        let addr = server.local_addr();
        let url = display_url(addr);
        tracing::info!(%addr, data_dir = %config.data_dir.display(), "Strain Seer is listening");
        println!("Strain Seer is running at {url} (listening on {addr}; data in {}). Press Ctrl-C to stop.", config.data_dir.display());
        announce_access(addr, &policy, source);
        let router = security::with_access(app(server.state().clone()), &policy, addr.port());
        server.run_with(router, shutdown_signal()).await?;
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_resolve() {
        assert_eq!(
            resolve("127.0.0.1", 8501).ok(),
            Some(SocketAddr::from(([127, 0, 0, 1], 8501)))
        );
        assert_eq!(
            resolve("0.0.0.0", 1).ok(),
            Some(SocketAddr::from(([0, 0, 0, 0], 1)))
        );
        assert!(resolve("[::1]", 80).is_ok_and(|a| a.is_ipv6()));
        assert!(resolve("localhost", 80).is_ok());
    }

    #[test]
    fn unspecified_addresses_print_as_loopback() {
        assert_eq!(
            display_url(SocketAddr::from(([0, 0, 0, 0], 8501))),
            "http://127.0.0.1:8501/"
        );
        assert_eq!(
            display_url(SocketAddr::from(([10, 0, 0, 2], 80))),
            "http://10.0.0.2:80/"
        );
    }
}
