//! The web app: axum router, handlers, embedded front end.
//!
//! [`app`] builds the router from one `routes()` function per area (health, projects, images,
//! analysis, export, import, rules, front-end assets); more areas (detection) merge in the same way,
//! and cross-cutting layers (access token, security headers) wrap the result.
//! [`Server`] binds, serves until a shutdown signal, lets requests in flight finish, and closes
//! the database. Blocking work (SQLite, image decoding, analysis) runs in `spawn_blocking`.

pub mod analysis;
pub mod assets;
pub mod conn;
pub mod detect;
pub mod error;
pub mod export;
pub mod health;
pub mod images;
pub mod import;
pub mod limits;
pub mod listen;
pub mod projects;
pub mod report;
pub mod rules;
pub mod security;
pub mod slow;
pub mod target;
pub mod video;

use crate::store::{Store, StoreError};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use error::AppError;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use conn::ConnLimits;
pub use error::{AppJson, ErrorKind};

/// Size and count limits. Every refusal is a 4xx JSON error naming the file and the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest JSON request body, bytes.
    pub max_json_bytes: usize,
    /// Largest multipart request (upload, import), bytes.
    pub max_upload_bytes: usize,
    /// Largest single uploaded file, bytes.
    pub max_file_bytes: usize,
    /// Most pixels in an image (width × height), checked from the header before decoding.
    pub max_pixels: u64,
    /// Most images in one project.
    pub max_images_per_project: u64,
    /// Longest film accepted, seconds (from its header, before anything is decoded).
    pub max_film_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_json_bytes: 2 * 1024 * 1024,
            max_upload_bytes: 1024 * 1024 * 1024,
            max_file_bytes: 50 * 1024 * 1024,
            max_pixels: 100_000_000,
            max_images_per_project: 20_000,
            max_film_seconds: 6 * 3600,
        }
    }
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub limits: Limits,
}

impl AppState {
    pub fn new(store: Arc<Store>, limits: Limits) -> Self {
        Self { store, limits }
    }
}

/// Run blocking store work off the async threads.
pub(crate) async fn blocking<T, F>(state: &AppState, work: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
{
    let store = Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || work(&store))
        .await
        .map_err(|e| AppError::internal(format!("a background task failed: {e}")))?
}

/// Wait for one of (cores − 1, at least 1) slots before CPU-heavy work (an analysis, staging an
/// uploaded image: hashing, decoding, thumbnail). Without it, 200 analyses or 50 uploads at once
/// each hold a blocking thread, and the async threads that answer everything else (`/health`)
/// get a small share of the CPU: its p99 rose to 100 ms and more under such load. With one slot
/// per core it was 70 ms on a quiet 2-core machine and 112 ms while other builds ran, so one core
/// is left to the rest.
pub(crate) async fn cpu_slot() -> Result<tokio::sync::SemaphorePermit<'static>, AppError> {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            tokio::sync::Semaphore::new(cores.saturating_sub(1).max(1))
        })
        .acquire()
        .await
        .map_err(|_| AppError::internal("the CPU slots are closed"))
}

/// The whole HTTP API and the embedded front end.
pub fn app(state: AppState) -> Router {
    let json_limit = state.limits.max_json_bytes;
    let router = Router::new()
        .merge(health::routes())
        .merge(projects::routes())
        .merge(images::routes(&state.limits))
        .merge(detect::routes())
        .merge(analysis::routes())
        .merge(export::routes())
        .merge(report::routes())
        .merge(rules::routes())
        .merge(import::routes(&state.limits))
        .merge(target::routes())
        .merge(video::routes(&state.limits))
        .merge(assets::routes())
        .fallback(assets::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(json_limit))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                use axum::response::IntoResponse;
                AppError::internal("a request handler panicked").into_response()
            },
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.limits.clone(),
            limits::guard_body,
        ))
        .layer(axum::middleware::from_fn(security::harden));
    security::with_security_headers(router)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

async fn method_not_allowed(method: Method, uri: Uri) -> AppError {
    AppError::new(
        ErrorKind::MethodNotAllowed,
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// Everything `strain-seer serve` needs, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub limits: Limits,
    /// Timeouts and the connection cap against slow and abusive clients.
    pub conn: ConnLimits,
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("the data directory {} is not writable: {source}", path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the database in {}: {source}", path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: StoreError,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("closing the database: {0}")]
    Close(#[source] StoreError),
}

/// How long requests in flight may take to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// Create the data directory when needed and prove it is writable (create, write, fsync and
/// remove a probe file).
pub fn check_data_dir(dir: &Path) -> Result<(), ServeError> {
    let fail = |source| ServeError::DataDir {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    let written = std::fs::File::create(&probe).and_then(|mut f| {
        std::io::Write::write_all(&mut f, b"ok")?;
        f.sync_all()
    });
    let _ = std::fs::remove_file(&probe);
    written.map_err(fail)
}

/// A bound server with its open store.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    state: AppState,
    addr: SocketAddr,
    conn: ConnLimits,
}

impl Server {
    /// Check the data directory, open (or create and migrate) the database, and bind.
    pub async fn bind(config: &ServeConfig) -> Result<Server, ServeError> {
        let data_dir = config.data_dir.clone();
        let store = tokio::task::spawn_blocking(move || {
            check_data_dir(&data_dir)?;
            Store::open(&data_dir).map_err(|source| ServeError::Store {
                path: data_dir,
                source,
            })
        })
        .await
        .map_err(|e| ServeError::Serve(std::io::Error::other(e)))??;
        let listener = listen::bind(config.addr).map_err(|source| ServeError::Bind {
            addr: config.addr,
            source,
        })?;
        let addr = listener.local_addr().map_err(ServeError::Serve)?;
        let state = AppState::new(Arc::new(store), config.limits.clone());
        let mut conn = config.conn.clone();
        conn.fit_to_fd_limit();
        Ok(Server {
            listener,
            state,
            addr,
            conn,
        })
    }

    /// The address actually bound (port 0 becomes a real port).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serve [`app`] until `shutdown` completes, let requests in flight finish (at most
    /// [`SHUTDOWN_GRACE`]), then checkpoint and close the database.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let router = app(self.state.clone());
        self.run_with(router, shutdown).await
    }

    /// Like [`Server::run`] with a router built by the caller (e.g. [`app`] with more layers).
    pub async fn run_with(
        self,
        router: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Server {
            listener,
            state,
            conn,
            ..
        } = self;
        listen::serve(listener, router, conn, shutdown, SHUTDOWN_GRACE).await;
        let store = Arc::clone(&state.store);
        let closed = tokio::task::spawn_blocking(move || store.close())
            .await
            .map_err(|e| ServeError::Close(StoreError::corrupt(e.to_string())))?
            .map_err(ServeError::Close);
        closed?;
        tracing::info!("database closed; bye");
        Ok(())
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (`docker stop`).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received: finishing requests in flight");
}
